"""How many tokens a chat request's prompt takes, counted by llama-server's own template and
tokenizer, and a free upper bound that spares asking when the prompt clearly fits."""

from __future__ import annotations

import json
from typing import Any

from . import errors
from .connection import Connection
from .llama_server_errors import not_served
from .wires.chat_completions import PATH as CHAT_PATH

# llama-server's count of a chat request's prompt (newer builds; older ones 404).
INPUT_TOKENS_PATH = CHAT_PATH + "/input_tokens"

# Tokens a chat template adds around the messages (role markers, a tools preamble) at most:
# a whole budget plus some per message. Only used for the "clearly fits" shortcut.
TEMPLATE_TOKENS = 256
TEMPLATE_TOKENS_PER_MESSAGE = 16


def token_bound(body: dict[str, Any]) -> int:
    """An upper bound on the prompt's tokens, without the server.

    Every text token spans at least one byte, so the JSON of the messages (quotes and escapes
    only add bytes) bounds their tokens; templates render tool specs indented, hence twice theirs.
    """
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    size = len(json.dumps(messages, ensure_ascii=False).encode())
    if tools:
        size += 2 * len(json.dumps(tools, ensure_ascii=False).encode())
    return size + TEMPLATE_TOKENS + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)


def _template_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("stream", "stream_options")}


def _prompt(answer: Any) -> str:
    prompt = answer.get("prompt") if isinstance(answer, dict) else None
    if not isinstance(prompt, str):
        raise ValueError(f"llama-server /apply-template answered without a prompt: {answer!r}")
    return prompt


def _input_tokens(answer: Any) -> int:
    count = answer.get("input_tokens") if isinstance(answer, dict) else None
    if not isinstance(count, int):
        raise ValueError(f"llama-server answered without input_tokens: {answer!r}")
    return count


def prompt_tokens(connection: Connection, body: dict[str, Any]) -> int:
    """The prompt's exact size on a llama-server: POST /chat/completions/input_tokens (one round
    trip, the server's own template and tokenizer), or on servers without it /apply-template
    then /tokenize."""
    transport = connection.transport
    body = _template_body(body)
    try:
        return _input_tokens(transport.post(INPUT_TOKENS_PATH, body))
    except errors.BackendHTTPError as exc:
        if not not_served(exc.status):
            raise
    return template_tokens(connection, body)


def template_tokens(connection: Connection, body: dict[str, Any]) -> int:
    """The same count on servers without input_tokens: /apply-template, then /tokenize."""
    answer = connection.transport.post(connection.url("/apply-template"), _template_body(body))
    # The flags llama-server tokenizes a chat prompt with, so the count is the one it will use.
    return len(connection.tokenize(_prompt(answer), add_special=True, parse_special=True))


async def aprompt_tokens(connection: Connection, body: dict[str, Any]) -> int:
    transport = await connection.atransport()
    body = _template_body(body)
    try:
        return _input_tokens(await transport.apost(INPUT_TOKENS_PATH, body))
    except errors.BackendHTTPError as exc:
        if not not_served(exc.status):
            raise
    prompt = _prompt(await transport.apost(connection.url("/apply-template"), body))
    return len(await connection.atokenize(prompt, add_special=True, parse_special=True))
