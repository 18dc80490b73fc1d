"""The same user code on zen and on llama-server: only BACKEND_URL (and the key) change.

Each scenario runs for both backends and each wire (`leg`) through both framework classes
(`driver`), with the same assertions. Request-side checks read what really went out (`sent`),
each wire's body read back into the same neutral turns (`_turns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from ..support.drivers import (
    GREETING,
    QUESTION,
    ROME_ANSWER,
    ROME_REASONING,
    TOOL_RESULT,
    Driver,
)
from ..support.spy import Sent, SentRequests
from .conftest import Leg

SESSION_HEADER = "x-opencode-session"


def contains(body: Any, fields: Any) -> bool:
    """True when every field (nested dicts included) is in the body with that value."""
    if isinstance(fields, dict):
        return isinstance(body, dict) and all(
            k in body and contains(body[k], v) for k, v in fields.items()
        )
    return bool(body == fields)


def assert_session(leg: Leg, llm: Any, requests: list[Sent]) -> None:
    """One id per conversation, sent where the backend keys its prompt cache on it, only there."""
    expected = llm.session_id if leg.facts.sends_session else None
    assert requests
    assert {r.headers.get(SESSION_HEADER) for r in requests} == {expected}


def test_chat_and_thinking_switch(leg: Leg, driver: Driver, sent: SentRequests) -> None:
    with leg.backend("thinking", "chat"):
        llm = leg.new()
        answer = driver.chat(llm, [driver.user(GREETING)])
        driver.chat(llm, [driver.user(GREETING)], reasoning=False)

    assert answer.text.strip() and "think>" not in answer.text
    assert answer.reasoning.strip()  # thinking is on by default on both backends
    assert_session(leg, llm, sent)
    default, switched = sent.to(leg.facts.path)
    off = leg.facts.thinking_off
    assert not contains(default.body, off) and contains(switched.body, off)


async def test_stream_with_reasoning_deltas(leg: Leg, driver: Driver, sent: SentRequests) -> None:
    with leg.backend("thinking", "stream"):
        llm = leg.new()
        pieces, answer = await driver.astream(llm, [driver.user(GREETING)])

    thinking = [i for i, p in enumerate(pieces) if p.reasoning]
    speaking = [i for i, p in enumerate(pieces) if p.text]
    assert len(thinking) > 1 and speaking and max(thinking) < min(speaking)
    assert "".join(p.reasoning for p in pieces) == answer.reasoning
    assert "".join(p.text for p in pieces) == answer.text and answer.text.strip()
    assert answer.usage is not None and answer.usage.output > 0
    [request] = sent.to(leg.facts.path)
    assert contains(request.body, leg.facts.stream_fields)
    assert leg.facts.api == "chat" or "stream_options" not in request.body
    assert_session(leg, llm, sent)


# GLM takes only tool_choice="auto"; tests/zen checks that warning on its own.
@pytest.mark.filterwarnings("ignore::zenllama.core.ToolChoiceDowngradedWarning")
def test_tool_loop_sends_reasoning_back(leg: Leg, driver: Driver, sent: SentRequests) -> None:
    with leg.backend("tools", "tool_loop"):
        llm = leg.new()
        history = [*driver.earlier_tool_loop(), driver.user(QUESTION)]
        first = driver.chat_with_tool(llm, history, required=True)
        [call] = first.calls
        history += [first.message, driver.tool_result(call, TOOL_RESULT)]
        final = driver.chat_with_tool(llm, history, required=False)

    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert "12 C" in final.text and not final.calls
    assert_session(leg, llm, sent)
    follow_up = sent.to(leg.facts.path)[-1].body
    # Interleaved thinking: each assistant turn goes back with its reasoning, unchanged and in
    # order; the newest one right before its tool result. Reasoning another model wrote (the
    # Rome turn's, unsigned) goes back only where the backend takes it.
    turns = _turns(leg.facts.api, follow_up)
    rome = ROME_REASONING if leg.facts.takes_unsigned_reasoning else ""
    assert [t.reasoning for t in turns] == [rome, "", first.reasoning]
    assert turns[1].text == ROME_ANSWER
    assert turns[-1].call_ids == [call.id]
    # The wire's own items (Claude's signed thinking, Responses' reasoning) byte for byte.
    assert turns[-1].blocks == first.blocks
    if leg.facts.api == "messages" and leg.facts.backend == "zen":
        assert first.blocks and all(b["signature"] for b in first.blocks)
    assert _tool_result(leg.facts.api, follow_up) == (call.id, TOOL_RESULT)
    if leg.facts.api == "chat":
        messages = follow_up["messages"]
        assert messages[-2]["role"] == "assistant" and _call_ids(messages[-2]) == [call.id]
        assert messages[-1] == {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}


async def test_usage_and_prompt_cache(leg: Leg, driver: Driver, sent: SentRequests) -> None:
    with leg.backend("thinking", "usage"):
        llm = leg.new()
        first = await driver.achat(llm, [driver.user(GREETING)])
        again = await driver.achat(llm, [driver.user(GREETING)])

    for answer in (first, again):
        usage = answer.usage
        assert usage is not None and usage.input > 0 and usage.output > 0
        assert usage.total == usage.input + usage.output
        assert usage.cached is not None
    assert again.usage is not None
    if leg.facts.caches_short_prompts:
        assert again.usage.cached  # same conversation: a cache hit
    else:  # a greeting is far below Claude's minimum: nothing read, nothing written
        assert again.usage.cached == 0
        # tests/*/test_prompt_cache.py show the hit past the minimum.
    assert_session(leg, llm, sent)


def _call_ids(message: dict[str, Any]) -> list[str]:
    return [c["id"] for c in message.get("tool_calls", [])]


@dataclass
class Turn:
    """An assistant turn as it went out, read back from any wire's body."""

    reasoning: str = ""
    text: str = ""
    call_ids: list[str] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)


def _turns(api: str, body: dict[str, Any]) -> list[Turn]:
    if api == "chat":
        return [
            Turn(m.get("reasoning_content", ""), m["content"] or "", _call_ids(m))
            for m in body["messages"]
            if m["role"] == "assistant"
        ]
    if api == "messages":
        turns = []
        for message in body["messages"]:
            if message["role"] != "assistant":
                continue
            blocks = message["content"]
            thinking = [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]
            turns.append(
                Turn(
                    "".join(b.get("thinking", "") for b in thinking),
                    "".join(b["text"] for b in blocks if b["type"] == "text"),
                    [b["id"] for b in blocks if b["type"] == "tool_use"],
                    thinking,
                )
            )
        return turns
    turns, open_turn = [], False
    for item in body["input"]:
        kind = item.get("type")
        mine = kind in ("reasoning", "function_call") or (
            kind == "message" and item.get("role") == "assistant"
        )
        if not mine:
            open_turn = False
            continue
        if not open_turn:
            turns.append(Turn())
            open_turn = True
        turn = turns[-1]
        if kind == "reasoning":
            summary = "\n\n".join(s["text"] for s in item.get("summary") or ())
            turn.reasoning += summary or "".join(c["text"] for c in item.get("content") or ())
            turn.blocks.append(item)
        elif kind == "message":
            turn.text += "".join(c["text"] for c in item["content"])
        else:
            turn.call_ids.append(item["call_id"])
    return turns


def _tool_result(api: str, body: dict[str, Any]) -> tuple[str, str]:
    if api == "chat":
        last = body["messages"][-1]
        return last["tool_call_id"], last["content"]
    if api == "messages":
        [result] = [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
        return result["tool_use_id"], result["content"]
    last = body["input"][-1]
    return last["call_id"], last["output"]
