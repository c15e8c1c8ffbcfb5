#!/usr/bin/env python3
"""Runs the unary echo benchmark matrix and prints Markdown tables.

For each server (cgrpc build/bin/echo_server, grpcio
tests/interop/echo_grpcio_server.py):
  * starts it on 127.0.0.1 with port 0 and reads "PORT <n>";
  * runs the cgrpc client (build/bin/unary_bench) and the grpcio client
    (bench/grpcio_unary_bench.py) at each thread count, R times each, and
    keeps the medians;
  * checks one hand-made gRPC request with nghttp (status 200,
    grpc-status 0, body echoed), then drives the server with h2load
    (-c 4 -m 32, the same 64-byte gRPC-framed POST).  h2load only sees the
    HTTP status, hence the separate check.
Unless --no-tls, the same is done over TLS: each server also runs a second
instance with --tls-cert/--tls-key (build/test-certs/server.pem, SANs
127.0.0.1 and localhost), the clients get --tls-ca ca.pem, and nghttp and
h2load use https.  The h2c and TLS runs of a cell alternate (h2c, TLS, h2c,
TLS, ...), so slow drift on the machine affects both alike.
Then prints a client table and an h2load table for h2c, the same two for
TLS, and a "cost of TLS" table (TLS QPS / h2c QPS per cell), and saves the
raw results under build/bench/.  Every server is stopped by its pid at the
end, also on errors and signals.  Exit status 0 when every call of every
run succeeded.

Usage: bench/run.py [--quick] [--no-tls] [--repeats R] [--seconds S]
                    [--warmup S] [--threads 1,4,16] [--size 64]
                    [--h2load-n N] [--h2load-budget S] [--certs DIR]
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import selectors
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHOD = "/cgrpc.test.Echo/Unary"
HOST = "127.0.0.1"

_servers = []  # Popen objects still to stop


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def stop_server(proc):
    """SIGTERM by pid, wait up to 5 s, then SIGKILL by pid."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log("server pid %d ignored SIGTERM; killing it" % proc.pid)
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()
    if proc in _servers:
        _servers.remove(proc)


def stop_all_servers():
    for proc in list(_servers):
        stop_server(proc)


def _on_signal(signum, frame):
    # Unwinds through the finally blocks (which stop the servers); atexit
    # catches anything left.
    raise SystemExit(128 + signum)


def start_server(name, argv, log_path):
    """Starts a server and returns (proc, port); bounded wait of 20 s."""
    errf = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=errf, stdin=subprocess.DEVNULL)
    errf.close()
    _servers.append(proc)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + 20
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                break
            if sel.select(timeout=min(left, 0.5)):
                chunk = os.read(proc.stdout.fileno(), 256)
                if not chunk:
                    break
                buf += chunk
    finally:
        sel.close()
    m = re.match(rb"PORT (\d+)", buf)
    if not m:
        stop_server(proc)
        raise RuntimeError("%s did not print PORT (got %r; log %s)"
                           % (name, buf, log_path))
    return proc, int(m.group(1))


def run_client(client, port, threads, args, env, tls=False):
    if client == "cgrpc":
        argv = [os.path.join(ROOT, "build/bin/unary_bench")]
    else:
        argv = [args.python, os.path.join(ROOT, "bench/grpcio_unary_bench.py")]
    argv += ["--target", "%s:%d" % (HOST, port), "--threads", str(threads),
             "--seconds", str(args.seconds), "--size", str(args.size),
             "--warmup", str(args.warmup)]
    if tls:
        argv += ["--tls-ca", os.path.join(args.certs, "ca.pem")]
    timeout = args.warmup + args.seconds + 30
    try:
        p = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": "timed out after %ds" % timeout, "errors": 1}
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"failed": "exit %d, no JSON; stderr: %s"
                % (p.returncode, p.stderr.decode(errors="replace")[-300:]),
                "errors": 1}
    res["exit"] = p.returncode
    if p.returncode not in (0, 1):
        res["failed"] = "exit %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace")[-300:])
        res["errors"] = max(1, res.get("errors", 0))
    return res


def grpc_frame(size):
    msg = bytes((i * 7 + 1) & 0xFF for i in range(size))
    return msg, b"\x00" + struct.pack(">I", len(msg)) + msg


def url_for(port, tls):
    return "%s://%s:%d%s" % ("https" if tls else "http", HOST, port, METHOD)


