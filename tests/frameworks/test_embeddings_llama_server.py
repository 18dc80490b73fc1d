"""Both embeddings classes against the real llama-server, live and from recorded cassettes.

Each scenario runs live (`llama_server`) and replayed offline from a cassette (`cassette`)
that `ZENLLAMA_RECORD=1 pytest -m cassette` records from the same server.
"""

from __future__ import annotations

import json
import math
import urllib.request
from typing import Any

import pytest

from tests.support.recorded import make_vcr, server_url
from zenllama.core import EmbeddingsNotEnabledError, InputTooLongError
from zenllama.langchain import ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlamaEmbedding
from zenllama.local import LlamaServer

from ..conftest import Run

VCR = make_vcr("llama-server/embeddings")
TEXTS = ["The cat sat.\nThen it slept.", "Rome is in Italy.", "a b", "1, 2, 3", "Llamas hum."]
N_EMBD = 384  # all-MiniLM-L6-v2
LONG = "word " * 600  # 602 tokens with BOS and EOS; the physical batch is 512


def _mode(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["run"])


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def nearest(vector: list[float], candidates: list[list[float]]) -> int:
    return max(range(len(candidates)), key=lambda i: cosine(vector, candidates[i]))


# One call returns what one-by-one calls do, in input order -------------------------------
async def _langchain_documents(base_url: str, run: Run[Any]) -> None:
    embeddings = ZenLlamaEmbeddings(base_url=base_url, batch_size=2)
    vectors = await run(
        lambda: embeddings.embed_documents(TEXTS), lambda: embeddings.aembed_documents(TEXTS)
    )
    assert embeddings.last_usage is not None and embeddings.last_usage.input_tokens > len(TEXTS)
    singles = [
        await run(lambda t=t: embeddings.embed_query(t), lambda t=t: embeddings.aembed_query(t))
        for t in TEXTS
    ]
    assert [len(v) for v in vectors] == [N_EMBD] * len(TEXTS)
    # Each vector is its own text's (see test_batching_keeps_vectors for why not equal).
    # (Newlines are kept on the way, tests/core/test_embeddings.py; BERT reads them as spaces.)
    assert [nearest(v, singles) for v in vectors] == list(range(len(TEXTS)))


@pytest.mark.llama_server
async def test_langchain_documents(embeddings_server: LlamaServer, run: Run[Any]) -> None:
    await _langchain_documents(embeddings_server.base_url, run)


@pytest.mark.cassette
async def test_langchain_documents_cassette(request: pytest.FixtureRequest, run: Run[Any]) -> None:
    url = server_url(request, "embeddings_server")  # the server starts outside the cassette
    with VCR.use_cassette(f"langchain_documents_{_mode(request)}"):
        await _langchain_documents(url, run)


async def _llama_index_batch(base_url: str, run: Run[Any]) -> None:
    embed_model = ZenLlamaEmbedding(base_url=base_url, embed_batch_size=2)
    vectors = await run(
        lambda: embed_model.get_text_embedding_batch(TEXTS),
        lambda: embed_model.aget_text_embedding_batch(TEXTS),
    )
    query = await run(
        lambda: embed_model.get_query_embedding(TEXTS[1]),
        lambda: embed_model.aget_query_embedding(TEXTS[1]),
    )
    text = await run(
        lambda: embed_model.get_text_embedding(TEXTS[4]),
        lambda: embed_model.aget_text_embedding(TEXTS[4]),
    )
    assert [len(v) for v in vectors] == [N_EMBD] * len(TEXTS)
    assert nearest(query, vectors) == 1 and nearest(text, vectors) == 4
    assert embed_model.last_usage is not None and embed_model.last_usage.input_tokens > 0


@pytest.mark.llama_server
async def test_llama_index_batch(embeddings_server: LlamaServer, run: Run[Any]) -> None:
    await _llama_index_batch(embeddings_server.base_url, run)


@pytest.mark.cassette
async def test_llama_index_batch_cassette(request: pytest.FixtureRequest, run: Run[Any]) -> None:
    url = server_url(request, "embeddings_server")
    with VCR.use_cassette(f"llama_index_batch_{_mode(request)}"):
        await _llama_index_batch(url, run)


@pytest.mark.llama_server
def test_batching_keeps_vectors(embeddings_server: LlamaServer) -> None:
    embeddings = ZenLlamaEmbeddings(base_url=embeddings_server.base_url)
    pair = embeddings.embed_documents(TEXTS[2:4])
    singles = [embeddings.embed_query(t) for t in TEXTS[2:4]]
    # Batched arithmetic differs in the last digits (cosine ~0.9997); per-slot KV caches without
    # --kv-unified gave other vectors altogether (cosine ~0.8).
    assert all(cosine(v, s) > 0.999 for v, s in zip(pair, singles, strict=True))


@pytest.mark.llama_server
def test_base64_decodes_to_the_servers_floats(embeddings_server: LlamaServer) -> None:
    [ours] = ZenLlamaEmbeddings(base_url=embeddings_server.base_url).embed_documents(TEXTS[:1])
    request = urllib.request.Request(
        embeddings_server.base_url + "/embeddings",
        data=json.dumps({"input": TEXTS[:1], "encoding_format": "float"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        floats = json.loads(answer.read())["data"][0]["embedding"]
    assert ours == pytest.approx(floats, rel=1e-6)


# Errors say what to do ------------------------------------------------------------------
async def _too_long(base_url: str, run: Run[Any]) -> None:
    embeddings = ZenLlamaEmbeddings(base_url=base_url, max_retries=0)
    texts = ["short", LONG, "short too"]
    with pytest.raises(InputTooLongError) as caught:
        await run(
            lambda: embeddings.embed_documents(texts), lambda: embeddings.aembed_documents(texts)
        )
    error = caught.value
    assert (error.index, error.n_tokens, error.limit) == (1, 602, 512)
    assert "--ubatch-size" in str(error)


@pytest.mark.llama_server
async def test_too_long_input_is_named(embeddings_server: LlamaServer, run: Run[Any]) -> None:
    await _too_long(embeddings_server.base_url, run)


@pytest.mark.cassette
async def test_too_long_input_is_named_cassette(
    request: pytest.FixtureRequest, run: Run[Any]
) -> None:
    url = server_url(request, "embeddings_server")
    with VCR.use_cassette(f"too_long_{_mode(request)}"):
        await _too_long(url, run)


def _not_enabled(base_url: str) -> None:
    with pytest.raises(EmbeddingsNotEnabledError) as caught:
        ZenLlamaEmbedding(base_url=base_url, max_retries=0).get_query_embedding("hello")
    assert "--embeddings --pooling mean" in str(caught.value)


@pytest.mark.llama_server
@pytest.mark.parametrize("server", ["tools_server", "pooling_none_server"])
def test_embeddings_not_served(request: pytest.FixtureRequest, server: str) -> None:
    _not_enabled(request.getfixturevalue(server).base_url)


@pytest.mark.cassette
@pytest.mark.parametrize("server", ["tools_server", "pooling_none_server"])
def test_embeddings_not_served_cassette(request: pytest.FixtureRequest, server: str) -> None:
    url = server_url(request, server)
    with VCR.use_cassette(f"not_served_{server}"):
        _not_enabled(url)
