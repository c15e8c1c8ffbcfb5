#!/usr/bin/env python3
"""A Python-handler unary echo server, on cgrpc or on grpcio.

  python_server_app.py --impl cgrpc|grpcio [--host 127.0.0.1] [--port 0]
                       [--max-workers 16]

Serves /cgrpc.test.Echo/Unary (reply = request, raw bytes, no serializers)
with the same Python handler on either library, so that h2load measures
what each library costs around one Python function call.  cgrpc runs it as
cgrpc.server(max_workers=N); grpcio as grpc.server(ThreadPoolExecutor(N)).
Both bind to --host:--port (port 0 picks a free one).

Prints "PORT <n>" once the server has started, serves until SIGTERM or
SIGINT, stops with a 1 s grace and then prints "HANDLED <n>": how many
times the handler ran.  The benchmark compares that count with the number
of requests it sent (h2load sees only the HTTP status, not grpc-status).
Exit status 0, or 2 if the port cannot be bound.
"""

import argparse
import itertools
import signal
import sys
import threading

SERVICE = "cgrpc.test.Echo"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=("cgrpc", "grpcio"), required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-workers", type=int, default=16)
    args = ap.parse_args(argv)
    if not 1 <= args.max_workers <= 1024:
        ap.error("--max-workers out of range")

    # next() on itertools.count is atomic under the GIL: no lock needed.
    counter = itertools.count()

    def unary(request, context):
        next(counter)
        return request

    if args.impl == "cgrpc":
        import cgrpc as lib
        server = lib.server(max_workers=args.max_workers)
    else:
        from concurrent import futures

        import grpc as lib
        server = lib.server(futures.ThreadPoolExecutor(max_workers=args.max_workers))
    server.add_generic_rpc_handlers((lib.method_handlers_generic_handler(
        SERVICE, {"Unary": lib.unary_unary_rpc_method_handler(unary)}),))

    address = "%s:%d" % (args.host, args.port)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        print("bind %s failed: %s" % (address, exc), file=sys.stderr)
        port = 0
    if not port:
        print("could not bind %s" % address, file=sys.stderr)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    signal.signal(signal.SIGINT, lambda s, f: stop.set())

    server.start()
    print("PORT %d" % port, flush=True)
    while not stop.wait(0.2):  # wakes so the signal handler runs promptly
        pass
    server.stop(1.0).wait(10)
    # After stop, the next value is the number of calls so far.
    print("HANDLED %d" % next(counter), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
