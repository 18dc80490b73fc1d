"""Anthropic Messages (`POST /messages`): zen's claude-* models, llama-server's /v1/messages.

Neutral (OpenAI-shaped) messages become content blocks; answers and SSE events become the
same `ChatResult` / `StreamDelta` chat completions give. Thinking blocks keep their
`signature` in `ChatResult.reasoning_blocks` so a tool loop sends them back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from ..backends import BackendProfile
from ..json_fields import index_field, object_field, optional_str, raise_malformed, text_field
from ..prompt_cache import CACHE_CONTROL, mark_messages_body, mark_of, tool_mark
from ..request import ChatRequest, Message, tool_name
from ..results import ChatResult, StreamDelta, ToolCallFragment
from ..tool_calls import stable_call_id
from ..usage import parse_messages_usage
from .answer import (
    AnswerParts,
    GuardedStreamParser,
    StreamedCall,
    ended_early,
    parse_whole,
    raise_error,
    sse_event,
)
from .body import (
    apply_reasoning_policy,
    check_messages,
    choice_name,
    content_text,
    deep_merge,
    finish_body,
    own_reasoning,
    put_level,
    system_prompt,
    tool_parts,
    unsigned_reasoning,
    unsupported,
    warn,
)

PATH = "/messages"
# The API version every Anthropic client sends; zen forwards it.
HEADERS = {"anthropic-version": "2023-06-01"}
THINKING_KINDS = ("thinking", "redacted_thinking")
# max_tokens is required by the API; this is what is asked for when none is set.
DEFAULT_MAX_TOKENS = 4096
DEFAULT_THINKING_BUDGET = 1024  # the API's minimum
# Options with a Messages field of the same name (chat_template_kwargs: llama-server's).
_SAME_NAME = ("temperature", "top_p", "top_k", "metadata", "service_tier", "chat_template_kwargs")
_HANDLED = ("model", "max_tokens", "stop")

# anthropic-sdk-python types/stop_reason.py, mapped where chat completions has the same; the
# rest (`pause_turn`: the turn is unfinished, send it back to continue; `refusal`) as it is.
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
}


# Request -----------------------------------------------------------------------------------
def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _marked(block: dict[str, Any], mark: Any) -> dict[str, Any]:
    """A block with a caller's `cache_control`, unchanged, where one was given."""
    if mark:
        block[CACHE_CONTROL] = mark
    return block


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content or ""}]
    blocks = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            block = {"type": "text", "text": part.get("text", "")}
        elif kind == "image_url":
            block = _image(str((part.get("image_url") or {}).get("url", "")))
        else:
            raise ValueError(
                f"a {kind!r} content part has no Anthropic Messages form; send text or images"
            )
        blocks.append(_marked(block, part.get(CACHE_CONTROL)))
    return blocks


def _system(messages: Sequence[Message]) -> str | list[dict[str, Any]]:
    """The system prompt: one string, or text blocks where a part carries `cache_control`."""
    text, _ = system_prompt(messages)
    if not any(mark_of(m.get("content")) for m in messages):
        return text
    blocks = []
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        blocks += [
            _marked({"type": "text", "text": p.get("text", "")}, p.get(CACHE_CONTROL))
            for p in parts
            if isinstance(p, dict) and p.get("text")
        ]
    return blocks


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or call
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        raise ValueError(
            f"the tool call {function.get('name')!r} sent back has arguments that are not a "
            f"JSON object ({raw!r}); Anthropic Messages needs an object: fix or drop that call"
        )
    return {
        "type": "tool_use",
        "id": call.get("id"),
        "name": function.get("name"),
        "input": arguments,
    }


def _assistant_blocks(profile: BackendProfile, message: Message) -> list[dict[str, Any]]:
    blocks = own_reasoning(message, THINKING_KINDS)  # signatures unchanged
    if text := unsigned_reasoning(profile, message, blocks):
        blocks = [{"type": "thinking", "thinking": text, "signature": ""}]
    content = message.get("content")
    if text := content_text(content):
        blocks.append(_marked({"type": "text", "text": text}, mark_of(content)))
    calls = message.get("tool_calls") or ()
    blocks.extend(_marked(_tool_use(c), c.get(CACHE_CONTROL)) for c in calls)
    return blocks


