"""Server side: a grpcio-style server whose handlers run on the C core's
handler threads (one thread per RPC, bounded by max_workers)."""

import atexit
import threading
import time
import weakref

from . import core
from ._common import add_metadata, check, metadata_tuple, tls_credentials
from ._common import recv as recv_slices
from ._common import send as send_slices
from ._status import RpcError, StatusCode, code_to_int


class ServerCredentials:
    def __init__(self, pairs, root_certificates, require_client_auth):
        if not pairs:
            raise ValueError("ssl_server_credentials needs a (private_key, "
                             "certificate_chain) pair")
        self._key, self._chain = pairs[0]
        self._roots = root_certificates
        self._require = require_client_auth

    def _make(self):
        mode = None
        if self._roots:
            mode = (core.CGRPC_CLIENT_CERT_REQUIRE if self._require
                    else core.CGRPC_CLIENT_CERT_REQUEST)
        return tls_credentials(core.cgrpc_credentials_create_tls_server, self._roots,
                               self._chain, self._key, client_cert_mode=mode)


def ssl_server_credentials(private_key_certificate_chain_pairs, root_certificates=None,
                           require_client_auth=False):
    return ServerCredentials(list(private_key_certificate_chain_pairs), root_certificates,
                             require_client_auth)


class _Abort(Exception):
    """Raised by ServicerContext.abort() to unwind the handler."""


class _HandlerCallDetails:
    def __init__(self, method, invocation_metadata):
        self.method = method
        self.invocation_metadata = invocation_metadata


class ServicerContext:
    """What a handler gets next to its request (grpc.ServicerContext)."""

    def __init__(self, h, method, metadata):
        self._h = h
        self._method = method
        self._metadata = metadata
        self._code = None
        self._details = None
        self._trailing = None
        self._initial_sent = False
        self._callbacks = []

    def invocation_metadata(self):
        return self._metadata

    def peer(self):
        return core.cgrpc_call_peer(self._h)

    def auth_context(self):
        rc, md = core.cgrpc_call_auth_context(self._h)
        out = {}
        for key, value in metadata_tuple(md):
            out.setdefault(key, []).append(value.encode("latin-1")
                                           if isinstance(value, str) else value)
        return out

    def peer_identities(self):
        ctx = self.auth_context()
        ids = ctx.get("x509_subject_alternative_name") or ctx.get("x509_common_name")
        return ids or None

    def peer_identity_key(self):
        ctx = self.auth_context()
        if "x509_subject_alternative_name" in ctx:
            return "x509_subject_alternative_name"
        return "x509_common_name" if "x509_common_name" in ctx else None

    def time_remaining(self):
        ms = core.cgrpc_call_time_remaining(self._h)
        return None if ms < 0 else ms / 1000.0

    def is_active(self):
        return not core.cgrpc_call_is_cancelled(self._h)

    def cancel(self):
        core.cgrpc_call_cancel(self._h)

    def add_callback(self, callback):
        self._callbacks.append(callback)
        return True

    def send_initial_metadata(self, initial_metadata):
        rc, md = core.cgrpc_metadata_create()
        try:
            add_metadata(core.cgrpc_metadata_add, md, initial_metadata)
            rc = core.cgrpc_call_send_initial_metadata(self._h, md)
        finally:
            core.cgrpc_metadata_destroy(md)
        if rc == core.CGRPC_E_STATE:
            raise ValueError("initial metadata was already sent")
        self._initial_sent = True

    def set_trailing_metadata(self, trailing_metadata):
        self._trailing = tuple(trailing_metadata)

    def trailing_metadata(self):
        return self._trailing

    def set_code(self, code):
        self._code = code

    def code(self):
        return self._code

    def set_details(self, details):
        self._details = details

    def details(self):
        return self._details

    def abort(self, code, details):
        if code_to_int(code) == 0:
            raise ValueError("abort() needs a non-OK status code")
        self._code = code
        self._details = details
        raise _Abort()

    def abort_with_status(self, status):
        self._trailing = tuple(getattr(status, "trailing_metadata", ()) or ())
        self.abort(status.code, status.details)

    def disable_next_message_compression(self):
        pass

    def set_compression(self, compression):
        pass

    # -- used by the dispatcher --
    def _finish(self, code, details):
        if not self._trailing:
            core.cgrpc_call_finish(self._h, code_to_int(code), details or "", None)
        else:
            rc, md = core.cgrpc_metadata_create()
            try:
                add_metadata(core.cgrpc_metadata_add, md, self._trailing)
                core.cgrpc_call_finish(self._h, code_to_int(code), details or "", md)
            finally:
                core.cgrpc_metadata_destroy(md)
        for cb in self._callbacks:
            try:
                cb()
            except Exception:
                pass