def sanity_call(port, data_file, framed, tls=False):
    """One gRPC request shaped like h2load's, checked end to end.  (nghttp
    does not verify the server certificate; the bench clients do.)"""
    url = url_for(port, tls)
    try:
        p = subprocess.run(
            ["nghttp", "-v", "-t", "10", "-H", "content-type: application/grpc",
             "-H", "te: trailers", "-d", data_file, url],
            capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "nghttp timed out"
    except FileNotFoundError:
        return "nghttp not installed"
    out = p.stdout
    problems = []
    if p.returncode != 0:
        problems.append("nghttp exit %d" % p.returncode)
    if not re.search(rb"recv \(stream_id=\d+\) :status: 200", out):
        problems.append("no :status 200")
    if not re.search(rb"recv \(stream_id=\d+\) grpc-status: 0\b", out):
        problems.append("no grpc-status 0")
    if framed not in out:
        problems.append("reply body differs from the request")
    return "; ".join(problems)


_H2_FINISHED = re.compile(rb"finished in ([\d.]+)(ms|s), ([\d.]+) req/s")
_H2_REQUESTS = re.compile(
    rb"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
    rb"(\d+) failed, (\d+) errored, (\d+) timeout")
_H2_STATUS = re.compile(rb"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, "
                        rb"(\d+) 5xx")
_H2_TLS = re.compile(rb"TLS Protocol: (\S+)\s+Cipher: (\S+)")


def h2load(port, data_file, n, timeout, tls=False):
    url = url_for(port, tls)
    argv = ["h2load", "-c", "4", "-m", "32", "-n", str(n),
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            "-d", data_file, url]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, "failed": "h2load timed out after %ds" % timeout}
    except FileNotFoundError:
        return {"n": n, "failed": "h2load not installed"}
    out = p.stdout
    f, r, s = (_H2_FINISHED.search(out), _H2_REQUESTS.search(out),
               _H2_STATUS.search(out))
    if not (f and r and s):
        return {"n": n, "failed": "cannot parse h2load output (exit %d): %s"
                % (p.returncode, out[-300:].decode(errors="replace"))}
    secs = float(f.group(1)) / (1000.0 if f.group(2) == b"ms" else 1.0)
    res = {"n": n, "seconds": secs, "rps": float(f.group(3)),
           "succeeded": int(r.group(4)), "failed_requests": int(r.group(5)),
           "errored": int(r.group(6)), "timeout": int(r.group(7)),
           "status_2xx": int(s.group(1)), "exit": p.returncode}
    t = _H2_TLS.search(out)
    if t:
        res["tls"] = "%s %s" % (t.group(1).decode(), t.group(2).decode())
    elif tls:
        res["failed"] = "h2load did not report a TLS session"
        return res
    if res["succeeded"] != n or res["status_2xx"] != n or p.returncode:
        res["failed"] = ("%d/%d succeeded, %d 2xx (exit %d)"
                         % (res["succeeded"], n, res["status_2xx"],
                            p.returncode))
    return res


