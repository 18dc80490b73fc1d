"""The wires: one module per API dialect, each with the same verbs.

- `PATH`: where the dialect is posted, under the base URL;
- `build(profile, model, request, *, stream) -> dict`: the body of a `ChatRequest`;
- `parse(answer, backend, reasoning_open) -> ChatResult`: a whole answer;
- `StreamParser(backend, reasoning_open)`: `feed(line)` per SSE line, `finish()` at the end.

chat_completions (every backend), anthropic_messages (zen's claude-*, llama-server's
/v1/messages), openai_responses (zen's gpt-*, llama-server's /v1/responses); body.py and
answer.py hold what their builders and parsers share. `wire_for` picks the dialect: the `api`
setting if given, else the backend profile's rule for the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import errors
from ..backends import APIS, BackendProfile
from ..request import ChatRequest
from ..results import ChatResult, StreamDelta
from . import anthropic_messages, chat_completions, openai_responses


class BuildBody(Protocol):
    def __call__(
        self, profile: BackendProfile, model: str | None, request: ChatRequest, *, stream: bool
    ) -> dict[str, Any]: ...


class StreamParsing(Protocol):
    def feed(self, line: str) -> StreamDelta | None: ...
    def finish(self) -> StreamDelta: ...


@dataclass(frozen=True)
class Wire:
    api: str
    path: str
    build: BuildBody
    # (answer, backend, reasoning_open): reasoning_open matters where reasoning comes inline.
    parse: Callable[[Any, str, bool], ChatResult]
    stream_parser: Callable[[str, bool], StreamParsing]
    headers: Mapping[str, str] = field(default_factory=dict)
    # A header that carries the key besides `Authorization: Bearer` (the Anthropic SDK's
    # `x-api-key`; third-party zen clients send it on /messages).
    key_header: str | None = None


WIRES: dict[str, Wire] = {
    "chat": Wire(
        "chat",
        chat_completions.PATH,
        chat_completions.build,
        chat_completions.parse,
        chat_completions.StreamParser,
    ),
    "messages": Wire(
        "messages",
        anthropic_messages.PATH,
        anthropic_messages.build,
        anthropic_messages.parse,
        anthropic_messages.StreamParser,
        anthropic_messages.HEADERS,
        "x-api-key",
    ),
    "responses": Wire(
        "responses",
        openai_responses.PATH,
        openai_responses.build,
        openai_responses.parse,
        openai_responses.StreamParser,
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
    found = WIRES.get(served_on)
    if found is None:
        name = _FORMAT_NAMES.get(served_on, served_on)
        raise errors.ModelNotSupportedError(
            400,
            f"{profile.name} serves {model} only in {name}, which zenllama does not speak; "
            "the request was not sent",
            hint="pick a model of another family (claude-*, gpt-*, glm-*, kimi-*, …)",
        )
    return found


__all__ = ["WIRES", "BuildBody", "StreamParsing", "Wire", "wire_for"]
