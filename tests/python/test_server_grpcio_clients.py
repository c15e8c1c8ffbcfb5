"""The cgrpc Python server, called by grpcio clients."""

import time

import grpc
import pytest

import cgrpc
import cgrpc_test_support as support

SERVICE = "cgrpctest.Py"
P = "/%s/" % SERVICE
TRAILER_BIN = b"\x00\x01\xfe\xff"


def _md(context, key):
    return [v for k, v in context.invocation_metadata() if k == key]


def unary(request, context):
    return request


def server_stream(request, context):
    for i in range(3):
        yield request + b"#%d" % i


def client_stream(request_iterator, context):
    return b"".join(request_iterator)


def bidi(request_iterator, context):
    for r in request_iterator:
        yield r.upper()


def metadata_both_ways(request, context):
    context.send_initial_metadata((("x-init", "init-" + _md(context, "x-in")[0]),))
    context.set_trailing_metadata((("x-trail", "trail"), ("x-trail-bin", TRAILER_BIN)))
    return b"|".join([_md(context, "x-in")[0].encode()] + _md(context, "x-in-bin"))


def metadata_stream(request, context):
    context.send_initial_metadata((("x-init", "s"),))
    context.set_trailing_metadata((("x-trail-bin", TRAILER_BIN),))
    yield b"one"
    yield b"two"


def abort(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "x")
    return b"not reached"


def abort_stream(request, context):
    yield b"first"
    context.abort(grpc.StatusCode.NOT_FOUND, "x")


def raise_value_error(request, context):
    if request == b"raise":
        raise ValueError("handler bug")
    return b"fine"


def set_code(request, context):
    context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
    context.set_details("bad argument")
    return None


def bad_deserializer(data):
    raise ValueError("cannot parse")


def time_remaining(request, context):
    return repr(context.time_remaining()).encode()


HANDLERS = {
    "Unary": cgrpc.unary_unary_rpc_method_handler(unary),
    "ServerStream": cgrpc.unary_stream_rpc_method_handler(server_stream),
    "ClientStream": cgrpc.stream_unary_rpc_method_handler(client_stream),
    "Bidi": cgrpc.stream_stream_rpc_method_handler(bidi),
    "Metadata": cgrpc.unary_unary_rpc_method_handler(metadata_both_ways),
    "MetadataStream": cgrpc.unary_stream_rpc_method_handler(metadata_stream),
    "Abort": cgrpc.unary_unary_rpc_method_handler(abort),
    "AbortStream": cgrpc.unary_stream_rpc_method_handler(abort_stream),
    "Raise": cgrpc.unary_unary_rpc_method_handler(raise_value_error),
    "SetCode": cgrpc.unary_unary_rpc_method_handler(set_code),
    "BadRequest": cgrpc.unary_unary_rpc_method_handler(unary, request_deserializer=bad_deserializer),
    "BadStreamRequest": cgrpc.stream_unary_rpc_method_handler(
        client_stream, request_deserializer=bad_deserializer),
    "TimeRemaining": cgrpc.unary_unary_rpc_method_handler(time_remaining),
}


@pytest.fixture
def ch(pyserver):
    _, target = pyserver([cgrpc.method_handlers_generic_handler(SERVICE, HANDLERS)])
    with support.grpcio_channel(target) as channel:
        yield channel


def _error(fn):
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


def test_four_kinds(ch):
    assert ch.unary_unary(P + "Unary")(b"hello", timeout=5) == b"hello"
    assert ch.unary_unary(P + "Unary")(b"", timeout=5) == b""
    assert list(ch.unary_stream(P + "ServerStream")(b"s", timeout=5)) == [b"s#0", b"s#1", b"s#2"]
    assert ch.stream_unary(P + "ClientStream")(iter([b"a", b"", b"bc"]), timeout=5) == b"abc"
    assert ch.stream_unary(P + "ClientStream")(iter(()), timeout=5) == b""
    assert list(ch.stream_stream(P + "Bidi")(iter([b"x", b"yz"]), timeout=5)) == [b"X", b"YZ"]


def test_large_unary_message(ch):
    big = bytes(range(256)) * 4096  # 1 MiB
    assert ch.unary_unary(P + "Unary")(big, timeout=10) == big


