"""Status codes and errors, with grpcio's names and values."""

import enum


class _StatusCode(enum.Enum):
    """gRPC status codes; each value is (number, description) as in grpcio."""

    OK = (0, "ok")
    CANCELLED = (1, "cancelled")
    UNKNOWN = (2, "unknown")
    INVALID_ARGUMENT = (3, "invalid argument")
    DEADLINE_EXCEEDED = (4, "deadline exceeded")
    NOT_FOUND = (5, "not found")
    ALREADY_EXISTS = (6, "already exists")
    PERMISSION_DENIED = (7, "permission denied")
    RESOURCE_EXHAUSTED = (8, "resource exhausted")
    FAILED_PRECONDITION = (9, "failed precondition")
    ABORTED = (10, "aborted")
    OUT_OF_RANGE = (11, "out of range")
    UNIMPLEMENTED = (12, "unimplemented")
    INTERNAL = (13, "internal")
    UNAVAILABLE = (14, "unavailable")
    DATA_LOSS = (15, "data loss")
    UNAUTHENTICATED = (16, "unauthenticated")


try:
    # With grpcio installed, share its enum so code that compares with
    # grpc.StatusCode (generated stubs, existing handlers) works unchanged.
    from grpc import StatusCode
except Exception:  # grpcio is optional
    StatusCode = _StatusCode

_BY_NUMBER = {c.value[0]: c for c in StatusCode}


def code_from_int(n):
    return _BY_NUMBER.get(n, StatusCode.UNKNOWN)


def code_to_int(code):
    """Accepts a StatusCode (ours or grpcio's, by name) or an int."""
    if isinstance(code, int):
        return code
    name = getattr(code, "name", None)
    if name in StatusCode.__members__:
        return StatusCode[name].value[0]
    raise TypeError("not a status code: %r" % (code,))


try:
    from grpc import FutureCancelledError, FutureTimeoutError
except Exception:  # grpcio is optional
    class FutureTimeoutError(Exception):
        """result() timed out."""

    class FutureCancelledError(Exception):
        """The future's RPC was cancelled."""


class CgrpcError(Exception):
    """A cgrpc API misuse or resource error (not an RPC outcome)."""

    def __init__(self, rc, what):
        from . import core
        detail = core.cgrpc_last_error()
        msg = "%s: %s" % (what, core.cgrpc_strerror(rc))
        if detail:
            msg += " (%s)" % detail
        super().__init__(msg)
        self.rc = rc


def _rpc_error_bases():
    # Be catchable as grpc.RpcError too when grpcio is installed, so code
    # written for grpcio keeps working unchanged.
    try:
        import grpc
        return (grpc.RpcError, grpc.Call)
    except Exception:  # grpcio is optional
        return (Exception,)


class EndedCall:
    """The grpc.Call surface of an RPC that has ended."""

    def __init__(self, code, details, initial_metadata=(), trailing_metadata=()):
        self._code = code
        self._details = details
        self._initial = tuple(initial_metadata)
        self._trailing = tuple(trailing_metadata)

    def code(self):
        return self._code

    def details(self):
        return self._details

    def initial_metadata(self):
        return self._initial

    def trailing_metadata(self):
        return self._trailing

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


class RpcError(EndedCall, *_rpc_error_bases()):
    """Raised when an RPC ends with a status other than OK."""

    def __init__(self, code, details, initial_metadata=(), trailing_metadata=(),
                 debug_error_string=None):
        Exception.__init__(self)
        EndedCall.__init__(self, code, details, initial_metadata, trailing_metadata)
        self._debug = debug_error_string

    def debug_error_string(self):
        return self._debug or "%s: %s" % (self._code.name, self._details)

    def __str__(self):
        return "<RpcError %s: %s>" % (self._code.name, self._details)

    __repr__ = __str__
