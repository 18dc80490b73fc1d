"""Chat completions (`POST /chat/completions`): every backend's default wire.

The body: OpenAI-shaped messages as they are, tool_choice in the backend's dialect, reasoning
and its levels through the profile's fields, llama.cpp's own fields among the options.
Answers, whole or streamed as SSE lines, become the neutral `ChatResult` / `StreamDelta`;
reasoning comes apart (`reasoning_content`, `reasoning`) or inline in `<think>` tags.
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..backends import BackendProfile
from ..json_fields import optional_str, raise_malformed, required_object
from ..message_shapes import REASONING_BLOCKS_FIELD
from ..prompt_cache import without_cache_control
from ..reasoning import ThinkSplitter, split_think
from ..request import ChatRequest, Message, ReasoningMode, named_tool_choice
from ..results import ChatResult, StreamDelta
from ..tool_calls import ToolCallAssembler, call_entries
from ..transport import translate_error_body
from ..usage import parse_usage
from .answer import AnswerParts, ended_early, raise_error
from .body import (
    apply_reasoning_policy,
    check_messages,
    finish_body,
    needs_tools,
    normalize_tool_choice,
    put_level,
    switch,
)

PATH = "/chat/completions"


# Request -----------------------------------------------------------------------------------
def _chat_message(message: Message) -> Message:
    # Other wires' reasoning items mean nothing to chat completions (a conversation that
    # switched model family); the reasoning text itself stays. So do Anthropic's breakpoints:
    # chat completions has no `cache_control` (llama-server and zen cache by themselves).
    if REASONING_BLOCKS_FIELD in message:
        message = {k: v for k, v in message.items() if k != REASONING_BLOCKS_FIELD}
    return without_cache_control(message)


def build(
    profile: BackendProfile, model: str | None, request: ChatRequest, *, stream: bool
) -> dict[str, Any]:
    check_messages(request)
    body: dict[str, Any] = {
        "messages": [_chat_message(m) for m in apply_reasoning_policy(profile, request.messages)]
    }
    if model:
        body["model"] = model
    tools, tool_choice = request.tools, request.tool_choice
    if tools:
        sent_tools, choice = normalize_tool_choice(profile, model, tools, tool_choice)
        if sent_tools:
            body["tools"] = [without_cache_control(t) for t in sent_tools]
            if choice is not None:
                body["tool_choice"] = choice
            parallel_tool_calls = request.parallel_tool_calls
            if named_tool_choice(tools, tool_choice) is not None:
                # Forcing one named tool asks for one call: with parallel calls allowed a model
                # may repeat it, and templates that take one call per turn (Llama 3.1) then
                # refuse the next turn.
                parallel_tool_calls = False
            if parallel_tool_calls is not None:
                body["parallel_tool_calls"] = parallel_tool_calls
    else:
        needs_tools(tool_choice)
    for key, value in request.options.items():
        if value is not None:
            body[key] = value
    if request.preserve_thinking:
        switch(body, profile, "preserve_thinking", profile.preserve_thinking_on)
    # After preserving, so an explicit switch decides `thinking.type`.
    if request.mode.on is not None:
        _apply_reasoning(body, profile, request.mode)
    if stream and request.stream_usage:
        body["stream_options"] = {"include_usage": True}
    return finish_body(body, request.extra_body, stream=stream)


def _apply_reasoning(body: dict[str, Any], profile: BackendProfile, mode: ReasoningMode) -> None:
    where = f"the {profile.name} backend"
    budget_sent = put_level(
        body, where, "a reasoning budget", mode.budget, profile.reasoning_budget_field
    )
    effort_sent = put_level(
        body, where, "a reasoning effort", mode.effort, profile.reasoning_effort_field
    )
    fields = profile.reasoning_on if mode.on else profile.reasoning_off
    if fields or not (budget_sent or effort_sent):  # a level alone is the switch if no other
        switch(body, profile, "reasoning", fields)


# Answers -----------------------------------------------------------------------------------
def _text_of(content: Any, what: str = "`content`") -> str:
    """Content is a string, null, or (some gateways) a list of text parts."""
    if type(content) is str:
        return content
    if content is None:
        return ""
    if type(content) is list:
        return "".join(_part_text(part, what) for part in content)
    raise_malformed(what, content, "text")


def _part_text(part: Any, what: str) -> str:
    if type(part) is str:
        return part
    text = part.get("text", "") if type(part) is dict else None
    if type(text) is not str:
        raise_malformed(f"a part of {what}", part, "text")
    return text


def _reasoning_field(message: dict[str, Any]) -> str:
    # `reasoning_content` (llama-server, zen, DeepSeek), else `reasoning` (vLLM, OpenRouter, …).
    if "reasoning_content" in message:
        return _text_of(message["reasoning_content"] or message.get("reasoning"), "reasoning")
    if "reasoning" in message:
        return _text_of(message["reasoning"], "`reasoning`")
    return ""


def _error_answer(error: Any, backend: str) -> errors.BackendHTTPError:
    """A whole answer that is `{"error": …}` although the HTTP status said success."""
    body = error if isinstance(error, dict) else {"message": str(error)}
    code = body.get("code")
    status = code if type(code) is int and 400 <= code < 600 else 200
    if status == 200:
        message = str(body.get("message") or errors.shorten(str(body)))
        return errors.ServerError(200, message, hint="the server reported this error with 200 OK")
    return translate_error_body(status, body, backend)


def parse(data: Any, backend: str, reasoning_open: bool = False) -> ChatResult:
    """`reasoning_open`: the prompt ended in an open `<think>` (ThinkSplitter `opened`).
    Any answer of the wrong shape is a MalformedResponseError naming what was wrong."""
    data = required_object(data, "the answer")
    if data.get("error") is not None:
        raise _error_answer(data["error"], backend)
    choices = data.get("choices")
    if not choices:
        raise errors.MalformedResponseError("the answer has no `choices`")
    if type(choices) is not list:
        raise_malformed("`choices`", choices, "a list")
    choice = required_object(choices[0], "`choices[0]`")
    message = choice.get("message")
    message = {} if message is None else required_object(message, "`choices[0].message`")
    opened = reasoning_open and not _reasoning_field(message)  # else the server split it
    inline_reasoning, text = split_think(_text_of(message.get("content")), opened)
    raw_calls = message.get("tool_calls")
    if not raw_calls and message.get("function_call") is not None:
        raw_calls = [required_object(message["function_call"], "`function_call`")]  # pre-tools
    parts = AnswerParts(backend)
    parts.id = optional_str(data.get("id"), "`id`")
    parts.calls = call_entries(raw_calls, parts.id)
    parts.text.append(text)
    parts.reasoning += (_reasoning_field(message), inline_reasoning)
    parts.usage = parse_usage(data.get("usage"))
    parts.finish_reason = optional_str(choice.get("finish_reason"), "`finish_reason`")
    parts.model = optional_str(data.get("model"), "`model`")
    timings = data.get("timings")
    parts.timings = None if timings is None else required_object(timings, "`timings`")
    return parts.result()


class StreamParser:
    """Reads one SSE stream line by line; `finish()` gives the last delta with the whole result."""

    __slots__ = (
        "_done",
        "_opened",
        "_parts",
        "_splitter",
        "_stray",
        "_tools",
        "_usage",
    )

    def __init__(self, backend: str, reasoning_open: bool = False) -> None:
        self._parts = AnswerParts(backend)
        self._splitter = ThinkSplitter(reasoning_open)
        self._opened = reasoning_open
        self._tools = ToolCallAssembler()
        self._usage: dict[str, Any] | None = None  # read once, at the end
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
            raise_malformed("a stream event", data, "an object")
        parts = self._parts
        if data.get("error") is not None:
            raise_error(data, parts.backend)
        if parts.id is None:
            parts.id = optional_str(data.get("id"), "`id`")
            parts.model = optional_str(data.get("model"), "`model`")
        if usage := data.get("usage"):
            self._usage = required_object(usage, "`usage`")
        if timings := data.get("timings"):
            parts.timings = required_object(timings, "`timings`")
        choices = data.get("choices")
        if not choices:
            return None
        if type(choices) is not list:
            raise_malformed("`choices`", choices, "a list")
        choice = choices[0]
        if type(choice) is not dict:
            raise_malformed("`choices[0]`", choice, "an object")
        if reason := choice.get("finish_reason"):
            parts.finish_reason = optional_str(reason, "`finish_reason`")
        delta = choice.get("delta") or choice.get("message")
        if not delta:
            return None
        if type(delta) is not dict:
            raise_malformed("`delta`", delta, "an object")
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
        fragments = self._tools.add(raw_calls, parts.id) if raw_calls else None
        return parts.add(text, reasoning, fragments)

    def finish(self) -> StreamDelta:
        parts = self._parts
        if parts.finish_reason is None and not self._done:
            streamed = bool(parts.text or parts.reasoning)
            return ended_early(self._stray, streamed, parse, parts.backend, self._opened)
        reasoning, text = self._splitter.flush()
        parts.calls = self._tools.entries()
        parts.usage = parse_usage(self._usage)
        return parts.last_delta(text, reasoning)
