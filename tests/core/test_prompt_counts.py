"""LlamaCpp.count_prompt_tokens offline: one counting path (prompt_size), in the chat wire."""

from __future__ import annotations

import asyncio

import pytest

from zenllama.core import ChatClient, ChatRequest, resolve_settings

from ..support.answers import LLAMA_PROPS
from ..support.fake_servers import CHAT, FakeServer, Reply, error
from ..support.fake_servers import Seen as SeenRequest

SYSTEM = {"role": "system", "content": "be brief"}
ASK = [SYSTEM, {"role": "user", "content": "hi"}]


def _count(seen: SeenRequest) -> Reply:
    # llama-server counts chat bodies only; 400 for anything else.
    if "messages" not in seen.body:
        return Reply(400, error(400, "'messages' is required"))
    return Reply(body={"input_tokens": len(seen.body["messages"])})


@pytest.fixture
def counting(fake: FakeServer) -> FakeServer:
    fake.props = LLAMA_PROPS
    fake.handle(CHAT + "/input_tokens", _count)
    return fake


@pytest.mark.parametrize("api", [None, "chat", "messages", "responses"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_count_is_one_round_trip_on_the_chat_body_then_cached(
    counting: FakeServer, api: str | None, mode: str
) -> None:
    client = ChatClient(resolve_settings(base_url=counting.base_url))
    for _ in range(2):
        if mode == "sync":
            count = client.llama_cpp.count_prompt_tokens(ChatRequest(ASK, api=api))
        else:
            count = asyncio.run(client.llama_cpp.acount_prompt_tokens(ChatRequest(ASK, api=api)))
        assert count == 2  # the system prompt is counted too
    (counted,) = counting.requests_to(CHAT + "/input_tokens")
    assert counted.body["messages"][0] == SYSTEM
    # /apply-template + /tokenize only on servers without input_tokens.
    assert counting.requests_to("/apply-template") == counting.requests_to("/tokenize") == []


def test_the_count_cache_keeps_no_prompt_text(counting: FakeServer) -> None:
    counting.handlers.pop(CHAT + "/input_tokens")  # an older server: template, then tokens
    counting.handle("/apply-template", lambda seen: Reply(body={"prompt": "<s>secret words"}))
    counting.handle("/tokenize", lambda seen: Reply(body={"tokens": [1, 2, 3]}))
    client = ChatClient(resolve_settings(base_url=counting.base_url))
    assert client.llama_cpp.count_prompt_tokens(ChatRequest(ASK)) == 3
    kept = repr([vars(cache) for cache in vars(client.llama_cpp).values()])
    assert "secret words" not in kept and "be brief" not in kept
