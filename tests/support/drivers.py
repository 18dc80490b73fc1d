"""The two framework classes behind one small interface, so each scenario is written once.

A driver only translates: it builds the framework's own messages, calls the framework's own
methods, and reads the framework's own results into `Answer`. Assistant turns go back into the
history as the framework returned them (`Answer.message`), so reasoning pass-back is the
framework layer's own doing, not the driver's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama

GREETING = "Say hello."
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "rainy, 12 C"
# An earlier tool loop of the same conversation, as a thinking model leaves it in the history.
# (It also shows the small test-bed model what a call looks like.)
ROME_REASONING = "The user wants the weather in Rome, so I call get_weather."
ROME_RESULT = "sunny, 24 C"
ROME_ANSWER = "It is sunny in Rome, 24 C."


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return TOOL_RESULT


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    args: dict[str, Any]


ROME_CALL = Call("call_rome", "get_weather", {"city": "Rome"})


@dataclass(frozen=True)
class Usage:
    input: int
    output: int
    total: int
    cached: int | None


@dataclass
class Answer:
    text: str
    reasoning: str
    calls: list[Call]
    usage: Usage | None
    message: Any  # the framework's own assistant message, to append to the history
    # The wire's own reasoning items the framework kept (thinking blocks with signatures, …).
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Piece:
    """What one streamed chunk added."""

    text: str
    reasoning: str


class Driver(Protocol):
    name: str

    def new(self, **settings: Any) -> Any: ...
    def user(self, text: str) -> Any: ...
    def earlier_tool_loop(self) -> list[Any]: ...
    def tool_result(self, call: Call, text: str) -> Any: ...
    def chat(self, llm: Any, history: list[Any], **call: Any) -> Answer: ...
    async def achat(self, llm: Any, history: list[Any]) -> Answer: ...
    async def astream(self, llm: Any, history: list[Any]) -> tuple[list[Piece], Answer]: ...
    def chat_with_tool(self, llm: Any, history: list[Any], *, required: bool) -> Answer: ...


class LangChainDriver:
    name = "langchain"

    def new(self, **settings: Any) -> ChatZenLlama:
        return ChatZenLlama(**settings)

    def user(self, text: str) -> BaseMessage:
        return HumanMessage(text)

    def earlier_tool_loop(self) -> list[BaseMessage]:
        return [
            HumanMessage("What is the weather in Rome?"),
            AIMessage(
                "",
                tool_calls=[{"id": ROME_CALL.id, "name": ROME_CALL.name, "args": ROME_CALL.args}],
                additional_kwargs={"reasoning_content": ROME_REASONING},
            ),
            self.tool_result(ROME_CALL, ROME_RESULT),
            AIMessage(ROME_ANSWER),
        ]

    def tool_result(self, call: Call, text: str) -> BaseMessage:
        return ToolMessage(text, tool_call_id=call.id)

    @staticmethod
    def _answer(message: AIMessage) -> Answer:
        usage = message.usage_metadata
        return Answer(
            text=message.text,
            reasoning=message.additional_kwargs.get("reasoning_content", ""),
            calls=[Call(str(c["id"]), c["name"], c["args"]) for c in message.tool_calls],
            usage=None
            if usage is None
            else Usage(
                usage["input_tokens"],
                usage["output_tokens"],
                usage["total_tokens"],
                usage.get("input_token_details", {}).get("cache_read"),
            ),
            message=message,
            blocks=message.additional_kwargs.get("reasoning_blocks", []),
        )

    def chat(self, llm: ChatZenLlama, history: list[Any], **call: Any) -> Answer:
        return self._answer(llm.invoke(history, **call))

    async def achat(self, llm: ChatZenLlama, history: list[Any]) -> Answer:
        return self._answer(await llm.ainvoke(history))

    async def astream(self, llm: ChatZenLlama, history: list[Any]) -> tuple[list[Piece], Answer]:
        chunks = [chunk async for chunk in llm.astream(history)]
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged += chunk
        pieces = [Piece(c.text, c.additional_kwargs.get("reasoning_content", "")) for c in chunks]
        return pieces, self._answer(merged)

    def chat_with_tool(self, llm: ChatZenLlama, history: list[Any], *, required: bool) -> Answer:
        bound = llm.bind_tools([get_weather], tool_choice="required" if required else None)
        message = bound.invoke(history)
        assert isinstance(message, AIMessage)
        return self._answer(message)


class LlamaIndexDriver:
    name = "llama_index"
    _tool = FunctionTool.from_defaults(fn=get_weather)

    def new(self, **settings: Any) -> ZenLlama:
        return ZenLlama(**settings)

    def user(self, text: str) -> ChatMessage:
        return ChatMessage(role=MessageRole.USER, content=text)

    def earlier_tool_loop(self) -> list[ChatMessage]:
        call = ToolCallBlock(
            tool_call_id=ROME_CALL.id, tool_name=ROME_CALL.name, tool_kwargs=ROME_CALL.args
        )
        return [
            self.user("What is the weather in Rome?"),
            ChatMessage(
                role=MessageRole.ASSISTANT, blocks=[ThinkingBlock(content=ROME_REASONING), call]
            ),
            self.tool_result(ROME_CALL, ROME_RESULT),
            ChatMessage(role=MessageRole.ASSISTANT, content=ROME_ANSWER),
        ]

    def tool_result(self, call: Call, text: str) -> ChatMessage:
        return ChatMessage(
            role=MessageRole.TOOL, content=text, additional_kwargs={"tool_call_id": call.id}
        )

    @staticmethod
    def _answer(llm: ZenLlama, response: ChatResponse) -> Answer:
        kwargs = response.additional_kwargs
        calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
        return Answer(
            text=response.message.content or "",
            reasoning="".join(
                b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
            ),
            calls=[Call(c.tool_id, c.tool_name, c.tool_kwargs) for c in calls],
            usage=None
            if "prompt_tokens" not in kwargs
            else Usage(
                kwargs["prompt_tokens"],
                kwargs["completion_tokens"],
                kwargs["total_tokens"],
                kwargs.get("cached_tokens"),
            ),
            message=response.message,
            blocks=[
                item
                for b in response.message.blocks
                if isinstance(b, ThinkingBlock)
                for item in b.additional_information.get("reasoning_blocks", [])
            ],
        )

    def chat(self, llm: ZenLlama, history: list[Any], **call: Any) -> Answer:
        return self._answer(llm, llm.chat(history, **call))

    async def achat(self, llm: ZenLlama, history: list[Any]) -> Answer:
        return self._answer(llm, await llm.achat(history))

    async def astream(self, llm: ZenLlama, history: list[Any]) -> tuple[list[Piece], Answer]:
        responses = [r async for r in await llm.astream_chat(history)]
        pieces = [
            Piece(r.delta or "", r.additional_kwargs.get("thinking_delta", "")) for r in responses
        ]
        return pieces, self._answer(llm, responses[-1])

    def chat_with_tool(self, llm: ZenLlama, history: list[Any], *, required: bool) -> Answer:
        response = llm.chat_with_tools([self._tool], chat_history=history, tool_required=required)
        return self._answer(llm, response)


DRIVERS: dict[str, Driver] = {d.name: d for d in (LangChainDriver(), LlamaIndexDriver())}
