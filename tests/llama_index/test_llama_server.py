"""ZenLlama against the real llama-server test bed, live and from recorded cassettes.

Each scenario runs twice: live (`llama_server`), and replayed offline from a cassette
(`cassette`) that `ZENLLAMA_RECORD=1 pytest -m cassette` records from the same server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ThinkingBlock
from llama_index.core.tools import FunctionTool

from tests.support.recorded import RECORDING, make_vcr
from tests.support.testbed import (
    CHAIN_QUESTION,
    ORDER_ID,
    SAMPLING,
    THINK_GRAMMAR,
    WEATHER_QUESTION,
    find_order,
    order_status,
)
from zenllama.llama_index import ZenLlama

from ..support.llama_index_calls import stream_chat, user
from ..support.spy import spy_requests

VCR = make_vcr("llama-server/llama_index")
# Replay never connects, and the cassettes do not match on the port.
OFFLINE_URL = "http://127.0.0.1:9/v1"

# The workflow library inspects the agent's pydantic fields, which pydantic warns about.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")


def _url(request: pytest.FixtureRequest, server: str) -> str:
    return str(request.getfixturevalue(server).base_url) if RECORDING else OFFLINE_URL


# A FunctionAgent calls a tool and hands its output back to the model ---------------------
async def _agent_tool_loop(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    llm = ZenLlama(base_url=base_url, **SAMPLING)
    sent = spy_requests(monkeypatch)  # the chat bodies that went on the wire
    calls: list[dict[str, Any]] = []

    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        calls.append({"city": city})
        return f"rainy, 12 C in {city}"

    # Qwen2.5-Coder calls tools on its own; here the tool is forced with the agent's defaults
    # (allow_parallel_tool_calls=True): a forced tool asks for one call (issue 10 #8). Whether
    # it answers or calls again after the result is its choice: after two turns the agent asks
    # for the answer without tools, so the run always ends.
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=llm,
        initial_tool_choice="get_weather",
        early_stopping_method="generate",
    )
    handler = agent.run(user_msg=WEATHER_QUESTION, max_iterations=2)
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    await handler

    # The first call is the forced one; whether the model calls again is its choice.
    call, result = calls[0], results[0]
    assert isinstance(call["city"], str) and call["city"]
    assert result.tool_kwargs == call
    first, second = [s.body for s in sent.chats()][:2]
    assert (first["tool_choice"], first["parallel_tool_calls"]) == ("required", False)
    assert first["messages"][-1] == {"role": "user", "content": WEATHER_QUESTION}
    assistant, tool = second["messages"][-2:]
    [wire_call] = assistant["tool_calls"]
    assert json.loads(wire_call["function"]["arguments"]) == call
    assert tool == {
        "role": "tool",
        "content": f"rainy, 12 C in {call['city']}",
        "tool_call_id": wire_call["id"],
    }
    assert wire_call["id"] == result.tool_id


@pytest.mark.llama_server
async def test_agent_calls_a_tool_and_uses_its_output(
    tools_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _agent_tool_loop(tools_server.base_url, monkeypatch)


@pytest.mark.cassette
async def test_agent_tool_loop_cassette(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(request, "tools_server")  # the server starts outside the cassette
    with VCR.use_cassette("agent_tool_loop"):
        await _agent_tool_loop(url, monkeypatch)


# A streamed chat carries real reasoning -----------------------------------------------------
async def _streamed_reasoning(base_url: str, mode: str) -> None:
    # THINK_GRAMMAR forces <think>…</think>; the Qwen3 template makes it reasoning_content.
    llm = ZenLlama(base_url=base_url, grammar=THINK_GRAMMAR, **SAMPLING)
    responses = await stream_chat(llm, mode, [user("Say hello.")])

    thinking = "".join(r.additional_kwargs.get("thinking_delta", "") for r in responses)
    text = "".join(r.delta or "" for r in responses)
    last = responses[-1]
    assert thinking
    [block] = [b for b in last.message.blocks if isinstance(b, ThinkingBlock)]
    assert block.content == thinking
    assert last.message.content == text
    assert "<think>" not in text and "</think>" not in text
    assert last.additional_kwargs["prompt_tokens"] > 0
    assert (
        last.additional_kwargs["timings"]["predicted_n"]
        == last.additional_kwargs["completion_tokens"]
    )
    assert last.raw["usage"]["total_tokens"] == last.additional_kwargs["total_tokens"]
    # The server's per-slot context (4096 over two slots), not LlamaIndex's default 3900.
    assert llm.metadata.context_window == 2048


@pytest.mark.llama_server
async def test_stream_chat_carries_reasoning(reasoning_server: Any, mode: str) -> None:
    await _streamed_reasoning(reasoning_server.base_url, mode)


@pytest.mark.cassette
async def test_stream_chat_reasoning_cassette(request: pytest.FixtureRequest, mode: str) -> None:
    url = _url(request, "reasoning_server")
    with VCR.use_cassette(f"stream_reasoning_{mode}"):
        await _streamed_reasoning(url, mode)


@pytest.mark.llama_server
def test_metadata_reports_the_served_model_and_max_tokens(tools_server: Any) -> None:
    llm = ZenLlama(base_url=tools_server.base_url, max_tokens=48)
    metadata = llm.metadata
    served = llm.list_models()[0].id  # the file llama-server serves, by path
    assert metadata.model_name != "default" and served.endswith("/" + metadata.model_name)
    assert metadata.num_output == 48


@pytest.mark.llama_server
async def test_function_agent_finishes_a_two_step_tool_chain(chain_server: Any) -> None:
    """FunctionAgent: find_order, then order_status with the id it returned, then an answer
    (the 1.5B; the 0.5B repeats order_status until max_iterations)."""
    tools = [FunctionTool.from_defaults(find_order), FunctionTool.from_defaults(order_status)]
    agent = FunctionAgent(tools=tools, llm=ZenLlama(base_url=chain_server.base_url, **SAMPLING))
    handler = agent.run(user_msg=CHAIN_QUESTION, max_iterations=10)
    calls = [
        (event.tool_name, event.tool_kwargs)
        async for event in handler.stream_events()
        if isinstance(event, ToolCallResult)
    ]
    output = await handler
    assert calls[0][0] == "find_order"
    assert ("order_status", {"order_id": ORDER_ID}) in calls
    # The run ends only on an answer without tool calls (max_iterations would raise).
    assert str(output.response.content).strip()
