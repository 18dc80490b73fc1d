"""Prompt caching: the cache hints each wire has, where zenllama places its own, and why
`prompt_cache="auto"` is the default.

Wires:
- Anthropic Messages caches a prompt only up to `cache_control` breakpoints, in the prefix
  order tools -> system -> messages, at most 4 per request (a 5th is a 400):
  https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching. A caller's own
  `cache_control` always goes, unchanged; past 4 the oldest are dropped with a
  `CacheBreakpointsDroppedWarning` (the newest cover the longest prefix). With "auto",
  `mark_messages_body` adds breakpoints after the tools, after the system prompt and on the
  newest turn, each only once its prefix reaches the model family's minimum
  (`BackendProfile.cache_minimum`; below it Anthropic caches nothing and charges no write).
- OpenAI Responses caches by itself from 1024 tokens; `prompt_cache_key` (the conversation's
  session id) routes its requests to one cache, where the backend's API has the field.
- Chat completions: zen's session header, llama-server's `cache_prompt` (on by default) and its
  slot choice by longest shared prefix (`--slot-prompt-similarity`): nothing to add. Cache
  hints of the other wires never go there (`without_cache_control`).

Why "auto" is the default (Anthropic's prices relative to fresh input: a 5-minute write 1.25x,
a 1-hour write 2x, a read 0.1x): a prefix written once and read once costs 1.25 + 0.1 = 1.35
instead of 2, so a breakpoint pays from its first reuse within the TTL, and an agent loop
re-sends its prefix at every step. It loses 25% on a long prefix sent once and never again (a
one-shot long unique prompt): pass `prompt_cache="off"` for those. Two gates keep writes to
what can pay: the family's minimum, and the newest-turn breakpoint only once the conversation
has grown (has an assistant turn), since a first question is often the only one.

Counted without a request: `estimate_tokens`, a character count that errs high (a breakpoint
under the true minimum costs nothing; one not placed costs the saving).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import CacheBreakpointsDroppedWarning

CACHE_CONTROL = "cache_control"
EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
MAX_BREAKPOINTS = 4  # per request, Anthropic Messages
# Characters of JSON per token in the estimate: fewer than English text's ~4, so it errs high.
CHARS_PER_TOKEN = 3
# Blocks that take no breakpoint (the API refuses one on thinking blocks).
_UNMARKABLE = ("thinking", "redacted_thinking")


def estimate_tokens(data: Any) -> int:
    """A tokenizer-free bound on `data`'s tokens: its compact JSON's characters / 3."""
    if not data:
        return 0
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return -(-len(text) // CHARS_PER_TOKEN)


def mark_of(parts: Any) -> dict[str, Any] | None:
    """The last `cache_control` among neutral content parts (a list of dicts), if any."""
    if not isinstance(parts, list):
        return None
    marks = [p[CACHE_CONTROL] for p in parts if isinstance(p, dict) and p.get(CACHE_CONTROL)]
    return marks[-1] if marks else None


def tool_mark(tool: dict[str, Any]) -> dict[str, Any] | None:
    """A tool spec's `cache_control`: beside its OpenAI wrapping or inside the function."""
    function = tool.get("function")
    inner = function.get(CACHE_CONTROL) if isinstance(function, dict) else None
    return tool.get(CACHE_CONTROL) or inner


def without_cache_control(item: dict[str, Any]) -> dict[str, Any]:
    """A neutral message (its content parts, its tool calls) or tool spec (beside or inside
    its function) without `cache_control`, for wires that have none; the same object when
    there is none. Schemas and arguments are left alone: a parameter may bear the name."""
    out = item
    if CACHE_CONTROL in out:
        out = {k: v for k, v in out.items() if k != CACHE_CONTROL}
    for key in ("content", "tool_calls"):
        parts = out.get(key)
        if isinstance(parts, list) and any(_marked(p) for p in parts):
            out = {**out, key: [_unmarked(p) for p in parts]}
    function = out.get("function")
    if _marked(function):
        out = {**out, "function": _unmarked(function)}
    return out


def _marked(value: Any) -> bool:
    return isinstance(value, dict) and CACHE_CONTROL in value


def _unmarked(value: Any) -> Any:
    if not _marked(value):
        return value
    return {k: v for k, v in value.items() if k != CACHE_CONTROL}


# Anthropic Messages ------------------------------------------------------------------------
def _spots(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every block that may carry a breakpoint, in the cache's prefix order."""
    yield from body.get("tools") or ()
    system = body.get("system")
    if isinstance(system, list):
        yield from system
    for message in body.get("messages") or ():
        yield from message.get("content") or ()


def mark_messages_body(
    body: dict[str, Any], minimum: int | None, *, auto: bool
) -> CacheBreakpointsDroppedWarning | None:
    """Keeps a Messages body within 4 breakpoints (the oldest given ones dropped: the warning
    to give is returned) and, with `auto` and a known `minimum`, adds zenllama's own where a
    long stable prefix ends."""
    dropped_warning = None
    marked = [b for b in _spots(body) if b.get(CACHE_CONTROL)]
    if len(marked) > MAX_BREAKPOINTS:
        dropped = marked[: len(marked) - MAX_BREAKPOINTS]
        for block in dropped:
            del block[CACHE_CONTROL]
        dropped_warning = CacheBreakpointsDroppedWarning(
            f"{len(marked)} cache_control breakpoints were given and Anthropic Messages takes "
            f"at most {MAX_BREAKPOINTS} per request: the {len(dropped)} oldest were not sent "
            "(the newest cover the longest prefix); mark fewer blocks"
        )
        marked = marked[len(dropped) :]
    if not auto or minimum is None:
        return dropped_warning
    free = MAX_BREAKPOINTS - len(marked)
    tools = body.get("tools") or []
    system = body.get("system")
    messages = body.get("messages") or []
    after_tools = estimate_tokens(tools)
    after_system = after_tools + estimate_tokens(system)
    whole = after_system + estimate_tokens(messages)
    # The newest turn first: it covers the longest prefix, and the next step reads it.
    grown = any(m.get("role") == "assistant" for m in messages)
    newest = _newest_block(messages) if free and grown and whole >= minimum else None
    if newest is not None and not newest.get(CACHE_CONTROL):
        newest[CACHE_CONTROL] = dict(EPHEMERAL)
        free -= 1
    if free and system and after_system >= minimum:
        if isinstance(system, str):
            system = body["system"] = [{"type": "text", "text": system}]
        if not system[-1].get(CACHE_CONTROL):
            system[-1][CACHE_CONTROL] = dict(EPHEMERAL)
            free -= 1
    if free and tools and after_tools >= minimum and not tools[-1].get(CACHE_CONTROL):
        tools[-1][CACHE_CONTROL] = dict(EPHEMERAL)
    return dropped_warning


def _newest_block(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last block of the newest turn that takes a breakpoint (not thinking, not empty)."""
    if not messages:
        return None
    for block in reversed(messages[-1].get("content") or ()):
        kind = block.get("type")
        if kind in _UNMARKABLE or (kind == "text" and not block.get("text")):
            continue
        return block  # type: ignore[no-any-return]
    return None
