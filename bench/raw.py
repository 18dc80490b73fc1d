"""The HTTP floor on each wire: the same request with plain httpx, the answer parsed with json.

What a client must do at the least (send the body, read the JSON, pick out the text), so what
any integration adds is measured above it. The paths and fields are the public API references':
chat completions https://platform.openai.com/docs/api-reference/chat, Anthropic Messages
https://docs.anthropic.com/en/api/messages, OpenAI Responses
https://platform.openai.com/docs/api-reference/responses.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

PROMPT = "Say hello."
Api = Literal["chat", "messages", "responses"]  # zenllama's `api=`


def _chat_text(answer: dict[str, Any]) -> str:
    return str(answer["choices"][0]["message"]["content"])


def _chat_delta(event: dict[str, Any]) -> str:
    choices = event.get("choices")
    return (choices[0]["delta"].get("content") or "") if choices else ""


def _messages_text(answer: dict[str, Any]) -> str:
    return "".join(b["text"] for b in answer["content"] if b["type"] == "text")


def _messages_delta(event: dict[str, Any]) -> str:
    if event.get("type") == "content_block_delta" and event["delta"]["type"] == "text_delta":
        return str(event["delta"]["text"])
    return ""


def _responses_text(answer: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in answer["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def _responses_delta(event: dict[str, Any]) -> str:
    return str(event["delta"]) if event.get("type") == "response.output_text.delta" else ""


@dataclass(frozen=True)
class Wire:
    title: str
    api: Api
    path: str
    text: Callable[[dict[str, Any]], str]
    delta: Callable[[dict[str, Any]], str]
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # fields the API requires

    def body(self, model: str, stream: bool) -> dict[str, Any]:
        message = {"role": "user", "content": PROMPT}
        key = "input" if self.api == "responses" else "messages"
        return {"model": model, key: [message], "stream": stream, **self.extra}


CHAT = Wire("chat completions", "chat", "/chat/completions", _chat_text, _chat_delta)
MESSAGES = Wire(
    "Anthropic Messages",
    "messages",
    "/messages",
    _messages_text,
    _messages_delta,
    headers={"x-api-key": "dummy", "anthropic-version": "2023-06-01"},
    extra={"max_tokens": 4096},
)
RESPONSES = Wire("OpenAI Responses", "responses", "/responses", _responses_text, _responses_delta)
WIRES = (CHAT, MESSAGES, RESPONSES)

HEADERS = {"Authorization": "Bearer dummy"}


def call(wire: Wire, base_url: str, model: str) -> Callable[[], str]:
    client = httpx.Client(timeout=60, headers={**HEADERS, **wire.headers})
    url, body = base_url + wire.path, wire.body(model, stream=False)

    def run() -> str:
        return wire.text(json.loads(client.post(url, json=body).content))

    return run


def acall(wire: Wire, base_url: str, model: str) -> Callable[[], Awaitable[str]]:
    """An async call; the client is made on first use, inside the loop that runs it."""
    clients: list[httpx.AsyncClient] = []
    url, body = base_url + wire.path, wire.body(model, stream=False)

    async def run() -> str:
        if not clients:
            clients.append(httpx.AsyncClient(timeout=60, headers={**HEADERS, **wire.headers}))
        answer = await clients[0].post(url, json=body)
        return wire.text(json.loads(answer.content))

    return run


def stream(wire: Wire, base_url: str, model: str) -> Callable[[], str]:
    """A streamed answer read line by line, each `data:` event parsed with json."""
    client = httpx.Client(timeout=60, headers={**HEADERS, **wire.headers})
    url, body = base_url + wire.path, wire.body(model, stream=True)

    def run() -> str:
        text = []
        with client.stream("POST", url, json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    text.append(wire.delta(json.loads(line[6:])))
        return "".join(text)

    return run


def gather(many: int, one: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[list[Any]]]:
    """`many` calls at once."""

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(one() for _ in range(many))))

    return run
