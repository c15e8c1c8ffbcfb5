#!/usr/bin/env python3
"""A deliberately misbehaving gRPC server (h2c, prior knowledge), built on h2.

It exists to test how a gRPC *client* copes with a broken peer: each --mode
answers every request stream in one particular wrong (or, for "ok", right)
way.  The request path is ignored.

CLI: --mode MODE --host 127.0.0.1 --port 0 [--rst-code N] [--early]
Binds, prints exactly "PORT <n>" on stdout, then serves connections (one
thread each) until SIGTERM/SIGINT, and exits 0.  --lifetime (default 600 s)
bounds the whole process and --conn-lifetime (default 120 s) each
connection, so a forgotten instance cannot linger.

By default a stream is answered once the request has been read to
END_STREAM; --early answers as soon as the request headers arrive (for a
client that keeps its request side open).  "rst" and "hang" always act on
the headers alone.

Modes:
  ok                      headers, one message echoing the request message,
                          trailers grpc-status 0
  bad-flag                a message whose compressed-flag byte is 0x02
  compressed-no-encoding  compressed-flag 0x01 but no grpc-encoding header
  truncated               prefix claims 100 bytes, only 10 follow, then
                          trailers grpc-status 0
  huge                    prefix claims 100,000,000 bytes, 16 KiB follow,
                          then the stream is held open for 10 s
  no-trailers             headers + one message, END_STREAM on the DATA frame
  http-503                :status 503, content-type text/plain, END_STREAM
  html                    :status 200, content-type text/html, body "<html>"
  trailers-only           one HEADERS frame with END_STREAM: grpc-status 7,
                          grpc-message "denied%20here", x-why: because
  bad-status              headers, then trailers with grpc-status "abc"
  rst                     RST_STREAM (code --rst-code, default 7
                          REFUSED_STREAM) once the request headers arrive
  garbage                 no HTTP/2: read a little, write 64 garbage bytes,
                          close
  goaway                  server SETTINGS, then GOAWAY(last_stream_id 0,
                          NO_ERROR) once the client's preface is in, close
  hang                    handshake only; streams are never answered and
                          the connection is held for 30 s
  big-headers             response headers carry x-big: 100 KiB of 'a',
                          then a message and trailers grpc-status 0
  kill-mid-stream         headers + one message, then the TCP connection is
                          reset (SO_LINGER 0): no trailers, no GOAWAY
"""

import argparse
import select
import signal
import socket
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

MODES = (
    "ok", "bad-flag", "compressed-no-encoding", "truncated", "huge",
    "no-trailers", "http-503", "html", "trailers-only", "bad-status", "rst",
    "garbage", "goaway", "hang", "big-headers", "kill-mid-stream",
)

GRPC_HEADERS = [(b":status", b"200"), (b"content-type", b"application/grpc")]
OK_TRAILERS = [(b"grpc-status", b"0")]
CANCEL = 8
GARBAGE = (b"this is not HTTP/2, just 64 bytes of garbage" + b"\xff" * 64)[:64]
HUGE_CLAIM = 100_000_000
HUGE_SENT = 16 * 1024
HUGE_HOLD_S = 10.0
HANG_HOLD_S = 30.0
BIG_HEADER_BYTES = 100 * 1024
KILL_DELAY_S = 0.2
MAX_STORED_BODY = 16 * 1024 * 1024
READ_SIZE = 65536
POLL_S = 0.2
SEND_TIMEOUT_S = 10.0    # sendall to a client that does not read gives up
RAW_IO_TIMEOUT_S = 1.0   # garbage/goaway modes: reads of the client's bytes
GOAWAY_WAIT_S = 2.0      # goaway mode: how long to wait for the preface


def grpc_frame(payload, flag=0, claimed_length=None):
    """A gRPC length-prefixed message (the length may lie)."""
    length = len(payload) if claimed_length is None else claimed_length
    return struct.pack(">BI", flag, length) + payload


def first_message(body):
    """The payload of the first length-prefixed message in body (best effort)."""
    if len(body) < 5:
        return bytes(body)
    _flag, length = struct.unpack(">BI", bytes(body[:5]))
    return bytes(body[5:5 + length])


