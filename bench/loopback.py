"""A loopback OpenAI-compatible server that answers at line rate, shaped like llama-server.

Every answer is precomputed bytes written with one `sendall`, so the server costs ~nothing and
what a benchmark measures is the client. It runs in a subprocess (`LoopbackServer`) so its
work never competes with the client for the GIL.

    python -m bench.loopback    # serve on a free port until Ctrl-C, for poking at by hand

Chat models (the request's `model` picks the stream):
  `bench-plain`      N_CHUNKS content deltas
  `bench-reasoning`  N_REASONING_CHUNKS `reasoning_content` deltas, then the rest as content
Each stream ends like llama-server's: the finish chunk, a usage + timings chunk with
`"choices": []`, then `data: [DONE]`. Events are sent one HTTP chunk each, as llama-server does.
  `bench-small`      (whole answers) SMALL_TEXT: the small call whose overhead the floors bound
Without `stream`, the same answer comes whole, with usage and timings.
POST /v1/messages and /v1/responses stream the same deltas in Anthropic Messages and OpenAI
Responses events (thinking_delta / reasoning_summary_text.delta for the reasoning part), and
answer whole in each API's message / response object without `stream`.

POST /v1/embeddings answers one EMBED_DIMS vector per input, in index order, as JSON floats or
(`encoding_format: "base64"`) as base64 of little-endian float32. GET /v1/models answers in
llama-server's two-list shape, GET /props with `default_generation_settings` and `total_slots`
(so zenllama detects llama-server).
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import socket
import struct
import subprocess
import sys
import threading
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

N_CHUNKS = 2000
N_REASONING_CHUNKS = 400
PLAIN_MODEL = "bench-plain"
REASONING_MODEL = "bench-reasoning"
SMALL_MODEL = "bench-small"
SMALL_TEXT = "Hello! How can I help you today?"
MODEL_NAMES = (PLAIN_MODEL, REASONING_MODEL, SMALL_MODEL)
EMBED_MODEL = "bench-embed"
EMBED_DIMS = 768

_CREATED = 1_764_000_000
_ID = "chatcmpl-bench0000000000000000000000"
_FINGERPRINT = "b7100-bench"
_WORDS = (" the", " quick", " brown", " fox", " jumps", " over", " a", " lazy", " dog", ".")
_TIMINGS = {
    "cache_n": 0,
    "prompt_n": 12,
    "prompt_ms": 8.1,
    "prompt_per_token_ms": 0.675,
    "prompt_per_second": 1481.5,
    "predicted_n": N_CHUNKS,
    "predicted_ms": 9876.5,
    "predicted_per_token_ms": 4.938,
    "predicted_per_second": 202.5,
}


def token(i: int) -> str:
    return _WORDS[i % len(_WORDS)]


def expected_text(model: str) -> str:
    """The content (no reasoning) a client should collect from the answer of `model`."""
    if model == SMALL_MODEL:
        return SMALL_TEXT
    first = N_REASONING_CHUNKS if model == REASONING_MODEL else 0
    return "".join(token(i) for i in range(first, N_CHUNKS))


def expected_reasoning(model: str) -> str:
    last = N_REASONING_CHUNKS if model == REASONING_MODEL else 0
    return "".join(token(i) for i in range(last))


def _chunk(model: str, choices: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "choices": choices,
        "created": _CREATED,
        "id": _ID,
        "model": model,
        "system_fingerprint": _FINGERPRINT,
        "object": "chat.completion.chunk",
        **extra,
    }


def _delta(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return _chunk(model, [{"finish_reason": finish_reason, "index": 0, "delta": delta}])


def _output_tokens(model: str) -> int:
    return 9 if model == SMALL_MODEL else N_CHUNKS


def _usage(model: str) -> dict[str, int]:
    out = _output_tokens(model)
    return {"completion_tokens": out, "prompt_tokens": 12, "total_tokens": out + 12}


def _sse_events(model: str) -> list[dict[str, Any]]:
    reasoning = N_REASONING_CHUNKS if model == REASONING_MODEL else 0
    events = [_delta(model, {"role": "assistant", "content": None})]
    for i in range(N_CHUNKS):
        key = "reasoning_content" if i < reasoning else "content"
        events.append(_delta(model, {key: token(i)}))
    events.append(_delta(model, {}, "stop"))
    events.append(_chunk(model, [], usage=_usage(model), timings=_TIMINGS))
    return events


def _http(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _json(data: Any) -> bytes:
    return _http(json.dumps(data, separators=(",", ":")).encode())


def _reasoning_chunks(model: str) -> int:
    return N_REASONING_CHUNKS if model == REASONING_MODEL else 0


def _messages_events(model: str) -> list[dict[str, Any]]:
    """Anthropic Messages events, as llama-server's /v1/messages streams them."""
    reasoning = _reasoning_chunks(model)
    usage = {"input_tokens": 12, "cache_read_input_tokens": 0, "output_tokens": 0}
    message: dict[str, Any] = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "usage": usage,
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    blocks = [
        ("thinking", "thinking_delta", range(reasoning)),
        ("text", "text_delta", range(reasoning, N_CHUNKS)),
    ]
    for index, (kind, delta, span) in enumerate(b for b in blocks if len(b[2])):
        start = {"type": kind, kind: "", **({"signature": ""} if kind == "thinking" else {})}
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": delta, kind: token(i)},
            }
            for i in span
        ]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": N_CHUNKS},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _responses_events(model: str) -> list[dict[str, Any]]:
    """OpenAI Responses events, as the Responses API streams them."""
    reasoning = _reasoning_chunks(model)
    response: dict[str, Any] = {
        "id": "resp_bench",
        "object": "response",
        "created_at": _CREATED,
        "model": model,
        "status": "in_progress",
        "output": [],
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "sequence_number": 0, "response": response}
    ]
    output: list[dict[str, Any]] = []
    if reasoning:
        item: dict[str, Any] = {"type": "reasoning", "id": "rs_bench", "summary": []}
        events.append({"type": "response.output_item.added", "output_index": 0, "item": item})
        events += [
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": "rs_bench",
                "output_index": 0,
                "summary_index": 0,
                "delta": token(i),
            }
            for i in range(reasoning)
        ]
        text = "".join(token(i) for i in range(reasoning))
        item = {**item, "summary": [{"type": "summary_text", "text": text}]}
        events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
        output.append(item)
    at = len(output)
    message: dict[str, Any] = {
        "type": "message",
        "id": "msg_bench",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    events.append({"type": "response.output_item.added", "output_index": at, "item": message})
    events.append(
        {
            "type": "response.content_part.added",
            "item_id": "msg_bench",
            "output_index": at,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        }
    )
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_bench",
            "output_index": at,
            "content_index": 0,
            "delta": token(i),
        }
        for i in range(reasoning, N_CHUNKS)
    ]
    part = {"type": "output_text", "text": expected_text(model), "annotations": []}
    message = {**message, "status": "completed", "content": [part]}
    events.append({"type": "response.output_item.done", "output_index": at, "item": message})
    output.append(message)
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": N_CHUNKS,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": N_CHUNKS + 12,
    }
    done = {**response, "status": "completed", "output": output, "usage": usage}
    events.append({"type": "response.completed", "response": done})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def _messages_whole(model: str) -> dict[str, Any]:
    """An Anthropic Messages answer without `stream`: one message object."""
    content: list[dict[str, Any]] = []
    if model == REASONING_MODEL:
        content.append({"type": "thinking", "thinking": expected_reasoning(model), "signature": ""})
    content.append({"type": "text", "text": expected_text(model)})
    usage = {"input_tokens": 12, "output_tokens": _output_tokens(model)}
    return {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {**usage, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def _responses_whole(model: str) -> dict[str, Any]:
    """An OpenAI Responses answer without `stream`: one completed response object."""
    output: list[dict[str, Any]] = []
    reasoning = expected_reasoning(model)
    if reasoning:
        summary = [{"type": "summary_text", "text": reasoning}]
        output.append({"type": "reasoning", "id": "rs_bench", "summary": summary})
    part = {"type": "output_text", "text": expected_text(model), "annotations": []}
    output.append(
        {
            "type": "message",
            "id": "msg_bench",
            "role": "assistant",
            "status": "completed",
            "content": [part],
        }
    )
    out = _output_tokens(model)
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": _CREATED,
        "model": model,
        "status": "completed",
        "output": output,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": _reasoning_chunks(model)},
            "total_tokens": out + 12,
        },
    }


