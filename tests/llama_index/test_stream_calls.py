"""stream_chat with many tool calls is linear: each delta costs the same however many calls came
before it (issue 18 #9: each delta rebuilt every call and the whole message). Work is counted
(function calls per delta), never timed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from llama_index.core.base.llms.types import ThinkingBlock, ToolCallBlock

from zenllama.core import StreamDelta, ToolCallFragment
from zenllama.llama_index import ZenLlama
from zenllama.llama_index.messages import ChatStream

CALLS = 150


def _deltas(calls: int) -> list[StreamDelta]:
    """Each call as servers stream it: its id and name, then its arguments in two pieces."""
    deltas = [StreamDelta(reasoning="Let me look them all up.", text="Looking.")]
    for i in range(calls):
        deltas += [
            StreamDelta(tool_call_fragments=[ToolCallFragment(i, f"call_{i}", "weather", "")]),
            StreamDelta(tool_call_fragments=[ToolCallFragment(i, None, None, '{"city": ')]),
            StreamDelta(tool_call_fragments=[ToolCallFragment(i, None, None, f'"c{i}"}}')]),
        ]
    return deltas


def _work(feed: Callable[[StreamDelta], Any], delta: StreamDelta) -> int:
    """Function calls (Python and C) one delta makes."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        feed(delta)
    finally:
        sys.setprofile(None)
    return count


def test_a_delta_costs_the_same_however_many_calls_came_before() -> None:
    stream = ChatStream()
    work = [_work(stream.response, delta) for delta in _deltas(CALLS)]
    early, late = work[31:61], work[-30:]  # calls 10..19 and the last ten
    assert max(late) <= max(early), (early, late)


def test_the_streamed_message_holds_every_call_so_far() -> None:
    stream = ChatStream()
    deltas = _deltas(CALLS)
    responses = [stream.response(delta) for delta in deltas]
    message = responses[-1].message
    calls = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    assert [(c.tool_call_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        (f"call_{i}", "weather", f'{{"city": "c{i}"}}') for i in range(CALLS)
    ]
    assert message.additional_kwargs["tool_calls"][-1] == {
        "id": f"call_{CALLS - 1}",
        "type": "function",
        "function": {"name": "weather", "arguments": f'{{"city": "c{CALLS - 1}"}}'},
    }
    assert isinstance(message.blocks[0], ThinkingBlock)
    assert (message.blocks[0].content, message.content) == ("Let me look them all up.", "Looking.")
    assert responses[0].delta == "Looking." and responses[-1].delta == ""
    assert responses[0].additional_kwargs == {"thinking_delta": "Let me look them all up."}
    # Earlier responses are snapshots: later fragments never changed them.
    first = [b for b in responses[1].message.blocks if isinstance(b, ToolCallBlock)]
    assert [(c.tool_call_id, c.tool_kwargs) for c in first] == [("call_0", "")]
    assert responses[1].message.additional_kwargs["tool_calls"][0]["function"]["arguments"] == ""
    selections = ZenLlama(base_url="http://127.0.0.1:9/v1").get_tool_calls_from_response(
        responses[-1]
    )
    assert selections[-1].tool_kwargs == {"city": f"c{CALLS - 1}"}