def plan(mode, request_body, rst_code):
    """The actions answering one stream, in order.

    ("headers", list, end_stream) | ("data", bytes, end_stream)
    ("sleep", seconds) | ("reset", code) | ("close",) graceful close of the
    connection | ("kill",) abortive close (RST) of the TCP connection
    """
    msg = first_message(request_body)
    if mode == "ok":
        return [("headers", GRPC_HEADERS, False), ("data", grpc_frame(msg), False),
                ("headers", OK_TRAILERS, True)]
    if mode == "bad-flag":
        return [("headers", GRPC_HEADERS, False), ("data", grpc_frame(msg, flag=2), False),
                ("headers", OK_TRAILERS, True)]
    if mode == "compressed-no-encoding":
        return [("headers", GRPC_HEADERS, False), ("data", grpc_frame(msg, flag=1), False),
                ("headers", OK_TRAILERS, True)]
    if mode == "truncated":
        return [("headers", GRPC_HEADERS, False),
                ("data", grpc_frame(b"t" * 10, claimed_length=100), False),
                ("headers", OK_TRAILERS, True)]
    if mode == "huge":
        return [("headers", GRPC_HEADERS, False),
                ("data", grpc_frame(b"h" * HUGE_SENT, claimed_length=HUGE_CLAIM), False),
                ("sleep", HUGE_HOLD_S), ("reset", CANCEL)]
    if mode == "no-trailers":
        return [("headers", GRPC_HEADERS, False), ("data", grpc_frame(msg), True)]
    if mode == "http-503":
        return [("headers", [(b":status", b"503"), (b"content-type", b"text/plain")], True)]
    if mode == "html":
        return [("headers", [(b":status", b"200"), (b"content-type", b"text/html")], False),
                ("data", b"<html>", True)]
    if mode == "trailers-only":
        return [("headers", GRPC_HEADERS + [(b"grpc-status", b"7"),
                                            (b"grpc-message", b"denied%20here"),
                                            (b"x-why", b"because")], True)]
    if mode == "bad-status":
        return [("headers", GRPC_HEADERS, False), ("headers", [(b"grpc-status", b"abc")], True)]
    if mode == "rst":
        return [("reset", rst_code)]
    if mode == "hang":
        return [("sleep", HANG_HOLD_S), ("close",)]
    if mode == "big-headers":
        return [("headers", GRPC_HEADERS + [(b"x-big", b"a" * BIG_HEADER_BYTES)], False),
                ("data", grpc_frame(msg), False), ("headers", OK_TRAILERS, True)]
    if mode == "kill-mid-stream":
        return [("headers", GRPC_HEADERS, False), ("data", grpc_frame(msg), False),
                ("sleep", KILL_DELAY_S), ("kill",)]
    raise ValueError("mode %r has no stream plan" % mode)


class Stream:
    def __init__(self):
        self.body = bytearray()
        self.actions = None   # None until the answer is planned
        self.wake = None      # monotonic time a running "sleep" ends


class H2Session:
    """One HTTP/2 connection: read events, answer streams per the plan."""

    def __init__(self, sock, args, stop):
        self.sock = sock
        self.args = args
        self.stop = stop
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.streams = {}
        self.want_close = False
        self.want_kill = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def run(self):
        lifetime = self.args.conn_lifetime
        if self.args.mode == "hang":
            lifetime = min(lifetime, HANG_HOLD_S)
        deadline = time.monotonic() + lifetime
        self.conn.initiate_connection()
        self.flush()
        while not self.stop.is_set():
            self.progress()
            if self.want_kill:
                abortive_close(self.sock)
                return
            self.flush()
            if self.want_close:
                break
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(POLL_S, deadline - now)
            wakes = [s.wake for s in self.streams.values() if s.wake is not None]
            if wakes:
                wait = max(0.0, min(wait, min(wakes) - now))
            readable, _, _ = select.select([self.sock], [], [], wait)
            if not readable:
                continue
            data = self.sock.recv(READ_SIZE)
            if not data:
                break
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                self.flush()  # h2 queued a GOAWAY describing the error
                break
            for event in events:
                self.on_event(event)
            self.flush()
        graceful_close(self.sock)

    def on_event(self, event):
        early = self.args.early or self.args.mode in ("rst", "hang")
        if isinstance(event, h2.events.RequestReceived):
            stream = self.streams.setdefault(event.stream_id, Stream())
            if early:
                stream.actions = plan(self.args.mode, b"", self.args.rst_code)
        elif isinstance(event, h2.events.DataReceived):
            try:
                self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                    event.stream_id)
            except h2.exceptions.StreamClosedError:
                pass
            stream = self.streams.get(event.stream_id)
            if stream is not None and len(stream.body) < MAX_STORED_BODY:
                stream.body += event.data
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream.actions is None:
                stream.actions = plan(self.args.mode, stream.body, self.args.rst_code)
        elif isinstance(event, h2.events.StreamReset):
            self.streams.pop(event.stream_id, None)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.want_close = True

    def progress(self):
        for stream_id in list(self.streams):
            stream = self.streams[stream_id]
            if stream.actions is None:
                continue
            try:
                self.progress_stream(stream_id, stream)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                stream.actions = []  # the client reset it: nothing more to do
            if not stream.actions:
                del self.streams[stream_id]
            if self.want_close or self.want_kill:
                return

    def progress_stream(self, stream_id, stream):
        """Run the stream's actions until one must wait (time or window)."""
        actions = stream.actions
        while actions:
            action = actions[0]
            kind = action[0]
            if kind == "sleep":
                now = time.monotonic()
                if stream.wake is None:
                    stream.wake = now + action[1]
                if now < stream.wake:
                    return
                stream.wake = None
            elif kind == "headers":
                self.conn.send_headers(stream_id, action[1], end_stream=action[2])
            elif kind == "data":
                rest = self.send_some(stream_id, action[1], action[2])
                if rest is not None:
                    actions[0] = ("data", rest, action[2])
                    return  # blocked on flow control; WindowUpdated resumes
            elif kind == "reset":
                self.conn.reset_stream(stream_id, error_code=action[1])
            elif kind == "close":
                self.want_close = True
            elif kind == "kill":
                self.want_kill = True
            actions.pop(0)
            if self.want_close or self.want_kill:
                return

    def send_some(self, stream_id, data, end_stream):
        """Send what flow control allows; returns the unsent rest or None."""
        view = memoryview(data)
        while True:
            window = min(self.conn.local_flow_control_window(stream_id),
                         self.conn.max_outbound_frame_size)
            if len(view) <= window:
                self.conn.send_data(stream_id, view.tobytes(), end_stream=end_stream)
                return None
            if window <= 0:
                return view.tobytes()
            self.conn.send_data(stream_id, view[:window].tobytes())
            view = view[window:]


