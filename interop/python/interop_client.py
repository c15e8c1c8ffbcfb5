#!/usr/bin/env python3
"""grpc's standard interop client over cgrpc's Python binding.

    PYTHONPATH=python python3 interop/python/interop_client.py \
        --server_host=127.0.0.1 --server_port=N --test_case=all \
        [--use_tls=true --use_test_ca=true --ca_file=CA \
         --server_host_override=foo.test.google.fr] \
        [--descriptor_set=build/interop/grpc_testing.pb] [--rpc_timeout_ms=10000]

No generated code: the grpc.testing messages and services come from a
descriptor set (`make build/interop/grpc_testing.pb`) loaded with
cgrpc.load_descriptor_set(), so requests and responses are dicts that the
C protobuf layer encodes and decodes, and every call runs on the C core.
grpc's doc/interop-test-descriptions.md is the specification of the 14
cases.  Prints "case: PASS" or "case: FAIL reason" per case; exit 0 if all
passed, 1 otherwise, 2 on a usage error.  Every call has a deadline
(--rpc_timeout_ms) and every wait of this program is bounded.
"""

import os
import queue
import sys
import time

import cgrpc

CASES = (
    "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong",
    "empty_stream", "cancel_after_begin", "cancel_after_first_response",
    "timeout_on_sleeping_server", "custom_metadata", "status_code_and_message",
    "special_status_message", "unimplemented_method", "unimplemented_service",
)

REQUEST_SIZES = (27182, 8, 1828, 45904)
RESPONSE_SIZES = (31415, 9, 2653, 58979)
LARGE_REQUEST = 271828
LARGE_RESPONSE = 314159
ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
STATUS_MESSAGE = "test status message"
SPECIAL_MESSAGE = ("\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP "
                   "\U0001f608\t\n")

_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SET = os.environ.get(
    "CGRPC_INTEROP_DESCRIPTOR_SET",
    os.path.normpath(os.path.join(_HERE, "..", "..", "build", "interop", "grpc_testing.pb")))


class CaseFailure(Exception):
    """A case's assertion did not hold; the message is the reason."""


class UsageError(Exception):
    pass


def esc(text):
    """A status message or value on one printable line."""
    if isinstance(text, bytes):
        return "0x" + text.hex()
    out = []
    for ch in str(text):
        if ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def status_text(err):
    code = err.code()
    name = getattr(code, "name", str(code))
    return "%s \"%s\"" % (name, esc(err.details() or ""))


# ---------------------------------------------------------------- flags

FLAGS = {
    "server_host": ("str", "127.0.0.1"),
    "server_port": ("int", None),
    "test_case": ("str", None),
    "use_tls": ("bool", False),
    "use_test_ca": ("bool", False),
    "ca_file": ("str", None),
    "tls_ca_file": ("str", None),        # alias of --ca_file, as in the C client
    "server_host_override": ("str", None),
    "rpc_timeout_ms": ("int", 10000),
    "descriptor_set": ("str", DEFAULT_SET),
}


def parse_bool(name, text):
    low = text.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise UsageError("--%s: not a boolean: %r" % (name, text))


def parse_flags(argv):
    values = {k: d for k, (_, d) in FLAGS.items()}
    for arg in argv:
        if arg in ("-h", "--help"):
            raise UsageError(None)
        if not arg.startswith("--"):
            raise UsageError("unexpected argument %r" % arg)
        name, eq, text = arg[2:].partition("=")
        if name not in FLAGS:
            raise UsageError("unknown flag --%s" % name)
        kind = FLAGS[name][0]
        if not eq:
            if kind != "bool":
                raise UsageError("--%s needs a value (--%s=...)" % (name, name))
            text = "true"
        if kind == "bool":
            values[name] = parse_bool(name, text)
        elif kind == "int":
            try:
                values[name] = int(text, 10)
            except ValueError:
                raise UsageError("--%s: not an integer: %r" % (name, text))
        else:
            values[name] = text
    if values["tls_ca_file"]:
        values["ca_file"] = values["tls_ca_file"]
    if values["test_case"] is None:
        raise UsageError("--test_case is required")
    if values["server_port"] is None:
        raise UsageError("--server_port is required")
    if not 0 < values["server_port"] < 65536:
        raise UsageError("--server_port out of range")
    if not 0 < values["rpc_timeout_ms"] <= 3600000:
        raise UsageError("--rpc_timeout_ms out of range")
    if values["use_tls"] and values["use_test_ca"] and not values["ca_file"]:
        raise UsageError("--use_test_ca=true needs --ca_file (grpc's test CA is not built in)")
    selected = []
    for name in values["test_case"].split(","):
        if name == "all":
            selected.extend(CASES)
        elif name in CASES:
            selected.append(name)
        else:
            raise UsageError("unknown test case %r; known: all, %s" % (name, ", ".join(CASES)))
    values["cases"] = selected
    return values


