"""What zenllama sees of llama-server behind a LiteLLM proxy: backend detection, embeddings.

The chat scenarios run through the gateway in tests/scenarios (the "gateway" leg).
"""

from __future__ import annotations

import math

import pytest

from zenllama.core import ChatClient, ChatRequest, ChatResult, resolve_settings
from zenllama.langchain import ChatZenLlama, ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlama, ZenLlamaEmbedding

from ..support.gateway_bed import EMBED, THINKING, TOOLS, GatewayBed

pytestmark = [pytest.mark.gateway, pytest.mark.llama_server]

TEXTS = ["The cat sat.", "Rome is in Italy.", "a b", "Llamas hum.", "Rain again.", "x"]
N_EMBD = 640  # Gemma 3 270M


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def nearest(vector: list[float], candidates: list[list[float]]) -> int:
    return max(range(len(candidates)), key=lambda i: cosine(vector, candidates[i]))


@pytest.mark.parametrize("cls", [ChatZenLlama, ZenLlama])
def test_detection_sees_a_generic_server_and_the_backend_can_be_named(
    gateway: GatewayBed, cls: type[ChatZenLlama] | type[ZenLlama]
) -> None:
    common = {"base_url": gateway.base_url, "api_key": gateway.key, "model": TOOLS}
    # The gateway answers /props with an error, not llama-server's: no guessing through it.
    detected = cls(**common).client
    assert detected.profile.name == "openai-compatible"
    assert detected.server_props() is None
    # Named, llama-server's rules apply (tool_choice strings, reasoning pass-back, switches).
    named = cls(**common, backend="llama-server").client
    assert named.profile.name == "llama-server"
    assert sorted({m.id for m in named.list_models()}) == [EMBED, THINKING, TOOLS]


async def test_embeddings_through_the_gateway_match_the_server(gateway: GatewayBed) -> None:
    """Batches spread over both servers come back whole and in input order, both frameworks."""
    direct = ZenLlamaEmbeddings(base_url=gateway.servers[EMBED][0].base_url, batch_size=2)
    expected = direct.embed_documents(TEXTS)
    behind = {"base_url": gateway.base_url, "api_key": gateway.key, "model": EMBED}
    langchain = ZenLlamaEmbeddings(**behind, batch_size=2)
    llama_index = ZenLlamaEmbedding(**behind, embed_batch_size=2)
    got = {
        "langchain": langchain.embed_documents(TEXTS),
        "langchain async": await langchain.aembed_documents(TEXTS),
        "llama_index": llama_index.get_text_embedding_batch(TEXTS),
        "llama_index async": await llama_index.aget_text_embedding_batch(TEXTS),
    }
    for name, vectors in got.items():
        assert [len(v) for v in vectors] == [N_EMBD] * len(TEXTS), name
        # Each text's own vector, in input order (concurrent batches that a server runs
        # together differ in the last digits, as they do without a gateway).
        similar = [cosine(v, e) for v, e in zip(vectors, expected, strict=True)]
        assert min(similar) > 0.999, (name, similar)
        assert [nearest(v, expected) for v in vectors] == list(range(len(TEXTS))), name
    assert langchain.last_usage is not None and langchain.last_usage.input_tokens > len(TEXTS)


# What LiteLLM 1.108.7 (`openai/` provider) changes in llama-server's answers. Asserted below,
# so an upgrade that changes it is noticed; the README lists it ("Many servers").
GATEWAY_CHANGES = {
    "model": "the gateway's model name, not the server's model file (both modes)",
    "timings": "dropped from streams; kept in whole answers",
    "reasoning_tokens": "added to streamed usage (LiteLLM's own count); absent from whole answers",
}
KEPT = "text, reasoning_content, tool calls, usage (input, output, cached tokens), finish_reason"


async def _answer(client: ChatClient, stream: bool) -> ChatResult:
    messages = [{"role": "user", "content": "Say hello."}]
    options = {"max_tokens": 24}
    try:
        if not stream:
            return await client.acomplete(ChatRequest(messages, options=options))
        result = None
        async for delta in client.astream(ChatRequest(messages, options=options)):
            result = delta.result or result
        assert result is not None
        return result
    finally:
        await client.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_what_the_gateway_keeps_and_changes(gateway: GatewayBed, stream: bool) -> None:
    server = gateway.servers[THINKING][0]
    direct = await _answer(ChatClient(resolve_settings(base_url=server.base_url)), stream)
    behind = resolve_settings(
        base_url=gateway.base_url, api_key=gateway.key, model=THINKING, backend="llama-server"
    )
    via = await _answer(ChatClient(behind), stream)

    # Kept: the same greedy answer, split the same way, counted the same.
    assert (via.text, via.reasoning, via.finish_reason) == (
        direct.text,
        direct.reasoning,
        direct.finish_reason,
    )
    assert via.reasoning.strip()
    assert direct.usage is not None and via.usage is not None
    assert (via.usage.input_tokens, via.usage.output_tokens) == (
        direct.usage.input_tokens,
        direct.usage.output_tokens,
    )
    assert via.usage.cached_tokens is not None
    # Changed (GATEWAY_CHANGES).
    assert direct.model and direct.model.endswith(".gguf") and via.model == THINKING
    assert direct.timings is not None
    assert (via.timings is None) is stream
    assert direct.usage.reasoning_tokens is None
    assert (via.usage.reasoning_tokens is not None) is stream
