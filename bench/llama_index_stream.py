"""One long streamed answer through LlamaIndex, per chunk: ZenLlama against OpenAILike.

The LlamaIndex floor is an LLM whose `stream_chat` yields minimal `ChatResponse`s with no HTTP:
what the framework's callback and instrumentation wrapping costs per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import LLM

from . import raw
from .floors import FloorLLM
from .loopback import (
    N_CHUNKS,
    N_REASONING_CHUNKS,
    PLAIN_MODEL,
    REASONING_MODEL,
    expected_text,
    token,
)
from .peers import llama_index_peer, llama_index_zen
from .tables import Table, Target
from .timing import Case, measure
from .wires import UNIT, same_text

MESSAGES = [ChatMessage(role="user", content=raw.PROMPT)]
TARGET = 0.3  # ZenLlama <= 0.3x OpenAILike


def stream_chat(llm: LLM) -> Callable[[], str]:
    def run() -> str:
        return "".join(response.delta or "" for response in llm.stream_chat(MESSAGES))

    return run


def main(base_url: str, repeats: int) -> Iterator[Table]:
    for model, what in (
        (PLAIN_MODEL, f"{N_CHUNKS} text deltas"),
        (REASONING_MODEL, f"{N_REASONING_CHUNKS} reasoning deltas, then text"),
    ):
        want = same_text(expected_text(model))
        cases: list[Case] = []
        if model == PLAIN_MODEL:
            floor_text = same_text("".join(token(i) for i in range(N_CHUNKS)))
            detail = "LLM yielding minimal ChatResponses, no HTTP"
            run = stream_chat(FloorLLM())
            cases.append(Case("floor: LlamaIndex", detail, run, "floor", N_CHUNKS, floor_text))
        peer = llama_index_peer("chat", base_url, model)
        assert peer is not None
        name, llm = peer
        zen = llama_index_zen(base_url, model)
        cases += [
            Case(name, type(llm).__name__, stream_chat(llm), "peer", N_CHUNKS, want),
            Case("ZenLlama", "api=chat", stream_chat(zen), "zenllama", N_CHUNKS, want),
        ]
        rows = measure(cases, repeats)
        yield (
            Table(
                "llama_index",
                f"LlamaIndex stream_chat, chat completions, {what}",
                UNIT,
                list(rows.values()),
                peers=[name],
                targets=[Target("ZenLlama", [name], TARGET)],
            )
        )
