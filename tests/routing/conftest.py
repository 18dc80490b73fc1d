"""Routing between a local llama-server and zen, offline: a scripted local server (FakeServer
with llama-server's /props, /apply-template and /tokenize) and the in-process fake zen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

from zenllama.core import resolve_settings
from zenllama.core.routing import Backend, RoutedChatClient, RoutingPolicy
from zenllama.local.server import free_port

from ..support.fake_servers import FakeServer, Reply
from ..support.fake_servers import Seen as SeenRequest
from ..support.fake_zen import FAKE_KEY, FakeZen
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import MODEL, ZEN_URL

# The local server's context window, per slot.
LOCAL_WINDOW = 1000
ASK = [{"role": "user", "content": "hi"}]


def tokenize(seen: SeenRequest) -> Reply:
    """One token per character: a stand-in tokenizer the tests can count with."""
    return Reply(body={"tokens": list(range(len(seen.body["content"])))})


def apply_template(seen: SeenRequest) -> Reply:
    text = "".join(str(m.get("content") or "") for m in seen.body["messages"])
    return Reply(body={"prompt": "<start>" + text})


def local_server() -> FakeServer:
    server = FakeServer()
    server.props = {
        "default_generation_settings": {"n_ctx": LOCAL_WINDOW},
        "total_slots": 1,
    }
    server.handle("/tokenize", tokenize)
    server.handle("/apply-template", apply_template)
    return server


@pytest.fixture
def local() -> Iterator[FakeServer]:
    server = local_server()
    yield server
    server.close()


@pytest.fixture
def zen() -> Iterator[FakeZen]:
    with FakeZen().serving() as fake:
        yield fake


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> SentRequests:
    return spy_requests(monkeypatch)


def dead_url() -> str:
    """A loopback port nothing listens on: connection refused."""
    return f"http://127.0.0.1:{free_port()}/v1"


def zen_fields() -> dict[str, Any]:
    return {"base_url": ZEN_URL, "model": MODEL, "api_key": FAKE_KEY}


def routed(local_url: str, policy: RoutingPolicy | None = None, **local: Any) -> RoutedChatClient:
    return RoutedChatClient(
        [
            Backend("local", resolve_settings(base_url=local_url, **local)),
            Backend("zen", resolve_settings(**zen_fields())),
        ],
        policy,
    )


def zen_chats(sent: SentRequests) -> list[Any]:
    return [s for s in sent.chats() if "opencode.ai" in s.url]


class Seen(BaseEventHandler):
    events: list[BaseEvent]

    @classmethod
    def class_name(cls) -> str:
        return "Seen"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def seen() -> Any:
    handler = Seen(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers.remove(handler)
