#!/usr/bin/env python3
"""Runs the Python and Lua interop clients (interop/python, interop/lua)
against interop servers: all 14 cases, over h2c and TLS (issue 7).

    run_interop_bindings.py --certs=build/test-certs \
        --servers=cgrpc,grpcio --clients=python,lua,lua-asan --selftest

For each server and transport the server is started once on a free
loopback port and every client runs all 14 cases against it; a run passes
when the client exits 0 having printed exactly the 14 "case: PASS" lines
and the server then stops cleanly on SIGTERM.  --selftest also checks that
the clients can fail: against the grpcio server with each of its
deliberate faults (CGRPC_MATRIX_FAULT) exactly the cases that depend on
the fault must FAIL and the rest PASS; usage errors must exit 2; a server
that is not there must fail every case (cancel_after_begin, whose
CANCELLED is a local outcome, excepted), in bounded time.  ASan/LSan/
UBSan reports in the lua-asan client's stderr fail its check.

Servers:  cgrpc   build/bin/interop_server (--port=0, prints "PORT n")
          grpcio  tests/matrix/peers/grpcio_server.py (grpcio, stubs from
                  build/matrix/gen)
          go-current, go-1.33   build/peers/<name>/interop_server, if built
Clients:  python    interop/python/interop_client.py (PYTHONPATH=python)
          lua       interop/lua/interop_client.lua (build/lua/cgrpc/core.so)
          lua-asan  the same on build/lua-asan/cgrpc/core.so (ASan+UBSan, the
                    runtime preloaded into an uninstrumented lua5.4)

Every process is started by this script, waited for with a timeout and
stopped by its pid; servers listen on 127.0.0.1 only.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
    "empty_stream", "cancel_after_begin", "cancel_after_first_response",
    "timeout_on_sleeping_server", "custom_metadata", "status_code_and_message",
    "special_status_message", "unimplemented_method", "unimplemented_service",
)
OVERRIDE = "foo.test.google.fr"   # matches the test certificate's *.test.google.fr
# The grpcio server's faults and the cases each must make fail.
FAULTS = {
    "payload_size": {"large_unary", "server_streaming", "ping_pong",
                     "cancel_after_first_response", "custom_metadata"},
    "no_echo": {"custom_metadata"},
    "status_message": {"status_code_and_message", "special_status_message"},
    "aggregate": {"client_streaming"},
}
LINE = re.compile(r"^([a-z_]+): (PASS|FAIL(?: (.*))?)$")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "http_proxy", "https_proxy", "HTTP_PROXY",
                        "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "grpc_proxy")}
    env["GCE_METADATA_HOST"] = "127.0.0.1:9"
    env.update(extra or {})
    return env


class Server:
    """One interop server process on 127.0.0.1, stopped by its pid."""

    def __init__(self, kind, args, tls, logdir, fault=None):
        self.kind, self.tls, self.proc, self.port = kind, tls, None, None
        self.log = os.path.join(logdir, "%s-%s%s.server" % (
            kind, "tls" if tls else "h2c", "-" + fault if fault else ""))
        certs = args.certs
        tls_flags = ["--use_tls=true", "--tls_cert_file=%s/server.pem" % certs,
                     "--tls_key_file=%s/server.key" % certs] if tls else ["--use_tls=false"]
        env = clean_env({"CGRPC_MATRIX_FAULT": fault} if fault else None)
        if kind == "cgrpc":
            cmd = [args.cgrpc_server, "--port=0", "--host=127.0.0.1"] + tls_flags
        elif kind == "grpcio":
            self.port = free_port()
            cmd = [args.python, os.path.join(ROOT, "tests/matrix/peers/grpcio_server.py"),
                   "--port=%d" % self.port, "--bind_host=127.0.0.1"] + tls_flags
        else:  # go-current, go-1.33
            self.port = free_port()
            cmd = [os.path.join(ROOT, "build/peers", kind, "interop_server"),
                   "--bind_host=127.0.0.1", "--port=%d" % self.port] + \
                  [f.replace("--use_tls=true", "--use_tls") for f in tls_flags
                   if f != "--use_tls=false"]
        self.cmd = cmd
        self.out = open(self.log, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT)

    def wait_ready(self, limit=20.0):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if self.port is None:
                self.out.flush()
                with open(self.log) as f:
                    m = re.search(r"^PORT (\d+)$", f.read(), re.M)
                if m:
                    self.port = int(m.group(1))
            if self.port is not None and port_open(self.port):
                return True
            time.sleep(0.1)
        return False

    def stop(self, limit=15.0):
        """SIGTERM, then SIGKILL after limit seconds; returns the exit status
        (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(limit)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.out.close()
                return None
        self.out.close()
        return self.proc.returncode

    def tail(self, n=20):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])


