"""Turns chat-completions answers, whole or streamed as SSE lines, into `ChatResult`s.

Any answer of the wrong shape (valid JSON or not) is a `MalformedResponseError` naming what
was wrong, never a TypeError or KeyError from deep inside.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from . import errors
from .reasoning import ThinkSplitter, split_think
from .results import ChatResult, StreamDelta, ToolCallFragment
from .tool_calls import ToolCallAssembler, parse_tool_calls
from .transport import error_event, translate_error_body
from .usage import parse_usage

_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


def malformed(what: str, value: Any, expected: str) -> NoReturn:
    """Raises the error for `what` (a field) being `value`, not the `expected` kind."""
    kind = _JSON_KINDS.get(type(value)) or ("null" if value is None else "a number")
    raise errors.MalformedResponseError(
        f"{what} is {kind} ({str(value)[:80]!r}), expected {expected}"
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        malformed(what, value, "an object")
    return value


def optional_str(value: Any, what: str) -> str | None:
    if value is None or type(value) is str:
        return value
    malformed(what, value, "a string")


def _text_of(content: Any, what: str = "`content`") -> str:
    """Content is a string, null, or (some gateways) a list of text parts."""
    if type(content) is str:
        return content
    if content is None:
        return ""
    if type(content) is list:
        return "".join(_part_text(part, what) for part in content)
    malformed(what, content, "text")


def _part_text(part: Any, what: str) -> str:
    if type(part) is str:
        return part
    text = part.get("text", "") if type(part) is dict else None
    if type(text) is not str:
        malformed(f"a part of {what}", part, "text")
    return text


def _reasoning_field(message: dict[str, Any]) -> str:
    # `reasoning_content` (llama-server, zen, DeepSeek), else `reasoning` (vLLM, OpenRouter, …).
    if "reasoning_content" in message:
        return _text_of(message["reasoning_content"] or message.get("reasoning"), "reasoning")
    if "reasoning" in message:
        return _text_of(message["reasoning"], "`reasoning`")
    return ""


def raise_error(data: dict[str, Any], backend: str) -> NoReturn:
    """An error event (or body) of any wire: OpenAI's `{"error": {…}}`, zen's and Anthropic's
    `{"type": "error", "error": {…}}`, Responses' `{"type": "error", "code", "message"}`.
    Context overflow and overload are typed as in an HTTP error answer; the rest is a
    StreamError."""
    error = data.get("error")
    typed = error_event(error if isinstance(error, dict) else data, backend)
    if typed is not None:
        raise typed
    if isinstance(error, dict):
        message = error.get("message") or error.get("type") or error
    else:
        message = data.get("message") or error or data
    raise errors.StreamError(str(message), data)


def _error_answer(error: Any, backend: str) -> errors.BackendHTTPError:
    """A whole answer that is `{"error": …}` although the HTTP status said success."""
    body = error if isinstance(error, dict) else {"message": str(error)}
    code = body.get("code")
    status = code if type(code) is int and 400 <= code < 600 else 200
    if status == 200:
        message = str(body.get("message") or errors.shorten(str(body)))
        return errors.ServerError(200, message, hint="the server reported this error with 200 OK")
    return translate_error_body(status, body, backend)


def parse_chat_response(data: Any, backend: str, reasoning_open: bool = False) -> ChatResult:
    """`reasoning_open`: the prompt ended in an open `<think>` (ThinkSplitter `opened`)."""
    data = _object(data, "the answer")
    if data.get("error") is not None:
        raise _error_answer(data["error"], backend)
    choices = data.get("choices")
    if not choices:
        raise errors.MalformedResponseError("the answer has no `choices`")
    if type(choices) is not list:
        malformed("`choices`", choices, "a list")
    choice = _object(choices[0], "`choices[0]`")
    message = choice.get("message")
    message = {} if message is None else _object(message, "`choices[0].message`")
    opened = reasoning_open and not _reasoning_field(message)  # else the server split it
    inline_reasoning, text = split_think(_text_of(message.get("content")), opened)
    raw_calls = message.get("tool_calls")
    if not raw_calls and message.get("function_call") is not None:
        raw_calls = [_object(message["function_call"], "`function_call`")]  # pre-tools shape
    response_id = optional_str(data.get("id"), "`id`")
    tool_calls, invalid = parse_tool_calls(raw_calls, response_id)
    timings = data.get("timings")
    return ChatResult(
        text=text,
        reasoning=_reasoning_field(message) + inline_reasoning,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage=parse_usage(data.get("usage")),
        finish_reason=optional_str(choice.get("finish_reason"), "`finish_reason`"),
        model=optional_str(data.get("model"), "`model`"),
        id=response_id,
        backend=backend,
        timings=None if timings is None else _object(timings, "`timings`"),
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
        except (ValueError, RecursionError) as exc:
            raise errors.MalformedResponseError(
                f"the event {payload[:200]!r} is not JSON ({type(exc).__name__})"
            ) from None
        if type(data) is not dict:
            malformed("a stream event", data, "an object")
        if data.get("error") is not None:
            raise_error(data, self._backend)
        if self._id is None:
            self._id = optional_str(data.get("id"), "`id`")
            self._model = optional_str(data.get("model"), "`model`")
        if usage := data.get("usage"):
            self._usage = _object(usage, "`usage`")
        if timings := data.get("timings"):
            self._timings = _object(timings, "`timings`")
        choices = data.get("choices")
        if not choices:
            return None
        if type(choices) is not list:
            malformed("`choices`", choices, "a list")
        choice = choices[0]
        if type(choice) is not dict:
            malformed("`choices[0]`", choice, "an object")
        if reason := choice.get("finish_reason"):
            self._finish_reason = optional_str(reason, "`finish_reason`")
        delta = choice.get("delta") or choice.get("message")
        if not delta:
            return None
        if type(delta) is not dict:
            malformed("`delta`", delta, "an object")
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
        except (ValueError, RecursionError):
            raise errors.IncompleteStreamError(f"the server sent {text[:300]!r}") from None
        if type(data) is dict and data.get("error") is not None:
            raise_error(data, self._backend)
        result = parse_chat_response(data, self._backend, self._opened)
        fragments = [
            ToolCallFragment(index, call.id, call.name, json.dumps(call.arguments))
            for index, call in enumerate(result.tool_calls)
        ]
        return StreamDelta(result.text, result.reasoning, fragments, result)
