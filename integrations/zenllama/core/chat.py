"""The chat client both frameworks share: one backend, resolved once, whole or streamed answers."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import replace
from typing import Any

from . import errors
from .backends import BackendProfile
from .connection import Connection, forget_detected_backends
from .llama_cpp import LlamaCpp
from .models import ModelInfo
from .reasoning import template_opens_think
from .request import ChatRequest
from .results import ChatResult, StreamDelta
from .settings import Settings
from .transport import KEY_HEADER, Transport
from .wires import Wire, wire_for

__all__ = ["ChatClient", "forget_detected_backends"]


class ChatClient:
    """Talks to one backend. Framework classes hold one and translate what it returns."""

    def __init__(self, settings: Settings, *, connection: Connection | None = None) -> None:
        if connection is not None and connection.settings != settings:
            raise ValueError("the connection given was made with other settings")
        # Backend detection, /props, /models, /tokenize and the transport are the connection's.
        self.connection = connection or Connection(settings)
        # chat_template_kwargs (as JSON) -> whether llama-server's prompt ends in an open <think>
        self._opens_think: dict[str, bool] = {}

    @property
    def settings(self) -> Settings:
        return self.connection.settings

    # Backend ------------------------------------------------------------------------
    @property
    def profile(self) -> BackendProfile:
        return self.connection.profile

    async def aprofile(self) -> BackendProfile:
        return await self.connection.aprofile()

    @property
    def transport(self) -> Transport:
        """The backend's transport, once the backend is known (its headers depend on it)."""
        return self.connection.transport

    async def atransport(self) -> Transport:
        return await self.connection.atransport()

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
        if request.session_id is None:  # the conversation's cache key: zen's header's id
            request = replace(request, session_id=self.settings.session_id)
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
        props = self.connection.known_props  # never fetched for this: no extra round trip
        if props is None or not self.profile.props_describe_model:
            return False
        kwargs = body.get("chat_template_kwargs") or {}
        key = json.dumps(kwargs, sort_keys=True) if kwargs else ""
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
            extras = self.__dict__.setdefault("_llama_cpp", LlamaCpp(self.connection))
        return extras  # type: ignore[no-any-return]

    def list_models(self) -> list[ModelInfo]:
        """The served models, each with the API it is served on (`ModelInfo.api`)."""
        return self.connection.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        return await self.connection.alist_models()

    def server_props(self) -> dict[str, Any] | None:
        """llama-server's `/props` (context size, template, slots); None for other backends."""
        return self.connection.server_props()

    def context_window(self) -> int | None:
        return self.connection.context_window()

    def close(self) -> None:
        """Lets go of this object's hold on the shared HTTP clients; they and their pools stay
        open for the process (other objects with the same settings use them; see transport)."""
        self.connection.close()

    async def aclose(self) -> None:
        await self.connection.aclose()
