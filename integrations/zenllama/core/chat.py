"""The chat client both frameworks share: one backend, resolved once, whole or streamed answers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import errors
from .backends import (
    OPENAI_COMPATIBLE,
    BackendProfile,
    looks_like_llama_server,
    profile_named,
)
from .models import ModelInfo, parse_models
from .request import Message, ToolSpec
from .results import ChatResult, StreamDelta
from .settings import Settings
from .transport import Transport, root_url
from .wires import Wire, wire_for


class ChatClient:
    """Talks to one backend. Framework classes hold one and translate what it returns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._props: dict[str, Any] | None = None
        self._transport = Transport(settings)
        self._profile: BackendProfile | None = None
        if settings.backend != "auto":
            self._use(profile_named(settings.backend))

    def _use(self, profile: BackendProfile) -> None:
        self._profile = profile
        self._transport.backend = profile.name
        if profile.session_header:
            self._transport.request_headers[profile.session_header] = self.settings.session_id

    # Backend ------------------------------------------------------------------------
    def _detect(self, props: Any) -> BackendProfile:
        if looks_like_llama_server(props):
            self._props = props
            return profile_named("llama-server")
        return OPENAI_COMPATIBLE

    @property
    def profile(self) -> BackendProfile:
        if self._profile is None:
            self._use(self._detect(self._probe_props()))
        assert self._profile is not None
        return self._profile

    async def aprofile(self) -> BackendProfile:
        if self._profile is None:
            self._use(self._detect(await self._aprobe_props()))
        assert self._profile is not None
        return self._profile

    def _probe_props(self) -> Any:
        try:
            return self._transport.get(self._props_url, probe=True)
        except (errors.BackendHTTPError, errors.BackendTimeoutError):
            return None

    async def _aprobe_props(self) -> Any:
        try:
            return await self._transport.aget(self._props_url, probe=True)
        except (errors.BackendHTTPError, errors.BackendTimeoutError):
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
    def _model_of(self, request: Mapping[str, Any]) -> str | None:
        # A model named for this call (options["model"]) decides the backend's rules too.
        return (request.get("options") or {}).get("model") or self.settings.model

    def _wire_of(self, request: Mapping[str, Any]) -> Wire:
        """`api` if set, else the backend's rule for the model (zen: claude-* Messages,
        gpt-* Responses, the rest chat completions)."""
        return wire_for(self.profile, self._model_of(request), request.get("api"))

    def build_body(
        self, messages: Sequence[Message], *, stream: bool, **request: Any
    ) -> dict[str, Any]:
        """The request body for this backend and model, in its wire's dialect; every chat
        path builds one before sending anything."""
        profile = self.profile
        if profile.requires_api_key and self.settings.api_key is None:
            # Fail here, not with the backend's 401 after a round trip.
            raise errors.MissingAPIKeyError(profile.name, profile.api_key_env)
        wire = self._wire_of(request)
        request.pop("api", None)
        return wire.build(profile, self._model_of(request), messages, stream=stream, **request)

    def _headers_of(self, wire: Wire) -> Mapping[str, str]:
        # Built per request, never kept: the key must not sit in the client's state.
        if wire.key_header is None or self.settings.api_key is None:
            return wire.headers
        return {**wire.headers, wire.key_header: self.settings.api_key.get_secret_value()}

    def _prepare(
        self, messages: Sequence[Message], *, stream: bool, **request: Any
    ) -> tuple[Wire, dict[str, Any]]:
        return self._wire_of(request), self.build_body(messages, stream=stream, **request)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> ChatResult:
        wire, body = self._prepare(
            messages, stream=False, tools=tools, tool_choice=tool_choice, **request
        )
        answer = self.transport.post(wire.path, body, self._headers_of(wire))
        return wire.parse(answer, self.profile.name)

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> ChatResult:
        transport = await self.atransport()
        wire, body = self._prepare(
            messages, stream=False, tools=tools, tool_choice=tool_choice, **request
        )
        answer = await transport.apost(wire.path, body, self._headers_of(wire))
        return wire.parse(answer, self.profile.name)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> Iterator[StreamDelta]:
        """Yields deltas as they arrive; the last one carries the whole `ChatResult`."""
        wire, body = self._prepare(
            messages, stream=True, tools=tools, tool_choice=tool_choice, **request
        )
        parser = wire.stream_parser(self.profile.name)
        feed = parser.feed
        with self.transport.stream_lines(wire.path, body, self._headers_of(wire)) as lines:
            for line in lines:
                delta = feed(line)
                if delta is not None:
                    yield delta
        yield parser.finish()

    async def astream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> AsyncGenerator[StreamDelta, None]:
        transport = await self.atransport()
        wire, body = self._prepare(
            messages, stream=True, tools=tools, tool_choice=tool_choice, **request
        )
        parser = wire.stream_parser(self.profile.name)
        feed = parser.feed
        async with transport.astream_lines(wire.path, body, self._headers_of(wire)) as lines:
            async for line in lines:
                delta = feed(line)
                if delta is not None:
                    yield delta
        yield parser.finish()

    # Server facts -------------------------------------------------------------------
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
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()
