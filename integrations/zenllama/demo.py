"""`zenllama demo`: a LangChain chat on the local default (or on BACKEND_URL when set).

It shows what zenllama keeps that other clients drop: the streamed answer, the reasoning
apart from it, a tool call and its round trip, and usage with cache reads and llama.cpp timings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage, convert_to_messages
from langchain_core.tools import tool

from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer
from zenllama.local.steering import (
    SAMPLING,
    TEMPLATE_STOPS,
    THINK_GRAMMAR,
    WEATHER_QUESTION,
    WEATHER_SHOTS,
)


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"cloudy, 18 C in {city}"


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
            f"  [timings]   prompt {timings['prompt_per_second']:.0f} tok/s, "
            f"generation {timings['predicted_per_second']:.0f} tok/s"
        )


@contextmanager
def _backends() -> Iterator[tuple[str | None, str | None]]:
    """BACKEND_URL when set; else two local servers with the bundled model (tools, reasoning)."""
    if os.environ.get("BACKEND_URL"):
        yield None, None
        return
    with ExitStack() as stack:
        print("Starting the local default: llama-server with the bundled Gemma 3 270M…")
        tools = stack.enter_context(LlamaServer(template="tools"))
        reasoning = stack.enter_context(LlamaServer(template="reasoning"))
        yield tools.base_url, reasoning.base_url


def run_demo() -> int:
    with _backends() as (tools_url, reasoning_url):
        local = tools_url is not None
        stop = TEMPLATE_STOPS if local else None
        chat = ChatZenLlama(base_url=tools_url, stop=stop, **SAMPLING)
        print(f"\nBackend: {chat.client.profile.name} at {chat.base_url}")

        print("\n1. A streamed answer")
        _usage(_stream(chat, "Write one short sentence about the sea."))

        print("\n2. Reasoning, apart from the answer")
        # The 270M model does not think on its own: a grammar makes it write <think> tags,
        # which llama-server returns as real reasoning_content with the Qwen3 template.
        thinker = ChatZenLlama(
            base_url=reasoning_url,
            grammar=THINK_GRAMMAR if local else None,
            stop=stop,
            **SAMPLING,
        )
        _usage(_stream(thinker, "Say hello."))

        print("\n3. A tool call and its round trip")
        history = convert_to_messages(WEATHER_SHOTS) if local else []
        messages = [*history, *convert_to_messages([("user", WEATHER_QUESTION)])]
        with_tools = chat.bind_tools([get_weather], tool_choice="get_weather")
        call = with_tools.invoke(messages)
        if not call.tool_calls:
            print("  the model answered without a tool call:", call.content)
            return 1
        messages.append(call)
        for tool_call in call.tool_calls:
            print(f"  [tool call] {tool_call['name']}({tool_call['args']}) id={tool_call['id']}")
            result = get_weather.invoke(tool_call["args"])
            print(f"  [result]    {result}")
            messages.append(ToolMessage(content=result, tool_call_id=tool_call["id"]))
        _usage(_stream(chat, messages))
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
