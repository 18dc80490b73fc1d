"""Prompt caching through LangChain: an agent on zen's Claude with prompt_cache="auto" sends
breakpoints and shows `cache_creation`, then `cache_read`, in `usage_metadata`; the
`cache_control` ChatAnthropic users write on content blocks and tools reaches the wire
unchanged. Claude's answers come from the fake zen, SYNTHESIZED from Anthropic's documented
usage fields (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching); the block
conventions are langchain-anthropic's (chat_models.py: `_merge_messages` hoists a tool
result's mark, `convert_to_anthropic_tool` keeps a tool's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from zenllama.langchain import ChatZenLlama

from ..core.test_prompt_cache import LONG_SYSTEM, SONNET, marks
from ..support.fake_zen import FAKE_KEY, FakeZen
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import ZEN_URL

CC = {"type": "ephemeral"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentRequests]:
    spied = spy_requests(monkeypatch)
    with FakeZen().serving():
        yield spied


def _claude(**fields: Any) -> ChatZenLlama:
    return ChatZenLlama(base_url=ZEN_URL, model=SONNET, api_key=FAKE_KEY, **fields)


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"rainy, 12 C in {city}"


def _details(message: Any) -> dict[str, Any]:
    return dict((message.usage_metadata or {}).get("input_token_details") or {})


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "stream"])
def test_agent_writes_then_reads_the_cache(sent: SentRequests, streaming: bool) -> None:
    agent = create_agent(
        _claude(prompt_cache="auto", streaming=streaming), [get_weather], system_prompt=LONG_SYSTEM
    )
    state = agent.invoke({"messages": [("user", "Weather in Paris?")]})
    bodies = [s.body for s in sent.to("/messages")]
    assert len(bodies) == 2
    assert marks(bodies[0]) == ["system:0"]  # not grown yet: tools + system
    assert marks(bodies[1]) == ["system:0", "2:tool_result"]  # and the newest turn
    first, second = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert _details(first)["cache_creation"] > 0 and _details(first)["cache_read"] == 0
    assert _details(second)["cache_read"] == _details(first)["cache_creation"]
    assert _details(second)["cache_creation"] > 0
    # input_tokens holds fresh, read and written alike, as langchain-anthropic counts them.
    usage = second.usage_metadata
    assert usage is not None
    assert (
        usage["input_tokens"] >= _details(second)["cache_read"] + _details(second)["cache_creation"]
    )


def test_prompt_cache_per_call(sent: SentRequests) -> None:
    llm = _claude()  # unset: the default, "auto"
    messages = [
        SystemMessage(LONG_SYSTEM),
        HumanMessage("Hello"),
        AIMessage("Hi!"),
        HumanMessage("Weather?"),
    ]
    llm.invoke(messages, prompt_cache="off")
    llm.invoke(messages)
    off, auto = (s.body for s in sent.to("/messages"))
    assert marks(off) == []
    assert marks(auto) == ["system:0", "2:text"]


def test_explicit_cache_control_passes_through(sent: SentRequests) -> None:
    anthropic_tool = {
        "name": "get_time",
        "description": "Get the local time in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        "cache_control": CC,
    }
    llm = _claude(prompt_cache="off").bind_tools([get_weather, anthropic_tool])
    messages = [
        SystemMessage([{"type": "text", "text": "Be brief.", "cache_control": CC}]),
        HumanMessage(
            [
                {"type": "text", "text": "Context: Paris."},
                {"type": "text", "text": "Weather?", "cache_control": {**CC, "ttl": "1h"}},
            ]
        ),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}]),
        ToolMessage([{"type": "text", "text": "rainy", "cache_control": CC}], tool_call_id="c1"),
    ]
    llm.invoke(messages)
    body = sent.to("/messages")[-1].body
    assert marks(body) == ["tool:get_time", "system:0", "0:text", "2:tool_result"]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Context: Paris."},
        {"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    ]
    # The mark on the result's content went on the result, as langchain-anthropic puts it.
    assert body["messages"][2]["content"][0]["content"] == "rainy"


def test_a_base_tools_extras_mark_goes_with_it(sent: SentRequests) -> None:
    marked = get_weather.model_copy(update={"extras": {"cache_control": CC}})
    _claude(prompt_cache="off").bind_tools([marked]).invoke("Weather in Paris?")
    assert marks(sent.to("/messages")[-1].body) == ["tool:get_weather"]


def test_marks_never_reach_chat_completions(sent: SentRequests) -> None:
    llm = ChatZenLlama(base_url=ZEN_URL, model="glm-4.7", api_key=FAKE_KEY)
    marked = get_weather.model_copy(update={"extras": {"cache_control": CC}})
    llm.bind_tools([marked]).invoke(
        [HumanMessage([{"type": "text", "text": "Weather in Paris?", "cache_control": CC}])]
    )
    assert "cache_control" not in json.dumps(sent.chats()[-1].body)
