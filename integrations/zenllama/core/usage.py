"""Token usage in every shape the backends send it: chat completions, OpenAI Responses,
DeepSeek, Anthropic Messages."""

from __future__ import annotations

from typing import Any

from .errors import MalformedResponseError
from .json_fields import count_field, object_field
from .results import Usage


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedResponseError(f"{what} is {type(value).__name__}, not an object")
    return value


def parse_usage(raw: Any) -> Usage | None:
    if not raw:
        return None
    raw = _object(raw, "`usage`")
    # chat completions: *_tokens_details; Responses: input_/output_tokens_details.
    prompt_details = _object(
        raw.get("prompt_tokens_details") or raw.get("input_tokens_details"),
        "`usage.prompt_tokens_details`",
    )
    completion_details = _object(
        raw.get("completion_tokens_details") or raw.get("output_tokens_details"),
        "`usage.completion_tokens_details`",
    )
    input_tokens = _first_int(raw.get("prompt_tokens"), raw.get("input_tokens")) or 0
    output_tokens = _first_int(raw.get("completion_tokens"), raw.get("output_tokens")) or 0
    total = _first_int(raw.get("total_tokens"))
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total if total is not None else input_tokens + output_tokens,
        # OpenAI/llama-server/zen, DeepSeek, Anthropic-style gateways.
        cached_tokens=_first_int(
            prompt_details.get("cached_tokens"),
            raw.get("prompt_cache_hit_tokens"),
            raw.get("cache_read_input_tokens"),
        ),
        reasoning_tokens=_first_int(completion_details.get("reasoning_tokens")),
    )


def parse_messages_usage(raw: Any) -> Usage | None:
    """Anthropic Messages usage: cache reads and writes are counted apart from `input_tokens`
    there; here they are in it, as every other shape counts them."""
    raw = object_field(raw, "`usage`")
    if not raw:
        return None
    read = count_field(raw, "cache_read_input_tokens")
    created = count_field(raw, "cache_creation_input_tokens")
    input_tokens = (count_field(raw, "input_tokens") or 0) + (read or 0) + (created or 0)
    output_tokens = count_field(raw, "output_tokens") or 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        cached_tokens=read,
        cache_creation_tokens=created,
    )
