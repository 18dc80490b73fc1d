"""`zenllama demo`: a LangChain chat on the local default (or on BACKEND_URL when set).

It shows what zenllama keeps that other clients drop: the streamed answer, the reasoning
apart from it, a tool call the model picks and its round trip, a second turn read from the
prompt cache, and usage with cache reads and llama.cpp timings (tokens/s).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer
from zenllama.local.steering import (
    SAMPLING,
    THINK_SENTENCE_GRAMMAR,
    WEATHER_QUESTION,
)


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"rainy, 12 C in {city}"


@tool
def get_time(city: str) -> str:
    """Get the local time in a city."""
    return f"14:05 in {city}"


TOOLS = {t.name: t for t in (get_weather, get_time)}


def _stream(llm: ChatZenLlama, messages: list[BaseMessage] | str) -> AIMessageChunk:
    """Prints reasoning and answer as they arrive; returns the merged message."""
    full: AIMessageChunk | None = None
    shown = ""
    for chunk in llm.stream(messages):
        reasoning = chunk.additional_kwargs.get("reasoning_content", "")
        if reasoning:
            if shown != "reasoning":
                print("\n  [reasoning] ", end="")
                shown = "reasoning"
            print(reasoning, end="", flush=True)
        if chunk.content:
            if shown != "answer":
                print("\n  [answer]    ", end="")
                shown = "answer"
            print(chunk.content, end="", flush=True)
        full = chunk if full is None else full + chunk
    print()
    assert full is not None
    return full


def _usage(message: AIMessageChunk) -> None:
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    cached = usage.get("input_token_details", {}).get("cache_read")
    reasoning = usage.get("output_token_details", {}).get("reasoning")
    print(
        f"  [usage]     in={usage.get('input_tokens')} out={usage.get('output_tokens')} "
        f"cached={cached} reasoning_tokens={reasoning}"
    )
    timings = message.response_metadata.get("timings")
    if timings:
        print(
            f"  [timings]   prompt {timings['prompt_per_second']:.1f} tok/s, "
            f"generation {timings['predicted_per_second']:.1f} tok/s"
        )


@contextmanager
def _backends(port: int, threads: int | None) -> Iterator[tuple[str | None, str | None]]:
    """BACKEND_URL when set; else two local servers: Qwen-coder for chat and tools, and a
    reasoning one (no local model thinks on its own; a grammar makes it)."""
    if os.environ.get("BACKEND_URL"):
        yield None, None
        return
    with ExitStack() as stack:
        print("Starting the local default: llama-server with Qwen2.5-Coder-0.5B, twice: with its")
        print("tools template, and with the Qwen3 template for reasoning under a grammar…")
        chat = stack.enter_context(LlamaServer(model="coder", port=port, threads=threads))
        # The same file, memory-mapped: the second process adds little memory.
        reasoning = stack.enter_context(
            LlamaServer(
                model="coder", template="reasoning", port=port + 1 if port else 0, threads=threads
            )
        )
        used = chat.threads_in_use() or threads
        print(f"Servers at {chat.base_url} and {reasoning.base_url}, {used or 'all'} threads each")
        yield chat.base_url, reasoning.base_url


def run_demo(port: int = 0, threads: int | None = None) -> int:
    """`port`: the chat server's (the reasoning server takes the next one); 0: free ports."""
    with _backends(port, threads) as (chat_url, reasoning_url):
        local = chat_url is not None
        # One slot and its cached prompt: the second turn of step 4 reads it back.
        chat = ChatZenLlama(base_url=chat_url, id_slot=0 if local else None, **SAMPLING)
        print(f"\nBackend: {chat.client.profile.name} at {chat.base_url}")

        print("\n1. A streamed answer")
        _usage(_stream(chat, "Write one short sentence about the sea."))

        print("\n2. Reasoning, apart from the answer")
        # No small local model thinks by itself: a grammar makes it write <think> tags, which
        # llama-server returns as real reasoning_content with the Qwen3 template.
        thinker = ChatZenLlama(
            base_url=reasoning_url,
            grammar=THINK_SENTENCE_GRAMMAR if local else None,
            **{**SAMPLING, "max_tokens": 128},
        )
        _usage(_stream(thinker, "Is the sea salty? Answer in one sentence."))

        print("\n3. A tool call the model picks itself (tool_choice=auto), and its round trip")
        messages: list[BaseMessage] = [HumanMessage(WEATHER_QUESTION)]
        call = chat.bind_tools([get_weather, get_time]).invoke(messages)
        if not call.tool_calls:
            print("  the model answered without a tool call:", call.content)
            return 1
        messages.append(call)
        for tool_call in call.tool_calls:
            print(f"  [tool call] {tool_call['name']}({tool_call['args']}) id={tool_call['id']}")
            result = TOOLS[tool_call["name"]].invoke(tool_call["args"])
            print(f"  [result]    {result}")
            messages.append(ToolMessage(content=result, tool_call_id=tool_call["id"]))
        answer = _stream(chat, messages)
        _usage(answer)

        print("\n4. A second turn: the conversation so far is read from the server's cache")
        messages += [answer, HumanMessage("Should I take an umbrella? Answer in one sentence.")]
        _usage(_stream(chat, messages))
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
