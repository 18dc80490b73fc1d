"""HTTP through the openai SDK's plumbing (auth, retries, Retry-After, timeouts), raw bodies out.

The SDK builds no pydantic object here: answers come back as `httpx.Response` and are parsed
by zenllama, which is what keeps the streaming hot path cheap.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

import httpx
import openai

from . import errors
from .backends import OPENAI_COMPATIBLE, PROFILES
from .settings import Settings


class _Retrying:
    """Retries connection errors, 429 and 5xx (honouring Retry-After), never other 4xx."""

    def _should_retry(self, response: httpx.Response) -> bool:
        # 501: the server lacks the feature (llama-server without --embeddings); retrying
        # cannot help.
        if response.status_code in (408, 409, 501):
            return False
        return super()._should_retry(response)  # type: ignore[misc, no-any-return]


class _SyncClient(_Retrying, openai.OpenAI):
    pass


class _AsyncClient(_Retrying, openai.AsyncOpenAI):
    pass


def _client_kwargs(settings: Settings, headers: dict[str, str]) -> dict[str, Any]:
    return {
        # The SDK insists on some key; keyless requests omit the header again (Transport).
        "api_key": settings.api_key.get_secret_value() if settings.api_key else "no-key",
        "base_url": settings.base_url,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "default_headers": headers,
    }


def root_url(base_url: str) -> str:
    """llama-server's own endpoints (/props, /health) live beside /v1, not under it."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def _error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    body: Any = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict):
        return body
    try:
        data = exc.response.json()
    except (ValueError, httpx.ResponseNotRead):
        return {"message": str(body or exc.message)}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return dict(data["error"])
    return data if isinstance(data, dict) else {"message": str(data)}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _unsupported_hint(message: str) -> str:
    if "format" in message.lower():  # zen: "Model X is not supported for format oa-compat"
        return (
            "the backend serves this model over another API: pass api='messages' or "
            "api='responses' (zen's claude-* and gpt-* get theirs without it)"
        )
    return "this backend does not serve this model on this API: check the id, or set api"


def _auth_hint(exc: openai.APIStatusError, backend: str) -> str:
    names = " or ".join(PROFILES.get(backend, OPENAI_COMPATIBLE).api_key_env)
    if "authorization" not in exc.request.headers:
        return f"no key was sent: set {names}, or pass api_key"
    if exc.status_code == 401:
        return f"the key was rejected: check {names} (or api_key)"
    return f"the key may not use this model: check {names} and the model id"


def translate_status_error(exc: openai.APIStatusError, backend: str) -> errors.BackendHTTPError:
    body = _error_body(exc)
    status = exc.status_code
    message = str(body.get("message") or body.get("detail") or exc.message)
    kind = str(body.get("type") or "")
    if kind == "exceed_context_size_error" or "context size" in message.lower():
        return errors.ContextOverflowError(
            status, message, n_ctx=body.get("n_ctx"), n_prompt_tokens=body.get("n_prompt_tokens")
        )
    if status in (401, 403):
        # zen answers a model it serves only over /responses or /messages with a 401 ModelError.
        if "not supported" in message.lower() or kind == "ModelError":
            return errors.ModelNotSupportedError(status, message, hint=_unsupported_hint(message))
        return errors.AuthenticationError(status, message, hint=_auth_hint(exc, backend))
    if status == 429:
        return errors.RateLimitError(status, message, retry_after=_retry_after(exc.response))
    if status == 503:
        return errors.ServerLoadingError(
            status, message, hint="the server is still loading its model; wait, then retry"
        )
    if status >= 500:
        return errors.ServerError(status, message)
    if "not supported" in message.lower() and "model" in message.lower():
        return errors.ModelNotSupportedError(status, message)
    return errors.BadRequestError(status, message)


# A probe (is this llama-server?) must not hold up a first call on a server that hangs.
PROBE_TIMEOUT = 5.0