@cache
def wire_whole_response(route: str, model: str) -> bytes:
    """The whole answer (no `stream`) over Anthropic Messages or OpenAI Responses."""
    return _json(_messages_whole(model) if route.endswith("messages") else _responses_whole(model))


def _chunked(lines: list[str]) -> bytes:
    """An SSE answer, HTTP chunked framing included: one HTTP chunk per event."""
    parts = [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    ]
    for line in lines:
        data = line.encode()
        parts.append(b"%x\r\n%s\r\n" % (len(data), data))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def _compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


@cache
def stream_response(model: str) -> bytes:
    lines = [f"data: {_compact(e)}\n\n" for e in _sse_events(model)]
    return _chunked([*lines, "data: [DONE]\n\n"])


@cache
def wire_stream_response(route: str, model: str) -> bytes:
    """The same stream over Anthropic Messages or OpenAI Responses (named SSE events)."""
    events = _messages_events(model) if route.endswith("messages") else _responses_events(model)
    return _chunked([f"event: {e['type']}\ndata: {_compact(e)}\n\n" for e in events])


@cache
def completion_response(model: str) -> bytes:
    return _json(
        {
            "choices": [
                {
                    "finish_reason": "stop",
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": expected_text(model),
                        **(
                            {"reasoning_content": expected_reasoning(model)}
                            if model == REASONING_MODEL
                            else {}
                        ),
                    },
                }
            ],
            "created": _CREATED,
            "id": _ID,
            "model": model,
            "system_fingerprint": _FINGERPRINT,
            "object": "chat.completion",
            "usage": _usage(model),
            "timings": _TIMINGS,
        }
    )


