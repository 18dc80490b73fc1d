"""The fast path of whole answers (Transport._fast_post) sends what the SDK's own path sends,
and hands whatever is not a 2xx to the SDK's loop as that loop's first attempt."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from zenllama.core import ChatClient, ChatRequest, ServerError, direct, resolve_settings
from zenllama.core.httpx_compat import HTTPX_MODULE

from ..support.answers import answer
from ..support.fake_servers import CHAT, FakeServer, Reply, Seen, error
from ..support.spy import spy_requests

HI = [{"role": "user", "content": "hi"}]
OK = Reply(body=answer({"content": "ok"}))
BUSY = Reply(503, error(503, "Loading model", "unavailable_error"), headers={"retry-after": "0"})
DOWN = Reply(500, error(500, "boom", "server_error"), headers={"retry-after": "0"})
MESSAGES = "/v1/messages"
# https://docs.anthropic.com/en/api/messages (the response's shape)
MESSAGES_OK = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def _client(fake: FakeServer, **options: Any) -> ChatClient:
    """With a deadline: through the httpx client (its `send` watches the deadline)."""
    settings = resolve_settings(
        base_url=fake.base_url + "?tenant=t1",
        backend="zen",
        api_key="sk-test",
        session_id="s-1",
        **{"deadline": 30.0, **options},
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


# Straight to httpx's pool (core/direct.py) where httpx's layers have nothing to do ---------
@pytest.fixture
def direct_sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the requests that went to the pool directly."""
    sent: list[str] = []
    send, asend = direct.send, direct.asend

    def counted(route: direct.Route, content: bytes) -> direct.Answer:
        sent.append("sync")
        return send(route, content)

    async def acounted(route: direct.Route, content: bytes) -> direct.Answer:
        sent.append("async")
        return await asend(route, content)

    monkeypatch.setattr(direct, "send", counted)
    monkeypatch.setattr(direct, "asend", acounted)
    return sent


def _direct_client(fake: FakeServer, **options: Any) -> ChatClient:
    return _client(fake, **{"deadline": None, **options})


async def test_the_direct_path_sends_what_the_sdk_sends(
    fake: FakeServer, caplog: pytest.LogCaptureFixture, direct_sends: list[str]
) -> None:
    fake.chat(OK, OK, OK, OK)
    client = _direct_client(fake)
    assert await _both(client) == ["ok", "ok"]
    assert direct_sends == ["sync", "async"]
    _sdk_path(caplog)
    assert await _both(client) == ["ok", "ok"]
    assert direct_sends == ["sync", "async"]  # the SDK's own path this time
    fast_sync, fast_async, sdk_sync, sdk_async = _chats(fake)
    for fast, sdk in ((fast_sync, sdk_sync), (fast_async, sdk_async)):
        assert _without_length(fast.headers) == _without_length(sdk.headers)
        assert fast.path == sdk.path == CHAT + "?tenant=t1"
        assert fast.body == sdk.body
        sent = json.dumps(fast.body, separators=(",", ":"), ensure_ascii=False).encode()
        assert int(fast.headers["content-length"]) == len(sent)
    assert fast_sync.headers["authorization"] == "Bearer sk-test"
    assert not any(name.startswith("x-zenllama") for name in fast_sync.headers)


