#!/usr/bin/env python3
"""A deliberately misbehaving gRPC client (h2c, prior knowledge), built on h2.

Library for the fault tests, and a CLI:
  h2_raw_client.py --host 127.0.0.1 --port N ATTACK [--size BYTES] [--path P]
which prints the result as JSON.  ATTACK is one of ATTACKS below.

Each stream attack returns a dict describing what the server answered:
  http_status      int or None (no response headers)
  content_type     str or None
  headers          {name: value} of the response headers (str, last wins)
  trailers         {name: value} of the trailers ({} if none)
  grpc_status      int, or None if absent; grpc_status_raw keeps the text
  grpc_message     percent-decoded str or None
  messages         [bytes] length-prefixed messages parsed from the body
  body             the raw response body (bytes)
  body_malformed   True if the body is not a whole number of messages
  ended            the server finished the stream (END_STREAM or reset)
  reset, reset_code  the server reset the stream, with that error code
  timed_out        no end of stream within the timeout
  goaway           (error_code, last_stream_id) of a GOAWAY, or None
  connection_closed   the server closed the TCP connection
  connection_usable   after the stream: no GOAWAY, not closed, and a PING
                      was acknowledged
  followup         unless followup=False: the result of a valid unary call
                   to /cgrpc.test.Echo/Unary with b"still-alive" made on the
                   SAME connection afterwards (a dict like this one, or
                   {"error": ...} if it could not be made)

Every read waits at most READ_TIMEOUT_S (5 s).
"""

import argparse
import json
import select
import socket
import struct
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

ECHO_UNARY = "/cgrpc.test.Echo/Unary"
STILL_ALIVE = b"still-alive"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
READ_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 10.0   # a whole flow-controlled body send
POLL_S = 0.25
READ_SIZE = 65536
CANCEL = 8
GARBAGE = b"\x16\x03\x01\x02\x00GARBAGE-NOT-HTTP2\r\n\r\n" + bytes(range(32))


def grpc_frame(payload, flag=0, claimed_length=None):
    """A gRPC length-prefixed message (the flag and the length may lie)."""
    length = len(payload) if claimed_length is None else claimed_length
    return struct.pack(">BI", flag, length) + payload


def parse_messages(body):
    """Split a body into messages; returns (payloads, malformed)."""
    messages = []
    pos = 0
    while pos < len(body):
        if len(body) - pos < 5:
            return messages, True
        _flag, length = struct.unpack(">BI", body[pos:pos + 5])
        if len(body) - pos - 5 < length:
            return messages, True
        messages.append(bytes(body[pos + 5:pos + 5 + length]))
        pos += 5 + length
    return messages, False


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class _StreamState:
    def __init__(self):
        self.headers = None
        self.trailers = None
        self.body = bytearray()
        self.ended = False
        self.reset_code = None
        self.local_ended = False


