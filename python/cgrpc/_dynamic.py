"""Dynamic stubs: protobuf messages as dicts, from a descriptor set.

    pool = cgrpc.load_descriptor_set(open("set.pb", "rb").read())
    stub = pool.stub(channel, "helloworld.Greeter")
    reply = stub.SayHello({"name": "x"}, timeout=5)       # a dict

The descriptor set is what `protoc --include_imports -o set.pb x.proto`
writes.  Messages are dicts keyed by proto field names (JSON names are
accepted on input); bindings/pydict.h gives the value mapping (int64 as
exact ints, enums by name, bytes as bytes, maps as dicts, nested messages
as dicts, repeated fields as lists; unset fields absent).  Conversion
errors raise ProtobufError naming the field.
"""

import collections
import threading
import functools

from . import core
from ._channel import Channel


class ProtobufError(ValueError):
    """A value does not fit a message type (the message names the field,
    "helloworld.HelloRequest.name: expected str, got dict"), bytes do not
    decode, or a descriptor set does not load."""


core.cgb_pb_set_error_class(ProtobufError)

MethodInfo = collections.namedtuple(
    "MethodInfo", "name path kind input output client_streaming server_streaming")
MethodInfo.__doc__ = """One RPC method of a service: kind is "unary", "server_streaming",
"client_streaming" or "bidi_streaming"; input/output are full type names."""


def _kind(client_streaming, server_streaming):
    if client_streaming:
        return "bidi_streaming" if server_streaming else "client_streaming"
    return "server_streaming" if server_streaming else "unary"


