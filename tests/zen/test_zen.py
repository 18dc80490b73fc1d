"""zen as a backend, on synthesized cassettes: session, keys, errors, GLM thinking, models.

The environment is a zen user's (conftest.py): BACKEND_URL=https://opencode.ai/zen/v1,
OPENCODE_API_KEY (a fake key), BACKEND_MODEL=glm-4.7.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ThinkingBlock

from zenllama.core import (
    AuthenticationError,
    ChatClient,
    MissingAPIKeyError,
    ModelNotSupportedError,
    RateLimitError,
    resolve_settings,
)
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama

from ..support.fake_zen import FAKE_KEY, zen_error
from ..support.spy import SentRequests
from ..support.synthesized import ZEN_URL, zen_cassette

pytestmark = pytest.mark.cassette
HELLO = "Say hello."


def _merged(chunks: list[Any]) -> Any:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    return merged


# The session header ---------------------------------------------------------------------
async def test_session_header_on_every_path(sent: SentRequests) -> None:
    with zen_cassette("session_every_path"):
        llm = ChatZenLlama(session_id="conversation-42")
        llm.invoke(HELLO)
        list(llm.stream(HELLO))
        await llm.ainvoke(HELLO)
        [c async for c in llm.astream(HELLO)]
        llm.list_models()
        await llm.alist_models()
    assert [(s.method, s.path) for s in sent] == [
        *[("POST", "/zen/v1/chat/completions")] * 4,
        *[("GET", "/zen/v1/models")] * 2,
    ]
    assert {s.headers["x-opencode-session"] for s in sent} == {"conversation-42"}
    assert {s.headers["authorization"] for s in sent} == {f"Bearer {FAKE_KEY}"}


def test_session_is_stable_per_instance_and_new_per_instance(sent: SentRequests) -> None:
    with zen_cassette("session_per_instance"):
        first, second = ChatZenLlama(), ZenLlama()
        for _ in range(2):
            first.invoke(HELLO)
            second.complete(HELLO)
    ids = [s.headers["x-opencode-session"] for s in sent]
    assert ids == [first.session_id, second.session_id] * 2 and ids[0] != ids[1]


# Keys ------------------------------------------------------------------------------------
async def test_chat_without_a_key_fails_before_sending(
    monkeypatch: pytest.MonkeyPatch, sent: SentRequests
) -> None:
    monkeypatch.delenv("OPENCODE_API_KEY")
    chat, index = ChatZenLlama(), ZenLlama()
    calls: list[Callable[[], object]] = [
        lambda: chat.invoke(HELLO),
        lambda: list(chat.stream(HELLO)),
        lambda: index.complete(HELLO),
        lambda: list(index.stream_complete(HELLO)),
    ]
    for call in calls:
        with pytest.raises(MissingAPIKeyError) as caught:
            call()
        assert isinstance(caught.value, AuthenticationError)
        assert "BACKEND_API_KEY or OPENCODE_API_KEY" in str(caught.value)
    with pytest.raises(MissingAPIKeyError):
        await chat.ainvoke(HELLO)
    with pytest.raises(MissingAPIKeyError):
        [c async for c in chat.astream(HELLO)]
    assert sent == []


@pytest.mark.parametrize("make", [ChatZenLlama, ZenLlama], ids=["langchain", "llama_index"])
def test_models_are_listed_without_a_key_under_the_zen_path(
    make: Any, monkeypatch: pytest.MonkeyPatch, sent: SentRequests
) -> None:
    monkeypatch.delenv("OPENCODE_API_KEY")
    with zen_cassette(f"models_keyless-{make.__name__}"):
        models = make().list_models()
    assert {"glm-4.7", "glm-4.7-free"} <= {m.id for m in models}
    assert {m.owned_by for m in models} == {"opencode"}
    [request] = sent
    assert request.url == f"{ZEN_URL}/models" and "authorization" not in request.headers


def test_rejected_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_API_KEY", "sk-zen-revoked-0000000000")
    with zen_cassette("error_401_rejected_key"), pytest.raises(AuthenticationError) as caught:
        ChatZenLlama(max_retries=0).invoke(HELLO)
    error = caught.value
    assert error.status == 401 and error.message == "Invalid API key."
    assert "key was rejected" in str(error) and "OPENCODE_API_KEY" in str(error)
    assert "sk-zen-revoked" not in str(error)


def test_free_model_without_a_key_is_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """What zen answers an anonymous call, seen below the client's own missing-key check."""
    monkeypatch.delenv("OPENCODE_API_KEY")
    client = ChatClient(resolve_settings(model="glm-4.7-free", max_retries=0))
    body = {"model": "glm-4.7-free", "messages": [{"role": "user", "content": HELLO}]}
    with (
        zen_cassette("error_403_anonymous_free_model"),
        pytest.raises(AuthenticationError) as caught,
    ):
        client.transport.post("/chat/completions", body)
    assert caught.value.status == 403
    assert "no key was sent" in str(caught.value) and "OPENCODE_API_KEY" in str(caught.value)


# Other errors ----------------------------------------------------------------------------
def test_model_served_only_over_another_api() -> None:
    with (
        zen_cassette("error_401_model_not_supported"),
        pytest.raises(ModelNotSupportedError) as caught,
    ):
        # Forced onto chat completions, which zen refuses for gpt-*: the hint names the fix.
        ChatZenLlama(model="gpt-5.1-codex", api="chat", max_retries=0).invoke(HELLO)
    assert caught.value.status == 401 and "gpt-5.1-codex" in caught.value.message
    assert "api='responses'" in str(caught.value)


