#!/usr/bin/env python3
"""grpcio server for cgrpc.test.Dyn (tests/python/protos/dynamic_test.proto),
the reference peer for the dynamic-stub tests of Python and Lua.

Its messages are protobuf's own classes, made at run time from the same
descriptor set the tests load into cgrpc (google.protobuf's descriptor pool
and message factory; no generated code), so its encoding is protobuf's.

Usage: dynamic_grpcio_server.py SET.pb [--host 127.0.0.1]; prints
"PORT <n>", serves until SIGTERM/SIGINT, exits 0.
"""

import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("descriptor_set")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)

    fds = descriptor_pb2.FileDescriptorSet()
    with open(args.descriptor_set, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    Everything = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("cgrpc.test.Everything"))

    def unary(request, context):
        if request.text == "fail":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
        return request

    def split(request, context):
        for i, tag in enumerate(request.tags):
            yield Everything(text=tag, i64=i)

    def collect(request_iterator, context):
        out = Everything()
        for m in request_iterator:
            out.tags.append(m.text)
            out.i64 += m.i64
        return out

    def chat(request_iterator, context):
        for m in request_iterator:
            yield m

    de, ser = Everything.FromString, Everything.SerializeToString
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, de, ser),
        "Split": grpc.unary_stream_rpc_method_handler(split, de, ser),
        "Collect": grpc.stream_unary_rpc_method_handler(collect, de, ser),
        "Chat": grpc.stream_stream_rpc_method_handler(chat, de, ser),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("cgrpc.test.Dyn", handlers),))
    port = server.add_insecure_port("%s:0" % args.host)
    server.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("PORT %d" % port, flush=True)
    while not stop.wait(0.2):
        pass
    server.stop(grace=0.5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
