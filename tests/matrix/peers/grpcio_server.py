"""grpcio (C-core) interop server for cgrpc's interop matrix.

Implements grpc.testing.TestService as grpc's interop-test-descriptions.md
asks of a server (EmptyCall, UnaryCall, StreamingInputCall,
StreamingOutputCall, FullDuplexCall, HalfDuplexCall, echo of metadata and
status, interval_us); UnimplementedCall is left to grpcio's default
(UNIMPLEMENTED).

    grpcio_server.py --port=N [--bind_host=127.0.0.1] [--use_tls=true
        --tls_cert_file=F --tls_key_file=F]

Listens on 127.0.0.1 unless --bind_host says otherwise; runs until SIGTERM
or SIGINT.

For the runner's --selftest only (does the matrix catch a wrong server?):
CGRPC_MATRIX_FAULT=payload_size|no_echo|status_message|aggregate makes the
server answer wrongly in that one respect.
"""
import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

from matrix_gen import empty_pb2, messages_pb2, test_pb2_grpc, parse_bool

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
_CODES = {c.value[0]: c for c in grpc.StatusCode}
FAULT = os.environ.get("CGRPC_MATRIX_FAULT", "")


def _echo_metadata(context):
    if FAULT == "no_echo":
        return
    initial, trailing = [], []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL:
            initial.append((key, value))
        elif key == ECHO_TRAILING:
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def _abort_with(context, echo_status):
    code = _CODES.get(echo_status.code, grpc.StatusCode.UNKNOWN)
    message = echo_status.message
    if FAULT == "status_message":
        message = message[:-1]
    context.abort(code, message)


def _payload(size):
    if size < 0:
        raise ValueError("negative size")
    if FAULT == "payload_size" and size > 0:
        size += 1
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


def _check_type(request, context):
    if request.response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unsupported response_type")


def _stream_responses(request, context):
    _check_type(request, context)
    for params in request.response_parameters:
        if params.interval_us > 0:
            time.sleep(params.interval_us / 1e6)
        if params.compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        yield messages_pb2.StreamingOutputCallResponse(payload=_payload(params.size))


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        _echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        _echo_metadata(context)
        if request.response_status.code != 0:
            _abort_with(context, request.response_status)
        _check_type(request, context)
        if request.expect_compressed.value:
            # grpcio cannot see whether a request was compressed.
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "expect_compressed is not supported by this server")
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        return messages_pb2.SimpleResponse(payload=_payload(request.response_size))

    def CacheableUnaryCall(self, request, context):
        _echo_metadata(context)
        return messages_pb2.SimpleResponse(
            payload=messages_pb2.Payload(body=str(time.time_ns()).encode()))

    def StreamingInputCall(self, request_iterator, context):
        _echo_metadata(context)
        total = 0
        for request in request_iterator:
            total += len(request.payload.body)
        if FAULT == "aggregate":
            total -= 1
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def StreamingOutputCall(self, request, context):
        _echo_metadata(context)
        if request.response_status.code != 0:
            _abort_with(context, request.response_status)
        yield from _stream_responses(request, context)

    def FullDuplexCall(self, request_iterator, context):
        _echo_metadata(context)
        for request in request_iterator:
            if request.response_status.code != 0:
                _abort_with(context, request.response_status)
            yield from _stream_responses(request, context)

    def HalfDuplexCall(self, request_iterator, context):
        _echo_metadata(context)
        requests = list(request_iterator)
        for request in requests:
            if request.response_status.code != 0:
                _abort_with(context, request.response_status)
        for request in requests:
            yield from _stream_responses(request, context)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind_host", default="127.0.0.1")
    ap.add_argument("--use_tls", type=parse_bool, nargs="?", const=True, default=False)
    ap.add_argument("--tls_cert_file")
    ap.add_argument("--tls_key_file")
    args = ap.parse_args(argv)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32),
                         options=[("grpc.so_reuseport", 0)])
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    addr = "%s:%d" % (args.bind_host, args.port)
    if args.use_tls:
        if not (args.tls_cert_file and args.tls_key_file):
            sys.exit("--use_tls needs --tls_cert_file and --tls_key_file")
        with open(args.tls_key_file, "rb") as f:
            key = f.read()
        with open(args.tls_cert_file, "rb") as f:
            cert = f.read()
        bound = server.add_secure_port(addr, grpc.ssl_server_credentials([(key, cert)]))
    else:
        bound = server.add_insecure_port(addr)
    if bound != args.port:
        sys.exit("could not listen on %s" % addr)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("grpcio interop server listening on %s tls=%s" % (addr, args.use_tls), flush=True)
    while not stop.wait(0.5):
        pass
    server.stop(grace=1).wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