USAGE = """usage: interop_client.py --server_port=N --test_case=CASE[,CASE...]|all
    [--server_host=127.0.0.1] [--use_tls=true|false] [--use_test_ca=true|false]
    [--ca_file=PEM] [--server_host_override=NAME] [--rpc_timeout_ms=10000]
    [--descriptor_set=%s]
cases: %s""" % (DEFAULT_SET, ", ".join(CASES))


# ---------------------------------------------------------------- helpers

class Requests:
    """A request iterator fed by the case (ping-pong), with bounded waits:
    the binding's sender thread blocks in __next__ at most `limit` seconds,
    then the iterator raises, which ends the call."""

    _END = object()

    def __init__(self, limit):
        self._q = queue.Queue()
        self._limit = limit

    def put(self, request):
        self._q.put(request)

    def close(self):
        self._q.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            item = self._q.get(timeout=self._limit)
        except queue.Empty:
            raise TimeoutError("no request within %.1f s" % self._limit)
        if item is self._END:
            raise StopIteration
        return item


def zeros(n):
    return bytes(n)


def check_payload(response, size, what):
    if not isinstance(response, dict):
        raise CaseFailure("%s: response is %s, not a dict" % (what, type(response).__name__))
    body = response.get("payload", {}).get("body", b"")
    if not isinstance(body, bytes):
        raise CaseFailure("%s: payload.body is %s, not bytes" % (what, type(body).__name__))
    if len(body) != size:
        raise CaseFailure("%s: payload of %d bytes, want %d" % (what, len(body), size))
    if body.count(0) != size:
        raise CaseFailure("%s: payload bytes are not all zero" % what)


def expect_status(fn, code, details, what):
    """Runs fn, which must raise an RpcError with code (and details unless
    None)."""
    try:
        fn()
    except cgrpc.RpcError as e:
        if e.code() != code or (details is not None and e.details() != details):
            want = code.name + ("" if details is None else " \"%s\"" % esc(details))
            raise CaseFailure("%s: status %s, want %s" % (what, status_text(e), want))
        return e
    raise CaseFailure("%s: succeeded, want %s" % (what, code.name))


def md_get(md, key):
    for k, v in md or ():
        if k == key:
            return v
    return None


def check_echo(initial, trailing, what):
    got = md_get(initial, ECHO_INITIAL[0])
    if got != ECHO_INITIAL[1]:
        raise CaseFailure("%s: initial metadata %s is %r, want %r"
                          % (what, ECHO_INITIAL[0], got, ECHO_INITIAL[1]))
    got = md_get(trailing, ECHO_TRAILING[0])
    if got != ECHO_TRAILING[1]:
        raise CaseFailure("%s: trailing metadata %s is %r, want %r"
                          % (what, ECHO_TRAILING[0], got, ECHO_TRAILING[1]))


def next_response(it, what):
    try:
        return next(it)
    except StopIteration:
        raise CaseFailure("%s: the stream ended OK before this response" % what)
    except cgrpc.RpcError as e:
        raise CaseFailure("%s: status %s" % (what, status_text(e)))


def expect_end(it, what):
    """The stream has no further response and ends OK."""
    try:
        extra = next(it)
    except StopIteration:
        pass
    except cgrpc.RpcError as e:
        raise CaseFailure("%s: status %s, want OK" % (what, status_text(e)))
    else:
        raise CaseFailure("%s: a response more than expected (%d bytes)"
                          % (what, len(extra.get("payload", {}).get("body", b""))))
    if it.code() != cgrpc.StatusCode.OK:
        raise CaseFailure("%s: ended with %s" % (what, it.code()))


def duplex_request(response_size, request_size):
    return {"response_parameters": [{"size": response_size}],
            "payload": {"body": zeros(request_size)}}


