"""Client side: credentials, channels, multi-callables and call objects."""

import math
import threading
import time
import warnings

from . import core
from ._common import (EV_DONE, EV_INITIAL_METADATA, add_metadata, check, metadata_tuple,
                      tls_credentials, to_bytes, wait)
from ._common import recv as recv_slices
from ._common import send as send_slices
from ._status import (CgrpcError, EndedCall, FutureCancelledError, FutureTimeoutError,
                      RpcError, StatusCode, code_from_int)


class ChannelCredentials:
    """TLS settings for a channel (grpcio's ChannelCredentials)."""

    def __init__(self, root_certificates=None, private_key=None, certificate_chain=None,
                 insecure_skip_verify=False):
        if (private_key is None) != (certificate_chain is None):
            raise ValueError("private_key and certificate_chain go together")
        self._roots = root_certificates
        self._key = private_key
        self._chain = certificate_chain
        self._skip = insecure_skip_verify

    def _make(self, override=None):
        return tls_credentials(core.cgrpc_credentials_create_tls_client, self._roots,
                               self._chain, self._key, override=override,
                               skip_verify=self._skip)


def ssl_channel_credentials(root_certificates=None, private_key=None, certificate_chain=None):
    """TLS credentials; None roots mean the system's CA certificates."""
    return ChannelCredentials(root_certificates, private_key, certificate_chain)


_IGNORED_OPTIONS = {
    "grpc.enable_http_proxy", "grpc.enable_retries", "grpc.so_reuseport",
    "grpc.service_config", "grpc.lb_policy_name", "grpc.enable_channelz",
    "grpc.use_local_subchannel_pool", "grpc.http2.max_pings_without_data",
}


def _apply_options(o, options):
    backoff = {}
    override = None
    for item in options or ():
        key, value = item
        if key == "grpc.max_receive_message_length":
            check(core.cgrpc_channel_options_set_max_recv_message_size(o, int(value)), key)
        elif key == "grpc.max_send_message_length":
            check(core.cgrpc_channel_options_set_max_send_message_size(o, int(value)), key)
        elif key == "grpc.default_authority":
            check(core.cgrpc_channel_options_set_authority(o, str(value)), key)
        elif key == "grpc.primary_user_agent":
            check(core.cgrpc_channel_options_set_user_agent(o, str(value)), key)
        elif key == "grpc.ssl_target_name_override":
            override = str(value)
        elif key == "grpc.min_reconnect_backoff_ms":
            check(core.cgrpc_channel_options_set_connect_timeout(o, int(value)), key)
        elif key in ("grpc.initial_reconnect_backoff_ms", "grpc.max_reconnect_backoff_ms"):
            backoff[key] = int(value)
        elif key in _IGNORED_OPTIONS:
            pass
        else:
            warnings.warn("cgrpc: ignoring unknown channel option %r" % (key,), stacklevel=4)
    if backoff:
        initial = backoff.get("grpc.initial_reconnect_backoff_ms", 1000)
        maximum = max(initial, backoff.get("grpc.max_reconnect_backoff_ms", 120000))
        check(core.cgrpc_channel_options_set_backoff(o, initial, 1.6, 0.2, maximum), "backoff")
    return override


