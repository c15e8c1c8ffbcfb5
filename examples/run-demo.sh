#!/usr/bin/env bash
# Runs the cgrpc demo (`make demo`): starts build/bin/demo_server on a free
# loopback port, runs build/bin/demo_client against it, stops the server,
# prints the server's log and exits with the client's status.
# DEMO_SERVER / DEMO_CLIENT override the binaries (e.g. sanitizer builds).
set -uo pipefail
cd "$(dirname "$0")/.."

SERVER=${DEMO_SERVER:-build/bin/demo_server}
CLIENT=${DEMO_CLIENT:-build/bin/demo_client}
for bin in "$SERVER" "$CLIENT"; do
  if [ ! -x "$bin" ]; then
    echo "run-demo: $bin is missing; build it with: make $bin" >&2
    exit 2
  fi
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/cgrpc-demo.XXXXXX")
server_pid=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    # Up to 5 s for a graceful stop, then force it.
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "run-demo: server did not stop; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null
    fi
  fi
  wait "$server_pid" 2>/dev/null
  server_status=$?
  server_pid=""
}

cleanup() {
  stop_server
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$SERVER" --host 127.0.0.1 --port 0 >"$workdir/server.log" 2>&1 &
server_pid=$!

# Wait up to 10 s for "PORT <n>".
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$workdir/server.log" | head -n 1)
  [ -n "$port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run-demo: demo_server exited before listening:" >&2
    cat "$workdir/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "run-demo: demo_server did not report its port within 10 s" >&2
  exit 1
fi

echo "== demo_server listening on 127.0.0.1:$port (pid $server_pid)"
echo "== demo_client --target 127.0.0.1:$port"
"$CLIENT" --target "127.0.0.1:$port"
client_status=$?

server_status=0
stop_server
echo "== demo_server log (exit status $server_status)"
grep -v '^PORT ' "$workdir/server.log"
echo "== demo_client exit status $client_status"
exit "$client_status"
