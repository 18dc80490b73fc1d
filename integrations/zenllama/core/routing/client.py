"""RoutedChatClient: ChatClient's interface over ordered backends. The plan (planner.py) decides;
the methods here only send: the probe (off the event loop in async), the window and the count
the plan asks for, then the call, a stream committed to its backend at its first chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from .. import errors
from ..backends import BackendProfile
from ..chat import ChatClient
from ..llama_cpp import LlamaCpp
from ..models import ModelInfo
from ..request import ChatRequest
from ..results import ChatResult, Route, StreamDelta
from ..settings import Settings
from .fallbacks import FallbackSpec, RoutingPolicy, routed_backends
from .planner import ROUTABLE, UNASKED, UNCOUNTED, Attempt, CallPlan, Router

T = TypeVar("T")
Opened = tuple[StreamDelta, Iterator[StreamDelta]]
AOpened = tuple[StreamDelta, AsyncGenerator[StreamDelta, None]]


class RoutedChatClient(Router):
    """ChatClient's interface over several backends, tried in order for every call.

    `route="<name>"` among a call's options makes that backend serve it, with no fallback.
    Every result carries `route` (`results.Route`): the backend's name and why it served.
    """

    # The ChatClient surface: the first backend's facts ------------------------------
    @property
    def settings(self) -> Settings:
        return self._clients[0].settings

    @property
    def profile(self) -> BackendProfile:
        return self._clients[0].profile

    async def aprofile(self) -> BackendProfile:
        return await self._clients[0].aprofile()

    @property
    def llama_cpp(self) -> LlamaCpp:
        """llama.cpp's extras (tokens, infill, slots, router) of the first backend."""
        return self._clients[0].llama_cpp

    def server_props(self) -> dict[str, Any] | None:
        return self._clients[0].server_props()

    def context_window(self) -> int | None:
        """The largest window among the backends: a routed conversation can grow that far."""
        windows = []
        for client in self._clients:
            try:
                windows.append(client.context_window())
            except errors.ZenLlamaError:
                continue
        known = [w for w in windows if w]
        return max(known) if known else None

    def list_models(self) -> list[ModelInfo]:
        return self._clients[0].list_models()

    async def alist_models(self) -> list[ModelInfo]:
        return await self._clients[0].alist_models()

    def close(self) -> None:
        for client in self._clients:
            client.close()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    # Calls: the plan's attempts, sent ---------------------------------------------------
    def complete(self, request: ChatRequest) -> ChatResult:
        result, route = self._serve(request, lambda client, sent: client.complete(sent))
        result.route = route
        return result

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        result, route = await self._aserve(request, lambda client, sent: client.acomplete(sent))
        result.route = route
        return result

    def stream(self, request: ChatRequest) -> Iterator[StreamDelta]:
        (first, deltas), route = self._serve(request, _opened)
        # From here the answer is this backend's: an error raises, never another backend.
        try:
            yield _stamped(first, route)
            for delta in deltas:
                yield _stamped(delta, route)
        finally:
            _close(deltas)

    async def astream(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
        (first, deltas), route = await self._aserve(request, _aopened)
        try:
            yield _stamped(first, route)
            async for delta in deltas:
                yield _stamped(delta, route)
        finally:
            await deltas.aclose()

    def _serve(
        self, request: ChatRequest, send: Callable[[ChatClient, ChatRequest], T]
    ) -> tuple[T, Route]:
        plan = self.plan(request)
        for attempt in plan:
            try:
                profile = attempt.client.profile  # the probe, on its first call
                sent = plan.request_for(attempt, profile)
                if self._too_long(plan, attempt, profile, sent):
                    continue
                return send(attempt.client, sent), plan.served(attempt)
            except ROUTABLE as exc:
                plan.failed(attempt, exc)
        raise AssertionError("the last backend either answers or raises")

    async def _aserve(
        self, request: ChatRequest, send: Callable[[ChatClient, ChatRequest], Awaitable[T]]
    ) -> tuple[T, Route]:
        plan = self.plan(request)
        for attempt in plan:
            try:
                profile = await attempt.client.aprofile()  # the probe off the event loop
                sent = plan.request_for(attempt, profile)
                if await self._atoo_long(plan, attempt, profile, sent):
                    continue
                return await send(attempt.client, sent), plan.served(attempt)
            except ROUTABLE as exc:
                plan.failed(attempt, exc)
        raise AssertionError("the last backend either answers or raises")

    @staticmethod
    def _too_long(
        plan: CallPlan, attempt: Attempt, profile: BackendProfile, sent: ChatRequest
    ) -> bool:
        """The window (asked once per client) and the count (LlamaCpp's, cached per body)."""
        if not plan.checks_size(attempt, profile):
            return False
        window = plan.known_window(attempt)
        if window is UNASKED:
            window = plan.learn_window(attempt, attempt.client.context_window())
        check = plan.size_check(window, sent)
        if check is None:
            return False
        try:
            counted: int | Exception = attempt.client.llama_cpp.count_prompt_tokens(sent)
        except UNCOUNTED as exc:
            counted = exc
        return plan.too_long(attempt, check, counted)

    @staticmethod
    async def _atoo_long(
        plan: CallPlan, attempt: Attempt, profile: BackendProfile, sent: ChatRequest
    ) -> bool:
        if not plan.checks_size(attempt, profile):
            return False
        window = plan.known_window(attempt)
        if window is UNASKED:
            window = plan.learn_window(
                attempt, await asyncio.to_thread(attempt.client.context_window)
            )
        check = plan.size_check(window, sent)
        if check is None:
            return False
        try:
            counted: int | Exception = await attempt.client.llama_cpp.acount_prompt_tokens(sent)
        except UNCOUNTED as exc:
            counted = exc
        return plan.too_long(attempt, check, counted)


def _opened(client: ChatClient, request: ChatRequest) -> Opened:
    """A stream and its first chunk: the request is sent here, refusals come before any chunk."""
    deltas = client.stream(request)
    try:
        return next(deltas), deltas
    except BaseException:
        _close(deltas)  # its HTTP response closes, the slot is freed
        raise


async def _aopened(client: ChatClient, request: ChatRequest) -> AOpened:
    deltas = client.astream(request)
    try:
        return await anext(deltas), deltas
    except BaseException:
        await deltas.aclose()
        raise


def _stamped(delta: StreamDelta, route: Route) -> StreamDelta:
    if delta.result is not None:
        delta.result.route = route
    return delta


def _close(deltas: Iterator[StreamDelta]) -> None:
    """Ends a ChatClient stream (a generator): its HTTP response closes, the slot is freed."""
    close = getattr(deltas, "close", None)
    if close is not None:
        close()


def chat_client(
    settings: Settings, fallbacks: Sequence[FallbackSpec], policy: RoutingPolicy
) -> ChatClient | RoutedChatClient:
    """The core client a chat model holds: plain, or routed when fallbacks are configured."""
    backends = routed_backends(settings, fallbacks)
    return RoutedChatClient(backends, policy) if backends else ChatClient(settings)


# What a framework class holds: one backend, or several routed.
AnyChatClient = ChatClient | RoutedChatClient
