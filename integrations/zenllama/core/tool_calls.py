"""Tool calls in every shape the backends send, whole or streamed, judged by one rule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedResponseError
from .results import InvalidToolCall, ToolCall, ToolCallFragment


def stable_call_id(response_id: str | None, index: int) -> str:
    """An id for a call that came without one: the same for invoke and stream of one response."""
    digest = hashlib.sha1(f"{response_id or ''}:{index}".encode()).hexdigest()[:24]
    return f"call_{digest}"


def judge_arguments(raw: Any) -> tuple[dict[str, Any] | None, str, str]:
    """Returns (arguments, raw text, error); arguments is None when they are not a JSON object."""
    if isinstance(raw, dict):
        return raw, json.dumps(raw), ""
    text = "" if raw is None else str(raw)
    if not text.strip():
        return {}, text, ""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, text, f"arguments are not valid JSON ({exc})"
    if not isinstance(parsed, dict):
        return None, text, f"arguments must be a JSON object, got {type(parsed).__name__}"
    return parsed, text, ""


def judge_calls(
    entries: list[tuple[str, str | None, Any]],
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """(id, name, raw arguments) entries, judged by the one validity rule."""
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call_id, name, raw in entries:
        arguments, text, error = judge_arguments(raw)
        if arguments is None or not name:
            invalid.append(
                InvalidToolCall(call_id, name, text, error or "the tool call has no function name")
            )
        else:
            valid.append(ToolCall(call_id, name, arguments))
    return valid, invalid


def _calls(raw_calls: Any) -> list[Any]:
    if raw_calls is None:
        return []
    if not isinstance(raw_calls, list):
        raise MalformedResponseError(f"`tool_calls` is {type(raw_calls).__name__}, not a list")
    return raw_calls


def _unwrap(raw: Any) -> tuple[dict[str, Any], str | None, str | None]:
    """(function, id, name) of one call. OpenAI nests the function; some servers do not."""
    if not isinstance(raw, dict):
        raise MalformedResponseError(f"a tool call is {type(raw).__name__}, not an object")
    function = raw.get("function")
    if not isinstance(function, dict):
        function = raw
    call_id, name = raw.get("id"), function.get("name")
    for what, value in (("id", call_id), ("name", name)):
        if value is not None and not isinstance(value, str):
            raise MalformedResponseError(
                f"a tool call's `{what}` is {type(value).__name__}, not a string"
            )
    return function, call_id, name


def call_entries(raw_calls: Any, response_id: str | None) -> list[tuple[str, str | None, Any]]:
    """(id, name, raw arguments) of a whole answer's `tool_calls`, not judged yet."""
    entries = []
    for index, raw in enumerate(_calls(raw_calls)):
        function, call_id, name = _unwrap(raw)
        call_id = call_id or stable_call_id(response_id, index)
        entries.append((call_id, name, function.get("arguments")))
    return entries


def parse_tool_calls(
    raw_calls: Any, response_id: str | None
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    return judge_calls(call_entries(raw_calls, response_id))


def _merge_name(current: str | None, piece: str | None, repeats_id: bool) -> str | None:
    if not piece:
        return current
    if not current:
        return piece
    if repeats_id and piece.startswith(current):
        return piece  # the whole name again, or the name so far, grown
    return current + piece


@dataclass
class _PartialCall:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects streamed tool-call pieces by `index` and judges them once the stream ends.

    OpenAI sends a call's id and name once, in its first fragment; some gateways repeat both,
    whole, in every fragment; a name may also come in pieces. A name piece in a fragment that
    repeats the call's id is that whole name again (or, growing, the name so far); in a
    fragment without the id it continues the name, even when it equals the name so far.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def add(self, raw_calls: Any, response_id: str | None) -> list[ToolCallFragment]:
        fragments = []
        for position, raw in enumerate(_calls(raw_calls)):
            function, raw_id, raw_name = _unwrap(raw)
            index = raw.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                index = self._index_without_one(raw_id, position)
            call = self._calls.get(index)
            if call is None:
                call = self._calls[index] = _PartialCall()
                new_id: str | None = raw_id or stable_call_id(response_id, index)
                new_name = raw_name or None
            else:
                repeats_id = raw_id is not None and raw_id == call.id
                new_id = call.id if repeats_id or not raw_id else (call.id or "") + raw_id
                new_name = _merge_name(call.name, raw_name, repeats_id)
            arguments = function.get("arguments")
            if isinstance(arguments, dict):  # a whole object in one piece
                call.arguments = [json.dumps(arguments)]
                piece = call.arguments[0]
            elif arguments is None or isinstance(arguments, str):
                piece = arguments or ""
                if piece:
                    call.arguments.append(piece)
            else:
                raise MalformedResponseError(
                    f"streamed tool-call arguments are {type(arguments).__name__}, not text"
                )
            fragments.append(
                ToolCallFragment(
                    index=index,
                    id=new_id if new_id != call.id else None,
                    name=new_name if new_name != call.name else None,
                    arguments=piece,
                )
            )
            call.id, call.name = new_id, new_name
        return fragments

    def _index_without_one(self, call_id: str | None, position: int) -> int:
        for index, call in self._calls.items():
            if call_id and call.id == call_id:
                return index
        return len(self._calls) if call_id or position else max(len(self._calls) - 1, 0)

    def entries(self) -> list[tuple[str, str | None, Any]]:
        """(id, name, raw arguments) of every call so far, in index order, not judged yet."""
        return [
            (call.id or "", call.name, "".join(call.arguments))
            for _, call in sorted(self._calls.items())
        ]

    def finish(self) -> tuple[list[ToolCall], list[InvalidToolCall]]:
        return judge_calls(self.entries())
