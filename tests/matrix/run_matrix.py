#!/usr/bin/env python3
"""cgrpc's interop matrix: grpc's standard interop cases between cgrpc and
real gRPC implementations (issue 7).  Python 3.11 standard library only;
builds nothing (tests/matrix/matrix.mk does).  See tests/matrix/README.md.

Rows run, each over h2c and TLS (a test CA made at test time):
  subject   cgrpc client x {go-current, go-1.33, grpcio, grpc-js, cgrpc} servers,
            {go-current, go-1.33, grpcio, grpc-js} clients x cgrpc server,
            every client x nginx grpc_pass -> cgrpc server
            (front h2c -> upstream h2c, h2c -> TLS, TLS -> TLS).
            Skipped, and said so, while build/bin/interop_{client,server}
            do not exist (--require-cgrpc makes that an error).
  baseline  the peers against each other: go-current client x every other
            peer server, every other peer client x go-current server, and
            every peer client x nginx -> grpcio server.  They check the
            infrastructure and tell a cgrpc failure from a broken peer.
--all-pairs runs every client x every server instead (both directions).

Readiness protocol of a server under test: the runner picks a free
loopback port P, starts `SERVER --port=P --bind_host=127.0.0.1
--use_tls=true|false [--tls_cert_file=F --tls_key_file=F]`, and waits
until 127.0.0.1:P accepts a TCP connection while the process is alive.
It then checks /proc/net/tcp{,6} that nothing listens on P except on a
loopback address.  Clients get --server_host=127.0.0.1 --server_port=P
--test_case=C --use_tls=... and, for TLS, --use_test_ca=true
--ca_file=CA --server_host_override=foo.test.google.fr; exit status 0 is a
pass.  Batch clients (grpcio, grpc-js) take comma-separated cases and
print `RESULT <case> PASS|FAIL <reason>` per case.

Every process runs in its own process group, with a time limit, and is
stopped by its id (the group's id); clients get GCE_METADATA_HOST=127.0.0.1:9
and no proxy variables.  Before each row the server must answer an HTTP/2
preface; a sanitizer report in a server's log fails the rows it served.
"""
import argparse
import atexit
import concurrent.futures
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HOST = "127.0.0.1"
OVERRIDE = "foo.test.google.fr"

CASES = ["empty_unary", "large_unary", "client_streaming", "server_streaming",
         "ping_pong", "empty_stream", "cancel_after_begin",
         "cancel_after_first_response", "timeout_on_sleeping_server",
         "custom_metadata", "status_code_and_message", "special_status_message",
         "unimplemented_method", "unimplemented_service"]
QUICK_CASES = ["empty_unary", "large_unary", "ping_pong", "custom_metadata",
               "status_code_and_message", "timeout_on_sleeping_server"]

PEERS = ["go-current", "go-1.33", "grpcio", "grpc-js"]
SUBJECT = "cgrpc"
# nginx variants: (front transport clients use, upstream transport to the server)
NGINX_VARIANTS = [("h2c", "h2c"), ("h2c", "tls"), ("tls", "tls")]
# The baseline's server behind nginx.  Not grpc-go: it resets the stream at a
# deadline, which nginx turns into a 502 (see KNOWN_RACES).
NGINX_BASELINE_UPSTREAM = "grpcio"

CASE_TIMEOUT = 20.0        # one case in its own process
BATCH_BASE_TIMEOUT = 20.0  # a batch client: this plus BATCH_CASE_TIMEOUT per case
BATCH_CASE_TIMEOUT = 8.0
SERVER_START_TIMEOUT = 20.0
MAX_CONSECUTIVE_TIMEOUTS = 3  # then the row's other cases are not run (hung server)


