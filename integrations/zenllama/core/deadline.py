"""`deadline`: one bound for a whole request, where `timeout` bounds each wait.

httpx's timeouts bound each wait (connecting, sending, each read): a server that sends a byte
now and then is never cut off by them. A deadline is one instant per request: each attempt of
the SDK's retries is refused past it, each wait of an attempt is cut to what is left when it
starts, and the answer's bytes (a stream's, to its end) are checked against it as they come.
So a request ends by its deadline, or at worst one wait later where the server goes silent.

The instant travels with the request options as a marker header, as the key's header does
(transport.KEY_HEADER); the client takes it off before sending and keeps it on the request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

import openai

from .errors import BackendTimeoutError
from .httpx_compat import httpx

HEADER = "x-zenllama-deadline"
_EXTENSION = "zenllama_deadline"
_WAITS = ("connect", "read", "write", "pool")  # httpx's timeouts


@dataclass(frozen=True)
class Deadline:
    at: float  # on time.monotonic()'s clock
    seconds: float

    def left(self) -> float:
        return self.at - time.monotonic()

    def error(self, request: httpx.Request) -> BackendTimeoutError:
        return BackendTimeoutError(str(request.url), None, deadline=self.seconds)


def header(seconds: float) -> dict[str, str]:
    """The marker for a request starting now."""
    return {HEADER: f"{time.monotonic() + seconds!r} {seconds!r}"}


def cap_wait(wait: float, headers: object) -> float:
    """A backoff before the next attempt, never past the deadline the request options carry
    (Retry-After may ask for a minute): that attempt is refused at once instead."""
    value = headers.get(HEADER) if isinstance(headers, Mapping) else None
    if not isinstance(value, str):
        return wait
    return max(0.0, min(wait, float(value.split()[0]) - time.monotonic()))


def of(request: httpx.Request) -> Deadline | None:
    deadline = request.extensions.get(_EXTENSION)
    return deadline if isinstance(deadline, Deadline) else None


def take(request: httpx.Request) -> None:
    """Each attempt, before it is sent: the marker off the request and kept with it; past the
    deadline, BackendTimeoutError (no more retries); else each wait cut to what is left."""
    value = request.headers.pop(HEADER, None)
    if value is None:
        return
    at, seconds = map(float, value.split())
    deadline = Deadline(at, seconds)
    left = deadline.left()
    if left <= 0:
        raise deadline.error(request)
    waits = request.extensions.get("timeout") or dict.fromkeys(_WAITS)
    request.extensions["timeout"] = {k: min(v or left, left) for k, v in waits.items()}
    request.extensions[_EXTENSION] = deadline


def passed(exc: BaseException) -> BackendTimeoutError | None:
    """A timeout of a request past its deadline, as the deadline's error."""
    if not isinstance(exc, httpx.TimeoutException | openai.APITimeoutError):
        return None
    try:
        request = exc.request
    except RuntimeError:  # an httpx error raised without its request
        return None
    deadline = of(request)
    return deadline.error(request) if deadline is not None and deadline.left() <= 0 else None


def _late(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout("the request's deadline passed", request=request)


class _Bytes(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, request: httpx.Request, at: Deadline) -> None:
        self.inner, self.request, self.deadline = inner, request, at

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if self.deadline.left() <= 0:
                raise _late(self.request)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _AsyncBytes(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request, at: Deadline) -> None:
        self.inner, self.request, self.deadline = inner, request, at

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            if self.deadline.left() <= 0:
                raise _late(self.request)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def watch(response: httpx.Response, deadline: Deadline) -> None:
    """The answer's bytes checked against the deadline as they come (read, or streamed)."""
    stream = cast(httpx.SyncByteStream, response.stream)
    response.stream = _Bytes(stream, response.request, deadline)


def awatch(response: httpx.Response, deadline: Deadline) -> None:
    stream = cast(httpx.AsyncByteStream, response.stream)
    response.stream = _AsyncBytes(stream, response.request, deadline)