def _recv(h):
    """Next request bytes, or None (half-closed or cancelled)."""
    return recv_slices(h)


def _send(h, data):
    rc = send_slices(h, data)
    if rc == core.CGRPC_E_TOO_LARGE:
        raise RpcError(StatusCode.RESOURCE_EXHAUSTED, "response larger than max")
    return rc == 0


class _BadRequest(Exception):
    pass


def _request_iterator(h, deserializer):
    while True:
        data = _recv(h)
        if data is None:
            return
        try:
            yield data if deserializer is None else deserializer(data)
        except Exception:
            raise _BadRequest()


def _run(h, mh, ctx):
    """Runs one RPC's behaviour; returns (code, details)."""
    de, ser = mh.request_deserializer, mh.response_serializer

    def serialize(response):
        return response if ser is None else ser(response)

    if not mh.request_streaming:
        data = _recv(h)
        if data is None:
            if core.cgrpc_call_is_cancelled(h):
                return None, None
            return StatusCode.INTERNAL, "no request message"
        try:
            request = data if de is None else de(data)
        except Exception:
            return StatusCode.INTERNAL, "Exception deserializing request!"
    else:
        request = _request_iterator(h, de)
    behaviour = {
        (False, False): mh.unary_unary, (False, True): mh.unary_stream,
        (True, False): mh.stream_unary, (True, True): mh.stream_stream,
    }[(bool(mh.request_streaming), bool(mh.response_streaming))]
    result = behaviour(request, ctx)
    if mh.response_streaming:
        for response in result or ():
            if not _send(h, serialize(response)):
                return None, None  # cancelled
    elif result is not None:
        if not _send(h, serialize(result)):
            return None, None
    elif ctx._code is None or code_to_int(ctx._code) == 0:
        return StatusCode.INTERNAL, "handler returned no response"
    return ctx._code or StatusCode.OK, ctx._details


_live_servers = weakref.WeakSet()