class Channel:
    """One connection to a target, shared by any number of threads."""

    def __init__(self, target, options=None, credentials=None):
        if not isinstance(target, str):
            raise TypeError("target must be str, not %s" % type(target).__name__)
        if "\x00" in target:
            raise ValueError("invalid target %r" % (target,))
        if credentials is not None and not isinstance(credentials, ChannelCredentials):
            raise TypeError("credentials must come from cgrpc.ssl_channel_credentials()")
        self._handle = None
        self._lock = threading.Lock()
        rc, o = core.cgrpc_channel_options_create()
        check(rc, "channel options")
        try:
            override = _apply_options(o, options)
            if credentials is not None:
                creds = credentials._make(override)
                try:
                    check(core.cgrpc_channel_options_set_credentials(o, creds), "credentials")
                finally:
                    core.cgrpc_credentials_destroy(creds)
            rc, h = core.cgrpc_channel_create(target, o)
            if rc == core.CGRPC_E_TARGET:
                raise ValueError("invalid target %r" % (target,))
            check(rc, "channel")
            self._handle = h
        finally:
            core.cgrpc_channel_options_destroy(o)

    def _h(self):
        h = self._handle
        if h is None:
            raise ValueError("Cannot invoke RPC on closed channel!")
        return h

    def unary_unary(self, method, request_serializer=None, response_deserializer=None,
                    _registered_method=False):
        return UnaryUnaryMultiCallable(self, method, request_serializer, response_deserializer)

    def unary_stream(self, method, request_serializer=None, response_deserializer=None,
                     _registered_method=False):
        return UnaryStreamMultiCallable(self, method, request_serializer, response_deserializer)

    def stream_unary(self, method, request_serializer=None, response_deserializer=None,
                     _registered_method=False):
        return StreamUnaryMultiCallable(self, method, request_serializer, response_deserializer)

    def stream_stream(self, method, request_serializer=None, response_deserializer=None,
                      _registered_method=False):
        return StreamStreamMultiCallable(self, method, request_serializer, response_deserializer)

    def connectivity_state(self, try_to_connect=False):
        return core.cgrpc_channel_state(self._h(), 1 if try_to_connect else 0)

    def subscribe(self, callback, try_to_connect=False):
        raise NotImplementedError("cgrpc: use connectivity_state() polling for now")

    def unsubscribe(self, callback):
        pass

    def close(self):
        """Closes the connection; running calls end with CANCELLED."""
        with self._lock:
            h, self._handle = self._handle, None
        if h is not None:
            core.cgrpc_channel_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def insecure_channel(target, options=None, compression=None):
    return Channel(target, options)


def secure_channel(target, credentials, options=None, compression=None):
    if credentials is None:
        raise TypeError("secure_channel needs credentials")
    return Channel(target, options, credentials)


class _ClientCall:
    """One RPC on the C core.  Shared by a receiving thread and (for
    request streams) a sending thread; freed when both let go."""

    def __init__(self, channel, method, timeout, metadata, wait_for_ready):
        if not isinstance(method, str) or "\x00" in method:
            raise ValueError("invalid method name %r" % (method,))
        opts = _call_options(timeout, metadata, wait_for_ready)
        try:
            rc, h = core.cgrpc_call_start(channel._h(), method, opts)
        finally:
            if opts is not None:
                core.cgrpc_call_options_destroy(opts)
        if rc:
            _start_error(rc, method)
        self.h = h
        self.channel = channel  # keeps the channel object alive
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._users = 1
        self._lock = threading.Lock()
        self.request_error = None

    def hold(self):
        with self._lock:
            self._users += 1

    def release(self):
        with self._lock:
            self._users -= 1
            last = self._users == 0
            h = self.h if last else None
            if last:
                self.h = None
        if h is not None:
            core.cgrpc_call_destroy(h)

    def _wait(self, mask):
        try:
            return wait(self.h, mask)
        except BaseException:
            core.cgrpc_call_cancel(self.h)  # Ctrl-C or another exception
            raise

    def send(self, data, last=False):
        """Returns False when the call has already ended."""
        try:
            rc = send_slices(self.h, data, core.CGRPC_SEND_LAST if last else 0)
        except BaseException:
            core.cgrpc_call_cancel(self.h)  # Ctrl-C while blocked
            raise
        if rc == core.CGRPC_E_TOO_LARGE:
            raise RpcError(StatusCode.RESOURCE_EXHAUSTED,
                           "Sent message larger than max (%d bytes)" % len(data))
        if rc in (core.CGRPC_E_CLOSED, core.CGRPC_E_STATE):
            return False
        check(rc, "send")
        return True

    def close_send(self):
        rc = core.cgrpc_call_close_send(self.h)
        if rc != core.CGRPC_E_BUSY:
            check(rc, "close_send")

    def recv(self):
        """The next message, or None at the end."""
        try:
            return recv_slices(self.h)
        except BaseException:
            core.cgrpc_call_cancel(self.h)  # Ctrl-C while blocked
            raise

    def status(self):
        self._wait(EV_DONE)
        rc, code, details, trailers = core.cgrpc_call_status(self.h)
        check(rc, "status")
        code = code_from_int(code)
        if self.request_error is not None and code == StatusCode.CANCELLED:
            code, details = StatusCode.UNKNOWN, "Exception iterating requests!"
            if str(self.request_error):
                details += " (%s)" % (self.request_error,)
        return code, details, metadata_tuple(trailers)

    def initial_metadata(self):
        self._wait(EV_INITIAL_METADATA)
        rc, md = core.cgrpc_call_initial_metadata(self.h)
        check(rc, "initial metadata")
        return metadata_tuple(md)

    def cancel(self):
        with self._lock:
            if self.h is not None:
                core.cgrpc_call_cancel(self.h)

    def is_active(self):
        with self._lock:
            if self.h is None:
                return False
            rc, ready = core.cgrpc_call_wait(self.h, EV_DONE, 0)
        return rc != 0

    def time_remaining(self):
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())


