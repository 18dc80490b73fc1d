"""ChatZenLlama over every answer shape, in invoke, ainvoke, stream and astream alike."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from zenllama.langchain import ChatZenLlama

from ..support.answers import TIMINGS
from ..support.fake_servers import FakeServer
from ..support.wire_shapes import SHAPES, Shape

MODES = ["invoke", "ainvoke", "stream", "astream"]


async def _run(llm: ChatZenLlama, mode: str) -> AIMessage:
    if mode == "invoke":
        return llm.invoke("hi")
    if mode == "ainvoke":
        return await llm.ainvoke("hi")
    chunks: list[AIMessageChunk] = (
        list(llm.stream("hi")) if mode == "stream" else [c async for c in llm.astream("hi")]
    )
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    return merged


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
async def test_shape(fake: FakeServer, shape: Shape, mode: str) -> None:
    whole, streamed = shape.replies()
    fake.chat(whole if mode.endswith("invoke") else streamed)
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server")
    message = await _run(llm, mode)

    assert message.content == shape.text
    assert message.additional_kwargs.get("reasoning_content", "") == shape.reasoning
    assert [(c["name"], c["args"]) for c in message.tool_calls] == (shape.tool_calls or [])
    if shape.invalid and mode.endswith("invoke"):
        # LangChain's chunk merging re-parses streamed arguments itself; whole answers keep
        # the core's verdict and its error.
        assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == shape.invalid
        assert "not valid JSON" in (message.invalid_tool_calls[0]["error"] or "")
    if shape.invalid and mode.endswith("stream"):
        assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == shape.invalid
    usage = message.usage_metadata
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (25, 30, 55)
    assert usage.get("input_token_details", {}).get("cache_read") == 3
    assert usage.get("output_token_details", {}).get("reasoning") == 12
    metadata = message.response_metadata
    assert metadata["finish_reason"] == (
        "tool_calls" if shape.tool_calls or shape.invalid else "stop"
    )
    assert metadata["model_name"] == "gemma.gguf" and metadata["backend"] == "llama-server"
    if "timings" in shape.whole:
        assert metadata["timings"] == TIMINGS


def _ids(message: AIMessage) -> list[Any]:
    return [c["id"] for c in message.tool_calls]


async def test_generated_tool_call_ids_are_the_same_in_invoke_and_stream(fake: FakeServer) -> None:
    shape = next(s for s in SHAPES if s.name.startswith("no function wrapper"))
    fake.chat(*shape.replies())
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server")
    invoked = await _run(llm, "invoke")
    streamed = await _run(llm, "stream")
    assert _ids(invoked) == _ids(streamed) and _ids(invoked)[0].startswith("call_")


async def test_content_blocks_show_reasoning_apart_from_text(fake: FakeServer) -> None:
    fake.chat(SHAPES[0].replies()[0])
    message = ChatZenLlama(base_url=fake.base_url, backend="llama-server").invoke("hi")
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "text"]