@cache
def server_vectors(n: int) -> list[list[float]]:
    rng = random.Random(n)
    return [[rng.uniform(-0.1, 0.1) for _ in range(EMBED_DIMS)] for _ in range(n)]


@cache
def embeddings_response(n: int, encoding_format: str) -> bytes:
    """`n` vectors in index order, as float lists or as base64 of little-endian float32."""
    items: list[dict[str, Any]] = []
    for index, vector in enumerate(server_vectors(n)):
        embedding: Any = vector
        if encoding_format == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        items.append({"index": index, "embedding": embedding, "object": "embedding"})
    return _json(
        {
            "model": EMBED_MODEL,
            "object": "list",
            "usage": {"prompt_tokens": 8 * n, "total_tokens": 8 * n},
            "data": items,
        }
    )


MODELS = _json(
    {
        "models": [{"name": PLAIN_MODEL, "model": PLAIN_MODEL, "type": "model"}],
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": _CREATED, "owned_by": "llamacpp"}
            for m in (*MODEL_NAMES, EMBED_MODEL)
        ],
    }
)
PROPS = _json(
    {
        "default_generation_settings": {"n_ctx": 8192, "params": {"temperature": 0.8}},
        "total_slots": 1,
        "model_path": "/models/bench.gguf",
        "chat_template": "{{ messages }}",
        "build_info": _FINGERPRINT,
    }
)
HEALTH = _json({"status": "ok"})


def _not_found(path: str) -> bytes:
    error = {"code": 404, "message": f"no {path}", "type": "not_found_error"}
    return _http(json.dumps({"error": error}).encode(), "404 Not Found")


def answer(method: bytes, path: bytes, body: bytes) -> bytes:
    """The whole HTTP answer (head and body, one write) to one request."""
    route = path.split(b"?")[0].rstrip(b"/").decode()
    if method == b"GET":
        answers = {"/v1/models": MODELS, "/models": MODELS, "/props": PROPS, "/health": HEALTH}
        return answers.get(route) or _not_found(route)
    request = json.loads(body or b"{}")
    if route in ("/v1/chat/completions", "/chat/completions"):
        model = request.get("model")
        if model not in MODEL_NAMES:
            model = PLAIN_MODEL
        if request.get("stream") and model != SMALL_MODEL:
            return stream_response(model)
        return completion_response(model)
    if route in ("/v1/messages", "/v1/responses"):
        model = request.get("model")
        if model not in MODEL_NAMES:
            model = PLAIN_MODEL
        if request.get("stream") and model != SMALL_MODEL:
            return wire_stream_response(route, model)
        return wire_whole_response(route, model)
    if route in ("/v1/embeddings", "/embeddings"):
        texts = request.get("input")
        n = len(texts) if isinstance(texts, list) else 1
        return embeddings_response(n, request.get("encoding_format") or "float")
    return _not_found(route)


def _serve_connection(conn: socket.socket) -> None:
    """HTTP/1.1 keep-alive with as little parsing as will do: the request line and
    Content-Length (every client here sends one), so each request costs the server ~nothing."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, path, _ = lines[0].split(b" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            body, buffer = buffer[:length], buffer[length:]
            try:
                conn.sendall(answer(method, path, body))
            except OSError:  # the client hung up mid-answer
                return


def serve(port: int = 0) -> None:
    """Serves on 127.0.0.1:`port` (0: a free one), a thread per connection, and prints
    `port N` once ready."""
    for model in MODEL_NAMES:
        completion_response(model)
        for route in ("/v1/messages", "/v1/responses"):
            wire_whole_response(route, model)
            if model != SMALL_MODEL:
                wire_stream_response(route, model)
        if model != SMALL_MODEL:
            stream_response(model)
    listener = socket.create_server(("127.0.0.1", port))
    print(f"port {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve_connection, args=(conn,), daemon=True).start()


class LoopbackServer:
    """Runs `serve()` in a subprocess; `base_url` ends in /v1."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> LoopbackServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.loopback"],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("port "):
            self._process.kill()
            raise RuntimeError(f"the loopback server did not start: {line!r}")
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        serve()
