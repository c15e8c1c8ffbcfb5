"""Shared fixtures for the cgrpc Python binding suite.

Environment (all optional, the Makefile's test-python target sets them):
  CGRPC_ECHO_SERVER  the C echo server (default <repo>/build/bin/echo_server)
  CGRPC_TEST_CERTS   the test PKI from tests/tls/gen-certs.sh
                     (default <repo>/build/test-certs)
"""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# The interop helpers (echo checks, the server-process wrapper) live next
# door; the binding itself is under python/.
for _p in (REPO / "tests" / "interop", REPO / "python", HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import cgrpc  # noqa: E402
import cgrpc_test_support as support  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "wheel: builds the cgrpc wheel with `pip wheel` (runs by default; "
        "deselect with -m 'not wheel' when offline)")


@pytest.fixture(scope="session")
def c_echo():
    """The C echo server (plaintext), one process for the whole session."""
    srv = support.RunningServer("cgrpc", "127.0.0.1")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def grpcio_echo():
    """The grpcio reference echo server, one process for the whole session."""
    srv = support.RunningServer("grpcio", "127.0.0.1")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def certs():
    return support.certs_dir()


@pytest.fixture
def pyserver():
    """Factory: start(handlers, ...) -> (server, target) for a cgrpc Python
    server on 127.0.0.1; every server started is stopped at teardown."""
    started = []

    def start(handlers=(), credentials=None, max_workers=16, setup=None):
        srv = cgrpc.server(max_workers=max_workers)
        if handlers:
            srv.add_generic_rpc_handlers(handlers)
        if setup is not None:
            setup(srv)
        if credentials is None:
            port = srv.add_insecure_port("127.0.0.1:0")
        else:
            port = srv.add_secure_port("127.0.0.1:0", credentials)
        assert port > 0
        srv.start()
        started.append(srv)
        return srv, "127.0.0.1:%d" % port

    yield start
    events = [s.stop(0) for s in started]
    for e in events:
        assert e.wait(10), "cgrpc server did not stop within 10 s"


@pytest.fixture
def grpcio_server():
    """Factory: start(setup) -> target for an in-process grpcio server;
    setup(server) registers handlers.  Stopped at teardown."""
    import grpc
    from concurrent import futures

    started = []

    def start(setup, credentials=None):
        srv = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        setup(srv)
        if credentials is None:
            port = srv.add_insecure_port("127.0.0.1:0")
        else:
            port = srv.add_secure_port("127.0.0.1:0", credentials)
        srv.start()
        started.append(srv)
        return "127.0.0.1:%d" % port

    yield start
    for s in started:
        s.stop(0).wait(10)
