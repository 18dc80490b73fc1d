"""HTTP through the openai SDK's plumbing (auth, retries, Retry-After, timeouts), raw bodies out.

The SDK builds no pydantic object here: answers come back as `httpx.Response` and are parsed
by zenllama, which is what keeps the streaming hot path cheap.

Clients are shared by the whole process, one per (base URL, timeout, retries, headers, key),
the way langchain-openai shares its httpx clients: objects are created in numbers, and each
client holds a connection pool. Async clients are per event loop (an httpx pool belongs to one
loop). A `Transport` holds only what is its own object's: the backend name for error hints and
per-request headers (zen's session id). So `close()` releases this object's hold and never
closes a client other objects share.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import functools
import hashlib
import json
import logging
import re
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import parse_qsl

import anyio
import openai
from openai._models import FinalRequestOptions

from . import deadline, direct, errors
from .backends import OPENAI_COMPATIBLE, PROFILES
from .errors import redact_url
from .httpx_compat import HTTPX_MODULE, httpx
from .llama_server_errors import Refusal, refusal, unknown_model
from .models import parse_models
from .settings import Settings
from .sse import LineSplitter


class _Retrying:
    """Retries connection errors, 429 and 5xx (honouring Retry-After), never other 4xx."""

    def _should_retry(self, response: httpx.Response) -> bool:
        # 501: the server lacks the feature (llama-server without --embeddings); retrying
        # cannot help.
        if response.status_code in (408, 409, 501):
            return False
        return super()._should_retry(response)  # type: ignore[misc, no-any-return]

    def _calculate_retry_timeout(
        self, remaining_retries: int, options: Any, response_headers: Any = None
    ) -> float:
        wait = super()._calculate_retry_timeout(  # type: ignore[misc]
            remaining_retries, options, response_headers
        )
        return deadline.cap_wait(wait, options.headers)


# What a read of an answer can raise below the SDK: httpx's errors, and TLS or stream ends
# that httpx2 leaves unmapped (openai 3.x's `request_exceptions()` names the same two).
STREAM_FAULTS: tuple[type[Exception], ...] = (httpx.HTTPError, ssl.SSLError, anyio.EndOfStream)
# ... and what the SDK raises before the answer begins.
FAULTS: tuple[type[Exception], ...] = (openai.APIError, *STREAM_FAULTS)


# A request names the header its key goes in (Messages: x-api-key) with this marker; the
# client puts its own key there once the request is built, after the SDK has logged the
# request options at DEBUG: the key never travels in the options.
KEY_HEADER = "x-zenllama-key-header"


def _put_key(request: httpx.Request, api_key: str) -> None:
    name = request.headers.pop(KEY_HEADER, None)
    if name:
        request.headers[name] = api_key


def _dropped_unanswered(exc: Exception) -> bool:
    """A kept-alive connection the server closed just as it was reused: llama-server (its HTTP
    library) drops idle connections after 5 s, the very time httpx keeps them. The request was
    never answered, so it goes once more, on a new connection (as urllib3 does for stale ones)."""
    return isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc)


# The fast path's first attempt, when it was not a 2xx answer: handed to the SDK's own loop as
# that loop's first attempt (Transport._fast_post), so the SDK decides on retrying, backs off
# (Retry-After) and raises its typed errors exactly as if it had sent it. Per thread and task.
_REPLAY: contextvars.ContextVar[httpx.Response | Exception | None] = contextvars.ContextVar(
    "zenllama_replay", default=None
)


def _replayed() -> httpx.Response | None:
    """The attempt to replay, once (raised if it was an error); None: send for real."""
    outcome = _REPLAY.get()
    if outcome is None:
        return None
    _REPLAY.set(None)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


# Under a deadline the answer is read as it comes, its bytes checked against the deadline. The
# httpx client's own `send` is the one place every openai generation sends through.
class _HttpClient(openai.DefaultHttpxClient):
    def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> Any:
        replayed = _replayed()
        if replayed is not None:
            return replayed
        try:
            return self._send_within_deadline(request, stream, **kwargs)
        except httpx.RemoteProtocolError as exc:
            if not _dropped_unanswered(exc):
                raise
            return self._send_within_deadline(request, stream, **kwargs)

    def _send_within_deadline(self, request: httpx.Request, stream: bool, **kwargs: Any) -> Any:
        within = deadline.of(request)
        if within is None:
            return super().send(request, stream=stream, **kwargs)
        response = super().send(request, stream=True, **kwargs)
        deadline.watch(response, within)
        if not stream:
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        return response


class _AsyncHttpClient(openai.DefaultAsyncHttpxClient):
    async def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> Any:
        replayed = _replayed()
        if replayed is not None:
            return replayed
        try:
            return await self._send_within_deadline(request, stream, **kwargs)
        except httpx.RemoteProtocolError as exc:
            if not _dropped_unanswered(exc):
                raise
            return await self._send_within_deadline(request, stream, **kwargs)

    async def _send_within_deadline(
        self, request: httpx.Request, stream: bool, **kwargs: Any
    ) -> Any:
        within = deadline.of(request)
        if within is None:
            return await super().send(request, stream=stream, **kwargs)
        response = await super().send(request, stream=True, **kwargs)
        deadline.awatch(response, within)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


class _SyncClient(_Retrying, openai.OpenAI):
    def _prepare_request(self, request: httpx.Request) -> None:
        _put_key(request, self.api_key)
        deadline.take(request)
        super()._prepare_request(request)


class _AsyncClient(_Retrying, openai.AsyncOpenAI):
    async def _prepare_request(self, request: httpx.Request) -> None:
        _put_key(request, self.api_key)
        deadline.take(request)
        await super()._prepare_request(request)


def _without_credentials(arg: Any) -> Any:
    if isinstance(arg, httpx.URL) or (isinstance(arg, str) and arg.startswith("http")):
        return redact_url(str(arg))
    if isinstance(arg, dict) and isinstance(arg.get("url"), str):  # openai 2.x: request options
        return {**arg, "url": redact_url(arg["url"])}
    return arg


class _RedactedURLs(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: POST http://user:key@…/v1?…"), the
    SDK its retries and (2.x, DEBUG) request options: user info and query values are masked
    there too, as in every message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_credentials(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = _without_credentials(record.args)
        return True


# A filter runs only for records the logger emits: nothing is done while logging is off.
for _logger in (HTTPX_MODULE, "openai._base_client"):
    logging.getLogger(_logger).addFilter(_RedactedURLs())


_SDK_LOG = logging.getLogger("openai._base_client")


# Shared clients ----------------------------------------------------------------------
@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle is most of a client's construction cost: once per process.
    return httpx.create_ssl_context()


def _http_options(base_url: str) -> dict[str, Any]:
    if base_url.startswith("http://"):
        # Plain http needs no TLS context, so it follows no redirect either: one to https
        # would go unverified. A redirect is an error naming the address to use instead.
        return {"verify": False, "follow_redirects": False}
    return {"verify": _tls_context()}


def split_query(base_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its query, and the query's fields (`…/v1?api-key=…`: some gateways'
    key). The SDK appends paths to the URL as text, so the query goes with every request as
    the client's default query instead, the absolute llama.cpp URLs (root_url) included."""
    url, _, query = base_url.partition("?")
    fields = parse_qsl(query, keep_blank_values=True)
    if len({name for name, _ in fields}) < len(fields):
        raise errors.InvalidSettingError(
            f"base_url {redact_url(base_url)} repeats a query field: give each once"
        )
    return url.rstrip("/"), dict(fields)


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    url, query = split_query(settings.base_url)
    return {
        # The SDK insists on some key; keyless requests omit the header again (Transport).
        "api_key": settings.api_key.get_secret_value() if settings.api_key else "no-key",
        "base_url": url,
        "default_query": query,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "default_headers": dict(settings.default_headers),
    }


