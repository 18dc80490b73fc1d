"""A stand-in for OpenCode zen serving GLM 4.7, written from zen's documented wire format.

Used only to synthesize the cassettes in cassettes/zen/: nothing here was recorded from
opencode.ai, which these machines cannot reach. What it answers follows
shared/reference/backends.md:

- `GET /zen/v1/models` answers without a key: `{"object": "list", "data": [{"id": …}]}`.
- `POST /zen/v1/chat/completions` wants `Authorization: Bearer <key>`; anonymous calls get 401
  (403 for `-free` models); a model zen serves only over /responses or /messages gets 401
  "Model … is not supported". Error bodies use the envelope seen in public zen issue reports
  (anomalyco/opencode#29688, #44948): `{"type": "error", "error": {"type", "message"}}`.
- GLM 4.7 thinks unless `"thinking": {"type": "disabled"}`: `reasoning_content` in `message` and
  in stream `delta`s, counted in `completion_tokens_details.reasoning_tokens`.
- Requests with the same `x-opencode-session` share a prompt cache: a request that repeats the
  previous one's messages reports them in `prompt_tokens_details.cached_tokens`.

`serving()` answers requests to opencode.ai in-process, below httpx (so vcr records them as the
client sent them: same URL, same headers, same body), and lets every other host through.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import AsyncIterable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpcore
import pytest

HOST = b"opencode.ai"
FAKE_KEY = "sk-zen-fake-key-for-tests-only"
CREATED = 1795000000
CHAT_MODELS = ("glm-4.7", "glm-4.7-free", "glm-4.6", "kimi-k2")
# Served by zen, but only over /responses (OpenAI) or /messages (Anthropic).
OTHER_API_MODELS = ("gpt-5.1-codex", "claude-sonnet-4-5")


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, data: Any, **headers: str) -> Answer:
    body = json.dumps(data).encode()
    return Answer(status, body, {"content-type": "application/json", **headers})


def zen_error(status: int, kind: str, message: str, **headers: str) -> Answer:
    return _json(status, {"type": "error", "error": {"type": kind, "message": message}}, **headers)


def _tokens(data: Any) -> int:
    """A stable stand-in for a tokenizer: about four characters a token."""
    return max(1, len(json.dumps(data)) // 4)


def _digest(data: Any) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _pieces(text: str) -> list[str]:
    """Splits text the way a stream would: word by word, spaces kept."""
    return re.findall(r"\S+\s*", text)


@dataclass
class _Reply:
    reasoning: str
    text: str
    call: dict[str, Any] | None
    finish_reason: str


def _reply(body: dict[str, Any]) -> _Reply:
    """What GLM 4.7 would plausibly say: a tool call for a question when tools are offered, a
    report of the tool's result after one, a greeting otherwise."""
    thinking = (body.get("thinking") or {}).get("type") != "disabled"
    last = body["messages"][-1]
    tools = body.get("tools") or []
    if tools and last["role"] == "user":
        function = tools[0]["function"]
        city = re.sub(r"[^\w ]", "", str(last["content"])).split()[-1]
        argument = (function.get("parameters") or {}).get("required", ["city"])[0]
        call = {
            "id": "call_" + _digest(body)[:24],
            "name": function["name"],
            "arguments": json.dumps({argument: city}),
        }
        reasoning = f"The user asks about {city}. I should call {function['name']} first."
        return _Reply(reasoning if thinking else "", "", call, "tool_calls")
    if last["role"] == "tool":
        reasoning = "The tool answered. I can report its result."
        text = f"The tool says: {last['content']}."
        return _Reply(reasoning if thinking else "", text, None, "stop")
    reasoning = "The user greets me. A short, friendly greeting fits."
    return _Reply(reasoning if thinking else "", "Hello! How can I help you today?", None, "stop")


