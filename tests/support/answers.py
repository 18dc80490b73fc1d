"""The canned answers every offline test serves: the chat-completions builders (`answer`,
`chunk`, `stream_of`, `usage`) and llama-server's and zen's answers built with them.

The bodies are the wire shapes llama-server and zen answer (llama.cpp tools/server/README.md,
the OpenAI chat completions reference); the streams end in [DONE],
ready for `Reply(events=...)`.
"""

from __future__ import annotations

from typing import Any

from .fake_servers import sse

# llama-server's `timings` as it sent them in a real run (the reasoning server's second,
# cached turn in cassettes/llama-server/langchain/reasoning_invoke_and_stream.yaml).
TIMINGS = {
    "cache_n": 21,
    "prompt_n": 5,
    "prompt_ms": 33.825,
    "prompt_per_token_ms": 6.765000000000001,
    "prompt_per_second": 147.81966001478196,
    "predicted_n": 28,
    "predicted_ms": 626.288,
    "predicted_per_token_ms": 23.195851851851852,
    "predicted_per_second": 43.111156528625806,
}


def usage(
    prompt: int, completion: int, *, cached: int | None = None, reasoning: int | None = None
) -> dict[str, Any]:
    """OpenAI-style usage; the details only where given."""
    counts: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        counts["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        counts["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return counts


USAGE = usage(25, 30, cached=3, reasoning=12)


def answer(
    message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gemma.gguf",
        "choices": [
            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}
        ],
        "usage": usage or USAGE,
        **extra,
    }


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "finish_reason": finish, "delta": delta}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gemma.gguf",
        "choices": choices,
        **extra,
    }


def stream_of(
    *deltas: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None, **extra: Any
) -> list[Any]:
    """llama-server's order: deltas, an empty delta with finish_reason, usage (+timings), [DONE]."""
    return sse(
        *(chunk(d) for d in deltas),
        chunk({}, finish),
        chunk(None, usage=usage or USAGE, **extra),
    )


LLAMA_PROPS = {
    "default_generation_settings": {"n_ctx": 8192},
    "n_ctx": 8192,
    "total_slots": 2,
    "chat_template": "…",
}

# llama-server, Qwen3 template, non-streaming: reasoning_content, cached_tokens, timings.
REASONING_ANSWER = answer(
    {"content": "Hello there!", "reasoning_content": "The user greets me.\n"},
    usage=usage(25, 30, cached=5),
    created=1795547803,
    timings=TIMINGS,
)

# zen GLM 4.7: reasoning tokens in completion_tokens_details.
ZEN_ANSWER = answer(
    {"content": "4", "reasoning_content": "2+2 is 4."},
    usage=usage(12, 9, cached=8, reasoning=6),
    id="chatcmpl-zen",
    model="glm-4.7",
)


def tool_call_answer(
    arguments: str,
    *,
    name: str = "get_weather",
    call_id: str | None = "call_1",
    finish: str = "tool_calls",
) -> dict[str, Any]:
    """llama-server's tool-call answer."""
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id:
        call["id"] = call_id
    return answer(
        {"content": "", "tool_calls": [call]},
        finish=finish,
        usage=usage(40, 12),
        id="chatcmpl-2",
    )


# What every stream below ends with: usage (cached tokens) + timings, `"choices": []`.
STREAM_USAGE = usage(20, 7, cached=3)


def _stream(*deltas: dict[str, Any], finish: str = "stop") -> list[Any]:
    return stream_of(*deltas, finish=finish, usage=STREAM_USAGE, timings=TIMINGS)


def reasoning_stream() -> list[Any]:
    """llama-server streaming: reasoning deltas, text deltas, finish, usage + timings."""
    return sse(
        chunk({"role": "assistant", "content": None}),
        chunk({"reasoning_content": "The user "}),
        ": ping",
        chunk({"reasoning_content": "greets me."}),
        chunk({"content": "Hello"}),
        chunk({"content": " there!"}),
        chunk({}, "stop"),
        chunk(None, usage=STREAM_USAGE, timings=TIMINGS),
    )


def _reasoning(reasoning: str) -> list[dict[str, Any]]:
    return [{"reasoning_content": reasoning}] if reasoning else []


def tool_call_stream(
    pieces: list[str], *, name: str = "get_weather", reasoning: str = "", finish: str = "tool_calls"
) -> list[Any]:
    """OpenAI-style streamed call: id and name once, then the arguments in pieces."""
    head = {
        "index": 0,
        "id": "call_s1",
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    return _stream(
        *_reasoning(reasoning),
        {"tool_calls": [head]},
        *({"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces),
        finish=finish,
    )


def text_stream(*pieces: str, reasoning: str = "") -> list[Any]:
    return _stream(*_reasoning(reasoning), *({"content": piece} for piece in pieces))
