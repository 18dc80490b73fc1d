"""The neutral result every backend answer is turned into; frameworks only translate these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    # Anthropic's prompt-cache writes (cache_creation_input_tokens); counted in input_tokens.
    cache_creation_tokens: int | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class InvalidToolCall:
    """A call whose arguments did not parse; `arguments` is the raw text, `error` says why."""

    id: str
    name: str | None
    arguments: str
    error: str


@dataclass(frozen=True)
class ToolCallFragment:
    """One streamed piece of a tool call; pieces with the same `index` belong together."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class Route:
    """Which backend of a routed model served a call, and why (`core.routing`)."""

    backend: str
    reason: str
    # Served by another backend than the call before (or, on a first call, not the first one).
    switched: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"backend": self.backend, "reason": self.reason}


@dataclass
class ChatResult:
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    backend: str = ""
    # llama.cpp `timings`, kept whole.
    timings: dict[str, Any] | None = None
    # Set by a routed client only.
    route: Route | None = None
    # The wire's own reasoning items, to go back unchanged with this turn: Anthropic
    # `thinking` (with its `signature`) and `redacted_thinking` blocks, Responses `reasoning`
    # items (with `encrypted_content`). Empty on chat completions.
    reasoning_blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class StreamDelta:
    """What one stream event adds. The last delta of a stream carries `result`, the whole answer."""

    text: str = ""
    reasoning: str = ""
    tool_call_fragments: list[ToolCallFragment] = field(default_factory=list)
    result: ChatResult | None = None
