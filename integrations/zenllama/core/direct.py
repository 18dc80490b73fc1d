"""A whole answer's one attempt, straight through the connection pool httpx would use.

Around its pool httpx adds a `Request` and a `Response` model, the auth, redirect and hook
flows, cookies and content decoding: about 0.15 ms of a 1 ms local call, more than all of
zenllama's own work on it. Where none of those layers would do anything for a request, it goes
to that very pool (the same bytes on the wire: the headers, URL and timeouts of the request
the SDK built for the path, `Route`). Where one would (a compressed, cookie-setting, redirected
or failed answer), the answer comes back as an httpx `Response` for the caller's usual path.

The pool is httpcore's (httpcore2 under openai 3.x's httpx2): its `Request`, `handle_request`
and errors are public API (https://www.encode.io/httpcore/); httpx's own transport maps its
errors with `map_httpcore_exceptions`, which is used here too, so callers see httpx's errors.
"""

from __future__ import annotations

import importlib
import logging
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .httpx_compat import HTTPX_MODULE, httpx

if TYPE_CHECKING:
    import httpcore2 as httpcore
else:
    httpcore = importlib.import_module("httpcore2" if HTTPX_MODULE == "httpx2" else "httpcore")

_transports = importlib.import_module(f"{HTTPX_MODULE}._transports.default")
_mapped_errors = _transports.map_httpcore_exceptions
_client_module = importlib.import_module(f"{HTTPX_MODULE}._client")
# httpx logs each request at INFO ("HTTP Request: POST …"): whoever listens gets httpx's path.
_HTTPX_LOG = logging.getLogger(HTTPX_MODULE)
_PLAIN = frozenset({b"", b"identity"})


@dataclass(frozen=True, slots=True)
class Route:
    """What every request on one path with one set of headers sends the same, through one
    httpx client (`owner`: an async one belongs to one event loop, and so does its pool)."""

    owner: httpx.Client | httpx.AsyncClient
    # httpcore's ConnectionPool or AsyncConnectionPool; None where httpx's layers do something
    # for these requests: hooks, auth, cookies to send, or a transport not httpx's own (mounts,
    # proxies, a user's).
    pool: Any
    url: httpcore.URL
    headers: list[tuple[bytes, bytes]]
    extensions: dict[str, Any]


def route(client: httpx.Client | httpx.AsyncClient, template: httpx.Request) -> Route:
    """Where `template`'s requests go through `client`."""
    transport: Any = client._transport_for_url(template.url)
    hooks = client.event_hooks
    # httpx turns a URL's user:password into Basic auth (in place of the SDK's Bearer).
    auth = client.auth is not None or bool(template.url.userinfo)
    layered = hooks["request"] or hooks["response"] or auth or client.cookies
    own = type(transport) in (httpx.HTTPTransport, httpx.AsyncHTTPTransport)
    url = template.url
    return Route(
        owner=client,
        pool=transport._pool if own and not layered else None,
        url=httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        ),
        headers=[(name, value) for name, value in template.headers.raw],
        extensions=dict(template.extensions),
    )


def _shipped(function: object, module: types.ModuleType) -> bool:
    """httpx's own function, not one wrapped in its place (functools.wraps, wrapt)."""
    code = getattr(function, "__code__", None)
    return (
        type(function) is types.FunctionType
        and not hasattr(function, "__wrapped__")
        and code is not None
        and code.co_filename == module.__file__
    )


def usable(asynchronous: bool) -> bool:
    """False where something listens on httpx's path: its request log (INFO), or a recorder
    or an instrumentation patched in (vcrpy replaces the transports' `handle_request`,
    OpenTelemetry and test spies wrap `send`), which would see nothing sent past it."""
    if _HTTPX_LOG.isEnabledFor(logging.INFO):
        return False
    if asynchronous:
        client, transport = httpx.AsyncClient, httpx.AsyncHTTPTransport.handle_async_request
    else:
        client, transport = httpx.Client, httpx.HTTPTransport.handle_request  # type: ignore[assignment]
    return (
        _shipped(client.send, _client_module)
        and _shipped(client._send_single_request, _client_module)
        and _shipped(transport, _transports)
    )


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def plain(self) -> bool:
        """A 2xx answer with nothing for httpx's layers: neither encoded nor setting cookies."""
        if not 200 <= self.status < 300:
            return False
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"set-cookie":
                return False
            if lowered == b"content-encoding" and value.strip().lower() not in _PLAIN:
                return False
        return True

    def response(self, request: httpx.Request) -> httpx.Response:
        """As httpx would hand it back: decoded, with its request (for errors and cookies)."""
        response = httpx.Response(
            self.status, headers=self.headers, stream=httpx.ByteStream(self.body), request=request
        )
        response.read()
        return response


def _request(route: Route, content: bytes) -> httpcore.Request:
    length = (b"Content-Length", str(len(content)).encode())
    return httpcore.Request(
        b"POST", route.url, headers=[*route.headers, length], content=content,
        extensions=route.extensions,
    )  # fmt: skip


def send(route: Route, content: bytes) -> Answer:
    """Sends and reads the whole answer; raises httpx's errors."""
    with _mapped_errors():
        response = route.pool.handle_request(_request(route, content))
        try:
            body = response.read()
        finally:
            response.close()
    return Answer(response.status, response.headers, body)


async def asend(route: Route, content: bytes) -> Answer:
    with _mapped_errors():
        response = await route.pool.handle_async_request(_request(route, content))
        try:
            body = await response.aread()
        finally:
            await response.aclose()
    return Answer(response.status, response.headers, body)
