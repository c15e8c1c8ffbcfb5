#!/usr/bin/env python3
"""Protobuf layer benchmark: encode and decode throughput, side by side.

Two messages of bench/protos/pb_bench.proto:
  small  cgrpc.bench.HelloRequest with a short name (a dozen bytes)
  mid    cgrpc.bench.Order, about 1 KiB: nested messages, packed repeated
         int32 and sint64, repeated messages and strings, bytes, a map

Implementations (all on the same bytes, made once here with Python
protobuf and written to --out):
  cgrpc dynamic      cgrpc_pb_msg_decode / cgrpc_pb_msg_encode, types from a
                     pool loaded from the descriptor set     (build/bin/pb_bench)
  protobuf-c         protoc-c generated code, protobuf_c_message_unpack /
                     protobuf_c_message_pack                  (build/bin/pb_bench)
  python upb         Python protobuf (upb backend): Msg.FromString /
                     msg.SerializeToString (classes from the same descriptor
                     set through message_factory)
  cgrpc dict         the Python binding: pool.decode(type, bytes) -> dict,
                     pool.encode(type, dict) -> bytes
  json_format dict   Python protobuf's dict path: FromString + MessageToDict
                     (preserving_proto_field_name) / ParseDict +
                     SerializeToString

Before timing, every implementation decodes each input and re-encodes it,
and the re-encoded size must equal the input size (else exit status 1).

Each cell (message x operation x implementation) runs --repeats times for
--seconds each; the table shows the median.  Runs are interleaved: repeat r
runs the C program once (both C implementations, the one first alternating
with r), then the Python cells (order alternating too), so slow drift on
the machine affects all alike.  Messages/s counts whole decode (allocate,
parse, free) or encode (serialize into a new buffer, free) operations; MB/s
is messages/s x wire size / 1e6.  Ratios are to protobuf-c's median in the
same (message, operation); the cgrpc dict row also gets its ratio to the
json_format dict row.  Spread is (max - min) / median over the runs.

The table goes to stdout, progress to stderr, a copy and the raw JSON to
<out>/results-<time>.{md,json}.

Usage (make bench-pb does this):
  PYTHONPATH=python .venv/bin/python bench/pb_bench.py --bin build/bin/pb_bench \\
      --set build/bench/pb/pb_bench.pb --out build/bench/pb \\
      [--repeats 5] [--seconds 0.5] [--no-dict]
"""

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

from google.protobuf import __version__ as PB_VERSION
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal import api_implementation

TYPES = {"small": "cgrpc.bench.HelloRequest", "mid": "cgrpc.bench.Order"}
IMPLS = ["cgrpc", "pbc", "upb", "cgrpc_dict", "json_dict"]
IMPL_NAMES = {
    "cgrpc": "cgrpc dynamic (C)",
    "pbc": "protobuf-c generated (C)",
    "upb": "python protobuf upb",
    "cgrpc_dict": "cgrpc dict (Python binding)",
    "json_dict": "json_format dict (python protobuf)",
}
PEER = {"cgrpc_dict": "json_dict"}
MAX_BATCHES = 100000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def fill_small(cls):
    return cls(name="world-1234")


def fill_mid(cls):
    """A deterministic Order of about 1 KiB."""
    rnd = random.Random(20261129)
    m = cls()
    m.id = 9876543210123
    m.customer = "ACME Logistics GmbH, Dept. 7"
    m.origin.latitude, m.origin.longitude = 407838351, -746143763
    m.destination.latitude, m.destination.longitude = -408122808, 743999179
    # Mixed varint widths: 1 to 5 bytes.
    m.samples.extend(rnd.choice((rnd.randrange(100), rnd.randrange(20000),
                                 rnd.randrange(1 << 28))) for _ in range(60))
    m.deltas.extend(rnd.randrange(-100000, 100000) for _ in range(30))
    for i in range(6):
        t = m.tags.add()
        t.key = "tag-key-%02d" % i
        t.value = "value %d of the order, %s" % (i, "x" * (i + 3))
        t.weight = rnd.randrange(1 << 40)
    for i in range(8):
        m.counters["counter.%d" % i] = rnd.randrange(1 << 20)
    m.price = 1234.5678
    m.urgent = True
    m.kind = 2  # KIND_EXPRESS
    m.payload = bytes(rnd.randrange(256) for _ in range(64))
    m.notes.extend(["leave at the back door", "fragile: glass inside",
                    "call before delivery", "invoice in envelope"])
    for i in range(4):
        it = m.items.add()
        it.sku = "SKU-%06d" % rnd.randrange(10 ** 6)
        it.quantity = rnd.randrange(1, 50)
        it.unit_price = rnd.randrange(100, 100000) / 100.0
        it.warehouse.latitude = rnd.randrange(-900000000, 900000000)
        it.warehouse.longitude = rnd.randrange(-1800000000, 1800000000)
    return m


