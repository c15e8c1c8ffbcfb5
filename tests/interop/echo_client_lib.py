"""grpcio client-side checks for the cgrpc echo test service.

Each check_* function takes a target ("127.0.0.1:PORT" or "[::1]:PORT"),
talks to the echo service there with grpcio, and raises AssertionError with
a message naming the mismatch. They know nothing about which server is on
the other side, so the same checks serve the grpcio reference server and the
cgrpc server alike (and can be reused by other test drivers).

See echo_grpcio_server.py for the contract.
"""

import functools
import queue
import threading
import time

import grpc

PREFIX = "/cgrpc.test.Echo/"
UNARY = PREFIX + "Unary"
SERVER_STREAM = PREFIX + "ServerStream"
CLIENT_STREAM = PREFIX + "ClientStream"
BIDI = PREFIX + "Bidi"

# Generous upper bound for calls that should finish at once: a hang then
# shows up as DEADLINE_EXCEEDED in one check instead of a stuck test run.
CALL_TIMEOUT_S = 10.0

# Shorter, because a bidi server that buffers until half-close hangs this one.
BIDI_TIMEOUT_S = 5.0

# From the standard gRPC interop "special_status_message" case: whitespace,
# CR/LF, a BMP and a non-BMP character all have to survive percent-encoding.
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

NON_UTF8_BYTES = b"\x00\x01\xfe\xff"


def channel(target):
    # The tests only ever talk to loopback; never let an http_proxy setting in
    # the environment route them elsewhere.
    return grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])


def _expect_equal(what, got, want):
    if got != want:
        raise AssertionError("%s: got %s, want %s" % (what, _short(got), _short(want)))


def _short(value):
    # Keep messages readable when a 1 MiB payload mismatches.
    text = repr(value)
    return text if len(text) <= 200 else "%s...(%d chars)" % (text[:200], len(text))


def _expect_rpc_error(what, fn, code):
    """Run fn, which must fail with `code`; return the RpcError."""
    try:
        result = fn()
    except grpc.RpcError as err:
        _expect_equal(what + " status code", err.code(), code)
        return err
    raise AssertionError("%s: expected %s, call succeeded with %s"
                         % (what, code, _short(result)))


def _metadata_values(metadata, key):
    return [value for k, value in (metadata or ()) if k == key]


def _check(fn):
    """Report an unexpected RPC failure as an AssertionError naming the check.

    Callers then only need to handle AssertionError, and a failing call reads
    "check_x: unexpected RPC failure: CODE details" instead of a grpcio
    rendezvous dump.
    """
    @functools.wraps(fn)
    def wrapper(target, *args, **kwargs):
        try:
            return fn(target, *args, **kwargs)
        except grpc.RpcError as err:
            raise AssertionError("%s: unexpected RPC failure: %s %r"
                                 % (fn.__name__, err.code(), err.details())) from err
    return wrapper


def _unary(ch, method=UNARY):
    return ch.unary_unary(method)  # no serializers: bytes in, bytes out


# ---------------------------------------------------------------------------
# The four method shapes


@_check
def check_unary_echo(target):
    """Unary echoes small, empty and 1 MiB messages unchanged."""
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value, not all zeros
    with channel(target) as ch:
        call = _unary(ch)
        for name, payload in (("small", b"hello cgrpc"), ("empty", b""), ("1MiB", big)):
            reply, rpc = call.with_call(payload, timeout=CALL_TIMEOUT_S)
            _expect_equal("unary %s reply" % name, reply, payload)
            _expect_equal("unary %s status" % name, rpc.code(), grpc.StatusCode.OK)


@_check
def check_server_stream(target):
    """ServerStream with x-count 5 replies exactly req#0 .. req#4, then OK."""
    with channel(target) as ch:
        responses = ch.unary_stream(SERVER_STREAM)(
            b"abc", metadata=(("x-count", "5"),), timeout=CALL_TIMEOUT_S)
        got = list(responses)
        _expect_equal("server stream messages", got, [b"abc#%d" % i for i in range(5)])
        _expect_equal("server stream status", responses.code(), grpc.StatusCode.OK)


@_check
def check_server_stream_default_count(target):
    """ServerStream without x-count replies 3 messages."""
    with channel(target) as ch:
        got = list(ch.unary_stream(SERVER_STREAM)(b"d", timeout=CALL_TIMEOUT_S))
        _expect_equal("server stream default messages", got, [b"d#0", b"d#1", b"d#2"])


@_check
def check_client_stream(target):
    """ClientStream concatenates 4 messages; zero messages give b""."""
    parts = [b"one", b"", b"three", b"\x00four\xff"]
    with channel(target) as ch:
        call = ch.stream_unary(CLIENT_STREAM)
        reply, rpc = call.with_call(iter(parts), timeout=CALL_TIMEOUT_S)
        _expect_equal("client stream reply", reply, b"".join(parts))
        _expect_equal("client stream status", rpc.code(), grpc.StatusCode.OK)
        reply = call(iter(()), timeout=CALL_TIMEOUT_S)
        _expect_equal("client stream reply for no messages", reply, b"")


