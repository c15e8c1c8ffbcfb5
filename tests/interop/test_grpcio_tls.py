"""grpcio clients against the cgrpc echo server over TLS and mutual TLS.

The certificates come from tests/tls/gen-certs.sh (CGRPC_TEST_CERTS, made by
`make test`).  The reverse direction (cgrpc client, grpcio TLS server) runs
in the C suite tests/c/test_tls.c.
"""

import os
from pathlib import Path

import grpc
import pytest

from port_process import PortProcess

REPO = Path(__file__).resolve().parents[2]
CERTS = Path(os.environ.get("CGRPC_TEST_CERTS", REPO / "build" / "test-certs"))
SERVER = Path(os.environ.get("CGRPC_ECHO_SERVER", REPO / "build" / "bin" / "echo_server"))
UNARY = "/cgrpc.test.Echo/Unary"
BIDI = "/cgrpc.test.Echo/Bidi"


def _read(name):
    return (CERTS / name).read_bytes()


class TlsServer:
    def __init__(self, mutual):
        if not (CERTS / "ca.pem").is_file():
            pytest.fail("no test certificates in %s (run make test)" % CERTS)
        if not SERVER.is_file():
            pytest.fail("cgrpc echo server missing at %s" % SERVER)
        cmd = [str(SERVER), "--host", "127.0.0.1", "--port", "0",
               "--tls-cert", str(CERTS / "server.pem"),
               "--tls-key", str(CERTS / "server.key")]
        if mutual:
            cmd += ["--client-ca", str(CERTS / "ca.pem")]
        self._p = PortProcess(cmd, "TLS echo_server")
        self.target = self._p.target

    def stop(self):
        self._p.stop()


@pytest.fixture
def tls_server():
    srv = TlsServer(mutual=False)
    yield srv
    srv.stop()


@pytest.fixture
def mtls_server():
    srv = TlsServer(mutual=True)
    yield srv
    srv.stop()


def _channel(target, client_cert=None, override=None):
    key = chain = None
    if client_cert:
        key, chain = _read(client_cert + ".key"), _read(client_cert + ".pem")
    creds = grpc.ssl_channel_credentials(_read("ca.pem"), key, chain)
    opts = [("grpc.enable_http_proxy", 0)]
    if override:
        opts.append(("grpc.ssl_target_name_override", override))
    return grpc.secure_channel(target, creds, options=opts)


def test_unary_and_bidi_over_tls(tls_server):
    with _channel(tls_server.target) as ch:
        assert ch.unary_unary(UNARY)(b"over tls", timeout=5) == b"over tls"
        replies = list(ch.stream_stream(BIDI)(iter([b"a", b"bb", b"ccc"]), timeout=5))
        assert replies == [b"a", b"bb", b"ccc"]
    # The certificate also carries localhost and *.test.google.fr.
    with _channel(tls_server.target, override="foo.test.google.fr") as ch:
        assert ch.unary_unary(UNARY)(b"x", timeout=5) == b"x"


def test_wrong_name_is_refused(tls_server):
    with _channel(tls_server.target, override="wrong.example") as ch:
        with pytest.raises(grpc.RpcError) as err:
            ch.unary_unary(UNARY)(b"x", timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls(mtls_server):
    with _channel(mtls_server.target, client_cert="client") as ch:
        assert ch.unary_unary(UNARY)(b"mtls", timeout=5) == b"mtls"
    for bad in (None, "other-client"):
        with _channel(mtls_server.target, client_cert=bad) as ch:
            with pytest.raises(grpc.RpcError) as err:
                ch.unary_unary(UNARY)(b"x", timeout=5)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE, bad
    # Refused clients do not disturb the server.
    with _channel(mtls_server.target, client_cert="client") as ch:
        assert ch.unary_unary(UNARY)(b"again", timeout=5) == b"again"


def test_plaintext_client_on_tls_port(tls_server):
    with grpc.insecure_channel(tls_server.target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            ch.unary_unary(UNARY)(b"x", timeout=3)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    with _channel(tls_server.target) as ch:
        assert ch.unary_unary(UNARY)(b"still", timeout=5) == b"still"
