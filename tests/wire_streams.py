"""Whole Messages / Responses answers turned into the SSE streams those APIs send for them.

Pieces are `size` characters long, so a test can split every text, thinking and argument
string anywhere; `fake_zen` streams its claude-* and gpt-* answers with the same functions.
Event order and fields follow Anthropic's and OpenAI's streaming references.
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
            start, deltas = (
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": p} for p in _pieces(block["text"], size)],
            )
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], size)
            ]
            deltas += [
                {"type": "signature_delta", "signature": p}
                for p in _pieces(block["signature"], max(size, 8))
            ]
        elif kind == "tool_use":
            start = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in _pieces(json.dumps(block["input"]), size)
            ]
        else:  # redacted_thinking comes whole
            start, deltas = block, []
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": answer["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage.get("output_tokens", 0)},
        }
    )
    events.append({"type": "message_stop"})
    return _lines(events)


def responses_sse(answer: dict[str, Any], size: int = 4) -> list[str]:
    pending = {**answer, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, item in enumerate(answer["output"]):
        at = {"item_id": item.get("id"), "output_index": index}
        kind = item["type"]
        if kind == "reasoning":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "summary": [], "encrypted_content": None},
                }
            )
            for j, part in enumerate(item.get("summary") or ()):
                events.append(
                    {
                        "type": "response.reasoning_summary_part.added",
                        **at,
                        "summary_index": j,
                        "part": {"type": "summary_text", "text": ""},
                    }
                )
                events += [
                    {
                        "type": "response.reasoning_summary_text.delta",
                        **at,
                        "summary_index": j,
                        "delta": p,
                    }
                    for p in _pieces(part["text"], size)
                ]
                events.append(
                    {
                        "type": "response.reasoning_summary_text.done",
                        **at,
                        "summary_index": j,
                        "text": part["text"],
                    }
                )
        elif kind == "message":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "content": []},
                }
            )
            for j, part in enumerate(item["content"]):
                events.append(
                    {
                        "type": "response.content_part.added",
                        **at,
                        "content_index": j,
                        "part": {**part, "text": ""},
                    }
                )
                events += [
                    {"type": "response.output_text.delta", **at, "content_index": j, "delta": p}
                    for p in _pieces(part["text"], size)
                ]
                events.append(
                    {
                        "type": "response.output_text.done",
                        **at,
                        "content_index": j,
                        "text": part["text"],
                    }
                )
        elif kind == "function_call":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "arguments": ""},
                }
            )
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
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    end = "response.completed" if answer["status"] == "completed" else "response.incomplete"
    events.append({"type": end, "response": answer})
    return _lines(events)