def timed(fn, arg, seconds):
    """Calls fn(arg) in batches until `seconds` passed; (ops, secs)."""
    warm_end = time.perf_counter() + min(0.05, seconds * 0.05)
    for _ in range(MAX_BATCHES):
        for _ in range(16):
            fn(arg)
        if time.perf_counter() >= warm_end:
            break
    batch, n = 4, 0
    start = t = time.perf_counter()
    for _ in range(MAX_BATCHES):
        bs = t
        for _ in range(batch):
            fn(arg)
        n += batch
        t = time.perf_counter()
        if t - start >= seconds:
            break
        if t - bs < 0.002 and batch < (1 << 20):
            batch *= 2
    return n, t - start


def python_ops(classes, pool, inputs, use_dict):
    """{(msg, impl, op): (fn, arg)} and the check results."""
    ops, checks = {}, []
    to_dict = json_format.MessageToDict
    parse_dict = json_format.ParseDict
    for label, data in inputs.items():
        cls, tname = classes[label], TYPES[label]
        parsed = cls.FromString(data)
        ops[(label, "upb", "decode")] = (cls.FromString, data)
        ops[(label, "upb", "encode")] = (cls.SerializeToString, parsed)
        outs = {"upb": parsed.SerializeToString()}
        jd = to_dict(parsed, preserving_proto_field_name=True)

        def json_decode(d, cls=cls):
            return to_dict(cls.FromString(d), preserving_proto_field_name=True)

        def json_encode(obj, cls=cls):
            return parse_dict(obj, cls()).SerializeToString()

        if use_dict:
            ops[(label, "json_dict", "decode")] = (json_decode, data)
            ops[(label, "json_dict", "encode")] = (json_encode, jd)
            outs["json_dict"] = json_encode(json_decode(data))
            cd = pool.decode(tname, data)
            outs["cgrpc_dict"] = pool.encode(tname, cd)
            ops[(label, "cgrpc_dict", "decode")] = (
                lambda d, t=tname, dec=pool.decode: dec(t, d), data)
            ops[(label, "cgrpc_dict", "encode")] = (
                lambda obj, t=tname, enc=pool.encode: enc(t, obj), cd)
            # Same fields present in both dicts (values differ in form:
            # json_format writes int64 as str, bytes as base64, ...).
            if sorted(cd) != sorted(jd):
                checks.append({"msg": label, "impl": "cgrpc_dict", "ok": False,
                               "why": "fields %s vs json_format %s" % (sorted(cd), sorted(jd))})
        for impl, out in outs.items():
            checks.append({"msg": label, "impl": impl, "ok": len(out) == len(data),
                           "input_size": len(data), "reencoded": len(out),
                           "identical": out == data})
    return ops, checks


def run_c(args, files, first):
    cmd = [args.bin, "--set", args.set, "--seconds", str(args.seconds), "--first", first]
    for label in TYPES:
        cmd += ["--case", "%s:%s:%s" % (label, TYPES[label], files[label])]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=60 + 10 * args.seconds * 8)
    if p.returncode != 0:
        log(p.stdout + p.stderr)
        raise SystemExit("pb_bench: %s exited with %d" % (args.bin, p.returncode))
    if p.stderr.strip():
        log(p.stderr.strip())
    checks, results = [], []
    for line in p.stdout.splitlines():
        o = json.loads(line)
        (checks if "check" in o else results).append(o)
    return checks, results


