"""The chat client both frameworks share: one backend, resolved once, whole or streamed answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import replace
from typing import Any

from . import errors
from .backends import (
    OPENAI_COMPATIBLE,
    BackendProfile,
    looks_like_llama_server,
    profile_named,
)
from .llama_cpp import LlamaCpp
from .models import ModelInfo, parse_models
from .reasoning import template_opens_think
from .request import ChatRequest
from .results import ChatResult, StreamDelta
from .settings import Settings
from .transport import KEY_HEADER, Transport, root_url
from .wires import Wire, wire_for

# Which backend serves a URL is found once per process: by a probe of llama-server's /props,
# per (base URL, whether a key is sent), whatever the number of objects, threads and loops.
# The props are kept with the profile: every later client reads its template from them.
_DetectionKey = tuple[str, bool]
_detected: dict[_DetectionKey, tuple[BackendProfile, Any]] = {}
_probe_locks: dict[_DetectionKey, threading.Lock] = {}
_guard = threading.Lock()


def _probe_lock(key: _DetectionKey) -> threading.Lock:
    with _guard:
        return _probe_locks.setdefault(key, threading.Lock())


def forget_detected_backends(base_url: str | None = None) -> None:
    """Probes `base_url` (default: every URL) again from now on: the server there was replaced,
    or was probed while it could not say what it is (routing, tests)."""
    with _guard:
        for key in [k for k in _detected if base_url is None or k[0] == base_url]:
            del _detected[key]


class ChatClient:
    """Talks to one backend. Framework classes hold one and translate what it returns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._props: dict[str, Any] | None = None
        # chat_template_kwargs (as JSON) -> whether llama-server's prompt ends in an open <think>
        self._opens_think: dict[str, bool] = {}
        self._transport = Transport(settings)
        self._profile: BackendProfile | None = None
        if settings.backend != "auto":
            self._adopt_profile(profile_named(settings.backend))

    def _adopt_profile(self, profile: BackendProfile) -> None:
        self._transport.backend = profile.name
        if profile.session_header:
            self._transport.request_headers[profile.session_header] = self.settings.session_id
        self._profile = profile  # last: another thread may read it and send at once

    # Backend ------------------------------------------------------------------------
    @property
    def profile(self) -> BackendProfile:
        return self._profile or self._resolve()

    async def aprofile(self) -> BackendProfile:
        # The probe is a blocking call, made once per URL per process: off the event loop.
        if self._profile is not None:
            return self._profile
        return await asyncio.to_thread(self._resolve)

    def _resolve(self) -> BackendProfile:
        has_key = self.settings.api_key is not None or "authorization" in map(
            str.lower, self.settings.default_headers
        )
        key = (self.settings.base_url, has_key)
        with _probe_lock(key):
            found = _detected.get(key)
            if found is None:
                found = _detected[key] = self._detect(self._probe_props())
        profile, props = found
        if props is not None and self._props is None:
            self._props = props
        self._adopt_profile(profile)
        return profile

    @staticmethod
    def _detect(props: Any) -> tuple[BackendProfile, Any]:
        if looks_like_llama_server(props):
            return profile_named("llama-server"), props
        return OPENAI_COMPATIBLE, None

    def _probe_props(self) -> Any:
        """/props with the object's own timeout and retries; None where the server has none.

        Nothing answering, a timeout or a loading server is an error (the call could not
        have gone through either), and nothing is remembered.
        """
        try:
            return self._transport.get(self._props_url)
        except errors.ServerLoadingError:
            raise
        except (errors.BackendHTTPError, errors.MalformedResponseError):
            return None

    @property
    def _props_url(self) -> str:
        return root_url(self.settings.base_url) + "/props"

    @property
    def transport(self) -> Transport:
        """The backend's transport, once the backend is known (its headers depend on it)."""
        self.profile  # noqa: B018 - resolves the backend first
        return self._transport

    async def atransport(self) -> Transport:
        await self.aprofile()
        return self._transport

    # Chat ---------------------------------------------------------------------------
    def _prepare(self, request: ChatRequest, *, stream: bool) -> tuple[Wire, dict[str, Any]]:
        """The call's wire, chosen once (`api` if set, else the backend's rule for the model:
        zen's claude-* Messages, gpt-* Responses, the rest chat completions), and its body."""
        profile = self.profile
        if profile.requires_api_key and self.settings.api_key is None:
            # Fail here, not with the backend's 401 after a round trip.
            raise errors.MissingAPIKeyError(profile.name, profile.api_key_env)
        # A model named for this call decides the backend's rules too.
        model = request.model or self.settings.model
        wire = wire_for(profile, model, request.api)
        return wire, wire.build(profile, model, request, stream=stream)

    def build_body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """The request body for this backend and model, in its wire's dialect; every chat
        path builds one before sending anything."""
        return self._prepare(request, stream=stream)[1]

    def _headers_of(self, wire: Wire) -> Mapping[str, str]:
        # The header's name only: the shared client adds its key when it sends the request.
        if wire.key_header is None or self.settings.api_key is None:
            return wire.headers
        return {**wire.headers, KEY_HEADER: wire.key_header}

    def complete(self, request: ChatRequest) -> ChatResult:
        wire, body = self._prepare(request, stream=False)
        opened = self._reasoning_open(body, request.reasoning_open)
        answer = self.transport.post(wire.path, body, self._headers_of(wire))
        return wire.parse(answer, self.profile.name, opened)

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        transport = await self.atransport()
        wire, body = self._prepare(request, stream=False)
        opened = self._reasoning_open(body, request.reasoning_open)
        answer = await transport.apost(wire.path, body, self._headers_of(wire))
        return wire.parse(answer, self.profile.name, opened)

    def stream(self, request: ChatRequest) -> Iterator[StreamDelta]:
        """Yields deltas as they arrive; the last one carries the whole `ChatResult`."""
        wire, body = self._prepare(request, stream=True)
        opened = self._reasoning_open(body, request.reasoning_open)
        parser = wire.stream_parser(self.profile.name, opened)
        feed = parser.feed
        with self.transport.stream_lines(wire.path, body, self._headers_of(wire)) as lines:
            for line in lines:
                delta = feed(line)
                if delta is not None:
                    yield delta
        yield parser.finish()

    async def astream(self, request: ChatRequest) -> AsyncGenerator[StreamDelta, None]:
        transport = await self.atransport()
        wire, body = self._prepare(request, stream=True)
        opened = self._reasoning_open(body, request.reasoning_open)
        parser = wire.stream_parser(self.profile.name, opened)
        feed = parser.feed
        async with transport.astream_lines(wire.path, body, self._headers_of(wire)) as lines:
            async for line in lines:
                delta = feed(line)
                if delta is not None:
                    yield delta
        yield parser.finish()

    # Inline reasoning whose <think> the template opened ------------------------------
    def _reasoning_open(self, body: dict[str, Any], setting: bool | None) -> bool:
        """The setting, else (llama-server) its template, from the props the probe read."""
        if setting is not None:
            return setting
        props = self._props  # never fetched for this: no extra round trip
        if props is None or self.profile.name != "llama-server":
            return False
        kwargs = body.get("chat_template_kwargs") or {}
        key = json.dumps(kwargs, sort_keys=True)
        opened = self._opens_think.get(key)
        if opened is None:
            opened = self._opens_think[key] = template_opens_think(
                props.get("chat_template"), kwargs
            )
        return opened

    # Server facts -------------------------------------------------------------------
    @property
    def llama_cpp(self) -> LlamaCpp:
        """llama-server's own endpoints: tokens, templates, infill, slots, router models."""
        extras = self.__dict__.get("_llama_cpp")
        if extras is None:  # setdefault: two threads racing here share one (one token cache)
            extras = self.__dict__.setdefault("_llama_cpp", LlamaCpp(self))
        return extras  # type: ignore[no-any-return]

    def list_models(self) -> list[ModelInfo]:
        """The served models, each with the API it is served on (`ModelInfo.api`)."""
        return self._with_apis(parse_models(self.transport.get("/models")))

    async def alist_models(self) -> list[ModelInfo]:
        return self._with_apis(parse_models(await (await self.atransport()).aget("/models")))

    def _with_apis(self, models: list[ModelInfo]) -> list[ModelInfo]:
        api_for = self.profile.api_for
        return [replace(m, api=api_for(m.id)) for m in models]

    def server_props(self) -> dict[str, Any] | None:
        """llama-server's `/props` (context size, template, slots); None for other backends."""
        if self.profile.name != "llama-server":
            return None
        if self._props is None:
            self._props = self.transport.get(self._props_url)
        return self._props

    def context_window(self) -> int | None:
        model = (self.settings.model or "").lower()
        known = self.profile.context_windows.get(model)
        if known:
            return known
        props = self.server_props() or {}
        n_ctx = props.get("n_ctx") or (props.get("default_generation_settings") or {}).get("n_ctx")
        return int(n_ctx) if n_ctx else None

    def close(self) -> None:
        """Lets go of this object's hold on the shared HTTP clients; they and their pools stay
        open for the process (other objects with the same settings use them; see transport)."""
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()
