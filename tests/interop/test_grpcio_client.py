"""grpcio client against each echo server: the grpcio reference and cgrpc.

The grpcio server is the control: a check failing against both points at the
check, failing only against cgrpc points at cgrpc.

Environment:
  CGRPC_ECHO_SERVER           path of the C echo server
                              (default <repo>/build/bin/echo_server)
  CGRPC_ALLOW_MISSING_SERVER  "1": skip the cgrpc cases when that binary is
                              missing, instead of failing them (a missing
                              build must not pass CI silently)
"""

import os
import signal
import socket
import sys
from pathlib import Path

import pytest

import echo_client_lib as lib
from port_process import STOP_TIMEOUT_S, PortProcess

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GRPCIO_SERVER = HERE / "echo_grpcio_server.py"
SERVERS = ("grpcio", "cgrpc")


def _server_command(kind, host):
    if kind == "grpcio":
        return [sys.executable, str(GRPCIO_SERVER), "--port", "0", "--host", host]
    binary = Path(os.environ.get("CGRPC_ECHO_SERVER", REPO / "build" / "bin" / "echo_server"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        message = "cgrpc echo server not found at %s (build it, or set CGRPC_ECHO_SERVER)" % binary
        if os.environ.get("CGRPC_ALLOW_MISSING_SERVER") == "1":
            pytest.skip(message)
        pytest.fail(message)
    return [str(binary), "--port", "0", "--host", host]


class RunningServer(PortProcess):
    """An echo server process of one kind that has announced its port."""

    def __init__(self, kind, host):
        self.kind = kind
        super().__init__(_server_command(kind, host), "%s server" % kind, host)


def _ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# One server per kind for the whole module: starting a process per test would
# dominate the run time, and the checks do not depend on each other's state.
@pytest.fixture(scope="module", params=SERVERS)
def server(request):
    srv = RunningServer(request.param, "127.0.0.1")
    yield srv
    srv.stop()


@pytest.mark.parametrize("check", lib.ALL_CHECKS, ids=lambda f: f.__name__[len("check_"):])
def test_check(server, check):
    if server.proc.poll() is not None:
        pytest.fail("%s server died earlier (exit code %s)" % (server.kind, server.proc.returncode))
    check(server.target)


@pytest.mark.parametrize("kind", SERVERS)
def test_unary_over_ipv6(kind):
    if not _ipv6_loopback_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    srv = RunningServer(kind, "::1")
    try:
        lib.check_unary_echo(srv.target)
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", SERVERS)
def test_exits_zero_on_sigterm(kind):
    # CI must be able to stop servers cleanly; a non-zero exit here usually
    # means the signal was not handled (killed by SIGTERM gives -15).
    srv = RunningServer(kind, "127.0.0.1")
    lib.check_unary_echo(srv.target)  # serve at least one call first
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(STOP_TIMEOUT_S)
    finally:
        srv.stop()
    assert code == 0, "%s server exited with %s after SIGTERM, want 0" % (kind, code)
