"""OpenAI Responses (`POST /responses`): zen's gpt-* models, llama-server's /v1/responses.

Neutral (OpenAI chat-shaped) messages become input items; answers and SSE events become the
same `ChatResult` / `StreamDelta` chat completions give. Reasoning items (summaries as the
reasoning text, `encrypted_content` as the proof) go back unchanged in
`ChatResult.reasoning_blocks`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from ..backends import BackendProfile
from ..json_fields import list_field, object_field, optional_str, raise_malformed, text_field
from ..prompt_cache import CACHE_CONTROL
from ..request import ChatRequest, Message
from ..results import ChatResult, StreamDelta, ToolCallFragment
from ..tool_calls import stable_call_id
from ..usage import parse_usage
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
)

PATH = "/responses"
REASONING_KINDS = ("reasoning",)
# Between reasoning summaries (each a paragraph), whole or streamed alike.
SUMMARY_GAP = "\n\n"
# Reasoning off: the lowest effort every reasoning model of the API takes.
EFFORT_OFF = "minimal"
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


# Request -----------------------------------------------------------------------------------
def _user_content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url") or {}
            parts.append(
                {
                    "type": "input_image",
                    "image_url": image.get("url"),
                    **({"detail": image["detail"]} if image.get("detail") else {}),
                }
            )
        else:
            raise ValueError(f"a {kind!r} content part has no Responses form; send text or images")
    return parts


def _assistant_items(profile: BackendProfile, message: Message) -> list[dict[str, Any]]:
    items = own_reasoning(message, REASONING_KINDS)  # encrypted content unchanged
    if text := unsigned_reasoning(profile, message, items):
        items = [
            {
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": text}],
            }
        ]
    if text := content_text(message.get("content")):
        items.append(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
        )
    for call in message.get("tool_calls") or ():
        function = call.get("function") or call
        arguments = function.get("arguments")
        items.append(
            {
                "type": "function_call",
                "call_id": call.get("id"),
                "name": function.get("name"),
                "arguments": arguments
                if isinstance(arguments, str)
                else json.dumps(arguments or {}),
            }
        )
    return items


def _input(profile: BackendProfile, messages: Sequence[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            items.extend(_assistant_items(profile, message))
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id"),
                    "output": content_text(message.get("content")),
                }
            )
        elif role == "user":
            items.append({"role": "user", "content": _user_content(message.get("content"))})
        else:
            raise ValueError(f"a {role!r} message has no Responses form")
    return items


def _text_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """chat completions' `response_format` as Responses' `text.format`."""
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        return {"format": {"type": "json_schema", **spec}}
    return {"format": dict(response_format)}


def build(
    profile: BackendProfile, model: str | None, request: ChatRequest, *, stream: bool
) -> dict[str, Any]:
    check_messages(request)  # response.completed always carries usage: no stream_usage
    options = {k: v for k, v in request.options.items() if v is not None}
    mode = request.mode
    instructions, turns = system_prompt(apply_reasoning_policy(profile, request.messages))
    body: dict[str, Any] = {"model": model, "input": _input(profile, turns)}
    if instructions:
        body["instructions"] = instructions
    functions, choice = tool_parts(profile, model, request)
    if functions:
        # Anthropic's breakpoints have no Responses form: its cache needs none.
        body["tools"] = [
            {"type": "function", **{k: v for k, v in f.items() if k != CACHE_CONTROL}}
            for f in functions
        ]
        if choice is not None:
            name = choice_name(choice)
            body["tool_choice"] = {"type": "function", "name": name} if name else choice
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
    body.update(profile.responses_fields)
    if profile.prompt_cache_key and request.auto_cache and request.session_id:
        # One conversation's requests to one cache (zen's session header carries the same id).
        body["prompt_cache_key"] = request.session_id
    if mode.on is False:
        body["reasoning"] = {"effort": EFFORT_OFF}
    elif mode.on or profile.responses_reasoning_default:
        # Summaries are what comes back as reasoning text.
        effort = {"effort": mode.effort} if mode.effort else {}
        body["reasoning"] = {"summary": "auto", **effort}
    own = profile.reasoning_fields_on_every_api
    if own:
        if request.preserve_thinking:
            deep_merge(body, profile.preserve_thinking_on)
        if mode.on is not None:
            deep_merge(body, profile.reasoning_on if mode.on else profile.reasoning_off)
    elif request.preserve_thinking:
        unsupported("OpenAI Responses", ["preserve_thinking"])
    # Responses has no budget: the backend's own field where it reads chat fields here too.
    where = f"the {profile.name} backend's OpenAI Responses API"
    field = profile.reasoning_budget_field if own else None
    put_level(body, where, "a reasoning budget", mode.budget, field)
    if "max_tokens" in options:
        body["max_output_tokens"] = options.pop("max_tokens")
    if "response_format" in options:
        body["text"] = _text_format(options.pop("response_format"))
    options.pop("model", None)
    # The rest go as they are: llama-server reads its chat fields (grammar, seed, …) on
    # /v1/responses too, and a hosted API names a field it refuses.
    body.update(options)
    return finish_body(body, request.extra_body, stream=stream)


# Answers -----------------------------------------------------------------------------------
def _reasoning_text(item: Mapping[str, Any]) -> str:
    """Summaries (OpenAI's reasoning models), else the raw reasoning text (llama-server)."""
    summary = [
        _part_text(s, "a reasoning summary") for s in list_field(item.get("summary"), "`summary`")
    ]
    if any(summary):
        return SUMMARY_GAP.join(summary)
    return "".join(
        _part_text(c, "a reasoning content part")
        for c in list_field(item.get("content"), "a reasoning item's `content`")
        if type(c) is not dict or c.get("type") == "reasoning_text"
    )


def _part_text(part: Any, what: str, field: str = "text") -> str:
    if type(part) is not dict:
        raise_malformed(what, part, "an object")
    return text_field(part.get(field), f"{what}'s `{field}`")


# Statuses of a response that has not finished: never an answer.
_UNFINISHED = {"in_progress": "is still in progress", "queued": "is still queued"}


def _finish_reason(response: dict[str, Any], has_calls: bool, refused: bool, backend: str) -> str:
    """The finish reason of a final response object; a typed error where it did not finish."""
    status = response.get("status")
    if status == "completed":
        # A refusal (an output item's refusal part) is said as such, as Messages' stop reason.
        return "tool_calls" if has_calls else "refusal" if refused else "stop"
    if status == "incomplete":
        details = object_field(response.get("incomplete_details"), "`incomplete_details`")
        reason = optional_str(details.get("reason"), "`incomplete_details.reason`") or "length"
        return INCOMPLETE_REASONS.get(reason, reason)
    if status == "failed":
        raise_error(response, backend)
    if status == "cancelled":
        raise errors.IncompleteResponseError("the response was cancelled before it finished")
    if status in _UNFINISHED:
        raise errors.IncompleteResponseError(f"the response {_UNFINISHED[status]}")
    raise_malformed("the response's `status`", status, "completed, incomplete or failed")


def parse(data: Any, backend: str, reasoning_open: bool = False) -> ChatResult:
    """Any answer, however wrong its shape, gives a result or a typed error."""
    return parse_whole("Responses", _parse_answer, data, backend)


def _parse_answer(data: Any, backend: str) -> ChatResult:
    if type(data) is not dict:
        raise_malformed("the answer", data, "an object")
    if data.get("type") == "error" or data.get("error") or data.get("status") == "failed":
        raise_error(data, backend)
    parts = AnswerParts(backend)
    parts.id = answer_id = optional_str(data.get("id"), "`id`")
    text, calls, kept = parts.text, parts.calls, parts.reasoning_blocks
    reasoning: list[str] = []
    refused = False
    for i, item in enumerate(list_field(data.get("output"), "`output`")):
        what = f"`output[{i}]`"
        if type(item) is not dict:
            raise_malformed(what, item, "an object")
        kind = item.get("type")
        if kind == "reasoning":
            reasoning.append(_reasoning_text(item))
            kept.append(item)
        elif kind == "message":
            for part in list_field(item.get("content"), f"{what}.content"):
                if type(part) is dict and part.get("type") == "refusal":
                    refused = True
                    text.append(_part_text(part, f"{what}'s refusal", "refusal"))
                else:  # output_text; its annotations (citations) point into this text
                    text.append(_part_text(part, f"{what}'s content part"))
        elif kind == "function_call":
            call_id = optional_str(item.get("call_id"), f"{what}.call_id")
            call_id = call_id or optional_str(item.get("id"), f"{what}.id")
            name = optional_str(item.get("name"), f"{what}.name")
            calls.append(
                (call_id or stable_call_id(answer_id, len(calls)), name, item.get("arguments"))
            )
        # Built-in tool items (web_search_call, …) are the server's own work; what it found
        # is in the message that follows.
    parts.reasoning = [SUMMARY_GAP.join(r for r in reasoning if r)]
    parts.usage = parse_usage(data.get("usage"))
    parts.finish_reason = _finish_reason(data, bool(calls), refused, backend)
    parts.model = optional_str(data.get("model"), "`model`")
    parts.timings = _timings(data)
    return parts.result()


def _timings(data: dict[str, Any]) -> dict[str, Any] | None:
    """llama.cpp's `timings`, kept whole."""
    timings = data.get("timings")
    return None if timings is None else object_field(timings, "`timings`")


_TEXT = "response.output_text.delta"
_REFUSAL = "response.refusal.delta"
_REASONING = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
_ARGUMENTS = "response.function_call_arguments.delta"
_END = ("response.completed", "response.incomplete")


class StreamParser(GuardedStreamParser):
    """Reads one Responses SSE stream line by line; `finish()` gives the whole result."""

    API = "Responses"
    __slots__ = (
        "_calls",
        "_kept",
        "_parts",
        "_reasoning_at",
        "_refused",
        "_response",
        "_stray",
    )

    def __init__(self, backend: str, reasoning_open: bool = False) -> None:
        self._parts = AnswerParts(backend)
        self._reasoning_at: tuple[Any, Any] | None = None  # (item, summary part) being read
        self._kept: list[dict[str, Any]] = []
        self._calls: dict[str, StreamedCall] = {}  # item id -> tool call
        self._response: dict[str, Any] | None = None  # the final response object
        self._refused = False
        self._stray: list[str] = []

    def _feed(self, line: str) -> StreamDelta | None:
        data = sse_event(line, self._stray)
        if data is None:
            return None
        kind = data.get("type")
        if kind == _TEXT:
            text = text_field(data.get("delta"), "`delta`")
            self._parts.text.append(text)
            return StreamDelta(text) if text else None
        if kind in _REASONING:
            piece = text_field(data.get("delta"), "`delta`")
            at = (data.get("item_id"), data.get("summary_index") or data.get("content_index"))
            if at != self._reasoning_at:
                if self._reasoning_at is not None and self._parts.reasoning:
                    piece = SUMMARY_GAP + piece
                self._reasoning_at = at
            self._parts.reasoning.append(piece)
            return StreamDelta("", piece) if piece else None
        if kind == _ARGUMENTS:
            return self._arguments(data)
        if kind in (_REFUSAL, "response.refusal.done"):
            return self._refusal(data)
        if kind == "response.output_item.added":
            return self._added(object_field(data.get("item"), "`item`"))
        if kind == "response.output_item.done":
            return self._done_item(object_field(data.get("item"), "`item`"))
        if kind in ("response.created", "response.in_progress"):
            response = object_field(data.get("response"), "`response`")
            parts = self._parts
            parts.id = optional_str(response.get("id"), "`response.id`") or parts.id
            parts.model = optional_str(response.get("model"), "`response.model`") or parts.model
        elif kind in _END:
            self._response = object_field(data.get("response"), "`response`")
            self._parts.timings = _timings(data)
        elif kind in ("error", "response.failed") or data.get("error"):
            failed = data.get("response") if kind == "response.failed" else None
            raise_error(object_field(failed, "`response`") or data, self._parts.backend)
        return None

    def _arguments(self, data: dict[str, Any]) -> StreamDelta | None:
        piece = text_field(data.get("delta"), "`delta`")
        call = self._calls.get(str(data.get("item_id")))
        if call is None:  # its arguments would be lost while the answer names a call
            raise errors.MalformedResponseError(
                f"function-call arguments came for the item {data.get('item_id')!r}, which was "
                "never added as a function_call"
            )
        if not piece:
            return None
        call.arguments.append(piece)
        return StreamDelta("", "", [ToolCallFragment(call.index, None, None, piece)])

    def _refusal(self, data: dict[str, Any]) -> StreamDelta | None:
        """openai-python types/responses/response_refusal_delta_event.py and _done_event.py:
        the refusal is the answer's text, and the answer is said to be a refusal. `.done`
        repeats it whole: taken only from a server that sent no deltas."""
        if data.get("type") == _REFUSAL:
            text = text_field(data.get("delta"), "`delta`")
        elif self._refused:
            return None
        else:
            text = text_field(data.get("refusal"), "`refusal`")
        self._refused = True
        self._parts.text.append(text)
        return StreamDelta(text) if text else None

    def _added(self, item: dict[str, Any]) -> StreamDelta | None:
        if item.get("type") != "function_call":
            return None
        call_id = optional_str(item.get("call_id"), "`item.call_id`")
        call_id = call_id or stable_call_id(self._parts.id, len(self._calls))
        name = optional_str(item.get("name"), "`item.name`")
        call = StreamedCall(len(self._calls), call_id, name)
        self._calls[str(item.get("id") or call_id)] = call
        first = text_field(item.get("arguments"), "`item.arguments`")
        if first:
            call.arguments.append(first)
        return StreamDelta("", "", [ToolCallFragment(call.index, call_id, call.name, first)])

    def _done_item(self, item: dict[str, Any]) -> StreamDelta | None:
        kind = item.get("type")
        if kind == "reasoning":
            self._kept.append(item)
        elif kind == "function_call":
            call = self._calls.get(str(item.get("id") or item.get("call_id")))
            if call is None:  # a server that announces calls only when done
                return self._added(item)
            arguments = text_field(item.get("arguments"), "`item.arguments`")
            if not call.arguments and arguments:
                call.arguments.append(arguments)
                return StreamDelta("", "", [ToolCallFragment(call.index, None, None, arguments)])
        return None

    def _finish(self) -> StreamDelta:
        parts = self._parts
        response = self._response
        if response is None:
            streamed = bool(parts.text or parts.reasoning or self._calls)
            return ended_early(self._stray, streamed, parse, parts.backend, False)
        output = list_field(response.get("output"), "`response.output`")
        final_items = [i for i in output if type(i) is dict and i.get("type") == "reasoning"]
        parts.calls = [c.entry() for c in self._calls.values()]
        parts.usage = parse_usage(response.get("usage"))
        parts.finish_reason = _finish_reason(
            response, bool(self._calls), self._refused, parts.backend
        )
        parts.model = optional_str(response.get("model"), "`response.model`") or parts.model
        parts.id = optional_str(response.get("id"), "`response.id`") or parts.id
        parts.reasoning_blocks = final_items or self._kept
        return parts.last_delta()
