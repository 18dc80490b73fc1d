"""ChatZenLlama against the real llama-server test bed (tests/conftest.py).

Tool calls come from Qwen2.5-Coder-0.5B unsteered; reasoning from THINK_GRAMMAR. Assertions
check mechanics (names, shapes, ids, where text lands), never the model's wording.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage, convert_to_messages
from pydantic import BaseModel, Field

from zenllama.core import ContextOverflowError
from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer

from ..support.testbed import (
    CHAIN_QUESTION,
    ORDER_ID,
    SAMPLING,
    THINK_GRAMMAR,
    TIME_TOOL,
    WEATHER_QUESTION,
    WEATHER_TOOL,
    find_order,
    order_status,
)

pytestmark = pytest.mark.llama_server


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


async def _four_ways(llm: ChatZenLlama, messages: object) -> list[AIMessage]:
    return [
        llm.invoke(messages),  # type: ignore[arg-type]
        await llm.ainvoke(messages),  # type: ignore[arg-type]
        _merge(list(llm.stream(messages))),  # type: ignore[arg-type]
        _merge([c async for c in llm.astream(messages)]),  # type: ignore[arg-type]
    ]


async def test_reasoning_arrives_apart_from_the_answer(reasoning_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=reasoning_server.base_url, grammar=THINK_GRAMMAR, **SAMPLING)
    for message in await _four_ways(llm, "Say hello"):
        reasoning = message.additional_kwargs["reasoning_content"]
        assert reasoning.strip() and "<think>" not in str(message.content)
        assert message.content and "think>" not in str(message.content)
        assert message.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}
        assert message.response_metadata["timings"]["predicted_n"] > 0
        assert message.response_metadata["finish_reason"] == "stop"


def _is_weather_call(call: dict[str, object]) -> bool:
    args = call["args"]
    return (
        call["name"] == "get_weather"
        and isinstance(args, dict)
        and list(args) == ["city"]
        and isinstance(args["city"], str)
        and bool(call["id"])
    )


async def test_named_tool_call_in_every_mode(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING).bind_tools(
        [WEATHER_TOOL, TIME_TOOL], tool_choice="get_weather"
    )
    for message in await _four_ways(llm, WEATHER_QUESTION):
        [call] = message.tool_calls
        assert _is_weather_call(call)  # type: ignore[arg-type]
        assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_model_picks_the_tool_itself(tools_server: LlamaServer, tool_choice: str) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING)
    message = llm.bind_tools([TIME_TOOL, WEATHER_TOOL], tool_choice=tool_choice).invoke(
        WEATHER_QUESTION
    )
    [call] = message.tool_calls
    assert _is_weather_call(call)  # type: ignore[arg-type]


def test_tool_round_trip(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING)
    question = convert_to_messages([("user", WEATHER_QUESTION)])
    call = llm.bind_tools([WEATHER_TOOL], tool_choice="required").invoke(question)
    [tool_call] = call.tool_calls
    answer = llm.invoke([*question, call, ToolMessage("rainy, 11 C", tool_call_id=tool_call["id"])])
    assert isinstance(answer.content, str) and answer.content
    assert answer.usage_metadata and answer.usage_metadata["input_tokens"] > 0


def test_prompt_cache_reads_show_in_usage(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, id_slot=1, cache_prompt=True, **SAMPLING)
    prompt = "Describe a lighthouse. " * 30
    llm.invoke(prompt)
    usage = llm.invoke(prompt).usage_metadata
    assert usage is not None and usage["input_token_details"]["cache_read"] > 0


class City(BaseModel):
    # maxLength bounds the grammar llama-server derives, so the answer always fits max_tokens.
    name: str = Field(max_length=30)
    country: str = Field(max_length=30)


def test_structured_output_by_json_schema(tools_server: LlamaServer) -> None:
    # The longest valid answer is ~80 characters: at worst one token each.
    llm = ChatZenLlama(base_url=tools_server.base_url, **{**SAMPLING, "max_tokens": 120})
    city = llm.with_structured_output(City).invoke("Name a city in France.")
    assert isinstance(city, City) and city.name


def test_context_overflow_is_typed_with_sizes(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, max_retries=0, **SAMPLING)
    with pytest.raises(ContextOverflowError) as caught:
        llm.invoke("word " * 5000)
    assert caught.value.n_ctx and caught.value.n_prompt_tokens
    assert caught.value.n_prompt_tokens > caught.value.n_ctx


def test_server_facts(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url)
    [model] = llm.list_models()
    assert model.id.endswith(".gguf") and model.owned_by == "llamacpp"
    assert llm.client.profile.name == "llama-server"
    assert llm.client.context_window() == model.meta["n_ctx"]


def _busy_slots(server: LlamaServer) -> int:
    with urllib.request.urlopen(server.root_url + "/slots", timeout=5) as answer:
        return sum(1 for slot in json.loads(answer.read()) if slot["is_processing"])


def test_abandoning_a_stream_stops_generation(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, temperature=0, seed=1, max_tokens=1500)
    stream = llm.stream("Count from one to one thousand in words.")
    next(stream)
    assert _busy_slots(tools_server) == 1
    stream.close()
    deadline = time.monotonic() + 120  # only a server that never stops trips it
    while _busy_slots(tools_server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _busy_slots(tools_server) == 0, "llama-server kept generating for a closed stream"


def test_agent_finishes_a_two_step_tool_chain(chain_server: LlamaServer) -> None:
    """create_agent's loop: find_order, then order_status with the id it returned, then an
    answer (the 1.5B; the 0.5B repeats order_status until the recursion limit)."""
    agent = create_agent(
        ChatZenLlama(base_url=chain_server.base_url, **SAMPLING), tools=[find_order, order_status]
    )
    state = agent.invoke({"messages": [("user", CHAIN_QUESTION)]}, {"recursion_limit": 12})
    messages = state["messages"]
    calls = [
        (c["name"], c["args"]) for m in messages if isinstance(m, AIMessage) for c in m.tool_calls
    ]
    assert calls[0][0] == "find_order"
    assert ("order_status", {"order_id": ORDER_ID}) in calls
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert str(final.content).strip()
