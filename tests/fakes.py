"""A scripted OpenAI-compatible server on loopback, for offline tests of the real transport.

Each path has a queue of replies; every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    # SSE events: dicts are sent as `data: <json>`, strings as raw lines (comments, [DONE]).
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds between events, so a test can abandon a stream while it is going.
    pace: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def sse(*events: Any, done: bool = True) -> list[Any]:
    return [*events, "data: [DONE]"] if done else list(events)


class FakeServer:
    def __init__(self) -> None:
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.seen: list[Seen] = []
        self.abandoned = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
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
        self.reply("/v1/chat/completions", *replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                server.seen.append(
                    Seen(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                queue = server.replies.get(self.path)
                reply = (
                    queue.popleft()
                    if queue
                    else Reply(
                        404,
                        {
                            "error": {
                                "code": 404,
                                "message": "File Not Found",
                                "type": "not_found_error",
                            }
                        },
                    )
                )
                if reply.events is not None:
                    self._stream(reply)
                else:
                    self._json(reply)

            def _json(self, reply: Reply) -> None:
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for event in reply.events or []:
                        line = event if isinstance(event, str) else "data: " + json.dumps(event)
                        self.wfile.write(line.encode() + b"\n\n")
                        self.wfile.flush()
                        if reply.pace:
                            time.sleep(reply.pace)
                except (BrokenPipeError, ConnectionResetError):
                    server.abandoned.set()

            do_GET = _serve
            do_POST = _serve

        return Handler
