#!/usr/bin/env python3
"""grpcio implementation of tests/codegen/codegen_test.proto's Things.

The C codegen test calls it with the generated cgrpc stubs.  The
_pb2 modules are generated at test time (make test-codegen) into the
directory given by CGRPC_CODEGEN_PYPATH.

CLI: --port 0; prints "PORT <n>" once (127.0.0.1 only), serves until
SIGTERM/SIGINT, then exits 0.
"""

import argparse
import os
import signal
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.environ["CGRPC_CODEGEN_PYPATH"])

import grpc  # noqa: E402
import codegen_test_pb2 as pb  # noqa: E402


class Things:
    def Unary(self, req, context):
        context.send_initial_metadata((("x-peer", "grpcio"),))
        context.set_trailing_metadata((("x-trailer", "grpcio"),))
        return pb.Reply(text="unary:" + req.name, total=req.num,
                        count=len(req.tags), inner=pb.Inner(value=req.num),
                        tags=list(reversed(req.tags)), blob=req.blob)

    def ServerStream(self, req, context):
        if req.num < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "negative count")
        for i in range(req.num):
            yield pb.Reply(text="%s#%d" % (req.name, i), total=i)

    def ClientStream(self, reqs, context):
        names, total, n = [], 0, 0
        for r in reqs:
            names.append(r.name)
            total += r.num
            n += 1
        return pb.Reply(text=",".join(names), total=total, count=n)

    def Bidi(self, reqs, context):
        for r in reqs:
            yield pb.Reply(text="echo:" + r.name, total=r.num)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    t = Things()
    req, rep = pb.Req.FromString, pb.Reply.SerializeToString
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(t.Unary, req, rep),
        "ServerStream": grpc.unary_stream_rpc_method_handler(
            t.ServerStream, req, rep),
        "ClientStream": grpc.stream_unary_rpc_method_handler(
            t.ClientStream, req, rep),
        "Bidi": grpc.stream_stream_rpc_method_handler(t.Bidi, req, rep),
        # No serializer: raw bytes that are not a Reply go out.
        "Garbage": grpc.unary_unary_rpc_method_handler(
            lambda request, ctx: b"\xff\xff\xff", req),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "cgrpc.codegentest.Things", handlers),))
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print("PORT %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop(1).wait(5)


if __name__ == "__main__":
    main()
