"""A routed model's switch of backend, told to LlamaIndex instrumentation as an event."""

from __future__ import annotations

from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

from zenllama.core import Route

dispatcher = get_dispatcher(__name__)


class RouteSwitchEvent(BaseEvent):
    """A call was served by another backend than the call before; `reason` says why."""

    backend: str
    reason: str

    @classmethod
    def class_name(cls) -> str:
        return "RouteSwitchEvent"


def announce(route: Route | None) -> None:
    if route is not None and route.switched:
        dispatcher.event(RouteSwitchEvent(backend=route.backend, reason=route.reason))
