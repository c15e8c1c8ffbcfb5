"""Object lifetimes: calls keep their channel alive, close() ends running
calls, and the interpreter exits cleanly with calls and servers still busy."""

import gc
import threading
import time
import weakref

import grpc
import pytest

import cgrpc
import cgrpc_test_support as support


def test_response_iterator_outlives_deleted_channel(c_echo):
    ch = cgrpc.insecure_channel(c_echo.target)
    ref = weakref.ref(ch)
    responses = ch.unary_stream(support.SERVER_STREAM)(
        b"gc", metadata=(("x-count", "5"), ("x-sleep-ms", "100")), timeout=10)
    del ch
    gc.collect()
    assert ref() is not None, "the channel was collected under a running call"
    assert list(responses) == [b"gc#%d" % i for i in range(5)]
    assert responses.code() == grpc.StatusCode.OK
    del responses
    gc.collect()
    assert ref() is None, "the channel is still alive after its only call ended"


def test_bidi_and_future_outlive_deleted_channel(c_echo):
    ch = cgrpc.insecure_channel(c_echo.target)
    bidi = ch.stream_stream(support.BIDI)(iter([b"a", b"b"]), timeout=10)
    fut = ch.unary_unary(support.UNARY).future(
        b"f", metadata=(("x-sleep-ms", "100"),), timeout=10)
    del ch
    gc.collect()
    assert list(bidi) == [b"a", b"b"]
    assert fut.result(10) == b"f"


def _ticker(grpcio_server):
    """A grpcio server whose Tick stream sends a message every 20 ms for up
    to 10 s, stopping early once the client goes away."""
    def tick(request, context):
        for i in range(500):
            if not context.is_active():
                return
            yield b"t%d" % i
            time.sleep(0.02)

    def setup(srv):
        srv.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "cgrpctest.Tick", {"Tick": grpc.unary_stream_rpc_method_handler(tick)})])

    return grpcio_server(setup)


def test_close_cancels_stream_iterated_by_another_thread(grpcio_server):
    target = _ticker(grpcio_server)
    ch = cgrpc.insecure_channel(target)
    responses = ch.unary_stream("/cgrpctest.Tick/Tick")(b"", timeout=20)
    got, outcome = [], {}
    three = threading.Event()

    def iterate():
        try:
            for msg in responses:
                got.append(msg)
                if len(got) == 3:
                    three.set()
            outcome["end"] = "finished OK"
        except cgrpc.RpcError as e:
            outcome["end"] = e
        except BaseException as e:  # noqa: B902 - reported below
            outcome["end"] = e
        outcome["at"] = time.monotonic()

    t = threading.Thread(target=iterate, daemon=True)
    t.start()
    assert three.wait(10), "stream delivered no messages"
    closed_at = time.monotonic()
    ch.close()
    close_took = time.monotonic() - closed_at
    t.join(5)
    assert not t.is_alive(), "iterator still blocked 5 s after channel.close()"
    end = outcome["end"]
    assert isinstance(end, cgrpc.RpcError), "iteration ended with %r" % (end,)
    assert end.code() == grpc.StatusCode.CANCELLED, end
    assert outcome["at"] - closed_at < 1.0, "CANCELLED took %.2f s" % (outcome["at"] - closed_at)
    assert close_took < 1.0, "close() took %.2f s" % close_took
    assert len(got) < 400


EXIT_CHILD = r"""
import sys, threading, time
import cgrpc
scenario = sys.argv[1]
entered = threading.Event()

if scenario == "client_only":
    # No server in this process: a call to the C echo server sleeping 10 s.
    ch = cgrpc.insecure_channel(sys.argv[2])
    call = ch.unary_unary("/cgrpc.test.Echo/Unary")
    call(b"warm", timeout=10)
    threading.Thread(target=lambda: call(b"x", metadata=(("x-sleep-ms", "10000"),),
                                         timeout=60), daemon=True).start()
    time.sleep(0.3)
    print("EXITING", flush=True)
    sys.exit(0)

def blocked(request, context):
    entered.set()
    time.sleep(30)
    return request

srv = cgrpc.server(max_workers=4)
srv.add_generic_rpc_handlers([cgrpc.method_handlers_generic_handler(
    "cgrpctest.Exit", {"Block": cgrpc.unary_unary_rpc_method_handler(blocked)})])
port = srv.add_insecure_port("127.0.0.1:0")
srv.start()
ch = cgrpc.insecure_channel("127.0.0.1:%d" % port)

def client():
    try:
        ch.unary_unary("/cgrpctest.Exit/Block")(b"x", timeout=60)
    except Exception:
        pass

if scenario == "daemon_thread":
    threading.Thread(target=client, daemon=True).start()
elif scenario == "open_stream":
    # A response iterator left open in a global, no thread at all.
    stream = ch.stream_stream("/cgrpctest.Exit/Block")(iter([b"x"]), timeout=60)
    threading.Thread(target=lambda: next(stream, None), daemon=True).start()
if not entered.wait(10):
    print("HANDLER NEVER RAN", flush=True)
    sys.exit(3)
print("EXITING", flush=True)
"""


@pytest.mark.parametrize("scenario", ["daemon_thread", "open_stream", "client_only"])
def test_interpreter_exits_with_busy_server_and_call(scenario, c_echo):
    # The interpreter exits without closing the channel, stopping the server
    # or finishing the RPC whose handler is sleeping.
    proc = support.start_python(EXIT_CHILD, scenario, c_echo.target)
    start = time.monotonic()
    code, out, err = support.finish(proc, 10.0)
    took = time.monotonic() - start
    err = err.decode(errors="replace")
    assert code is not None, "did not exit within 10 s (killed); stderr: %s" % err
    assert b"EXITING" in out, "stdout %r stderr %s" % (out, err)
    assert "Segmentation fault" not in err and "Fatal Python error" not in err, err
    assert code == 0, "exit code %s after %.1f s; stderr: %s" % (code, took, err)
