"""A stand-in for OpenCode zen on its three wires, written from zen's documented wire format.

Used only to synthesize the cassettes in cassettes/zen/: nothing here was recorded from
opencode.ai, which these machines cannot reach. What it answers follows zen's documentation
(https://opencode.ai/docs/zen) and the OpenAI / Anthropic API references:

- `GET /zen/v1/models` answers without a key: `{"object": "list", "data": [{"id": …}]}`.
- `POST /zen/v1/chat/completions` wants `Authorization: Bearer <key>`; anonymous calls get 401
  (403 for `-free` models); a model zen serves only over /responses or /messages gets 401
  "Model … is not supported". Error bodies use the envelope seen in public zen issue reports
  (anomalyco/opencode#29688, #44948): `{"type": "error", "error": {"type", "message"}}`.
- GLM 4.7 thinks unless `"thinking": {"type": "disabled"}`: `reasoning_content` in `message` and
  in stream `delta`s, counted in `completion_tokens_details.reasoning_tokens`.
- Requests with the same `x-opencode-session` share a prompt cache: a request that repeats the
  previous one's messages reports them in `prompt_tokens_details.cached_tokens`.
- claude-* on `POST /zen/v1/messages` (Anthropic Messages: `anthropic-version` required,
  thinking only when asked, each thinking block signed, a tampered signature sent back is a
  400; prompt caching as Anthropic documents it, below), gpt-* on `POST /zen/v1/responses`
  (OpenAI Responses: reasoning summaries when asked, `encrypted_content` when included, which
  must come back unchanged, cache reads in `usage.input_tokens_details.cached_tokens`). Any
  other model on those paths gets zen's 401 "not supported for format …". Streams follow
  wire_streams.py.

Claude's prompt cache follows https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
(not zen's session header): only prefixes ending at a `cache_control` breakpoint are written
(tools -> system -> messages), only once they reach the model's minimum (`CACHE_MINIMUMS`), at
most 4 breakpoints (a 5th is a 400); a later request reads the longest written prefix found at a
breakpoint or up to 20 blocks before it. Usage: `input_tokens` (fresh only),
`cache_creation_input_tokens`, `cache_read_input_tokens`, `cache_creation.ephemeral_5m/1h_*`.

`serving()` answers requests to opencode.ai in-process, below httpx (so vcr records them as the
client sent them: same URL, same headers, same body), and lets every other host through.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections import deque
from collections.abc import AsyncIterable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from zenllama.core.httpx_compat import HTTPX_MODULE

from .wire_streams import messages_sse, responses_sse

# The connection layer below the SDK's httpx generation (httpx2 runs on httpcore2).
httpcore = importlib.import_module("httpcore2" if HTTPX_MODULE == "httpx2" else "httpcore")

HOST = b"opencode.ai"
FAKE_KEY = "sk-zen-fake-key-for-tests-only"
CREATED = 1795000000
CHAT_MODELS = ("glm-4.7", "glm-4.7-free", "glm-4.6", "kimi-k2")
MESSAGES_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
RESPONSES_MODELS = ("gpt-5.1-codex", "gpt-5.1")
GOOGLE_MODELS = ("gemini-3-pro",)
# Served by zen, but not over chat completions.
OTHER_API_MODELS = (*RESPONSES_MODELS, *MESSAGES_MODELS, *GOOGLE_MODELS)
# Anthropic's minimum cacheable prompt per model (the prompt-caching page's limitations).
CACHE_MINIMUMS = {"claude-sonnet-4-5": 1024, "claude-haiku-4-5": 4096}
# How far before a breakpoint a cache hit is looked for (the same page: 20 blocks).
CACHE_LOOKBACK = 20
# zen's name for each path's format, as its "not supported for format …" errors say it.
FORMATS = {
    "/zen/v1/chat/completions": ("oa-compat", CHAT_MODELS),
    "/zen/v1/messages": ("anthropic", MESSAGES_MODELS),
    "/zen/v1/responses": ("openai", RESPONSES_MODELS),
}


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
        # Claude: digest of a written prefix (its blocks, marks left out) -> its tokens
        self._claude_cache: dict[str, int] = {}

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
        if method != "POST" or path not in FORMATS:
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
        format_name, served = FORMATS[path]
        if model in (*CHAT_MODELS, *OTHER_API_MODELS) and model not in served:
            return zen_error(
                401, "ModelError", f"Model {model} is not supported for format {format_name}"
            )
        if model not in served:
            return zen_error(401, "ModelError", f"Model {model} is not supported")
        session = headers.get("x-opencode-session")
        if path.endswith("/messages"):
            if "anthropic-version" not in headers:
                return zen_error(
                    400, "invalid_request_error", "anthropic-version: header is required"
                )
            return self.messages(body, session)
        if path.endswith("/responses"):
            return self.responses(body, session)
        return self._chat(body, session)

    def _cached(self, turns: list[Any], tools: Any, session: str | None) -> tuple[int, int]:
        """(prompt tokens, of which cached) for a request's turns."""
        prompt = _tokens([turns, tools])
        cached = 0
        previous = self._cache.get(session or "")
        if previous is not None and turns[: len(previous)] == previous:
            cached = min(prompt, _tokens([previous, tools]))
        if session:
            self._cache[session] = turns
        return prompt, cached

    def _usage(self, body: dict[str, Any], session: str | None, reply: _Reply) -> dict[str, Any]:
        prompt, cached = self._cached(body["messages"], body.get("tools"), session)
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

    # Anthropic Messages (claude-*) -------------------------------------------------------
    def messages(self, body: dict[str, Any], session: str | None) -> Answer:
        for turn in body["messages"]:
            for block in turn["content"] if isinstance(turn["content"], list) else ():
                if block.get("type") == "thinking" and block.get("signature") != _signed(
                    block.get("thinking", "")
                ):
                    return zen_error(
                        400, "invalid_request_error", "Invalid `signature` in `thinking` block"
                    )
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled" and not _thinking_leads_tool_loop(body["messages"]):
            # Anthropic's extended-thinking docs: the assistant turn of an ongoing tool loop
            # goes back starting with its thinking block, signature and all.
            return zen_error(
                400,
                "invalid_request_error",
                "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When "
                "`thinking` is enabled, a final `assistant` message must start with a thinking "
                "block.",
            )
        if thinking.get("type") == "enabled" and (body.get("tool_choice") or {}).get("type") in (
            "any",
            "tool",
        ):
            return zen_error(
                400,
                "invalid_request_error",
                "Thinking may not be enabled when tool_choice forces tool use.",
            )
        if thinking.get("type") == "enabled" and body["max_tokens"] <= thinking["budget_tokens"]:
            return zen_error(
                400, "invalid_request_error", "`max_tokens` must be greater than `budget_tokens`"
            )
        reply = _reply(_neutral_messages(body))
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            thinking = reply.reasoning
            content.append(
                {"type": "thinking", "thinking": thinking, "signature": _signed(thinking)}
            )
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        if reply.call:
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_" + reply.call["id"][5:],
                    "name": reply.call["name"],
                    "input": json.loads(reply.call["arguments"]),
                }
            )
        cache = self._claude_cached(body)
        if isinstance(cache, Answer):
            return cache
        fresh, written, read, by_ttl = cache
        answer = {
            "id": "msg_" + _digest(body)[:24],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "tool_use" if reply.call else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": fresh,
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": read,
                "cache_creation": by_ttl,
                "output_tokens": _completion_tokens(reply),
            },
        }
        if body.get("stream"):
            return _sse(messages_sse(answer))
        return _json(200, answer)

    def _claude_cached(self, body: dict[str, Any]) -> tuple[int, int, int, dict[str, int]] | Answer:
        """(fresh, written, read input tokens, writes by TTL) of a Messages request, or the
        API's 400 for too many breakpoints."""
        blocks = _prefix_blocks(body)
        marks = [i for i, (_, mark) in enumerate(blocks) if mark]
        if len(marks) > 4:
            return zen_error(
                400,
                "invalid_request_error",
                f"A maximum of 4 blocks with cache_control may be provided. Found {len(marks)}.",
            )
        ends: list[int] = []  # tokens of the prefix ending at each block
        for block, _ in blocks:
            ends.append((ends[-1] if ends else 0) + _tokens(block))
        keys = [_digest([b for b, _ in blocks[: i + 1]]) for i in range(len(blocks))]
        read = 0
        for mark in marks:
            for i in range(mark, max(-1, mark - CACHE_LOOKBACK - 1), -1):
                if keys[i] in self._claude_cache:
                    read = max(read, ends[i])
                    break
        minimum = CACHE_MINIMUMS.get(str(body["model"]), 1024)
        written, ttl = 0, "5m"
        for mark in marks:
            if ends[mark] >= minimum and keys[mark] not in self._claude_cache:
                self._claude_cache[keys[mark]] = ends[mark]
                if ends[mark] > read:
                    written, ttl = ends[mark] - read, blocks[mark][1].get("ttl", "5m")
        total = ends[-1] if ends else 0
        by_ttl = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
        by_ttl[f"ephemeral_{ttl}_input_tokens"] = written
        return total - read - written, written, read, by_ttl

    # OpenAI Responses (gpt-*) -------------------------------------------------------------
    def responses(self, body: dict[str, Any], session: str | None) -> Answer:
        for item in body["input"]:
            encrypted = item.get("encrypted_content") if isinstance(item, dict) else None
            if encrypted is not None and encrypted != _encrypted(item):
                return zen_error(
                    400, "invalid_request_error", "The encrypted content could not be verified."
                )
        if _reasoning_missing_from_tool_loop(body):
            # Stateless reasoning models want each reasoning item back with its function call
            # (OpenAI's reasoning guide, "Keeping reasoning items in context").
            return zen_error(
                400,
                "invalid_request_error",
                "A `function_call` item was provided without its required `reasoning` item.",
            )
        reply = _reply(_neutral_responses(body))
        reasoning = body.get("reasoning") or {}
        output: list[dict[str, Any]] = []
        if reply.reasoning:
            item: dict[str, Any] = {"type": "reasoning", "id": "rs_" + _digest(body)[:24]}
            item["summary"] = (
                [{"type": "summary_text", "text": reply.reasoning}]
                if reasoning.get("summary")
                else []
            )
            if "reasoning.encrypted_content" in (body.get("include") or ()):
                item["encrypted_content"] = _encrypted(item)
            output.append(item)
        if reply.text:
            output.append(
                {
                    "type": "message",
                    "id": "msg_" + _digest(body)[:24],
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
                }
            )
        if reply.call:
            output.append(
                {
                    "type": "function_call",
                    "id": "fc_" + reply.call["id"][5:],
                    "call_id": reply.call["id"],
                    "name": reply.call["name"],
                    "arguments": reply.call["arguments"],
                    "status": "completed",
                }
            )
        prompt, cached = self._cached(body["input"], body.get("tools"), session)
        reasoning_tokens = len(_pieces(reply.reasoning))
        completion = _completion_tokens(reply)
        answer = {
            "id": "resp_" + _digest(body)[:24],
            "object": "response",
            "created_at": CREATED,
            "model": body["model"],
            "status": "completed",
            "output": output,
            "usage": {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": completion,
                "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                "total_tokens": prompt + completion,
            },
        }
        if body.get("stream"):
            return _sse(responses_sse(answer))
        return _json(200, answer)

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