# --------------------------------------------------------------- the table
def implementations(args):
    """name -> dict(client=argv|None, server=argv|None, batch=bool, env={},
    required=[paths])."""
    py = args.python
    b = args.build_dir
    node_env = {"NODE_PATH": os.path.join(b, "matrix", "node", "node_modules")}
    py_env = {"CGRPC_MATRIX_GEN": os.path.join(b, "matrix", "gen")}
    peers_dir = os.path.join(ROOT, "tests", "matrix", "peers")
    cg = args.cgrpc_bin_dir
    return {
        "cgrpc": dict(
            client=[os.path.join(cg, "interop_client")],
            server=[os.path.join(cg, "interop_server")],
            batch=False, env={},
            required=[os.path.join(cg, "interop_client"), os.path.join(cg, "interop_server")]),
        "go-current": dict(
            client=[os.path.join(b, "peers", "go-current", "interop_client")],
            server=[os.path.join(b, "peers", "go-current", "interop_server")],
            batch=False, env={},
            required=[os.path.join(b, "peers", "go-current", "interop_client"),
                      os.path.join(b, "peers", "go-current", "interop_server")]),
        "go-1.33": dict(
            client=[os.path.join(b, "peers", "go-1.33", "interop_client")],
            server=[os.path.join(b, "peers", "go-1.33", "interop_server")],
            batch=False, env={},
            required=[os.path.join(b, "peers", "go-1.33", "interop_client"),
                      os.path.join(b, "peers", "go-1.33", "interop_server")]),
        "grpcio": dict(
            client=[py, os.path.join(peers_dir, "grpcio_client.py")],
            server=[py, os.path.join(peers_dir, "grpcio_server.py")],
            batch=True, env=py_env,
            required=[py, os.path.join(b, "matrix", "gen", "grpc", "testing", "test_pb2_grpc.py")]),
        "grpc-js": dict(
            client=["node", os.path.join(peers_dir, "node", "interop_client.js")],
            server=["node", os.path.join(peers_dir, "node", "interop_server.js")],
            batch=True, env=node_env,
            required=[os.path.join(node_env["NODE_PATH"], "@grpc", "grpc-js", "package.json")]),
    }


class Row:
    """One (client, server, transport) pair; via nginx when nginx is set."""

    def __init__(self, client, server, transport, nginx=None, group="subject"):
        self.client, self.server, self.transport = client, server, transport
        self.nginx = nginx      # None or (front, upstream)
        self.group = group
        self.results = {}       # case -> (ok, reason)
        self.notes = []         # passes that needed a retry (KNOWN_RACES)

    @property
    def label(self):
        if self.nginx:
            front, up = self.nginx
            return "%s -> nginx(%s) -> %s(%s)" % (self.client, front, self.server, up)
        return "%s -> %s (%s)" % (self.client, self.server, self.transport)

    def server_key(self):
        """Rows with the same key share one server (and nginx) instance."""
        return (self.server, self.transport, self.nginx)


def plan(args, impls, have_cgrpc):
    rows = []
    transports = args.transports
    if args.all_pairs:
        names = [n for n in impls if n != SUBJECT or have_cgrpc]
        for t in transports:
            for s in names:
                for c in names:
                    rows.append(Row(c, s, t, group="all"))
        for front, up in NGINX_VARIANTS:
            if front in transports:
                for c in names:
                    rows.append(Row(c, SUBJECT if have_cgrpc else NGINX_BASELINE_UPSTREAM, up,
                                    nginx=(front, up), group="all"))
    else:
        for t in transports:
            for s in PEERS + [SUBJECT]:
                rows.append(Row(SUBJECT, s, t))
            for c in PEERS:
                rows.append(Row(c, SUBJECT, t))
        for front, up in NGINX_VARIANTS:
            if front in transports:
                for c in [SUBJECT] + PEERS:
                    rows.append(Row(c, SUBJECT, up, nginx=(front, up)))
        if not args.no_baseline:
            ref = "go-current"
            for t in transports:
                for p in PEERS:
                    if p != ref:
                        rows.append(Row(ref, p, t, group="baseline"))
                        rows.append(Row(p, ref, t, group="baseline"))
                rows.append(Row(ref, ref, t, group="baseline"))
            for front, up in NGINX_VARIANTS:
                if front in transports:
                    for c in PEERS:
                        rows.append(Row(c, NGINX_BASELINE_UPSTREAM, up, nginx=(front, up),
                                        group="baseline"))
    if args.clients:
        rows = [r for r in rows if r.client in args.clients]
    if args.servers:
        rows = [r for r in rows if r.server in args.servers]
    if args.no_nginx:
        rows = [r for r in rows if not r.nginx]
    if args.only_nginx:
        rows = [r for r in rows if r.nginx]
    return rows


# --------------------------------------------------------------- processes
_live = {}            # pid -> Popen, every process we started and not yet reaped
_live_lock = threading.Lock()


def child_env(extra):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["GCE_METADATA_HOST"] = "127.0.0.1:9"
    env.update(extra)
    return env


