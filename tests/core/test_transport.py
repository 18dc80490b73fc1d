"""The transport: retries and timeouts everywhere, shared clients, threads, event loops."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from zenllama.core import (
    BackendConnectionError,
    BackendTimeoutError,
    BadRequestError,
    ChatClient,
    ChatRequest,
    IncompleteResponseError,
    ServerError,
    resolve_settings,
)
from zenllama.core import transport as transport_module
from zenllama.core.chat import forget_detected_backends
from zenllama.local import free_port

from ..support.answers import answer, chunk
from ..support.fake_servers import CHAT, FakeServer, Reply, error, sse

HI = [{"role": "user", "content": "hi"}]
OK = Reply(body=answer({"content": "ok"}))


def auto(url: str, **kwargs: Any) -> ChatClient:
    """backend="auto": the backend is found by probing /props first."""
    return ChatClient(resolve_settings(base_url=url, **kwargs))


# Retries and timeouts bound the backend probe too ---------------------------------------
def test_auto_backend_retries_a_server_that_is_not_up_yet() -> None:
    port = free_port()
    started: list[FakeServer] = []

    def start_late() -> None:
        threading.Event().wait(1.5)
        server = FakeServer(port)
        server.handle(CHAT, lambda seen: OK)
        started.append(server)

    starter = threading.Thread(target=start_late, daemon=True)
    starter.start()
    try:
        result = auto(f"http://127.0.0.1:{port}/v1", max_retries=4).complete(ChatRequest(HI))
        assert result.text == "ok"
    finally:
        starter.join()
        for server in started:
            server.close()


def test_the_probe_is_bounded_by_timeout(fake: FakeServer) -> None:
    # /props answers after 2 s, chat at once: with timeout=1 the probe itself must time out.
    fake.reply("/props", Reply(404, error(404, "File Not Found"), delay=2))
    fake.chat(OK)
    with pytest.raises(BackendTimeoutError, match=r"within 1 s"):
        auto(fake.base_url, timeout=1, max_retries=0).complete(ChatRequest(HI))
    assert fake.chat_bodies == []


def test_nothing_listening_after_the_retries_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendConnectionError, match="zenllama serve"):
        auto(url, max_retries=0).complete(ChatRequest(HI))


# One probe, one client, one socket ---------------------------------------------------------
def test_fresh_objects_share_one_client_one_socket_and_one_probe(fake: FakeServer) -> None:
    fake.handle(CHAT, lambda seen: OK)
    clients = [auto(fake.base_url) for _ in range(40)]
    for chat in clients:
        assert chat.complete(ChatRequest(HI)).text == "ok"
    assert len(fake.requests_to("/props")) == 1
    assert len({seen.peer for seen in fake.requests_to(CHAT)}) == 1
    assert len({id(chat.transport.sync_client) for chat in clients}) == 1


def test_other_settings_get_other_clients(fake: FakeServer) -> None:
    base = auto(fake.base_url, backend="llama-server")
    same = auto(fake.base_url, backend="llama-server")
    others = [
        auto(fake.base_url.replace("127.0.0.1", "localhost"), backend="llama-server"),
        auto(fake.base_url, backend="llama-server", api_key="k1"),
        auto(fake.base_url, backend="llama-server", timeout=7),
        auto(fake.base_url, backend="llama-server", max_retries=0),
        auto(fake.base_url, backend="llama-server", default_headers={"x-a": "1"}),
    ]
    assert base.transport.sync_client is same.transport.sync_client
    clients = {id(chat.transport.sync_client) for chat in [base, *others]}
    assert len(clients) == 1 + len(others)


def test_closing_one_object_leaves_the_shared_client_to_the_others(fake: FakeServer) -> None:
    fake.handle(CHAT, lambda seen: OK)
    first, second = auto(fake.base_url), auto(fake.base_url)
    assert first.complete(ChatRequest(HI)).text == "ok"
    first.close()
    assert second.complete(ChatRequest(HI)).text == "ok"
    assert (
        first.complete(ChatRequest(HI)).text == "ok"
    )  # a closed object takes the shared client again


def test_clients_closed_at_exit_are_replaced_by_a_later_call(fake: FakeServer) -> None:
    """close_sync_clients runs at exit; a call after it (another exit handler's) still works."""
    fake.handle(CHAT, lambda seen: OK)
    chat = auto(fake.base_url)
    assert chat.complete(ChatRequest(HI)).text == "ok"
    closed = chat.transport.sync_client
    transport_module.close_sync_clients()
    assert closed.is_closed()
    assert chat.complete(ChatRequest(HI)).text == "ok"
    assert chat.transport.sync_client is not closed


def test_one_object_shared_by_100_threads_streaming_at_once(fake: FakeServer) -> None:
    events = sse(chunk({"content": "a"}), chunk({"content": "b"}), chunk({}, finish="stop"))
    fake.handle(CHAT, lambda seen: Reply(events=events, pace=0.01))
    for _ in range(3):
        chat = auto(fake.base_url)
        gate = threading.Barrier(100)
        failures: list[BaseException] = []
        texts: list[str] = []

        def stream(
            chat: ChatClient = chat,
            gate: threading.Barrier = gate,
            texts: list[str] = texts,
            failures: list[BaseException] = failures,
        ) -> None:
            gate.wait()
            try:
                texts.append("".join(delta.text for delta in chat.stream(ChatRequest(HI))))
            except Exception as exc:
                failures.append(exc)

        threads = [threading.Thread(target=stream) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [] and texts == ["ab"] * 100
        assert len(fake.requests_to("/props")) == 1
        forget_detected_backends()
        fake.seen.clear()


# Event loops ---------------------------------------------------------------------------------
@pytest.fixture
def loop_reports(caplog: pytest.LogCaptureFixture) -> Iterator[list[Any]]:
    """Whatever asyncio reports: its logger, and every loop's exception handler."""
    reports: list[Any] = []
    caplog.set_level(logging.DEBUG, logger="asyncio")
    yield reports
    gc.collect()
    reports.extend(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def test_asyncio_run_twice_on_one_object_is_silent(
    fake: FakeServer, loop_reports: list[Any]
) -> None:
    fake.handle(CHAT, lambda seen: OK)
    chat = auto(fake.base_url)
    loops: list[asyncio.AbstractEventLoop] = []
    clients: list[Any] = []

    async def call() -> str:
        loop = asyncio.get_running_loop()
        loops.append(loop)
        loop.set_exception_handler(lambda loop, context: loop_reports.append(context))
        text = (await chat.acomplete(ChatRequest(HI))).text
        clients.append(await (await chat.atransport()).async_client())
        gc.collect()  # what the next loop may find to collect from the last one
        return text

    assert [asyncio.run(call()) for _ in range(3)] == ["ok"] * 3
    gc.collect()
    assert loop_reports == []
    # Each loop's clients were closed and dropped with it.
    assert not any(loop in transport_module._loop_clients for loop in loops)
    assert len(set(map(id, clients))) == 3 and all(c.is_closed() for c in clients)


async def test_async_objects_on_one_loop_share_one_client(fake: FakeServer) -> None:
    fake.handle(CHAT, lambda seen: OK)
    clients = [auto(fake.base_url) for _ in range(10)]
    for chat in clients:
        assert (await chat.acomplete(ChatRequest(HI))).text == "ok"
    assert len({seen.peer for seen in fake.requests_to(CHAT)}) == 1
    assert len(fake.requests_to("/props")) == 1


def test_a_loop_closed_without_asyncio_run_is_dropped(fake: FakeServer) -> None:
    fake.handle(CHAT, lambda seen: OK)
    chat = auto(fake.base_url, backend="llama-server")
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(chat.acomplete(ChatRequest(HI))).text == "ok"
    loop.close()
    assert asyncio.run(chat.acomplete(ChatRequest(HI))).text == "ok"
    assert loop not in transport_module._loop_clients


# Error messages --------------------------------------------------------------------------
def test_a_body_cut_midway_is_not_a_connection_error(fake: FakeServer) -> None:
    fake.chat(Reply(body=answer({"content": "x" * 500}), cut_after=100))
    with pytest.raises(IncompleteResponseError) as caught:
        auto(fake.base_url, backend="llama-server", max_retries=0).complete(ChatRequest(HI))
    assert "Could not connect" not in str(caught.value)
    assert not isinstance(caught.value, BackendConnectionError)


def test_an_error_body_with_status_200_is_not_a_stream_error(fake: FakeServer) -> None:
    fake.chat(Reply(body={"error": {"message": "model crashed"}}))
    with pytest.raises(ServerError, match="model crashed") as caught:
        auto(fake.base_url, backend="llama-server").complete(ChatRequest(HI))
    assert "stream" not in str(caught.value).lower()


def test_an_error_body_with_status_200_keeps_its_code(fake: FakeServer) -> None:
    from zenllama.core import ContextOverflowError

    fake.chat(Reply(body=error(400, "the request exceeds the available context size")))
    with pytest.raises(ContextOverflowError):
        auto(fake.base_url, backend="llama-server").complete(ChatRequest(HI))


def _listening_silently() -> tuple[socket.socket, int]:
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(8)  # accepts connections (the kernel does), never answers
    return quiet, quiet.getsockname()[1]


@pytest.mark.parametrize("secret_at", ["userinfo", "query"])
def test_credentials_in_base_url_never_show_in_errors(secret_at: str) -> None:
    quiet, port = _listening_silently()
    closed = free_port()
    with quiet:
        for where, expected in ((closed, BackendConnectionError), (port, BackendTimeoutError)):
            url = (
                f"http://me:s3cr3t@127.0.0.1:{where}/v1"
                if secret_at == "userinfo"
                else f"http://127.0.0.1:{where}/v1?api-key=s3cr3t"
            )
            chat = auto(url, backend="llama-server", timeout=0.3, max_retries=0)
            with pytest.raises(expected) as caught:
                chat.complete(ChatRequest(HI))
            assert "s3cr3t" not in str(caught.value)
            assert "s3cr3t" not in caught.value.url  # type: ignore[attr-defined]
            assert "s3cr3t" not in repr(chat.settings)


def test_an_html_error_page_is_shortened(fake: FakeServer) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>"
        + "body { color: red; } " * 200
        + "</style></head><body><h1>Bad Gateway</h1></body></html>"
    )
    fake.chat(Reply(502, text=page))
    with pytest.raises(ServerError) as caught:
        auto(fake.base_url, backend="llama-server", max_retries=0).complete(ChatRequest(HI))
    assert "502 Bad Gateway" in str(caught.value)
    assert "<" not in str(caught.value) and len(str(caught.value)) < 300


def test_a_plain_http_server_redirecting_is_an_error_naming_where(fake: FakeServer) -> None:
    # Following it to https would go unverified (plain-http clients hold no TLS context).
    fake.chat(Reply(status=307, headers={"location": "https://example.test/v1/chat/completions"}))
    with pytest.raises(BadRequestError, match=r"redirected to https://example\.test") as caught:
        auto(fake.base_url, backend="llama-server").complete(ChatRequest(HI))
    assert "base_url" in str(caught.value)
    assert [seen.path for seen in fake.seen] == ["/v1/chat/completions"]
