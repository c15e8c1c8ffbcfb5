"""Wrong arguments raise TypeError or ValueError (never crash the process),
closed channels refuse calls, unknown channel options warn but work."""

import grpc
import pytest

import cgrpc
import cgrpc_test_support as support


@pytest.fixture
def ch(c_echo):
    with cgrpc.insecure_channel(c_echo.target) as channel:
        yield channel


@pytest.mark.parametrize("target", [123, b"127.0.0.1:1", None, ("127.0.0.1", 1)],
                         ids=["int", "bytes", "None", "tuple"])
def test_target_not_str(target):
    with pytest.raises(TypeError):
        cgrpc.insecure_channel(target)


@pytest.mark.parametrize("target", ["", "no target::::"], ids=["empty", "garbage"])
def test_invalid_target(target):
    with pytest.raises(ValueError):
        cgrpc.insecure_channel(target)


@pytest.mark.parametrize("metadata", [
    "abc", ("x-a",), [("x-a", "1", "2")], [1], [("x-a", 5)], [(b"x-a", "v")], [("x-a", None)],
], ids=["str", "flat", "triple", "int-item", "int-value", "bytes-key", "None-value"])
def test_metadata_not_pairs(ch, metadata):
    with pytest.raises((TypeError, ValueError)):
        ch.unary_unary(support.UNARY)(b"x", metadata=metadata, timeout=5)
    # The channel is unharmed.
    assert ch.unary_unary(support.UNARY)(b"ok", timeout=5) == b"ok"


@pytest.mark.parametrize("key,value", [
    ("X-Upper", "v"), ("x key", "v"), ("", "v"), ("x-k", "caf\u00e9"), ("x-k", "a\nb"),
    (":path", "/x"),
], ids=["uppercase", "space", "empty", "non-ascii-value", "newline-value", "pseudo-header"])
def test_invalid_metadata(ch, key, value):
    for call in (lambda md: ch.unary_unary(support.UNARY)(b"x", metadata=md, timeout=5),
                 lambda md: list(ch.unary_stream(support.SERVER_STREAM)(b"x", metadata=md,
                                                                        timeout=5))):
        with pytest.raises(ValueError):
            call(((key, value),))


def test_metadata_key_with_nul_is_rejected(ch):
    with pytest.raises(ValueError):
        ch.unary_unary(support.UNARY)(b"x", metadata=(("x-echo-initial\x00junk", "v"),),
                                      timeout=5)


def test_method_with_nul_is_rejected(ch):
    with pytest.raises((ValueError, TypeError)):
        ch.unary_unary(support.UNARY + "\x00junk")(b"x", timeout=5)


@pytest.mark.parametrize("request_", [123, None, object(), [b"x"]],
                         ids=["int", "None", "object", "list"])
def test_non_bytes_request_without_serializer(ch, request_):
    with pytest.raises(TypeError):
        ch.unary_unary(support.UNARY)(request_, timeout=5)
    with pytest.raises(TypeError):
        ch.unary_stream(support.SERVER_STREAM)(request_, timeout=5)
    with pytest.raises(TypeError):
        ch.unary_unary(support.UNARY).future(request_, timeout=5).result(5)