def graceful_close(sock):
    """Half-close, drain what the peer still sends (bounded), close.

    Closing with unread bytes queued would turn the FIN into a RST and could
    destroy what we just wrote before the peer reads it.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + RAW_IO_TIMEOUT_S
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], deadline - time.monotonic())
            if not readable or not sock.recv(READ_SIZE):
                break
    except OSError:
        pass
    sock.close()


def abortive_close(sock):
    """Close with SO_LINGER 0: the kernel answers with a TCP RST."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def serve_garbage(sock):
    sock.settimeout(RAW_IO_TIMEOUT_S)
    try:
        sock.recv(READ_SIZE)
    except OSError:
        pass
    try:
        sock.sendall(GARBAGE)
    except OSError:
        pass
    graceful_close(sock)


def serve_goaway(sock):
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding=None))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    deadline = time.monotonic() + GOAWAY_WAIT_S
    got_settings = False
    while not got_settings and time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], deadline - time.monotonic())
        if not readable:
            break
        data = sock.recv(READ_SIZE)
        if not data:
            break
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            break
        got_settings = any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events)
    try:
        conn.close_connection(error_code=0, last_stream_id=0)
    except h2.exceptions.ProtocolError:
        pass
    sock.sendall(conn.data_to_send())
    graceful_close(sock)


def handle_connection(sock, args, stop, live):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if args.mode == "garbage":
            serve_garbage(sock)
        elif args.mode == "goaway":
            serve_goaway(sock)
        else:
            H2Session(sock, args, stop).run()
    except OSError:
        sock.close()
    finally:
        live.discard(sock)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rst-code", type=int, default=7,
                        help="RST_STREAM error code for --mode rst (default 7)")
    parser.add_argument("--early", action="store_true",
                        help="answer on the request headers, not on END_STREAM")
    parser.add_argument("--lifetime", type=float, default=600.0,
                        help="exit by itself after this many seconds")
    parser.add_argument("--conn-lifetime", type=float, default=120.0,
                        help="close any connection after this many seconds")
    args = parser.parse_args(argv)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(64)
    listener.settimeout(POLL_S)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())

    print("PORT %d" % listener.getsockname()[1], flush=True)

    live = set()
    end = time.monotonic() + args.lifetime
    while not stop.is_set() and time.monotonic() < end:
        try:
            sock, _addr = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            if stop.is_set():
                break
            raise
        sock.settimeout(SEND_TIMEOUT_S)  # a client that stops reading
        live.add(sock)
        threading.Thread(target=handle_connection, args=(sock, args, stop, live),
                         daemon=True).start()
    listener.close()
    # Connection threads see stop within POLL_S; give them a moment, then go
    # (they are daemons, so exiting does not wait for a stuck one).
    deadline = time.monotonic() + 1.0
    while live and time.monotonic() < deadline:
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
