"""The unary future(): a grpc.Future that can cancel its RPC."""

import time

import grpc
import pytest

import cgrpc
import cgrpc_test_support as support


def test_future_result_and_call_surface(c_echo):
    with cgrpc.insecure_channel(c_echo.target) as ch:
        unary = ch.unary_unary(support.UNARY)
        fut = unary.future(b"f", metadata=(("x-echo-initial", "i"),), timeout=5)
        assert fut.result(5) == b"f"
        assert fut.done() and not fut.cancelled()
        assert fut.code() == grpc.StatusCode.OK
        assert ("x-echo-initial", "i") in fut.initial_metadata()
        fut = unary.future(b"e", metadata=(("x-echo-status", "5"),), timeout=5)
        with pytest.raises(grpc.RpcError) as info:
            fut.result(5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert fut.code() == grpc.StatusCode.NOT_FOUND
        seen = []
        fut = unary.future(b"cb", timeout=5)
        fut.add_done_callback(lambda f: seen.append(f.result()))
        fut.result(5)
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == [b"cb"]


def test_future_cancel_cancels_running_rpc(c_echo):
    with cgrpc.insecure_channel(c_echo.target) as ch:
        unary = ch.unary_unary(support.UNARY)
        unary(b"warm", timeout=5)
        fut = unary.future(b"x", metadata=(("x-sleep-ms", "3000"),), timeout=10)
        time.sleep(0.3)
        start = time.monotonic()
        assert fut.cancel() is True
        assert fut.cancelled()
        with pytest.raises(grpc.FutureCancelledError):
            fut.result(5)
        assert time.monotonic() - start < 1.0
