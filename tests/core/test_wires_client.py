"""Each wire through the real client and transport, offline (support.fake_servers): paths, headers,
typed errors in zen's envelope, a conversation that switches model family, list_models."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from zenllama.core import (
    ChatClient,
    ChatRequest,
    ModelNotSupportedError,
    RateLimitError,
    ServerOverloadedError,
    StreamError,
    resolve_settings,
)
from zenllama.core.httpx_compat import OPENAI_MAJOR
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama

from ..support.fake_servers import FakeServer, Reply
from ..support.wire_streams import messages_sse, responses_sse
from .test_wires import CLAUDE_ANSWER, GPT_ANSWER, GPT_REFUSAL, REFUSAL

HI = [{"role": "user", "content": "hi"}]
GLM_ANSWER = {
    "id": "chatcmpl-1",
    "model": "glm-4.7",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet."},
        }
    ],
}


def _zen(fake: FakeServer, model: str) -> ChatClient:
    """zen's rules (backend="zen") on the loopback fake."""
    return ChatClient(
        resolve_settings(base_url=fake.base_url, api_key="k", model=model, backend="zen")
    )


def _sse_lines(lines: list[str]) -> list[Any]:
    return [line for line in lines if line]


def test_each_family_goes_to_its_path_with_its_headers(fake: FakeServer) -> None:
    fake.reply("/v1/messages", Reply(body=CLAUDE_ANSWER))
    fake.reply("/v1/responses", Reply(body=GPT_ANSWER))
    fake.chat(Reply(body=GLM_ANSWER))
    assert _zen(fake, "claude-sonnet-4-5").complete(ChatRequest(HI)).text == "Let me check."
    assert _zen(fake, "gpt-5.1").complete(ChatRequest(HI)).text == "Let me check."
    assert _zen(fake, "glm-4.7").complete(ChatRequest(HI)).text == "Hello!"
    messages, responses, chat = (
        fake.requests_to(p)[0] for p in ("/v1/messages", "/v1/responses", "/v1/chat/completions")
    )
    assert messages.headers["anthropic-version"] == "2023-06-01"
    # The key as Bearer (every wire) and as the Anthropic SDK sends it, on /messages only.
    assert messages.headers["authorization"] == "Bearer k" and messages.headers["x-api-key"] == "k"
    assert "x-api-key" not in chat.headers | responses.headers
    assert "anthropic-version" not in chat.headers | responses.headers
    assert all(s.headers.get("x-opencode-session") for s in (messages, responses, chat))


async def test_the_messages_key_is_never_in_the_logged_request_options(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    # OPENAI_LOG=debug (or app logging at DEBUG) logs every request's options.
    caplog.set_level(logging.DEBUG, logger="openai")
    secret = "SUPERSECRET-9f3a"
    fake.reply("/v1/messages", Reply(body=CLAUDE_ANSWER), Reply(body=CLAUDE_ANSWER))
    fake.reply("/v1/messages", Reply(events=messages_sse(CLAUDE_ANSWER)))
    client = ChatClient(
        resolve_settings(base_url=fake.base_url, api_key=secret, model="claude-x", backend="zen")
    )
    client.complete(ChatRequest(HI))
    await client.acomplete(ChatRequest(HI))
    list(client.stream(ChatRequest(HI)))
    # openai 1.x/2.x log every request's options; 3.x logs no options, only the method.
    if OPENAI_MAJOR < 3:
        assert any("Request options" in r.getMessage() for r in caplog.records)
    assert any("Sending HTTP Request" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if secret in r.getMessage()]
    sent = fake.requests_to("/v1/messages")
    assert [s.headers["x-api-key"] for s in sent] == [secret] * 3
    assert not [s for s in sent if "x-zenllama-key-header" in s.headers]


@pytest.mark.parametrize(
    ("model", "path"), [("claude-x", "/v1/messages"), ("gpt-5", "/v1/responses")]
)
def test_zen_error_envelopes_are_typed_on_every_wire(
    fake: FakeServer, model: str, path: str
) -> None:
    limited = {"type": "error", "error": {"type": "RateLimitError", "message": "slow down"}}
    refused = {
        "type": "error",
        "error": {"type": "ModelError", "message": f"Model {model} is not supported"},
    }
    fake.reply(path, Reply(429, limited, headers={"retry-after": "3"}), Reply(401, refused))
    client = ChatClient(
        resolve_settings(
            base_url=fake.base_url, api_key="k", model=model, backend="zen", max_retries=0
        )
    )
    with pytest.raises(RateLimitError) as caught:
        client.complete(ChatRequest(HI))
    assert caught.value.retry_after == 3.0
    with pytest.raises(ModelNotSupportedError, match="not supported"):
        client.complete(ChatRequest(HI))


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ({"type": "api_error", "message": "Internal server error"}, StreamError),
        # Anthropic's streaming reference: what would be a 529 outside a stream.
        ({"type": "overloaded_error", "message": "Overloaded"}, ServerOverloadedError),
    ],
)
def test_error_event_mid_stream_is_typed(
    fake: FakeServer, error: dict[str, str], raised: type[Exception]
) -> None:
    lines = _sse_lines(messages_sse(CLAUDE_ANSWER))[:8]
    fake.reply("/v1/messages", Reply(events=[*lines, {"type": "error", "error": error}]))
    with pytest.raises(raised, match=error["message"]):
        list(_zen(fake, "claude-x").stream(ChatRequest(HI)))