ClientKey = tuple[str, float | None, int, tuple[tuple[str, str], ...], str]


def _client_key(settings: Settings) -> ClientKey:
    """What makes two objects' clients interchangeable (the key as a digest, never itself)."""
    secret = settings.api_key.get_secret_value() if settings.api_key else ""
    digest = hashlib.sha256(secret.encode()).hexdigest() if secret else ""
    headers = tuple(sorted(settings.default_headers.items()))
    return (settings.base_url, settings.timeout, settings.max_retries, headers, digest)


class _LoopClients:
    """One event loop's clients, closed while that loop still runs, when asyncio.run ends it.

    asyncio.run (also asyncio.Runner, pytest-asyncio) finalizes the loop's live async
    generators before closing it: a generator parked at `yield` is the one hook that runs
    then. A loop closed some other way is dropped the next time a new loop shows up.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        self.clients: dict[ClientKey, _AsyncClient] = {}
        self._closer: AsyncGenerator[None, None] | None = None

    async def start(self) -> None:
        self._closer = self._close_at_shutdown()
        await self._closer.__anext__()

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            loop = self.loop()
            with _lock:
                if loop is not None and _loop_clients.get(loop) is self:
                    del _loop_clients[loop]
                clients = list(self.clients.values())
                self.clients.clear()
            for client in clients:
                await client.close()


_lock = threading.Lock()
_sync_clients: dict[ClientKey, _SyncClient] = {}
_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
    weakref.WeakKeyDictionary()
)


def shared_sync_client(settings: Settings) -> _SyncClient:
    key = _client_key(settings)
    with _lock:
        client = _sync_clients.get(key)
        if client is None:
            # Our own httpx client: the SDK's default one closes its pool when garbage
            # collected, under the feet of whoever still reads from it.
            http = _HttpClient(**_http_options(settings.base_url))
            client = _SyncClient(**_client_kwargs(settings), http_client=http)
            _sync_clients[key] = client
        return client


@atexit.register
def close_sync_clients() -> None:
    """Closes the shared sync clients and their pools: at exit, so no open socket is left for
    the interpreter's teardown (a ResourceWarning each). A later request opens a new client.
    (Async clients close with their event loop, above.)"""
    with _lock:
        clients = list(_sync_clients.values())
        _sync_clients.clear()
    for client in clients:
        client.close()


async def shared_async_client(settings: Settings) -> _AsyncClient:
    loop = asyncio.get_running_loop()
    key = _client_key(settings)
    fresh: _LoopClients | None = None
    with _lock:
        record = _loop_clients.get(loop)
        if record is None:
            for closed in [old for old in _loop_clients if old.is_closed()]:
                del _loop_clients[closed]
            record = fresh = _loop_clients[loop] = _LoopClients(loop)
        client = record.clients.get(key)
        if client is None:
            # The SDK's default async client schedules its own closing on whatever loop runs
            # when it is garbage collected: "Event loop is closed" on the next asyncio.run.
            http = _AsyncHttpClient(**_http_options(settings.base_url))
            client = _AsyncClient(**_client_kwargs(settings), http_client=http)
            record.clients[key] = client
    if fresh is not None:
        await fresh.start()
    return client


# Errors ------------------------------------------------------------------------------
def root_url(base_url: str) -> str:
    """llama-server's own endpoints (/props, /health) live beside /v1, not under it.

    Without the base URL's query: the client sends that with every request (split_query)."""
    url = split_query(base_url)[0]
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    body: Any = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict):
        return body
    try:
        data = exc.response.json()
    except (ValueError, RecursionError, httpx.ResponseNotRead):
        # Not JSON: a proxy's HTML error page, say. Its title, not the page.
        return {"message": errors.shorten(str(body or exc.message))}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return dict(data["error"])
    return data if isinstance(data, dict) else {"message": errors.shorten(str(data))}


