"""What the Messages and Responses dialects share: neutral messages in, SSE events out."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import errors, responses
from ..backends import BackendProfile
from ..request import Message, ToolSpec, deep_merge, normalize_tool_choice
from ..results import StreamDelta
from ..wire import REASONING_BLOCKS_FIELD, REASONING_FIELD

# What reading JSON of an unexpected shape raises (a list where an object belongs, a number
# where text does, nesting past Python's limit): always a MalformedResponseError outward.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError)


# Typed reads of the fields the results carry: JSON of another type is named, never turned
# into text or passed on to a framework that would choke on it.
def text_field(value: Any, what: str) -> str:
    """Text where the wire puts text; null as none."""
    if value is None:
        return ""
    if type(value) is not str:
        responses.malformed(what, value, "text")
    return value


def object_field(value: Any, what: str) -> dict[str, Any]:
    """An object; null as an empty one."""
    if value is None:
        return {}
    if type(value) is not dict:
        responses.malformed(what, value, "an object")
    return value


def list_field(value: Any, what: str) -> list[Any]:
    """A list; null as an empty one."""
    if value is None:
        return []
    if type(value) is not list:
        responses.malformed(what, value, "a list")
    return value


def index_field(value: Any, what: str) -> int:
    if type(value) is not int:
        responses.malformed(what, value, "an integer")
    return value


def malformed(api: str, exc: Exception) -> errors.MalformedResponseError:
    return errors.MalformedResponseError(
        f"the {api} answer has an unexpected shape "
        f"({type(exc).__name__}: {errors.shorten(str(exc))})"
    )


def parse_whole(api: str, parse: Callable[[Any, str], Any], data: Any, backend: str) -> Any:
    """`parse(data, backend)`, any shape error as a MalformedResponseError naming the wire."""
    try:
        return parse(data, backend)
    except errors.ZenLlamaError:
        raise
    except SHAPE_ERRORS as exc:
        raise malformed(api, exc) from exc


class StreamedCall:
    """A tool call being streamed: its place, id, name, and argument pieces so far."""

    __slots__ = ("arguments", "id", "index", "name")

    def __init__(self, index: int, call_id: str, name: str | None) -> None:
        self.index, self.id, self.name = index, call_id, name
        self.arguments: list[str] = []


class GuardedStreamParser:
    """A wire's stream parser: subclasses write `_feed` / `_finish`; any answer, however wrong
    its shape, gives deltas or a typed error. `reasoning_open` (a template that opened <think>)
    concerns inline reasoning, which these wires never carry: theirs comes in blocks."""

    __slots__ = ()
    API = ""

    def feed(self, line: str) -> StreamDelta | None:
        try:
            return self._feed(line)
        except errors.ZenLlamaError:
            raise
        except SHAPE_ERRORS as exc:
            raise malformed(self.API, exc) from exc

    def finish(self) -> StreamDelta:
        try:
            return self._finish()
        except errors.ZenLlamaError:
            raise
        except SHAPE_ERRORS as exc:
            raise malformed(self.API, exc) from exc

    def _feed(self, line: str) -> StreamDelta | None:
        raise NotImplementedError

    def _finish(self) -> StreamDelta:
        raise NotImplementedError


# Neutral tool_choice after the profile's rules: None, "auto", "none", "required", or the
# OpenAI object naming one function.
ToolChoice = str | dict[str, Any] | None


def content_text(content: Any) -> str:
    """Text of neutral content: a string, None, or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))


def system_prompt(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """System and developer messages apart (both dialects carry them outside the turns)."""
    system = [content_text(m.get("content")) for m in messages if _is_system(m)]
    return "\n\n".join(s for s in system if s), [m for m in messages if not _is_system(m)]


def _is_system(message: Message) -> bool:
    return message.get("role") in ("system", "developer")


def own_reasoning(message: Message, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """This wire's reasoning items of an assistant turn, unchanged."""
    blocks = message.get(REASONING_BLOCKS_FIELD) or ()
    return [b for b in blocks if isinstance(b, dict) and b.get("type") in kinds]


def unsigned_reasoning(profile: BackendProfile, message: Message, own: list[Any]) -> str:
    """Reasoning text with no item of this wire (another model family wrote it): sent only
    where the backend takes it unsigned; a hosted API would refuse the request."""
    if own or not profile.accepts_unsigned_reasoning:
        return ""
    return content_text(message.get(REASONING_FIELD))


def tool_parts(
    profile: BackendProfile,
    model: str | None,
    tools: Sequence[ToolSpec],
    tool_choice: str | bool | Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], ToolChoice]:
    """The functions to offer (name, description, parameters) and the neutral choice."""
    if not tools:
        if tool_choice not in (None, False, "auto", "none"):
            raise ValueError(
                f"tool_choice={tool_choice!r} needs tools: pass them along with the call"
            )
        return [], None
    sent, choice = normalize_tool_choice(profile, model, tools, tool_choice)
    return [dict(t.get("function", t)) for t in sent], choice


def choice_name(choice: ToolChoice) -> str | None:
    if isinstance(choice, dict):
        return str((choice.get("function") or choice).get("name"))
    return None


def unsupported(api: str, names: Sequence[str]) -> None:
    """Options the dialect has no field for are named, not silently sent or dropped."""
    if names:
        warnings.warn(
            f"{', '.join(sorted(names))} {'is' if len(names) == 1 else 'are'} not part of the "
            f"{api} API and {'was' if len(names) == 1 else 'were'} not sent; pass the backend's "
            "own field in extra_body if it takes one",
            errors.UnsupportedSettingWarning,
            stacklevel=6,
        )


def finish_body(body: dict[str, Any], extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    if extra_body:
        deep_merge(body, extra_body)
    return body


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


def whole_answer_text(stray: list[str]) -> Any:
    """A server that ignored `stream` (or failed) and sent one JSON body instead."""
    text = "\n".join(stray)
    try:
        return json.loads(text)
    except ValueError:
        raise errors.IncompleteStreamError(f"the server sent {text[:300]!r}") from None
