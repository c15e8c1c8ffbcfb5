"""Threads sharing one cgrpc channel run their calls in parallel, over one
connection, against a cgrpc Python server running handlers in parallel."""

import threading
import time

import cgrpc
import cgrpc_test_support as support

THREADS = 16
SLEEP_S = 0.2
LIMIT_S = 1.6  # 16 serial calls would take 3.2 s


def _run_threads(fn, n):
    """Runs fn(i) on n threads released together; returns (results, wall)."""
    results = [None] * n
    errors = []
    barrier = threading.Barrier(n + 1, timeout=10)

    def worker(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as e:  # reported below
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join(30)
    wall = time.monotonic() - start
    assert not any(t.is_alive() for t in threads), "calls still running after 30 s"
    assert not errors, "calls failed: %r" % errors[:3]
    return results, wall


def test_threads_share_one_channel_against_cgrpc_python_server(pyserver):
    def slow_peer(request, context):
        time.sleep(SLEEP_S)
        return context.peer().encode()

    _, target = pyserver(
        [cgrpc.method_handlers_generic_handler(
            "cgrpctest.Par", {"SlowPeer": cgrpc.unary_unary_rpc_method_handler(slow_peer)})],
        max_workers=32)
    with cgrpc.insecure_channel(target) as ch:
        call = ch.unary_unary("/cgrpctest.Par/SlowPeer")
        peers, wall = _run_threads(lambda i: call(b"%d" % i, timeout=10), THREADS)
    assert wall < LIMIT_S, "%d calls of %.0f ms took %.2f s: not parallel" % (
        THREADS, SLEEP_S * 1000, wall)
    assert len(set(peers)) == 1, "calls used %d connections: %r" % (len(set(peers)), set(peers))
    assert peers[0].startswith(b"ipv4:127.0.0.1:"), peers[0]


def test_threads_share_one_channel_against_c_echo_server(c_echo):
    # The client side alone: the C server sleeps 200 ms per call.
    md = (("x-sleep-ms", str(int(SLEEP_S * 1000))),)
    with cgrpc.insecure_channel(c_echo.target) as ch:
        call = ch.unary_unary(support.UNARY)
        replies, wall = _run_threads(lambda i: call(b"r%d" % i, metadata=md, timeout=10),
                                     THREADS)
    assert replies == [b"r%d" % i for i in range(THREADS)]
    assert wall < LIMIT_S, "%d calls took %.2f s: not parallel" % (THREADS, wall)
