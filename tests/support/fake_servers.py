"""The one scripted OpenAI-compatible server on loopback, for offline tests of the real transport.

Real sockets, so the tests exercise zenllama's real transport (the openai SDK over httpx, or
httpx2 under openai 3.x).
A request to a path is answered, in this order, by:
  1. the next reply queued for that path (`reply`, `chat`),
  2. the path's handler, which computes the answer from the request (`handle`),
  3. `props`, for GET /props (llama-server's; None answers 404, as other servers do),
  4. a 404 like llama-server's.
Paths are matched without their query string. Every request is recorded in `seen` (method,
path with its query, lower-cased headers, JSON body).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zenllama.core.chat import forget_detected_backends

CHAT = "/v1/chat/completions"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    # SSE events: dicts are sent as `data: <json>`, strings as raw lines (comments, [DONE]).
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds between events, so a test can abandon a stream while it is going.
    pace: float = 0.0
    # A body that is not JSON (an HTML error page), sent as it is.
    text: str | None = None
    # JSON already encoded, sent as these bytes (a compressed answer, with its header).
    data: bytes | None = None
    # Send only this many bytes of the body, then hang up (a server dying mid-answer).
    cut_after: int | None = None
    # Seconds to wait before answering at all.
    delay: float = 0.0
    # Seconds between the body's bytes, sent one at a time (a server dribbling its answer).
    drip: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    # The client's (host, port): one per connection it opened.
    peer: tuple[str, int] = ("", 0)


# Computes the answer to a request; None leaves the path unserved (404).
Handler = Callable[[Seen], Reply | None]


def sse(*events: Any, done: bool = True) -> list[Any]:
    return [*events, "data: [DONE]"] if done else list(events)


def error(
    status: int, message: str, kind: str = "invalid_request_error", **more: Any
) -> dict[str, Any]:
    """An error body as llama-server and the OpenAI API send it."""
    return {"error": {"code": status, "message": message, "type": kind, **more}}


class FakeServer:
    def __init__(self, port: int = 0) -> None:
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.handlers: dict[str, Handler] = {}
        self.props: dict[str, Any] | None = None
        self.seen: list[Seen] = []
        self.abandoned = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def reply(self, path: str, *replies: Reply) -> None:
        self.replies[path].extend(replies)

    def chat(self, *replies: Reply) -> None:
        self.reply(CHAT, *replies)

    def handle(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    @property
    def chat_bodies(self) -> list[Any]:
        return [s.body for s in self.requests_to(CHAT)]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        # zenllama remembers each URL's backend for the process; this port may serve another.
        forget_detected_backends()

    def _answer(self, seen: Seen) -> Reply:
        path = seen.path.partition("?")[0]
        queue = self.replies.get(path)
        if queue:
            return queue.popleft()
        handler = self.handlers.get(path)
        reply = handler(seen) if handler is not None else None
        if reply is None and path == "/props" and self.props is not None:
            reply = Reply(body=self.props)
        if reply is None:
            reply = Reply(404, error(404, "File Not Found", "not_found_error"))
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, self.path, headers, body, self.client_address[:2])
                server.seen.append(seen)
                reply = server._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.events is not None:
                    self._stream(reply)
                else:
                    self._json(reply)

            def _json(self, reply: Reply) -> None:
                if reply.text is not None:
                    data, kind = reply.text.encode(), "text/html"
                elif reply.data is not None:
                    data, kind = reply.data, "application/json"
                else:
                    data, kind = json.dumps(reply.body).encode(), "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    if reply.cut_after is not None:
                        self.wfile.write(data[: reply.cut_after])
                        self.close_connection = True
                    else:
                        self._write(data, reply.drip)
                except (BrokenPipeError, ConnectionResetError):
                    server.abandoned.set()  # the client gave up waiting

            def _stream(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for event in reply.events or []:
                        line = event if isinstance(event, str) else "data: " + json.dumps(event)
                        self._write(line.encode() + b"\n\n", reply.drip)
                        if reply.pace:
                            time.sleep(reply.pace)
                except (BrokenPipeError, ConnectionResetError):
                    server.abandoned.set()

            def _write(self, data: bytes, drip: float) -> None:
                for piece in [data[i : i + 1] for i in range(len(data))] if drip else [data]:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    if drip:
                        time.sleep(drip)

            do_GET = _serve
            do_POST = _serve

        return RequestHandler


# Transport faults below HTTP ------------------------------------------------------------
class FaultServer:
    """A loopback socket that misbehaves the same way on every connection, below HTTP.

    `fault`: "reset" (reads the request, then an RST), "hang-up" (reads it, closes without a
    word), "garbage" (answers bytes that are not HTTP), "cut-body" (a JSON answer cut midway),
    "cut-chunk" (an SSE stream whose second chunk breaks off inside itself), "stall" (never
    answers), "stall-mid-stream" (one SSE event, then silence), "hang-up-once" (the first
    connection hangs up, later ones answer `ANSWER`). Python's http.server cannot
    misbehave like this, which is what servers that crash or proxies that drop do.
    """

    EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    ANSWER = (
        b'{"choices":[{"index":0,"finish_reason":"stop",'
        b'"message":{"role":"assistant","content":"ok"}}]}'
    )

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        forget_detected_backends()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._misbehave, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            more = conn.recv(65536)
            if not more:
                return
            body += more

    def _misbehave(self, conn: socket.socket) -> None:
        stream_head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            self._read_request(conn)
            if self.fault == "hang-up-once" and self.connections > 1:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(self.ANSWER), self.ANSWER)
                )
            elif self.fault == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.fault == "garbage":
                conn.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            elif self.fault == "cut-body":
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 500\r\n\r\n" + b'{"choices": [{"index": 0, "mess'
                )
            elif self.fault == "cut-chunk":
                conn.sendall(stream_head + b"%x\r\n%s\r\n" % (len(self.EVENT), self.EVENT))
                conn.sendall(b'100\r\ndata: {"choi')  # 256 bytes promised, 14 sent
            elif self.fault == "stall":
                self._stop.wait()
            elif self.fault == "stall-mid-stream":
                conn.sendall(stream_head + b"%x\r\n%s\r\n" % (len(self.EVENT), self.EVENT))
                self._stop.wait()
            elif self.fault not in ("hang-up", "hang-up-once"):
                raise ValueError(f"unknown fault {self.fault!r}")
        except OSError:
            pass
        finally:
            conn.close()
