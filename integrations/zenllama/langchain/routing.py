"""A routed model's switch of backend, told to LangChain callbacks as a custom event."""

from __future__ import annotations

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.callbacks.manager import ahandle_event, handle_event

from zenllama.core import Route

# Seen by `on_custom_event` handlers and in `astream_events` as an "on_custom_event".
ROUTE_EVENT = "zenllama_route_switch"


def announce(run_manager: CallbackManagerForLLMRun | None, route: Route | None) -> None:
    # The LLM run manager has no on_custom_event: the event goes to its handlers as
    # CallbackManager.on_custom_event sends it, under the chat model run's id.
    if run_manager is None or route is None or not route.switched:
        return
    handle_event(
        run_manager.handlers,
        "on_custom_event",
        "ignore_custom_event",
        ROUTE_EVENT,
        route.as_dict(),
        run_id=run_manager.run_id,
        tags=run_manager.tags,
        metadata=run_manager.metadata,
    )


async def aannounce(run_manager: AsyncCallbackManagerForLLMRun | None, route: Route | None) -> None:
    if run_manager is None or route is None or not route.switched:
        return
    await ahandle_event(
        run_manager.handlers,
        "on_custom_event",
        "ignore_custom_event",
        ROUTE_EVENT,
        route.as_dict(),
        run_id=run_manager.run_id,
        tags=run_manager.tags,
        metadata=run_manager.metadata,
    )
