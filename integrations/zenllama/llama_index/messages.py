"""LlamaIndex messages to the wire, and the core's results back to LlamaIndex responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ContentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from zenllama.core import ChatResult, StreamDelta, ToolCallFragment
from zenllama.core import message_shapes as shapes
from zenllama.core.llama_cpp import InfillDelta, InfillResult
from zenllama.core.prompt_cache import CACHE_CONTROL

# Where the cumulative reasoning of a completion goes (CompletionResponse has no blocks).
REASONING_KEY = "reasoning_content"
# Present only on a final response whose tool calls did not parse.
INVALID_TOOL_CALLS_KEY = "invalid_tool_calls"


# LlamaIndex -> wire ----------------------------------------------------------------------
def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url:
        url = str(block.url)
    else:
        data = block.resolve_image(as_base64=True).read().decode()
        url = f"data:{block.image_mimetype};base64,{data}"
    return shapes.image_part(url, block.detail)


def _content(blocks: Sequence[ContentBlock]) -> str | list[dict[str, Any]]:
    """Text joins the way `ChatMessage.content` does; images make it a list of parts, and so
    does a CachePoint (its mark on the part before it, in block order)."""
    if any(isinstance(b, CachePoint) for b in blocks):
        return _marked_parts(blocks)
    texts = [b.text for b in blocks if isinstance(b, TextBlock)]
    images = [_image_part(b) for b in blocks if isinstance(b, ImageBlock)]
    if not images:
        return "\n".join(texts)
    return [*({"type": "text", "text": t} for t in texts), *images]


def cache_mark(point: CachePoint) -> dict[str, Any]:
    """A CachePoint's `cache_control`, as llama-index-llms-anthropic sends it."""
    return point.cache_control.model_dump(exclude_none=True)


def _marks_before(blocks: Sequence[ContentBlock]) -> dict[int, dict[str, Any]]:
    """Block index -> the `cache_control` of the CachePoint right after it: a CachePoint
    marks the block before it (llama-index-llms-anthropic's rule), none before is an error."""
    marks: dict[int, dict[str, Any]] = {}
    before: int | None = None
    for i, block in enumerate(blocks):
        if isinstance(block, CachePoint):
            if before is None:
                raise ValueError(
                    "a CachePoint marks the block before it, and this one comes first in its "
                    "message: put it after the text it should cache up to"
                )
            marks[before] = cache_mark(block)
        else:
            before = i
    return marks


def _marked_parts(blocks: Sequence[ContentBlock]) -> list[dict[str, Any]]:
    marks = _marks_before(blocks)
    parts = []
    for i, block in enumerate(blocks):
        part: dict[str, Any]
        if isinstance(block, TextBlock):
            part = {"type": "text", "text": block.text}
        elif isinstance(block, ImageBlock):
            part = _image_part(block)
        else:
            continue
        if i in marks:
            part[CACHE_CONTROL] = marks[i]
        parts.append(part)
    return parts


def _check_blocks(message: ChatMessage) -> None:
    for block in message.blocks:
        if not isinstance(
            block, TextBlock | ImageBlock | ThinkingBlock | ToolCallBlock | CachePoint
        ):
            raise ValueError(
                f"{type(block).__name__} is not supported by chat completions; "
                "send text or images (ImageBlock)"
            )


