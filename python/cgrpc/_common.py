"""Helpers shared by the client and the server side of the binding."""

from . import core
from ._status import CgrpcError

# Waits are sliced so the interpreter can run signal handlers (Ctrl-C)
# between slices; the GIL is released inside each slice.
WAIT_SLICE_MS = 200

EV_RECV = core.CGRPC_EVENT_RECV
EV_SEND = core.CGRPC_EVENT_SEND
EV_INITIAL_METADATA = core.CGRPC_EVENT_INITIAL_METADATA
EV_DONE = core.CGRPC_EVENT_DONE


def check(rc, what):
    if rc < 0:
        raise CgrpcError(rc, what)
    return rc


def to_bytes(value, what):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError("%s must be bytes or str, not %s" % (what, type(value).__name__))


def add_metadata(add, handle, metadata):
    """Feeds (key, value) pairs to a cgrpc_*_add_metadata function."""
    if not metadata:
        return
    for item in metadata:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise TypeError("metadata must be (key, value) pairs, got %r" % (item,))
        if not isinstance(key, str):
            raise TypeError("metadata key must be str, got %r" % (key,))
        if "\x00" in key:  # C strings would silently cut it short
            raise ValueError("invalid metadata key %r" % (key,))
        rc = add(handle, key, to_bytes(value, "metadata value"))
        if rc == core.CGRPC_E_METADATA:
            raise ValueError("invalid metadata %r: keys are lower-case [0-9a-z_.-], "
                             "values printable ASCII unless the key ends in -bin" % (key,))
        check(rc, "metadata")


def metadata_tuple(md):
    """A library metadata list as grpcio's tuple of (key, value)."""
    if md is None:
        return ()
    out = []
    for i in range(core.cgrpc_metadata_count(md)):
        key = core.cgrpc_metadata_key(md, i)
        value = core.cgb_metadata_value(md, i)
        if not key.endswith("-bin"):
            value = value.decode("latin-1")
        out.append((key, value))
    return tuple(out)


def wait(call_handle, mask, deadline_check=None):
    """Waits for an event in slices; returns the ready mask."""
    while True:
        rc, ready = core.cgrpc_call_wait(call_handle, mask, WAIT_SLICE_MS)
        if rc == 0:
            return ready
        if rc != core.CGRPC_E_TIMEOUT:
            check(rc, "wait")


def tls_credentials(create, roots, chain, key, override=None, skip_verify=False,
                    client_cert_mode=None):
    """Builds C TLS credentials with create (client or server)."""
    rc, o = core.cgrpc_tls_options_create()
    check(rc, "TLS options")
    try:
        if roots:
            check(core.cgrpc_tls_options_set_root_certs_pem(
                o, to_bytes(roots, "root_certificates")), "root certificates")
        if chain:
            check(core.cgrpc_tls_options_set_cert_chain_pem(
                o, to_bytes(chain, "certificate_chain")), "certificate chain")
            check(core.cgrpc_tls_options_set_private_key_pem(
                o, to_bytes(key, "private_key")), "private key")
        if override:
            check(core.cgrpc_tls_options_set_target_name_override(o, override),
                  "target name override")
        if skip_verify:
            core.cgrpc_tls_options_set_insecure_skip_verification(o, 1)
        if client_cert_mode is not None:
            check(core.cgrpc_tls_options_set_client_cert_mode(o, client_cert_mode),
                  "client auth")
        rc, creds = create(o)
        if rc == core.CGRPC_E_TLS:
            raise ValueError("invalid TLS credentials: %s" % core.cgrpc_last_error())
        check(rc, "TLS credentials")
        return creds
    finally:
        core.cgrpc_tls_options_destroy(o)


def recv(h):
    """The next message (bytes), or None at the end; the rc otherwise."""
    while True:
        rc, data = core.cgb_recv(h, WAIT_SLICE_MS)
        if rc == 0:
            return data
        if rc == core.CGRPC_DONE or rc == core.CGRPC_E_CANCELLED:
            return None
        if rc != core.CGRPC_E_TIMEOUT:
            check(rc, "recv")


def send(h, data, flags=0):
    """cgrpc_call_send after waiting in slices for space; returns its rc."""
    while True:
        rc = core.cgb_send(h, data, flags, WAIT_SLICE_MS)
        if rc != core.CGRPC_E_TIMEOUT:
            return rc
