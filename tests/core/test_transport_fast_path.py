"""The fast path of whole answers (Transport._fast_post) sends what the SDK's own path sends,
and hands whatever is not a 2xx to the SDK's loop as that loop's first attempt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from zenllama.core import ChatClient, ChatRequest, ServerError, resolve_settings

from ..support.answers import answer
from ..support.fake_servers import CHAT, FakeServer, Reply, Seen, error

HI = [{"role": "user", "content": "hi"}]
OK = Reply(body=answer({"content": "ok"}))
BUSY = Reply(503, error(503, "Loading model", "unavailable_error"), headers={"retry-after": "0"})
DOWN = Reply(500, error(500, "boom", "server_error"), headers={"retry-after": "0"})


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def _client(fake: FakeServer, **options: Any) -> ChatClient:
    settings = resolve_settings(
        base_url=fake.base_url + "?tenant=t1",
        backend="zen",
        api_key="sk-test",
        session_id="s-1",
        deadline=30.0,
        **options,
    )
    return ChatClient(settings)


def _sdk_path(caplog: pytest.LogCaptureFixture) -> None:
    # The SDK's DEBUG lines wanted: every request takes the SDK's own path.
    caplog.set_level(logging.DEBUG, logger="openai._base_client")


def _chats(fake: FakeServer) -> list[Seen]:
    return [seen for seen in fake.seen if seen.path.partition("?")[0] == CHAT]


def _without_length(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "content-length"}


async def _both(client: ChatClient) -> list[str]:
    return [client.complete(ChatRequest(HI)).text, (await client.acomplete(ChatRequest(HI))).text]


async def test_the_fast_path_sends_what_the_sdk_sends(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake.chat(OK, OK, OK, OK)
    client = _client(fake)
    assert await _both(client) == ["ok", "ok"]  # fast
    _sdk_path(caplog)
    assert await _both(client) == ["ok", "ok"]  # the SDK's
    fast_sync, fast_async, sdk_sync, sdk_async = _chats(fake)
    for fast, sdk in ((fast_sync, sdk_sync), (fast_async, sdk_async)):
        # zen's session header, the key, the query, the SDK's own headers; no marker header.
        # The same JSON: openai 2.0 spaces its own (so its content-length differs), 2.x/3.x not.
        assert _without_length(fast.headers) == _without_length(sdk.headers)
        assert fast.path == sdk.path == CHAT + "?tenant=t1"
        assert fast.body == sdk.body
    assert fast_sync.headers["x-stainless-async"] == "false"
    assert fast_async.headers["x-stainless-async"].startswith("async")
    assert fast_sync.headers["x-stainless-retry-count"] == "0"
    assert fast_sync.headers["x-opencode-session"] == "s-1"
    assert fast_sync.headers["authorization"] == "Bearer sk-test"
    assert not any(name.startswith("x-zenllama") for name in fast_sync.headers)


async def test_a_retried_first_attempt_counts_as_the_sdks_first(fake: FakeServer) -> None:
    fake.chat(BUSY, OK, BUSY, OK)
    assert await _both(_client(fake, max_retries=1)) == ["ok", "ok"]
    counts = [seen.headers["x-stainless-retry-count"] for seen in _chats(fake)]
    assert counts == ["0", "1", "0", "1"]


async def test_retries_stay_max_retries_in_all(fake: FakeServer) -> None:
    fake.chat(*[DOWN] * 6)
    client = _client(fake, max_retries=2)
    with pytest.raises(ServerError):
        client.complete(ChatRequest(HI))
    assert len(_chats(fake)) == 3
    with pytest.raises(ServerError):
        await client.acomplete(ChatRequest(HI))
    assert len(_chats(fake)) == 6