def test_bad_request_in_request_stream_fails_that_call(ch):
    # As grpcio: the request iterator's error ends the call (UNKNOWN).
    with pytest.raises(grpc.RpcError) as info:
        ch.stream_unary(support.CLIENT_STREAM)(iter([b"a", 5]), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert ch.stream_unary(support.CLIENT_STREAM)(iter([b"a", b"b"]), timeout=5) == b"ab"


@pytest.mark.parametrize("method", [5, b"/cgrpc.test.Echo/Unary", None, "no-slash"],
                         ids=["int", "bytes", "None", "no-slash"])
def test_bad_method(ch, method):
    with pytest.raises((TypeError, ValueError)):
        ch.unary_unary(method)(b"x", timeout=5)


def test_bad_timeout_type(ch):
    with pytest.raises(TypeError):
        ch.unary_unary(support.UNARY)(b"x", timeout="5")


def test_bad_credentials():
    with pytest.raises(TypeError):
        cgrpc.secure_channel("127.0.0.1:1", None)
    with pytest.raises(TypeError):
        cgrpc.secure_channel("127.0.0.1:1", grpc.ssl_channel_credentials())
    with pytest.raises(ValueError):
        cgrpc.ssl_channel_credentials(private_key=b"key only")
    with pytest.raises(ValueError):
        cgrpc.secure_channel("127.0.0.1:1",
                             cgrpc.ssl_channel_credentials(root_certificates=b"not a PEM"))
    with pytest.raises(TypeError):
        cgrpc.secure_channel("127.0.0.1:1", cgrpc.ssl_channel_credentials(root_certificates=5))


def test_bad_server_arguments():
    srv = cgrpc.server(max_workers=2)
    with pytest.raises(RuntimeError):
        srv.add_insecure_port("not-an-address")
    with pytest.raises(TypeError):
        srv.add_insecure_port(5)
    with pytest.raises(ValueError):
        cgrpc.ssl_server_credentials([])
    with pytest.raises(ValueError):
        srv.add_secure_port("127.0.0.1:0", cgrpc.ssl_server_credentials([(b"k", b"c")]))
    srv.stop(0).wait(5)


def test_closed_channel_raises_value_error(c_echo):
    ch = cgrpc.insecure_channel(c_echo.target)
    unary = ch.unary_unary(support.UNARY)
    assert unary(b"open", timeout=5) == b"open"
    ch.close()
    ch.close()  # twice is fine
    with pytest.raises(ValueError):
        unary(b"x", timeout=5)
    with pytest.raises(ValueError):
        ch.unary_unary(support.UNARY)(b"x", timeout=5)
    with pytest.raises(ValueError):
        ch.unary_stream(support.SERVER_STREAM)(b"x", timeout=5)
    with pytest.raises(ValueError):
        ch.stream_unary(support.CLIENT_STREAM)(iter([b"x"]), timeout=5)
    with pytest.raises(ValueError):
        ch.stream_stream(support.BIDI)(iter([b"x"]), timeout=5)
    with pytest.raises(ValueError):
        unary.future(b"x", timeout=5).result(5)


def test_channel_as_context_manager_closes(c_echo):
    with cgrpc.insecure_channel(c_echo.target) as ch:
        unary = ch.unary_unary(support.UNARY)
        assert unary(b"in", timeout=5) == b"in"
    with pytest.raises(ValueError):
        unary(b"out", timeout=5)


def test_unknown_channel_option_warns_but_works(c_echo):
    with pytest.warns(UserWarning, match="grpc.cgrpc_test_no_such_option"):
        ch = cgrpc.insecure_channel(
            c_echo.target, options=[("grpc.cgrpc_test_no_such_option", 1),
                                    ("grpc.max_receive_message_length", 8 << 20)])
    with ch:
        assert ch.unary_unary(support.UNARY)(b"warned", timeout=5) == b"warned"


def test_known_channel_options_do_not_warn(c_echo, recwarn):
    with cgrpc.insecure_channel(c_echo.target, options=[
            ("grpc.enable_http_proxy", 0), ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", 8 << 20)]) as ch:
        assert ch.unary_unary(support.UNARY)(b"quiet", timeout=5) == b"quiet"
    assert not [w for w in recwarn if "channel option" in str(w.message)]


@pytest.mark.parametrize("options", [["x"], [("grpc.max_receive_message_length", "abc")]],
                         ids=["not-pair", "bad-int"])
def test_bad_channel_option_values(c_echo, options):
    with pytest.raises((TypeError, ValueError)):
        cgrpc.insecure_channel(c_echo.target, options=options)