class RawConnection:
    """One h2c connection to host:port with helpers to misbehave on it."""

    def __init__(self, host, port, timeout=READ_TIMEOUT_S, max_header_list_size=None):
        self.host = host
        self.port = port
        self.authority = ("[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port))
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None))
        if max_header_list_size is not None:
            # h2 refuses header blocks over 64 KiB by default; raise the limit
            # (advertised in our SETTINGS and enforced by the decoder).
            self.conn.local_settings = h2.settings.Settings(client=True, initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: max_header_list_size})
            self.conn.decoder.max_header_list_size = max_header_list_size
        self.streams = {}
        self.closed = False
        self.goaway = None
        self.protocol_error = None
        self.ping_acks = set()
        self._ping_counter = 0
        self.conn.initiate_connection()
        self.flush()

    # -- plumbing ---------------------------------------------------------
    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def pump(self, timeout):
        """Read and handle what arrives within timeout (<= 5 s). False if closed."""
        if self.closed:
            return False
        timeout = max(0.0, min(timeout, READ_TIMEOUT_S))
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return True
        try:
            data = self.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.protocol_error = repr(exc)
            self.flush()
            self.closed = True
            return False
        for event in events:
            self._on_event(event)
        self.flush()
        return True

    def _on_event(self, event):
        stream = self.streams.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived) and stream:
            stream.headers = event.headers
        elif isinstance(event, h2.events.TrailersReceived) and stream:
            stream.trailers = event.headers
        elif isinstance(event, h2.events.DataReceived):
            if stream:
                stream.body += event.data
            try:
                self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                    event.stream_id)
            except h2.exceptions.StreamClosedError:
                pass
        elif isinstance(event, h2.events.StreamEnded) and stream:
            stream.ended = True
        elif isinstance(event, h2.events.StreamReset) and stream:
            stream.ended = True
            stream.reset_code = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = (int(event.error_code), event.last_stream_id)
        elif isinstance(event, h2.events.PingAckReceived):
            self.ping_acks.add(event.ping_data)

    # -- requests ---------------------------------------------------------
    def start_request(self, path, method=b"POST", content_type=b"application/grpc",
                      extra=(), end_stream=False):
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(b":method", method), (b":scheme", b"http"),
                   (b":path", path.encode() if isinstance(path, str) else path),
                   (b":authority", self.authority.encode())]
        if content_type is not None:
            headers.append((b"content-type", content_type))
        headers.append((b"te", b"trailers"))
        headers.extend(extra)
        self.streams[stream_id] = state = _StreamState()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        state.local_ended = end_stream
        self.flush()
        return stream_id

    def send_body(self, stream_id, data, end_stream=True, timeout=SEND_TIMEOUT_S):
        """Send data under flow control. Stops early (returns False) if the
        server ends or resets the stream, the connection dies, or time runs
        out; True once everything (and END_STREAM if asked) went out."""
        state = self.streams[stream_id]
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while not self.closed and not state.ended:
            try:
                window = min(self.conn.local_flow_control_window(stream_id),
                             self.conn.max_outbound_frame_size)
                if len(view) <= window:
                    self.conn.send_data(stream_id, view.tobytes(), end_stream=end_stream)
                    state.local_ended = end_stream
                    self.flush()
                    return not self.closed
                if window > 0:
                    self.conn.send_data(stream_id, view[:window].tobytes())
                    view = view[window:]
                    self.flush()
                    self.pump(0)  # take in WINDOW_UPDATEs and early answers
                    continue
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.pump(min(POLL_S, remaining))
        return False

    def wait_response(self, stream_id, timeout=READ_TIMEOUT_S):
        state = self.streams[stream_id]
        deadline = time.monotonic() + timeout
        while not state.ended and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.pump(min(POLL_S, remaining))
        return state.ended

    def finish_stream(self, stream_id):
        """A finished response while our side is still open: cancel our side,
        as a gRPC client does; a still-running stream: cancel it too."""
        state = self.streams[stream_id]
        if self.closed or (state.ended and (state.local_ended or state.reset_code is not None)):
            return
        try:
            self.conn.reset_stream(stream_id, error_code=CANCEL)
            self.flush()
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass

    def ping(self, timeout=READ_TIMEOUT_S):
        """True if the server acknowledges a PING within timeout."""
        if self.closed:
            return False
        self._ping_counter += 1
        data = struct.pack(">Q", 0xC0FFEE00 + self._ping_counter)
        try:
            self.conn.ping(data)
        except h2.exceptions.ProtocolError:
            return False
        self.flush()
        deadline = time.monotonic() + timeout
        while data not in self.ping_acks and not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.pump(min(POLL_S, remaining))
        return data in self.ping_acks

    def usable(self):
        return not self.closed and self.goaway is None and self.ping()

    def result(self, stream_id):
        state = self.streams[stream_id]
        headers = {_text(k): _text(v) for k, v in (state.headers or [])}
        trailers = {_text(k): _text(v) for k, v in (state.trailers or [])}
        # Trailers-only responses carry the status in the headers.
        status_source = trailers if state.trailers is not None else headers
        raw_status = status_source.get("grpc-status")
        try:
            grpc_status = int(raw_status) if raw_status is not None else None
        except ValueError:
            grpc_status = None
        raw_message = status_source.get("grpc-message")
        status = headers.get(":status")
        messages, malformed = parse_messages(bytes(state.body))
        return {
            "http_status": int(status) if status and status.isdigit() else None,
            "content_type": headers.get("content-type"),
            "headers": headers,
            "trailers": trailers,
            "grpc_status": grpc_status,
            "grpc_status_raw": raw_status,
            "grpc_message": (urllib.parse.unquote(raw_message)
                             if raw_message is not None else None),
            "messages": messages,
            "body": bytes(state.body),
            "body_malformed": malformed,
            "ended": state.ended,
            "reset": state.reset_code is not None,
            "reset_code": state.reset_code,
            "timed_out": not state.ended and not self.closed,
            "goaway": self.goaway,
            "connection_closed": self.closed,
            "protocol_error": self.protocol_error,
        }

    def close(self):
        try:
            if not self.closed:
                self.conn.close_connection()
                self.flush()
        except h2.exceptions.ProtocolError:
            pass
        self.closed = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- calls ----------------------------------------------------------------
def call(conn, path, body, method=b"POST", content_type=b"application/grpc",
         extra=(), timeout=READ_TIMEOUT_S):
    """One request on conn: headers, then body (if not None) with END_STREAM.
    Returns the result dict (without the connection checks)."""
    stream_id = conn.start_request(path, method=method, content_type=content_type,
                                   extra=extra, end_stream=body is None)
    if body is not None:
        conn.send_body(stream_id, body, end_stream=True)
    conn.wait_response(stream_id, timeout)
    conn.finish_stream(stream_id)
    return conn.result(stream_id)


def unary(conn, message=STILL_ALIVE, path=ECHO_UNARY, timeout=READ_TIMEOUT_S):
    """A valid unary call on an existing connection."""
    if conn.closed or conn.goaway is not None:
        return {"error": "connection unusable (closed=%s, goaway=%s)"
                % (conn.closed, conn.goaway)}
    try:
        return call(conn, path, grpc_frame(message), timeout=timeout)
    except (OSError, h2.exceptions.ProtocolError) as exc:
        return {"error": repr(exc)}