@pytest.mark.parametrize(
    ("model", "path", "lines"),
    [
        ("claude-x", "/v1/messages", messages_sse(CLAUDE_ANSWER, 3)),
        ("gpt-5", "/v1/responses", responses_sse(GPT_ANSWER, 3)),
    ],
)
def test_streams_through_the_transport(
    fake: FakeServer, model: str, path: str, lines: list[str]
) -> None:
    fake.reply(path, Reply(events=_sse_lines(lines)))
    deltas = list(_zen(fake, model).stream(ChatRequest(HI)))
    result = deltas[-1].result
    assert result is not None and result.tool_calls[0].arguments == {"city": "Paris"}
    assert "".join(d.text for d in deltas) == "Let me check."
    assert fake.requests_to(path)[0].body["stream"] is True


def test_a_conversation_switches_from_glm_to_claude(fake: FakeServer) -> None:
    """GLM answers with reasoning over chat completions; the same history then goes to Claude
    over Messages, rebuilt for that wire (GLM's unsigned reasoning left out)."""
    fake.chat(Reply(body=GLM_ANSWER))
    fake.reply(
        "/v1/messages",
        Reply(
            body={
                **CLAUDE_ANSWER,
                "content": CLAUDE_ANSWER["content"][2:3],
                "stop_reason": "end_turn",
            }
        ),
    )
    llm = ChatZenLlama(base_url=fake.base_url, api_key="k", backend="zen", model="glm-4.7")
    history: list[Any] = [HumanMessage("hi")]
    history.append(llm.invoke(history))
    history.append(HumanMessage("and now?"))
    answer = llm.invoke(history, model="claude-sonnet-4-5")
    assert answer.text == "Let me check."
    [sent] = fake.requests_to("/v1/messages")
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    assert sent.body["messages"][1]["content"] == [{"type": "text", "text": "Hello!"}]


def test_list_models_says_each_models_wire(fake: FakeServer) -> None:
    ids = ["glm-4.7", "claude-sonnet-4-5", "gpt-5.1", "gemini-3-pro"]
    fake.reply("/v1/models", Reply(body={"object": "list", "data": [{"id": i} for i in ids]}))
    fake.reply("/v1/models", Reply(body={"object": "list", "data": [{"id": i} for i in ids]}))
    llm = ZenLlama(base_url=fake.base_url, api_key="k", backend="zen")
    wires = {m.id: m.api for m in llm.list_models()}
    assert wires == {
        "glm-4.7": "chat",
        "claude-sonnet-4-5": "messages",
        "gpt-5.1": "responses",
        "gemini-3-pro": "google",
    }
    local = ChatClient(resolve_settings(base_url=fake.base_url, backend="llama-server"))
    assert {m.api for m in local.list_models()} == {"chat"}


# What both frameworks show of a finish the chat wire does not have --------------------------
PAUSED = {**CLAUDE_ANSWER, "content": CLAUDE_ANSWER["content"][2:3], "stop_reason": "pause_turn"}


def _generic(fake: FakeServer, api: str, whole: dict[str, Any], lines: list[str]) -> None:
    """A whole answer, then its stream, for each framework in turn."""
    path = f"/v1/{api}"
    fake.reply(path, Reply(body=whole), Reply(events=_sse_lines(lines)))
    fake.reply(path, Reply(body=whole), Reply(events=_sse_lines(lines)))


@pytest.mark.parametrize(
    ("api", "answer", "lines", "text", "finish"),
    [
        # Anthropic: the turn is unfinished (send it back to continue), not "stop".
        ("messages", PAUSED, messages_sse(PAUSED), "Let me check.", "pause_turn"),
        # OpenAI Responses: the refusal is the text, and said to be one.
        ("responses", GPT_REFUSAL, responses_sse(GPT_REFUSAL), REFUSAL, "refusal"),
    ],
)
def test_both_frameworks_show_the_finish_and_its_text(
    fake: FakeServer, api: str, answer: dict[str, Any], lines: list[str], text: str, finish: str
) -> None:
    _generic(fake, api, answer, lines)
    chat = ChatZenLlama(base_url=fake.base_url, api=api, model="m")
    message = chat.invoke("hi")
    chunks = list(chat.stream("hi"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    for shown in (message, merged):
        assert shown.text == text and shown.response_metadata["finish_reason"] == finish
    assert "".join(c.text for c in chunks) == text

    llm = ZenLlama(base_url=fake.base_url, api=api, model="m")
    response = llm.chat([ChatMessage(role="user", content="hi")])
    streamed = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
    for shown in (response, streamed[-1]):
        assert shown.message.content == text and shown.additional_kwargs["finish_reason"] == finish
    assert "".join(r.delta or "" for r in streamed) == text


def test_a_nameless_call_is_invalid_in_both_frameworks(fake: FakeServer) -> None:
    claude = copy.deepcopy(CLAUDE_ANSWER)
    claude["content"][3]["name"] = None
    fake.reply("/v1/messages", Reply(body=claude), Reply(events=_sse_lines(messages_sse(claude))))
    message = ChatZenLlama(base_url=fake.base_url, api="messages", model="m").invoke("hi")
    assert not message.tool_calls and message.invalid_tool_calls[0]["name"] is None
    llm = ZenLlama(base_url=fake.base_url, api="messages", model="m")
    last = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))[-1]
    [invalid] = last.additional_kwargs["invalid_tool_calls"]
    assert invalid["name"] is None and "no function name" in invalid["error"]