def client_cmd(args, client, port, tls, cases="all", extra=()):
    flags = ["--server_host=127.0.0.1", "--server_port=%d" % port, "--test_case=%s" % cases,
             "--descriptor_set=%s" % args.descriptor_set]
    if tls:
        flags += ["--use_tls=true", "--use_test_ca=true", "--ca_file=%s/ca.pem" % args.certs,
                  "--server_host_override=%s" % OVERRIDE]
    else:
        flags += ["--use_tls=false"]
    flags += list(extra)
    if client == "python":
        cmd = [args.python, os.path.join(ROOT, "interop/python/interop_client.py")]
        env = clean_env({"PYTHONPATH": os.path.join(ROOT, "python")})
    else:
        cpath = "build/lua-asan" if client == "lua-asan" else "build/lua"
        cmd = [args.lua, os.path.join(ROOT, "interop/lua/interop_client.lua")]
        env = clean_env({"LUA_PATH": "%s/lua/?.lua;;" % ROOT,
                         "LUA_CPATH": "%s/%s/?.so;;" % (ROOT, cpath)})
        if client == "lua-asan":
            env.update({"LD_PRELOAD": args.asan_runtime,
                        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
                        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"})
    return cmd + flags, env


def run_client(args, client, port, tls, cases="all", extra=(), limit=None):
    """-> (exit status or None on timeout, {case: (PASS|FAIL, reason)}, stdout, stderr)"""
    cmd, env = client_cmd(args, client, port, tls, cases, extra)
    limit = limit or (args.client_timeout * (3 if client == "lua-asan" else 1))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=ROOT, text=True, errors="replace")
    try:
        out, err = proc.communicate(timeout=limit)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        rc = None
    results = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m and m.group(1) not in results:
            results[m.group(1)] = ("PASS" if m.group(2) == "PASS" else "FAIL", m.group(3) or "")
    return rc, results, out, err


def sanitizer_clean(err):
    """No ASan/LSan/UBSan report in a client's stderr."""
    return not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", err)


def describe(rc, results, out, err):
    lines = ["    client exit %s" % ("TIMEOUT" if rc is None else rc)]
    lines += ["    %s: FAIL %s" % (c, r) for c, (v, r) in results.items() if v == "FAIL"]
    missing = [c for c in CASES if c not in results]
    if missing:
        lines.append("    no result for: %s" % ", ".join(missing))
    lines += ["    stderr: " + l for l in err.splitlines()[-15:] if "took" not in l]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--certs", default=os.path.join(ROOT, "build/test-certs"))
    ap.add_argument("--servers", default="cgrpc,grpcio")
    ap.add_argument("--clients", default="python,lua")
    ap.add_argument("--transports", default="h2c,tls")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv/bin/python"))
    ap.add_argument("--lua", default="lua5.4")
    ap.add_argument("--asan_runtime", default="")
    ap.add_argument("--cgrpc_server", default=os.path.join(ROOT, "build/bin/interop_server"))
    ap.add_argument("--descriptor_set",
                    default=os.path.join(ROOT, "build/interop/grpc_testing.pb"))
    ap.add_argument("--client_timeout", type=float, default=120.0,
                    help="seconds for one client run of all cases (x3 under ASan)")
    args = ap.parse_args()
    args.certs = os.path.abspath(args.certs)
    args.descriptor_set = os.path.abspath(args.descriptor_set)
    clients = [c for c in args.clients.split(",") if c]
    for c in clients:
        if c not in ("python", "lua", "lua-asan"):
            ap.error("unknown client %s" % c)
    if "lua-asan" in clients and not args.asan_runtime:
        ap.error("lua-asan needs --asan_runtime=$(cc -print-file-name=libasan.so)")
    servers = [s for s in args.servers.split(",") if s]
    transports = [t for t in args.transports.split(",") if t]
    logdir = tempfile.mkdtemp(prefix="cgrpc-interop-bindings.")
    failures = []
    t_start = time.monotonic()

    def check(ok, label, detail=""):
        print("%s %s%s" % ("ok  " if ok else "FAIL", label, ("\n" + detail) if detail and not ok
                                                            else ""), flush=True)
        if not ok:
            failures.append(label)

    for srv in servers:
        for transport in transports:
            tls = transport == "tls"
            server = Server(srv, args, tls, logdir)
            try:
                if not server.wait_ready():
                    check(False, "%s/%s: server did not start" % (srv, transport),
                          "    " + " ".join(server.cmd) + "\n" + server.tail())
                    continue
                for client in clients:
                    t0 = time.monotonic()
                    rc, results, out, err = run_client(args, client, server.port, tls)
                    passed = [c for c in CASES if results.get(c, ("",))[0] == "PASS"]
                    ok = rc == 0 and len(passed) == len(CASES) and len(results) == len(CASES)
                    ok = ok and sanitizer_clean(err)
                    check(ok, "%-8s x %-10s %s: %d/%d passed (%.1f s)"
                          % (client, srv, transport, len(passed), len(CASES),
                             time.monotonic() - t0), describe(rc, results, out, err))
            finally:
                src = server.stop()
            # grpc-go's servers exit 2 on SIGTERM (Go's default signal exit).
            clean = src == 0 or (srv.startswith("go-") and src == -signal.SIGTERM)
            check(clean, "%s/%s server stopped cleanly (exit %s)" % (srv, transport, src),
                  server.tail())

    if args.selftest:
        st_clients = clients
        for fault, want_fail in sorted(FAULTS.items()):
            server = Server("grpcio", args, False, logdir, fault=fault)
            try:
                if not server.wait_ready():
                    check(False, "selftest %s: server did not start" % fault, server.tail())
                    continue
                for client in st_clients:
                    rc, results, out, err = run_client(args, client, server.port, False)
                    failed = {c for c, (v, _) in results.items() if v == "FAIL"}
                    ok = (rc == 1 and failed == want_fail and len(results) == len(CASES)
                          and sanitizer_clean(err))
                    check(ok, "selftest %-8s grpcio with fault %-14s fails exactly %s"
                          % (client, fault, ", ".join(sorted(want_fail))),
                          "    failed: %s\n%s" % (", ".join(sorted(failed)),
                                                 describe(rc, results, out, err)))
            finally:
                server.stop()
        # Usage errors exit 2 without running anything.
        for client in st_clients:
            for bad in (["--test_case=no_such_case"], ["--use_tls=maybe"],
                        ["--no_such_flag=1"]):
                rc, results, out, err = run_client(args, client, 1, False, extra=bad,
                                                   limit=30)
                check(rc == 2 and not results and sanitizer_clean(err),
                      "selftest %-8s usage error %s exits 2 (got %s)" % (client, bad[0], rc),
                      err[-500:])
            # Nobody listening: every case fails, in bounded time.
            dead = free_port()
            t0 = time.monotonic()
            rc, results, out, err = run_client(args, client, dead, False,
                                               extra=["--rpc_timeout_ms=2000"], limit=90)
            failed = {c for c, (v, _) in results.items() if v == "FAIL"}
            # cancel_after_begin cancels at once and expects CANCELLED: a
            # local outcome that may come before the refused connection
            # does (Python checks grpcio's Future contract, which holds
            # without a server either); everything else must fail.
            must = set(CASES) - {"cancel_after_begin"}
            check(rc == 1 and must <= failed and len(results) == len(CASES)
                  and sanitizer_clean(err),
                  "selftest %-8s no server: %d/%d cases fail, exit %s (%.1f s)"
                  % (client, len(failed), len(CASES), rc, time.monotonic() - t0),
                  describe(rc, results, out, err))

    print("test-interop-bindings: %d check(s) failed, %.0f s (logs in %s)"
          % (len(failures), time.monotonic() - t_start, logdir) if failures else
          "test-interop-bindings: all passed (%.0f s)" % (time.monotonic() - t_start))
    if not failures:
        shutil.rmtree(logdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
