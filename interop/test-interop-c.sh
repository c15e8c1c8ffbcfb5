#!/usr/bin/env bash
# cgrpc's interop client against cgrpc's interop server: all 14 cases over
# h2c and TLS, for each build directory given (build, build/asan, ...).
#   interop/test-interop-c.sh CERT_DIR BUILD_DIR...
# CERT_DIR holds ca.pem and server.{pem,key} with SAN *.test.google.fr
# (make build/test-certs/.done).  Every server is started on a free
# loopback port and stopped by its pid; every wait is bounded.
set -u
CERTS=${1:?usage: test-interop-c.sh CERT_DIR BUILD_DIR...}
shift
[ $# -gt 0 ] || { echo "usage: test-interop-c.sh CERT_DIR BUILD_DIR..." >&2; exit 2; }
OVERRIDE=foo.test.google.fr
CLIENT_TIMEOUT=180   # seconds for all 14 cases (TSan is slow)
LOG=$(mktemp -d /tmp/cgrpc-interop-c.XXXXXX)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
SERVER_PID=
fails=0

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  # Graceful shutdown is bounded by the server (3 s grace); allow 15 s.
  for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "server $SERVER_PID did not stop on SIGTERM; killing it" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
    return 1
  fi
  wait "$SERVER_PID"
  local rc=$?
  SERVER_PID=
  return $rc
}
trap 'stop_server >/dev/null 2>&1; rm -rf "$LOG"' EXIT

for dir in "$@"; do
  for transport in h2c tls; do
    tag="$(echo "$dir" | tr / -)-$transport"
    sargs=(--port=0 --host=127.0.0.1)
    cargs=(--server_host=127.0.0.1 --test_case=all)
    if [ "$transport" = tls ]; then
      sargs+=(--use_tls=true --tls_cert_file="$CERTS/server.pem" --tls_key_file="$CERTS/server.key")
      cargs+=(--use_tls=true --use_test_ca=true --ca_file="$CERTS/ca.pem"
              --server_host_override=$OVERRIDE)
    fi
    : >"$LOG/$tag.port"
    "$dir/bin/interop_server" "${sargs[@]}" >"$LOG/$tag.port" 2>"$LOG/$tag.server" &
    SERVER_PID=$!
    port=
    for _ in $(seq 200); do   # up to 20 s for "PORT n"
      port=$(awk '/^PORT /{print $2; exit}' "$LOG/$tag.port")
      [ -n "$port" ] && break
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$port" ]; then
      echo "FAIL $tag: server did not report its port"; cat "$LOG/$tag.server"
      stop_server; fails=$((fails + 1)); continue
    fi
    timeout -k 5 "$CLIENT_TIMEOUT" "$dir/bin/interop_client" "${cargs[@]}" --server_port="$port" \
      >"$LOG/$tag.client" 2>"$LOG/$tag.client-err"
    crc=$?
    stop_server
    src=$?
    passed=$(grep -c ': PASS$' "$LOG/$tag.client")
    if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$passed" -eq 14 ]; then
      echo "ok   $tag: 14/14 cases passed, server exited cleanly"
    else
      echo "FAIL $tag: client exit $crc, server exit $src, $passed/14 passed"
      grep -v ': PASS$' "$LOG/$tag.client"
      tail -n 40 "$LOG/$tag.client-err" "$LOG/$tag.server"
      fails=$((fails + 1))
    fi
  done
done
[ $fails -eq 0 ] || { echo "test-interop-c: $fails run(s) failed"; exit 1; }
echo "test-interop-c: all passed"