def _turns(profile: BackendProfile, messages: Sequence[Message]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            blocks = _assistant_blocks(profile, message)
        elif role == "tool":
            content = message.get("content")
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id"),
                "content": content_text(content),
            }
            # A mark on the result's content goes on the result, as langchain-anthropic
            # hoists it: the API takes none inside a tool_result.
            blocks = [_marked(result, mark_of(content))]
            role = "user"
        elif role == "user":
            blocks = _user_blocks(message.get("content"))
        else:
            raise ValueError(f"a {role!r} message has no Anthropic Messages form")
        if not blocks:
            continue  # an empty assistant turn: the API refuses empty content
        if turns and turns[-1]["role"] == role:
            # Tool results of one turn go together; roles alternate.
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None:
        return (
            None
            if parallel is None
            else {"type": "auto", "disable_parallel_tool_use": not parallel}
        )
    name = choice_name(choice)
    sent: dict[str, Any] = (
        {"type": "tool", "name": name}
        if name
        else {"type": {"required": "any"}.get(str(choice), str(choice))}
    )
    if parallel is not None and sent["type"] != "none":
        sent["disable_parallel_tool_use"] = not parallel
    return sent


def build(
    profile: BackendProfile, model: str | None, request: ChatRequest, *, stream: bool
) -> dict[str, Any]:
    check_messages(request)  # Messages streams always carry usage: no stream_usage
    options = {k: v for k, v in request.options.items() if v is not None}
    mode = request.mode
    messages = apply_reasoning_policy(profile, request.messages)
    _, turns = system_prompt(messages)
    body: dict[str, Any] = {"model": model, "messages": _turns(profile, turns)}
    if system := _system([m for m in messages if m.get("role") in ("system", "developer")]):
        body["system"] = system
    functions, choice = tool_parts(profile, model, request)
    if functions:
        marks = {tool_name(t): mark for t in request.tools if (mark := tool_mark(t))}
        body["tools"] = [
            _marked(
                {
                    "name": f.get("name"),
                    **({"description": f["description"]} if f.get("description") else {}),
                    "input_schema": f.get("parameters") or {"type": "object", "properties": {}},
                },
                marks.get(str(f.get("name"))),
            )
            for f in functions
        ]
        if (sent := _tool_choice(choice, request.parallel_tool_calls)) is not None:
            body["tool_choice"] = sent
    body.update((k, options[k]) for k in _SAME_NAME if k in options)
    if "stop" in options:
        stop = options["stop"]
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    max_tokens = options.get("max_tokens")
    if mode.on:
        budget = DEFAULT_THINKING_BUDGET if mode.budget is None else mode.budget
        if max_tokens is not None and max_tokens <= budget:
            if mode.budget is None:
                what = f"reasoning on sends the default thinking budget of {budget} tokens"
            else:
                what = f"the thinking budget of {budget} tokens"
            raise errors.InvalidSettingError(
                f"{what}, which the Anthropic Messages API needs below max_tokens="
                f"{max_tokens}: raise max_tokens above {budget}, or pass a smaller budget "
                f"(reasoning=<tokens below {max_tokens}>)"
            )
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = max_tokens or budget + DEFAULT_MAX_TOKENS
        _thinking_tool_choice(body, model)
    else:
        if mode.on is False:
            body["thinking"] = {"type": "disabled"}
        body["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    if profile.reasoning_fields_on_every_api:
        if request.preserve_thinking:
            deep_merge(body, profile.preserve_thinking_on)
        if mode.on is not None:
            deep_merge(body, profile.reasoning_on if mode.on else profile.reasoning_off)
    elif request.preserve_thinking:
        unsupported("Anthropic Messages", ["preserve_thinking"])
    if mode.effort is not None:
        # Messages has no effort: the chat template's kwarg where the backend has one.
        kwarg = profile.reasoning_effort_template_kwarg
        if kwarg:
            deep_merge(body, {"chat_template_kwargs": {kwarg: mode.effort}})
        else:
            where = f"the {profile.name} backend's Anthropic Messages API"
            put_level(body, where, "a reasoning effort", mode.effort, None)
    unsupported(
        "Anthropic Messages",
        [k for k in options if k not in (*_SAME_NAME, *_HANDLED)],
    )
    dropped = mark_messages_body(body, profile.cache_minimum(model), auto=request.auto_cache)
    if dropped is not None:
        warn(dropped)
    return finish_body(body, request.extra_body, stream=stream)


def _thinking_tool_choice(body: dict[str, Any], model: str | None) -> None:
    """Anthropic refuses a forced tool while thinking: mapped to "auto" with only the named
    tool offered, and said (as GLM's auto-only tool_choice is)."""
    choice = body.get("tool_choice") or {}
    if choice.get("type") not in ("any", "tool"):
        return
    name = choice.get("name")
    if name:
        body["tools"] = [t for t in body["tools"] if t["name"] == name]
    body["tool_choice"] = {**choice, "type": "auto"}
    body["tool_choice"].pop("name", None)
    warn(
        errors.ToolChoiceDowngradedWarning(
            f"{model} thinks on this call, and Anthropic Messages takes only tool_choice "
            f"'auto' or 'none' while thinking: sent 'auto'"
            + (f" with only the {name!r} tool offered" if name else "")
            + ", so the model may answer without calling a tool (or pass reasoning=False)"
        )
    )


# Answers -----------------------------------------------------------------------------------
def finish_reason(stop_reason: Any) -> str | None:
    reason = optional_str(stop_reason, "`stop_reason`")
    return STOP_REASONS.get(reason, reason) if reason else None


def parse(data: Any, backend: str, reasoning_open: bool = False) -> ChatResult:
    """Any answer, however wrong its shape, gives a result or a typed error."""
    return parse_whole("Messages", _parse_answer, data, backend)


def _parse_answer(data: Any, backend: str) -> ChatResult:
    if type(data) is not dict:
        raise_malformed("the answer", data, "an object")
    if data.get("type") == "error" or "error" in data:
        raise_error(data, backend)
    if type(data.get("content")) is not list:
        raise_malformed("the answer's `content`", data.get("content"), "a list of content blocks")
    parts = AnswerParts(backend)
    parts.id = answer_id = optional_str(data.get("id"), "`id`")
    calls = parts.calls
    for i, block in enumerate(data["content"]):
        what = f"`content[{i}]`"
        if type(block) is not dict:
            raise_malformed(what, block, "an object")
        kind = block.get("type")
        if kind == "text":
            parts.text.append(text_field(block.get("text"), f"{what}.text"))
        elif kind in THINKING_KINDS:
            parts.reasoning.append(text_field(block.get("thinking"), f"{what}.thinking"))
            parts.reasoning_blocks.append(block)
        elif kind == "tool_use":
            call_id = optional_str(block.get("id"), f"{what}.id")
            call_id = call_id or stable_call_id(answer_id, len(calls))
            calls.append(
                (call_id, optional_str(block.get("name"), f"{what}.name"), block.get("input"))
            )
        # Server-tool blocks (server_tool_use, web_search_tool_result, …) are the server's own
        # tool work; what it found is in the text blocks that follow.
    parts.usage = parse_messages_usage(data.get("usage"))
    parts.finish_reason = finish_reason(data.get("stop_reason"))
    parts.model = optional_str(data.get("model"), "`model`")
    return parts.result()


class StreamParser(GuardedStreamParser):
    """Reads one Messages SSE stream line by line; `finish()` gives the whole result."""

    API = "Messages"
    __slots__ = (
        "_blocks",
        "_calls",
        "_done",
        "_parts",
        "_started",
        "_stop_reason",
        "_stray",
        "_usage",
    )

    def __init__(self, backend: str, reasoning_open: bool = False) -> None:
        self._parts = AnswerParts(backend)
        # content index -> a thinking block being streamed (its pieces) or a redacted one
        self._blocks: dict[int, dict[str, Any]] = {}
        self._calls: dict[int, StreamedCall] = {}  # content index -> tool call
        self._started: set[int] = set()  # every content index started, server tools' too
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._done = False
        self._stray: list[str] = []

    def _feed(self, line: str) -> StreamDelta | None:
        data = sse_event(line, self._stray)
        if data is None:
            return None
        kind = data.get("type")
        if kind == "content_block_delta":
            return self._delta(data)
        if kind == "content_block_start":
            index = data.get("index", len(self._blocks) + len(self._calls))
            return self._start(
                index_field(index, "`index`"),
                object_field(data.get("content_block"), "`content_block`"),
            )
        if kind == "message_start":
            message = object_field(data.get("message"), "`message`")
            self._parts.id = optional_str(message.get("id"), "`message.id`")
            self._parts.model = optional_str(message.get("model"), "`message.model`")
            self._count(message.get("usage"))
        elif kind == "message_delta":
            delta = object_field(data.get("delta"), "`delta`")
            reason = optional_str(delta.get("stop_reason"), "`delta.stop_reason`")
            self._stop_reason = reason or self._stop_reason
            self._count(data.get("usage"))
        elif kind == "message_stop":
            self._done = True
        elif kind == "error" or "error" in data:
            raise_error(data, self._parts.backend)
        return None

    def _count(self, usage: Any) -> None:
        # message_delta's counts are cumulative, and fields it does not know yet are null.
        given = object_field(usage, "`usage`")
        self._usage.update((k, v) for k, v in given.items() if v is not None)

    def _delta(self, data: dict[str, Any]) -> StreamDelta | None:
        delta = object_field(data.get("delta"), "`delta`")
        dkind = delta.get("type")
        if dkind == "text_delta":
            return self._text(text_field(delta.get("text"), "`delta.text`"))
        if dkind == "thinking_delta":
            piece = text_field(delta.get("thinking"), "`delta.thinking`")
            self._block(data)["thinking"].append(piece)
            return self._parts.add("", piece)
        if dkind == "signature_delta":
            signature = text_field(delta.get("signature"), "`delta.signature`")
            self._block(data)["signature"].append(signature)
        elif dkind == "input_json_delta":
            piece = text_field(delta.get("partial_json"), "`delta.partial_json`")
            index = index_field(data.get("index"), "`index`")
            call = self._calls.get(index)
            if call is None and index not in self._started:
                # A call's arguments would be lost while finish_reason says tool_calls.
                raise errors.MalformedResponseError(
                    f"tool-call arguments came for content block {index}, which never started"
                )
            if call is not None and piece:  # else a server tool's input (server_tool_use)
                call.arguments.append(piece)
                return StreamDelta("", "", [ToolCallFragment(call.index, None, None, piece)])
        # citations_delta: the cited text is in the text deltas already.
        return None

    def _text(self, text: str) -> StreamDelta | None:
        self._parts.text.append(text)  # empty too: a text block began
        return StreamDelta(text) if text else None

    def _block(self, data: dict[str, Any]) -> dict[str, Any]:
        index = index_field(data.get("index", 0), "`index`")
        block = self._blocks.get(index)
        if block is None or block.get("type") != "thinking":
            block = self._blocks[index] = {"type": "thinking", "thinking": [], "signature": []}
        return block

    def _start(self, index: int, block: dict[str, Any]) -> StreamDelta | None:
        self._started.add(index)
        kind = block.get("type")
        if kind == "text":
            return self._text(text_field(block.get("text"), "`content_block.text`"))
        if kind == "thinking":
            piece = text_field(block.get("thinking"), "`content_block.thinking`")
            signature = text_field(block.get("signature"), "`content_block.signature`")
            self._blocks[index] = {
                "type": "thinking",
                "thinking": [piece],
                "signature": [signature],
            }
            return self._parts.add("", piece)
        if kind == "redacted_thinking":
            self._blocks[index] = dict(block)
        elif kind == "tool_use":
            call_id = optional_str(block.get("id"), "`content_block.id`")
            call_id = call_id or stable_call_id(self._parts.id, len(self._calls))
            name = optional_str(block.get("name"), "`content_block.name`")
            call = self._calls[index] = StreamedCall(len(self._calls), call_id, name)
            given = block.get("input")
            first = json.dumps(given) if given else ""  # Anthropic streams `{}`, then pieces
            if first:
                call.arguments.append(first)
            return StreamDelta("", "", [ToolCallFragment(call.index, call_id, call.name, first)])
        return None

    def _finish(self) -> StreamDelta:
        parts = self._parts
        if self._stop_reason is None and not self._done:
            streamed = bool(parts.text or self._blocks or self._calls)
            return ended_early(self._stray, streamed, parse, parts.backend, False)
        kept = []
        for _, block in sorted(self._blocks.items()):
            if block.get("type") == "thinking":
                block = {
                    "type": "thinking",
                    "thinking": "".join(block["thinking"]),
                    "signature": "".join(block["signature"]),
                }
            kept.append(block)
        parts.calls = [c.entry() for _, c in sorted(self._calls.items())]
        # The thinking blocks in their order, whatever order their pieces came in.
        parts.reasoning = [str(b.get("thinking", "")) for b in kept]
        parts.reasoning_blocks = kept
        parts.usage = parse_messages_usage(self._usage)
        parts.finish_reason = finish_reason(self._stop_reason)
        return parts.last_delta()
