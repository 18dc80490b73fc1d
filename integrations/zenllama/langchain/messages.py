"""LangChain messages to the wire and the core's results back to LangChain messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import (
    invalid_tool_call,
    tool_call,
    tool_call_chunk,
)

from zenllama.core import ChatResult, StreamDelta, Usage
from zenllama.core import message_shapes as shapes
from zenllama.core.prompt_cache import CACHE_CONTROL

PROVIDER = "zenllama"


def _reasoning_of(message: AIMessage) -> str:
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str):
        return reasoning
    if isinstance(message.content, list):
        return "".join(
            str(block.get("reasoning", ""))
            for block in message.content
            if isinstance(block, dict) and block.get("type") == "reasoning"
        )
    return ""


def _marks(message: BaseMessage) -> list[Any]:
    """The content blocks as given when one carries `cache_control` (ChatAnthropic's
    convention), else nothing: the OpenAI conversion drops the key."""
    content = message.content
    if isinstance(content, list) and any(
        isinstance(b, dict) and b.get(CACHE_CONTROL) for b in content
    ):
        return content
    return []


def _keep_marks(message: BaseMessage, blocks: list[Any], converted: dict[str, Any]) -> None:
    """Puts the blocks' `cache_control` back on the converted parts: each on its own part
    where the parts match the blocks one to one, else the last on the last part (a
    breakpoint caches the prefix up to its block)."""
    if isinstance(message, AIMessage):
        text_marks = [b[CACHE_CONTROL] for b in blocks if _text_mark(b)]
        if text_marks and converted.get("content"):
            text = converted["content"]
            converted["content"] = [{"type": "text", "text": text, CACHE_CONTROL: text_marks[-1]}]
        calls = {
            b.get("id"): b[CACHE_CONTROL]
            for b in blocks
            if isinstance(b, dict) and b.get("type") == "tool_use" and b.get(CACHE_CONTROL)
        }
        for call in converted.get("tool_calls") or ():
            if call.get("id") in calls:
                call[CACHE_CONTROL] = calls[call["id"]]
        return
    parts = convert_to_openai_messages(message, text_format="block").get("content")
    if not isinstance(parts, list) or not parts:
        return
    if len(parts) == len(blocks):
        for part, block in zip(parts, blocks, strict=True):
            if isinstance(block, dict) and block.get(CACHE_CONTROL):
                part[CACHE_CONTROL] = block[CACHE_CONTROL]
    else:
        marks = [b[CACHE_CONTROL] for b in blocks if isinstance(b, dict) and b.get(CACHE_CONTROL)]
        parts[-1][CACHE_CONTROL] = marks[-1]
    converted["content"] = parts


def _text_mark(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "text" and CACHE_CONTROL in block


def to_wire_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """OpenAI-shaped dicts; assistant turns carry reasoning for the core's pass-back policy,
    content blocks their `cache_control` (Anthropic breakpoints; other wires drop them)."""
    sent: list[dict[str, Any]] = []
    for message in messages:
        converted: dict[str, Any] = convert_to_openai_messages(message)
        if isinstance(message, AIMessage):
            content = converted.get("content")
            if isinstance(content, list):  # reasoning blocks are not content on the wire
                converted["content"] = "".join(
                    str(b.get("text", ""))
                    for b in content
                    if isinstance(b, dict) and b.get("type") == "text"
                )
            if reasoning := _reasoning_of(message):
                converted[shapes.REASONING_FIELD] = reasoning
            if blocks := message.additional_kwargs.get(shapes.REASONING_BLOCKS_FIELD):
                converted[shapes.REASONING_BLOCKS_FIELD] = blocks  # signatures unchanged
        if marked := _marks(message):
            _keep_marks(message, marked, converted)
        sent.append(converted)
    return sent


def usage_metadata(usage: Usage | None) -> UsageMetadata | None:
    if usage is None:
        return None
    metadata: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    details = InputTokenDetails()
    if usage.cached_tokens is not None:
        details["cache_read"] = usage.cached_tokens
    if usage.cache_creation_tokens is not None:
        details["cache_creation"] = usage.cache_creation_tokens
    if details:
        metadata["input_token_details"] = details
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return cast(UsageMetadata, metadata)


def response_metadata(result: ChatResult) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "finish_reason": result.finish_reason,
        "model_name": result.model,
        "model_provider": PROVIDER,
        "backend": result.backend,
    }
    if result.timings is not None:
        metadata["timings"] = result.timings
    if result.route is not None:  # a routed model: which backend served, and why
        metadata["route"] = result.route.as_dict()
    return metadata


def _reasoning_kwargs(result: ChatResult) -> dict[str, Any]:
    """The reasoning text, and the wire's own reasoning items that go back unchanged
    (Anthropic thinking blocks with their signature, Responses reasoning items)."""
    kwargs: dict[str, Any] = {"reasoning_content": result.reasoning} if result.reasoning else {}
    if result.reasoning_blocks:
        kwargs[shapes.REASONING_BLOCKS_FIELD] = result.reasoning_blocks
    return kwargs


def to_ai_message(result: ChatResult) -> AIMessage:
    return AIMessage(
        content=result.text,
        additional_kwargs=_reasoning_kwargs(result),
        tool_calls=[tool_call(name=c.name, args=c.arguments, id=c.id) for c in result.tool_calls],
        invalid_tool_calls=[
            invalid_tool_call(name=c.name, args=c.arguments, id=c.id, error=c.error)
            for c in result.invalid_tool_calls
        ],
        usage_metadata=usage_metadata(result.usage),
        response_metadata=response_metadata(result),
        id=result.id,
    )


def to_message_chunk(delta: StreamDelta) -> AIMessageChunk:
    """One chunk per delta; per-response facts only on the last, so merging never doubles them."""
    chunk = AIMessageChunk(
        content=delta.text,
        additional_kwargs={"reasoning_content": delta.reasoning} if delta.reasoning else {},
        tool_call_chunks=[
            tool_call_chunk(name=f.name, args=f.arguments, id=f.id, index=f.index)
            for f in delta.tool_call_fragments
        ],
    )
    result = delta.result
    if result is not None:
        if result.reasoning_blocks:  # whole items, once, so merging never splits them
            chunk.additional_kwargs[shapes.REASONING_BLOCKS_FIELD] = result.reasoning_blocks
        chunk.usage_metadata = usage_metadata(result.usage)
        chunk.response_metadata = response_metadata(result)
        chunk.chunk_position = "last"
        if result.id:
            chunk.id = result.id
    return chunk
