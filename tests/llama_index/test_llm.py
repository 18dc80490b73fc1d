"""ZenLlama's calls over a loopback server sending the backends' real wire shapes."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.tools import FunctionTool

from zenllama.core import (
    AuthenticationError,
    ContextOverflowError,
    IncompleteStreamError,
    InvalidToolCallError,
    StreamError,
)
from zenllama.llama_index import ZenLlama

from ..support.answers import (
    LLAMA_PROPS,
    REASONING_ANSWER,
    TIMINGS,
    ZEN_ANSWER,
    reasoning_stream,
    text_stream,
    tool_call_answer,
    tool_call_stream,
)
from ..support.fake_servers import FakeServer, Reply, sse
from ..support.llama_index_calls import (
    chat,
    chat_with_tools,
    complete,
    stream_chat,
    stream_complete,
    user,
)


def _thinking(message: ChatMessage) -> str:
    return "".join(b.content or "" for b in message.blocks if isinstance(b, ThinkingBlock))


def get_weather(city: str) -> str:
    """Get the current weather in a city"""
    return f"rainy in {city}"


def get_time(city: str) -> str:
    """Get the local time in a city"""
    return "noon"


# Whole answers ----------------------------------------------------------------------------
async def test_chat_puts_reasoning_in_a_thinking_block(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=REASONING_ANSWER))
    response = await chat(llm, mode, [user("Hi")])

    assert response.message.content == "Hello there!"
    assert _thinking(response.message) == "The user greets me.\n"
    texts = [b.text for b in response.message.blocks if isinstance(b, TextBlock)]
    assert texts == ["Hello there!"]
    assert response.additional_kwargs == {
        "prompt_tokens": 25,
        "completion_tokens": 30,
        "total_tokens": 55,
        "cached_tokens": 5,
        "timings": TIMINGS,
        "finish_reason": "stop",
    }
    assert response.raw["usage"] == {
        "prompt_tokens": 25,
        "completion_tokens": 30,
        "total_tokens": 55,
        "prompt_tokens_details": {"cached_tokens": 5},
    }
    body = fake.chat_bodies[-1]
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert body["temperature"] == 0
    assert "stream" not in body


async def test_reasoning_tokens_reach_both_usage_places(fake: FakeServer, mode: str) -> None:
    fake.chat(Reply(body=ZEN_ANSWER))
    llm = ZenLlama(base_url=fake.base_url, backend="zen", api_key="k", max_retries=0)
    response = await chat(llm, mode, [user("2+2?")])

    assert response.additional_kwargs["reasoning_tokens"] == 6
    assert response.raw["usage"]["completion_tokens_details"] == {"reasoning_tokens": 6}
    assert _thinking(response.message) == "2+2 is 4."


async def test_complete_keeps_reasoning_in_additional_kwargs(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=REASONING_ANSWER))
    response = await complete(llm, mode, "Hi")

    assert response.text == "Hello there!"
    assert response.additional_kwargs["reasoning_content"] == "The user greets me.\n"
    assert response.additional_kwargs["completion_tokens"] == 30
    assert fake.chat_bodies[-1]["messages"] == [{"role": "user", "content": "Hi"}]


# Streams --------------------------------------------------------------------------------
async def test_stream_chat_is_cumulative_with_thinking_deltas(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(events=reasoning_stream()))
    responses = await stream_chat(llm, mode, [user("Hi")])

    deltas = [r.delta or "" for r in responses]
    thinking = [r.additional_kwargs.get("thinking_delta", "") for r in responses]
    assert "".join(deltas) == "Hello there!"
    assert "".join(thinking) == "The user greets me."
    for i, response in enumerate(responses):  # each message holds everything so far
        assert response.message.content == "".join(deltas[: i + 1])
        assert _thinking(response.message) == "".join(thinking[: i + 1])
    last = responses[-1]
    assert last.additional_kwargs["prompt_tokens"] == 20
    assert last.additional_kwargs["cached_tokens"] == 3
    assert last.additional_kwargs["timings"] == TIMINGS
    assert last.additional_kwargs["finish_reason"] == "stop"
    assert last.raw["usage"]["completion_tokens"] == 7
    body = fake.chat_bodies[-1]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_stream_complete_is_cumulative_and_ends_with_reasoning(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(events=text_stream("Hel", "lo", reasoning="Greeting.")))
    responses = await stream_complete(llm, mode, "Hi")

    assert [r.text for r in responses if r.delta] == ["Hel", "Hello"]
    assert responses[0].additional_kwargs["thinking_delta"] == "Greeting."
    assert responses[-1].text == "Hello"
    assert responses[-1].additional_kwargs["reasoning_content"] == "Greeting."
    assert responses[-1].additional_kwargs["total_tokens"] == 27


# Tool calls -----------------------------------------------------------------------------
async def test_chat_tool_call_becomes_a_tool_call_block(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=tool_call_answer('{\n  "city": "Paris"\n}')))
    response = await chat_with_tools(
        llm, mode, [FunctionTool.from_defaults(get_weather)], user_msg="Weather in Paris?"
    )

    [block] = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert (block.tool_call_id, block.tool_name, block.tool_kwargs) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    [selection] = llm.get_tool_calls_from_response(response)
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert response.additional_kwargs["finish_reason"] == "tool_calls"


async def test_streamed_tool_call_is_readable_on_every_chunk(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(events=tool_call_stream(['{"ci', 'ty": "Pa', 'ris"}'])))
    responses = await stream_chat(llm, mode, [user("Weather in Paris?")])

    for response in responses[:-1]:  # partial JSON never raises while streaming
        [partial] = llm.get_tool_calls_from_response(response)
        assert partial.tool_name == "get_weather"
        assert isinstance(partial.tool_kwargs, dict)
    streaming, last = (r.message.blocks[-1] for r in responses[-2:])
    assert isinstance(streaming, ToolCallBlock) and isinstance(last, ToolCallBlock)
    assert streaming.tool_kwargs == '{"city": "Paris"}'  # the text so far
    assert last.tool_kwargs == {"city": "Paris"}  # judged once, by the core, at the end
    [call] = llm.get_tool_calls_from_response(responses[-1])
    assert (call.tool_id, call.tool_name, call.tool_kwargs) == (
        "call_s1",
        "get_weather",
        {"city": "Paris"},
    )


async def test_no_tool_call_is_an_error_only_when_asked(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=REASONING_ANSWER))
    response = await chat(llm, mode, [user("Hi")])
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="tool_required"):
        llm.get_tool_calls_from_response(response)


async def test_invalid_arguments_raise_a_typed_error(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(body=tool_call_answer('{"city": "Par')))
    response = await chat(llm, mode, [user("Weather?")])

    with pytest.raises(InvalidToolCallError) as caught:
        llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert caught.value.name == "get_weather"
    assert caught.value.arguments == '{"city": "Par'
    assert "not valid JSON" in caught.value.error
    # The message stays truthful: the raw arguments, not a made-up {}.
    [block] = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert block.tool_kwargs == '{"city": "Par'


async def test_invalid_streamed_arguments_raise_only_at_the_end(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.chat(Reply(events=tool_call_stream(['{"city": ', '"Par'])))
    responses = await stream_chat(llm, mode, [user("Weather?")])

    for response in responses[:-1]:
        llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    with pytest.raises(InvalidToolCallError, match="get_weather"):
        llm.get_tool_calls_from_response(responses[-1], error_on_no_tool_call=False)


async def test_tool_choice_reaches_llama_server_in_its_dialect(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    fake.props = LLAMA_PROPS
    tools = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_time)]
    history = [user("Hello")]
    for _ in range(3):
        fake.chat(Reply(body=tool_call_answer('{"city": "Paris"}')))

    await chat_with_tools(llm, mode, tools, user_msg="Weather?", chat_history=history)
    await chat_with_tools(llm, mode, tools, user_msg="Weather?", tool_required=True)
    await chat_with_tools(
        llm,
        mode,
        tools,
        user_msg="Weather?",
        tool_choice="get_time",
        allow_parallel_tool_calls=True,
    )

    auto, required, named = fake.chat_bodies
    assert history == [user("Hello")]  # the caller's list is left alone
    assert [m["content"] for m in auto["messages"]] == ["Hello", "Weather?"]
    assert (auto["tool_choice"], auto["parallel_tool_calls"]) == ("auto", False)
    assert [t["function"]["name"] for t in auto["tools"]] == ["get_weather", "get_time"]
    assert required["tool_choice"] == "required"
    # llama-server ignores the object form: only the named tool, and required; one named tool
    # is one call, whatever allow_parallel_tool_calls says.
    assert [t["function"]["name"] for t in named["tools"]] == ["get_time"]
    assert (named["tool_choice"], named["parallel_tool_calls"]) == ("required", False)
    with pytest.raises(ValueError, match="get_news"):  # before anything is sent
        llm.stream_chat_with_tools(tools, user_msg="News?", tool_choice="get_news")
    assert len(fake.chat_bodies) == 3


async def test_single_tool_call_kept_unless_parallel_allowed(
    fake: FakeServer, llm: ZenLlama, mode: str
) -> None:
    answer = tool_call_answer('{"city": "Paris"}')
    call = answer["choices"][0]["message"]["tool_calls"][0]
    answer["choices"][0]["message"]["tool_calls"] = [call, {**call, "id": "call_2"}]
    fake.chat(Reply(body=answer))
    fake.chat(Reply(body=answer))
    tools = [FunctionTool.from_defaults(get_weather)]

    single = await chat_with_tools(llm, mode, tools, user_msg="Weather?")
    both = await chat_with_tools(
        llm, mode, tools, user_msg="Weather?", allow_parallel_tool_calls=True
    )
    assert [c.tool_id for c in llm.get_tool_calls_from_response(single)] == ["call_1"]
    assert [c["id"] for c in single.message.additional_kwargs["tool_calls"]] == ["call_1"]
    assert [c.tool_id for c in llm.get_tool_calls_from_response(both)] == ["call_1", "call_2"]


# Errors ---------------------------------------------------------------------------------
CONTEXT_OVERFLOW = {
    "error": {
        "code": 400,
        "message": "the request exceeds the available context size",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 9000,
        "n_ctx": 4096,
    }
}


@pytest.mark.parametrize("stream", [False, True])
async def test_http_errors_are_typed(
    fake: FakeServer, llm: ZenLlama, mode: str, stream: bool
) -> None:
    call = stream_chat if stream else chat
    fake.chat(Reply(400, CONTEXT_OVERFLOW))
    with pytest.raises(ContextOverflowError) as caught:
        await call(llm, mode, [user("long")])
    assert (caught.value.n_ctx, caught.value.n_prompt_tokens) == (4096, 9000)

    fake.chat(Reply(401, {"error": {"message": "Invalid API key"}}))
    with pytest.raises(AuthenticationError, match="BACKEND_API_KEY"):
        await call(llm, mode, [user("hi")])


async def test_stream_failures_are_typed(fake: FakeServer, llm: ZenLlama, mode: str) -> None:
    fake.chat(Reply(events=sse(text_stream("Hel")[0], {"error": {"message": "slot crashed"}})))
    with pytest.raises(StreamError, match="slot crashed"):
        await stream_chat(llm, mode, [user("hi")])

    fake.chat(Reply(events=text_stream("Hel")[:1]))  # cut before finish_reason and [DONE]
    with pytest.raises(IncompleteStreamError):
        await stream_chat(llm, mode, [user("hi")])


# Token counting -------------------------------------------------------------------------
@pytest.mark.parametrize("call", [chat, stream_chat, complete, stream_complete])
async def test_token_counting_handler_counts_server_usage_once(
    fake: FakeServer, mode: str, call: Any
) -> None:
    counter = TokenCountingHandler()
    llm = ZenLlama(
        base_url=fake.base_url, max_retries=0, callback_manager=CallbackManager([counter])
    )
    streamed = call in (stream_chat, stream_complete)
    if streamed:
        fake.chat(Reply(events=reasoning_stream()))
    else:
        fake.chat(Reply(body=REASONING_ANSWER))
    await call(llm, mode, "Hi" if call in (complete, stream_complete) else [user("Hi")])

    # A completion is built on a chat, yet is one LLM event: counted once, not twice.
    assert len(counter.llm_token_counts) == 1
    expected = (20, 7) if streamed else (25, 30)
    assert (counter.prompt_llm_token_count, counter.completion_llm_token_count) == expected


def test_the_tokenizer_follows_a_changed_base_url(fake: FakeServer) -> None:
    other = FakeServer()
    try:
        for server, ids in ((fake, [1, 2]), (other, [7, 8, 9])):
            server.props = LLAMA_PROPS
            server.reply("/tokenize", Reply(body={"tokens": ids}))
        llm = ZenLlama(base_url=fake.base_url)
        tokenizer = llm.tokenizer  # kept, as Settings.tokenizer or a splitter keeps it
        assert tokenizer("hello") == [1, 2]
        llm.base_url = other.base_url
        assert tokenizer("hello") == [7, 8, 9]
        assert len(other.requests_to("/tokenize")) == 1
    finally:
        other.close()