def _wire_call(block: ToolCallBlock) -> dict[str, Any]:
    return shapes.tool_call(block.tool_call_id, block.tool_name, block.tool_kwargs)


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    _check_blocks(message)
    role = message.role.value
    sent: dict[str, Any] = {"role": role, "content": _content(message.blocks)}
    if role == MessageRole.TOOL.value and "tool_call_id" in message.additional_kwargs:
        sent["tool_call_id"] = message.additional_kwargs["tool_call_id"]
    elif role == MessageRole.ASSISTANT.value:
        marks = _marks_before(message.blocks)
        calls = [
            {**_wire_call(b), CACHE_CONTROL: marks[i]} if i in marks else _wire_call(b)
            for i, b in enumerate(message.blocks)
            if isinstance(b, ToolCallBlock)
        ]
        if calls:
            sent["tool_calls"] = calls
        # Sent back always; the core's backend profile decides whether it stays.
        thinking = [b for b in message.blocks if isinstance(b, ThinkingBlock)]
        reasoning = "".join(b.content or "" for b in thinking)
        if reasoning:
            sent[shapes.REASONING_FIELD] = reasoning
        items = [
            item
            for b in thinking
            for item in b.additional_information.get(shapes.REASONING_BLOCKS_FIELD) or ()
        ]
        if items:
            sent[shapes.REASONING_BLOCKS_FIELD] = items  # signatures unchanged
    return sent


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    return [to_wire_message(m) for m in messages]


# core -> LlamaIndex ----------------------------------------------------------------------
def response_kwargs(result: ChatResult) -> dict[str, Any]:
    """Usage, timings and finish reason, flat, as LlamaIndex integrations put them."""
    kwargs: dict[str, Any] = {}
    usage = result.usage
    if usage is not None:
        kwargs.update(
            prompt_tokens=usage.input_tokens,
            completion_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
        )
        if usage.cached_tokens is not None:
            kwargs["cached_tokens"] = usage.cached_tokens
        if usage.cache_creation_tokens is not None:
            kwargs["cache_creation_tokens"] = usage.cache_creation_tokens
        if usage.reasoning_tokens is not None:
            kwargs["reasoning_tokens"] = usage.reasoning_tokens
    if result.timings is not None:
        kwargs["timings"] = result.timings
    kwargs["finish_reason"] = result.finish_reason
    if result.route is not None:  # a routed model: which backend served, and why
        kwargs["route"] = result.route.as_dict()
    if result.invalid_tool_calls:
        kwargs[INVALID_TOOL_CALLS_KEY] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error}
            for c in result.invalid_tool_calls
        ]
    return kwargs


def raw_response(result: ChatResult) -> dict[str, Any]:
    """An OpenAI-shaped summary; `usage` is where TokenCountingHandler looks."""
    raw: dict[str, Any] = {
        "id": result.id,
        "model": result.model,
        "backend": result.backend,
        "finish_reason": result.finish_reason,
    }
    usage = result.usage
    if usage is not None:
        raw["usage"] = shapes.usage_json(usage)
    if result.timings is not None:
        raw["timings"] = result.timings
    return raw


def _assistant(
    reasoning: str,
    text: str,
    calls: list[ToolCallBlock],
    reasoning_blocks: list[dict[str, Any]] | None = None,
) -> ChatMessage:
    blocks: list[ContentBlock] = []
    if reasoning or reasoning_blocks:
        # The wire's own reasoning items ride along, to go back unchanged.
        info = {shapes.REASONING_BLOCKS_FIELD: reasoning_blocks} if reasoning_blocks else {}
        blocks.append(ThinkingBlock(content=reasoning, additional_information=info))
    blocks.append(TextBlock(text=text))
    blocks.extend(calls)
    # The OpenAI-shaped mirror is what parts of LlamaIndex still look for (streamed
    # structured output, chat engines); the blocks are what zenllama reads.
    extra = {"tool_calls": [_wire_call(c) for c in calls]} if calls else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def to_chat_response(
    result: ChatResult, *, delta: str | None = None, thinking_delta: str = ""
) -> ChatResponse:
    calls = [
        ToolCallBlock(tool_call_id=c.id, tool_name=c.name, tool_kwargs=c.arguments)
        for c in result.tool_calls
    ]
    # Kept with their raw text so the message is truthful; get_tool_calls_from_response raises.
    calls += [
        ToolCallBlock(tool_call_id=c.id, tool_name=c.name or "", tool_kwargs=c.arguments)
        for c in result.invalid_tool_calls
    ]
    kwargs = response_kwargs(result)
    if thinking_delta:
        kwargs["thinking_delta"] = thinking_delta
    return ChatResponse(
        message=_assistant(result.reasoning, result.text, calls, result.reasoning_blocks),
        delta=delta,
        raw=raw_response(result),
        additional_kwargs=kwargs,
    )