def unary_call(host, port, message=STILL_ALIVE, path=ECHO_UNARY):
    """A valid unary call on a new connection."""
    with RawConnection(host, port) as conn:
        result = unary(conn, message, path)
        if "error" not in result:
            result["connection_usable"] = conn.usable()
        return result


def _attack(host, port, send, conn=None, followup=True):
    """Run send(conn) -> result on conn (a new one if None), then check the
    connection and, if asked, make the follow-up valid call on it."""
    own = conn is None
    if own:
        conn = RawConnection(host, port)
    try:
        result = send(conn)
        result["connection_usable"] = conn.usable()
        result["connection_closed"] = conn.closed
        result["goaway"] = conn.goaway
        if followup:
            result["followup"] = unary(conn)
        return result
    finally:
        if own:
            conn.close()


def bad_compressed_flag(host, port, path=ECHO_UNARY, payload=b"flag-two", **kw):
    """A message whose compressed-flag byte is 0x02 (only 0 and 1 exist)."""
    return _attack(host, port, lambda c: call(c, path, grpc_frame(payload, flag=2)), **kw)


def truncated_body(host, port, path=ECHO_UNARY, **kw):
    """The prefix claims 10 bytes; END_STREAM comes after 3."""
    body = grpc_frame(b"abc", claimed_length=10)
    return _attack(host, port, lambda c: call(c, path, body), **kw)


def oversized_message(host, port, size=5 * 1024 * 1024, path=ECHO_UNARY, **kw):
    """One message of size bytes (default 5 MiB, over a 4 MiB limit)."""
    body = grpc_frame(b"z" * size)
    return _attack(host, port, lambda c: call(c, path, body), **kw)


def wrong_content_type(host, port, content_type=b"text/plain", path=ECHO_UNARY, **kw):
    """A well-formed message under a non-gRPC content-type."""
    return _attack(host, port, lambda c: call(c, path, grpc_frame(b"plain"),
                                              content_type=content_type), **kw)


def wrong_method(host, port, method=b"GET", path=ECHO_UNARY, **kw):
    """A GET (headers only, END_STREAM) instead of a POST."""
    return _attack(host, port, lambda c: call(c, path, None, method=method), **kw)


def _wait_closed(sock, timeout):
    """Read until EOF/reset or timeout; returns (closed, bytes received)."""
    received = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, bytes(received)
        readable, _, _ = select.select([sock], [], [], min(remaining, READ_TIMEOUT_S))
        if not readable:
            continue
        try:
            data = sock.recv(READ_SIZE)
        except OSError:
            return True, bytes(received)
        if not data:
            return True, bytes(received)
        received += data


def garbage_preface(host, port, garbage=GARBAGE, timeout=READ_TIMEOUT_S):
    """Send garbage instead of the connection preface.
    Returns {"closed": server closed the socket within timeout,
             "received": what it sent first (e.g. a GOAWAY frame)}."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        # No shutdown(SHUT_WR): our EOF must not be what makes the server close.
        sock.sendall(garbage)
        closed, received = _wait_closed(sock, timeout)
        return {"closed": closed, "received": received}


def half_open_preface(host, port, hold_s=2.0, nbytes=10, during=None):
    """Send only the first nbytes of the preface and stop, holding the
    connection for hold_s.  during(), if given, runs meanwhile (e.g. a valid
    call on another connection); its return value is reported.
    Returns {"closed_by_server": bool, "closed_after_s": float or None,
             "received": bytes, "during": ...}."""
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(PREFACE[:nbytes])
        during_result = during() if during is not None else None
        closed, received = _wait_closed(sock, max(0.0, hold_s - (time.monotonic() - start)))
        return {"closed_by_server": closed,
                "closed_after_s": (time.monotonic() - start) if closed else None,
                "received": received,
                "during": during_result}


ATTACKS = {
    "bad-flag": bad_compressed_flag,
    "truncated": truncated_body,
    "oversized": oversized_message,
    "text-plain": wrong_content_type,
    "get": wrong_method,
    "garbage-preface": garbage_preface,
    "half-open": half_open_preface,
    "unary": unary_call,
}


def _jsonable(value):
    if isinstance(value, bytes):
        return value.decode("latin-1") if len(value) <= 256 else "<%d bytes>" % len(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attack", choices=sorted(ATTACKS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, default=5 * 1024 * 1024,
                        help="message size for 'oversized'")
    parser.add_argument("--path", default=ECHO_UNARY)
    args = parser.parse_args(argv)
    if args.attack == "oversized":
        result = oversized_message(args.host, args.port, size=args.size, path=args.path)
    elif args.attack in ("garbage-preface", "half-open"):
        result = ATTACKS[args.attack](args.host, args.port)
    else:
        result = ATTACKS[args.attack](args.host, args.port, path=args.path)
    json.dump(_jsonable(result), sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