def _retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
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


def _auth_hint(request: httpx.Request | None, status: int, backend: str) -> str:
    names = " or ".join(PROFILES.get(backend, OPENAI_COMPATIBLE).api_key_env)
    if request is not None and "authorization" not in request.headers:
        return f"no key was sent: set {names}, or pass api_key"
    if status == 401:
        return f"the key was rejected: check {names} (or api_key)"
    return f"the key may not use this model: check {names} and the model id"


# Context overflow as each API words it (numbers where the text has them): llama-server's
# (llama_server_errors, sizes in the body); Anthropic's 400 texts; OpenAI's `code` (its older
# text names both sizes).
_ANTHROPIC_TOO_LONG = re.compile(r"prompt is too long: (\d+) tokens > (\d+) maximum")
_ANTHROPIC_OVER_LIMIT = re.compile(
    r"input length and `?max_tokens`? exceed context limit: (\d+) \+ (\d+) > (\d+)"
)
_OPENAI_WINDOW = re.compile(r"maximum context length is (\d+) tokens")
_OPENAI_PROMPT = re.compile(r"(?:resulted in|requested) (\d+) tokens")


def _message(body: dict[str, Any]) -> str:
    return str(body.get("message") or body.get("detail") or errors.shorten(str(body)))


def _number(pattern: re.Pattern[str], text: str) -> int | None:
    found = pattern.search(text)
    return int(found.group(1)) if found else None


