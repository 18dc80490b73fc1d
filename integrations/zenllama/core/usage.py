"""Token usage in every shape the backends send it."""

from __future__ import annotations

from typing import Any

from .results import Usage


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int):
            return value
    return None


def parse_usage(raw: dict[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    # chat completions: *_tokens_details; Responses: input_/output_tokens_details.
    prompt_details = raw.get("prompt_tokens_details") or raw.get("input_tokens_details") or {}
    completion_details = (
        raw.get("completion_tokens_details") or raw.get("output_tokens_details") or {}
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