def _thinking_leads_tool_loop(turns: list[dict[str, Any]]) -> bool:
    """False when a tool loop is going on (tool results last) and its assistant turn does not
    start with thinking."""
    last = turns[-1]["content"] if turns else ""
    if not isinstance(last, list) or not any(b.get("type") == "tool_result" for b in last):
        return True
    assistant = next((t for t in reversed(turns) if t["role"] == "assistant"), None)
    blocks = assistant["content"] if assistant is not None else []
    return bool(blocks) and blocks[0].get("type") in ("thinking", "redacted_thinking")


def _reasoning_missing_from_tool_loop(body: dict[str, Any]) -> bool:
    """True when the model reasons, function call outputs come last, and the calls since the
    last user message came without a reasoning item."""
    if (body.get("reasoning") or {}).get("effort") == "minimal":
        return False
    items = body["input"]
    if not items or items[-1].get("type") != "function_call_output":
        return False
    users = [i for i, item in enumerate(items) if item.get("role") == "user"]
    loop = items[users[-1] + 1 if users else 0 :]
    kinds = {item.get("type") for item in loop}
    return "function_call" in kinds and "reasoning" not in kinds


def _signed(thinking: str) -> str:
    """The fake's thinking signature: opaque to the client, checked when it comes back."""
    return "sig-" + hashlib.sha256(thinking.encode()).hexdigest()[:32] + "=="


