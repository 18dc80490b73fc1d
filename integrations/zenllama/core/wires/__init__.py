"""The wire dialects: one request builder, answer parser and stream parser per API.

`wire_for` picks the dialect: the `api` setting if given, else the backend profile's rule for
the model (zen: claude-* on Messages, gpt-* on Responses, the rest on chat completions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import errors
from ..backends import APIS, BackendProfile
from ..responses import StreamParser, parse_chat_response
from ..results import ChatResult, StreamDelta
from . import chat, messages, responses_api


class StreamParsing(Protocol):
    def feed(self, line: str) -> StreamDelta | None: ...
    def finish(self) -> StreamDelta: ...


@dataclass(frozen=True)
class Wire:
    api: str
    path: str
    build: Callable[..., dict[str, Any]]
    # (answer, backend, reasoning_open): reasoning_open matters where reasoning comes inline.
    parse: Callable[[Any, str, bool], ChatResult]
    stream_parser: Callable[[str, bool], StreamParsing]
    headers: Mapping[str, str] = field(default_factory=dict)
    # A header that carries the key besides `Authorization: Bearer` (the Anthropic SDK's
    # `x-api-key`; third-party zen clients send it on /messages).
    key_header: str | None = None


WIRES: dict[str, Wire] = {
    "chat": Wire("chat", chat.PATH, chat.build_body, parse_chat_response, StreamParser),
    "messages": Wire(
        "messages",
        messages.PATH,
        messages.build_messages_body,
        messages.parse_messages_response,
        messages.MessagesStreamParser,
        messages.HEADERS,
        "x-api-key",
    ),
    "responses": Wire(
        "responses",
        responses_api.PATH,
        responses_api.build_responses_body,
        responses_api.parse_responses_response,
        responses_api.ResponsesStreamParser,
    ),
}
assert set(WIRES) == set(APIS)

_FORMAT_NAMES = {"google": "Google's Gemini format"}


def wire_for(profile: BackendProfile, model: str | None, api: str | None = None) -> Wire:
    if api is not None:
        if api not in WIRES:
            raise ValueError(f"api={api!r} is not a wire zenllama speaks; use one of {list(APIS)}")
        return WIRES[api]
    served_on = profile.api_for(model)
    wire = WIRES.get(served_on)
    if wire is None:
        name = _FORMAT_NAMES.get(served_on, served_on)
        raise errors.ModelNotSupportedError(
            400,
            f"{profile.name} serves {model} only in {name}, which zenllama does not speak; "
            "the request was not sent",
            hint="pick a model of another family (claude-*, gpt-*, glm-*, kimi-*, …)",
        )
    return wire


__all__ = ["WIRES", "StreamParsing", "Wire", "wire_for"]
