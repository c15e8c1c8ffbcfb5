"""grpcio (C-core) interop client for cgrpc's interop matrix.

Runs grpc's standard interop cases (doc/interop-test-descriptions.md) that
need no credentials:

    grpcio_client.py --server_host=127.0.0.1 --server_port=N
        --test_case=CASE[,CASE...] [--use_tls=true --use_test_ca=true
        --ca_file=F --server_host_override=foo.test.google.fr]

Several cases may be given, comma-separated; each runs on a channel of its
own and prints one line, `RESULT <case> PASS` or `RESULT <case> FAIL
<reason>`.  Exit status 0 only if every case passed.  Every RPC has a
deadline (--rpc_timeout seconds, default 10), so no case waits forever.
"""
import argparse
import queue
import sys
import time
import traceback

import grpc

from matrix_gen import empty_pb2, messages_pb2, test_pb2_grpc, parse_bool

ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


class CaseFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CaseFailed(what)


def zeros(n):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(n))


class Requests:
    """A request iterator fed from the test: lock-step streaming."""
    _END = object()

    def __init__(self):
        self._q = queue.Queue()

    def send(self, msg):
        self._q.put(msg)

    def close(self):
        self._q.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if item is self._END:
            raise StopIteration
        return item


def expect_status(fn, code, message=None):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "want %s, got %s (%r)" % (code, e.code(), e.details()))
        if message is not None:
            check(e.details() == message,
                  "want message %r, got %r" % (message, e.details()))
        return e
    raise CaseFailed("call succeeded, want %s" % code)


class Cases:
    def __init__(self, channel, timeout):
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimpl = test_pb2_grpc.UnimplementedServiceStub(channel)
        self.t = timeout

    def empty_unary(self):
        resp = self.stub.EmptyCall(empty_pb2.Empty(), timeout=self.t)
        check(isinstance(resp, empty_pb2.Empty), "response is not Empty")
        check(resp.ByteSize() == 0, "response not zero bytes")

    def large_unary(self):
        req = messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE,
                                         response_size=314159, payload=zeros(271828))
        resp = self.stub.UnaryCall(req, timeout=self.t)
        check(len(resp.payload.body) == 314159,
              "payload size %d, want 314159" % len(resp.payload.body))
        check(resp.payload.body == bytes(314159), "payload is not all zeros")

    def client_streaming(self):
        reqs = [messages_pb2.StreamingInputCallRequest(payload=zeros(n))
                for n in (27182, 8, 1828, 45904)]
        resp = self.stub.StreamingInputCall(iter(reqs), timeout=self.t)
        check(resp.aggregated_payload_size == 74922,
              "aggregated_payload_size %d, want 74922" % resp.aggregated_payload_size)

    def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        req = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(size=n) for n in sizes])
        got = [len(r.payload.body) for r in self.stub.StreamingOutputCall(req, timeout=self.t)]
        check(got == sizes, "response sizes %s, want %s" % (got, sizes))

    def ping_pong(self):
        reqs = Requests()
        call = self.stub.FullDuplexCall(reqs, timeout=self.t)
        try:
            for out, inp in ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904)):
                reqs.send(messages_pb2.StreamingOutputCallRequest(
                    response_type=messages_pb2.COMPRESSABLE,
                    response_parameters=[messages_pb2.ResponseParameters(size=out)],
                    payload=zeros(inp)))
                resp = next(call)
                check(len(resp.payload.body) == out,
                      "response size %d, want %d" % (len(resp.payload.body), out))
            reqs.close()
            rest = list(call)
            check(not rest, "%d responses after the fourth" % len(rest))
            check(call.code() == grpc.StatusCode.OK, "status %s" % call.code())
        finally:
            reqs.close()

    def empty_stream(self):
        call = self.stub.FullDuplexCall(iter([]), timeout=self.t)
        got = list(call)
        check(not got, "%d responses, want none" % len(got))
        check(call.code() == grpc.StatusCode.OK, "status %s" % call.code())

    def cancel_after_begin(self):
        reqs = Requests()
        fut = self.stub.StreamingInputCall.future(reqs, timeout=self.t)
        try:
            fut.cancel()
            check(fut.cancelled(), "call not cancelled")
            check(fut.code() == grpc.StatusCode.CANCELLED,
                  "status %s, want CANCELLED" % fut.code())
        finally:
            reqs.close()

    def cancel_after_first_response(self):
        reqs = Requests()
        call = self.stub.FullDuplexCall(reqs, timeout=self.t)
        try:
            reqs.send(messages_pb2.StreamingOutputCallRequest(
                response_type=messages_pb2.COMPRESSABLE,
                response_parameters=[messages_pb2.ResponseParameters(size=31415)],
                payload=zeros(27182)))
            resp = next(call)
            check(len(resp.payload.body) == 31415, "first response size %d" % len(resp.payload.body))
            call.cancel()
            expect_status(lambda: next(call), grpc.StatusCode.CANCELLED)
            check(call.code() == grpc.StatusCode.CANCELLED, "status %s" % call.code())
        finally:
            reqs.close()

    def timeout_on_sleeping_server(self):
        reqs = Requests()
        start = time.monotonic()
        call = self.stub.FullDuplexCall(reqs, timeout=0.001)
        try:
            reqs.send(messages_pb2.StreamingOutputCallRequest(payload=zeros(27182)))
            try:
                got = list(call)
            except grpc.RpcError as e:
                elapsed = time.monotonic() - start
                # A server whose own deadline timer fires first resets the
                # stream (RST_STREAM CANCEL, as grpc-go's does), which nginx
                # passes on as HTTP 502; C-core reports that (CANCELLED,
                # UNAVAILABLE) when it beats C-core's own timer.  Taken as
                # the deadline only when the deadline had really passed and
                # the error is exactly that reset.
                details = e.details() or ""
                reset = ((e.code() == grpc.StatusCode.CANCELLED and "RST_STREAM" in details)
                         or (e.code() == grpc.StatusCode.UNAVAILABLE
                             and "http2 header with status: 502" in details))
                if reset and elapsed >= 0.001:
                    print("note: timeout_on_sleeping_server: the stream was reset at the "
                          "deadline; C-core reported %s (%r) after %.1f ms"
                          % (e.code(), details, elapsed * 1000), file=sys.stderr)
                    return
                check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
                      "want DEADLINE_EXCEEDED, got %s (%r)" % (e.code(), e.details()))
                return
            raise CaseFailed("call ended OK with %d responses, want DEADLINE_EXCEEDED" % len(got))
        finally:
            reqs.close()

    def custom_metadata(self):
        md = [ECHO_INITIAL, ECHO_TRAILING]

        def check_md(initial, trailing, which):
            check(ECHO_INITIAL in list(initial),
                  "%s: initial metadata %r lacks %r" % (which, initial, ECHO_INITIAL))
            check(ECHO_TRAILING in list(trailing),
                  "%s: trailing metadata %r lacks %r" % (which, trailing, ECHO_TRAILING))

        req = messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE,
                                         response_size=314159, payload=zeros(271828))
        resp, call = self.stub.UnaryCall.with_call(req, metadata=md, timeout=self.t)
        check(len(resp.payload.body) == 314159, "unary payload size %d" % len(resp.payload.body))
        check_md(call.initial_metadata(), call.trailing_metadata(), "UnaryCall")

        sreq = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(size=314159)],
            payload=zeros(271828))
        call = self.stub.FullDuplexCall(iter([sreq]), metadata=md, timeout=self.t)
        got = [len(r.payload.body) for r in call]
        check(got == [314159], "FullDuplexCall response sizes %s" % got)
        check_md(call.initial_metadata(), call.trailing_metadata(), "FullDuplexCall")

    def _status_cases(self, message, duplex):
        status = messages_pb2.EchoStatus(code=2, message=message)
        req = messages_pb2.SimpleRequest(response_status=status)
        expect_status(lambda: self.stub.UnaryCall(req, timeout=self.t),
                      grpc.StatusCode.UNKNOWN, message)
        if duplex:
            sreq = messages_pb2.StreamingOutputCallRequest(response_status=status)
            expect_status(lambda: list(self.stub.FullDuplexCall(iter([sreq]), timeout=self.t)),
                          grpc.StatusCode.UNKNOWN, message)

    def status_code_and_message(self):
        self._status_cases("test status message", duplex=True)

    def special_status_message(self):
        self._status_cases(SPECIAL_MESSAGE, duplex=False)

    def unimplemented_method(self):
        expect_status(lambda: self.stub.UnimplementedCall(empty_pb2.Empty(), timeout=self.t),
                      grpc.StatusCode.UNIMPLEMENTED)

    def unimplemented_service(self):
        expect_status(lambda: self.unimpl.UnimplementedCall(empty_pb2.Empty(), timeout=self.t),
                      grpc.StatusCode.UNIMPLEMENTED)


