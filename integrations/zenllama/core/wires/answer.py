"""What the wires' answer parsers share: one accumulator of an answer's parts, error events,
SSE events, and the end of a stream that never said it finished.

Every parser (chat completions, Messages, Responses; whole or streamed) reads its dialect into
one `AnswerParts` (text, reasoning, tool calls, usage, finish reason, …), which makes the
`ChatResult` and the stream's last `StreamDelta` the same way for all of them. Parsers do no
I/O: lines and bodies in, results out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

from .. import errors
from ..json_fields import malformed_error
from ..results import ChatResult, StreamDelta, ToolCallFragment, Usage
from ..tool_calls import judge_calls
from ..transport import error_event

# What reading JSON of an unexpected shape raises (a list where an object belongs, a number
# where text does, nesting past Python's limit): always a MalformedResponseError outward.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError)

# A wire's whole-answer parser: (answer, backend, reasoning_open) -> result.
Parse = Callable[[Any, str, bool], ChatResult]


class AnswerParts:
    """One answer's parts as its wire's parser reads them, whole or streamed; `result()` makes
    the `ChatResult`. Tool calls are kept as (id, name, raw arguments) and judged once, by the
    one validity rule (`tool_calls.judge_calls`), when the result is made."""

    __slots__ = (
        "backend",
        "calls",
        "finish_reason",
        "id",
        "model",
        "reasoning",
        "reasoning_blocks",
        "text",
        "timings",
        "usage",
    )

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[tuple[str, str | None, Any]] = []
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.id: str | None = None
        # llama.cpp `timings`, kept whole.
        self.timings: dict[str, Any] | None = None
        # The wire's own reasoning items, to go back unchanged (Messages, Responses).
        self.reasoning_blocks: list[dict[str, Any]] = []

    @property
    def streamed(self) -> bool:
        """Whether any text, reasoning or tool call came yet."""
        return bool(self.text or self.reasoning or self.calls)

    def add(
        self, text: str = "", reasoning: str = "", fragments: list[ToolCallFragment] | None = None
    ) -> StreamDelta | None:
        """A stream's piece: kept for the whole result, and handed out (None when empty)."""
        if text:
            self.text.append(text)
        if reasoning:
            self.reasoning.append(reasoning)
        if not (text or reasoning or fragments):
            return None
        return StreamDelta(text, reasoning, fragments or [])

    def result(self) -> ChatResult:
        tool_calls, invalid = judge_calls(self.calls)
        return ChatResult(
            text="".join(self.text),
            reasoning="".join(self.reasoning),
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            usage=self.usage,
            finish_reason=self.finish_reason,
            model=self.model,
            id=self.id,
            backend=self.backend,
            timings=self.timings,
            reasoning_blocks=self.reasoning_blocks,
        )

    def last_delta(self, text: str = "", reasoning: str = "") -> StreamDelta:
        """A stream's last delta: its last pieces (held back until the end), and the result."""
        self.text.append(text)
        self.reasoning.append(reasoning)
        return StreamDelta(text, reasoning, [], self.result())


def raise_error(data: dict[str, Any], backend: str) -> NoReturn:
    """An error event (or body) of any wire: OpenAI's `{"error": {…}}`, zen's and Anthropic's
    `{"type": "error", "error": {…}}`, Responses' `{"type": "error", "code", "message"}`.
    Context overflow and overload are typed as in an HTTP error answer; the rest is a
    StreamError."""
    error = data.get("error")
    typed = error_event(error if isinstance(error, dict) else data, backend)
    if typed is not None:
        raise typed
    if isinstance(error, dict):
        message = error.get("message") or error.get("type") or error
    else:
        message = data.get("message") or error or data
    raise errors.StreamError(str(message), data)


def parse_whole(
    api: str, parse: Callable[[Any, str], ChatResult], data: Any, backend: str
) -> ChatResult:
    """`parse(data, backend)`, any shape error as a MalformedResponseError naming the wire."""
    try:
        return parse(data, backend)
    except errors.ZenLlamaError:
        raise
    except SHAPE_ERRORS as exc:
        raise malformed_error(api, exc) from exc


def sse_event(line: str, stray: list[str]) -> dict[str, Any] | None:
    """The JSON of one `data:` line; None for event names, comments, blank lines."""
    if not line.startswith("data:"):
        if line and not line.startswith((":", "event:", "id:", "retry:")):
            stray.append(line)  # not SSE at all: kept to say what came instead
        return None
    payload = line[5:].strip()
    if not payload or payload == "[DONE]":
        return None
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise errors.StreamError(f"malformed event {payload[:200]!r}") from exc
    if not isinstance(data, dict):
        raise errors.StreamError(f"unexpected event {payload[:200]!r}")
    return data


def whole_body(stray: list[str]) -> Any:
    """The JSON a server sent instead of a stream (it ignored `stream`, or failed): the lines
    that were not SSE, read as one body."""
    text = "\n".join(stray)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise errors.IncompleteStreamError(f"the server sent {text[:300]!r}") from None


def ended_early(
    stray: list[str], streamed: bool, parse: Parse, backend: str, reasoning_open: bool
) -> StreamDelta:
    """The end of a stream that never said it finished. Nothing streamed and a JSON body
    instead: the server ignored `stream` (or failed), and that body, read by the wire's own
    parser, is the answer, in one delta. Anything else is an IncompleteStreamError."""
    if streamed or not stray:
        raise errors.IncompleteStreamError()
    data = whole_body(stray)
    if type(data) is dict and data.get("error") is not None:
        raise_error(data, backend)
    result = parse(data, backend, reasoning_open)
    fragments = [
        ToolCallFragment(index, call.id, call.name, json.dumps(call.arguments))
        for index, call in enumerate(result.tool_calls)
    ]
    return StreamDelta(result.text, result.reasoning, fragments, result)


class StreamedCall:
    """A tool call being streamed: its place, id, name, and argument pieces so far."""

    __slots__ = ("arguments", "id", "index", "name")

    def __init__(self, index: int, call_id: str, name: str | None) -> None:
        self.index, self.id, self.name = index, call_id, name
        self.arguments: list[str] = []

    def entry(self) -> tuple[str, str | None, str]:
        return self.id, self.name, "".join(self.arguments)


class GuardedStreamParser:
    """A stream parser whose dialect is read by events of many kinds (Messages, Responses):
    subclasses write `_feed` / `_finish`; any answer, however wrong its shape, gives deltas or
    a typed error. `reasoning_open` (a template that opened <think>) concerns inline
    reasoning, which these wires never carry: theirs comes in blocks."""

    __slots__ = ()
    API = ""

    def feed(self, line: str) -> StreamDelta | None:
        try:
            return self._feed(line)
        except errors.ZenLlamaError:
            raise
        except SHAPE_ERRORS as exc:
            raise malformed_error(self.API, exc) from exc

    def finish(self) -> StreamDelta:
        try:
            return self._finish()
        except errors.ZenLlamaError:
            raise
        except SHAPE_ERRORS as exc:
            raise malformed_error(self.API, exc) from exc

    def _feed(self, line: str) -> StreamDelta | None:
        raise NotImplementedError

    def _finish(self) -> StreamDelta:
        raise NotImplementedError