# ---------------------------------------------------------------- cases

class Client:
    def __init__(self, pool, channel, timeout_s):
        self.pool = pool
        self.test = pool.stub(channel, "grpc.testing.TestService")
        self.unimpl = pool.stub(channel, "grpc.testing.UnimplementedService")
        self.timeout = timeout_s

    def empty_unary(self):
        reply = self.test.EmptyCall({}, timeout=self.timeout)
        if reply != {}:
            raise CaseFailure("EmptyCall: response %r, want {}" % (reply,))

    def large_unary(self):
        reply = self.test.UnaryCall({"response_size": LARGE_RESPONSE,
                                     "payload": {"body": zeros(LARGE_REQUEST)}},
                                    timeout=self.timeout)
        check_payload(reply, LARGE_RESPONSE, "UnaryCall")

    def client_streaming(self):
        requests = [{"payload": {"body": zeros(n)}} for n in REQUEST_SIZES]
        reply = self.test.StreamingInputCall(iter(requests), timeout=self.timeout)
        got = reply.get("aggregated_payload_size", 0)
        if got != 74922:
            raise CaseFailure("aggregated_payload_size %r, want 74922" % (got,))

    def server_streaming(self):
        it = self.test.StreamingOutputCall(
            {"response_parameters": [{"size": n} for n in RESPONSE_SIZES]},
            timeout=self.timeout)
        for i, size in enumerate(RESPONSE_SIZES):
            check_payload(next_response(it, "response %d" % (i + 1)), size,
                          "response %d" % (i + 1))
        expect_end(it, "end")

    def ping_pong(self):
        requests = Requests(self.timeout)
        it = self.test.FullDuplexCall(requests, timeout=self.timeout)
        try:
            for i, (req, resp) in enumerate(zip(REQUEST_SIZES, RESPONSE_SIZES)):
                requests.put(duplex_request(resp, req))
                what = "response %d" % (i + 1)
                check_payload(next_response(it, what), resp, what)
            requests.close()
            expect_end(it, "end")
        finally:
            requests.close()
            it.cancel()

    def empty_stream(self):
        it = self.test.FullDuplexCall(iter(()), timeout=self.timeout)
        expect_end(it, "FullDuplexCall")

    def cancel_after_begin(self):
        # grpcio's way: a client-streaming future whose requests never
        # come, cancelled at once.  The binding cancels the C call.
        requests = Requests(self.timeout)
        fut = self.test.StreamingInputCall.future(requests, timeout=self.timeout)
        try:
            if not fut.cancel():
                raise CaseFailure("future.cancel() returned False (done: %s)" % fut.done())
            if not fut.cancelled():
                raise CaseFailure("the future is not cancelled after cancel()")
            try:
                fut.result(timeout=self.timeout)
            except cgrpc.FutureCancelledError:
                pass
            except Exception as e:
                raise CaseFailure("result() raised %s: %s, want FutureCancelledError"
                                  % (type(e).__name__, e))
            else:
                raise CaseFailure("result() returned after cancel()")
        finally:
            requests.close()

    def cancel_after_first_response(self):
        requests = Requests(self.timeout)
        it = self.test.FullDuplexCall(requests, timeout=self.timeout)
        try:
            requests.put(duplex_request(31415, 27182))
            check_payload(next_response(it, "first response"), 31415, "first response")
            if not it.cancel():
                raise CaseFailure("cancel() returned False")
            expect_status(lambda: next(it), cgrpc.StatusCode.CANCELLED, None,
                          "after cancel()")
            if it.code() != cgrpc.StatusCode.CANCELLED:
                raise CaseFailure("call code %s after cancel(), want CANCELLED" % it.code())
        finally:
            requests.close()

    def timeout_on_sleeping_server(self):
        requests = Requests(self.timeout)
        requests.put({"payload": {"body": zeros(27182)}})
        it = self.test.FullDuplexCall(requests, timeout=0.001)  # the doc's 1 ms
        try:
            # The server sends nothing: the deadline is the only way out.
            expect_status(lambda: next(it), cgrpc.StatusCode.DEADLINE_EXCEEDED, None,
                          "FullDuplexCall")
        finally:
            requests.close()

    def custom_metadata(self):
        md = [ECHO_INITIAL, ECHO_TRAILING]
        reply, call = self.test.UnaryCall.with_call(
            {"response_size": LARGE_RESPONSE, "payload": {"body": zeros(LARGE_REQUEST)}},
            timeout=self.timeout, metadata=md)
        check_payload(reply, LARGE_RESPONSE, "UnaryCall")
        check_echo(call.initial_metadata(), call.trailing_metadata(), "UnaryCall")

        it = self.test.FullDuplexCall(
            iter([duplex_request(LARGE_RESPONSE, LARGE_REQUEST)]),
            timeout=self.timeout, metadata=md)
        check_payload(next_response(it, "FullDuplexCall"), LARGE_RESPONSE, "FullDuplexCall")
        expect_end(it, "FullDuplexCall")
        check_echo(it.initial_metadata(), it.trailing_metadata(), "FullDuplexCall")

    def _unary_status(self, code, message):
        expect_status(lambda: self.test.UnaryCall(
            {"response_status": {"code": code.value[0], "message": message}},
            timeout=self.timeout), code, message, "UnaryCall")

    def status_code_and_message(self):
        code = cgrpc.StatusCode.UNKNOWN
        self._unary_status(code, STATUS_MESSAGE)
        it = self.test.FullDuplexCall(
            iter([{"response_status": {"code": code.value[0], "message": STATUS_MESSAGE}}]),
            timeout=self.timeout)
        expect_status(lambda: next(it), code, STATUS_MESSAGE, "FullDuplexCall")

    def special_status_message(self):
        self._unary_status(cgrpc.StatusCode.UNKNOWN, SPECIAL_MESSAGE)

    def unimplemented_method(self):
        expect_status(lambda: self.test.UnimplementedCall({}, timeout=self.timeout),
                      cgrpc.StatusCode.UNIMPLEMENTED, None, "TestService/UnimplementedCall")

    def unimplemented_service(self):
        expect_status(lambda: self.unimpl.UnimplementedCall({}, timeout=self.timeout),
                      cgrpc.StatusCode.UNIMPLEMENTED, None,
                      "UnimplementedService/UnimplementedCall")


