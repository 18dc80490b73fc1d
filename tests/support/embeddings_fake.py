"""Computed /v1/embeddings answers, served by the loopback fake server (fake_servers.py).

A vector depends on its text, so order, batching and newline handling are checked on the
result, not only on the request. It speaks the shapes the real servers do: base64 or floats,
items shuffled, error bodies, a delay to see how many requests overlap.
"""

from __future__ import annotations

import base64
import threading
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from .fake_servers import FakeServer, Reply, Seen, error

EMBEDDINGS = "/v1/embeddings"


@pytest.fixture(name="fake")
def embeddings_fake(fake: FakeServer) -> EmbeddingsFake:
    """`fake` for a test module that imports this: the loopback fake server, answering
    /v1/embeddings with vectors computed from the texts."""
    return EmbeddingsFake(fake)

# "base64": honours encoding_format; "floats": ignores it; "refuse": 400 on base64.
Base64Mode = Literal["base64", "floats", "refuse"]


def vector(text: str) -> list[float]:
    """Exactly representable in float32, so base64 and floats decode to the same list."""
    return [float(len(text)), float(text.count("\n")), float(sum(map(ord, text)) % 997), 0.5]


@dataclass
class EmbeddingsFake:
    """Answers /v1/embeddings (and llama-server's /tokenize) on `server` from the texts sent."""

    server: FakeServer
    base64_mode: Base64Mode = "base64"
    reverse: bool = False  # answer items in reverse order (each keeps its `index`)
    delay: float = 0.0
    tokenize: bool = True  # serve llama-server's /tokenize
    # llama-server's physical batch: a longer input fails the request with its 500.
    ubatch: int | None = None
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.handle(EMBEDDINGS, self._embeddings)
        self.server.handle("/tokenize", self._tokenize)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.server.seen]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [s.body for s in self.server.requests_to(EMBEDDINGS)]

    @property
    def inputs(self) -> list[list[str]]:
        return [body["input"] for body in self.bodies]

    def fail(self, *errors: tuple[int, Any]) -> None:
        """Answers the next /v1/embeddings requests with these (status, body), in order."""
        self.server.reply(EMBEDDINGS, *(Reply(status, body) for status, body in errors))

    def _tokenize(self, seen: Seen) -> Reply | None:
        if not self.tokenize:
            return None  # not served: the fake answers 404, as servers without it do
        return Reply(body={"tokens": [0] * _tokens(seen.body["content"])})

    def _embeddings(self, seen: Seen) -> Reply:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.delay)
            return self._vectors(seen.body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _vectors(self, body: dict[str, Any]) -> Reply:
        wants_base64 = body.get("encoding_format") == "base64"
        if wants_base64 and self.base64_mode == "refuse":
            return Reply(400, error(400, "encoding_format must be float"))
        texts = body["input"]
        too_long = [n for n in map(_tokens, texts) if self.ubatch and n > self.ubatch]
        if too_long:
            message = (
                f"input ({too_long[0]} tokens) is too large to process. increase the physical "
                f"batch size (current batch size: {self.ubatch})"
            )
            return Reply(500, error(500, message, "server_error"))
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
        return Reply(body={"object": "list", "model": "fake", "data": data, "usage": usage})


def _tokens(text: str) -> int:
    """One token per word plus BOS: enough to tell which input is long."""
    return len(text.split()) + 1
