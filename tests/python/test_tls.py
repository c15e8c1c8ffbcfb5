"""TLS and mutual TLS: the cgrpc Python client against the C echo server,
and the cgrpc Python server against a grpcio TLS client."""

import grpc
import pytest

import cgrpc
import cgrpc_test_support as support


def _read(certs, name):
    return (certs / name).read_bytes()


@pytest.fixture(scope="module")
def tls_echo():
    certs = support.certs_dir()
    srv = support.EchoProcess("--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def mtls_echo():
    certs = support.certs_dir()
    srv = support.EchoProcess("--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key",
                              "--client-ca", certs / "ca.pem")
    yield srv
    srv.stop()


def _unary(ch, payload=b"tls", **kw):
    return ch.unary_unary(support.UNARY)(payload, timeout=5, **kw)


def _code(fn):
    with pytest.raises(cgrpc.RpcError) as info:
        fn()
    return info.value.code()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_secure_channel_to_c_echo_server(tls_echo, certs, host):
    creds = cgrpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"))
    with cgrpc.secure_channel("%s:%d" % (host, tls_echo.port), creds) as ch:
        assert _unary(ch) == b"tls"
        big = bytes(range(256)) * 1024
        assert _unary(ch, big) == big
        assert list(ch.stream_stream(support.BIDI)(iter([b"a", b"b"]), timeout=5)) == [b"a", b"b"]


def test_secure_channel_rejects_untrusted_server(tls_echo, certs):
    # Roots from an unrelated CA: the handshake must fail.
    creds = cgrpc.ssl_channel_credentials(root_certificates=_read(certs, "other-ca.pem"))
    with cgrpc.secure_channel(tls_echo.target, creds) as ch:
        assert _code(lambda: _unary(ch)) == grpc.StatusCode.UNAVAILABLE


def test_insecure_channel_to_tls_server_fails(tls_echo):
    with cgrpc.insecure_channel(tls_echo.target) as ch:
        assert _code(lambda: _unary(ch)) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_with_client_certificate(mtls_echo, certs):
    creds = cgrpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"),
                                          private_key=_read(certs, "client.key"),
                                          certificate_chain=_read(certs, "client.pem"))
    with cgrpc.secure_channel(mtls_echo.target, creds) as ch:
        assert _unary(ch, b"mutual") == b"mutual"


def test_mutual_tls_without_client_certificate_is_unavailable(mtls_echo, certs):
    creds = cgrpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"))
    with cgrpc.secure_channel(mtls_echo.target, creds) as ch:
        assert _code(lambda: _unary(ch)) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_with_untrusted_client_certificate_is_unavailable(mtls_echo, certs):
    creds = cgrpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"),
                                          private_key=_read(certs, "other-client.key"),
                                          certificate_chain=_read(certs, "other-client.pem"))
    with cgrpc.secure_channel(mtls_echo.target, creds) as ch:
        assert _code(lambda: _unary(ch)) == grpc.StatusCode.UNAVAILABLE


def _whoami(request, context):
    ctx = context.auth_context()
    names = ctx.get("x509_common_name") or [b"-"]
    return request + b"|" + names[0]


WHOAMI = [cgrpc.method_handlers_generic_handler(
    "cgrpctest.Tls", {"WhoAmI": cgrpc.unary_unary_rpc_method_handler(_whoami)})]


def test_cgrpc_server_with_grpcio_tls_client(pyserver, certs):
    server_creds = cgrpc.ssl_server_credentials(
        [(_read(certs, "server.key"), _read(certs, "server.pem"))])
    srv, target = pyserver(WHOAMI, credentials=server_creds)
    creds = grpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"))
    with grpc.secure_channel(target, creds, options=[("grpc.enable_http_proxy", 0)]) as ch:
        assert ch.unary_unary("/cgrpctest.Tls/WhoAmI")(b"hi", timeout=5) == b"hi|-"
    # The port really is TLS: a plaintext grpcio client cannot use it.
    with support.grpcio_channel(target) as ch:
        with pytest.raises(grpc.RpcError) as info:
            ch.unary_unary("/cgrpctest.Tls/WhoAmI")(b"hi", timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_cgrpc_server_mutual_tls_with_grpcio_client(pyserver, certs):
    server_creds = cgrpc.ssl_server_credentials(
        [(_read(certs, "server.key"), _read(certs, "server.pem"))],
        root_certificates=_read(certs, "ca.pem"), require_client_auth=True)
    _, target = pyserver(WHOAMI, credentials=server_creds)
    opts = [("grpc.enable_http_proxy", 0)]
    creds = grpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"),
                                         private_key=_read(certs, "client.key"),
                                         certificate_chain=_read(certs, "client.pem"))
    with grpc.secure_channel(target, creds, options=opts) as ch:
        reply = ch.unary_unary("/cgrpctest.Tls/WhoAmI")(b"hi", timeout=5)
    assert reply == b"hi|cgrpc-test-client"
    no_cert = grpc.ssl_channel_credentials(root_certificates=_read(certs, "ca.pem"))
    with grpc.secure_channel(target, no_cert, options=opts) as ch:
        with pytest.raises(grpc.RpcError) as info:
            ch.unary_unary("/cgrpctest.Tls/WhoAmI")(b"hi", timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