def _serialize(serializer, message):
    if serializer is None:
        return to_bytes(message, "request") if not isinstance(message, bytes) else message
    try:
        return serializer(message)
    except Exception:
        raise RpcError(StatusCode.INTERNAL, "Exception serializing request!")


def _deserialize(deserializer, data):
    return data if deserializer is None else deserializer(data)


class _CallInfo(EndedCall):
    """What with_call() returns next to the response (grpc.Call)."""

    def __init__(self, initial, trailing, code, details):
        super().__init__(code, details, initial, trailing)


def _finish_unary(call, deserializer):
    """Reads the one response and the status; raises RpcError."""
    data = call.recv()
    code, details, trailing = call.status()
    initial = call.initial_metadata()
    if code != StatusCode.OK:
        raise RpcError(code, details, initial, trailing)
    if data is None:
        raise RpcError(StatusCode.INTERNAL, "server sent no response message",
                       initial, trailing)
    try:
        response = _deserialize(deserializer, data)
    except Exception:
        raise RpcError(StatusCode.INTERNAL, "Exception deserializing response!",
                       initial, trailing)
    return response, _CallInfo(initial, trailing, code, details)


class _MultiCallable:
    def __init__(self, channel, method, serializer, deserializer):
        self._channel = channel
        self._method = method
        self._ser = serializer
        self._de = deserializer


def _call_options(timeout, metadata, wait_for_ready):
    """A cgrpc_call_options handle, or None when every default applies."""
    if timeout is None and not metadata and not wait_for_ready:
        return None
    rc, opts = core.cgrpc_call_options_create()
    check(rc, "call options")
    try:
        if timeout is not None:
            core.cgrpc_call_options_set_timeout(opts, max(0, math.ceil(timeout * 1000)))
        if metadata:
            add_metadata(core.cgrpc_call_options_add_metadata, opts, metadata)
        if wait_for_ready:
            core.cgrpc_call_options_set_wait_for_ready(opts, 1)
    except BaseException:
        core.cgrpc_call_options_destroy(opts)
        raise
    return opts


def _start_error(rc, method):
    if rc == core.CGRPC_E_CLOSED:
        raise ValueError("Cannot invoke RPC on closed channel!")
    if rc == core.CGRPC_E_INVALID_ARG:
        raise ValueError("invalid method name %r" % (method,))
    check(rc, "call")