@_check
def check_bidi_ping_pong(target):
    """Bidi answers each message before the next is sent, 5 times, then OK.

    A server that waits for half-close before echoing fails this with
    DEADLINE_EXCEEDED after BIDI_TIMEOUT_S.
    """
    outbox = queue.Queue()
    done = object()

    def requests():
        # Bounded; outlives the call deadline so a stalled server is reported
        # as DEADLINE_EXCEEDED rather than as a request-iterator error.
        while True:
            item = outbox.get(timeout=BIDI_TIMEOUT_S + 5)
            if item is done:
                return
            yield item

    with channel(target) as ch:
        responses = ch.stream_stream(BIDI)(requests(), timeout=BIDI_TIMEOUT_S)
        try:
            for i in range(5):
                ping = b"ping-%d" % i
                outbox.put(ping)
                # The reply must come while the stream is still open: this is
                # what distinguishes true streaming from buffer-then-reply.
                _expect_equal("bidi reply %d" % i, next(responses), ping)
            outbox.put(done)  # half-close
            rest = list(responses)
        except BaseException:
            outbox.put(done)
            responses.cancel()
            raise
        _expect_equal("bidi messages after half-close", rest, [])
        _expect_equal("bidi status", responses.code(), grpc.StatusCode.OK)


# ---------------------------------------------------------------------------
# Metadata and status controls


@_check
def check_initial_metadata_echo(target):
    """x-echo-initial comes back once in the initial metadata."""
    value = "initial-value-42"
    with channel(target) as ch:
        reply, rpc = _unary(ch).with_call(
            b"m", metadata=(("x-echo-initial", value),), timeout=CALL_TIMEOUT_S)
        _expect_equal("reply", reply, b"m")
        _expect_equal("initial metadata x-echo-initial",
                      _metadata_values(rpc.initial_metadata(), "x-echo-initial"), [value])


@_check
def check_trailing_bin_echo(target):
    """x-echo-trailing-bin (non-UTF-8 bytes) comes back once in the trailers."""
    with channel(target) as ch:
        reply, rpc = _unary(ch).with_call(
            b"t", metadata=(("x-echo-trailing-bin", NON_UTF8_BYTES),),
            timeout=CALL_TIMEOUT_S)
        _expect_equal("reply", reply, b"t")
        _expect_equal("trailing metadata x-echo-trailing-bin",
                      _metadata_values(rpc.trailing_metadata(), "x-echo-trailing-bin"),
                      [NON_UTF8_BYTES])


@_check
def check_metadata_echo_all_methods(target):
    """Both echoes work on every method shape, streaming ones included."""
    md = (("x-echo-initial", "all"), ("x-echo-trailing-bin", NON_UTF8_BYTES),
          ("x-count", "2"))
    with channel(target) as ch:
        _, unary_call = _unary(ch).with_call(b"u", metadata=md, timeout=CALL_TIMEOUT_S)
        _, cs_call = ch.stream_unary(CLIENT_STREAM).with_call(
            iter([b"c"]), metadata=md, timeout=CALL_TIMEOUT_S)
        ss_call = ch.unary_stream(SERVER_STREAM)(b"s", metadata=md, timeout=CALL_TIMEOUT_S)
        _expect_equal("ServerStream messages", list(ss_call), [b"s#0", b"s#1"])
        bidi_call = ch.stream_stream(BIDI)(iter([b"b"]), metadata=md, timeout=CALL_TIMEOUT_S)
        _expect_equal("Bidi messages", list(bidi_call), [b"b"])
        for name, rpc in (("Unary", unary_call), ("ClientStream", cs_call),
                          ("ServerStream", ss_call), ("Bidi", bidi_call)):
            _expect_equal(name + " initial x-echo-initial",
                          _metadata_values(rpc.initial_metadata(), "x-echo-initial"),
                          ["all"])
            _expect_equal(name + " trailing x-echo-trailing-bin",
                          _metadata_values(rpc.trailing_metadata(), "x-echo-trailing-bin"),
                          [NON_UTF8_BYTES])