def test_gemini_is_refused_before_sending(sent: SentRequests) -> None:
    with pytest.raises(ModelNotSupportedError, match="Google's Gemini format"):
        ChatZenLlama(model="gemini-3-pro", base_url=ZEN_URL, api_key="k").invoke(HELLO)
    assert not sent.chats() and not [s for s in sent if s.method == "POST"]


def test_rate_limit_carries_retry_after(sent: SentRequests) -> None:
    limited = zen_error(429, "RateLimitError", "Rate limit exceeded", **{"retry-after": "7"})
    with zen_cassette("error_429_rate_limited") as zen, pytest.raises(RateLimitError) as caught:
        zen.script(limited)
        ChatZenLlama(max_retries=0).invoke(HELLO)
    assert caught.value.status == 429 and caught.value.retry_after == 7.0
    assert len(sent) == 1


# GLM 4.7 thinking ------------------------------------------------------------------------
def test_thinking_is_on_by_default_and_switched_per_call(sent: SentRequests) -> None:
    with zen_cassette("thinking_switch"):
        llm = ChatZenLlama()
        default = llm.invoke(HELLO)
        off = llm.invoke(HELLO, reasoning=False)
        off_by_field = ChatZenLlama(reasoning=False).invoke(HELLO)
    assert default.additional_kwargs["reasoning_content"]
    assert "reasoning_content" not in off.additional_kwargs
    assert "reasoning_content" not in off_by_field.additional_kwargs
    bodies = [s.body for s in sent]
    assert "thinking" not in bodies[0]
    assert bodies[1]["thinking"] == bodies[2]["thinking"] == {"type": "disabled"}


def test_stream_carries_reasoning_deltas_and_usage() -> None:
    with zen_cassette("stream_reasoning"):
        chunks = list(ChatZenLlama().stream(HELLO))
    reasoning = [c.additional_kwargs["reasoning_content"] for c in chunks if c.additional_kwargs]
    message = _merged(chunks)
    assert (
        len(reasoning) > 1 and "".join(reasoning) == message.additional_kwargs["reasoning_content"]
    )
    assert message.content == "Hello! How can I help you today?"
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0


def test_usage_reports_cached_and_reasoning_tokens() -> None:
    with zen_cassette("usage_cache_and_reasoning"):
        llm, index = ChatZenLlama(), ZenLlama()
        llm.invoke(HELLO)
        usage = llm.invoke(HELLO).usage_metadata
        index.complete(HELLO)
        kwargs = index.complete(HELLO).additional_kwargs
    assert usage is not None
    assert usage["input_token_details"]["cache_read"] == usage["input_tokens"]
    reasoning = usage["output_token_details"]["reasoning"]
    assert 0 < reasoning < usage["output_tokens"]
    assert kwargs["cached_tokens"] == kwargs["prompt_tokens"]
    assert 0 < kwargs["reasoning_tokens"] < kwargs["completion_tokens"]


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_interleaved_thinking_in_a_tool_loop(streamed: bool, sent: SentRequests) -> None:
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return "rainy, 12 C"

    with zen_cassette(f"tool_loop_reasoning-{'stream' if streamed else 'invoke'}"):
        llm = ChatZenLlama().bind_tools([get_weather])
        history: list[BaseMessage] = [HumanMessage("What is the weather in Paris?")]
        first = _merged(list(llm.stream(history))) if streamed else llm.invoke(history)
        [call] = first.tool_calls
        history += [first, ToolMessage(get_weather(**call["args"]), tool_call_id=call["id"])]
        final = llm.invoke(history)
    assert first.additional_kwargs["reasoning_content"].startswith("The user asks about Paris")
    assert (call["name"], call["args"]) == ("get_weather", {"city": "Paris"})
    assert final.content == "The tool says: rainy, 12 C."
    # The follow-up request carries the turn's reasoning together with its tool result.
    *_, turn, result = sent[-1].body["messages"]
    assert turn["reasoning_content"] == first.additional_kwargs["reasoning_content"]
    assert [c["id"] for c in turn["tool_calls"]] == [call["id"]] == [result["tool_call_id"]]


EARLIER_REASONING = ["  First, the user greets me.\n\nI greet back.  ", "Second:\tstill friendly."]


def _langchain_preserving() -> None:
    history: list[BaseMessage] = [HumanMessage("Hi")]
    for reasoning, user in zip(EARLIER_REASONING, ["Hi again", HELLO], strict=True):
        history += [AIMessage("Hello!", additional_kwargs={"reasoning_content": reasoning})]
        history += [HumanMessage(user)]
    ChatZenLlama(preserve_thinking=True).invoke(history)


def _llama_index_preserving() -> None:
    history = [ChatMessage(role=MessageRole.USER, content="Hi")]
    for reasoning, user in zip(EARLIER_REASONING, ["Hi again", HELLO], strict=True):
        blocks = [ThinkingBlock(content=reasoning), TextBlock(text="Hello!")]
        history += [ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)]
        history += [ChatMessage(role=MessageRole.USER, content=user)]
    ZenLlama(preserve_thinking=True).chat(history)


@pytest.mark.parametrize(
    "run", [_langchain_preserving, _llama_index_preserving], ids=["langchain", "llama_index"]
)
def test_preserved_thinking_sends_every_turn_back_unchanged(
    run: Callable[[], None], sent: SentRequests, request: pytest.FixtureRequest
) -> None:
    with zen_cassette(f"preserved_thinking-{request.node.callspec.id}"):
        run()
    body = sent[-1].body
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False}
    sent_back = [m["reasoning_content"] for m in body["messages"] if m["role"] == "assistant"]
    assert sent_back == EARLIER_REASONING
