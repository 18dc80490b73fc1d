"""The frameworks' floors: do-nothing models with no HTTP and no parsing.

`FloorChatModel` (LangChain) and `FloorLLM` (LlamaIndex) hand back a message they were given
(the very one zenllama answered, so every field the framework looks at is there) or stream
minimal chunks: what `BaseChatModel.invoke` / `.stream` and LlamaIndex's callback and
instrumentation wrapping cost by themselves. No integration can go under them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback

from .loopback import N_CHUNKS, token


class FloorChatModel(BaseChatModel):
    """Answers `message` (a copy, as LangChain sets ids on it); streams N_CHUNKS tokens."""

    message: AIMessage = AIMessage(content="")

    @property
    def _llm_type(self) -> str:
        return "bench-floor"

    def _result(self) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.message.model_copy())])

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return self._result()

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return self._result()

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for i in range(N_CHUNKS):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token(i)))
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


class FloorLLM(CustomLLM):
    """Answers `response` (a copy) to chat/achat; streams N_CHUNKS minimal ChatResponses."""

    response: ChatResponse = ChatResponse(message=ChatMessage(role="assistant", content=""))

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        raise NotImplementedError

    @llm_chat_callback()
    def chat(self, messages: Any, **kwargs: Any) -> ChatResponse:
        return self.response.model_copy()

    @llm_chat_callback()
    async def achat(self, messages: Any, **kwargs: Any) -> ChatResponse:
        return self.response.model_copy()

    @llm_chat_callback()
    def stream_chat(self, messages: Any, **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for i in range(N_CHUNKS):
                text += token(i)
                yield ChatResponse(
                    message=ChatMessage(role="assistant", content=text), delta=token(i)
                )

        return gen()
