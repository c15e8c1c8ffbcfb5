"""Ctrl-C interrupts a blocking cgrpc call with KeyboardInterrupt."""

import signal
import time

import pytest

import cgrpc_test_support as support

# The child blocks in one call on a server that sleeps 10 s before replying.
CHILD = r"""
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if SIGINT was ignored
import cgrpc
target, kind = sys.argv[1], sys.argv[2]
E = "/cgrpc.test.Echo/"
md = (("x-sleep-ms", "10000"),)
ch = cgrpc.insecure_channel(target)
ch.unary_unary(E + "Unary")(b"warm", timeout=10)  # connected, so only the call blocks
print("CALLING", flush=True)
if kind == "unary":
    ch.unary_unary(E + "Unary")(b"x", metadata=md, timeout=30)
elif kind == "server_stream":
    next(ch.unary_stream(E + "ServerStream")(b"x", metadata=md, timeout=30))
elif kind == "client_stream":
    ch.stream_unary(E + "ClientStream")(iter([b"a", b"b"]), metadata=md, timeout=30)
elif kind == "bidi":
    next(ch.stream_stream(E + "Bidi")(iter([b"a"]), metadata=md, timeout=30))
elif kind == "future":
    ch.unary_unary(E + "Unary").future(b"x", metadata=md, timeout=30).result()
print("RETURNED", flush=True)
"""


@pytest.mark.parametrize("kind", [
    "unary", "server_stream", "client_stream", "bidi",
    "future",
])
def test_sigint_interrupts_blocking_call(c_echo, kind):
    proc = support.start_python(CHILD, c_echo.target, kind)
    try:
        line = support.read_line(proc, 10)
        assert line == b"CALLING\n", "child did not get to the call: %r" % line
        time.sleep(0.5)
        assert proc.poll() is None, "the call returned before the 10 s server sleep"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code, out, err = support.finish(proc, 2.0)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = err.decode(errors="replace")
    assert code is not None, "child still running 2 s after SIGINT (killed); stderr: %s" % err
    assert code != 0, "child exited 0 after SIGINT; stdout %r" % out
    assert "KeyboardInterrupt" in err, "no KeyboardInterrupt in stderr: %s" % err
    assert b"RETURNED" not in out
    assert took < 2.0