def _context_overflow(
    status: int, body: dict[str, Any], message: str, backend: str
) -> errors.ContextOverflowError | None:
    if refusal(status, message, str(body.get("type") or "")) is Refusal.CONTEXT_OVERFLOW:
        n_ctx, n_prompt = body.get("n_ctx"), body.get("n_prompt_tokens")
    elif found := _ANTHROPIC_TOO_LONG.search(message):
        n_prompt, n_ctx = int(found.group(1)), int(found.group(2))
    elif found := _ANTHROPIC_OVER_LIMIT.search(message):
        n_prompt, n_ctx = int(found.group(1)), int(found.group(3))
    elif body.get("code") == "context_length_exceeded":
        n_ctx, n_prompt = _number(_OPENAI_WINDOW, message), _number(_OPENAI_PROMPT, message)
    else:
        return None
    n_ctx = n_ctx if isinstance(n_ctx, int) else None
    n_prompt = n_prompt if isinstance(n_prompt, int) else None
    sizes = f"prompt has {n_prompt} tokens, context is {n_ctx}: " if n_ctx and n_prompt else ""
    # Only a server the user runs has a context size to raise (llama-server: --ctx-size).
    option = PROFILES.get(backend, OPENAI_COMPATIBLE).context_size_option
    fix = f"start {backend} with a larger {option}" if option else "lower max_tokens"
    hint = f"{sizes}shorten the input or {fix}"
    return errors.ContextOverflowError(
        status, message, n_ctx=n_ctx, n_prompt_tokens=n_prompt, hint=hint
    )


def _overloaded(
    status: int | None, body: dict[str, Any], message: str
) -> errors.ServerOverloadedError | None:
    """Anthropic's 529 `overloaded_error` (in a stream too, where there is no status):
    unavailable for now, like a 503."""
    if status != 529 and body.get("type") != "overloaded_error":
        return None
    return errors.ServerOverloadedError(
        status or 529,
        message,
        hint="the provider is overloaded for now; retry later or route elsewhere",
    )


def error_event(body: dict[str, Any], backend: str) -> errors.BackendHTTPError | None:
    """An error reported inside an answer (a stream's `error` event, a failed Responses
    object): the typed error where it says context overflow or overload, else None."""
    message = _message(body)
    return _context_overflow(400, body, message, backend) or _overloaded(None, body, message)


def translate_status_error(exc: openai.APIStatusError, backend: str) -> errors.BackendHTTPError:
    return translate_error_body(
        exc.status_code, _error_body(exc), backend, exc.request, exc.response
    )