CASES = ["empty_unary", "large_unary", "client_streaming", "server_streaming",
         "ping_pong", "empty_stream", "cancel_after_begin",
         "cancel_after_first_response", "timeout_on_sleeping_server",
         "custom_metadata", "status_code_and_message", "special_status_message",
         "unimplemented_method", "unimplemented_service"]


def make_channel(args):
    target = "%s:%d" % (args.server_host, args.server_port)
    if not args.use_tls:
        return grpc.insecure_channel(target)
    root = None
    if args.use_test_ca:
        if not args.ca_file:
            sys.exit("--use_test_ca needs --ca_file (no built-in test CA here)")
        with open(args.ca_file, "rb") as f:
            root = f.read()
    options = []
    if args.server_host_override:
        options.append(("grpc.ssl_target_name_override", args.server_host_override))
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root),
                               options=options)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server_host", default="127.0.0.1")
    ap.add_argument("--server_port", type=int, required=True)
    ap.add_argument("--server_host_override", default="")
    ap.add_argument("--test_case", required=True)
    ap.add_argument("--use_tls", type=parse_bool, nargs="?", const=True, default=False)
    ap.add_argument("--use_test_ca", type=parse_bool, nargs="?", const=True, default=False)
    ap.add_argument("--ca_file", default="")
    ap.add_argument("--rpc_timeout", type=float, default=10.0)
    args = ap.parse_args(argv)

    names = [c for c in args.test_case.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        sys.exit("unknown or not allowed test case(s): %s" % ", ".join(unknown))
    failed = 0
    for name in names:
        channel = make_channel(args)
        try:
            getattr(Cases(channel, args.rpc_timeout), name)()
            print("RESULT %s PASS" % name, flush=True)
        except CaseFailed as e:
            failed += 1
            print("RESULT %s FAIL %s" % (name, str(e).replace("\n", "\\n")), flush=True)
        except grpc.RpcError as e:
            failed += 1
            print("RESULT %s FAIL rpc error %s: %r" % (name, e.code(), e.details()), flush=True)
        except Exception as e:  # a bug or an unexpected library error
            failed += 1
            traceback.print_exc()
            print("RESULT %s FAIL %s: %s" % (name, type(e).__name__, e), flush=True)
        finally:
            channel.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
