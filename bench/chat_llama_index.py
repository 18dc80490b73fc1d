"""One long streamed answer through LlamaIndex: OpenAILike.stream_chat against ZenLlama.

The LlamaIndex floor is an LLM whose `stream_chat` yields minimal `ChatResponse`s with no HTTP:
what the framework's callback and instrumentation wrapping costs per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import LLM, CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.llms.openai_like import OpenAILike
from pydantic import SecretStr

from .chat_langchain import same_text
from .loopback import (
    N_CHUNKS,
    N_REASONING_CHUNKS,
    PLAIN_MODEL,
    REASONING_MODEL,
    expected_text,
    token,
)
from .timing import Case, measure, print_table, verdict

MESSAGES = [ChatMessage(role="user", content="Say many words.")]
TARGET = 0.3  # ZenLlama <= 0.3x OpenAILike


def stream_chat(llm: LLM) -> Callable[[], str]:
    def run() -> str:
        return "".join(response.delta or "" for response in llm.stream_chat(MESSAGES))

    return run


class FloorLLM(CustomLLM):
    """Yields N_CHUNKS minimal ChatResponses: LlamaIndex's own per-chunk cost."""

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
    def stream_chat(self, messages: Any, **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for i in range(N_CHUNKS):
                text += token(i)
                yield ChatResponse(
                    message=ChatMessage(role="assistant", content=text), delta=token(i)
                )

        return gen()


def openai_like(base_url: str, model: str) -> LLM:
    llm: LLM = OpenAILike(
        model=model, api_base=base_url, api_key="dummy", is_chat_model=True, context_window=8192
    )
    return llm


def zenllama(base_url: str, model: str) -> LLM | None:
    try:
        from zenllama.llama_index import ZenLlama
    except ImportError as exc:
        print(f"  skipping ZenLlama: it does not import yet ({exc})")
        return None
    return ZenLlama(base_url=base_url, model=model, api_key=SecretStr("dummy"))


def main(base_url: str, repeats: int) -> None:
    for model in (PLAIN_MODEL, REASONING_MODEL):
        want = same_text(expected_text(model))
        cases: list[Case] = []
        if model == PLAIN_MODEL:
            print(f"\n== LlamaIndex stream_chat: {N_CHUNKS} chunks, µs per chunk ==")
            floor_text = "".join(token(i) for i in range(N_CHUNKS))
            cases.append(
                Case(
                    "floor",
                    "LLM yielding minimal ChatResponses, no HTTP",
                    stream_chat(FloorLLM()),
                    N_CHUNKS,
                    same_text(floor_text),
                )
            )
        else:
            print(f"\n-- {REASONING_MODEL}: {N_REASONING_CHUNKS} reasoning_content deltas first --")
        cases.append(
            Case(
                "OpenAILike",
                "llama-index-llms-openai-like .stream_chat",
                stream_chat(openai_like(base_url, model)),
                N_CHUNKS,
                want,
            )
        )
        zen = zenllama(base_url, model)
        if zen is not None:
            cases.append(
                Case("ZenLlama", "zenllama .stream_chat", stream_chat(zen), N_CHUNKS, want)
            )
        rows = measure(cases, repeats)
        print_table(rows, "chunk", ["OpenAILike"])
        verdict(rows, "ZenLlama", "OpenAILike", TARGET)