def spawn(argv, env, stdout, stderr):
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=stderr, start_new_session=True, cwd=ROOT)
    with _live_lock:
        _live[p.pid] = p
    return p


def stop(p, grace=3.0):
    """Stops process p and its group (the group's id is p's pid)."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)   # stragglers in the group
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass
    with _live_lock:
        _live.pop(p.pid, None)


def stop_all():
    with _live_lock:
        procs = list(_live.values())
    for p in procs:
        stop(p, grace=1.0)


def run_bounded(argv, env, timeout):
    """Runs a client; returns (rc or None on timeout, stdout, stderr)."""
    p = spawn(argv, env, subprocess.PIPE, subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        stop(p, grace=0.5)
        out, err = p.communicate()
        rc = None
    with _live_lock:
        _live.pop(p.pid, None)
    try:
        os.killpg(p.pid, signal.SIGKILL)   # anything the client left behind
    except (ProcessLookupError, PermissionError):
        pass
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


_port_lock = threading.Lock()
_ports_given = set()


def free_port():
    with _port_lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((HOST, 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port
    raise RuntimeError("no free port")


def listeners(port):
    """Local addresses (hex, as in /proc/net) listening on port."""
    found = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    addr, hexport = parts[1].rsplit(":", 1)
                    if parts[3] == "0A" and int(hexport, 16) == port:
                        found.append(addr)
        except FileNotFoundError:
            pass
    return found


def is_loopback_hex(addr):
    """True for a /proc/net address (host-order 32-bit words, in hex) that
    is loopback: 127.0.0.0/8, ::1 or ::ffff:127.x.y.z."""
    raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, len(addr), 8))
    ip = ipaddress.ip_address(raw)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class PortLost(RuntimeError):
    pass


def wait_ready(proc, port, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = "%s exited with %s before listening" % (what, proc.returncode)
            if listeners(port):   # someone else has the port now: try another
                raise PortLost(msg + " (port %d taken)" % port)
            raise RuntimeError(msg)
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        raise RuntimeError("%s did not accept connections on %s:%d within %.0fs"
                           % (what, HOST, port, timeout))
    bad = [a for a in listeners(port) if not is_loopback_hex(a)]
    if bad:
        raise RuntimeError("%s listens on a non-loopback address (%s) on port %d"
                           % (what, ",".join(bad), port))


def h2_probe(port, tls, ca, timeout=5.0):
    """Checks that 127.0.0.1:port speaks HTTP/2 (with TLS: a certificate for
    OVERRIDE from the test CA, and ALPN h2): sends the client preface and
    SETTINGS, expects the server's SETTINGS first.  None when fine, else why."""
    try:
        raw = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as e:
        return "cannot connect: %s" % e
    try:
        sock = raw
        if tls:
            ctx = ssl.create_default_context(cafile=ca)
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(raw, server_hostname=OVERRIDE)
            if sock.selected_alpn_protocol() != "h2":
                return "TLS without ALPN h2 (got %r)" % sock.selected_alpn_protocol()
        sock.settimeout(timeout)
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        head = b""
        while len(head) < 9:
            chunk = sock.recv(9 - len(head))
            if not chunk:
                return "connection closed before the server's SETTINGS"
            head += chunk
        if head[3] != 4 or head[4] & 1:
            return "first frame is type %d flags %d, not SETTINGS" % (head[3], head[4])
        return None
    except (OSError, ssl.SSLError) as e:
        return "no HTTP/2 SETTINGS within %.0fs: %s" % (timeout, e)
    finally:
        raw.close()


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "WARNING: ThreadSanitizer", "runtime error:")


def sanitizer_report(path):
    """The first sanitizer line in a server's log, or None."""
    if not path or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            if any(m in line for m in SANITIZER_MARKERS):
                return line.strip()[:200]
    return None