class Transport:
    """One backend's HTTP clients, created on first use and reused."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.headers = dict(settings.default_headers)
        # For error hints; set once the backend is known.
        self.backend = settings.backend
        # Sent with every request: added once the backend is known (zen's session id).
        self.request_headers: dict[str, Any] = {}
        if settings.api_key is None and "authorization" not in map(str.lower, self.headers):
            # Keyless servers get no Authorization header at all (the SDK's way to omit one).
            self.request_headers["Authorization"] = openai.Omit()
        self._sync: _SyncClient | None = None
        self._async: _AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    @property
    def sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = _SyncClient(**_client_kwargs(self.settings, self.headers))
        return self._sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        # httpx's async pool belongs to one event loop; a new loop (asyncio.run again, a new
        # notebook kernel loop) gets a client of its own.
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            self._async = _AsyncClient(**_client_kwargs(self.settings, self.headers))
            self._async_loop = loop
        return self._async

    def _options(self, probe: bool = False, headers: Mapping[str, str] | None = None) -> Any:
        # A wire's own headers (Messages: anthropic-version) beside the backend's.
        options: dict[str, Any] = {
            "headers": {**self.request_headers, **headers} if headers else self.request_headers
        }
        if probe:
            options.update(timeout=PROBE_TIMEOUT, max_retries=0)
        return options

    def _translate(self, exc: Exception) -> Exception:
        url = self.settings.base_url
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return errors.BackendTimeoutError(url, self.settings.timeout)
        if isinstance(exc, openai.APIConnectionError):
            return errors.BackendConnectionError(url, str(exc.__cause__ or exc))
        if isinstance(exc, openai.APIStatusError):
            return translate_status_error(exc, self.backend)
        if isinstance(exc, httpx.TransportError):
            # Only mid-stream: the SDK wraps errors before the answer began.
            return errors.IncompleteStreamError(f"{type(exc).__name__}: {exc}")
        return exc

    # Whole answers -----------------------------------------------------------------
    def post(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        try:
            response = self.sync_client.post(
                path, body=body, cast_to=httpx.Response, options=self._options(headers=headers)
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        return _json(response)

    async def apost(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        try:
            response = await self.async_client.post(
                path, body=body, cast_to=httpx.Response, options=self._options(headers=headers)
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        return _json(response)

    def get(self, url_or_path: str, *, probe: bool = False) -> Any:
        try:
            response = self.sync_client.get(
                url_or_path, cast_to=httpx.Response, options=self._options(probe)
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        return _json(response)

    async def aget(self, url_or_path: str, *, probe: bool = False) -> Any:
        try:
            response = await self.async_client.get(
                url_or_path, cast_to=httpx.Response, options=self._options(probe)
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        return _json(response)

    # Streams -----------------------------------------------------------------------
    @contextmanager
    def stream_lines(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Iterator[Iterator[str]]:
        """Yields the answer's lines; leaving the block closes the response (the server stops)."""
        try:
            # cast_to=httpx.Response: the SDK hands back the raw, unread response.
            response = cast(
                httpx.Response,
                self.sync_client.post(
                    path,
                    body=body,
                    cast_to=httpx.Response,
                    options=self._options(headers=headers),
                    stream=True,
                    stream_cls=openai.Stream,
                ),
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        try:
            yield self._guard(response.iter_lines())
        finally:
            response.close()

    def _guard(self, lines: Iterator[str]) -> Iterator[str]:
        try:
            yield from lines
        except httpx.TransportError as exc:
            raise self._translate(exc) from exc

    @asynccontextmanager
    async def astream_lines(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[str]]:
        try:
            response = cast(
                httpx.Response,
                await self.async_client.post(
                    path,
                    body=body,
                    cast_to=httpx.Response,
                    options=self._options(headers=headers),
                    stream=True,
                    stream_cls=openai.AsyncStream,
                ),
            )
        except (openai.APIError, httpx.TransportError) as exc:
            raise self._translate(exc) from exc
        try:
            yield self._aguard(response.aiter_lines())
        finally:
            await response.aclose()

    async def _aguard(self, lines: AsyncIterator[str]) -> AsyncIterator[str]:
        try:
            async for line in lines:
                yield line
        except httpx.TransportError as exc:
            raise self._translate(exc) from exc

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise errors.BadRequestError(
            response.status_code, f"the server answered with something that is not JSON: {exc}"
        ) from exc
