"""Routing on a real llama-server (its own, small, stopped and restarted here) with the fake zen.

Mechanics only: which backend served, what each was sent; never the 270M model's wording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage, convert_to_messages
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from zenllama.core import ChatClient, ChatRequest, resolve_settings
from zenllama.core.prompt_size import prompt_tokens, template_tokens
from zenllama.langchain import ChatZenLlama, Fallback
from zenllama.llama_index import ZenLlama
from zenllama.llama_index.routing import RouteSwitchEvent
from zenllama.local import LlamaServer

from ..conftest import SERVER_THREADS
from ..support.spy import SentRequests
from ..support.testbed import SAMPLING, WEATHER_QUESTION, WEATHER_TOOL
from .conftest import Seen, zen_chats, zen_fields

pytestmark = [
    pytest.mark.llama_server,
    pytest.mark.usefixtures("zen"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect"),
]
# One slot: the window a prompt must fit is the whole --ctx-size.
WINDOW = 2048
LONG = "Tell me about llamas and their wool. " * 400  # ~3000 tokens: past the window


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    local = LlamaServer(
        model="coder", ctx_size=WINDOW, parallel=1, threads=SERVER_THREADS, progress=print
    )
    local.start(timeout=START_TIMEOUT)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def local(server: LlamaServer) -> Iterator[LlamaServer]:
    """The module's server, up again after each test whatever the test did to it."""
    yield server
    if server._proc is None:
        server.start(timeout=START_TIMEOUT)


START_TIMEOUT = 600.0
# A loaded 2-core machine can be slow to answer; these tests assert routes, not speed.
SLOW_OK = {"timeout": 900.0}
# Text answers only need to exist: a few tokens keep each local call short.
SHORT = {**SAMPLING, "max_tokens": 8}


def _chat_model(server: LlamaServer, **fields: Any) -> ChatZenLlama:
    options = {**SHORT, **SLOW_OK, **fields}
    return ChatZenLlama(base_url=server.base_url, fallbacks=[Fallback(**zen_fields())], **options)


def _local_chats(sent: SentRequests, server: LlamaServer) -> list[Any]:
    return [s for s in sent.chats() if s.url.startswith(server.root_url)]


def test_the_count_is_the_one_the_server_uses(local: LlamaServer) -> None:
    client = ChatClient(resolve_settings(base_url=local.base_url, **SLOW_OK))
    messages = [{"role": "user", "content": WEATHER_QUESTION}]
    request = ChatRequest(messages, tools=[WEATHER_TOOL], tool_choice="required")
    body = client.build_body(request, stream=False)
    answer = client.complete(replace(request, options={"max_tokens": 8}))
    assert answer.usage is not None and answer.usage.input_tokens > 0
    assert prompt_tokens(client.connection, body) == answer.usage.input_tokens
    # Servers without input_tokens: /apply-template, then /tokenize.
    assert template_tokens(client.connection, body) == answer.usage.input_tokens


def test_stopped_mid_conversation_goes_to_zen_then_back(
    local: LlamaServer, sent: SentRequests
) -> None:
    llm = _chat_model(local)
    messages: list[Any] = [HumanMessage("Say hello.")]
    first = llm.invoke(messages)
    assert first.response_metadata["route"] == {"backend": "local", "reason": "first choice"}
    local.stop()
    messages += [first, HumanMessage("Say hello again.")]
    second = llm.invoke(messages)
    assert second.response_metadata["route"] == {
        "backend": "zen",
        "reason": "local unavailable: connection failed",
    }
    assert second.response_metadata["backend"] == "zen"
    local.start(timeout=START_TIMEOUT)  # the same port
    messages += [second, HumanMessage("Once more.")]
    third = llm.invoke(messages)
    assert third.response_metadata["route"]["backend"] == "local"
    # Served twice locally, plus one refused attempt while down (at once: no retries).
    assert len(_local_chats(sent, local)) == 3 and len(zen_chats(sent)) == 1


def test_past_the_window_goes_to_zen_before_any_local_request_and_comes_back(
    local: LlamaServer, sent: SentRequests
) -> None:
    llm = _chat_model(local)
    long = llm.invoke([HumanMessage(LONG)])
    route = long.response_metadata["route"]
    assert route["backend"] == "zen"
    match = re.fullmatch(rf"local context window {WINDOW} < (\d+) needed", route["reason"])
    assert match and int(match[1]) > WINDOW
    assert _local_chats(sent, local) == []  # no failed round trip
    # Counted by the server, in one round trip.
    assert [s.path for s in sent if s.url.startswith(local.root_url)][-1] == (
        "/v1/chat/completions/input_tokens"
    )
    short = llm.invoke([HumanMessage("Say hello.")])
    assert short.response_metadata["route"]["backend"] == "local"
    assert len(_local_chats(sent, local)) == 1


def test_streams_route_too(local: LlamaServer) -> None:
    llm = _chat_model(local)
    chunks = list(llm.stream([HumanMessage(LONG)]))
    assert chunks[-1].response_metadata["route"]["backend"] == "zen"
    chunks = list(llm.stream([HumanMessage("Say hello.")]))
    assert chunks[-1].response_metadata["route"]["backend"] == "local"


def test_langchain_tool_loop_continues_on_zen(local: LlamaServer, sent: SentRequests) -> None:
    llm = _chat_model(local, max_tokens=64)  # room for the call's JSON
    tools = llm.bind_tools([WEATHER_TOOL], tool_choice="required")
    messages = convert_to_messages([{"role": "user", "content": WEATHER_QUESTION}])
    call = tools.invoke(messages)
    assert call.response_metadata["route"]["backend"] == "local"
    [tool_call] = call.tool_calls
    local.stop()
    result = ToolMessage("rainy, 11 C", tool_call_id=tool_call["id"])
    final = llm.invoke([*messages, call, result])
    assert final.response_metadata["route"]["backend"] == "zen"
    assert final.content == "The tool says: rainy, 11 C."
    sent_call, sent_result = zen_chats(sent)[-1].body["messages"][-2:]
    assert sent_call["tool_calls"][0]["id"] == sent_result["tool_call_id"] == tool_call["id"]


async def test_llama_index_function_agent_continues_on_zen(local: LlamaServer, seen: Seen) -> None:
    llm = ZenLlama(
        base_url=local.base_url, fallbacks=[Fallback(**zen_fields())], **SAMPLING, **SLOW_OK
    )

    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        local.stop()  # the local server goes away while the tool runs
        return f"rainy in {city}"

    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=llm,
        initial_tool_choice="get_weather",
        allow_parallel_tool_calls=False,
    )
    handler = agent.run(user_msg=WEATHER_QUESTION, max_iterations=4)
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    output = await handler
    [result] = results
    assert str(output) == f"The tool says: {result.tool_output.content}."
    switches = [(e.backend, e.reason) for e in seen.events if isinstance(e, RouteSwitchEvent)]
    assert switches == [("zen", "local unavailable: connection failed")]
    assert json.dumps(result.tool_kwargs)  # the call was made locally, with arguments