# --------------------------------------------------------------- servers
class ServerInstance:
    """A server under test, maybe behind nginx; clients connect to .port."""

    def __init__(self, args, impls, key, logdir, extra_env=None):
        self.args, self.impls, self.key, self.logdir = args, impls, key, logdir
        self.extra_env = extra_env or {}
        self.procs = []
        self.port = self.backend_port = None
        self.log_path = None

    def start(self):
        for attempt in (1, 2, 3):
            try:
                return self._start()
            except PortLost:
                self.stop()     # the port was taken between choosing and binding
                if attempt == 3:
                    raise

    def _start(self):
        name, transport, nginx = self.key
        impl = self.impls[name]
        tag = "%s-%s%s" % (name, transport, "-nginx-%s" % nginx[0] if nginx else "")
        sport = free_port()
        argv = impl["server"] + ["--port=%d" % sport, "--bind_host=%s" % HOST,
                                 "--use_tls=%s" % ("true" if transport == "tls" else "false")]
        if transport == "tls":
            argv += ["--tls_cert_file=" + self.args.cert, "--tls_key_file=" + self.args.key]
        self.log_path = os.path.join(self.logdir, "server-%s-%d.log" % (tag, sport))
        log = open(self.log_path, "wb")
        p = spawn(argv, child_env(dict(impl["env"], **self.extra_env)), log, subprocess.STDOUT)
        log.close()
        self.procs.append(p)
        wait_ready(p, sport, SERVER_START_TIMEOUT, "%s server" % name)
        self.port = self.backend_port = sport
        if nginx:
            self.port = self.start_nginx(tag, nginx[0], transport, sport)

    def start_nginx(self, tag, front, upstream, sport):
        port = free_port()
        d = os.path.join(self.logdir, "nginx-%s-%d" % (tag, port))
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        os.chmod(os.path.join(d, "tmp"), 0o777)   # workers may run as nobody
        a = self.args
        listen = "listen %s:%d %shttp2;" % (HOST, port, "ssl " if front == "tls" else "")
        tls_front = ("ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                     "    ssl_protocols TLSv1.2 TLSv1.3;" % (a.cert, a.key)) if front == "tls" else ""
        if upstream == "tls":
            up = ("grpc_pass grpcs://%s:%d;\n      grpc_ssl_verify on;\n"
                  "      grpc_ssl_trusted_certificate %s;\n      grpc_ssl_name %s;\n"
                  "      grpc_ssl_server_name on;" % (HOST, sport, a.ca, OVERRIDE))
        else:
            up = "grpc_pass grpc://%s:%d;" % (HOST, sport)
        conf = """# written by tests/matrix/run_matrix.py
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  client_max_body_size 0;
  server {{
    {listen}
    {tls_front}
    location / {{
      {up}
      grpc_connect_timeout 5s;
      grpc_read_timeout 30s;
      grpc_send_timeout 30s;
    }}
  }}
}}
""".format(d=d, listen=listen, tls_front=tls_front, up=up)
        conf_path = os.path.join(d, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        log = open(os.path.join(d, "stderr.log"), "wb")
        p = spawn([a.nginx, "-p", d, "-c", conf_path, "-e", os.path.join(d, "error.log")],
                  child_env({}), log, subprocess.STDOUT)
        log.close()
        self.procs.append(p)
        wait_ready(p, port, SERVER_START_TIMEOUT, "nginx")
        return port

    def stop(self):
        for p in reversed(self.procs):
            stop(p)
        self.procs = []


# --------------------------------------------------------------- clients
def client_argv(impl, port, transport, cases, args):
    argv = impl["client"] + ["--server_host=%s" % HOST, "--server_port=%d" % port,
                             "--test_case=%s" % ",".join(cases),
                             "--use_tls=%s" % ("true" if transport == "tls" else "false")]
    if transport == "tls":
        argv += ["--use_test_ca=true", "--ca_file=" + args.ca,
                 "--server_host_override=" + OVERRIDE]
    return argv


def tail_reason(rc, out, err, limit=400):
    lines = [l.strip() for l in (err + "\n" + out).splitlines() if l.strip()]
    lines = [l for l in lines if not l.startswith("RESULT ")]
    text = " | ".join(lines[-3:]) if lines else "(no output)"
    head = "timed out" if rc is None else "exit %d" % rc
    text = "%s: %s" % (head, text)
    return text if len(text) <= limit else text[:limit] + "..."


# Races inside a peer's own client code, not the server's doing: such a case
# is run again (up to KNOWN_RACE_RETRIES more times) when it fails, and the
# summary says so.  Keep this list short and explained.
GO = {"go-1.33", "go-current"}
KNOWN_RACES = [
    dict(clients=GO, case="cancel_after_begin",
         why="grpc-go's client (1.33 and 1.85 alike) cancels, then CloseAndRecv()s "
             "without waiting for the reset; under load its END_STREAM can reach a "
             "fast server first, and when the server's OK is already there Go's "
             "select may pick it (about 1 run in 600)"),
    dict(clients=GO, servers=GO, nginx=True, case="timeout_on_sleeping_server",
         why="grpc-go's server resets the stream at the 1 ms deadline, nginx answers "
             "that with HTTP 502, and when the 502 beats the grpc-go client's own "
             "timer the client reports UNAVAILABLE (about 1 run in 17)"),
]


def known_race(row, case):
    for r in KNOWN_RACES:
        if (r["case"] == case and row.client in r.get("clients", {row.client})
                and row.server in r.get("servers", {row.server})
                and r.get("nginx", bool(row.nginx)) == bool(row.nginx)):
            return r["why"]
    return None


KNOWN_RACE_RETRIES = 2


def run_cases(impl, port, transport, cases, args):
    """Runs cases with one client implementation; returns {case: (ok, reason)}."""
    env = child_env(impl["env"])
    results = {}
    if impl["batch"]:
        timeout = BATCH_BASE_TIMEOUT + BATCH_CASE_TIMEOUT * len(cases)
        rc, out, err = run_bounded(client_argv(impl, port, transport, cases, args), env, timeout)
        seen = {}
        for line in out.splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "RESULT" and parts[1] in cases:
                seen[parts[1]] = (parts[2] == "PASS", parts[3] if len(parts) > 3 else "")
        for c in cases:
            results[c] = seen.get(c, (False, "no result: " + tail_reason(rc, out, err)))
        all_ok = all(ok for ok, _ in results.values())
        if all_ok and rc != 0:        # every case passed but the process failed
            for c in cases:
                results[c] = (False, "client " + tail_reason(rc, out, err))
        elif not all_ok and rc == 0:  # a client reporting failures must not exit 0
            for c in cases:
                if not results[c][0]:
                    results[c] = (False, results[c][1] + " (and the client exited 0)")
    else:
        timeouts = 0
        for c in cases:
            if timeouts >= MAX_CONSECUTIVE_TIMEOUTS:
                results[c] = (False, "not run: %d cases in a row timed out" % timeouts)
                continue
            rc, out, err = run_bounded(client_argv(impl, port, transport, [c], args), env, CASE_TIMEOUT)
            results[c] = (True, "") if rc == 0 else (False, tail_reason(rc, out, err))
            timeouts = timeouts + 1 if rc is None else 0
    return results


def run_row(row, port, impls, args):
    impl = impls[row.client]
    front = row.nginx[0] if row.nginx else row.transport
    if time.monotonic() > args.deadline:
        row.results = {c: (False, "not run: the matrix's time limit (--max-time) passed")
                       for c in args.cases}
        return
    row.results = run_cases(impl, port, front, args.cases, args)
    for c in args.cases:
        why = known_race(row, c)
        if row.results[c][0] or not why:
            continue
        first = row.results[c][1]
        if first.startswith(("timed out", "not run")):
            continue
        for attempt in range(1, KNOWN_RACE_RETRIES + 1):
            ok, reason = run_cases(impl, port, front, [c], args)[c]
            if ok:
                row.notes.append("%s passed on retry %d after: %s [known race: %s]"
                                 % (c, attempt, first, why))
                row.results[c] = (True, "")
                break
            row.results[c] = (False, reason + " (also failed %d retries)" % attempt)


def run_server_group(key, rows, impls, args, logdir, printer):
    inst = ServerInstance(args, impls, key, logdir)
    try:
        inst.start()
    except Exception as e:  # the server did not come up: every row fails
        for r in rows:
            for c in args.cases:
                r.results[c] = (False, "server: %s" % e)
        inst.stop()
        printer(rows)
        return
    front_tls = (key[2][0] if key[2] else key[1]) == "tls"
    try:
        for r in rows:
            why = h2_probe(inst.port, front_tls, args.ca)
            if not why and key[2]:
                why = h2_probe(inst.backend_port, key[1] == "tls", args.ca)
                why = why and "%s behind nginx: %s" % (key[0], why)
            if why:
                r.results = {c: (False, "not run: server not answering: " + why)
                             for c in args.cases}
                printer([r])
                continue
            run_row(r, inst.port, impls, args)
            printer([r])
            if inst.procs and any(p.poll() is not None for p in inst.procs):
                dead = [p.args[0] for p in inst.procs if p.poll() is not None]
                for c in args.cases:
                    ok, why = r.results[c]
                    if ok:
                        continue
                    r.results[c] = (False, why + " [server process exited: %s]" % ",".join(dead))
                break
    finally:
        inst.stop()
    report = sanitizer_report(inst.log_path)
    if report:   # e.g. a build/asan server: its report fails every row it served
        for r in rows:
            r.results["server-sanitizer"] = (False, "%s in %s" % (report, inst.log_path))
    for r in rows:
        if not r.results:
            for c in args.cases:
                r.results[c] = (False, "not run: the server exited")
            printer([r])


# --------------------------------------------------------------- self-test
# Does the matrix catch a wrong server?  The grpcio server answers wrongly in
# one respect (CGRPC_MATRIX_FAULT); each peer client must fail exactly the
# cases that depend on it and pass the control cases.
SELFTEST = [
    # fault, cases that must fail, control cases that must pass
    ("payload_size", ["large_unary", "server_streaming", "ping_pong"], ["empty_unary"]),
    ("no_echo", ["custom_metadata"], ["large_unary"]),
    ("status_message", ["status_code_and_message", "special_status_message"], ["empty_unary"]),
    ("aggregate", ["client_streaming"], ["server_streaming"]),
]


def selftest(args, impls, logdir):
    problems = []
    checked = 0
    for fault, must_fail, must_pass in SELFTEST:
        inst = ServerInstance(args, impls, ("grpcio", "h2c", None), logdir,
                              extra_env={"CGRPC_MATRIX_FAULT": fault})
        try:
            inst.start()
            for client in PEERS:
                res = run_cases(impls[client], inst.port, "h2c", must_fail + must_pass, args)
                for c in must_fail:
                    checked += 1
                    if res[c][0]:
                        problems.append("%s client passed %s against a server with fault %s"
                                        % (client, c, fault))
                for c in must_pass:
                    checked += 1
                    if not res[c][0]:
                        problems.append("%s client failed control case %s (fault %s): %s"
                                        % (client, c, fault, res[c][1]))
        except Exception as e:
            problems.append("fault %s: %s" % (fault, e))
        finally:
            inst.stop()
    print("self-test: %d verdicts checked against deliberately wrong servers" % checked)
    for p in problems:
        print("  SELFTEST FAIL: " + p)
    return checked - len(problems), len(problems)


# --------------------------------------------------------------- main
def parse_args(argv):
    ap = argparse.ArgumentParser(description="cgrpc interop matrix (issue 7)")
    ap.add_argument("--quick", action="store_true",
                    help="a few cases only: " + ",".join(QUICK_CASES))
    ap.add_argument("--cases", help="comma-separated cases (default: all 14)")
    ap.add_argument("--clients", help="comma-separated client implementations")
    ap.add_argument("--servers", help="comma-separated server implementations")
    ap.add_argument("--transports", default="h2c,tls", help="h2c,tls")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--only-nginx", action="store_true")
    ap.add_argument("--no-baseline", action="store_true", help="skip peer-vs-peer rows")
    ap.add_argument("--all-pairs", action="store_true", help="every client x every server")
    ap.add_argument("--require-cgrpc", action="store_true",
                    help="fail (instead of skip) when cgrpc's interop binaries are missing")
    ap.add_argument("--jobs", type=int, default=2, help="server groups run at once")
    ap.add_argument("--max-time", type=float, default=360.0,
                    help="seconds; rows not started by then fail as not run (default 360)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cgrpc-bin-dir", default=None, help="default BUILD/bin")
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--certs", default=None, help="default BUILD/matrix/certs")
    ap.add_argument("--list", action="store_true", help="print the rows and exit")
    ap.add_argument("--selftest", action="store_true",
                    help="also check that the peer clients fail against deliberately wrong servers")
    args = ap.parse_args(argv)
    args.build_dir = os.path.abspath(args.build_dir)
    args.cgrpc_bin_dir = os.path.abspath(args.cgrpc_bin_dir or os.path.join(args.build_dir, "bin"))
    certs = os.path.abspath(args.certs or os.path.join(args.build_dir, "matrix", "certs"))
    args.ca, args.cert, args.key = (os.path.join(certs, n) for n in ("ca.pem", "server.pem", "server.key"))
    if args.cases:
        args.cases = [c for c in args.cases.split(",") if c]
    else:
        args.cases = QUICK_CASES if args.quick else CASES
    bad = [c for c in args.cases if c not in CASES]
    if bad:
        ap.error("not one of the 14 standard cases: %s" % ",".join(bad))
    args.transports = [t for t in args.transports.split(",") if t]
    if any(t not in ("h2c", "tls") for t in args.transports):
        ap.error("--transports takes h2c and/or tls")
    args.clients = args.clients.split(",") if args.clients else None
    args.servers = args.servers.split(",") if args.servers else None
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.monotonic()
    args.deadline = t0 + args.max_time
    impls = implementations(args)
    for sel in (args.clients or []) + (args.servers or []):
        if sel not in impls:
            print("unknown implementation %r (have: %s)" % (sel, ", ".join(impls)))
            return 2

    have_cgrpc = all(os.path.exists(p) for p in impls[SUBJECT]["required"])
    rows = plan(args, impls, have_cgrpc)
    skipped = []
    if not have_cgrpc:
        msg = ("cgrpc interop binaries not found (%s): the cgrpc rows are SKIPPED"
               % " ".join(impls[SUBJECT]["required"]))
        if args.require_cgrpc:
            print("ERROR: " + msg.replace(": the cgrpc rows are SKIPPED", ""))
            return 2
        skipped = [r for r in rows if SUBJECT in (r.client, r.server)]
        rows = [r for r in rows if SUBJECT not in (r.client, r.server)]
        print("NOTE: " + msg + " (%d rows)" % len(skipped))

    needed = {r.client for r in rows} | {r.server for r in rows}
    missing = ["%s: %s" % (n, p) for n in sorted(needed) for p in impls[n]["required"]
               if not os.path.exists(p)]
    if rows and any(r.nginx for r in rows) and not os.path.exists(args.nginx):
        missing.append("nginx: %s" % args.nginx)
    if any(r.transport == "tls" or r.nginx for r in rows):
        missing += ["certs: " + p for p in (args.ca, args.cert, args.key) if not os.path.exists(p)]
    if missing:
        print("ERROR: missing (run `make matrix-peers`):\n  " + "\n  ".join(missing))
        return 2

    if args.list:
        for r in rows:
            print("%-9s %s" % (r.group, r.label))
        for r in skipped:
            print("%-9s %s  [skipped]" % (r.group, r.label))
        return 0
    if not rows:
        print("no rows to run")
        return 2

    logdir = os.path.join(args.build_dir, "matrix", "logs")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    groups = {}
    for r in rows:
        groups.setdefault(r.server_key(), []).append(r)
    print("interop matrix: %d rows x %d cases, %d server instances, %d at a time; logs in %s"
          % (len(rows), len(args.cases), len(groups), args.jobs, logdir), flush=True)

    out_lock = threading.Lock()

    def printer(done_rows):
        with out_lock:
            for r in done_rows:
                n = sum(1 for ok, _ in r.results.values() if ok)
                print("  %-4s %-52s %2d/%d" % ("ok" if n == len(r.results) else "FAIL",
                                              r.label, n, len(r.results)), flush=True)

    # Longest groups first, so the two workers finish together.
    order = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = [ex.submit(run_server_group, k, v, impls, args, logdir, printer) for k, v in order]
        for f in futs:
            f.result()
    st_pass = st_fail = 0
    if args.selftest:
        st_pass, st_fail = selftest(args, impls, logdir)
    stop_all()

    # Summary.
    total_pass, total_fail = st_pass, st_fail
    print("\n==== interop matrix summary ====")
    for group in ("subject", "baseline", "all"):
        grows = [r for r in rows if r.group == group]
        if not grows:
            continue
        print("[%s]" % group)
        for r in sorted(grows, key=lambda r: (r.nginx is not None, r.transport, r.client, r.server)):
            n = sum(1 for ok, _ in r.results.values() if ok)
            m = len(r.results) - n
            total_pass += n
            total_fail += m
            print("  %-56s %2d passed, %d failed" % (r.label, n, m))
            for c in list(args.cases) + [k for k in r.results if k not in args.cases]:
                ok, why = r.results.get(c, (False, "not run"))
                if not ok:
                    print("      FAIL %-28s %s" % (c, why))
            for note in r.notes:
                print("      note: " + note)
    if skipped:
        print("[skipped: no cgrpc interop binaries]")
        for r in skipped:
            print("  %-56s skipped" % r.label)
    elapsed = time.monotonic() - t0
    print("elapsed: %.1f s" % elapsed)
    print("matrix: %d passed, %d failed" % (total_pass, total_fail))
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
