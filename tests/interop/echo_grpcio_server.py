#!/usr/bin/env python3
"""Reference grpcio implementation of the cgrpc echo test service.

It is the known-good peer for the interop tests: the same client checks run
against it and against the C echo server, so any difference in behaviour is
a cgrpc bug (or a contract ambiguity to settle).

Contract (service prefix /cgrpc.test.Echo/, messages are raw bytes):
  Unary         reply = request
  ServerStream  replies request + b"#" + str(i) for i in range(x-count), default 3
  ClientStream  reply = concatenation of all requests (b"" if none)
  Bidi          echoes each request as it arrives; ends OK on client half-close
Request metadata honoured by every method, in this order:
  x-sleep-ms            sleep first (stops early if the call goes away)
  x-echo-initial        echoed in the initial metadata
  x-echo-trailing-bin   echoed in the trailing metadata
  x-echo-status (+ x-echo-message-bin)
                        if non-zero: end at once with that status and the
                        UTF-8 decoded message, reading/sending no message

CLI: --host 127.0.0.1 --port 0; prints "PORT <n>" once, serves until
SIGTERM/SIGINT, then exits 0.
"""

import argparse
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "cgrpc.test.Echo"

# grpc.StatusCode values are (int, name) tuples; index them by the int so the
# numeric x-echo-status can be turned back into an enum for context.abort().
_CODES_BY_INT = {code.value[0]: code for code in grpc.StatusCode}

_SLEEP_STEP_S = 0.01


def _metadata(context):
    # Later duplicates win; the contract never sends a key twice.
    return {key: value for key, value in context.invocation_metadata()}


def _int_header(md, key, default, context):
    raw = md.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      "%s is not an integer: %r" % (key, raw))


def _prologue(context):
    """Apply the metadata controls shared by all methods.

    Returns False when the call is already gone (cancelled or past its
    deadline during the sleep) so the handler can just return. Aborts the
    call (raises) when x-echo-status asks for a non-OK status.
    """
    md = _metadata(context)

    # Sleep in small steps so a cancelled or expired call frees its worker
    # thread promptly instead of pinning it for the whole delay.
    sleep_ms = _int_header(md, "x-sleep-ms", 0, context)
    deadline = time.monotonic() + sleep_ms / 1000.0
    while context.is_active():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(_SLEEP_STEP_S, remaining))
    if not context.is_active():
        return False

    if "x-echo-initial" in md:
        context.send_initial_metadata((("x-echo-initial", md["x-echo-initial"]),))

    # Set before any abort: grpcio keeps trailing metadata on aborted calls,
    # which is what lets the status echo also carry the trailing echo.
    if "x-echo-trailing-bin" in md:
        context.set_trailing_metadata(
            (("x-echo-trailing-bin", md["x-echo-trailing-bin"]),))

    status = _int_header(md, "x-echo-status", 0, context)
    if status != 0:
        message = md.get("x-echo-message-bin", b"")
        if isinstance(message, str):  # only if a client sent it non-binary
            message = message.encode("utf-8")
        # Codes grpcio cannot express (outside 1..16) become UNKNOWN.
        code = _CODES_BY_INT.get(status, grpc.StatusCode.UNKNOWN)
        context.abort(code, message.decode("utf-8", errors="replace"))
    return True


def unary(request, context):
    if not _prologue(context):
        return b""
    return request


def server_stream(request, context):
    if not _prologue(context):
        return
    count = _int_header(_metadata(context), "x-count", 3, context)
    for i in range(count):
        if not context.is_active():  # client cancelled: stop producing
            return
        yield request + b"#" + str(i).encode()


def client_stream(request_iterator, context):
    if not _prologue(context):
        return b""
    return b"".join(request_iterator)


def bidi(request_iterator, context):
    if not _prologue(context):
        return
    for request in request_iterator:
        yield request


def _generic_handler():
    # No serializers anywhere: grpcio then hands requests and replies through
    # as raw bytes, which is exactly the wire payload the contract specifies.
    return grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    })


def _bind_address(host, port):
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host  # IPv6 literal
    return "%s:%d" % (host, port)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--client-ca", help="PEM CA that must sign client "
                        "certificates (mutual TLS, required)")
    args = parser.parse_args(argv)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    server.add_generic_rpc_handlers((_generic_handler(),))
    address = _bind_address(args.host, args.port)
    try:
        if args.tls_cert:
            creds = grpc.ssl_server_credentials(
                [(_read(args.tls_key), _read(args.tls_cert))],
                root_certificates=_read(args.client_ca) if args.client_ca else None,
                require_client_auth=bool(args.client_ca))
            port = server.add_secure_port(address, creds)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:  # newer grpcio raises instead of returning 0
        port = 0
        print("bind %s failed: %s" % (address, exc), file=sys.stderr)
    if port == 0:
        print("could not bind %s" % address, file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server.start()
    # Printed only after start() so a reader of this line can connect at once.
    print("PORT %d" % port, flush=True)

    # Wake periodically so the signal handler runs promptly on the main thread.
    while not stop.wait(0.2):
        pass
    server.stop(grace=0.5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
