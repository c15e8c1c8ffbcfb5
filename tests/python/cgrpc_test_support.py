"""Helpers for the cgrpc Python suite (imported by conftest and the tests)."""

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from port_process import PortProcess
from test_grpcio_client import RunningServer  # noqa: F401  (re-exported)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYTHON_DIR = REPO / "python"

ECHO = "/cgrpc.test.Echo/"
UNARY = ECHO + "Unary"
SERVER_STREAM = ECHO + "ServerStream"
CLIENT_STREAM = ECHO + "ClientStream"
BIDI = ECHO + "Bidi"

STOP_TIMEOUT_S = 5.0


def echo_binary():
    path = Path(os.environ.get("CGRPC_ECHO_SERVER", REPO / "build" / "bin" / "echo_server"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail("cgrpc echo server not found at %s (make build/bin/echo_server, "
                    "or set CGRPC_ECHO_SERVER)" % path)
    return path


def certs_dir():
    path = Path(os.environ.get("CGRPC_TEST_CERTS", REPO / "build" / "test-certs"))
    if not (path / "ca.pem").is_file():
        pytest.fail("no test certificates in %s (make build/test-certs/.done, "
                    "or set CGRPC_TEST_CERTS)" % path)
    return path


class EchoProcess(PortProcess):
    """The C echo server with extra arguments (TLS), stopped by its pid."""

    def __init__(self, *extra):
        super().__init__([echo_binary(), "--host", "127.0.0.1", "--port", "0", *extra],
                         "echo_server %s" % " ".join(str(a) for a in extra))


def child_env():
    """The environment for a child interpreter that imports cgrpc."""
    env = dict(os.environ)
    parts = [str(PYTHON_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONFAULTHANDLER", None)
    return env


def start_python(code, *args):
    """Starts `python -c code args...` with cgrpc importable; pipes for I/O."""
    return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env())


def read_line(proc, timeout):
    """One stdout line of proc, or b"" if none comes within timeout."""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return b""


def finish(proc, timeout):
    """Waits up to timeout for proc; kills it (by pid) if it is still running.
    Returns (returncode or None if it had to be killed, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=STOP_TIMEOUT_S)
        return None, out, err


def grpcio_channel(target):
    import grpc
    return grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])