def _encrypted(item: dict[str, Any]) -> str:
    """The fake's encrypted reasoning: bound to the item's id and summary."""
    return "enc-" + _digest([item.get("id"), item.get("summary")])


def _completion_tokens(reply: _Reply) -> int:
    return len(_pieces(reply.reasoning)) + len(_pieces(reply.text)) + (8 if reply.call else 0)


def _sse(lines: list[str]) -> Answer:
    return Answer(200, ("\n".join(lines) + "\n").encode(), {"content-type": "text/event-stream"})


def _neutral_messages(body: dict[str, Any]) -> dict[str, Any]:
    """A Messages request as `_reply` reads requests: last turn, tools, thinking."""
    last = body["messages"][-1]
    content = last["content"]
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    if results and blocks[-1].get("type") == "tool_result":  # else a question follows them
        neutral_last = {"role": "tool", "content": results[-1]["content"]}
    else:
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        neutral_last = {"role": "user", "content": text}
    thinking = (body.get("thinking") or {}).get("type") == "enabled"  # Claude: opt-in
    return {
        "messages": [neutral_last],
        "tools": [
            {"function": {"name": t["name"], "parameters": t.get("input_schema")}}
            for t in body.get("tools") or ()
        ],
        "thinking": {"type": "enabled" if thinking else "disabled"},
    }


