"""Whole Messages / Responses answers turned into the SSE streams those APIs send for them.

Pieces are `size` characters long, so a test can split every text, thinking and argument
string anywhere; `fake_zen` streams its claude-* and gpt-* answers with the same functions.
Event order and fields follow the providers' references:
- Messages: Anthropic's streaming guide (docs.anthropic.com/en/docs/build-with-claude/streaming:
  pings, `signature_delta`, `citations_delta`, server-tool blocks, cumulative `message_delta`
  usage) and anthropic-sdk-python `src/anthropic/types/raw_*_event.py`.
- Responses: OpenAI's streaming events reference (platform.openai.com/docs/api-reference/
  responses-streaming) and openai-python `src/openai/types/responses/response_*_event.py`:
  `sequence_number` on every event, reasoning summaries and `reasoning_text`, annotations,
  refusals, built-in tool calls, `response.completed` / `.incomplete` / `.failed`.
"""

from __future__ import annotations

import json
from typing import Any


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _lines(events: list[dict[str, Any]]) -> list[str]:
    lines = []
    for event in events:
        lines += [f"event: {event['type']}", f"data: {json.dumps(event)}", ""]
    return lines


def messages_sse(answer: dict[str, Any], size: int = 4) -> list[str]:
    head = {k: v for k, v in answer.items() if k not in ("content", "stop_reason", "usage")}
    usage = dict(answer.get("usage") or {})
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"} | {"output_tokens": 1}
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {**head, "content": [], "stop_reason": None, "usage": start_usage},
        },
        {"type": "ping"},
    ]
    for index, block in enumerate(answer["content"]):
        kind = block["type"]
        if kind == "text":
            start = {"type": "text", "text": ""}
            # One citations_delta per citation of the block, then its text.
            deltas = [
                {"type": "citations_delta", "citation": c} for c in block.get("citations") or ()
            ]
            deltas += [{"type": "text_delta", "text": p} for p in _pieces(block["text"], size)]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], size)
            ]
            deltas += [
                {"type": "signature_delta", "signature": p}
                for p in _pieces(block["signature"], max(size, 8))
            ]
        elif kind in ("tool_use", "server_tool_use"):  # a server tool's input streams alike
            start = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in _pieces(json.dumps(block["input"]), size)
            ]
        else:  # redacted_thinking and server-tool results come whole
            start, deltas = block, []
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events += [{"type": "content_block_stop", "index": index}, {"type": "ping"}]
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": answer["stop_reason"], "stop_sequence": None},
            # Cumulative counts (types/message_delta_usage.py): the whole answer's.
            "usage": usage or {"output_tokens": 0},
        }
    )
    events.append({"type": "message_stop"})
    return _lines(events)


def _text_part_events(at: dict[str, Any], j: int, part: dict[str, Any], size: int) -> list[Any]:
    """A message's content part: output_text (then its annotations) or a refusal."""
    if part["type"] == "refusal":
        return [
            {
                "type": "response.content_part.added",
                **at,
                "content_index": j,
                "part": {"type": "refusal", "refusal": ""},
            },
            *(
                {"type": "response.refusal.delta", **at, "content_index": j, "delta": p}
                for p in _pieces(part["refusal"], size)
            ),
            {"type": "response.refusal.done", **at, "content_index": j, "refusal": part["refusal"]},
            {"type": "response.content_part.done", **at, "content_index": j, "part": part},
        ]
    annotations = part.get("annotations") or []
    return [
        {
            "type": "response.content_part.added",
            **at,
            "content_index": j,
            "part": {**part, "text": "", "annotations": []},
        },
        *(
            {"type": "response.output_text.delta", **at, "content_index": j, "delta": p}
            for p in _pieces(part["text"], size)
        ),
        *(
            {
                "type": "response.output_text.annotation.added",
                **at,
                "content_index": j,
                "annotation_index": k,
                "annotation": a,
            }
            for k, a in enumerate(annotations)
        ),
        {"type": "response.output_text.done", **at, "content_index": j, "text": part["text"]},
        {"type": "response.content_part.done", **at, "content_index": j, "part": part},
    ]


def _reasoning_events(at: dict[str, Any], item: dict[str, Any], size: int) -> list[Any]:
    """Summaries (OpenAI's reasoning models), and raw `reasoning_text` (open-weight models)."""
    events: list[Any] = []
    for j, part in enumerate(item.get("summary") or ()):
        where = {**at, "summary_index": j}
        events.append(
            {
                "type": "response.reasoning_summary_part.added",
                **where,
                "part": {"type": "summary_text", "text": ""},
            }
        )
        events += [
            {"type": "response.reasoning_summary_text.delta", **where, "delta": p}
            for p in _pieces(part["text"], size)
        ]
        events.append(
            {"type": "response.reasoning_summary_text.done", **where, "text": part["text"]}
        )
        events.append({"type": "response.reasoning_summary_part.done", **where, "part": part})
    for j, part in enumerate(item.get("content") or ()):
        where = {**at, "content_index": j}
        events += [
            {"type": "response.reasoning_text.delta", **where, "delta": p}
            for p in _pieces(part["text"], size)
        ]
        events.append({"type": "response.reasoning_text.done", **where, "text": part["text"]})
    return events


_ADDED_AS = {
    "reasoning": {"summary": [], "content": [], "encrypted_content": None},
    "message": {"content": []},
    "function_call": {"arguments": ""},
}
_END_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def responses_sse(answer: dict[str, Any], size: int = 4) -> list[str]:
    pending = {**answer, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, item in enumerate(answer["output"]):
        at = {"item_id": item.get("id"), "output_index": index}
        kind = item["type"]
        added = {**item, **_ADDED_AS.get(kind, {"status": "in_progress"})}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        if kind == "reasoning":
            events += _reasoning_events(at, item, size)
        elif kind == "message":
            for j, part in enumerate(item["content"]):
                events += _text_part_events(at, j, part, size)
        elif kind == "function_call":
            events += [
                {"type": "response.function_call_arguments.delta", **at, "delta": p}
                for p in _pieces(item["arguments"], size)
            ]
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    **at,
                    "arguments": item["arguments"],
                }
            )
        else:  # a built-in tool's call (web_search_call, …): its progress, then the item
            events += [
                {"type": f"response.{kind}.{stage}", **at}
                for stage in ("in_progress", "searching", "completed")
            ]
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": _END_EVENTS[answer["status"]], "response": answer})
    return _lines([{**e, "sequence_number": n} for n, e in enumerate(events)])
