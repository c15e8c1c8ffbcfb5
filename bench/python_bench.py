#!/usr/bin/env python3
"""Python binding benchmark: cgrpc's Python package against grpcio.

Three parts, each printed as one Markdown table with cgrpc/grpcio ratios,
then a table of the targets of issue 4 (met or not):

  unary   N Python threads share ONE channel (cgrpc.insecure_channel or
          grpc.insecure_channel) and call /cgrpc.test.Echo/Unary back to
          back with 64-byte requests on the C echo server
          (build/bin/echo_server), N = 1, 4, 16.  Warm-up, then a fixed
          measured phase; QPS, p50, p99.  Every reply must equal its
          request (which carries the thread and sequence numbers).
          Target: cgrpc >= 3x grpcio at 16 threads.
  stream  One server-streaming call to /cgrpc.test.Echo/ServerStream on the
          same C echo server; the request is 1020 bytes, so each reply
          (request + "#i") is about 1 KiB.  A warm-up call read for
          --warmup s (then cancelled) measures the rate, and x-count is set
          so the measured call lasts about --stream-seconds.  Every
          message is checked (content and order), the call must end OK.
          Messages/s = messages / (call start .. end of stream).
          Target: cgrpc >= 5x grpcio.
  server  bench/python_server_app.py serves the unary echo from a Python
          handler on a cgrpc server or on a grpcio server (--max-workers
          16).  One call with the cgrpc client, one with the grpcio client
          and one h2load-shaped nghttp request (status 200, grpc-status 0,
          body echoed) check it first; then h2load -c 4 -m 32 sends the
          64-byte gRPC-framed POST, -n set by a short probe so one run
          takes about --h2load-budget s.  h2load sees only the HTTP
          status, so the app also reports how many times the handler ran,
          which must equal the number of requests sent.  The C echo server
          gets the same h2load run once, as a reference without Python.
          Target: cgrpc >= 3x grpcio.

Each client measurement runs in its own process (this script with
--worker), one library per process, and the cgrpc and grpcio runs alternate
(cgrpc first on odd repeats, grpcio first on even ones), so slow drift on
the machine affects both.  Cells are medians of --repeats runs.  Everything
listens on 127.0.0.1 only; every server is stopped by its pid, also on
errors and signals; every call has a deadline and every subprocess a
timeout.  The tables go to stdout, progress to stderr, and a copy plus the
raw JSON to build/bench/python-results-<time>.{md,json}.  Exit status 0 if
every call and request succeeded.

Usage: .venv/bin/python bench/python_bench.py [--quick] [--repeats R]
           [--seconds S] [--warmup S] [--threads 1,4,16]
           [--stream-seconds S] [--h2load-budget S] [--h2load-n N]
           [--max-workers N] [--parts unary,stream,server]
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
HOST = "127.0.0.1"
UNARY = "/cgrpc.test.Echo/Unary"
STREAM = "/cgrpc.test.Echo/ServerStream"
IMPLS = ("cgrpc", "grpcio")
STREAM_REQ_SIZE = 1020  # replies are request + b"#i": about 1 KiB
TARGETS = {"unary": 3.0, "stream": 5.0, "server": 3.0}

sys.path.insert(0, BENCH)
import run as benchlib  # noqa: E402  (bench/run.py: servers, h2load, nghttp)

log = benchlib.log


# ---------------------------------------------------------------------------
# Worker side: runs in a subprocess with one library imported.

def _load(impl):
    if impl == "cgrpc":
        import cgrpc as lib
    else:
        import grpc as lib
    return lib


def _channel(lib, impl, target):
    if impl == "grpcio":
        return lib.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])
    return lib.insecure_channel(target)


def _unary_request(size, thread, seq, tail):
    return (struct.pack("<QI", seq, thread) + tail)[:size]


def _pct_us(v, p):
    """Nearest-rank percentile of sorted v (ns), in microseconds."""
    if not v:
        return 0.0
    rank = min(len(v), max(1, int(p * len(v) + 0.999999999)))
    return v[rank - 1] / 1000.0


def _err_text(lib, exc):
    if isinstance(exc, lib.RpcError):
        try:
            return "%s: %s" % (exc.code(), exc.details())
        except Exception:  # noqa: BLE001
            pass
    return "%s: %s" % (type(exc).__name__, exc)


def worker_unary(lib, args):
    ch = _channel(lib, args.impl, args.target)
    call = ch.unary_unary(UNARY)
    timeout = args.timeout
    size = args.size
    first = bytes(range(size))
    try:  # connects; not timed
        if call(first, timeout=timeout) != first:
            return {"failed": "first call: reply differs"}
    except Exception as exc:  # noqa: BLE001
        return {"failed": "first call: " + _err_text(lib, exc)}

    go = time.monotonic_ns() + 20_000_000
    measure = go + int(args.warmup * 1e9)
    end = measure + int(args.seconds * 1e9)
    results = []

    def loop(index):
        tail = bytes((i * 31 + index) & 0xFF for i in range(12, max(size, 12)))
        lat = []
        now = time.monotonic_ns
        st = {"calls_total": 0, "errors": 0, "mismatches": 0, "first_error": "",
              "max_ns": 0}
        while now() < go:
            time.sleep(0.0002)
        seq = 0
        while True:
            t0 = now()
            if t0 >= end:
                break
            req = _unary_request(size, index, seq, tail)
            seq += 1
            bad = False
            try:
                reply = call(req, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                reply = None
                bad = True
                if not st["first_error"]:
                    st["first_error"] = _err_text(lib, exc)
            t1 = now()
            st["calls_total"] += 1
            if t1 - t0 > st["max_ns"]:
                st["max_ns"] = t1 - t0
            if not bad and reply != req:
                bad = True
                st["mismatches"] += 1
                if not st["first_error"]:
                    st["first_error"] = "reply differs from request"
            if bad:
                st["errors"] += 1
            elif t0 >= measure and t1 <= end:
                lat.append(t1 - t0)
        st["lat"] = lat
        results.append(st)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True)
               for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, (end - time.monotonic_ns()) / 1e9) + timeout + 5)
    if any(t.is_alive() for t in threads):
        return {"failed": "a client thread did not finish"}
    ch.close()
    lat = sorted(x for r in results for x in r["lat"])
    return {
        "qps": len(lat) / args.seconds,
        "calls": len(lat),
        "p50_us": _pct_us(lat, 0.50),
        "p99_us": _pct_us(lat, 0.99),
        "max_us": max(r["max_ns"] for r in results) / 1000.0,
        "calls_total": sum(r["calls_total"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "mismatches": sum(r["mismatches"] for r in results),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), ""),
    }


def _read_stream(it, req, limit_s=None):
    """Reads and checks messages; returns (count, bad, seconds).  With
    limit_s, stops (without cancelling) after that long."""
    n = 0
    bad = ""
    t0 = time.perf_counter()
    stop_at = None if limit_s is None else t0 + limit_s
    clock = time.perf_counter
    size = len(req)
    for msg in it:
        suffix = b"#%d" % n
        if not (len(msg) == size + len(suffix) and msg.endswith(suffix)
                and msg.startswith(req)):
            bad = "message %d differs (%d bytes)" % (n, len(msg))
            break
        n += 1
        if stop_at is not None and clock() >= stop_at:
            break
    return n, bad, clock() - t0


def worker_stream(lib, args):
    ch = _channel(lib, args.impl, args.target)
    mc = ch.unary_stream(STREAM)
    req = bytes((i * 13 + 5) & 0xFF for i in range(STREAM_REQ_SIZE))
    # Warm-up and rate probe: a long stream read for --warmup s, cancelled.
    probe_count = 50_000_000
    try:
        it = mc(req, metadata=(("x-count", str(probe_count)),),
                timeout=args.warmup + 30)
        n, bad, secs = _read_stream(it, req, args.warmup)
        it.cancel()
    except Exception as exc:  # noqa: BLE001
        return {"failed": "warm-up call: " + _err_text(lib, exc)}
    if bad or n == 0:
        return {"failed": "warm-up call: " + (bad or "no message")}
    rate = n / secs
    count = int(min(max(rate * args.seconds, 1000), args.max_count))

    deadline = max(30.0, args.seconds * 10)
    t0 = time.perf_counter()
    try:
        it = mc(req, metadata=(("x-count", str(count)),), timeout=deadline)
        n, bad, _ = _read_stream(it, req)
        t1 = time.perf_counter()
        code = str(it.code())
    except Exception as exc:  # noqa: BLE001 - an RpcError ends the stream
        return {"failed": "measured call: " + _err_text(lib, exc), "errors": 1}
    ch.close()
    res = {"count": count, "received": n, "seconds": t1 - t0,
           "msgs_per_s": n / (t1 - t0), "probe_rate": rate,
           "msg_bytes": STREAM_REQ_SIZE + len(b"#%d" % (count // 2)),
           "errors": 0, "first_error": ""}
    res["mib_per_s"] = res["msgs_per_s"] * res["msg_bytes"] / 1048576.0
    if bad or n != count or not code.endswith("OK"):
        res["errors"] = 1
        res["first_error"] = bad or "got %d of %d messages, status %s" % (n, count, code)
    return res


def worker_sanity(lib, args):
    ch = _channel(lib, args.impl, args.target)
    req = b"sanity-" + args.impl.encode() + bytes(range(50))
    try:
        reply = ch.unary_unary(UNARY)(req, timeout=args.timeout)
    except Exception as exc:  # noqa: BLE001
        return {"failed": _err_text(lib, exc)}
    finally:
        ch.close()
    return {"ok": reply == req} if reply == req else {"failed": "reply differs"}


def worker_main(args):
    lib = _load(args.impl)
    fn = {"unary": worker_unary, "stream": worker_stream,
          "sanity": worker_sanity}[args.worker]
    res = fn(lib, args)
    res["impl"] = args.impl
    print(json.dumps(res, separators=(",", ":")), flush=True)
    return 1 if res.get("failed") or res.get("errors") else 0


# ---------------------------------------------------------------------------
# Driver side.

def worker_env():
    env = dict(os.environ)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "grpc_proxy"):
        env.pop(k, None)
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost,::1"
    pp = os.path.join(ROOT, "python")
    env["PYTHONPATH"] = pp + (os.pathsep + env["PYTHONPATH"]
                              if env.get("PYTHONPATH") else "")
    return env


def run_worker(kind, impl, port, args, extra=(), timeout=60):
    argv = [sys.executable, os.path.abspath(__file__), "--worker", kind,
            "--impl", impl, "--target", "%s:%d" % (HOST, port)] + list(extra)
    try:
        p = subprocess.run(argv, cwd=ROOT, env=args.env, capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"failed": "worker timed out after %ds (hang?)" % timeout,
                "errors": 1}
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"failed": "worker exit %d, no JSON; stderr: %s" % (
            p.returncode, p.stderr.decode(errors="replace")[-400:]), "errors": 1}
    if p.returncode not in (0, 1):
        res["failed"] = "worker exit %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace")[-400:])
    if res.get("failed"):
        res["errors"] = max(1, res.get("errors", 0))
    return res


def median(v):
    return statistics.median(v) if v else 0.0


def spread(v):
    m = median(v)
    return "%.0f%%" % (100.0 * (max(v) - min(v)) / m) if len(v) > 1 and m else "-"


def ratio(a, b):
    return "%.2f" % (a / b) if b else "n/a"


def met(r, target):
    if r >= target:
        return "yes"
    return "**no** (%.3f < %g)" % (r, target)


def impl_order(rep):
    return IMPLS if rep % 2 == 0 else IMPLS[::-1]


def part_unary(port, args, raw):
    runs = {}
    for rep in range(args.repeats):
        for t in args.thread_list:
            for impl in impl_order(rep):
                res = run_worker(
                    "unary", impl, port, args,
                    ["--threads", str(t), "--seconds", str(args.seconds),
                     "--warmup", str(args.warmup), "--size", "64"],
                    timeout=args.warmup + args.seconds + 40)
                runs.setdefault((impl, t), []).append(res)
                log("  unary %-6s threads %2d rep %d: qps %7.0f p50 %6.0f "
                    "p99 %6.0f errors %d%s" % (
                        impl, t, rep + 1, res.get("qps", 0), res.get("p50_us", 0),
                        res.get("p99_us", 0), res.get("errors", 0),
                        " FAILED: " + res["failed"] if res.get("failed") else ""))
    raw["unary"] = [{"impl": i, "threads": t, "runs": v} for (i, t), v in runs.items()]
    summ = {}
    for key, v in runs.items():
        ok = [r for r in v if "qps" in r and not r.get("failed")]
        summ[key] = {
            "qps": [r["qps"] for r in ok],
            "p50": median([r["p50_us"] for r in ok]),
            "p99": median([r["p99_us"] for r in ok]),
            "errors": sum(r.get("errors", 0) for r in v),
            "first_error": next((r.get("failed") or r.get("first_error")
                                 for r in v if r.get("failed") or r.get("first_error")),
                                ""),
        }
    lines = ["### Unary, 64-byte messages, Python threads sharing one channel",
             "",
             "Against the C echo server; median of %d run(s) of %gs after %gs "
             "warm-up; every reply checked." % (args.repeats, args.seconds, args.warmup),
             "",
             "| threads | client | QPS | p50 µs | p99 µs | QPS spread | errors "
             "| cgrpc/grpcio QPS |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    ratios = {}
    for t in args.thread_list:
        ref = median(summ.get(("grpcio", t), {}).get("qps", []))
        for impl in IMPLS:
            s = summ.get((impl, t))
            if not s:
                continue
            q = median(s["qps"])
            if impl == "cgrpc":
                ratios[t] = q / ref if ref else 0.0
            lines.append("| %d | %s | %.0f | %.0f | %.0f | %s | %d | %s |" % (
                t, impl, q, s["p50"], s["p99"], spread(s["qps"]), s["errors"],
                ratio(q, ref) if impl == "cgrpc" else "1.00"))
    problems = ["unary %s threads %d: %d errors: %s" % (i, t, s["errors"], s["first_error"])
                for (i, t), s in sorted(summ.items()) if s["errors"]]
    return "\n".join(lines), ratios, problems


def part_stream(port, args, raw):
    runs = {}
    for rep in range(args.repeats):
        for impl in impl_order(rep):
            res = run_worker(
                "stream", impl, port, args,
                ["--seconds", str(args.stream_seconds), "--warmup", str(args.warmup)],
                timeout=args.warmup + max(30.0, args.stream_seconds * 10) + 40)
            runs.setdefault(impl, []).append(res)
            log("  stream %-6s rep %d: %8.0f msg/s (%d msgs in %.2fs) errors %d%s" % (
                impl, rep + 1, res.get("msgs_per_s", 0), res.get("received", 0),
                res.get("seconds", 0), res.get("errors", 0),
                " FAILED: " + res["failed"] if res.get("failed")
                else " " + res.get("first_error", "")))
    raw["stream"] = runs
    summ = {}
    for impl, v in runs.items():
        ok = [r for r in v if "msgs_per_s" in r and not r.get("errors")]
        summ[impl] = {
            "rate": [r["msgs_per_s"] for r in ok],
            "mib": median([r["mib_per_s"] for r in ok]),
            "count": median([r["count"] for r in ok]),
            "bytes": median([r["msg_bytes"] for r in ok]),
            "errors": sum(r.get("errors", 0) for r in v),
            "first_error": next((r.get("failed") or r.get("first_error")
                                 for r in v if r.get("failed") or r.get("first_error")),
                                ""),
        }
    ref = median(summ.get("grpcio", {}).get("rate", []))
    lines = ["### Server streaming, ~1 KiB messages, one call",
             "",
             "Against the C echo server; %d-byte request, replies request + "
             "\"#i\"; x-count sized for about %gs; median of %d run(s); every "
             "message checked." % (STREAM_REQ_SIZE, args.stream_seconds, args.repeats),
             "",
             "| client | messages/s | MiB/s | messages per call | spread | errors "
             "| cgrpc/grpcio |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    r = 0.0
    for impl in IMPLS:
        s = summ.get(impl)
        if not s:
            continue
        q = median(s["rate"])
        if impl == "cgrpc":
            r = q / ref if ref else 0.0
        lines.append("| %s | %.0f | %.1f | %.0f | %s | %d | %s |" % (
            impl, q, s["mib"], s["count"], spread(s["rate"]), s["errors"],
            ratio(q, ref) if impl == "cgrpc" else "1.00"))
    problems = ["stream %s: %d errors: %s" % (i, s["errors"], s["first_error"])
                for i, s in sorted(summ.items()) if s["errors"]]
    return "\n".join(lines), r, problems


def stop_app(proc):
    """SIGTERM by pid; returns the HANDLED count it prints (or None)."""
    out = b""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log("  server pid %d did not stop in 20 s" % proc.pid)
    if proc.poll() is not None and proc.stdout:
        try:
            out = proc.stdout.read()
        except (OSError, ValueError):
            pass
    benchlib.stop_server(proc)  # SIGKILL if still running; closes the pipe
    m = re.search(rb"HANDLED (\d+)", out)
    return int(m.group(1)) if m else None


def bench_server(name, argv, args, data_file, framed, reps, outdir, is_app):
    res = {"name": name, "runs": [], "sanity": {}, "sent": 0}
    proc, port = benchlib.start_server(name, argv, os.path.join(
        outdir, "python-server-%s.log" % name.replace(" ", "_")))
    log("  server %s: pid %d port %d" % (name, proc.pid, port))
    try:
        if is_app:
            for impl in IMPLS:
                s = run_worker("sanity", impl, port, args, timeout=60)
                res["sanity"][impl] = s.get("failed", "")
                res["sent"] += 1
        res["sanity"]["nghttp"] = benchlib.sanity_call(port, data_file, framed)
        res["sent"] += 1
        bad = [k for k, v in res["sanity"].items() if v]
        if bad:
            log("  sanity call to %s FAILED: %s" % (name, res["sanity"]))
        probe_n = min(args.h2load_n, 2048)
        probe = benchlib.h2load(port, data_file, probe_n, 60)
        res["sent"] += probe_n
        if "failed" in probe:
            res["runs"].append(probe)
            return res
        n = args.h2load_n
        if probe["rps"] * args.h2load_budget < n:
            n = max(probe_n, int(probe["rps"] * args.h2load_budget) // 128 * 128)
        res["n"] = n
        for rep in range(reps):
            r = benchlib.h2load(port, data_file, n, args.h2load_budget * 4 + 30)
            res["sent"] += n
            res["runs"].append(r)
            log("  h2load -> %-6s n %d rep %d: %s%s" % (
                name, n, rep + 1,
                "%.0f req/s in %.1fs" % (r["rps"], r["seconds"]) if "rps" in r else "",
                " FAILED: " + r["failed"] if "failed" in r else ""))
            if "failed" in r:
                break
        if proc.poll() is not None:
            res["exited"] = "server exited early with %d" % proc.returncode
    finally:
        if is_app:
            res["handled"] = stop_app(proc)
        else:
            benchlib.stop_server(proc)
    return res


def part_server(args, raw, outdir):
    msg, framed = benchlib.grpc_frame(64)
    fd, data_file = tempfile.mkstemp(prefix="cgrpc-pybench-", suffix=".bin")
    with os.fdopen(fd, "wb") as f:
        f.write(framed)
    results = {}
    try:
        for impl in IMPLS:
            argv = [sys.executable, os.path.join(BENCH, "python_server_app.py"),
                    "--impl", impl, "--host", HOST, "--port", "0",
                    "--max-workers", str(args.max_workers)]
            results[impl] = bench_server(impl, argv, args, data_file, framed,
                                         args.repeats, outdir, True)
        results["C echo_server"] = bench_server(
            "C echo_server", [os.path.join(ROOT, "build/bin/echo_server"),
                              "--host", HOST, "--port", "0"],
            args, data_file, framed, 1, outdir, False)
    finally:
        os.unlink(data_file)
    raw["server"] = results

    def rps(r):
        return [x["rps"] for x in r["runs"] if "rps" in x and "failed" not in x]

    ref = median(rps(results.get("grpcio", {"runs": []})))
    lines = ["### Python-handler server under h2load",
             "",
             "bench/python_server_app.py (unary echo in a Python handler, "
             "max_workers %d) driven by h2load -c 4 -m 32 with a 64-byte "
             "gRPC-framed POST; -n sized for about %gs; median of %d run(s). "
             "The C echo_server row (1 run) is a reference without Python."
             % (args.max_workers, args.h2load_budget, args.repeats),
             "",
             "| server | requests (-n) | req/s | spread | ratio vs grpcio | all 2xx "
             "| handled = sent | sanity calls |",
             "|---|---:|---:|---:|---:|---|---|---|"]
    problems = []
    r_cg = 0.0
    for name, r in results.items():
        v = rps(r)
        q = median(v)
        fails = [x["failed"] for x in r["runs"] if "failed" in x]
        if r.get("exited"):
            fails.append(r["exited"])
        if name == "cgrpc":
            r_cg = q / ref if ref else 0.0
        if "handled" in r:
            hs = ("yes (%d)" % r["handled"] if r["handled"] == r["sent"]
                  else "NO: %s of %d" % (r["handled"], r["sent"]))
            if r["handled"] != r["sent"]:
                problems.append("server %s: handler ran %s times for %d requests"
                                % (name, r["handled"], r["sent"]))
        else:
            hs = "-"
        san = ", ".join("%s %s" % (k, "ok" if not v_ else "FAILED (%s)" % v_)
                        for k, v_ in r["sanity"].items())
        problems += ["server %s sanity %s: %s" % (name, k, v_)
                     for k, v_ in r["sanity"].items() if v_]
        problems += ["server %s h2load: %s" % (name, f) for f in fails]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, r.get("n", "-"), "%.0f" % q if v else "-", spread(v) if v else "-",
            ratio(q, ref) if v else "-", "yes" if not fails and v else
            "NO: " + "; ".join(fails), hs, san))
    return "\n".join(lines), r_cg, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repeat, 1 s runs, short h2load")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--seconds", type=float, help="unary measured phase")
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--threads", default="1,4,16")
    ap.add_argument("--stream-seconds", type=float)
    ap.add_argument("--h2load-n", type=int)
    ap.add_argument("--h2load-budget", type=float,
                    help="target seconds of one h2load run (-n is lowered to fit)")
    ap.add_argument("--max-workers", type=int, default=16)
    ap.add_argument("--parts", default="unary,stream,server")
    # Worker mode (used by the driver itself).
    ap.add_argument("--worker", choices=("unary", "stream", "sanity"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=64, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    ap.add_argument("--max-count", type=int, default=20_000_000,
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        args.threads = int(args.threads) if args.threads.isdigit() else 1
        args.seconds = args.seconds or 3.0
        args.warmup = 0.5 if args.warmup is None else args.warmup
        if not (args.impl and args.target and 1 <= args.threads <= 256
                and 0 < args.seconds <= 120 and 0 <= args.warmup <= 60):
            ap.error("bad worker options")
        return worker_main(args)

    q = args.quick
    args.repeats = args.repeats or (1 if q else 3)
    args.seconds = args.seconds or (1.0 if q else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.25 if q else 0.5)
    args.stream_seconds = args.stream_seconds or (1.0 if q else 3.0)
    args.h2load_n = args.h2load_n or (20000 if q else 200000)
    args.h2load_budget = args.h2load_budget or (2.0 if q else 10.0)
    args.thread_list = [int(x) for x in args.threads.split(",") if x]
    parts = [p for p in args.parts.split(",") if p]
    if not (1 <= args.repeats <= 20 and 0.1 <= args.seconds <= 60
            and 0.1 <= args.stream_seconds <= 60 and 0.5 <= args.h2load_budget <= 60
            and args.thread_list and all(1 <= t <= 256 for t in args.thread_list)
            and set(parts) <= {"unary", "stream", "server"} and parts):
        ap.error("option out of range")
    for path in ("build/bin/echo_server", "python/cgrpc/core.py"):
        if not os.path.exists(os.path.join(ROOT, path)):
            ap.error("missing %s (run `make build/bin/echo_server python-ext`)" % path)
    # Children (workers, servers started through bench/run.py) inherit it.
    os.environ.clear()
    os.environ.update(worker_env())
    args.env = dict(os.environ)

    atexit.register(benchlib.stop_all_servers)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, benchlib._on_signal)
    outdir = os.path.join(ROOT, "build/bench")
    os.makedirs(outdir, exist_ok=True)

    t_start = time.monotonic()
    load_start = os.getloadavg()[0]
    raw = {}
    texts, problems, ratios = [], [], {}
    try:
        if "unary" in parts or "stream" in parts:
            proc, port = benchlib.start_server(
                "echo_server", [os.path.join(ROOT, "build/bin/echo_server"),
                                "--host", HOST, "--port", "0"],
                os.path.join(outdir, "python-echo-server.log"))
            log("C echo_server: pid %d port %d" % (proc.pid, port))
            try:
                if "unary" in parts:
                    text, r, p = part_unary(port, args, raw)
                    texts.append(text)
                    problems += p
                    ratios["unary"] = r
                if "stream" in parts:
                    text, r, p = part_stream(port, args, raw)
                    texts.append(text)
                    problems += p
                    ratios["stream"] = r
                if proc.poll() is not None:
                    problems.append("C echo_server exited early with %d"
                                    % proc.returncode)
            finally:
                benchlib.stop_server(proc)
        if "server" in parts:
            text, r, p = part_server(args, raw, outdir)
            texts.append(text)
            problems += p
            ratios["server"] = r
    finally:
        benchlib.stop_all_servers()

    tl = ["### Targets (issue 4)", "",
          "| target | measured cgrpc/grpcio | met |", "|---|---:|---|"]
    if "unary" in ratios:
        t = max(args.thread_list)
        r = ratios["unary"].get(t, 0.0)
        tl.append("| client unary >= %.0fx grpcio at %d threads | %.2f | %s |" % (
            TARGETS["unary"], t, r, met(r, TARGETS["unary"])))
    if "stream" in ratios:
        r = ratios["stream"]
        tl.append("| server-streaming msg/s >= %.0fx grpcio | %.2f | %s |" % (
            TARGETS["stream"], r, met(r, TARGETS["stream"])))
    if "server" in ratios:
        r = ratios["server"]
        tl.append("| Python-handler server req/s >= %.0fx grpcio | %.2f | %s |" % (
            TARGETS["server"], r, met(r, TARGETS["server"])))
    texts.append("\n".join(tl))
    text = "\n\n".join(texts)

    import importlib.metadata as md
    try:
        grpcio_v = md.version("grpcio")
    except md.PackageNotFoundError:
        grpcio_v = "?"
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    header = ("Run %s on %s, %d CPU(s), %s, Python %s, grpcio %s; took %.0f s%s; "
              "1-min load average %.1f at the start, %.1f at the end (all "
              "processes share the CPUs)."
              % (stamp, platform.node() or "?", os.cpu_count() or 0,
                 platform.platform(), platform.python_version(), grpcio_v,
                 time.monotonic() - t_start, " (--quick)" if q else "",
                 load_start, os.getloadavg()[0]))
    print(header)
    print()
    print(text)
    if problems:
        print()
        print("PROBLEMS:")
        for p in problems:
            print("- " + p)
    tag = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(outdir, "python-results-%s.json" % tag), "w") as f:
        json.dump({"date": stamp, "args": {k: v for k, v in vars(args).items()
                                           if k != "env"},
                   "ratios": ratios, "raw": raw, "problems": problems}, f,
                  indent=1, default=str)
    with open(os.path.join(outdir, "python-results-%s.md" % tag), "w") as f:
        f.write(header + "\n\n" + text + "\n")
    log("raw results: build/bench/python-results-%s.json" % tag)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
