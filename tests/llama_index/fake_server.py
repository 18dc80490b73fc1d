"""A loopback HTTP server that answers with canned bodies and keeps what it was sent.

Real sockets, so the tests exercise zenllama's real transport (the openai SDK over httpx).
The canned bodies are the wire shapes of shared/reference/backends.md.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class FakeServer:
    # llama-server's /props; None answers 404, as other OpenAI-compatible servers do.
    props: dict[str, Any] | None = None
    requests: list[Request] = field(default_factory=list)
    _replies: deque[Reply] = field(default_factory=deque)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def reply_json(self, body: Any, status: int = 200) -> None:
        self._replies.append(Reply(status, json.dumps(body).encode()))

    def reply_sse(self, events: list[Any], *, done: bool = True) -> None:
        """Dicts become `data:` events, strings are sent as they are (comments, pings)."""
        lines = [e if isinstance(e, str) else f"data: {json.dumps(e)}" for e in events]
        if done:
            lines.append("data: [DONE]")
        self._replies.append(Reply(200, "\n\n".join([*lines, ""]).encode(), "text/event-stream"))

    @property
    def chat_bodies(self) -> list[Any]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Request(self.command, self.path, headers, body))

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self._record()
                if self.path == "/props" and server.props is not None:
                    self._send(Reply(200, json.dumps(server.props).encode()))
                else:
                    error = {"error": {"code": 404, "message": "File Not Found"}}
                    self._send(Reply(404, json.dumps(error).encode()))

            def do_POST(self) -> None:
                self._record()
                if server._replies:
                    self._send(server._replies.popleft())
                else:
                    error = {"error": {"code": 500, "message": "the test queued no reply"}}
                    self._send(Reply(500, json.dumps(error).encode()))

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


# Canned bodies ----------------------------------------------------------------------------
TIMINGS = {"cache_n": 0, "prompt_n": 25, "prompt_ms": 105.7, "predicted_n": 30, "predicted_ms": 942}

LLAMA_PROPS = {
    "default_generation_settings": {"n_ctx": 8192},
    "n_ctx": 8192,
    "total_slots": 2,
    "chat_template": "…",
}

# llama-server, Qwen3 template, non-streaming: reasoning_content, cached_tokens, timings.
REASONING_ANSWER: dict[str, Any] = {
    "choices": [
        {
            "finish_reason": "stop",
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello there!",
                "reasoning_content": "The user greets me.\n",
            },
        }
    ],
    "created": 1795547803,
    "model": "gemma.gguf",
    "object": "chat.completion",
    "usage": {
        "completion_tokens": 30,
        "prompt_tokens": 25,
        "total_tokens": 55,
        "prompt_tokens_details": {"cached_tokens": 5},
    },
    "id": "chatcmpl-1",
    "timings": TIMINGS,
}

# zen GLM 4.7: reasoning tokens in completion_tokens_details.
ZEN_ANSWER: dict[str, Any] = {
    "id": "chatcmpl-zen",
    "model": "glm-4.7",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2 is 4."},
        }
    ],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 9,
        "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 6},
    },
}


def tool_call_answer(
    arguments: str, *, name: str = "get_weather", call_id: str | None = "call_1"
) -> dict[str, Any]:
    """llama-server's tool-call answer."""
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id:
        call["id"] = call_id
    return {
        "id": "chatcmpl-2",
        "model": "gemma.gguf",
        "choices": [
            {
                "finish_reason": "tool_calls",
                "index": 0,
                "message": {"role": "assistant", "content": "", "tool_calls": [call]},
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-3",
        "model": "gemma.gguf",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "finish_reason": finish_reason, "delta": delta}],
    }


USAGE_CHUNK: dict[str, Any] = {
    "id": "chatcmpl-3",
    "model": "gemma.gguf",
    "object": "chat.completion.chunk",
    "choices": [],
    "usage": {
        "completion_tokens": 7,
        "prompt_tokens": 20,
        "total_tokens": 27,
        "prompt_tokens_details": {"cached_tokens": 3},
    },
    "timings": TIMINGS,
}


def reasoning_stream() -> list[Any]:
    """llama-server streaming: reasoning deltas, text deltas, finish, usage + timings."""
    return [
        _chunk({"role": "assistant", "content": None}),
        _chunk({"reasoning_content": "The user "}),
        ": ping",
        _chunk({"reasoning_content": "greets me."}),
        _chunk({"content": "Hello"}),
        _chunk({"content": " there!"}),
        _chunk({}, "stop"),
        USAGE_CHUNK,
    ]


def tool_call_stream(
    pieces: list[str], *, name: str = "get_weather", reasoning: str = ""
) -> list[Any]:
    """OpenAI-style streamed call: id and name once, then the arguments in pieces."""
    head = {
        "index": 0,
        "id": "call_s1",
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    events: list[Any] = [_chunk({"reasoning_content": reasoning})] if reasoning else []
    events.append(_chunk({"tool_calls": [head]}))
    events += [
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in pieces
    ]
    events += [_chunk({}, "tool_calls"), USAGE_CHUNK]
    return events


def text_stream(*pieces: str, reasoning: str = "") -> list[Any]:
    events: list[Any] = [_chunk({"reasoning_content": reasoning})] if reasoning else []
    events += [_chunk({"content": piece}) for piece in pieces]
    return [*events, _chunk({}, "stop"), USAGE_CHUNK]