def test_metadata_both_ways(ch):
    reply, call = ch.unary_unary(P + "Metadata").with_call(
        b"", metadata=(("x-in", "v1"), ("x-in-bin", b"\x00\xffraw")), timeout=5)
    assert reply == b"v1|\x00\xffraw"  # the handler saw both request keys
    assert ("x-init", "init-v1") in call.initial_metadata()
    trailing = call.trailing_metadata()
    assert ("x-trail", "trail") in trailing
    assert ("x-trail-bin", TRAILER_BIN) in trailing


def test_metadata_on_a_stream(ch):
    call = ch.unary_stream(P + "MetadataStream")(b"", timeout=5)
    assert list(call) == [b"one", b"two"]
    assert ("x-init", "s") in call.initial_metadata()
    assert ("x-trail-bin", TRAILER_BIN) in call.trailing_metadata()


def test_abort(ch):
    err = _error(lambda: ch.unary_unary(P + "Abort")(b"", timeout=5))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert err.details() == "x"
    got = []
    err = _error(lambda: got.extend(ch.unary_stream(P + "AbortStream")(b"", timeout=5)))
    assert got == [b"first"]
    assert (err.code(), err.details()) == (grpc.StatusCode.NOT_FOUND, "x")


def test_handler_exception_is_unknown_for_that_call_only(ch):
    call = ch.unary_unary(P + "Raise")
    err = _error(lambda: call(b"raise", timeout=5))
    assert err.code() == grpc.StatusCode.UNKNOWN
    assert call(b"ok", timeout=5) == b"fine"
    assert ch.unary_unary(P + "Unary")(b"still serving", timeout=5) == b"still serving"


def test_set_code_without_response(ch):
    err = _error(lambda: ch.unary_unary(P + "SetCode")(b"", timeout=5))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == "bad argument"


def test_request_deserializer_raising_is_internal(ch):
    err = _error(lambda: ch.unary_unary(P + "BadRequest")(b"junk", timeout=5))
    assert err.code() == grpc.StatusCode.INTERNAL
    err = _error(lambda: ch.stream_unary(P + "BadStreamRequest")(iter([b"junk"]), timeout=5))
    assert err.code() == grpc.StatusCode.INTERNAL
    assert ch.unary_unary(P + "Unary")(b"after", timeout=5) == b"after"


def test_time_remaining_within_client_timeout(ch):
    start = time.monotonic()
    reply = ch.unary_unary(P + "TimeRemaining")(b"", timeout=5)
    took = time.monotonic() - start
    remaining = eval(reply.decode())  # repr of a float
    assert isinstance(remaining, float), reply
    # grpcio may round its grpc-timeout header up a little ("5010m" for 5 s).
    assert 5.0 - took - 0.5 <= remaining <= 5.05, remaining


def test_unknown_method_and_service(ch):
    err = _error(lambda: ch.unary_unary(P + "Nope")(b"", timeout=5))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    err = _error(lambda: ch.unary_unary("/cgrpctest.Nope/Unary")(b"", timeout=5))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    err = _error(lambda: list(ch.stream_stream("/cgrpctest.Nope/Bidi")(iter([b"a"]), timeout=5)))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


def test_client_cancel_reaches_handler(pyserver):
    # context.is_active() turns False once the grpcio client cancels.
    seen = {}

    def wait_for_cancel(request, context):
        end = time.monotonic() + 5
        while context.is_active() and time.monotonic() < end:
            time.sleep(0.01)
        seen["active"] = context.is_active()
        seen["after"] = time.monotonic()
        return b"late"

    _, target = pyserver([cgrpc.method_handlers_generic_handler(
        SERVICE, {"Wait": cgrpc.unary_unary_rpc_method_handler(wait_for_cancel)})])
    with support.grpcio_channel(target) as channel:
        fut = channel.unary_unary(P + "Wait").future(b"", timeout=10)
        time.sleep(0.3)
        fut.cancel()
        cancelled_at = time.monotonic()
        deadline = time.monotonic() + 5
        while "after" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen.get("active") is False, seen
    assert seen["after"] - cancelled_at < 1.0