def translate_error_body(
    status: int,
    body: dict[str, Any],
    backend: str,
    request: httpx.Request | None = None,
    response: httpx.Response | None = None,
) -> errors.BackendHTTPError:
    """An error answer's body (`{"message", "type", …}`) as the typed error it means."""
    if 300 <= status < 400 and response is not None:
        where = redact_url(response.headers.get("location", "another address"))
        return errors.BadRequestError(
            status,
            f"the server redirected to {where}",
            hint="use that address as base_url (a plain-http client follows no redirects)",
        )
    message = _message(body)
    kind = str(body.get("type") or "")
    known = _context_overflow(status, body, message, backend) or _overloaded(status, body, message)
    if known is not None:
        return known
    if status in (401, 403):
        # zen answers a model it serves only over /responses or /messages with a 401 ModelError.
        if "not supported" in message.lower() or kind == "ModelError":
            return errors.ModelNotSupportedError(status, message, hint=_unsupported_hint(message))
        hint = _auth_hint(request, status, backend)
        return errors.AuthenticationError(status, message, hint=hint)
    if status == 429:
        return errors.RateLimitError(status, message, retry_after=_retry_after(response))
    if status == 503:
        return errors.ServerLoadingError(
            status, message, hint="the server is still loading its model; wait, then retry"
        )
    if status >= 500:
        return errors.ServerError(status, message)
    unknown = unknown_model(message)  # a llama-server router's
    if unknown is not None:
        return errors.UnknownModelError(status, message, unknown, None)
    if "not supported" in message.lower() and "model" in message.lower():
        return errors.ModelNotSupportedError(status, message)
    return errors.BadRequestError(status, message)


def _chained(exc: Exception) -> Exception | None:
    """What a typed error chains: a status error quotes the server's text unmasked (a key it
    echoes would show in every traceback), and the typed error holds that text masked."""
    return None if isinstance(exc, openai.APIStatusError) else exc


# One object's transport --------------------------------------------------------------
@dataclass(slots=True)
class _Template:
    """The fast path's request for one path and set of headers, as the SDK builds it (no
    body), and where it went directly last (rebuilt for another httpx client)."""

    request: httpx.Request
    route: direct.Route | None = None


def _direct_route(client: openai.OpenAI | openai.AsyncOpenAI, template: _Template) -> direct.Route:
    """The template's route through this SDK client's httpx client (an async one: this
    event loop's), built when the client is not the one it was built for."""
    route = template.route
    if route is not None and route.owner is client._client:
        return route
    route = direct.route(client._client, template.request)
    if getattr(client, "_provider_runtime", None) is not None:  # the SDK edits each request
        route = replace(route, pool=None)
    # The key into the header the request names for it, as the clients' _prepare_request does.
    marker, key = KEY_HEADER.encode(), client.api_key.encode()
    headers = [(v, key) if n.lower() == marker else (n, v) for n, v in route.headers]
    route = template.route = replace(route, headers=headers)
    return route


def _resent_once(
    send: Callable[[direct.Route, bytes], direct.Answer], route: direct.Route, content: bytes
) -> direct.Answer:
    """Sent again, once, where a kept-alive connection was closed under it (_HttpClient)."""
    try:
        return send(route, content)
    except httpx.RemoteProtocolError as exc:
        if not _dropped_unanswered(exc):
            raise
        return send(route, content)


async def _aresent_once(
    send: Callable[[direct.Route, bytes], Awaitable[direct.Answer]],
    route: direct.Route,
    content: bytes,
) -> direct.Answer:
    try:
        return await send(route, content)
    except httpx.RemoteProtocolError as exc:
        if not _dropped_unanswered(exc):
            raise
        return await send(route, content)


def _after_direct(
    client: openai.OpenAI | openai.AsyncOpenAI, answer: direct.Answer, request: httpx.Request
) -> httpx.Response | httpx.Request | Exception:
    """What httpx's layers make of a direct answer they have work on: the response (decoded,
    its cookies kept), the next request of a redirect the client follows, or the error the
    decoding raised (the SDK's loop decides on it)."""
    http = client._client
    try:
        response = answer.response(request)
    except Exception as exc:
        return exc
    http.cookies.extract_cookies(response)
    if response.is_redirect and http.follow_redirects:
        return http._build_redirect_request(request, response)
    return response


def _outcome(response: httpx.Response | Exception) -> bytes | httpx.Response | Exception:
    if isinstance(response, httpx.Response) and response.is_success:
        return response.content
    return response


