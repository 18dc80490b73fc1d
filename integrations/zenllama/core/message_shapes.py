"""The neutral message shapes: OpenAI chat-completions messages, the one form the core takes.

The framework layers build their messages with these (tool calls, image parts, the reasoning
fields of an assistant turn, response formats, usage as OpenAI reports it); every wire under
`wires/` reads this same shape and translates it into its own dialect. Not a wire itself, so it
stands beside `wires/`, below it: the layers need it without any wire, and the wires import it.
"""

from __future__ import annotations

import json
from typing import Any

from .results import Usage

# On an assistant message sent back: the turn's reasoning (the backend's profile keeps it or not).
REASONING_FIELD = "reasoning_content"
# On an assistant message sent back: the turn's own reasoning items (`ChatResult.reasoning_blocks`:
# Anthropic thinking blocks with their signature, Responses reasoning items), passed back
# unchanged by the wire that made them.
REASONING_BLOCKS_FIELD = "reasoning_blocks"


def tool_call(call_id: str | None, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {
            "name": name,
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


def image_part(url: str, detail: str | None = None) -> dict[str, Any]:
    image_url = {"url": url, **({"detail": detail} if detail else {})}
    return {"type": "image_url", "image_url": image_url}


def json_schema_format(schema: dict[str, Any], strict: bool | None) -> dict[str, Any]:
    """`response_format` asking for JSON that follows `schema` (llama-server: a grammar)."""
    spec: dict[str, Any] = {"name": schema.get("title", "output"), "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}


JSON_OBJECT_FORMAT: dict[str, Any] = {"type": "json_object"}


def usage_json(usage: Usage) -> dict[str, Any]:
    """Usage as OpenAI reports it, for tools that read that shape (LlamaIndex token counting)."""
    data: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        data["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    if usage.cache_creation_tokens is not None:
        # OpenAI's shape has no cache writes: Anthropic's name for them, beside its reads.
        data["cache_creation_input_tokens"] = usage.cache_creation_tokens
    if usage.reasoning_tokens is not None:
        data["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return data