async def test_the_direct_path_puts_the_key_in_the_header_the_wire_names(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    # Anthropic Messages takes the key in x-api-key (https://docs.anthropic.com/en/api/overview).
    fake.reply(MESSAGES, Reply(body=MESSAGES_OK), Reply(body=MESSAGES_OK))
    client = _direct_client(fake, model="claude-sonnet-4-5")
    request = ChatRequest(HI, api="messages")
    assert client.complete(request).text == (await client.acomplete(request)).text == "ok"
    assert direct_sends == ["sync", "async"]
    for seen in fake.requests_to(MESSAGES):
        assert seen.headers["x-api-key"] == "sk-test"
        assert seen.headers["anthropic-version"]
        assert not any(name.startswith("x-zenllama") for name in seen.headers)


async def test_a_compressed_answer_is_decoded(fake: FakeServer, direct_sends: list[str]) -> None:
    packed = gzip.compress(json.dumps(answer({"content": "ok"})).encode())
    zipped = Reply(data=packed, headers={"content-encoding": "gzip"})
    fake.chat(zipped, zipped)
    assert await _both(_direct_client(fake)) == ["ok", "ok"]
    assert direct_sends == ["sync", "async"]


async def test_cookies_an_answer_sets_go_with_the_next_requests(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    # A load balancer's affinity cookie: the httpx client that got it (one per event loop)
    # keeps it and sends it back, as on httpx's own path.
    sticky = Reply(body=answer({"content": "ok"}), headers={"set-cookie": "lb=node-7; Path=/"})
    fake.chat(sticky, OK, sticky, OK)
    client = _direct_client(fake)
    assert client.complete(ChatRequest(HI)).text == client.complete(ChatRequest(HI)).text == "ok"
    assert (await client.acomplete(ChatRequest(HI))).text == "ok"
    assert (await client.acomplete(ChatRequest(HI))).text == "ok"
    cookies = [seen.headers.get("cookie") for seen in _chats(fake)]
    assert cookies == [None, "lb=node-7", None, "lb=node-7"]
    assert direct_sends == ["sync", "async"]  # a client with cookies takes the SDK's path


async def test_errors_go_to_the_sdks_loop_from_the_direct_path_too(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    fake.chat(BUSY, OK, BUSY, OK)
    assert await _both(_direct_client(fake, max_retries=1)) == ["ok", "ok"]
    counts = [seen.headers["x-stainless-retry-count"] for seen in _chats(fake)]
    assert counts == ["0", "1", "0", "1"]
    assert direct_sends == ["sync", "async"]  # the retries were the SDK's
    fake.chat(*[DOWN] * 6)
    with pytest.raises(ServerError):
        _direct_client(fake, max_retries=2).complete(ChatRequest(HI))
    assert len(_chats(fake)) == 4 + 3


async def test_httpx_request_log_is_kept_for_whoever_listens(
    fake: FakeServer, caplog: pytest.LogCaptureFixture, direct_sends: list[str]
) -> None:
    fake.chat(OK, OK)
    caplog.set_level(logging.INFO, logger=HTTPX_MODULE)
    assert await _both(_direct_client(fake)) == ["ok", "ok"]
    assert direct_sends == []
    lines = [r.getMessage() for r in caplog.records if r.name == HTTPX_MODULE]
    assert len(lines) == 2 and all("HTTP Request: POST" in line for line in lines)


def test_each_event_loop_sends_through_its_own_pool(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    # An async httpx pool and its kept-alive connections belong to one loop: two loops alive
    # at once each send through their own, directly.
    fake.chat(OK, OK, OK, OK)
    client = _direct_client(fake, max_retries=0, timeout=10.0)
    loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
    try:
        for loop in loops + loops:
            assert loop.run_until_complete(client.acomplete(ChatRequest(HI))).text == "ok"
    finally:
        for loop in loops:
            loop.close()
    assert direct_sends == ["async"] * 4
    assert len(_chats(fake)) == 4


async def test_whatever_patches_httpx_sees_every_request(
    fake: FakeServer, direct_sends: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorders and instrumentations (vcrpy, OpenTelemetry, this suite's spy) patch httpx's
    # client or transport: requests then go that way, where they see them.
    sent = spy_requests(monkeypatch)
    fake.chat(OK, OK)
    assert await _both(_direct_client(fake)) == ["ok", "ok"]
    assert direct_sends == []
    assert len(sent.chats()) == 2


async def test_credentials_in_the_url_go_as_basic_auth_on_every_path(
    fake: FakeServer, caplog: pytest.LogCaptureFixture, direct_sends: list[str]
) -> None:
    # httpx sends a URL's user:password as Basic auth (https://www.python-httpx.org/advanced/authentication/).
    fake.chat(OK, OK, OK, OK)
    url = fake.base_url.replace("http://", "http://me:s3cr3t@")
    client = ChatClient(resolve_settings(base_url=url, backend="zen", api_key="sk-test"))
    assert await _both(client) == ["ok", "ok"]
    _sdk_path(caplog)
    assert await _both(client) == ["ok", "ok"]
    basic = "Basic " + base64.b64encode(b"me:s3cr3t").decode()
    assert [seen.headers["authorization"] for seen in _chats(fake)] == [basic] * 4
    assert direct_sends == []


async def test_an_answer_that_fails_to_decode_is_the_sdks_first_attempt(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    broken = Reply(data=b"not gzip at all", headers={"content-encoding": "gzip"})
    fake.chat(broken, OK, broken, OK)
    assert await _both(_direct_client(fake, max_retries=1)) == ["ok", "ok"]  # retried
    assert direct_sends == ["sync", "async"]


async def test_a_redirect_is_followed_once_where_the_client_follows_them(
    fake: FakeServer, direct_sends: list[str]
) -> None:
    # https clients follow redirects (plain http ones never do, see _http_options).
    moved = Reply(307, None, headers={"location": "/v1/moved?tenant=t1"})
    fake.chat(moved, moved)
    fake.reply("/v1/moved", OK, OK)
    client = _direct_client(fake)
    client.transport.sync_client._client.follow_redirects = True
    assert client.complete(ChatRequest(HI)).text == "ok"
    (await client.transport.async_client())._client.follow_redirects = True
    assert (await client.acomplete(ChatRequest(HI))).text == "ok"
    assert len(_chats(fake)) == 2  # each POST once to where it was moved from
    assert [seen.method for seen in fake.seen if seen.path.startswith("/v1/moved")] == ["POST"] * 2
    assert direct_sends == ["sync", "async"]
