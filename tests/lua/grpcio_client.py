"""grpcio client against a Lua server (tests/lua/interop_spec.lua).

Usage: grpcio_client.py HOST:PORT
Runs the echo contract of tests/lua/lua_echo_service.lua with grpcio's
generic (bytes in, bytes out) API and prints one line per check; exits 0
only if every check passed.  Every call has a deadline.
"""
import sys

import grpc

target = sys.argv[1]
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        failures += 1


with grpc.insecure_channel(target) as ch:
    ident = lambda b: b  # noqa: E731
    unary = ch.unary_unary("/cgrpc.test.Echo/Unary", ident, ident)
    reply, call = unary.with_call(b"hi\x00\xff", timeout=10,
                                  metadata=[("x-echo-initial", "v1"),
                                            ("x-echo-trailing-bin", b"\x01\x02")])
    check("unary echo", reply == b"hi\x00\xff", reply)
    check("initial metadata", ("x-echo-initial", "v1") in call.initial_metadata(),
          call.initial_metadata())
    check("trailers", ("x-echo-trailing-bin", b"\x01\x02") in call.trailing_metadata(),
          call.trailing_metadata())

    try:
        unary(b"x", timeout=10, metadata=[("x-echo-status", "7"),
                                          ("x-echo-message-bin", b"denied")])
        check("error status", False, "no error")
    except grpc.RpcError as e:
        check("error status", e.code() == grpc.StatusCode.PERMISSION_DENIED
              and e.details() == "denied", (e.code(), e.details()))

    raise_ = ch.unary_unary("/cgrpc.test.Echo/Raise", ident, ident)
    try:
        raise_(b"boom", timeout=10)
        check("handler raise", False, "no error")
    except grpc.RpcError as e:
        check("handler raise", e.code() == grpc.StatusCode.UNKNOWN
              and "handler exploded: boom" in e.details(), (e.code(), e.details()))

    ss = ch.unary_stream("/cgrpc.test.Echo/ServerStream", ident, ident)
    got = list(ss(b"s", timeout=10, metadata=[("x-count", "5")]))
    check("server streaming", got == [b"s#%d" % i for i in range(5)], got)

    cs = ch.stream_unary("/cgrpc.test.Echo/ClientStream", ident, ident)
    got = cs(iter([b"a", b"b", b"c"]), timeout=10)
    check("client streaming", got == b"abc", got)

    bidi = ch.stream_stream("/cgrpc.test.Echo/Bidi", ident, ident)
    msgs = [b"m%d" % i for i in range(50)]
    got = list(bidi(iter(msgs), timeout=10))
    check("bidi streaming", got == msgs, got[:5])

    try:
        unary(b"x", timeout=0.2, metadata=[("x-sleep-ms", "3000")])
        check("deadline", False, "no error")
    except grpc.RpcError as e:
        check("deadline", e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.code())

    nope = ch.unary_unary("/cgrpc.test.Echo/NoSuchMethod", ident, ident)
    try:
        nope(b"x", timeout=10)
        check("unimplemented", False, "no error")
    except grpc.RpcError as e:
        check("unimplemented", e.code() == grpc.StatusCode.UNIMPLEMENTED, e.code())

print("FAILURES %d" % failures)
sys.exit(1 if failures else 0)
