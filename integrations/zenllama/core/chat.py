"""The chat client both frameworks share: one backend, resolved once, whole or streamed answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from . import errors
from .backends import (
    OPENAI_COMPATIBLE,
    BackendProfile,
    looks_like_llama_server,
    profile_named,
)
from .models import ModelInfo, parse_models
from .request import Message, ToolSpec, build_chat_body
from .responses import StreamParser, parse_chat_response
from .results import ChatResult, StreamDelta
from .settings import Settings
from .transport import Transport, root_url

CHAT_PATH = "/chat/completions"


class ChatClient:
    """Talks to one backend. Framework classes hold one and translate what it returns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._profile: BackendProfile | None = (
            None if settings.backend == "auto" else profile_named(settings.backend)
        )
        self._props: dict[str, Any] | None = None
        self._transport: Transport | None = None

    # Backend ------------------------------------------------------------------------
    def _detect(self, props: Any) -> BackendProfile:
        if looks_like_llama_server(props):
            self._props = props
            return profile_named("llama-server")
        return OPENAI_COMPATIBLE

    @property
    def profile(self) -> BackendProfile:
        if self._profile is None:
            self._profile = self._detect(self._probe_props())
        return self._profile

    async def aprofile(self) -> BackendProfile:
        if self._profile is None:
            self._profile = self._detect(await self._aprobe_props())
        return self._profile

    def _probe_props(self) -> Any:
        try:
            return self._bare_transport().get(root_url(self.settings.base_url) + "/props")
        except errors.BackendHTTPError:
            return None

    async def _aprobe_props(self) -> Any:
        try:
            return await self._bare_transport().aget(root_url(self.settings.base_url) + "/props")
        except errors.BackendHTTPError:
            return None

    def _bare_transport(self) -> Transport:
        # Probing happens before the profile (and so its headers) is known.
        return Transport(self.settings)

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            profile = self.profile
            headers = {}
            if profile.session_header:
                headers[profile.session_header] = self.settings.session_id
            self._transport = Transport(self.settings, headers)
            self._transport.backend = profile.name
        return self._transport

    async def atransport(self) -> Transport:
        await self.aprofile()
        return self.transport

    # Chat ---------------------------------------------------------------------------
    def build_body(
        self, messages: Sequence[Message], *, stream: bool, **request: Any
    ) -> dict[str, Any]:
        """The chat body for this backend; every chat path builds one before sending anything."""
        profile = self.profile
        if profile.requires_api_key and self.settings.api_key is None:
            # Fail here, not with the backend's 401 after a round trip.
            raise errors.MissingAPIKeyError(profile.name, profile.api_key_env)
        return build_chat_body(profile, self.settings.model, messages, stream=stream, **request)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> ChatResult:
        body = self.build_body(
            messages, stream=False, tools=tools, tool_choice=tool_choice, **request
        )
        return parse_chat_response(self.transport.post(CHAT_PATH, body), self.profile.name)

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> ChatResult:
        transport = await self.atransport()
        body = self.build_body(
            messages, stream=False, tools=tools, tool_choice=tool_choice, **request
        )
        return parse_chat_response(await transport.apost(CHAT_PATH, body), self.profile.name)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        **request: Any,
    ) -> Iterator[StreamDelta]:
        """Yields deltas as they arrive; the last one carries the whole `ChatResult`."""
        body = self.build_body(
            messages, stream=True, tools=tools, tool_choice=tool_choice, **request
        )
        parser = StreamParser(self.profile.name)
        feed = parser.feed
        with self.transport.stream_lines(CHAT_PATH, body) as lines:
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
    ) -> AsyncIterator[StreamDelta]:
        transport = await self.atransport()
        body = self.build_body(
            messages, stream=True, tools=tools, tool_choice=tool_choice, **request
        )
        parser = StreamParser(self.profile.name)
        feed = parser.feed
        async with transport.astream_lines(CHAT_PATH, body) as lines:
            async for line in lines:
                delta = feed(line)
                if delta is not None:
                    yield delta
        yield parser.finish()

    # Server facts -------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        return parse_models(self.transport.get("/models"))

    async def alist_models(self) -> list[ModelInfo]:
        return parse_models(await (await self.atransport()).aget("/models"))

    def server_props(self) -> dict[str, Any] | None:
        """llama-server's `/props` (context size, template, slots); None for other backends."""
        if self.profile.name != "llama-server":
            return None
        if self._props is None:
            self._props = self.transport.get(root_url(self.settings.base_url) + "/props")
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
        if self._transport is not None:
            self._transport.close()
