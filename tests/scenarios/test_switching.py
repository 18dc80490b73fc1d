"""The same user code on zen and on llama-server: only BACKEND_URL (and the key) change.

Each scenario runs for both backends (`leg`) through both framework classes (`driver`), with
the same assertions. Request-side checks read what really went out (`sent`).
"""

from __future__ import annotations

from typing import Any

import pytest

from ..spy import Sent, SentRequests
from .conftest import Leg
from .drivers import (
    GREETING,
    QUESTION,
    ROME_ANSWER,
    ROME_REASONING,
    TOOL_RESULT,
    Driver,
)

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
    default, switched = sent.chats()
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
    [request] = sent.chats()
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
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
    follow_up = sent.chats()[-1].body["messages"]
    # Interleaved thinking: each assistant turn goes back with its reasoning, unchanged and in
    # order; the newest one right before its tool result.
    turns = [m for m in follow_up if m["role"] == "assistant"]
    assert [t.get("reasoning_content", "") for t in turns] == [ROME_REASONING, "", first.reasoning]
    assert turns[1]["content"] == ROME_ANSWER
    calling, result = follow_up[-2:]
    assert calling is turns[-1] and _call_ids(calling) == [call.id]
    assert result == {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}


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
    assert again.usage is not None and again.usage.cached  # same conversation: a cache hit
    assert_session(leg, llm, sent)


def _call_ids(message: dict[str, Any]) -> list[str]:
    return [c["id"] for c in message.get("tool_calls", [])]
