"""A loopback /v1/embeddings server whose vectors are computed from the texts it is sent.

A vector depends on its text, so order, batching and newline handling are checked on the
result, not only on the request. It speaks the shapes the real servers do: base64 or floats,
items shuffled, error bodies, a delay to see how many requests overlap.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from array import array
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

# "base64": honours encoding_format; "floats": ignores it; "refuse": 400 on base64.
Base64Mode = Literal["base64", "floats", "refuse"]


def vector(text: str) -> list[float]:
    """Exactly representable in float32, so base64 and floats decode to the same list."""
    return [float(len(text)), float(text.count("\n")), float(sum(map(ord, text)) % 997), 0.5]


@dataclass
class EmbeddingsFake:
    base64_mode: Base64Mode = "base64"
    reverse: bool = False  # answer items in reverse order (each keeps its `index`)
    delay: float = 0.0
    # llama-server's /props (makes the backend detected as llama-server); None answers 404.
    props: dict[str, Any] | None = None
    tokenize: bool = True  # serve llama-server's /tokenize
    # llama-server's physical batch: a longer input fails the request with its 500.
    ubatch: int | None = None
    # Answered to /v1/embeddings (in order) before computing vectors: (status, body).
    errors: list[tuple[int, Any]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def inputs(self) -> list[list[str]]:
        return [body["input"] for body in self.bodies]

    def start(self) -> EmbeddingsFake:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, body: Any) -> tuple[int, Any]:
        self.paths.append(path)
        if path == "/props":
            return (200, self.props) if self.props is not None else (404, _error(404, "nope"))
        if path == "/tokenize" and self.tokenize:
            return 200, {"tokens": [0] * _tokens(body["content"])}
        if path != "/v1/embeddings":
            return 404, _error(404, "File Not Found")
        self.bodies.append(body)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.delay)
            return self._embeddings(body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _embeddings(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.errors:
            return self.errors.pop(0)
        wants_base64 = body.get("encoding_format") == "base64"
        if wants_base64 and self.base64_mode == "refuse":
            return 400, _error(400, "encoding_format must be float")
        texts = body["input"]
        too_long = [n for n in map(_tokens, texts) if self.ubatch and n > self.ubatch]
        if too_long:
            message = (
                f"input ({too_long[0]} tokens) is too large to process. increase the physical "
                f"batch size (current batch size: {self.ubatch})"
            )
            return 500, _error(500, message, "server_error")
        data = []
        for index, text in enumerate(texts):
            values = vector(text)
            if wants_base64 and self.base64_mode == "base64":
                packed = base64.b64encode(array("f", values).tobytes()).decode()
                data.append({"object": "embedding", "index": index, "embedding": packed})
            else:
                data.append({"object": "embedding", "index": index, "embedding": values})
        if self.reverse:
            data.reverse()
        tokens = sum(map(_tokens, texts))
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return 200, {"object": "list", "model": "fake", "data": data, "usage": usage}


def _tokens(text: str) -> int:
    """One token per word plus BOS: enough to tell which input is long."""
    return len(text.split()) + 1


def _error(code: int, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": kind}}


def _handler(fake: EmbeddingsFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = fake.answer(self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler
