"""Every routing decision, made once for sync and async calls (httpx's base client, in effect):
which backend a call tries next, what it is sent, whether its prompt must be counted, why a
backend is left (or what must not be routed around), and the Route of the one that serves.
`RoutedChatClient` (client.py) only does the I/O these ask for.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal

from .. import errors
from ..backends import BackendProfile
from ..chat import ChatClient
from ..connection import forget_detected_backends
from ..prompt_size import token_bound
from ..request import LLAMA_CPP_FIELDS, ChatRequest
from ..results import Route
from .fallbacks import Backend, RoutingPolicy, check_names

log = logging.getLogger("zenllama.routing")

# Answers that mean "this backend cannot take the call now", before any answer began.
UNAVAILABLE: tuple[type[errors.ZenLlamaError], ...] = (
    errors.BackendConnectionError,  # down (connection refused)
    errors.ServerLoadingError,  # 503: still loading its model; 529: overloaded (a subclass)
    errors.RateLimitError,  # 429: llama-server has no free slot
)

# What sends a call on to the next backend (ContextOverflowError: when the size policy is on).
ROUTABLE: tuple[type[errors.ZenLlamaError], ...] = (*UNAVAILABLE, errors.ContextOverflowError)

# A count that failed: the backend's own answer decides instead.
UNCOUNTED: tuple[type[Exception], ...] = (errors.BackendHTTPError, ValueError)

FIRST_CHOICE = "first choice"

# llama.cpp's own request fields (grammar, id_slot, …): only llama-server backends are sent them.
# presence/frequency penalties are OpenAI's too, so every backend keeps those.
LLAMA_SERVER_ONLY = frozenset(LLAMA_CPP_FIELDS) - {"presence_penalty", "frequency_penalty"}


class _Unasked(Enum):
    UNASKED = "unasked"


# A backend's window not asked yet (None is an answer: the server does not say).
UNASKED: Literal[_Unasked.UNASKED] = _Unasked.UNASKED
KnownWindow = int | Literal[_Unasked.UNASKED] | None


def why_unavailable(name: str, exc: Exception) -> str:
    if isinstance(exc, errors.BackendConnectionError):
        return f"{name} unavailable: connection failed"
    if isinstance(exc, errors.ServerOverloadedError):
        return f"{name} unavailable: HTTP 529 (overloaded)"
    if isinstance(exc, errors.ServerLoadingError):
        return f"{name} unavailable: HTTP 503 (loading)"
    return f"{name} unavailable: HTTP 429 (no free slot or rate limited)"


@dataclass(frozen=True)
class Attempt:
    """One backend's turn at a call."""

    index: int
    name: str
    client: ChatClient
    last: bool


@dataclass(frozen=True)
class SizeCheck:
    """A count the plan asks for: the prompt's free bound plus max_tokens exceeds the window."""

    window: int
    reserve: int


class Router:
    """The backends' clients and what was learnt of them, shared by every call (calls run in
    threads: windows, rebuilt clients and the last route change under a lock)."""

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

    def plan(self, request: ChatRequest) -> CallPlan:
        return CallPlan(self, request)

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise errors.InvalidSettingError(
                f"route={name!r} names no backend of this model; use one of {list(self.names)}"
            ) from None

    def _known_window(self, i: int) -> KnownWindow:
        with self._lock:
            return self._windows.get(i, UNASKED)

    def _learn_window(self, i: int, client: ChatClient, window: int | None) -> None:
        """Backend i's window, kept for its client (a rebuilt client asks again)."""
        with self._lock:
            if self._clients[i] is client:  # not rebuilt meanwhile: still its window
                self._windows.setdefault(i, window)

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

    def _served_by(self, name: str) -> str | None:
        """The backend that served before this one (None: none yet)."""
        with self._lock:
            previous, self._last = self._last, name
        return previous


class CallPlan:
    """One call's decisions: its backends in order (all, or the one `route=` names), what each
    is sent, when its prompt is counted, why it was left, and the Route of the one that served.
    Iterating it gives the attempts; the caller does their I/O and reports back."""

    def __init__(self, router: Router, request: ChatRequest) -> None:
        self._router = router
        self.forced: str | None = None
        forced = request.route
        if forced is None:
            self._order = list(range(len(router.names)))
        else:
            self._order = [router._index(str(forced))]
            self.forced = f"route={forced!r} asked"
            request = replace(request, route=None)
        self.request = request
        self.skipped: list[str] = []

    def __iter__(self) -> Iterator[Attempt]:
        for n, i in enumerate(self._order):
            # Read at its turn: a failed backend's client may have been rebuilt meanwhile.
            client = self._router._clients[i]
            yield Attempt(i, self._router.names[i], client, last=n == len(self._order) - 1)

    def request_for(self, attempt: Attempt, profile: BackendProfile) -> ChatRequest:
        """The attempt's request. The call's own `model` and `api` are the target's (the first
        backend, or the one route= names): a fallback uses its own model and its profile's
        wire. llama.cpp's own fields go to llama-server backends only."""
        request = self.request
        options = request.options
        foreign = set() if profile.llama_cpp_fields else LLAMA_SERVER_ONLY.intersection(options)
        target = attempt.index == self._order[0]
        if target and not foreign:
            return request
        drop = set(foreign)
        api = request.api
        if not target:
            api = None
            drop.add("model")
        if foreign:
            warnings.warn(
                f"{attempt.name} is not a llama-server: {sorted(foreign)} not sent to it",
                errors.UnsupportedSettingWarning,
                stacklevel=4,  # the caller of RoutedChatClient.complete & co.
            )
        return replace(
            request, api=api, options={k: v for k, v in options.items() if k not in drop}
        )

    # Size: the caller asks the window (once per client), then counts when told to ----------
    def checks_size(self, attempt: Attempt, profile: BackendProfile) -> bool:
        """Whether the prompt is measured before sending: not on the last backend, nor where
        there is no tokenizer to ask (the backend's own answer decides)."""
        return self._router.policy.on_size and not attempt.last and profile.counts_prompts

    def known_window(self, attempt: Attempt) -> KnownWindow:
        return self._router._known_window(attempt.index)

    def learn_window(self, attempt: Attempt, window: int | None) -> int | None:
        self._router._learn_window(attempt.index, attempt.client, window)
        return window

    def size_check(self, window: int | None, sent: ChatRequest) -> SizeCheck | None:
        """A count to make when the prompt's free bound plus max_tokens exceeds a known
        window; None when it surely fits (or the window is unknown)."""
        if not window:
            return None
        reserve = int(sent.options.get("max_tokens") or 0)
        bound = token_bound({"messages": sent.messages, "tools": sent.tools})
        return None if bound + reserve <= window else SizeCheck(window, reserve)

    def too_long(self, attempt: Attempt, check: SizeCheck, counted: int | Exception) -> bool:
        """Whether the counted prompt overflows the window (the reason kept); a failed count
        lets the backend's own answer decide."""
        if isinstance(counted, Exception):
            log.debug("could not count the prompt on %s: %s", attempt.name, counted)
            return False
        needed = counted + check.reserve
        if needed <= check.window:
            return False
        self.skipped.append(f"{attempt.name} context window {check.window} < {needed} needed")
        return True

    # Outcomes --------------------------------------------------------------------------
    def failed(self, attempt: Attempt, exc: Exception) -> None:
        """Why the attempt's backend is left for the next; re-raises what must not be routed
        around (anything on the last backend)."""
        if attempt.last:
            raise exc
        if isinstance(exc, UNAVAILABLE) and self._router.policy.on_unavailable:
            self._router._forget(attempt.index, exc, attempt.client)
            self.skipped.append(why_unavailable(attempt.name, exc))
        elif isinstance(exc, errors.ContextOverflowError) and self._router.policy.on_size:
            # The count said it fits, the server disagrees (a template the bound missed).
            self.skipped.append(
                f"{attempt.name} answered that the prompt exceeds its context window"
            )
        else:
            raise exc

    def served(self, attempt: Attempt) -> Route:
        """The Route of the backend that answers; a switch from the last one is logged."""
        name = attempt.name
        reason = self.forced or ("; ".join(self.skipped) if self.skipped else FIRST_CHOICE)
        previous = self._router._served_by(name) or self._router.names[0]
        switched = previous != name
        if switched:
            log.info("zenllama routing: %s serves instead of %s: %s", name, previous, reason)
        return Route(name, reason, switched)