class FakeZen:
    """Answers like zen; `script()` queues error answers ahead of the normal ones."""

    def __init__(self) -> None:
        self.scripted: deque[Answer] = deque()
        # session id -> the messages of its last request (the prompt cache zen keeps per session)
        self._cache: dict[str, list[Any]] = {}

    def script(self, *answers: Answer) -> None:
        self.scripted.extend(answers)

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        if method == "GET" and path == "/zen/v1/models":
            return _json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": CREATED, "owned_by": "opencode"}
                        for m in (*CHAT_MODELS, *OTHER_API_MODELS)
                    ],
                },
            )
        if method != "POST" or path != "/zen/v1/chat/completions":
            return zen_error(404, "NotFoundError", f"{method} {path} not found")
        if self.scripted:
            return self.scripted.popleft()
        body = json.loads(raw)
        model = str(body.get("model"))
        key = headers.get("authorization")
        if key is None:
            status = 403 if model.endswith("-free") else 401
            return zen_error(status, "AuthError", "Missing API key.")
        if key != f"Bearer {FAKE_KEY}":
            return zen_error(401, "AuthError", "Invalid API key.")
        if model in OTHER_API_MODELS:
            return zen_error(
                401, "ModelError", f"Model {model} is not supported for format oa-compat"
            )
        if model not in CHAT_MODELS:
            return zen_error(401, "ModelError", f"Model {model} is not supported")
        return self._chat(body, headers.get("x-opencode-session"))

    def _usage(self, body: dict[str, Any], session: str | None, reply: _Reply) -> dict[str, Any]:
        messages = body["messages"]
        prompt = _tokens([messages, body.get("tools")])
        cached = 0
        previous = self._cache.get(session or "")
        if previous is not None and messages[: len(previous)] == previous:
            cached = min(prompt, _tokens([previous, body.get("tools")]))
        if session:
            self._cache[session] = messages
        reasoning = len(_pieces(reply.reasoning))
        completion = reasoning + len(_pieces(reply.text)) + (8 if reply.call else 0)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }

    def _chat(self, body: dict[str, Any], session: str | None) -> Answer:
        reply = _reply(body)
        usage = self._usage(body, session, reply)
        head = {"id": "chatcmpl-" + _digest(body)[:24], "created": CREATED, "model": body["model"]}
        if body.get("stream"):
            return self._stream(head, reply, usage if _wants_usage(body) else None)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        if reply.call:
            message["tool_calls"] = [_wire_call(reply.call)]
        return _json(
            200,
            {
                **head,
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
                "usage": usage,
            },
        )

    @staticmethod
    def _stream(head: dict[str, Any], reply: _Reply, usage: dict[str, Any] | None) -> Answer:
        def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return {**head, "object": "chat.completion.chunk", "choices": [choice]}

        events = [event({"role": "assistant", "content": ""})]
        events += [event({"reasoning_content": p}) for p in _pieces(reply.reasoning)]
        events += [event({"content": p}) for p in _pieces(reply.text)]
        if reply.call:
            first = {**_wire_call(reply.call), "index": 0}
            first["function"] = {"name": reply.call["name"], "arguments": ""}
            events.append(event({"tool_calls": [first]}))
            events += [
                event({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
                for p in re.findall(r".{1,8}", reply.call["arguments"])
            ]
        events.append(event({}, reply.finish_reason))
        if usage is not None:
            last = {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            events.append(last)
        lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
        return Answer(200, "".join(lines).encode(), {"content-type": "text/event-stream"})

    # In-process serving ------------------------------------------------------------------
    @contextmanager
    def serving(self) -> Iterator[FakeZen]:
        """Answers requests to opencode.ai below httpx, so vcr records them unchanged."""
        fake = self
        sync_send = httpcore.ConnectionPool.handle_request
        async_send = httpcore.AsyncConnectionPool.handle_async_request

        def handle(pool: Any, request: httpcore.Request) -> httpcore.Response:
            if request.url.host != HOST:
                return sync_send(pool, request)
            assert isinstance(request.stream, Iterable)
            raw = b"".join(request.stream)
            return _response(fake, request, raw)

        async def handle_async(pool: Any, request: httpcore.Request) -> httpcore.Response:
            if request.url.host != HOST:
                return await async_send(pool, request)
            assert isinstance(request.stream, AsyncIterable)
            raw = b"".join([part async for part in request.stream])
            return _response(fake, request, raw)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(httpcore.ConnectionPool, "handle_request", handle)
            patch.setattr(httpcore.AsyncConnectionPool, "handle_async_request", handle_async)
            yield self


def _wants_usage(body: dict[str, Any]) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def _wire_call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": call["arguments"]},
    }


def _response(fake: FakeZen, request: httpcore.Request, raw: bytes) -> httpcore.Response:
    headers = {k.decode().lower(): v.decode() for k, v in request.headers}
    path = request.url.target.decode().split("?")[0]
    answer = fake.answer(request.method.decode(), path, headers, raw)
    headers_out = list(answer.headers.items())
    return httpcore.Response(answer.status, headers=headers_out, content=answer.body)
