"""Turns chat-completions answers, whole or streamed as SSE lines, into `ChatResult`s."""

from __future__ import annotations

import json
from typing import Any

from . import errors
from .reasoning import ThinkSplitter, split_think
from .results import ChatResult, StreamDelta, ToolCallFragment
from .tool_calls import ToolCallAssembler, parse_tool_calls
from .usage import parse_usage


def _text_of(content: Any) -> str:
    """Content is a string, null, or (some gateways) a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


def _reasoning_field(message: dict[str, Any]) -> str:
    # `reasoning_content` (llama-server, zen, DeepSeek), else `reasoning` (vLLM, OpenRouter, …).
    return _text_of(message.get("reasoning_content") or message.get("reasoning"))


def _raise_error_payload(payload: dict[str, Any]) -> None:
    error = payload["error"]
    message = error.get("message", error) if isinstance(error, dict) else error
    raise errors.StreamError(str(message), payload)


def parse_chat_response(data: Any, backend: str, reasoning_open: bool = False) -> ChatResult:
    """`reasoning_open`: the prompt ended in an open `<think>` (ThinkSplitter `opened`)."""
    if not isinstance(data, dict):
        raise errors.BadRequestError(200, f"expected a JSON object, got {type(data).__name__}")
    if "error" in data:
        _raise_error_payload(data)
    choices = data.get("choices") or []
    if not choices:
        raise errors.BadRequestError(200, "the answer has no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    opened = reasoning_open and not _reasoning_field(message)  # else the server split it
    inline_reasoning, text = split_think(_text_of(message.get("content")), opened)
    raw_calls = message.get("tool_calls")
    if not raw_calls and isinstance(message.get("function_call"), dict):
        raw_calls = [message["function_call"]]  # the pre-tools OpenAI shape
    tool_calls, invalid = parse_tool_calls(raw_calls, data.get("id"))
    return ChatResult(
        text=text,
        reasoning=_reasoning_field(message) + inline_reasoning,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage=parse_usage(data.get("usage")),
        finish_reason=choice.get("finish_reason"),
        model=data.get("model"),
        id=data.get("id"),
        backend=backend,
        timings=data.get("timings"),
    )


class StreamParser:
    """Reads one SSE stream line by line; `finish()` gives the last delta with the whole result."""

    __slots__ = (
        "_backend",
        "_done",
        "_finish_reason",
        "_id",
        "_model",
        "_opened",
        "_reasoning",
        "_splitter",
        "_stray",
        "_text",
        "_timings",
        "_tools",
        "_usage",
    )

    def __init__(self, backend: str, reasoning_open: bool = False) -> None:
        self._backend = backend
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._splitter = ThinkSplitter(reasoning_open)
        self._opened = reasoning_open
        self._tools = ToolCallAssembler()
        self._usage: dict[str, Any] | None = None
        self._timings: dict[str, Any] | None = None
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._done = False
        self._stray: list[str] = []

    def feed(self, line: str) -> StreamDelta | None:
        # SSE: blank lines separate events, ':' starts a comment (keep-alive pings).
        if not line.startswith("data:"):
            if line and not line.startswith((":", "event:", "id:", "retry:")):
                self._stray.append(line)  # not SSE at all: kept to say what came instead
            return None
        payload = line[5:].strip()
        if payload == "[DONE]":
            self._done = True
            return None
        if not payload:
            return None
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise errors.StreamError(f"malformed event {payload[:200]!r}") from exc
        if "error" in data:
            _raise_error_payload(data)
        if self._id is None:
            self._id = data.get("id")
            self._model = data.get("model")
        if usage := data.get("usage"):
            self._usage = usage
        if timings := data.get("timings"):
            self._timings = timings
        choices = data.get("choices")
        if not choices:
            return None
        choice = choices[0]
        if reason := choice.get("finish_reason"):
            self._finish_reason = reason
        delta = choice.get("delta") or choice.get("message")
        if not delta:
            return None
        reasoning = _reasoning_field(delta)
        content = delta.get("content")
        if self._opened and (reasoning or content):
            # Decided by the first piece: a server that sends reasoning apart knew the template.
            self._opened = False
            if reasoning:
                self._splitter.server_splits()
        text = ""
        if content:
            more_reasoning, text = self._splitter.feed(_text_of(content))
            reasoning += more_reasoning
        raw_calls = delta.get("tool_calls")
        fragments = self._tools.add(raw_calls, self._id) if raw_calls else []
        if not (text or reasoning or fragments):
            return None
        if text:
            self._text.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        return StreamDelta(text, reasoning, fragments)

    def finish(self) -> StreamDelta:
        if self._finish_reason is None and not self._done:
            if self._stray and not (self._text or self._reasoning):
                return self._whole_answer("\n".join(self._stray))
            raise errors.IncompleteStreamError()
        reasoning, text = self._splitter.flush()
        self._text.append(text)
        self._reasoning.append(reasoning)
        tool_calls, invalid = self._tools.finish()
        result = ChatResult(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            usage=parse_usage(self._usage),
            finish_reason=self._finish_reason,
            model=self._model,
            id=self._id,
            backend=self._backend,
            timings=self._timings,
        )
        return StreamDelta(text, reasoning, [], result)

    def _whole_answer(self, text: str) -> StreamDelta:
        """A server that ignored `stream` (or failed) and sent one JSON body instead."""
        try:
            data = json.loads(text)
        except ValueError:
            raise errors.IncompleteStreamError(f"the server sent {text[:300]!r}") from None
        result = parse_chat_response(data, self._backend)
        fragments = [
            ToolCallFragment(index, call.id, call.name, json.dumps(call.arguments))
            for index, call in enumerate(result.tool_calls)
        ]
        return StreamDelta(result.text, result.reasoning, fragments, result)
