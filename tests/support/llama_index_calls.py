"""Each ZenLlama call in its sync or async form, so one test covers both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

from zenllama.llama_index import ZenLlama


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def chat(
    llm: ZenLlama, mode: str, messages: Sequence[ChatMessage], **kwargs: Any
) -> ChatResponse:
    if mode == "sync":
        return llm.chat(messages, **kwargs)
    return await llm.achat(messages, **kwargs)


async def stream_chat(
    llm: ZenLlama, mode: str, messages: Sequence[ChatMessage], **kwargs: Any
) -> list[ChatResponse]:
    if mode == "sync":
        return list(llm.stream_chat(messages, **kwargs))
    return [r async for r in await llm.astream_chat(messages, **kwargs)]


async def complete(llm: ZenLlama, mode: str, prompt: str, **kwargs: Any) -> CompletionResponse:
    if mode == "sync":
        return llm.complete(prompt, **kwargs)
    return await llm.acomplete(prompt, **kwargs)


async def stream_complete(
    llm: ZenLlama, mode: str, prompt: str, **kwargs: Any
) -> list[CompletionResponse]:
    if mode == "sync":
        return list(llm.stream_complete(prompt, **kwargs))
    return [r async for r in await llm.astream_complete(prompt, **kwargs)]


async def chat_with_tools(llm: ZenLlama, mode: str, tools: Any, **kwargs: Any) -> ChatResponse:
    if mode == "sync":
        return llm.chat_with_tools(tools, **kwargs)
    return await llm.achat_with_tools(tools, **kwargs)