class ChatStream:
    """Turns one stream's deltas into cumulative ChatResponses; the last one is the whole result.

    Each response's message is a snapshot of the answer so far, built with the same work per
    delta however many tool calls came before (rebuilding every call per delta made N calls
    cost O(N^2)): only what the delta changes is a new block (the text, the reasoning, the one
    call a fragment belongs to); the other blocks are shared between snapshots, which copy the
    block list (pointers) and skip validating what is already valid.
    """

    __slots__ = ("_calls", "_mirror", "_position", "_text", "_thinking")

    def __init__(self) -> None:
        self._text = TextBlock(text="")
        self._thinking: ThinkingBlock | None = None
        self._calls: list[ToolCallBlock] = []
        self._mirror: list[dict[str, Any]] = []  # the calls, OpenAI-shaped
        self._position: dict[int, int] = {}  # a fragment's index -> its call in _calls

    def response(self, delta: StreamDelta) -> ChatResponse:
        if delta.result is not None:
            return to_chat_response(delta.result, delta=delta.text, thinking_delta=delta.reasoning)
        if delta.text:
            self._text = TextBlock(text=self._text.text + delta.text)
        if delta.reasoning:
            before = (self._thinking.content or "") if self._thinking else ""
            self._thinking = ThinkingBlock(content=before + delta.reasoning)
        for fragment in delta.tool_call_fragments:
            self._add(fragment)
        blocks: list[ContentBlock] = [self._text, *self._calls]
        if self._thinking is not None:
            blocks.insert(0, self._thinking)
        extra = {"tool_calls": list(self._mirror)} if self._mirror else {}
        message = ChatMessage.model_construct(
            role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra
        )
        return ChatResponse(
            message=message,
            delta=delta.text,
            additional_kwargs={"thinking_delta": delta.reasoning} if delta.reasoning else {},
        )

    def _add(self, fragment: ToolCallFragment) -> None:
        position = self._position.get(fragment.index)
        if position is None:
            position = self._position[fragment.index] = len(self._calls)
            self._calls.append(ToolCallBlock(tool_name="", tool_kwargs=""))
            self._mirror.append({})
        before = self._calls[position]
        call = ToolCallBlock(
            tool_call_id=fragment.id or before.tool_call_id,
            tool_name=fragment.name or before.tool_name,
            tool_kwargs=f"{before.tool_kwargs}{fragment.arguments}",
        )
        self._calls[position] = call
        self._mirror[position] = _wire_call(call)


def to_completion_response(response: ChatResponse) -> CompletionResponse:
    """Completions have no blocks: the reasoning so far goes in additional_kwargs."""
    kwargs = dict(response.additional_kwargs)
    reasoning = "".join(
        b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
    )
    if reasoning:
        kwargs[REASONING_KEY] = reasoning
    return CompletionResponse(
        text=response.message.content or "",
        delta=response.delta,
        raw=response.raw,
        additional_kwargs=kwargs,
    )


def infill_response(result: InfillResult, delta: str | None = None) -> CompletionResponse:
    """/infill's middle as a completion; counts and timings where chat puts them."""
    kwargs: dict[str, Any] = {"timings": result.timings}
    if result.prompt_tokens is not None:
        kwargs["prompt_tokens"] = result.prompt_tokens
    if result.completion_tokens is not None:
        kwargs["completion_tokens"] = result.completion_tokens
    return CompletionResponse(
        text=result.text, delta=delta, additional_kwargs=kwargs, raw=result.raw
    )


class InfillStream:
    """A streamed infill's deltas as cumulative completions; the last one is the whole result."""

    __slots__ = ("_text",)

    def __init__(self) -> None:
        self._text = ""

    def response(self, delta: InfillDelta) -> CompletionResponse:
        if delta.result is not None:
            return infill_response(delta.result, delta.text)
        self._text += delta.text
        return CompletionResponse(text=self._text, delta=delta.text)
