"""LlamaIndex's own machinery on ZenLlama: FunctionAgent tool loops and structured output."""

from __future__ import annotations

import json

import pytest
from llama_index.core.agent.workflow import (
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ToolCallResult,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from zenllama.core import InvalidToolCallError, TruncatedOutputError
from zenllama.llama_index import ZenLlama

from ..support.answers import LLAMA_PROPS, text_stream, tool_call_answer, tool_call_stream
from ..support.fake_servers import FakeServer, Reply
from ..support.llama_index_calls import user

# The workflow library inspects the agent's pydantic fields, which pydantic warns about.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    celsius: int


async def test_function_agent_runs_a_tool_loop_with_thinking(
    fake: FakeServer, llm: ZenLlama
) -> None:
    fake.props = LLAMA_PROPS  # llama-server: reasoning goes back with the tool results
    fake.chat(
        Reply(events=tool_call_stream(['{"city": ', '"Paris"}'], reasoning="Need the weather."))
    )
    fake.chat(Reply(events=text_stream("It is ", "rainy.", reasoning="The tool said rain.")))
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        calls.append(city)
        return "rainy, 12 C"

    agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_weather)], llm=llm)
    handler = agent.run(user_msg="Weather in Paris?")
    thinking: list[str] = []
    results: list[ToolCallResult] = []
    async for event in handler.stream_events():
        if isinstance(event, AgentStream) and event.thinking_delta:
            thinking.append(event.thinking_delta)
        elif isinstance(event, ToolCallResult):
            results.append(event)
    output = await handler

    assert calls == ["Paris"]
    assert [(r.tool_id, r.tool_kwargs) for r in results] == [("call_s1", {"city": "Paris"})]
    assert thinking == ["Need the weather.", "The tool said rain."]
    assert str(output) == "It is rainy."
    first, second = fake.chat_bodies
    assert first["messages"][-1] == {"role": "user", "content": "Weather in Paris?"}
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"] == [
        {
            "id": "call_s1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert assistant["reasoning_content"] == "Need the weather."
    assert tool == {"role": "tool", "content": "rainy, 12 C", "tool_call_id": "call_s1"}


async def test_function_agent_stops_on_arguments_that_do_not_parse(
    fake: FakeServer, llm: ZenLlama
) -> None:
    fake.chat(Reply(events=tool_call_stream(['{"city": ', '"Par'])))
    calls: list[str] = []
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(calls.append, name="get_weather")], llm=llm
    )

    with pytest.raises(InvalidToolCallError) as caught:  # not a call with made-up {} args
        await agent.run(user_msg="Weather in Paris?")
    assert (caught.value.name, caught.value.arguments) == ("get_weather", '{"city": "Par')
    assert calls == []


async def test_structured_predict_forces_the_schema_tool(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=tool_call_answer('{"city": "Oslo", "celsius": 3}', name="Weather")))
    prompt = PromptTemplate("Weather in {city}?")
    if mode == "sync":
        weather = llm.structured_predict(Weather, prompt, city="Oslo")
    else:
        weather = await llm.astructured_predict(Weather, prompt, city="Oslo")

    assert weather == Weather(city="Oslo", celsius=3)
    body = fake.chat_bodies[-1]
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["Weather"]
    assert body["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]


async def test_as_structured_llm_returns_the_object(fake: FakeServer, llm: ZenLlama) -> None:
    fake.chat(
        Reply(body=tool_call_answer(json.dumps({"city": "Rome", "celsius": 24}), name="Weather"))
    )
    response = llm.as_structured_llm(Weather).chat([user("Weather in Rome?")])
    assert response.raw == Weather(city="Rome", celsius=24)
    assert json.loads(response.message.content or "") == {"city": "Rome", "celsius": 24}


async def test_stream_structured_predict_fills_the_object_as_it_streams(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(
        Reply(events=tool_call_stream(['{"city": "Os', 'lo", "cel', 'sius": 3}'], name="Weather"))
    )
    prompt = PromptTemplate("Weather in {city}?")
    if mode == "sync":
        partials = list(llm.stream_structured_predict(Weather, prompt, city="Oslo"))
    else:
        stream = await llm.astream_structured_predict(Weather, prompt, city="Oslo")
        partials = [p async for p in stream]

    assert partials[-1] == Weather(city="Oslo", celsius=3)
    assert any(getattr(p, "city", None) == "Oslo" and p.celsius is None for p in partials)


@pytest.mark.parametrize("workflow", [False, True], ids=["FunctionAgent", "AgentWorkflow"])
async def test_a_forced_initial_tool_asks_for_one_call(
    fake: FakeServer, llm: ZenLlama, workflow: bool
) -> None:
    # Issue 10 #8: the named choice became "required" with parallel_tool_calls still true, the
    # model called twice, and the Llama 3.1 template refused the next turn (HTTP 400).
    fake.props = LLAMA_PROPS
    fake.chat(Reply(events=tool_call_stream(['{"city": "Paris"}'])))
    fake.chat(Reply(events=text_stream("Rainy.")))

    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        return "rainy"

    agent = FunctionAgent(
        name="weather",
        description="Tells the weather",
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=llm,
        initial_tool_choice="get_weather",
    )
    runner = AgentWorkflow(agents=[agent]) if workflow else agent
    output = await runner.run(user_msg="Weather in Paris?")

    assert str(output) == "Rainy."
    first = fake.chat_bodies[0]
    assert first["tool_choice"] == "required"
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    assert first["parallel_tool_calls"] is False


CUT = '{"city": "Oslo"'  # where the token limit stopped the call


def _cut_call(streamed: bool) -> Reply:
    if streamed:
        return Reply(events=tool_call_stream([CUT], name="Weather", finish="length"))
    return Reply(body=tool_call_answer(CUT, name="Weather", finish="length"))


async def test_structured_predict_refuses_an_answer_cut_by_the_token_limit(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    # Issue 10 #9: a cut-off structured answer must be an error that says so.
    fake.chat(_cut_call(streamed=False))
    prompt = PromptTemplate("Weather in {city}?")
    with pytest.raises(TruncatedOutputError, match="max_tokens") as caught:
        if mode == "sync":
            llm.structured_predict(Weather, prompt, city="Oslo")
        else:
            await llm.astructured_predict(Weather, prompt, city="Oslo")
    assert caught.value.text == CUT
    assert "zenllama_structured" not in fake.chat_bodies[-1]


async def test_stream_structured_predict_refuses_a_cut_answer(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(_cut_call(streamed=True))
    prompt = PromptTemplate("Weather in {city}?")
    with pytest.raises(TruncatedOutputError):
        if mode == "sync":
            list(llm.stream_structured_predict(Weather, prompt, city="Oslo"))
        else:
            stream = await llm.astream_structured_predict(Weather, prompt, city="Oslo")
            [p async for p in stream]


async def test_as_structured_llm_refuses_a_cut_answer(fake: FakeServer, llm: ZenLlama) -> None:
    fake.chat(_cut_call(streamed=False))
    with pytest.raises(TruncatedOutputError):
        llm.as_structured_llm(Weather).chat([user("Weather in Rome?")])


async def test_plain_chat_keeps_a_cut_answer(fake: FakeServer, llm: ZenLlama) -> None:
    fake.chat(_cut_call(streamed=False))
    response = llm.chat([user("Weather in Rome?")])  # not structured: the caller decides
    assert response.additional_kwargs["finish_reason"] == "length"