class Server:
    """A gRPC server with grpcio's interface."""

    def __init__(self, max_workers=None, handlers=None, options=None,
                 maximum_concurrent_rpcs=None):
        self._generic = list(handlers or ())
        self._registered = {}
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()
        self._handle = None
        rc, o = core.cgrpc_server_options_create()
        check(rc, "server options")
        try:
            check(core.cgrpc_server_options_set_max_threads(o, int(max_workers or 64)),
                  "max_workers")
            for key, value in options or ():
                if key == "grpc.max_receive_message_length":
                    core.cgrpc_server_options_set_max_recv_message_size(o, int(value))
                elif key == "grpc.max_send_message_length":
                    core.cgrpc_server_options_set_max_send_message_size(o, int(value))
                elif key == "grpc.max_concurrent_streams":
                    core.cgrpc_server_options_set_max_concurrent_streams(o, int(value))
            rc, h = core.cgrpc_server_create(o)
            check(rc, "server")
        finally:
            core.cgrpc_server_options_destroy(o)
        self._handle = h
        ref = weakref.ref(self)

        def dispatch(call):
            server = ref()
            if server is None:
                core.cgrpc_call_finish(call, 14, "server is gone", None)
            else:
                server._dispatch(call)

        check(core.cgb_server_set_dispatcher(h, dispatch), "dispatcher")
        _live_servers.add(self)

    # -- registration --
    def add_generic_rpc_handlers(self, generic_rpc_handlers):
        self._generic.extend(generic_rpc_handlers)

    def add_registered_method_handlers(self, service_name, method_handlers):
        for name, mh in method_handlers.items():
            self._registered["/%s/%s" % (service_name, name)] = mh

    def _add_port(self, address, creds):
        with self._state_lock:
            if self._started:
                raise RuntimeError("cannot add a port to a started server")
            rc, port = core.cgrpc_server_add_secure_listener(self._handle, address, creds)
        if rc in (core.CGRPC_E_ADDRESS, core.CGRPC_E_TARGET):
            raise RuntimeError("Failed to bind to address %s: %s"
                               % (address, core.cgrpc_last_error()))
        check(rc, "add port")
        return port

    def add_insecure_port(self, address):
        return self._add_port(address, None)

    def add_secure_port(self, address, server_credentials):
        creds = server_credentials._make()
        try:
            return self._add_port(address, creds)
        finally:
            core.cgrpc_credentials_destroy(creds)

    # -- lifecycle --
    def start(self):
        with self._state_lock:
            if self._started:
                raise RuntimeError("server already started")
            check(core.cgrpc_server_start(self._handle), "start")
            self._started = True

    def stop(self, grace):
        """Stops serving; returns an Event set once every RPC has ended."""
        grace_ms = -1 if grace is None else int(grace * 1000)
        if grace is None:
            grace_ms = 0
        with self._state_lock:
            h, self._handle = self._handle, None
        if h is None:
            return self._stopped

        def run():
            core.cgrpc_server_shutdown(h, grace_ms)
            core.cgrpc_server_destroy(h)
            self._stopped.set()

        threading.Thread(target=run, name="cgrpc-server-stop", daemon=True).start()
        return self._stopped

    def wait_for_termination(self, timeout=None):
        """True if the server stopped, False on timeout.  Waits in slices
        so Ctrl-C is seen."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.2 if end is None else min(0.2, end - time.monotonic())
            if left <= 0:
                return self._stopped.is_set()
            if self._stopped.wait(left):
                return True

    def __del__(self):
        try:
            if self._handle is not None:
                self.stop(None).wait(10)
        except Exception:
            pass

    # -- dispatch (runs on a C handler thread, with the GIL) --
    def _lookup(self, method, metadata):
        mh = self._registered.get(method)
        if mh is not None:
            return mh
        details = _HandlerCallDetails(method, metadata)
        for generic in self._generic:
            mh = generic.service(details)
            if mh is not None:
                return mh
        return None

    def _dispatch(self, h):
        method = core.cgrpc_call_method(h)
        rc, md = core.cgrpc_call_initial_metadata(h)
        metadata = metadata_tuple(md)
        ctx = ServicerContext(h, method, metadata)
        try:
            mh = self._lookup(method, metadata)
        except Exception as e:
            ctx._finish(StatusCode.UNKNOWN, "Exception servicing handler: %s" % e)
            return
        if mh is None:
            ctx._finish(StatusCode.UNIMPLEMENTED, "Method not found!")
            return
        try:
            code, details = _run(h, mh, ctx)
        except _Abort:
            code, details = ctx._code, ctx._details
        except _BadRequest:
            code, details = StatusCode.INTERNAL, "Exception deserializing request!"
        except RpcError as e:
            code, details = e.code(), e.details()
        except Exception as e:  # the application's error: UNKNOWN, that call only
            code = ctx._code if ctx._code not in (None, StatusCode.OK) else StatusCode.UNKNOWN
            details = ctx._details or "Exception calling application: %s" % e
        if code is None:  # cancelled: nothing to send
            ctx._finish(StatusCode.CANCELLED, "")
            return
        ctx._finish(code, details)


def server(thread_pool=None, handlers=None, interceptors=None, options=None,
           maximum_concurrent_rpcs=None, compression=None, xds=False, max_workers=None):
    """grpcio's grpc.server(): thread_pool's max_workers bounds the handler
    threads (cgrpc runs handlers on its own threads)."""
    if interceptors:
        raise NotImplementedError("cgrpc: server interceptors are not supported yet")
    if max_workers is None and thread_pool is not None:
        max_workers = getattr(thread_pool, "_max_workers", None)
    return Server(max_workers, handlers, options, maximum_concurrent_rpcs)


@atexit.register
def _stop_servers_at_exit():
    # From here no handler may enter Python; running ones are cancelled.
    core.cgb_python_exiting()
    events = [s.stop(None) for s in list(_live_servers)]
    for e in events:
        e.wait(5)
