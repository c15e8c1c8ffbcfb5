"""Loads the Python code generated from tests/matrix/proto (grpc.testing).

The generated modules are named after their proto files (grpc/testing/...),
which puts them inside grpcio's own `grpc` package: the generated directory
is added to that package's search path, so `grpc.testing.*_pb2` resolve to
it.  The make rules generate the code (build/matrix/gen); nothing generated
is committed.  CGRPC_MATRIX_GEN overrides the directory.
"""
import os
import sys

import grpc

_HERE = os.path.dirname(os.path.abspath(__file__))
GEN_DIR = os.environ.get(
    "CGRPC_MATRIX_GEN",
    os.path.normpath(os.path.join(_HERE, "..", "..", "..", "build", "matrix", "gen")))

_pkg = os.path.join(GEN_DIR, "grpc")
if not os.path.isfile(os.path.join(_pkg, "testing", "test_pb2_grpc.py")):
    sys.exit("matrix_gen: no generated code in %s (run: make matrix-gen)" % GEN_DIR)
if _pkg not in grpc.__path__:
    grpc.__path__.append(_pkg)

from grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc  # noqa: E402

__all__ = ["empty_pb2", "messages_pb2", "test_pb2_grpc", "parse_bool"]


def parse_bool(text):
    """grpc's interop flags take true/false; a bare flag means true."""
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a boolean: %r" % text)
