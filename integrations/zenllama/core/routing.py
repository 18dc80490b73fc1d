"""Routing: one conversation over an ordered list of backends, the first that can take each call.

`RoutedChatClient` has ChatClient's interface, so both frameworks route without knowing it.
Each call goes to the first backend that is up and whose context window holds the prompt (plus
max_tokens), counted before sending by llama-server's own tokenizer. The body is built by the
serving backend's profile (reasoning pass-back, tool-choice dialect, session header), so a
conversation moves between backends without breaking. A stream that has handed out a chunk is
never continued by another backend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse

from . import errors
from .backends import BackendProfile, profile_named
from .chat import ChatClient
from .connection import forget_detected_backends
from .llama_cpp import LlamaCpp
from .models import ModelInfo
from .prompt_size import token_bound
from .request import LLAMA_CPP_FIELDS, ChatRequest
from .results import ChatResult, Route, StreamDelta
from .settings import Settings

log = logging.getLogger("zenllama.routing")

# Answers that mean "this backend cannot take the call now", before any answer began.
UNAVAILABLE: tuple[type[errors.ZenLlamaError], ...] = (
    errors.BackendConnectionError,  # down (connection refused)
    errors.ServerLoadingError,  # 503: still loading its model; 529: overloaded (a subclass)
    errors.RateLimitError,  # 429: llama-server has no free slot
)

# What sends a call on to the next backend (ContextOverflowError: when the size policy is on).
ROUTABLE: tuple[type[errors.ZenLlamaError], ...] = (*UNAVAILABLE, errors.ContextOverflowError)

FIRST_CHOICE = "first choice"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# llama.cpp's own request fields (grammar, id_slot, …): only llama-server backends are sent them.
# presence/frequency penalties are OpenAI's too, so every backend keeps those.
LLAMA_SERVER_ONLY = frozenset(LLAMA_CPP_FIELDS) - {"presence_penalty", "frequency_penalty"}


@dataclass(frozen=True)
class RoutingPolicy:
    """When a call leaves a backend for the next one."""

    # Connection refused, 503 loading, 429 no free slot -> the next backend.
    on_unavailable: bool = True
    # Leave at once, rather than after the backend's own retries (max_retries, backoff).
    at_once: bool = True
    # Skip a backend whose context window the prompt plus max_tokens does not fit, before
    # sending (llama-server backends: counted by the server's tokenizer).
    on_size: bool = True


@dataclass(frozen=True)
class Backend:
    name: str
    settings: Settings


def default_name(settings: Settings) -> str:
    """zen, deepseek by their profile; "local" for a loopback server; else the host."""
    named = None if settings.backend == "auto" else profile_named(settings.backend).route_name
    if named:
        return named
    host = urlparse(settings.base_url).hostname or settings.base_url
    return "local" if host in LOOPBACK else host


def check_names(names: Sequence[str]) -> None:
    """Routed backends are told apart by name (route=, results): at least two, all distinct."""
    if len(names) < 2:
        raise errors.InvalidSettingError(
            "routing needs at least two backends; use ChatClient for one"
        )
    if len(set(names)) != len(names):
        raise errors.InvalidSettingError(
            f"routed backends need distinct names, got {list(names)}: pass Fallback(name=...)"
        )


def _why_unavailable(name: str, exc: Exception) -> str:
    if isinstance(exc, errors.BackendConnectionError):
        return f"{name} unavailable: connection failed"
    if isinstance(exc, errors.ServerOverloadedError):
        return f"{name} unavailable: HTTP 529 (overloaded)"
    if isinstance(exc, errors.ServerLoadingError):
        return f"{name} unavailable: HTTP 503 (loading)"
    return f"{name} unavailable: HTTP 429 (no free slot or rate limited)"


def _close(deltas: Iterator[StreamDelta]) -> None:
    """Ends a ChatClient stream (a generator): its HTTP response closes, the slot is freed."""
    close = getattr(deltas, "close", None)
    if close is not None:
        close()


class RoutedChatClient:
    """ChatClient's interface over several backends, tried in order for every call.

    `route="<name>"` among a call's options makes that backend serve it, with no fallback.
    Every result carries `route` (`results.Route`): the backend's name and why it served.
    """

    def __init__(self, backends: Sequence[Backend], policy: RoutingPolicy | None = None) -> None:
        names = [b.name for b in backends]
        check_names(names)
        self.policy = policy or RoutingPolicy()
        self.names = tuple(names)
        last = len(backends) - 1
        session = backends[0].settings.session_id  # one conversation, one session (zen's cache)
        # Leaving at once: every backend but the last gets no retries of its own.
        self._settings = [
            replace(
                b.settings,
                session_id=session,
                max_retries=0 if self.policy.at_once and i < last else b.settings.max_retries,
            )
            for i, b in enumerate(backends)
        ]
        self._clients = [ChatClient(s) for s in self._settings]
        self._windows: dict[int, int | None] = {}
        self._last: str | None = None
        self._lock = threading.Lock()

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

    # Choosing -------------------------------------------------------------------------
    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise errors.InvalidSettingError(
                f"route={name!r} names no backend of this model; use one of {list(self.names)}"
            ) from None

    def _plan(self, request: ChatRequest) -> tuple[list[int], str | None, ChatRequest]:
        """The backends to try in order, the forced reason if any, the request without `route`."""
        forced = request.route
        if forced is None:
            return list(range(len(self._clients))), None, request
        return (
            [self._index(str(forced))],
            f"route={forced!r} asked",
            replace(request, route=None),
        )

    def _request_for(
        self, i: int, client: ChatClient, target: int, request: ChatRequest
    ) -> ChatRequest:
        """Backend i's request. The call's own `model` and `api` are the target's (the first
        backend, or the one route= names): a fallback uses its own model and its profile's
        wire. llama.cpp's own fields go to llama-server backends only."""
        options = request.options
        foreign = (
            set() if client.profile.llama_cpp_fields else LLAMA_SERVER_ONLY.intersection(options)
        )
        if i == target and not foreign:
            return request
        drop = set(foreign)
        api = request.api
        if i != target:
            api = None
            drop.add("model")
        if foreign:
            warnings.warn(
                f"{self.names[i]} is not a llama-server: {sorted(foreign)} not sent to it",
                errors.UnsupportedSettingWarning,
                stacklevel=3,
            )
        return replace(
            request, api=api, options={k: v for k, v in options.items() if k not in drop}
        )

    def _window(self, i: int, client: ChatClient) -> int | None:
        """Backend i's context window, asked once per client (a rebuilt client asks again)."""
        with self._lock:
            if i in self._windows:
                return self._windows[i]
        window = client.context_window()
        with self._lock:
            if self._clients[i] is client:  # not rebuilt meanwhile: still its window
                self._windows.setdefault(i, window)
        return window

    async def _awindow(self, i: int, client: ChatClient) -> int | None:
        with self._lock:
            if i in self._windows:
                return self._windows[i]
        window = await asyncio.to_thread(client.context_window)
        with self._lock:
            if self._clients[i] is client:
                self._windows.setdefault(i, window)
        return window

    def _fits_without_asking(
        self, window: int | None, request: ChatRequest
    ) -> tuple[int, int] | None:
        """(window, reserve) when the prompt must be counted; None when it surely fits."""
        if not window:
            return None
        reserve = int(request.options.get("max_tokens") or 0)
        bound = token_bound({"messages": request.messages, "tools": request.tools})
        return None if bound + reserve <= window else (window, reserve)

    def _too_long(self, i: int, needed: int, window: int) -> str | None:
        return (
            f"{self.names[i]} context window {window} < {needed} needed"
            if needed > window
            else None
        )

    def _size_reason(self, i: int, client: ChatClient, request: ChatRequest) -> str | None:
        if not client.profile.counts_prompts:
            return None  # no tokenizer to ask: the backend's own answer decides
        check = self._fits_without_asking(self._window(i, client), request)
        if check is None:
            return None
        window, reserve = check
        try:
            # LlamaCpp's count: the chat-completions body, cached per body digest.
            needed = client.llama_cpp.count_prompt_tokens(request) + reserve
        except (errors.BackendHTTPError, ValueError) as exc:
            log.debug("could not count the prompt on %s: %s", self.names[i], exc)
            return None
        return self._too_long(i, needed, window)

    async def _asize_reason(self, i: int, client: ChatClient, request: ChatRequest) -> str | None:
        if not (await client.aprofile()).counts_prompts:
            return None
        check = self._fits_without_asking(await self._awindow(i, client), request)
        if check is None:
            return None
        window, reserve = check
        try:
            needed = await client.llama_cpp.acount_prompt_tokens(request) + reserve
        except (errors.BackendHTTPError, ValueError) as exc:
            log.debug("could not count the prompt on %s: %s", self.names[i], exc)
            return None
        return self._too_long(i, needed, window)

    def _forget(self, i: int, exc: Exception, failed: ChatClient) -> None:
        """What backend i's client learnt (its kind, its window) may not hold when it is back:
        a restarted server can have another --ctx-size; a loading one may have been probed as
        a plain OpenAI server. Its client is built anew once, on the way down: under the lock,
        and only if `failed` is still its client (threads failing together rebuild it once)."""
        loading = isinstance(exc, errors.ServerLoadingError) and self._settings[i].backend == "auto"
        with self._lock:
            if self._clients[i] is not failed:
                return  # another thread already built it anew
            if self._windows.pop(i, None) is None and not loading:
                return  # nothing learnt yet
            # Probed again when back: the props kept with the detected kind are stale too.
            forget_detected_backends(self._settings[i].base_url)
            self._clients[i] = ChatClient(self._settings[i])
        failed.close()

    def _skip(self, i: int, exc: Exception, last: bool, failed: ChatClient) -> str:
        """Why backend i is left for the next; re-raises what must not be routed around."""
        if last:
            raise exc
        if isinstance(exc, UNAVAILABLE) and self.policy.on_unavailable:
            self._forget(i, exc, failed)
            return _why_unavailable(self.names[i], exc)
        if isinstance(exc, errors.ContextOverflowError) and self.policy.on_size:
            # The count said it fits, the server disagrees (a template the bound missed).
            return f"{self.names[i]} answered that the prompt exceeds its context window"
        raise exc

    def _route(self, i: int, forced: str | None, skipped: list[str]) -> Route:
        name = self.names[i]
        reason = forced or ("; ".join(skipped) if skipped else FIRST_CHOICE)
        with self._lock:
            previous, self._last = self._last, name
        switched = (previous or self.names[0]) != name
        if switched:
            log.info(
                "zenllama routing: %s serves instead of %s: %s",
                name,
                previous or self.names[0],
                reason,
            )
        return Route(name, reason, switched)

    # Calls ------------------------------------------------------------------------------
    def complete(
        self,
        request: ChatRequest,
    ) -> ChatResult:
        order, forced, request = self._plan(request)
        skipped: list[str] = []
        for n, i in enumerate(order):
            last = n == len(order) - 1
            client = self._clients[i]
            try:
                sent = self._request_for(i, client, order[0], request)
                reason = (
                    None if last or not self.policy.on_size else self._size_reason(i, client, sent)
                )
                if reason is not None:
                    skipped.append(reason)
                    continue
                result = client.complete(sent)
            except ROUTABLE as exc:
                skipped.append(self._skip(i, exc, last, client))
                continue
            result.route = self._route(i, forced, skipped)
            return result
        raise AssertionError("the last backend either answers or raises")

    async def acomplete(
        self,
        request: ChatRequest,
    ) -> ChatResult:
        order, forced, request = self._plan(request)
        skipped: list[str] = []
        for n, i in enumerate(order):
            last = n == len(order) - 1
            client = self._clients[i]
            try:
                await client.aprofile()  # the probe off the event loop
                sent = self._request_for(i, client, order[0], request)
                reason = (
                    None
                    if last or not self.policy.on_size
                    else await self._asize_reason(i, client, sent)
                )
                if reason is not None:
                    skipped.append(reason)
                    continue
                result = await client.acomplete(sent)
            except ROUTABLE as exc:
                skipped.append(self._skip(i, exc, last, client))
                continue
            result.route = self._route(i, forced, skipped)
            return result
        raise AssertionError("the last backend either answers or raises")

    def stream(
        self,
        request: ChatRequest,
    ) -> Iterator[StreamDelta]:
        order, forced, request = self._plan(request)
        skipped: list[str] = []
        for n, i in enumerate(order):
            last = n == len(order) - 1
            client = self._clients[i]
            deltas: Iterator[StreamDelta] = iter(())
            try:
                sent = self._request_for(i, client, order[0], request)
                reason = (
                    None if last or not self.policy.on_size else self._size_reason(i, client, sent)
                )
                if reason is not None:
                    skipped.append(reason)
                    continue
                deltas = client.stream(sent)
                first = next(deltas)  # the request is sent here; refusals come before any chunk
            except ROUTABLE as exc:
                _close(deltas)
                skipped.append(self._skip(i, exc, last, client))
                continue
            # From here the answer is this backend's: an error raises, never another backend.
            route = self._route(i, forced, skipped)
            try:
                if first.result is not None:
                    first.result.route = route
                yield first
                for delta in deltas:
                    if delta.result is not None:
                        delta.result.route = route
                    yield delta
            finally:
                _close(deltas)
            return
        raise AssertionError("the last backend either answers or raises")

    async def astream(
        self,
        request: ChatRequest,
    ) -> AsyncGenerator[StreamDelta, None]:
        order, forced, request = self._plan(request)
        skipped: list[str] = []
        for n, i in enumerate(order):
            last = n == len(order) - 1
            client = self._clients[i]
            deltas: AsyncGenerator[StreamDelta, None] | None = None
            try:
                await client.aprofile()  # the probe off the event loop
                sent = self._request_for(i, client, order[0], request)
                reason = (
                    None
                    if last or not self.policy.on_size
                    else await self._asize_reason(i, client, sent)
                )
                if reason is not None:
                    skipped.append(reason)
                    continue
                deltas = client.astream(sent)
                first = await anext(deltas)
            except ROUTABLE as exc:
                if deltas is not None:
                    await deltas.aclose()
                skipped.append(self._skip(i, exc, last, client))
                continue
            route = self._route(i, forced, skipped)
            try:
                if first.result is not None:
                    first.result.route = route
                yield first
                async for delta in deltas:
                    if delta.result is not None:
                        delta.result.route = route
                    yield delta
            finally:
                await deltas.aclose()
            return
        raise AssertionError("the last backend either answers or raises")


# What a framework class holds: one backend, or several routed.
AnyChatClient = ChatClient | RoutedChatClient