class Transport:
    """One object's way to its backend: the shared clients plus what is this object's own."""

    def __init__(self, settings: Settings) -> None:
        if errors.is_masked_url(settings.base_url):
            raise errors.InvalidSettingError(
                f"base_url {settings.base_url} has its credentials masked: it came from a pickle "
                "or a dump, which never hold them. Give base_url again, or set BACKEND_URL "
                "(BACKEND_FALLBACK_URL for a fallback) to the same URL with its credentials"
            )
        self.settings = settings
        # For error hints; set once the backend is known.
        self.backend = settings.backend
        # Sent with every request: added once the backend is known (zen's session id).
        self.request_headers: dict[str, Any] = {}
        if settings.api_key is None and "authorization" not in map(
            str.lower, settings.default_headers
        ):
            # Keyless servers get no Authorization header at all (the SDK's way to omit one).
            self.request_headers["Authorization"] = openai.Omit()
        self._options: Any = {"headers": self.request_headers}
        # The fast path's requests as the SDK builds them, without a body, by (async, path,
        # headers): the SDK's headers, URL, query and timeouts are the same for every call.
        self._templates: dict[tuple[Any, ...], _Template] = {}
        self._sync: _SyncClient | None = None
        # The last event loop this object ran on (weakly: never kept alive) and its client.
        self._async: tuple[weakref.ref[asyncio.AbstractEventLoop], _AsyncClient] | None = None

    @property
    def sync_client(self) -> openai.OpenAI:
        client = self._sync
        if client is None or client.is_closed():  # closed: at exit (close_sync_clients)
            client = self._sync = shared_sync_client(self.settings)
        return client

    async def async_client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        last = self._async
        if last is not None and last[0]() is loop:
            return last[1]
        client = await shared_async_client(self.settings)
        self._async = (weakref.ref(loop), client)
        return client

    def _request_options(self, headers: Mapping[str, str] | None) -> Any:
        """The request options, plus a wire's own headers (Messages: anthropic-version) and
        the request's deadline, from now."""
        if self.settings.deadline is not None:
            headers = {**(headers or {}), **deadline.header(self.settings.deadline)}
        if not headers:
            return self._options
        return {**self._options, "headers": {**self.request_headers, **headers}}

    # The fast path -------------------------------------------------------------------
    # A whole answer's one attempt, sent outside the SDK's per-request machinery (options
    # models, header and URL merging, its loop: most of a small call's cost), on the request
    # the SDK itself builds for this path and these headers, kept once built. It goes to httpx's
    # pool directly where httpx's layers have nothing to do (`direct`), else through the httpx
    # client (our `send`: the deadline, the resend). Only a 2xx answer ends there; anything
    # else goes to the SDK's loop as its first attempt.
    def _fast_call(
        self, client: openai.OpenAI | openai.AsyncOpenAI, path: str, body: Any, options: Any
    ) -> tuple[_Template, bytes, str | None] | None:
        """This call's template, body and deadline marker, or None where the SDK's own path
        must run: its DEBUG lines are wanted, the httpx client holds cookies (merged into each
        request it builds), or the body is not plain JSON (the SDK's encoder takes more)."""
        if _SDK_LOG.isEnabledFor(logging.DEBUG) or client._client.cookies:
            return None
        try:
            # The SDK's encoding (openai._utils._json.openapi_dumps, as httpx's).
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            return None
        headers = dict(options["headers"])
        marker = headers.pop(deadline.HEADER, None)
        key = (isinstance(client, openai.AsyncOpenAI), path, *headers.items())
        template = self._templates.get(key)
        if template is None:
            empty = FinalRequestOptions.construct(method="post", url=path, headers=headers)
            built = client._build_request(empty)
            # Without the empty body's length: each call's body gets its own.
            del built.headers["content-length"]
            template = self._templates[key] = _Template(built)
        return template, content.encode(), marker

    @staticmethod
    def _httpx_request(template: _Template, content: bytes, marker: str | None) -> httpx.Request:
        request = httpx.Request(
            "POST",
            template.request.url,
            headers=template.request.headers,
            content=content,
            extensions=dict(template.request.extensions),
        )
        if marker is not None:
            request.headers[deadline.HEADER] = marker
        return request

    def _first_attempt(
        self, client: _SyncClient, template: _Template, content: bytes, marker: str | None
    ) -> bytes | httpx.Response | Exception:
        """The answer's body, or what the SDK's loop gets as its first attempt."""
        request: httpx.Request | None = None
        route = _direct_route(client, template) if marker is None and direct.usable(False) else None
        if route is not None and route.pool is not None:
            try:
                answer = _resent_once(direct.send, route, content)
            except Exception as exc:  # what the SDK's loop catches, and decides on
                return exc
            if answer.plain:
                return answer.body
            request = self._httpx_request(template, content, None)
            client._prepare_request(request)  # the key's header: as the SDK's
            after = _after_direct(client, answer, request)
            if not isinstance(after, httpx.Request):
                return _outcome(after)
            request = after  # a redirect, followed by the httpx client
        if request is None:
            request = self._httpx_request(template, content, marker)
            client._prepare_request(request)  # the key's header, the deadline: as the SDK's
        try:
            return _outcome(client._client.send(request))
        except Exception as exc:
            return exc

    async def _afirst_attempt(
        self, client: _AsyncClient, template: _Template, content: bytes, marker: str | None
    ) -> bytes | httpx.Response | Exception:
        request: httpx.Request | None = None
        route = _direct_route(client, template) if marker is None and direct.usable(True) else None
        if route is not None and route.pool is not None:
            try:
                answer = await _aresent_once(direct.asend, route, content)
            except Exception as exc:
                return exc
            if answer.plain:
                return answer.body
            request = self._httpx_request(template, content, None)
            await client._prepare_request(request)
            after = _after_direct(client, answer, request)
            if not isinstance(after, httpx.Request):
                return _outcome(after)
            request = after
        if request is None:
            request = self._httpx_request(template, content, marker)
            await client._prepare_request(request)
        try:
            return _outcome(await client._client.send(request))
        except Exception as exc:
            return exc

    def _fast_post(self, client: _SyncClient, path: str, body: Any, options: Any) -> bytes:
        call = self._fast_call(client, path, body, options)
        if call is not None:
            outcome = self._first_attempt(client, *call)
            if isinstance(outcome, bytes):
                return outcome
            token = _REPLAY.set(outcome)
        try:
            response = client.post(path, body=body, cast_to=httpx.Response, options=options)
            return response.content
        finally:
            if call is not None:
                _REPLAY.reset(token)

    async def _afast_post(self, client: _AsyncClient, path: str, body: Any, options: Any) -> bytes:
        call = self._fast_call(client, path, body, options)
        if call is not None:
            outcome = await self._afirst_attempt(client, *call)
            if isinstance(outcome, bytes):
                return outcome
            token = _REPLAY.set(outcome)
        try:
            response = await client.post(path, body=body, cast_to=httpx.Response, options=options)
            return response.content
        finally:
            if call is not None:
                _REPLAY.reset(token)

    def _translate(self, exc: Exception) -> Exception:
        """The SDK's errors and its httpx generation's (raised mid-stream) as typed errors."""
        late = deadline.passed(exc)  # a timeout past the request's deadline says so
        if late is not None:
            return late
        url = self.settings.base_url
        if isinstance(exc, openai.APIStatusError):
            return translate_status_error(exc, self.backend)
        wrapped = isinstance(exc, openai.APIConnectionError)  # APITimeoutError included
        cause = exc.__cause__ if wrapped else exc
        if isinstance(exc, openai.APITimeoutError) or isinstance(cause, httpx.TimeoutException):
            return errors.BackendTimeoutError(url, self.settings.timeout)
        if (wrapped and cause is None) or isinstance(
            cause, httpx.ConnectError | httpx.UnsupportedProtocol
        ):
            return errors.BackendConnectionError(url, str(cause or exc))
        if wrapped:
            # The request went out; the answer broke off (the server died while answering).
            return errors.IncompleteResponseError(f"{type(cause).__name__}: {cause}", url=url)
        if isinstance(exc, STREAM_FAULTS):
            # Only mid-stream: the SDK wraps errors before the answer began.
            return errors.IncompleteStreamError(f"{type(exc).__name__}: {exc}")
        return exc

    # A router's "model not found" lists what it has (one more request, on that error only).
    def _with_served_models(self, exc: Exception) -> Exception:
        if not isinstance(exc, errors.UnknownModelError):
            return exc
        try:
            return exc.listing([m.id for m in parse_models(self.get("/models"))])
        except errors.ZenLlamaError:
            return exc

    async def _anamed(self, exc: Exception) -> Exception:
        if not isinstance(exc, errors.UnknownModelError):
            return exc
        try:
            return exc.listing([m.id for m in parse_models(await self.aget("/models"))])
        except errors.ZenLlamaError:
            return exc

    # Whole answers -----------------------------------------------------------------
    def post(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        client = cast(_SyncClient, self.sync_client)
        try:
            content = self._fast_post(client, path, body, self._request_options(headers))
        except FAULTS as exc:
            raise self._with_served_models(self._translate(exc)) from _chained(exc)
        return _json(content)

    async def apost(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Any:
        client = cast(_AsyncClient, await self.async_client())
        try:
            content = await self._afast_post(client, path, body, self._request_options(headers))
        except FAULTS as exc:
            raise await self._anamed(self._translate(exc)) from _chained(exc)
        return _json(content)

    def get(self, url_or_path: str) -> Any:
        try:
            response = self.sync_client.get(
                url_or_path, cast_to=httpx.Response, options=self._request_options(None)
            )
        except FAULTS as exc:
            raise self._translate(exc) from _chained(exc)
        return _json(response.content)

    async def aget(self, url_or_path: str) -> Any:
        client = await self.async_client()
        try:
            response = await client.get(
                url_or_path, cast_to=httpx.Response, options=self._request_options(None)
            )
        except FAULTS as exc:
            raise self._translate(exc) from _chained(exc)
        return _json(response.content)

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
                    options=self._request_options(headers),
                    stream=True,
                    stream_cls=openai.Stream,
                ),
            )
        except FAULTS as exc:
            raise self._with_served_models(self._translate(exc)) from _chained(exc)
        try:
            yield self._lines(response.iter_bytes())
        finally:
            response.close()

    def _lines(self, chunks: Iterator[bytes]) -> Iterator[str]:
        splitter = LineSplitter()
        feed = splitter.feed
        try:
            for chunk in chunks:
                yield from feed(chunk)
        except STREAM_FAULTS as exc:
            raise self._translate(exc) from _chained(exc)
        yield from splitter.flush()

    @asynccontextmanager
    async def astream_lines(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncIterator[str]]:
        client = await self.async_client()
        try:
            response = cast(
                httpx.Response,
                await client.post(
                    path,
                    body=body,
                    cast_to=httpx.Response,
                    options=self._request_options(headers),
                    stream=True,
                    stream_cls=openai.AsyncStream,
                ),
            )
        except FAULTS as exc:
            raise await self._anamed(self._translate(exc)) from _chained(exc)
        try:
            yield self._alines(response.aiter_bytes())
        finally:
            await response.aclose()

    async def _alines(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
        splitter = LineSplitter()
        feed = splitter.feed
        try:
            async for chunk in chunks:
                for line in feed(chunk):
                    yield line
        except STREAM_FAULTS as exc:
            raise self._translate(exc) from _chained(exc)
        for line in splitter.flush():
            yield line

    def close(self) -> None:
        """Lets go of the shared clients; they stay open for the other objects using them."""
        self._sync = None

    async def aclose(self) -> None:
        self._async = None


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:
        text = errors.shorten(content.decode("utf-8", "replace"))
        raise errors.MalformedResponseError(f"not JSON ({exc}): {text!r}") from exc
