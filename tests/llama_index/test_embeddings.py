"""ZenLlamaEmbedding: LlamaIndex has no conformance suite, so the contract is checked here."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler

from zenllama.core import EmbeddingsNotEnabledError, InputTooLongError
from zenllama.llama_index import ZenLlamaEmbedding

from ..conftest import Run
from ..support.embeddings_fake import EmbeddingsFake, vector
from ..support.embeddings_fake import embeddings_fake as embeddings_fake  # `fake` here

TEXTS = ["alpha\nbeta", "gamma", "delta epsilon", "zeta", "eta\n\ntheta", "iota", "kappa"]


def model(fake: EmbeddingsFake, **kwargs: Any) -> ZenLlamaEmbedding:
    return ZenLlamaEmbedding(base_url=fake.base_url, max_retries=0, **kwargs)


def test_is_a_llama_index_embedding() -> None:
    assert BaseEmbedding in ZenLlamaEmbedding.__mro__
    embed_model = ZenLlamaEmbedding(base_url="http://127.0.0.1:9/v1", api_key="sk-secret")
    assert "sk-secret" not in repr(embed_model)
    assert "api_key" not in embed_model.to_dict()
    assert "sk-secret" not in embed_model.to_json()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://10.0.0.5:8080/v1")
    monkeypatch.setenv("BACKEND_API_KEY", "sk-env")
    monkeypatch.setenv("BACKEND_MODEL", "nomic-embed-text")
    embed_model = ZenLlamaEmbedding()
    assert embed_model.base_url == "http://10.0.0.5:8080/v1"
    assert embed_model.api_key is not None and embed_model.api_key.get_secret_value() == "sk-env"
    assert embed_model.model == embed_model.model_name == "nomic-embed-text"
    assert ZenLlamaEmbedding(model_name="bge-m3").model == "bge-m3"  # LlamaIndex's spelling


async def test_query_and_text(fake: EmbeddingsFake, run: Run[Any]) -> None:
    embed_model = model(fake)
    query = await run(
        lambda: embed_model.get_query_embedding("what\nnow"),
        lambda: embed_model.aget_query_embedding("what\nnow"),
    )
    text = await run(
        lambda: embed_model.get_text_embedding("a text"),
        lambda: embed_model.aget_text_embedding("a text"),
    )
    assert (query, text) == (vector("what\nnow"), vector("a text"))
    assert fake.inputs == [["what\nnow"], ["a text"]]


async def test_batches_keep_order_and_newlines(fake: EmbeddingsFake, run: Run[Any]) -> None:
    fake.reverse = True
    embed_model = model(fake, embed_batch_size=3)
    vectors = await run(
        lambda: embed_model.get_text_embedding_batch(TEXTS),
        lambda: embed_model.aget_text_embedding_batch(TEXTS),
    )
    assert vectors == [vector(t) for t in TEXTS]
    # Requests of embed_batch_size texts, each text exactly as given (OpenAILikeEmbedding
    # would have sent "alpha beta").
    batches = [tuple(TEXTS[0:3]), tuple(TEXTS[3:6]), (TEXTS[6],)]
    assert sorted(map(tuple, fake.inputs)) == sorted(batches)  # async: in any order
    assert embed_model.last_usage is not None and embed_model.last_usage.input_tokens > 0


async def test_async_batches_are_bounded(fake: EmbeddingsFake) -> None:
    fake.delay = 0.05
    # LlamaIndex gathers every batch at once; the model's own bound holds across them.
    embed_model = model(fake, embed_batch_size=1, max_concurrency=2)
    vectors = await embed_model.aget_text_embedding_batch(TEXTS)
    assert vectors == [vector(t) for t in TEXTS]
    assert fake.max_in_flight == 2


async def test_empty_batch_sends_nothing(fake: EmbeddingsFake, run: Run[Any]) -> None:
    embed_model = model(fake)
    assert (
        await run(
            lambda: embed_model.get_text_embedding_batch([]),
            lambda: embed_model.aget_text_embedding_batch([]),
        )
        == []
    )
    assert fake.paths == []


def test_callbacks_see_the_chunks_and_vectors(fake: EmbeddingsFake) -> None:
    debug = LlamaDebugHandler()
    embed_model = model(fake, callback_manager=CallbackManager([debug]))
    embed_model.get_text_embedding_batch(TEXTS[:2])
    _, end = debug.get_event_pairs(CBEventType.EMBEDDING)[0]
    assert end.payload is not None
    assert end.payload[EventPayload.CHUNKS] == TEXTS[:2]
    assert end.payload[EventPayload.EMBEDDINGS] == [vector(t) for t in TEXTS[:2]]


async def test_errors(fake: EmbeddingsFake, run: Run[Any]) -> None:
    message = "Pooling type 'none' is not OAI compatible. Please use a different pooling type"
    fake.fail((400, {"error": {"code": 400, "message": message, "type": "x"}}))
    embed_model = model(fake, embed_batch_size=4)
    with pytest.raises(EmbeddingsNotEnabledError, match="--embeddings --pooling mean"):
        await run(
            lambda: embed_model.get_query_embedding("q"),
            lambda: embed_model.aget_query_embedding("q"),
        )
    fake.ubatch = 100
    texts = ["short", "word " * 150, "short"]
    with pytest.raises(InputTooLongError) as caught:
        await run(
            lambda: embed_model.get_text_embedding_batch(texts),
            lambda: embed_model.aget_text_embedding_batch(texts),
        )
    assert caught.value.index == 1 and caught.value.limit == 100
