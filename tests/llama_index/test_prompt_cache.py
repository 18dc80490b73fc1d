"""Prompt caching through LlamaIndex: a FunctionAgent on zen's Claude with prompt_cache="auto"
sends breakpoints and shows cache writes, then reads (`additional_kwargs` and the
TokenCountingHandler); a `CachePoint` reaches the wire as llama-index-llms-anthropic sends it
(on the block before it). Claude's answers come from the fake zen, SYNTHESIZED from
Anthropic's documented usage fields
(https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    ChatResponse,
    TextBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
from llama_index.core.tools import FunctionTool
from llama_index_instrumentation import get_dispatcher

from zenllama.llama_index import ZenLlama

from ..core.test_prompt_cache import LONG_SYSTEM, SONNET, marks
from ..support.fake_zen import FAKE_KEY, FakeZen
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import ZEN_URL

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")


class _Ends(BaseEventHandler):
    responses: list[ChatResponse]

    @classmethod
    def class_name(cls) -> str:
        return "Ends"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, LLMChatEndEvent) and event.response is not None:
            self.responses.append(event.response)


@pytest.fixture
def ends() -> Iterator[_Ends]:
    handler = _Ends(responses=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers.remove(handler)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentRequests]:
    spied = spy_requests(monkeypatch)
    with FakeZen().serving():
        yield spied


def _claude(**fields: Any) -> ZenLlama:
    return ZenLlama(base_url=ZEN_URL, model=SONNET, api_key=FAKE_KEY, **fields)


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"rainy, 12 C in {city}"


async def test_function_agent_writes_then_reads_the_cache(sent: SentRequests, ends: _Ends) -> None:
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=_claude(prompt_cache="auto"),
        system_prompt=LONG_SYSTEM,
    )
    await agent.run(user_msg="Weather in Paris?")
    bodies = [s.body for s in sent.to("/messages")]
    assert len(bodies) == 2  # the call, then the answer after its result
    assert marks(bodies[0]) == ["system:0"]  # not grown yet: tools + system
    assert marks(bodies[1]) == ["system:0", "2:tool_result"]  # and the newest turn
    first, second = (r.additional_kwargs for r in ends.responses[-2:])
    assert first["cache_creation_tokens"] > 0 and first["cached_tokens"] == 0
    assert second["cached_tokens"] == first["cache_creation_tokens"]
    assert second["cache_creation_tokens"] > 0


async def test_prompt_cache_off_sends_no_breakpoint(sent: SentRequests) -> None:
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)],
        llm=_claude(prompt_cache="off"),
        system_prompt=LONG_SYSTEM,
    )
    await agent.run(user_msg="Weather in Paris?")
    assert all("cache_control" not in json.dumps(s.body) for s in sent.to("/messages"))


def test_cache_point_marks_the_block_before_it(sent: SentRequests) -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral", ttl="1h"))
    messages = [
        ChatMessage(role="system", blocks=[TextBlock(text="Be brief."), point]),
        ChatMessage(
            role="user",
            blocks=[TextBlock(text="Context: Paris."), point, TextBlock(text="Weather?")],
        ),
    ]
    response = _claude(prompt_cache="off").chat(messages)
    body = sent.to("/messages")[-1].body
    ttl = {"type": "ephemeral", "ttl": "1h"}  # as given, TTL and all
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": ttl}]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Context: Paris.", "cache_control": ttl},
        {"type": "text", "text": "Weather?"},
    ]
    # Short prompts: Anthropic writes nothing under the minimum, and says so.
    assert response.additional_kwargs["cache_creation_tokens"] == 0


def test_cache_point_first_in_a_message_is_a_clear_error(sent: SentRequests) -> None:
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    with pytest.raises(ValueError, match="CachePoint marks the block before it"):
        _claude().chat([ChatMessage(role="user", blocks=[point, TextBlock(text="hi")])])


def test_cache_points_never_reach_chat_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    spied = spy_requests(monkeypatch)
    point = CachePoint(cache_control=CacheControl(type="ephemeral"))
    with FakeZen().serving():
        ZenLlama(base_url=ZEN_URL, model="glm-4.7", api_key=FAKE_KEY).chat(
            [ChatMessage(role="user", blocks=[TextBlock(text="hi"), point])]
        )
    assert "cache_control" not in json.dumps(spied.chats()[-1].body)


def test_token_counting_sees_reads_and_writes_in_the_input(sent: SentRequests) -> None:
    counter = TokenCountingHandler()
    llm = _claude(callback_manager=CallbackManager([counter]))
    messages = [
        ChatMessage(role="system", content=LONG_SYSTEM),
        ChatMessage(role="user", content="Hello"),
        ChatMessage(role="assistant", content="Hi! How can I help?"),
        ChatMessage(role="user", content="Weather in Paris?"),
    ]
    first = llm.chat(messages)
    again = llm.stream_chat(messages)
    last = list(again)[-1]
    for response in (first, last):
        usage = response.raw["usage"]
        kwargs = response.additional_kwargs
        assert usage["prompt_tokens"] == kwargs["prompt_tokens"]
        assert usage["prompt_tokens_details"]["cached_tokens"] == kwargs["cached_tokens"]
        assert usage["cache_creation_input_tokens"] == kwargs["cache_creation_tokens"]
    assert first.additional_kwargs["cache_creation_tokens"] > 0
    assert (
        last.additional_kwargs["cached_tokens"] == first.additional_kwargs["cache_creation_tokens"]
    )
    # The handler counts the whole input, read and written tokens included.
    counted = [e.prompt_token_count for e in counter.llm_token_counts]
    assert counted == [
        first.additional_kwargs["prompt_tokens"],
        last.additional_kwargs["prompt_tokens"],
    ]
