"""LlamaIndex messages to the wire: tool loops, reasoning pass-back, images."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from zenllama.llama_index import ZenLlama
from zenllama.llama_index.messages import to_wire_messages

from ..support.answers import LLAMA_PROPS, REASONING_ANSWER
from ..support.fake_servers import FakeServer, Reply
from ..support.llama_index_calls import chat, user

TOOL_LOOP = [
    ChatMessage(role="system", content="Be brief."),
    user("Weather in Paris?"),
    ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="I should call the tool."),
            TextBlock(text=""),
            ToolCallBlock(
                tool_call_id="call_1", tool_name="get_weather", tool_kwargs={"city": "Paris"}
            ),
        ],
    ),
    ChatMessage(role="tool", content="rainy", additional_kwargs={"tool_call_id": "call_1"}),
]

WIRE_TOOL_LOOP = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
        "reasoning_content": "I should call the tool.",
    },
    {"role": "tool", "content": "rainy", "tool_call_id": "call_1"},
]


def test_tool_loop_to_wire() -> None:
    assert to_wire_messages(TOOL_LOOP) == WIRE_TOOL_LOOP


@pytest.mark.parametrize(
    ("props", "kept"),
    [(LLAMA_PROPS, True), (None, False)],  # llama-server keeps reasoning; generic strips it
)
async def test_reasoning_goes_back_as_the_backend_profile_wants(
    fake: FakeServer, llm: ZenLlama, mode: str, props: dict[str, object] | None, kept: bool
) -> None:
    fake.props = props
    fake.chat(Reply(body=REASONING_ANSWER))
    await chat(llm, mode, TOOL_LOOP)
    assistant = fake.chat_bodies[-1]["messages"][2]
    assert ("reasoning_content" in assistant) is kept
    assert assistant["tool_calls"] == WIRE_TOOL_LOOP[2]["tool_calls"]


def test_streamed_arguments_still_text_go_as_they_are() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id="c", tool_name="f", tool_kwargs='{"a": 1}')],
    )
    [wire] = to_wire_messages([message])
    assert wire["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


def test_images_become_content_parts_and_a_cache_point_marks_the_part_before_it() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is this?"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
            ImageBlock(url="https://example.com/cat.png", detail="low"),
            ImageBlock(image=b"\x89PNG", image_mimetype="image/png"),
        ],
    )
    [wire] = to_wire_messages([message])
    # Issue 21: the CachePoint is a breakpoint (Anthropic Messages sends it; other wires drop it).
    mark = {"type": "ephemeral", "ttl": "5m"}
    assert wire["content"] == [
        {"type": "text", "text": "What is this?", "cache_control": mark},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]


def test_unsupported_blocks_are_refused_by_name() -> None:
    message = ChatMessage(role="user", blocks=[AudioBlock(audio=b"RIFF", format="wav")])
    with pytest.raises(ValueError, match="AudioBlock"):
        to_wire_messages([message])