class UnaryUnaryMultiCallable(_MultiCallable):
    def _fast(self, request, timeout, metadata, wait_for_ready):
        """The blocking unary path: four trips into C instead of ten."""
        data = _serialize(self._ser, request)
        method = self._method
        if not isinstance(method, str) or "\x00" in method:
            raise ValueError("invalid method name %r" % (method,))
        opts = _call_options(timeout, metadata, wait_for_ready)
        try:
            rc, h = core.cgb_unary_start(self._channel._h(), method, data, opts)
        finally:
            if opts is not None:
                core.cgrpc_call_options_destroy(opts)
        if rc == core.CGRPC_E_TOO_LARGE:
            raise RpcError(StatusCode.RESOURCE_EXHAUSTED,
                           "Sent message larger than max (%d bytes)" % len(data))
        if rc:
            _start_error(rc, method)
        try:
            try:
                wait(h, EV_DONE)
            except BaseException:
                core.cgrpc_call_cancel(h)  # Ctrl-C: cancel, then re-raise
                raise
            rc, code, reply, details, md, tr = core.cgb_unary_finish(h)
            check(rc, "unary")
            initial, trailing = metadata_tuple(md), metadata_tuple(tr)
        finally:
            core.cgrpc_call_destroy(h)
        code = code_from_int(code)
        if code != StatusCode.OK:
            raise RpcError(code, details, initial, trailing)
        if reply is None:
            raise RpcError(StatusCode.INTERNAL, "server sent no response message",
                           initial, trailing)
        try:
            response = _deserialize(self._de, reply)
        except Exception:
            raise RpcError(StatusCode.INTERNAL, "Exception deserializing response!",
                           initial, trailing)
        return response, _CallInfo(initial, trailing, code, details)

    def _blocking(self, request, timeout, metadata, wait_for_ready, on_call=None):
        data = _serialize(self._ser, request)
        call = _ClientCall(self._channel, self._method, timeout, metadata, wait_for_ready)
        if on_call is not None:
            on_call(call)
        try:
            call.send(data, last=True)
            return _finish_unary(call, self._de)
        finally:
            call.release()

    def __call__(self, request, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        return self._fast(request, timeout, metadata, wait_for_ready)[0]

    def with_call(self, request, timeout=None, metadata=None, credentials=None,
                  wait_for_ready=None, compression=None):
        return self._fast(request, timeout, metadata, wait_for_ready)

    def future(self, request, timeout=None, metadata=None, credentials=None,
               wait_for_ready=None, compression=None):
        return _Future(lambda on_call: self._blocking(request, timeout, metadata,
                                                      wait_for_ready, on_call))


class StreamUnaryMultiCallable(_MultiCallable):
    def _blocking(self, request_iterator, timeout, metadata, wait_for_ready, on_call=None):
        call = _ClientCall(self._channel, self._method, timeout, metadata, wait_for_ready)
        if on_call is not None:
            on_call(call)
        try:
            _start_sender(call, request_iterator, self._ser)
            return _finish_unary(call, self._de)
        finally:
            call.release()

    def __call__(self, request_iterator, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        return self._blocking(request_iterator, timeout, metadata, wait_for_ready)[0]

    def with_call(self, request_iterator, timeout=None, metadata=None, credentials=None,
                  wait_for_ready=None, compression=None):
        return self._blocking(request_iterator, timeout, metadata, wait_for_ready)

    def future(self, request_iterator, timeout=None, metadata=None, credentials=None,
               wait_for_ready=None, compression=None):
        return _Future(lambda on_call: self._blocking(request_iterator, timeout, metadata,
                                                      wait_for_ready, on_call))


def _start_sender(call, request_iterator, serializer):
    """Consumes the request iterator on its own thread while the caller
    receives (the C core allows one sender beside one receiver)."""
    call.hold()

    def run():
        try:
            for request in request_iterator:
                if not call.send(_serialize(serializer, request)):
                    return  # the call ended; the receiver reports why
            call.close_send()
        except BaseException as e:  # noqa: B902 - report, do not kill the thread
            call.request_error = e
            call.cancel()
        finally:
            call.release()

    threading.Thread(target=run, name="cgrpc-request-sender", daemon=True).start()


class _ResponseIterator(RpcError):
    """A response stream; also the grpc.Call and the RpcError it ends with."""

    def __init__(self, call, deserializer):
        super().__init__(StatusCode.OK, "")
        self._call = call
        self._de = deserializer
        self._done = False
        self._cancelled = False
        self._lock = threading.Lock()
        self._callbacks = []

    def __iter__(self):
        return self

    def _end(self):
        code, details, trailing = self._call.status()
        self._initial = self._call.initial_metadata()
        self._code, self._details, self._trailing = code, details, trailing
        self._done = True
        self._call.release()
        for cb in self._callbacks:
            cb()
        if code != StatusCode.OK:
            raise self
        raise StopIteration

    def __next__(self):
        with self._lock:
            if self._done:
                if self._code != StatusCode.OK:
                    raise self
                raise StopIteration
            if self._cancelled:  # as grpcio: buffered messages are dropped
                self._initial = ()
                self._code = StatusCode.CANCELLED
                self._details = "Locally cancelled by application!"
                self._done = True
                self._call.release()
                raise self
            data = self._call.recv()
            if data is None:
                self._end()
            try:
                return _deserialize(self._de, data)
            except Exception:
                self._call.cancel()
                self._call.status()
                self._code = StatusCode.INTERNAL
                self._details = "Exception deserializing response!"
                self._done = True
                self._call.release()
                raise self

    next = __next__

    def cancel(self):
        if self._done or self._cancelled:
            return False
        self._cancelled = True
        self._call.cancel()
        return True

    def is_active(self):
        return not self._done and not self._cancelled and self._call.is_active()

    def time_remaining(self):
        return self._call.time_remaining()

    def add_callback(self, callback):
        if self._done:
            return False
        self._callbacks.append(callback)
        return True

    def initial_metadata(self):
        if self._done:
            return self._initial
        return self._call.initial_metadata()

    def trailing_metadata(self):
        return self._trailing if self._done else None

    def code(self):
        return self._code if self._done else None

    def details(self):
        return self._details if self._done else None

    def __del__(self):
        if not self._done:
            try:
                self._call.cancel()
                self._call.release()
            except Exception:
                pass
            self._done = True


class UnaryStreamMultiCallable(_MultiCallable):
    def __call__(self, request, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        data = _serialize(self._ser, request)
        call = _ClientCall(self._channel, self._method, timeout, metadata, wait_for_ready)
        call.send(data, last=True)
        return _ResponseIterator(call, self._de)


class StreamStreamMultiCallable(_MultiCallable):
    def __call__(self, request_iterator, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        call = _ClientCall(self._channel, self._method, timeout, metadata, wait_for_ready)
        _start_sender(call, request_iterator, self._ser)
        return _ResponseIterator(call, self._de)


class _Future:
    """grpc.Future for a unary response (and the grpc.Call once done).  The
    RPC runs on its own daemon thread; cancel() cancels the RPC itself."""

    def __init__(self, start):
        self._cv = threading.Condition()
        self._state = "running"  # running, done or cancelled
        self._value = None
        self._error = None
        self._call = None
        self._callbacks = []
        threading.Thread(target=self._run, args=(start,), name="cgrpc-future",
                         daemon=True).start()

    def _set_call(self, call):
        with self._cv:
            self._call = call
            cancelled = self._state == "cancelled"
        if cancelled:
            call.cancel()

    def _run(self, start):
        try:
            value, error = start(self._set_call), None
        except BaseException as e:  # noqa: B902 - handed to result()
            value, error = None, e
        with self._cv:
            self._call = None
            if self._state != "running":
                return
            self._state, self._value, self._error = "done", value, error
            self._cv.notify_all()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def _wait(self, timeout):
        end = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._state == "running":
                left = 0.2 if end is None else min(0.2, end - time.monotonic())
                if left <= 0:
                    raise FutureTimeoutError()
                self._cv.wait(left)  # slices: Ctrl-C gets through

    def _outcome(self, timeout):
        try:
            self._wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            raise
        if self._state == "cancelled":
            raise FutureCancelledError()

    def result(self, timeout=None):
        self._outcome(timeout)
        if self._error is not None:
            raise self._error
        return self._value[0]

    def exception(self, timeout=None):
        self._outcome(timeout)
        return self._error

    def traceback(self, timeout=None):
        e = self.exception(timeout)
        return e.__traceback__ if e else None

    def cancel(self):
        with self._cv:
            if self._state != "running":
                return False
            self._state = "cancelled"
            call = self._call
            self._cv.notify_all()
            callbacks, self._callbacks = self._callbacks, []
        if call is not None:
            call.cancel()
        for cb in callbacks:
            cb(self)
        return True

    def cancelled(self):
        return self._state == "cancelled"

    def running(self):
        return self._state == "running"

    def done(self):
        return self._state != "running"

    def add_done_callback(self, fn):
        with self._cv:
            if self._state == "running":
                self._callbacks.append(fn)
                return
        fn(self)

    def _info(self):
        self._outcome(None)
        if isinstance(self._error, RpcError):
            return self._error
        if self._error is not None:
            raise self._error
        return self._value[1]

    def initial_metadata(self):
        return self._info().initial_metadata()

    def trailing_metadata(self):
        return self._info().trailing_metadata()

    def code(self):
        return self._info().code()

    def details(self):
        return self._info().details()

    def is_active(self):
        return self._state == "running"

    def time_remaining(self):
        return None

    def add_callback(self, callback):
        with self._cv:
            if self._state != "running":
                return False
            self._callbacks.append(lambda _f: callback())
            return True
