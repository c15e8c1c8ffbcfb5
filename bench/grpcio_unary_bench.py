#!/usr/bin/env python3
"""Unary echo benchmark for the grpcio client (reference for unary_bench.c).

  grpcio_unary_bench.py --target 127.0.0.1:PORT [--threads N] [--seconds S]
                        [--size BYTES] [--warmup S] [--method /svc/Method]
                        [--timeout-ms MS] [--tls-ca FILE
                        [--tls-override NAME]]

Same measurement and same one-line JSON as bench/unary_bench.c: N threads
share ONE grpc channel and call the echo method back to back (a generic
unary_unary multicallable with no serializers, so requests and replies are
raw bytes) through a warm-up and then a measured phase of S seconds.  A call
counts if it started and finished inside the measured phase.  Every reply
must equal its request (which carries the thread and sequence numbers).
Exit status 0 if every call succeeded, 1 if any failed, 2 for setup errors.
Loops are bounded by time and every call has a deadline.
With --tls-ca the channel uses TLS (grpc.ssl_channel_credentials with FILE
as the root certificates; --tls-override sets grpc.ssl_target_name_override),
otherwise plaintext HTTP/2 (h2c).
"""

import argparse
import json
import struct
import sys
import threading
import time

import grpc


def _request(size, thread, seq):
    head = struct.pack("<QI", seq & 0xFFFFFFFFFFFFFFFF, thread) + b"cgrp"
    body = bytes((i * 31 + thread) & 0xFF for i in range(len(head), size))
    return (head + body)[:size] if size >= len(head) else head[:size]


class Worker(threading.Thread):
    def __init__(self, index, call, size, timeout_s, go, measure, end):
        super().__init__(daemon=True)
        self.index = index
        self.call = call
        self.size = size
        self.timeout_s = timeout_s
        self.go, self.measure, self.end = go, measure, end
        self.lat = []
        self.calls_total = 0
        self.errors = 0
        self.errors_measured = 0
        self.mismatches = 0
        self.max_ns = 0
        self.first_error = ""

    def _note(self, text):
        if not self.first_error:
            self.first_error = text

    def run(self):
        # Precomputed tail so building a request costs the same as in C.
        tail = _request(self.size, self.index, 0)[12:]
        now = time.monotonic_ns
        while now() < self.go:
            time.sleep(0.0002)
        seq = 0
        lat = self.lat
        while True:
            t0 = now()
            if t0 >= self.end:
                break
            req = (struct.pack("<QI", seq, self.index) + tail)[:self.size]
            seq += 1
            bad = False
            try:
                reply = self.call(req, timeout=self.timeout_s)
            except grpc.RpcError as exc:
                reply = None
                bad = True
                self._note("%s: %s" % (exc.code(), exc.details()))
            except Exception as exc:  # noqa: BLE001 - counted, reported
                reply = None
                bad = True
                self._note("%s: %s" % (type(exc).__name__, exc))
            t1 = now()
            d = t1 - t0
            self.calls_total += 1
            if d > self.max_ns:
                self.max_ns = d
            if not bad and reply != req:
                bad = True
                self.mismatches += 1
                self._note("reply differs from request (reply bytes %d)"
                           % (len(reply) if reply is not None else -1))
            if bad:
                self.errors += 1
            if t0 >= self.measure and t1 <= self.end:
                if bad:
                    self.errors_measured += 1
                else:
                    lat.append(d)


def _pct_us(v, p):
    """Nearest-rank percentile of sorted v (ns), in microseconds."""
    n = len(v)
    if n == 0:
        return 0.0
    rank = min(n, max(1, int(p * n + 0.999999999)))
    return v[rank - 1] / 1000.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--method", default="/cgrpc.test.Echo/Unary")
    ap.add_argument("--timeout-ms", type=float, default=5000)
    ap.add_argument("--tls-ca", help="PEM CA certificates: use TLS")
    ap.add_argument("--tls-override",
                    help="name to verify the server certificate against")
    args = ap.parse_args(argv)
    if not (1 <= args.threads <= 256 and 0.01 <= args.seconds <= 3600
            and 0 <= args.size <= (1 << 20) and 0 <= args.warmup <= 3600):
        ap.error("option out of range")
    if args.tls_override and not args.tls_ca:
        ap.error("--tls-override needs --tls-ca")

    if args.tls_ca:
        try:
            with open(args.tls_ca, "rb") as f:
                roots = f.read()
        except OSError as exc:
            print("--tls-ca: %s" % exc, file=sys.stderr)
            return 2
        creds = grpc.ssl_channel_credentials(root_certificates=roots)
        options = ([("grpc.ssl_target_name_override", args.tls_override)]
                   if args.tls_override else [])
        channel = grpc.secure_channel(args.target, creds, options=options)
    else:
        channel = grpc.insecure_channel(args.target)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=5)
        except grpc.FutureTimeoutError:
            print("channel %s did not become READY" % args.target,
                  file=sys.stderr)
            return 2
        # No serializers: bytes in, bytes out.
        call = channel.unary_unary(args.method)
        go = time.monotonic_ns() + 20_000_000
        measure = go + int(args.warmup * 1e9)
        end = measure + int(args.seconds * 1e9)
        workers = [Worker(i, call, args.size, args.timeout_ms / 1000.0,
                          go, measure, end) for i in range(args.threads)]
        for w in workers:
            w.start()
        for w in workers:
            # Bounded: the phase end plus one call deadline and a margin.
            w.join(timeout=(end - time.monotonic_ns()) / 1e9
                   + args.timeout_ms / 1000.0 + 5)
        if any(w.is_alive() for w in workers):
            print("a worker thread did not finish", file=sys.stderr)
            return 2
    finally:
        channel.close()

    lat = sorted(x for w in workers for x in w.lat)
    n = len(lat)
    errors = sum(w.errors for w in workers)
    out = {
        "client": "grpcio",
        "target": args.target,
        "tls": bool(args.tls_ca),
        "threads": args.threads,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "size": args.size,
        "calls": n,
        "qps": round(n / args.seconds, 1),
        "p50_us": round(_pct_us(lat, 0.50), 1),
        "p90_us": round(_pct_us(lat, 0.90), 1),
        "p99_us": round(_pct_us(lat, 0.99), 1),
        "p999_us": round(_pct_us(lat, 0.999), 1),
        "mean_us": round(sum(lat) / n / 1000.0, 1) if n else 0.0,
        "max_us": round(max(w.max_ns for w in workers) / 1000.0, 1),
        "calls_total": sum(w.calls_total for w in workers),
        "errors": errors,
        "errors_measured": sum(w.errors_measured for w in workers),
        "mismatches": sum(w.mismatches for w in workers),
        "first_error": next((w.first_error for w in workers if w.first_error),
                            ""),
    }
    print(json.dumps(out, separators=(",", ":")), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
