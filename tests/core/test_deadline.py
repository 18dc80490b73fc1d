"""`deadline` bounds a whole request, where `timeout` bounds each wait (issue 18 #12): a server
dribbling its answer byte by byte never lets a read wait `timeout`, so only the deadline ends
it. The mechanics are asserted (the error, the client hanging up, attempts made), never time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from zenllama.core import (
    BackendTimeoutError,
    ChatClient,
    ChatRequest,
    InvalidSettingError,
    ServerLoadingError,
    resolve_settings,
)
from zenllama.langchain import ChatZenLlama

from ..support.answers import answer, chunk
from ..support.fake_servers import CHAT, FakeServer, Reply, error, sse

HI = [{"role": "user", "content": "hi"}]
# About 300 bytes at 20 ms each: 6 s, every wait far below `timeout`.
DRIBBLED = Reply(body=answer({"content": "ok"}), drip=0.02)


def _client(fake: FakeServer, **kwargs: Any) -> ChatClient:
    options: dict[str, Any] = {"backend": "llama-server", "timeout": 0.5, "max_retries": 0}
    return ChatClient(resolve_settings(base_url=fake.base_url, **{**options, **kwargs}))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_dribbled_answer_ends_at_the_deadline(fake: FakeServer, mode: str) -> None:
    client = _client(fake, deadline=1.0)
    fake.chat(DRIBBLED)
    with pytest.raises(BackendTimeoutError, match=r"deadline of 1\.0 s") as caught:
        client.complete(ChatRequest(HI)) if mode == "sync" else asyncio.run(
            client.acomplete(ChatRequest(HI))
        )
    assert caught.value.deadline == 1.0
    assert fake.abandoned.wait(5), "the client read the whole answer"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_dribbled_stream_ends_at_the_deadline(fake: FakeServer, mode: str) -> None:
    client = _client(fake, deadline=2.0)
    # About 110 bytes an event at 2 ms a byte: 9 s in all.
    events = sse(*(chunk({"content": f"w{i} "}) for i in range(40)), chunk({}, finish="stop"))
    fake.chat(Reply(events=events, drip=0.002))
    got: list[str] = []

    async def astream() -> None:
        async for delta in client.astream(ChatRequest(HI)):
            got.append(delta.text)

    with pytest.raises(BackendTimeoutError, match="deadline"):
        if mode == "sync":
            for delta in client.stream(ChatRequest(HI)):
                got.append(delta.text)
        else:
            asyncio.run(astream())
    assert got  # it was streaming: the deadline covers the stream to its end
    assert fake.abandoned.wait(5)


def test_a_silent_server_ends_at_the_deadline(fake: FakeServer) -> None:
    # Each wait is cut to what is left of the deadline, however long `timeout` is.
    client = _client(fake, timeout=120.0, deadline=0.5)
    fake.chat(Reply(body=answer({"content": "ok"}), delay=3.0))
    with pytest.raises(BackendTimeoutError, match=r"deadline of 0\.5 s"):
        client.complete(ChatRequest(HI))


def test_retries_stop_at_the_deadline(fake: FakeServer) -> None:
    loading = Reply(503, error(503, "Loading model", "unavailable_error"), delay=0.4)
    fake.chat(*[loading] * 4)
    client = _client(fake, max_retries=3, deadline=1.0)
    with pytest.raises(BackendTimeoutError, match="deadline"):
        client.complete(ChatRequest(HI))
    assert len(fake.requests_to(CHAT)) < 4  # without it: every attempt, then ServerLoadingError


def test_no_backoff_waits_past_the_deadline(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Retry-After asks for 30 s; the SDK would sleep that long, then be refused.
    import openai._base_client as sdk

    waits: list[float] = []

    class Clock:  # the SDK's `time`, its sleeps recorded
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

    monkeypatch.setattr(sdk, "time", Clock())
    busy = error(429, "no free slot", "unavailable_error")
    fake.chat(*[Reply(429, busy, headers={"retry-after": "30"})] * 2)
    with pytest.raises(BackendTimeoutError, match="deadline"):
        _client(fake, max_retries=1, deadline=1.0).complete(ChatRequest(HI))
    assert waits and max(waits) <= 1.0


def test_without_a_deadline_timeout_bounds_each_wait_only(fake: FakeServer) -> None:
    fake.chat(Reply(503, error(503, "Loading model", "unavailable_error")))
    with pytest.raises(ServerLoadingError):
        _client(fake).complete(ChatRequest(HI))
    # About 1.5 s of bytes 5 ms apart: no wait reaches the 0.2 s timeout, so the call goes on.
    fake.chat(Reply(body=answer({"content": "ok"}), drip=0.005))
    assert _client(fake, timeout=0.2).complete(ChatRequest(HI)).text == "ok"


def test_the_frameworks_pass_the_deadline_on(fake: FakeServer) -> None:
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server", deadline=1.0, max_retries=0)
    fake.chat(DRIBBLED)
    with pytest.raises(BackendTimeoutError, match="deadline"):
        llm.invoke("hi")


@pytest.mark.parametrize("deadline", [0, -1.0])
def test_a_deadline_is_a_positive_number(deadline: float) -> None:
    with pytest.raises(InvalidSettingError, match="deadline"):
        resolve_settings(base_url="http://127.0.0.1:9/v1", deadline=deadline)
