"""A server that quotes the key (or a URL's credentials) in its error text: no message zenllama
builds from that text shows it, in `str(exc)`, LangChain's on_llm_error or LlamaIndex's events
(issue 18 #8)."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

from zenllama.core import (
    AuthenticationError,
    ChatClient,
    ChatRequest,
    ServerError,
    StreamError,
    ZenLlamaError,
    resolve_settings,
)
from zenllama.langchain import ChatZenLlama, Fallback
from zenllama.llama_index import ZenLlama

from ..support.fake_servers import FakeServer, Reply, error, sse

KEY = "sk-quoted-by-the-server-0001"
SPARE_KEY = "sk-the-fallbacks-own-key-0002"
URL_KEY = "url-key-quoted-0003"
HI = [{"role": "user", "content": "hi"}]


def _quoting(*secrets: str) -> str:
    return "Incorrect API key provided: " + ", ".join(secrets) + ". Check it."


def _shown(exc: BaseException) -> str:
    # The traceback too: what `logger.exception` or an uncaught error prints, chain included.
    trace = "".join(traceback.format_exception(exc))
    return " ".join([str(exc), repr(exc), trace, *(str(v) for v in vars(exc).values())])


def _client(fake: FakeServer, **kwargs: Any) -> ChatClient:
    settings = resolve_settings(backend="llama-server", max_retries=0, **kwargs)
    return ChatClient(settings)


def test_an_error_answer_never_shows_a_configured_secret(fake: FakeServer) -> None:
    _client(fake, base_url="http://127.0.0.1:9/v1", api_key=SPARE_KEY)  # another backend's key
    client = _client(fake, base_url=f"{fake.base_url}?key={URL_KEY}", api_key=KEY)
    fake.chat(Reply(401, error(401, _quoting(KEY, SPARE_KEY, URL_KEY))))
    with pytest.raises(AuthenticationError) as caught:
        client.complete(ChatRequest(HI))
    shown = _shown(caught.value)
    assert "Incorrect API key provided: ***, ***, ***" in shown
    assert not [s for s in (KEY, SPARE_KEY, URL_KEY) if s in shown]


@pytest.mark.parametrize(
    ("reply", "raised"),
    [
        (Reply(body={"error": {"message": _quoting(KEY)}}), ServerError),  # with 200 OK
        (Reply(events=sse({"error": {"message": _quoting(KEY)}})), StreamError),
        (Reply(500, text=f"<html><title>{_quoting(KEY)}</title></html>"), ServerError),
    ],
)
def test_errors_from_other_server_text_never_show_the_key(
    fake: FakeServer, reply: Reply, raised: type[ZenLlamaError]
) -> None:
    client = _client(fake, base_url=fake.base_url, api_key=KEY)
    fake.chat(reply)
    with pytest.raises(raised) as caught:
        if reply.events is None:
            client.complete(ChatRequest(HI))
        else:
            list(client.stream(ChatRequest(HI)))
    assert KEY not in " ".join([str(caught.value), repr(caught.value)])
    assert "***" in str(caught.value)


class _Errors(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(_shown(error))


def test_langchain_on_llm_error_never_shows_the_keys(fake: FakeServer) -> None:
    spare = Fallback(base_url="http://127.0.0.1:9/v1", api_key=SPARE_KEY, name="spare")
    llm = ChatZenLlama(
        base_url=fake.base_url, api_key=KEY, backend="llama-server", max_retries=0,
        fallbacks=[spare], fallback_on_size=False,
    )  # fmt: skip
    fake.chat(Reply(401, error(401, _quoting(KEY, SPARE_KEY))))
    handler = _Errors()
    with pytest.raises(AuthenticationError):
        llm.invoke("hi", config={"callbacks": [handler]})
    assert handler.seen
    assert not [text for text in handler.seen if KEY in text or SPARE_KEY in text]


EVENTS: list[str] = []


class _Events(BaseEventHandler):
    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        EVENTS.append(str(event.model_dump()))


def test_llama_index_events_never_show_the_key(fake: FakeServer) -> None:
    EVENTS.clear()
    handler = _Events()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = ZenLlama(base_url=fake.base_url, api_key=KEY, backend="llama-server", max_retries=0)
        fake.chat(Reply(events=sse({"error": {"message": _quoting(KEY)}})))
        with pytest.raises(StreamError):
            list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
    finally:
        dispatcher.event_handlers.remove(handler)
    failures = [text for text in EVENTS if "Incorrect API key" in text]
    assert failures  # the failure was reported, masked
    assert not [text for text in failures if KEY in text]