def run_h2load(port, data_file, args, tls=False):
    """A short probe picks -n so the measured run takes about budget s."""
    probe_n = min(args.h2load_n, 4096)
    probe = h2load(port, data_file, probe_n, 60, tls)
    if "failed" in probe:
        return probe
    n = args.h2load_n
    if probe["rps"] * args.h2load_budget < n:
        n = max(probe_n, int(probe["rps"] * args.h2load_budget) // 128 * 128)
    res = h2load(port, data_file, n, args.h2load_budget * 3 + 30, tls)
    res["probe_rps"] = probe["rps"]
    return res


def median(values):
    return statistics.median(values) if values else 0.0


def summarize(runs):
    ok = [r for r in runs if "qps" in r and "failed" not in r]
    qps = [r["qps"] for r in ok]
    return {
        "runs": len(runs),
        "qps": median(qps),
        "qps_min": min(qps) if qps else 0.0,
        "qps_max": max(qps) if qps else 0.0,
        "p50_us": median([r["p50_us"] for r in ok]),
        "p99_us": median([r["p99_us"] for r in ok]),
        "max_us": max([r.get("max_us", 0.0) for r in ok], default=0.0),
        "errors": sum(r.get("errors", 0) for r in runs),
        "failed": [r["failed"] for r in runs if "failed" in r],
        "first_error": next((r["first_error"] for r in runs
                             if r.get("first_error")), ""),
    }


def fmt_ratio(x, ref):
    return "%.2f" % (x / ref) if ref else "n/a"


MODES = ("h2c", "tls")
MODE_NAME = {"h2c": "h2c (plaintext HTTP/2)", "tls": "over TLS"}


def tables(summary, h2, args, mode):
    lines = []
    lines.append("### Unary echo %s" % MODE_NAME[mode])
    lines.append("")
    lines.append("%d-byte messages, threads sharing one channel%s; "
                 "median of %d run(s) of %gs after %gs warm-up."
                 % (args.size, " (one TLS connection)" if mode == "tls"
                    else "", args.repeats, args.seconds, args.warmup))
    lines.append("")
    lines.append("| client | server | threads | QPS | p50 µs | p99 µs | "
                 "QPS vs grpcio/grpcio | QPS spread | errors |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in args.thread_list:
        ref = summary.get(("grpcio", "grpcio", t), {}).get("qps", 0.0)
        for client in ("cgrpc", "grpcio"):
            for server in ("cgrpc", "grpcio"):
                s = summary.get((client, server, t))
                if not s:
                    continue
                spread = ("%.0f%%" % (100.0 * (s["qps_max"] - s["qps_min"])
                                      / s["qps"])
                          if s["qps"] and s["runs"] > 1 else "-")
                lines.append("| %s | %s | %d | %.0f | %.0f | %.0f | %s | %s "
                             "| %d |" % (client, server, t, s["qps"],
                                         s["p50_us"], s["p99_us"],
                                         fmt_ratio(s["qps"], ref), spread,
                                         s["errors"]))
    lines.append("")
    tls_info = sorted({r["tls"] for r in h2.values() if r.get("tls")})
    lines.append("h2load -c 4 -m 32, %d-byte gRPC-framed POST to %s%s:"
                 % (args.size, METHOD,
                    " over https (%s)" % ", ".join(tls_info)
                    if mode == "tls" and tls_info else
                    " over https" if mode == "tls" else ""))
    lines.append("")
    lines.append("| server | requests (-n) | req/s | ratio vs grpcio | "
                 "all 2xx | sanity call |")
    lines.append("|---|---:|---:|---:|---|---|")
    ref = h2.get("grpcio", {}).get("rps", 0.0)
    for server in ("cgrpc", "grpcio"):
        r = h2.get(server)
        if not r:
            continue
        if "rps" in r:
            lines.append("| %s | %d | %.0f | %s | %s | %s |" % (
                server, r["n"], r["rps"], fmt_ratio(r["rps"], ref),
                "yes" if "failed" not in r else "NO: " + r["failed"],
                r["sanity"] or "ok"))
        else:
            lines.append("| %s | %d | - | - | NO: %s | %s |" % (
                server, r.get("n", 0), r.get("failed", "?"),
                r["sanity"] or "ok"))
    return "\n".join(lines)


def paired_ratios(h2c_runs, tls_runs):
    """TLS/h2c QPS of the runs made back to back (rep i with rep i)."""
    out = []
    for a, b in zip(h2c_runs, tls_runs):
        if ("failed" in a or "failed" in b or not a.get("qps")
                or "qps" not in b):
            continue
        out.append(b["qps"] / a["qps"])
    return out


def cost_table(summ, runs, h2, args):
    lines = []
    lines.append("### Cost of TLS")
    lines.append("")
    lines.append("TLS/h2c is the TLS median QPS divided by the h2c median "
                 "QPS of the same cell (1.00 = no cost; 0.80 = 20% fewer "
                 "calls/s).  per-run range: the lowest and highest TLS/h2c "
                 "of the runs made back to back.")
    lines.append("")
    lines.append("| client | server | threads | h2c QPS | TLS QPS | TLS/h2c "
                 "| per-run range | h2c p50 µs | TLS p50 µs |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in args.thread_list:
        for client in ("cgrpc", "grpcio"):
            for server in ("cgrpc", "grpcio"):
                key = (client, server, t)
                a, b = summ["h2c"].get(key), summ["tls"].get(key)
                if not a or not b:
                    continue
                pr = paired_ratios(runs["h2c"].get(key, []),
                                   runs["tls"].get(key, []))
                rng = ("%.2f–%.2f" % (min(pr), max(pr))
                       if len(pr) > 1 else "-")
                lines.append("| %s | %s | %d | %.0f | %.0f | %s | %s | %.0f "
                             "| %.0f |" % (client, server, t, a["qps"],
                                           b["qps"],
                                           fmt_ratio(b["qps"], a["qps"]),
                                           rng, a["p50_us"], b["p50_us"]))
    rows = []
    for server in ("cgrpc", "grpcio"):
        a, b = h2["h2c"].get(server, {}), h2["tls"].get(server, {})
        if "rps" in a and "rps" in b:
            rows.append("| %s | %.0f | %.0f | %s |" % (
                server, a["rps"], b["rps"], fmt_ratio(b["rps"], a["rps"])))
    if rows:
        lines.append("")
        lines.append("h2load -c 4 -m 32 (server alone):")
        lines.append("")
        lines.append("| server | h2c req/s | TLS req/s | TLS/h2c |")
        lines.append("|---|---:|---:|---:|")
        lines.extend(rows)
    return "\n".join(lines)


def ensure_certs(args, ap):
    """Returns the cert dir with ca.pem, server.pem and server.key; makes
    the default one with `make build/test-certs/.done` when it is missing."""
    need = ("ca.pem", "server.pem", "server.key")

    def have():
        return all(os.path.exists(os.path.join(args.certs, f)) for f in need)

    default = os.path.join(ROOT, "build/test-certs")
    if not have() and os.path.abspath(args.certs) == default:
        log("bench: making the test certificates (make "
            "build/test-certs/.done)")
        try:
            subprocess.run(["make", "-s", "build/test-certs/.done"],
                           cwd=ROOT, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log("bench: make failed: %s" % exc)
    if not have():
        ap.error("missing %s in %s (run `make build/test-certs/.done`, or "
                 "pass --no-tls)" % ("/".join(need), args.certs))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repeat, 1 s runs, short h2load")
    ap.add_argument("--no-tls", action="store_true",
                    help="skip the TLS pass (h2c only)")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--threads", default="1,4,16")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--h2load-n", type=int)
    ap.add_argument("--h2load-budget", type=float,
                    help="target seconds for one h2load run (-n is lowered "
                    "to fit)")
    ap.add_argument("--certs", default=os.path.join(ROOT, "build/test-certs"),
                    help="directory with ca.pem, server.pem, server.key for "
                    "the TLS pass (default build/test-certs)")
    ap.add_argument("--python", default=None,
                    help="python with grpcio (default: .venv/bin/python)")
    args = ap.parse_args(argv)
    q = args.quick
    args.repeats = args.repeats or (1 if q else 3)
    args.seconds = args.seconds or (1.0 if q else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (
        0.25 if q else 0.5)
    args.h2load_n = args.h2load_n or (20000 if q else 200000)
    args.h2load_budget = args.h2load_budget or (3.0 if q else 15.0)
    args.thread_list = [int(x) for x in args.threads.split(",") if x]
    if not (1 <= args.repeats <= 20 and 0.1 <= args.seconds <= 60
            and args.thread_list and all(1 <= t <= 256
                                         for t in args.thread_list)):
        ap.error("option out of range")
    args.python = args.python or os.path.join(ROOT, ".venv/bin/python")
    args.certs = os.path.abspath(args.certs)
    modes = ("h2c",) if args.no_tls else MODES

    for path in ("build/bin/unary_bench", "build/bin/echo_server",
                 args.python, "tests/interop/echo_grpcio_server.py"):
        if not os.path.exists(os.path.join(ROOT, path)):
            ap.error("missing %s (run `make bench`)" % path)
    if "tls" in modes:
        ensure_certs(args, ap)

    atexit.register(stop_all_servers)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    outdir = os.path.join(ROOT, "build/bench")
    os.makedirs(outdir, exist_ok=True)
    env = dict(os.environ)
    env.pop("http_proxy", None)
    env.pop("https_proxy", None)
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost,::1"

    msg, framed = grpc_frame(args.size)
    fd, data_file = tempfile.mkstemp(prefix="cgrpc-bench-", suffix=".bin")
    with os.fdopen(fd, "wb") as f:
        f.write(framed)

    servers = {
        "cgrpc": [os.path.join(ROOT, "build/bin/echo_server"),
                  "--host", HOST, "--port", "0"],
        "grpcio": [args.python,
                   os.path.join(ROOT, "tests/interop/echo_grpcio_server.py"),
                   "--host", HOST, "--port", "0"],
    }
    tls_flags = ["--tls-cert", os.path.join(args.certs, "server.pem"),
                 "--tls-key", os.path.join(args.certs, "server.key")]
    runs = {m: {} for m in modes}
    h2 = {m: {} for m in modes}
    t_start = time.monotonic()
    n_runs = (len(servers) * 2 * len(args.thread_list) * args.repeats
              * len(modes))
    log("bench: %d client runs of %gs + %gs warm-up (%s), then h2load; "
        "about %.0f s" % (n_runs, args.seconds, args.warmup,
                          " and ".join(modes),
                          n_runs * (args.seconds + args.warmup + 0.4)
                          + len(modes) * 2 * (args.h2load_budget + 3)))
    try:
        for server, argv_s in servers.items():
            # One instance per transport, all up for the server's whole
            # block, so the h2c and TLS runs of a cell can alternate.
            procs = {}
            try:
                for mode in modes:
                    proc, port = start_server(
                        "%s (%s)" % (server, mode),
                        argv_s + (tls_flags if mode == "tls" else []),
                        os.path.join(outdir, "server-%s-%s.log"
                                     % (server, mode)))
                    procs[mode] = (proc, port)
                    log("server %s %s: pid %d port %d"
                        % (server, mode, proc.pid, port))
                for rep in range(args.repeats):
                    for client in ("cgrpc", "grpcio"):
                        for t in args.thread_list:
                            # h2c first on even repeats, TLS first on odd.
                            order = modes if rep % 2 == 0 else modes[::-1]
                            for mode in order:
                                res = run_client(client, procs[mode][1], t,
                                                 args, env, mode == "tls")
                                runs[mode].setdefault(
                                    (client, server, t), []).append(res)
                                log("  %-3s %-6s -> %-6s threads %2d rep %d: "
                                    "qps %8.0f p50 %7.0f p99 %7.0f errors %d%s"
                                    % (mode, client, server, t, rep + 1,
                                       res.get("qps", 0), res.get("p50_us", 0),
                                       res.get("p99_us", 0),
                                       res.get("errors", 0),
                                       " FAILED: " + res["failed"]
                                       if "failed" in res else ""))
                for mode in modes:
                    proc, port = procs[mode]
                    tls = mode == "tls"
                    sanity = sanity_call(port, data_file, framed, tls)
                    if sanity:
                        log("  %s sanity call to %s FAILED: %s"
                            % (mode, server, sanity))
                    res = run_h2load(port, data_file, args, tls)
                    res["sanity"] = sanity
                    h2[mode][server] = res
                    log("  %-3s h2load -> %-6s n %d: %s" % (
                        mode, server, res.get("n", 0),
                        "%.0f req/s in %.1fs" % (res["rps"], res["seconds"])
                        if "rps" in res else "")
                        + (" FAILED: " + res["failed"]
                           if "failed" in res else ""))
                    if proc.poll() is not None:
                        log("  server %s %s exited early with %d (see %s)"
                            % (server, mode, proc.returncode, outdir))
            finally:
                for proc, _ in procs.values():
                    stop_server(proc)
    finally:
        stop_all_servers()
        os.unlink(data_file)

    summary = {m: {k: summarize(v) for k, v in runs[m].items()}
               for m in modes}
    parts = [tables(summary[m], h2[m], args, m) for m in modes]
    if "tls" in modes:
        parts.append(cost_table(summary, runs, h2, args))
    text = "\n\n".join(parts)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    header = ("Run %s on %s, %d CPU(s), %s; took %.0f s%s."
              % (stamp, platform.node() or "?", os.cpu_count() or 0,
                 platform.platform(), time.monotonic() - t_start,
                 " (--quick)" if q else "")
              + ("" if "tls" in modes else " TLS pass skipped (--no-tls)."))
    print(header)
    print()
    print(text)

    problems = []
    for m in modes:
        for (client, server, t), s in sorted(summary[m].items()):
            if s["errors"] or s["failed"]:
                problems.append("%s %s -> %s threads %d: %d errors %s %s" % (
                    m, client, server, t, s["errors"], s["first_error"],
                    "; ".join(s["failed"])))
        for server, r in h2[m].items():
            if "failed" in r or r.get("sanity"):
                problems.append("%s h2load -> %s: %s %s" % (
                    m, server, r.get("failed", ""), r.get("sanity", "")))
    if problems:
        print()
        print("PROBLEMS:")
        for p in problems:
            print("- " + p)

    raw = {"date": stamp, "args": {k: v for k, v in vars(args).items()},
           "runs": [{"transport": m, "client": c, "server": s, "threads": t,
                     "results": v}
                    for m in modes for (c, s, t), v in sorted(runs[m].items())],
           "summary": [dict(transport=m, client=c, server=s, threads=t, **v)
                       for m in modes
                       for (c, s, t), v in sorted(summary[m].items())],
           "h2load": h2}
    tag = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(outdir, "results-%s.json" % tag), "w") as f:
        json.dump(raw, f, indent=1)
    with open(os.path.join(outdir, "results-%s.md" % tag), "w") as f:
        f.write(header + "\n\n" + text + "\n")
    log("raw results: build/bench/results-%s.json" % tag)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