# ---------------------------------------------------------------- main

def host_port(host, port):
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%d" % (host, port)


def make_channel(f):
    target = host_port(f["server_host"], f["server_port"])
    options = [("grpc.primary_user_agent", "cgrpc-interop-client-python")]
    override = f["server_host_override"]
    if not f["use_tls"]:
        if override:
            options.append(("grpc.default_authority", override))
        return cgrpc.insecure_channel(target, options=options)
    roots = None
    if f["ca_file"]:  # with --use_test_ca it replaces the system roots
        with open(f["ca_file"], "rb") as fh:
            roots = fh.read()
    if override:
        options.append(("grpc.ssl_target_name_override", override))
    return cgrpc.secure_channel(target, cgrpc.ssl_channel_credentials(root_certificates=roots),
                                options=options)


def main(argv):
    try:
        f = parse_flags(argv)
    except UsageError as e:
        if e.args[0] is None:
            print(USAGE)
            return 0
        print("interop_client.py: %s" % e.args[0], file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    cases = f["cases"]
    try:
        with open(f["descriptor_set"], "rb") as fh:
            pool = cgrpc.load_descriptor_set(fh.read())
        channel = make_channel(f)
        client = Client(pool, channel, f["rpc_timeout_ms"] / 1000.0)
    except Exception as e:  # every case fails for the same reason
        for name in cases:
            print("%s: FAIL setup: %s: %s" % (name, type(e).__name__, esc(str(e))), flush=True)
        return 1
    failed = 0
    for name in cases:
        t0 = time.monotonic()
        try:
            getattr(client, name)()
            print("%s: PASS" % name, flush=True)
        except CaseFailure as e:
            failed += 1
            print("%s: FAIL %s" % (name, esc(str(e))), flush=True)
        except cgrpc.RpcError as e:
            failed += 1
            print("%s: FAIL status %s" % (name, status_text(e)), flush=True)
        except Exception as e:
            failed += 1
            print("%s: FAIL %s: %s" % (name, type(e).__name__, esc(str(e))), flush=True)
        print("interop_client.py: %s took %d ms" % (name, (time.monotonic() - t0) * 1000),
              file=sys.stderr)
    channel.close()
    if failed:
        print("interop_client.py: %d of %d cases failed" % (failed, len(cases)),
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
