"""One long streamed answer through raw HTTP, the openai SDK, ChatOpenAI and ChatZenLlama.

Every client reads the same loopback stream (N_CHUNKS content deltas) and collects the text;
the cost per chunk is the best run's wall time / N_CHUNKS. The LangChain floor is a chat model
that yields minimal chunks (no HTTP): what `BaseChatModel.stream` itself costs per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from .loopback import (
    N_CHUNKS,
    N_REASONING_CHUNKS,
    PLAIN_MODEL,
    REASONING_MODEL,
    expected_text,
    token,
)
from .timing import Case, measure, print_table, verdict

MESSAGES: list[Any] = [{"role": "user", "content": "Say many words."}]
TARGET = 0.5  # ChatZenLlama <= 0.5x ChatOpenAI
ROUTED_TARGET = 1.05  # a routed ChatZenLlama costs <= 5% more per invoke


def raw_httpx(base_url: str, model: str) -> Callable[[], str]:
    client = httpx.Client(timeout=60)
    body = {"model": model, "messages": MESSAGES, "stream": True}

    def run() -> str:
        text = []
        with client.stream("POST", base_url + "/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choices = json.loads(line[6:])["choices"]
                    if choices and (content := choices[0]["delta"].get("content")):
                        text.append(content)
        return "".join(text)

    return run


def sdk_objects(base_url: str, model: str) -> Callable[[], str]:
    client = openai.OpenAI(base_url=base_url, api_key="dummy")

    def run() -> str:
        text = []
        for chunk in client.chat.completions.create(
            model=model,
            messages=MESSAGES,
            stream=True,
        ):
            if chunk.choices and (content := chunk.choices[0].delta.content):
                text.append(content)
        return "".join(text)

    return run


def sdk_lines(base_url: str, model: str) -> Callable[[], str]:
    client = openai.OpenAI(base_url=base_url, api_key="dummy")
    create = client.chat.completions.with_streaming_response.create

    def run() -> str:
        text = []
        with create(model=model, messages=MESSAGES, stream=True) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choices = json.loads(line[6:])["choices"]
                    if choices and (content := choices[0]["delta"].get("content")):
                        text.append(content)
        return "".join(text)

    return run


def langchain_stream(model: BaseChatModel) -> Callable[[], str]:
    def run() -> str:
        return "".join(str(chunk.content) for chunk in model.stream("Say many words."))

    return run


class FloorChatModel(BaseChatModel):
    """Yields N_CHUNKS minimal chunks: LangChain's own per-chunk cost, no HTTP, no parsing."""

    @property
    def _llm_type(self) -> str:
        return "bench-floor"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        raise NotImplementedError

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for i in range(N_CHUNKS):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token(i)))
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def invoke(model: BaseChatModel) -> Callable[[], str]:
    def run() -> str:
        return str(model.invoke(MESSAGES).content)

    return run


def zenllama_chat(base_url: str, model: str, **fields: Any) -> BaseChatModel | None:
    try:
        from zenllama.langchain import ChatZenLlama
    except ImportError as exc:
        print(f"  skipping ChatZenLlama: {exc}")
        return None
    return ChatZenLlama(base_url=base_url, model=model, api_key=SecretStr("dummy"), **fields)


def same_text(want: str) -> Callable[[Any], str | None]:
    def check(got: Any) -> str | None:
        return None if got == want else f"collected {len(got)} chars, expected {len(want)}"

    return check


def chat_openai(base_url: str, model: str) -> ChatOpenAI:
    return ChatOpenAI(model=model, base_url=base_url, api_key=SecretStr("dummy"))


def main(base_url: str, repeats: int) -> None:
    model = PLAIN_MODEL
    want = same_text(expected_text(model))
    print(f"\n== LangChain chat stream: {N_CHUNKS} chunks, µs per chunk ==")
    cases = [
        Case("raw", "httpx + json.loads per line", raw_httpx(base_url, model), N_CHUNKS, want),
        Case(
            "sdk-objects",
            "openai create(stream=True)",
            sdk_objects(base_url, model),
            N_CHUNKS,
            want,
        ),
        Case(
            "sdk-lines",
            "openai with_streaming_response + json.loads",
            sdk_lines(base_url, model),
            N_CHUNKS,
            want,
        ),
        Case(
            "floor",
            "BaseChatModel yielding minimal chunks, no HTTP",
            langchain_stream(FloorChatModel()),
            N_CHUNKS,
            same_text("".join(token(i) for i in range(N_CHUNKS))),
        ),
        Case(
            "ChatOpenAI",
            "langchain-openai .stream",
            langchain_stream(chat_openai(base_url, model)),
            N_CHUNKS,
            want,
        ),
    ]
    zen = zenllama_chat(base_url, model)
    if zen is not None:
        cases.append(
            Case("ChatZenLlama", "zenllama .stream", langchain_stream(zen), N_CHUNKS, want)
        )
    rows = measure(cases, repeats)
    print_table(rows, "chunk", ["raw", "ChatOpenAI"])
    verdict(rows, "ChatZenLlama", "ChatOpenAI", TARGET)

    # The same with reasoning deltas first: ChatOpenAI drops them, ChatZenLlama keeps them.
    model = REASONING_MODEL
    want = same_text(expected_text(model))
    print(f"\n-- {REASONING_MODEL}: {N_REASONING_CHUNKS} reasoning_content deltas first --")
    cases = [
        Case(
            "ChatOpenAI",
            "drops the reasoning",
            langchain_stream(chat_openai(base_url, model)),
            N_CHUNKS,
            want,
        ),
    ]
    zen = zenllama_chat(base_url, model)
    if zen is not None:
        cases.append(
            Case("ChatZenLlama", "keeps the reasoning", langchain_stream(zen), N_CHUNKS, want)
        )
    rows = measure(cases, repeats)
    print_table(rows, "chunk", ["ChatOpenAI"])
    verdict(rows, "ChatZenLlama", "ChatOpenAI", TARGET)

    # Routing's per-call cost: a routed model whose first backend takes every call (the usual
    # case: it is up and the prompt clearly fits) against the single-backend class.
    print("\n-- invoke: routed (local first, a fallback never needed) vs one backend, ms --")
    single = zenllama_chat(base_url, model)
    if single is None:
        return
    from zenllama.frameworks import Fallback

    routed = zenllama_chat(base_url, model, fallbacks=[Fallback(base_url=base_url, name="cloud")])
    assert routed is not None
    cases = [
        Case("ChatZenLlama", "one backend, invoke", invoke(single), 1, want),
        Case("routed", "ChatZenLlama with fallbacks, invoke", invoke(routed), 1, want),
    ]
    rows = measure(cases, repeats)
    print_table(rows, "call", ["ChatZenLlama"])
    verdict(rows, "routed", "ChatZenLlama", ROUTED_TARGET)
