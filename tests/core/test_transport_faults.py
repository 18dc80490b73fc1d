"""Every transport fault is a typed error, on both httpx generations, in every kind of call.

openai 1.x/2.x run on httpx, openai 3.x on httpx2 (a fresh install gets 3.x): the exception
classes differ, so a refused connection must be recognised through whichever the SDK uses.
`make test` runs this file under the newest and the oldest versions pyproject.toml allows.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import openai
import pytest

from zenllama.core import (
    BackendConnectionError,
    BackendTimeoutError,
    ChatClient,
    ChatRequest,
    EmbeddingsClient,
    IncompleteResponseError,
    IncompleteStreamError,
    RoutedChatClient,
    ZenLlamaError,
    resolve_settings,
)
from zenllama.core.httpx_compat import HTTPX_MODULE, OPENAI_MAJOR, httpx
from zenllama.core.routing import Backend
from zenllama.core.transport import Transport
from zenllama.local import free_port

from ..support.answers import answer, chunk
from ..support.fake_servers import CHAT, FakeServer, FaultServer, Reply, sse

HI = [{"role": "user", "content": "hi"}]
ASK = ChatRequest(HI)
# Faults answer at once; a loaded machine must not turn them into timeouts.
PATIENT = 30.0
# Stalls are what these calls wait out.
IMPATIENT = 0.5


def test_the_sdk_and_its_httpx_generation_belong_together() -> None:
    assert ("httpx2" if OPENAI_MAJOR >= 3 else "httpx") == HTTPX_MODULE
    client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1/v1")
    assert isinstance(client._client, httpx.Client)


def _settings(url: str, timeout: float, backend: str = "llama-server") -> Any:
    return resolve_settings(base_url=url, backend=backend, max_retries=0, timeout=timeout)


async def _drain(stream: Any) -> list[Any]:
    return [delta async for delta in stream]


Call = Callable[[str, float], Any]

CALLS: dict[str, Call] = {
    "invoke": lambda url, t: ChatClient(_settings(url, t)).complete(ASK),
    "stream": lambda url, t: list(ChatClient(_settings(url, t)).stream(ASK)),
    "ainvoke": lambda url, t: asyncio.run(ChatClient(_settings(url, t)).acomplete(ASK)),
    "astream": lambda url, t: asyncio.run(_drain(ChatClient(_settings(url, t)).astream(ASK))),
    "probe": lambda url, t: ChatClient(_settings(url, t, backend="auto")).complete(ASK),
    "embeddings": lambda url, t: EmbeddingsClient(_settings(url, t)).embed(["hi"]),
    "aembeddings": lambda url, t: asyncio.run(EmbeddingsClient(_settings(url, t)).aembed(["hi"])),
    "tokenize": lambda url, t: ChatClient(_settings(url, t)).llama_cpp.tokenize("hi"),
}
STREAMS = {"stream", "astream"}


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    server = FaultServer(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("call", CALLS)
def test_a_refused_connection_is_a_connection_error(call: str) -> None:
    with pytest.raises(BackendConnectionError, match=r"Connection refused|connect"):
        CALLS[call](f"http://127.0.0.1:{free_port()}/v1", PATIENT)


@pytest.mark.parametrize("call", ["invoke", "stream", "embeddings"])
def test_an_unknown_host_is_a_connection_error(call: str) -> None:
    # .invalid never resolves (RFC 6761); no packet leaves the machine.
    with pytest.raises(BackendConnectionError):
        CALLS[call]("http://zenllama-test.invalid/v1", PATIENT)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("fault", ["reset", "hang-up", "garbage", "cut-body"], indirect=True)
def test_a_connection_broken_after_the_request_is_an_incomplete_answer(
    fault: FaultServer, call: str
) -> None:
    with pytest.raises(IncompleteResponseError) as caught:
        CALLS[call](fault.base_url, PATIENT)
    assert not isinstance(caught.value, BackendConnectionError), "the server was reached"


@pytest.mark.parametrize("call", ["invoke", "ainvoke"])
@pytest.mark.parametrize("fault", ["hang-up-once"], indirect=True)
def test_a_connection_dropped_before_any_answer_is_sent_once_more(
    fault: FaultServer, call: str
) -> None:
    # What a kept-alive connection the server closed as it was reused looks like (no retries
    # are asked for: max_retries=0).
    assert CALLS[call](fault.base_url, PATIENT).text == "ok"
    assert fault.connections == 2


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("fault", ["cut-chunk"], indirect=True)
def test_a_stream_cut_inside_a_chunk_is_an_incomplete_stream(
    fault: FaultServer, call: str
) -> None:
    expected = IncompleteStreamError if call in STREAMS else IncompleteResponseError
    with pytest.raises(expected):
        CALLS[call](fault.base_url, PATIENT)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("fault", ["stall", "stall-mid-stream"], indirect=True)
def test_a_stall_is_a_timeout(fault: FaultServer, call: str) -> None:
    with pytest.raises(BackendTimeoutError, match=f"within {IMPATIENT} s"):
        CALLS[call](fault.base_url, IMPATIENT)


# Each exception class of the SDK's httpx generation, however it arrives ------------------
def _request() -> Any:
    return httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


RAISED: list[tuple[Callable[[], Exception], type[ZenLlamaError]]] = [
    (lambda: httpx.ConnectError("refused"), BackendConnectionError),
    (lambda: httpx.UnsupportedProtocol("ftp"), BackendConnectionError),
    (lambda: httpx.ConnectTimeout("slow"), BackendTimeoutError),
    (lambda: httpx.ReadTimeout("slow"), BackendTimeoutError),
    (lambda: httpx.WriteTimeout("slow"), BackendTimeoutError),
    (lambda: httpx.PoolTimeout("busy"), BackendTimeoutError),
    (lambda: httpx.ReadError("reset"), IncompleteResponseError),
    (lambda: httpx.WriteError("broken pipe"), IncompleteResponseError),
    (lambda: httpx.RemoteProtocolError("peer closed"), IncompleteResponseError),
    (lambda: httpx.LocalProtocolError("bad request"), IncompleteResponseError),
    (lambda: httpx.DecodingError("bad gzip"), IncompleteResponseError),
    # httpx2 leaves some TLS failures and stream ends unmapped (openai 3.x catches them too).
    (lambda: ssl.SSLError("decryption failed or bad record mac"), IncompleteResponseError),
    (lambda: anyio.EndOfStream(), IncompleteResponseError),
]


@pytest.mark.parametrize(("make", "expected"), RAISED)
@pytest.mark.parametrize("how", ["mid-stream", "wrapped by the SDK"])
def test_every_httpx_fault_maps_to_its_typed_error(
    make: Callable[[], Exception], expected: type[ZenLlamaError], how: str
) -> None:
    transport = Transport(_settings("http://127.0.0.1:1/v1", PATIENT))
    exc = make()
    if how == "wrapped by the SDK":
        wrapper: Exception = (
            openai.APITimeoutError(request=_request())
            if isinstance(exc, httpx.TimeoutException)
            else openai.APIConnectionError(request=_request())
        )
        wrapper.__cause__ = exc
        exc = wrapper
    assert isinstance(transport._translate(exc), expected)


# Routing switches on the same faults, whatever the SDK -----------------------------------
def _routed(first: str, fallback: str, timeout: float = PATIENT) -> RoutedChatClient:
    return RoutedChatClient(
        [
            # No llama-server: its prompt-size count would be the first request to break.
            Backend("first", _settings(first, timeout, backend="openai-compatible")),
            Backend("fb", _settings(fallback, timeout, backend="openai-compatible")),
        ]
    )


ROUTED_CALLS: dict[str, Callable[[RoutedChatClient], str]] = {
    "invoke": lambda routed: routed.complete(ASK).text,
    "stream": lambda routed: "".join(d.text for d in routed.stream(ASK)),
    "ainvoke": lambda routed: asyncio.run(routed.acomplete(ASK)).text,
    "astream": lambda routed: "".join(d.text for d in asyncio.run(_drain(routed.astream(ASK)))),
}


def _answering(fake: FakeServer) -> None:
    def reply(seen: Any) -> Reply:
        if seen.body.get("stream"):
            return Reply(events=sse(chunk({"content": "ok"}), chunk({}, finish="stop")))
        return Reply(body=answer({"content": "ok"}))

    fake.handle(CHAT, reply)


@pytest.mark.parametrize("call", ROUTED_CALLS)
def test_a_refused_first_backend_falls_back(fake: FakeServer, call: str) -> None:
    _answering(fake)
    routed = _routed(f"http://127.0.0.1:{free_port()}/v1", fake.base_url)
    assert ROUTED_CALLS[call](routed) == "ok"
    assert len(fake.chat_bodies) == 1


@pytest.mark.parametrize("call", ["stream", "astream"])
@pytest.mark.parametrize("fault", ["cut-chunk"], indirect=True)
def test_a_routed_stream_cut_midway_is_never_spliced(
    fault: FaultServer, fake: FakeServer, call: str
) -> None:
    _answering(fake)
    with pytest.raises(IncompleteStreamError):
        ROUTED_CALLS[call](_routed(fault.base_url, fake.base_url))
    assert fake.chat_bodies == []


@pytest.mark.parametrize("call", ROUTED_CALLS)
@pytest.mark.parametrize("fault", ["stall-mid-stream"], indirect=True)
def test_a_routed_stall_is_a_timeout(fault: FaultServer, fake: FakeServer, call: str) -> None:
    _answering(fake)
    with pytest.raises(BackendTimeoutError):
        ROUTED_CALLS[call](_routed(fault.base_url, fake.base_url, IMPATIENT))


# Credentials in base_url stay out of the libraries' log lines -----------------------------
@pytest.mark.parametrize("call", ["invoke", "stream"])
def test_url_credentials_never_reach_a_log_line(
    fake: FakeServer, caplog: pytest.LogCaptureFixture, call: str
) -> None:
    _answering(fake)
    url = fake.base_url.replace("http://", "http://me:s3cr3t@") + "?api-key=s3cr3t"
    with caplog.at_level(logging.DEBUG):
        chat = ChatClient(_settings(url, PATIENT))
        assert "ok" in str(chat.complete(ASK).text if call == "invoke" else list(chat.stream(ASK)))
    logged = [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in line for line in logged), "the httpx INFO line was captured"
    assert not [line for line in logged if "s3cr3t" in line]


def test_url_credentials_never_reach_the_sdks_retry_lines(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    # llama.cpp's own endpoints are asked by absolute URL; openai 2.x logs it on each retry.
    busy = Reply(503, {"error": {"code": 503, "message": "Loading model"}})
    fake.reply("/tokenize", busy, busy)
    url = fake.base_url.replace("http://", "http://me:s3cr3t@")
    settings = resolve_settings(base_url=url, backend="llama-server", max_retries=1)
    with caplog.at_level(logging.DEBUG), pytest.raises(ZenLlamaError):
        ChatClient(settings).llama_cpp.tokenize("hi")
    assert len(fake.requests_to("/tokenize")) == 2, "retried once"
    assert not [r.getMessage() for r in caplog.records if "s3cr3t" in r.getMessage()]