@_check
def check_status_echo(target):
    """x-echo-status 7 with a non-ASCII message ends the call with exactly that."""
    md = (("x-echo-status", "7"),
          ("x-echo-message-bin", SPECIAL_MESSAGE.encode("utf-8")),
          ("x-echo-trailing-bin", NON_UTF8_BYTES))
    with channel(target) as ch:
        err = _expect_rpc_error(
            "unary with x-echo-status 7",
            lambda: _unary(ch)(b"ignored", metadata=md, timeout=CALL_TIMEOUT_S),
            grpc.StatusCode.PERMISSION_DENIED)
        _expect_equal("status details", err.details(), SPECIAL_MESSAGE)
        # The trailing echo still applies on an error status.
        _expect_equal("trailing x-echo-trailing-bin on error",
                      _metadata_values(err.trailing_metadata(), "x-echo-trailing-bin"),
                      [NON_UTF8_BYTES])

        # A streaming method must send no message before the status.
        stream = ch.unary_stream(SERVER_STREAM)(b"x", metadata=md, timeout=CALL_TIMEOUT_S)
        got = []
        err = _expect_rpc_error("server stream with x-echo-status 7",
                                lambda: got.extend(stream), grpc.StatusCode.PERMISSION_DENIED)
        _expect_equal("server stream messages before error status", got, [])
        _expect_equal("server stream status details", err.details(), SPECIAL_MESSAGE)


@_check
def check_deadline_exceeded(target):
    """A 2 s server sleep under a 0.3 s deadline fails fast with DEADLINE_EXCEEDED."""
    with channel(target) as ch:
        call = _unary(ch)
        call(b"warm-up", timeout=CALL_TIMEOUT_S)  # keep connection setup out of the timing
        start = time.monotonic()
        _expect_rpc_error(
            "unary with x-sleep-ms 2000 and 0.3 s timeout",
            lambda: call(b"slow", metadata=(("x-sleep-ms", "2000"),), timeout=0.3),
            grpc.StatusCode.DEADLINE_EXCEEDED)
        elapsed = time.monotonic() - start
        if elapsed >= 1.5:
            raise AssertionError("DEADLINE_EXCEEDED took %.2f s, want < 1.5 s" % elapsed)


@_check
def check_unknown_method(target):
    """An unknown method of the known service is UNIMPLEMENTED."""
    with channel(target) as ch:
        _expect_rpc_error("/cgrpc.test.Echo/Nope",
                          lambda: _unary(ch, PREFIX + "Nope")(b"", timeout=CALL_TIMEOUT_S),
                          grpc.StatusCode.UNIMPLEMENTED)


@_check
def check_unknown_service(target):
    """A method of an unknown service is UNIMPLEMENTED."""
    with channel(target) as ch:
        _expect_rpc_error("/cgrpc.test.Nope/Unary",
                          lambda: _unary(ch, "/cgrpc.test.Nope/Unary")(b"", timeout=CALL_TIMEOUT_S),
                          grpc.StatusCode.UNIMPLEMENTED)


@_check
def check_cancel_server_stream(target):
    """Cancelling a long server stream after one message ends it CANCELLED."""
    with channel(target) as ch:
        responses = ch.unary_stream(SERVER_STREAM)(
            b"c", metadata=(("x-count", "1000"),), timeout=CALL_TIMEOUT_S)
        _expect_equal("first message", next(responses), b"c#0")
        responses.cancel()
        # Messages already buffered may or may not be delivered by grpcio; the
        # stream must in any case end in CANCELLED, well before 1000 messages.
        got = []
        _expect_rpc_error("server stream after cancel", lambda: got.extend(responses),
                          grpc.StatusCode.CANCELLED)
        _expect_equal("status code after cancel", responses.code(), grpc.StatusCode.CANCELLED)
        # The connection must survive a cancelled stream.
        _expect_equal("unary after cancel", _unary(ch)(b"alive", timeout=CALL_TIMEOUT_S),
                      b"alive")


@_check
def check_concurrent_unary(target, threads=8, calls_per_thread=50):
    """8 threads x 50 unary calls on one channel all get their own reply."""
    failures = []
    with channel(target) as ch:
        call = _unary(ch)

        def worker(t):
            for i in range(calls_per_thread):
                payload = b"thread-%d-call-%d" % (t, i)
                try:
                    reply = call(payload, timeout=CALL_TIMEOUT_S)
                except grpc.RpcError as err:
                    failures.append("%r: %s %s" % (payload, err.code(), err.details()))
                    return
                if reply != payload:
                    failures.append("%r: got %s" % (payload, _short(reply)))
                    return

        pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            # Each call is bounded by CALL_TIMEOUT_S, so this join is too.
            th.join(calls_per_thread * CALL_TIMEOUT_S)
    if failures:
        raise AssertionError("%d concurrent calls failed, first: %s"
                             % (len(failures), failures[0]))


# Every check, in a stable order, for drivers that run them all.
ALL_CHECKS = (
    check_unary_echo,
    check_server_stream,
    check_server_stream_default_count,
    check_client_stream,
    check_bidi_ping_pong,
    check_initial_metadata_echo,
    check_trailing_bin_echo,
    check_metadata_echo_all_methods,
    check_status_echo,
    check_deadline_exceeded,
    check_unknown_method,
    check_unknown_service,
    check_cancel_server_stream,
    check_concurrent_unary,
)
