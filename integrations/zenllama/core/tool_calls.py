"""Tool calls in every shape the backends send, whole or streamed, judged by one rule."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

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


def _unwrap(raw: dict[str, Any]) -> dict[str, Any]:
    # OpenAI nests name/arguments under "function"; some servers put them at the top.
    function = raw.get("function")
    return function if isinstance(function, dict) else raw


def parse_tool_calls(
    raw_calls: list[dict[str, Any]] | None, response_id: str | None
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    entries = []
    for index, raw in enumerate(raw_calls or []):
        function = _unwrap(raw)
        call_id = raw.get("id") or stable_call_id(response_id, index)
        entries.append((call_id, function.get("name"), function.get("arguments")))
    return judge_calls(entries)


def _merge_repeated(current: str | None, piece: str | None) -> str | None:
    """Ids and names are sent once by OpenAI, repeated per fragment by others: never doubled."""
    if not piece or piece == current:
        return current
    return piece if not current else current + piece


@dataclass
class _PartialCall:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Collects streamed tool-call pieces by `index` and judges them once the stream ends."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def add(
        self, raw_calls: list[dict[str, Any]], response_id: str | None
    ) -> list[ToolCallFragment]:
        fragments = []
        for position, raw in enumerate(raw_calls):
            index = raw.get("index")
            if not isinstance(index, int):
                index = self._index_without_one(raw.get("id"), position)
            function = _unwrap(raw)
            call = self._calls.get(index)
            is_new = call is None
            if call is None:
                call = self._calls[index] = _PartialCall()
            new_id = _merge_repeated(call.id, raw.get("id"))
            if is_new and not new_id:
                new_id = stable_call_id(response_id, index)
            new_name = _merge_repeated(call.name, function.get("name"))
            arguments = function.get("arguments")
            if isinstance(arguments, dict):  # a whole object in one piece
                call.arguments = [json.dumps(arguments)]
                piece = call.arguments[0]
            else:
                piece = arguments or ""
                if piece:
                    call.arguments.append(piece)
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

    def finish(self) -> tuple[list[ToolCall], list[InvalidToolCall]]:
        return judge_calls(
            [
                (call.id or "", call.name, "".join(call.arguments))
                for _, call in sorted(self._calls.items())
            ]
        )