class DescriptorPool:
    """The message types and services of a loaded FileDescriptorSet.
    Immutable once loaded: any number of threads may use it at once."""

    def __init__(self, data):
        rc, h = core.cgrpc_pb_pool_load(data)
        if rc:
            detail = core.cgrpc_last_error()
            raise ProtobufError("cannot load the descriptor set: %s%s"
                                % (core.cgrpc_strerror(rc), " (%s)" % detail if detail else ""))
        self._h = h
        # Conversions run Python code (__index__, finalizers) that may
        # close the pool, from this thread or another: close() frees it
        # only when no call into C is using it.
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False

    def _use(self, fn, *args):
        with self._lock:
            if self._closing:
                raise ValueError("the descriptor pool is closed")
            self._users += 1
            h = self._h
        try:
            return fn(h, *args)
        finally:
            with self._lock:
                self._users -= 1
                last = self._closing and self._users == 0 and self._h is not None
                if last:
                    h, self._h = self._h, None
            if last:
                core.cgrpc_pb_pool_destroy(h)

    def close(self):
        """Frees the pool (at once, or when the last conversion running on
        it ends); stubs and servicers made from it stop working."""
        with self._lock:
            self._closing = True
            if self._users or self._h is None:
                return
            h, self._h = self._h, None
        core.cgrpc_pb_pool_destroy(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<cgrpc.DescriptorPool %s>" % ", ".join(self.services())

    def services(self):
        """Full names of the set's services, in order."""
        return self._use(core.cgb_pb_services)

    def methods(self, service):
        """The MethodInfo list of service; ValueError if there is none."""
        ms = self._use(core.cgb_pb_methods, service)
        if ms is None:
            raise ValueError("no service %r in the descriptor set" % (service,))
        return [MethodInfo(name, path, _kind(cs, ss), i, o, cs, ss)
                for name, path, i, o, cs, ss in ms]

    def has_type(self, type_name):
        return self._use(core.cgb_pb_has_type, type_name)

    def encode(self, type_name, message):
        """dict -> wire bytes of type_name; ProtobufError naming the field."""
        return self._use(core.cgb_pb_encode, type_name, message)

    def decode(self, type_name, data):
        """wire bytes -> dict; ProtobufError if they do not parse."""
        return self._use(core.cgb_pb_decode, type_name, data)

    def stub(self, channel, service):
        """A DynamicStub for service on channel (a cgrpc.Channel)."""
        return DynamicStub(self, channel, service)

    def method_handlers(self, service, servicer):
        """{method name: RpcMethodHandler} that decode requests to dicts and
        encode the dicts the servicer returns.  servicer is an object with
        a method per RPC (grpcio's servicer signatures: (request, context)
        or (request_iterator, context)) or a dict name -> callable; methods
        it lacks are left out (callers get UNIMPLEMENTED)."""
        from . import (stream_stream_rpc_method_handler, stream_unary_rpc_method_handler,
                       unary_stream_rpc_method_handler, unary_unary_rpc_method_handler)
        make = {
            "unary": unary_unary_rpc_method_handler,
            "server_streaming": unary_stream_rpc_method_handler,
            "client_streaming": stream_unary_rpc_method_handler,
            "bidi_streaming": stream_stream_rpc_method_handler,
        }
        handlers = {}
        for m in self.methods(service):
            if isinstance(servicer, dict):
                fn = servicer.get(m.name)
            else:
                fn = getattr(servicer, m.name, None)
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError("servicer.%s is not callable" % m.name)
            handlers[m.name] = make[m.kind](
                fn, request_deserializer=functools.partial(self.decode, m.input),
                response_serializer=functools.partial(self.encode, m.output))
        if isinstance(servicer, dict):
            unknown = set(servicer) - {m.name for m in self.methods(service)}
            if unknown:
                raise ValueError("%s has no method(s) %s" % (service, ", ".join(sorted(unknown))))
        return handlers

    def add_servicer_to_server(self, servicer, server, service):
        """Serves service on server (a cgrpc.Server) with a dict servicer
        (see method_handlers)."""
        from . import method_handlers_generic_handler
        server.add_generic_rpc_handlers(
            (method_handlers_generic_handler(service, self.method_handlers(service, servicer)),))


def load_descriptor_set(data):
    """Loads a serialized FileDescriptorSet (bytes); ProtobufError if it is
    malformed or misses an import (protoc --include_imports)."""
    return DescriptorPool(data)


def _encoded(pool, type_name, requests):
    for request in requests:
        yield pool.encode(type_name, request)


class _DynUnary:
    def __init__(self, pool, mc, m):
        self._pool, self._mc, self._m = pool, mc, m

    def __call__(self, request, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        data = self._pool.encode(self._m.input, request)
        return self._mc(data, timeout=timeout, metadata=metadata, credentials=credentials,
                        wait_for_ready=wait_for_ready, compression=compression)

    def with_call(self, request, timeout=None, metadata=None, credentials=None,
                  wait_for_ready=None, compression=None):
        data = self._pool.encode(self._m.input, request)
        return self._mc.with_call(data, timeout=timeout, metadata=metadata,
                                  credentials=credentials, wait_for_ready=wait_for_ready,
                                  compression=compression)

    def future(self, request, timeout=None, metadata=None, credentials=None,
               wait_for_ready=None, compression=None):
        data = self._pool.encode(self._m.input, request)
        return self._mc.future(data, timeout=timeout, metadata=metadata,
                               credentials=credentials, wait_for_ready=wait_for_ready,
                               compression=compression)


class _DynUnaryStream:
    """Server streaming: a dict in, an iterator of dicts out (grpcio's
    response iterator, also the call and its RpcError)."""

    def __init__(self, pool, mc, m):
        self._pool, self._mc, self._m = pool, mc, m

    def __call__(self, request, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        data = self._pool.encode(self._m.input, request)
        return self._mc(data, timeout=timeout, metadata=metadata, credentials=credentials,
                        wait_for_ready=wait_for_ready, compression=compression)


class _DynStreamRequests:
    """Client and bidi streaming: requests is an iterable of dicts, encoded
    as they are sent.  One that does not fit ends the call (UNKNOWN,
    "Exception iterating requests! (<the field error>)")."""

    def __init__(self, pool, mc, m):
        self._pool, self._mc, self._m = pool, mc, m

    def _requests(self, request_iterator):
        return _encoded(self._pool, self._m.input, request_iterator)

    def __call__(self, request_iterator, timeout=None, metadata=None, credentials=None,
                 wait_for_ready=None, compression=None):
        return self._mc(self._requests(request_iterator), timeout=timeout, metadata=metadata,
                        credentials=credentials, wait_for_ready=wait_for_ready,
                        compression=compression)

    def with_call(self, request_iterator, timeout=None, metadata=None, credentials=None,
                  wait_for_ready=None, compression=None):
        return self._mc.with_call(self._requests(request_iterator), timeout=timeout,
                                  metadata=metadata, credentials=credentials,
                                  wait_for_ready=wait_for_ready, compression=compression)

    def future(self, request_iterator, timeout=None, metadata=None, credentials=None,
               wait_for_ready=None, compression=None):
        return self._mc.future(self._requests(request_iterator), timeout=timeout,
                               metadata=metadata, credentials=credentials,
                               wait_for_ready=wait_for_ready, compression=compression)


class DynamicStub:
    """A stub whose methods take and return dicts: stub.Method(request,
    timeout=, metadata=, wait_for_ready=) with grpcio's calling conventions
    per kind (.with_call/.future for unary responses, response iterators
    for server streams, request iterables for client streams)."""

    def __init__(self, pool, channel, service):
        if not isinstance(channel, Channel):
            raise TypeError("channel must be a cgrpc.Channel, not %s" % type(channel).__name__)
        self._pool = pool
        self._service = service
        self._methods = {}
        for m in pool.methods(service):
            de = functools.partial(pool.decode, m.output)
            if m.kind == "unary":
                call = _DynUnary(pool, channel.unary_unary(m.path, None, de), m)
            elif m.kind == "server_streaming":
                call = _DynUnaryStream(pool, channel.unary_stream(m.path, None, de), m)
            elif m.kind == "client_streaming":
                call = _DynStreamRequests(pool, channel.stream_unary(m.path, None, de), m)
            else:
                call = _DynStreamRequests(pool, channel.stream_stream(m.path, None, de), m)
            self._methods[m.name] = m
            setattr(self, m.name, call)

    def __repr__(self):
        return "<cgrpc.DynamicStub %s>" % self._service

    def methods(self):
        return list(self._methods.values())


__all__ = ["DescriptorPool", "DynamicStub", "MethodInfo", "ProtobufError",
           "load_descriptor_set"]
