"""How many tokens a chat request's prompt takes, counted by llama-server's own template and
tokenizer, and a free upper bound that spares asking when the prompt clearly fits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import errors
from .transport import root_url
from .wires.chat_completions import PATH as CHAT_PATH

if TYPE_CHECKING:
    from .chat import ChatClient

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


# The flags llama-server tokenizes a chat prompt with, so the count is the one it will use.
def _tokenize_body(prompt: str) -> dict[str, Any]:
    return {"content": prompt, "add_special": True, "parse_special": True}


def _count(answer: Any) -> int:
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise ValueError(f"llama-server /tokenize answered without tokens: {answer!r}")
    return len(tokens)


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


def _not_served(exc: errors.BackendHTTPError) -> bool:
    return exc.status in (404, 405, 501)


def prompt_tokens(client: ChatClient, body: dict[str, Any]) -> int:
    """The prompt's exact size on a llama-server: POST /chat/completions/input_tokens (one round
    trip, the server's own template and tokenizer), or on servers without it /apply-template
    then /tokenize."""
    transport = client.transport
    body = _template_body(body)
    try:
        return _input_tokens(transport.post(INPUT_TOKENS_PATH, body))
    except errors.BackendHTTPError as exc:
        if not _not_served(exc):
            raise
    return template_tokens(client, body)


def template_tokens(client: ChatClient, body: dict[str, Any]) -> int:
    """The same count on servers without input_tokens: /apply-template, then /tokenize."""
    transport = client.transport
    root = root_url(client.settings.base_url)
    prompt = _prompt(transport.post(root + "/apply-template", _template_body(body)))
    return _count(transport.post(root + "/tokenize", _tokenize_body(prompt)))


async def aprompt_tokens(client: ChatClient, body: dict[str, Any]) -> int:
    transport = await client.atransport()
    body = _template_body(body)
    try:
        return _input_tokens(await transport.apost(INPUT_TOKENS_PATH, body))
    except errors.BackendHTTPError as exc:
        if not _not_served(exc):
            raise
    root = root_url(client.settings.base_url)
    prompt = _prompt(await transport.apost(root + "/apply-template", body))
    return _count(await transport.apost(root + "/tokenize", _tokenize_body(prompt)))