def fmt_rate(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bin/pb_bench")
    ap.add_argument("--set", default="build/bench/pb/pb_bench.pb")
    ap.add_argument("--proto", default="bench/protos/pb_bench.proto",
                    help="only named in the output")
    ap.add_argument("--out", default="build/bench/pb")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--no-dict", action="store_true",
                    help="skip the dict paths (no cgrpc Python extension needed)")
    args = ap.parse_args()
    if not (1 <= args.repeats <= 50 and 0 < args.seconds <= 10):
        ap.error("--repeats must be 1..50 and --seconds in (0, 10]")
    t_start = time.time()

    with open(args.set, "rb") as f:
        set_bytes = f.read()
    fds = descriptor_pb2.FileDescriptorSet.FromString(set_bytes)
    dpool = descriptor_pool.DescriptorPool()
    for fdp in fds.file:
        dpool.Add(fdp)
    classes = {label: message_factory.GetMessageClass(dpool.FindMessageTypeByName(t))
               for label, t in TYPES.items()}

    inputs = {"small": fill_small(classes["small"]).SerializeToString(),
              "mid": fill_mid(classes["mid"]).SerializeToString()}
    os.makedirs(args.out, exist_ok=True)
    files = {}
    for label, data in inputs.items():
        files[label] = os.path.join(args.out, "input-%s.bin" % label)
        with open(files[label], "wb") as f:
            f.write(data)
    log("inputs: " + ", ".join("%s %s %d bytes" % (l, TYPES[l], len(d))
                               for l, d in inputs.items()))

    cg_pool = None
    if not args.no_dict:
        import cgrpc
        cg_pool = cgrpc.load_descriptor_set(set_bytes)
    py_ops, checks = python_ops(classes, cg_pool, inputs, not args.no_dict)

    # Checks: C side from a first, short run of the C program.
    c_checks, _ = run_c(argparse.Namespace(**{**vars(args), "seconds": 0.01}), files, "cgrpc")
    for c in c_checks:
        for impl in ("cgrpc", "pbc"):
            checks.append({"msg": c["msg"], "impl": impl, "ok": c["check"] == "ok"
                           and c["%s_reencoded" % impl] == c["input_size"],
                           "input_size": c["input_size"],
                           "reencoded": c["%s_reencoded" % impl],
                           "identical": c["%s_identical" % impl]})
    bad = [c for c in checks if not c["ok"]]
    for c in checks:
        log("check %-5s %-10s %s" % (c["msg"], c["impl"],
                                     "ok (%d -> %d bytes%s)" % (c["input_size"], c["reencoded"],
                                                                ", identical" if c.get("identical") else "")
                                     if c["ok"] else "FAILED %s" % c))
    if bad:
        raise SystemExit("pb_bench: re-encoded sizes differ; no timing")

    samples = {}  # (msg, impl, op) -> [msgs/s]
    py_keys = sorted(py_ops)
    for r in range(args.repeats):
        log("repeat %d/%d" % (r + 1, args.repeats))
        _, res = run_c(args, files, "pbc" if r % 2 else "cgrpc")
        for o in res:
            samples.setdefault((o["msg"], o["impl"], o["op"]), []).append(o["ops"] / o["secs"])
        for key in (py_keys if r % 2 == 0 else py_keys[::-1]):
            fn, arg = py_ops[key]
            n, secs = timed(fn, arg, args.seconds)
            samples.setdefault(key, []).append(n / secs)

    def cc_version():
        try:
            return subprocess.run(["cc", "--version"], capture_output=True, text=True,
                                  timeout=10).stdout.splitlines()[0]
        except Exception:
            return "?"

    def pbc_version():
        try:
            return subprocess.run(["pkg-config", "--modversion", "libprotobuf-c"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return "?"

    env = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
           "machine": "%s %s, %d CPUs" % (platform.system(), platform.release(),
                                          os.cpu_count() or 0),
           "python": platform.python_version(), "protobuf": PB_VERSION,
           "protobuf_backend": api_implementation.Type(),
           "protobuf_c": pbc_version(), "cc": cc_version(),
           "repeats": args.repeats, "seconds": args.seconds}

    lines = ["## Protobuf encode/decode (%s)" % args.proto, "",
             "%(date)s, %(machine)s; cc: %(cc)s; protobuf-c %(protobuf_c)s; Python "
             "%(python)s, protobuf %(protobuf)s (%(protobuf_backend)s); median of "
             "%(repeats)d runs of %(seconds)g s per cell." % env, ""]
    rows = []
    for label in TYPES:
        size = len(inputs[label])
        lines += ["### %s: %s, %d bytes" % (label, TYPES[label], size), "",
                  "| op | implementation | msgs/s | MB/s | vs protobuf-c | vs json_format dict | spread |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for op in ("decode", "encode"):
            base = statistics.median(samples[(label, "pbc", op)])
            for impl in IMPLS:
                xs = samples.get((label, impl, op))
                if not xs:
                    continue
                med = statistics.median(xs)
                peer = ""
                if impl in PEER and (label, PEER[impl], op) in samples:
                    peer = "%.2f" % (med / statistics.median(samples[(label, PEER[impl], op)]))
                spread = (max(xs) - min(xs)) / med
                lines.append("| %s | %s | %s | %s | %.2f | %s | %.0f%% |" % (
                    op, IMPL_NAMES[impl], fmt_rate(med), fmt_rate(med * size / 1e6),
                    med / base, peer, 100 * spread))
                rows.append({"msg": label, "type": TYPES[label], "size": size, "op": op,
                             "impl": impl, "median_msgs_per_s": med,
                             "median_mb_per_s": med * size / 1e6,
                             "vs_pbc": med / base, "runs_msgs_per_s": xs})
        lines.append("")
    lines.append("Whole run: %.0f s." % (time.time() - t_start))
    text = "\n".join(lines)
    print(text)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, "results-%s.md" % stamp), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "results-%s.json" % stamp), "w") as f:
        json.dump({"env": env, "checks": checks, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
