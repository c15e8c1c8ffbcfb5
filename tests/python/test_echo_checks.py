"""The 14 interop echo checks, run with the cgrpc Python client against the
cgrpc C echo server and the grpcio reference echo server."""

import pytest

import cgrpc
import echo_client_lib as lib


@pytest.fixture(params=["cgrpc", "grpcio"])
def echo_target(request):
    # Session-wide server processes (conftest), picked by parameter.
    srv = request.getfixturevalue("c_echo" if request.param == "cgrpc" else "grpcio_echo")
    if srv.proc.poll() is not None:
        pytest.fail("%s echo server died earlier (exit %s)" % (request.param, srv.proc.returncode))
    return srv.target


@pytest.fixture
def cgrpc_client(monkeypatch):
    """Makes every check build its channel with cgrpc; records them."""
    made = []

    def channel(target):
        ch = cgrpc.insecure_channel(target)
        made.append(ch)
        return ch

    monkeypatch.setattr(lib, "channel", channel)
    return made


@pytest.mark.parametrize("check", lib.ALL_CHECKS, ids=lambda f: f.__name__[len("check_"):])
def test_echo_check_with_cgrpc_client(echo_target, cgrpc_client, check):
    check(echo_target)
    # The check really went through cgrpc, not grpcio.
    assert cgrpc_client, "the check made no channel through lib.channel"
    assert all(isinstance(ch, cgrpc.Channel) for ch in cgrpc_client)