def _neutral_responses(body: dict[str, Any]) -> dict[str, Any]:
    last = body["input"][-1]
    if last.get("type") == "function_call_output":
        neutral_last = {"role": "tool", "content": last["output"]}
    else:
        content = last.get("content")
        text = (
            content
            if isinstance(content, str)
            else "".join(p.get("text", "") for p in content or ())
        )
        neutral_last = {"role": "user", "content": text}
    # gpt-5 reasons unless asked for the lowest effort.
    thinking = (body.get("reasoning") or {}).get("effort") != "minimal"
    return {
        "messages": [neutral_last],
        "tools": [
            {"function": {"name": t["name"], "parameters": t.get("parameters")}}
            for t in body.get("tools") or ()
        ],
        "thinking": {"type": "enabled" if thinking else "disabled"},
    }


def _prefix_blocks(body: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """A Messages request as its cache sees it: each block of tools, system and messages in
    that order (with its turn's role), and the block's `cache_control` (or {})."""
    def split(block: dict[str, Any], role: str = "") -> tuple[Any, dict[str, Any]]:
        plain = {k: v for k, v in block.items() if k != "cache_control"}
        return ([role, plain] if role else plain), block.get("cache_control") or {}

    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    blocks = [split(t) for t in body.get("tools") or ()] + [split(b) for b in system]
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        blocks += [split(b, message["role"]) for b in content]
    return blocks


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
