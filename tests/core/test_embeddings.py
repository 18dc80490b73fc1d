"""The one embeddings routine both frameworks use, offline: shapes, batching, errors."""

from __future__ import annotations

import asyncio
import base64
import struct
from array import array
from typing import Any

import pytest

from zenllama.core import (
    BadRequestError,
    EmbeddingsClient,
    EmbeddingsNotEnabledError,
    InputTooLongError,
    MalformedResponseError,
    resolve_settings,
)
from zenllama.core.embeddings import decode_base64, parse_embeddings

from ..conftest import Run
from ..support.embeddings_fake import EmbeddingsFake, vector
from ..support.embeddings_fake import embeddings_fake as embeddings_fake  # `fake` here

TEXTS = [f"text {i}\nline two" if i % 3 == 0 else f"text {i}" for i in range(70)]
UBATCH_ERROR = (
    500,
    {
        "error": {
            "code": 500,
            "message": "input (602 tokens) is too large to process. increase the physical "
            "batch size (current batch size: 512)",
            "type": "server_error",
        }
    },
)


def client(fake: EmbeddingsFake, **kwargs: Any) -> EmbeddingsClient:
    model = kwargs.pop("model", None)
    settings = resolve_settings(base_url=fake.base_url, max_retries=0, model=model)
    return EmbeddingsClient(settings, **kwargs)


async def embed(run: Run[Any], embeddings: EmbeddingsClient, texts: list[str]) -> Any:
    return await run(lambda: embeddings.embed(texts), lambda: embeddings.aembed(texts))


# Shapes ---------------------------------------------------------------------------------
def test_base64_decodes_to_the_same_floats() -> None:
    values = [0.25, -1.5, 2.0**-20, 12345.0]  # exact in float32
    packed = base64.b64encode(struct.pack("<4f", *values)).decode()  # little-endian on the wire
    decoded = decode_base64(packed)
    assert decoded == values
    assert all(type(v) is float for v in decoded)


def test_vectors_are_placed_by_index_not_by_position() -> None:
    answer = {
        "data": [
            {"index": 2, "embedding": [2.0]},
            {"index": 0, "embedding": base64.b64encode(array("f", [0.0]).tobytes()).decode()},
            {"index": 1, "embedding": [1.0]},
        ],
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }
    vectors, usage, floats = parse_embeddings(answer, 3)
    assert vectors == [[0.0], [1.0], [2.0]]
    assert usage is not None and usage.input_tokens == usage.total_tokens == 7
    assert floats


@pytest.mark.parametrize(
    "data",
    [
        [{"index": 0, "embedding": [0.0]}],  # one missing
        [{"index": 0, "embedding": [0.0]}, {"index": 0, "embedding": [1.0]}],  # twice
        [{"index": 0, "embedding": [0.0]}, {"index": 5, "embedding": [1.0]}],  # out of range
        [{"index": 0, "embedding": [0.0]}, {"index": 1, "embedding": None}],  # no vector
    ],
)
def test_answers_that_do_not_cover_the_input_are_errors(data: list[Any]) -> None:
    with pytest.raises(MalformedResponseError):
        parse_embeddings({"data": data}, 2)


# Batching, order, texts -----------------------------------------------------------------
async def test_batches_come_back_in_input_order(fake: EmbeddingsFake, run: Run[Any]) -> None:
    fake.reverse = True  # every answer lists its items backwards
    result = await embed(run, client(fake, batch_size=32), TEXTS)
    assert result.vectors == [vector(t) for t in TEXTS]
    # Async batches may arrive in any order; their sizes may not.
    assert sorted(len(batch) for batch in fake.inputs) == [6, 32, 32]
    assert sorted(t for batch in fake.inputs for t in batch) == sorted(TEXTS)


async def test_texts_are_sent_unchanged(fake: EmbeddingsFake, run: Run[Any]) -> None:
    texts = ["first\nsecond", "  spaced  ", "tabs\tand\r\nCRLF", "ünïcödé 🦙"]
    result = await embed(run, client(fake), texts)
    assert fake.inputs == [texts]
    assert result.vectors[0][1] == 1.0  # the fake counted the newline it received


async def test_empty_list_sends_nothing(fake: EmbeddingsFake, run: Run[Any]) -> None:
    result = await embed(run, client(fake), [])
    assert result.vectors == [] and result.usage is None
    assert fake.paths == []


@pytest.mark.parametrize("texts", ["one string", [[1, 2, 3]], ["ok", None]])
def test_only_text_is_embedded(fake: EmbeddingsFake, texts: Any) -> None:
    with pytest.raises(TypeError, match=r"text|string"):
        client(fake).embed(texts)
    assert fake.paths == []


async def test_model_and_dimensions_are_sent_when_given(
    fake: EmbeddingsFake, run: Run[Any]
) -> None:
    await embed(run, client(fake), ["a"])
    await embed(run, client(fake, model="nomic", dimensions=256), ["a"])
    plain, given = fake.bodies
    assert "model" not in plain and "dimensions" not in plain
    assert given["model"] == "nomic" and given["dimensions"] == 256


async def test_usage_is_summed_over_batches(fake: EmbeddingsFake, run: Run[Any]) -> None:
    result = await embed(run, client(fake, batch_size=2), ["a b", "c", "d e f"])
    # The fake counts words + 1 per text.
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.total_tokens) == (9, 9)


# base64 detection -------------------------------------------------------------------------
async def test_base64_is_asked_for_and_decoded(fake: EmbeddingsFake, run: Run[Any]) -> None:
    embeddings = client(fake)
    await embed(run, embeddings, ["a"])
    await embed(run, embeddings, ["b"])
    assert [b.get("encoding_format") for b in fake.bodies] == ["base64", "base64"]


async def test_a_server_answering_floats_is_asked_for_floats_after(
    fake: EmbeddingsFake, run: Run[Any]
) -> None:
    fake.base64_mode = "floats"
    embeddings = client(fake)
    assert (await embed(run, embeddings, ["a"])).vectors == [vector("a")]
    assert (await embed(run, embeddings, ["b"])).vectors == [vector("b")]
    assert [b.get("encoding_format") for b in fake.bodies] == ["base64", None]


async def test_a_server_refusing_base64_gets_floats_and_keeps_them(
    fake: EmbeddingsFake, run: Run[Any]
) -> None:
    fake.base64_mode = "refuse"
    embeddings = client(fake)
    assert (await embed(run, embeddings, ["a"])).vectors == [vector("a")]
    await embed(run, embeddings, ["b"])
    assert [b.get("encoding_format") for b in fake.bodies] == ["base64", None, None]


def test_an_error_that_floats_do_not_fix_keeps_base64(fake: EmbeddingsFake) -> None:
    wrong_model = (400, {"error": {"code": 400, "message": "no model nomic", "type": "x"}})
    fake.fail(wrong_model, wrong_model)
    embeddings = client(fake)
    with pytest.raises(BadRequestError, match="no model nomic"):
        embeddings.embed(["a"])
    embeddings.embed(["b"])
    assert [b.get("encoding_format") for b in fake.bodies] == ["base64", None, "base64"]


# Concurrency -------------------------------------------------------------------------------
async def test_async_batches_run_concurrently_but_bounded(fake: EmbeddingsFake) -> None:
    fake.delay = 0.05
    embeddings = client(fake, batch_size=1, max_concurrency=3)
    # Three calls at once share the client's bound, as LlamaIndex's gathered batches do.
    results = await asyncio.gather(*(embeddings.aembed(TEXTS[:8]) for _ in range(3)))
    assert all(r.vectors == [vector(t) for t in TEXTS[:8]] for r in results)
    assert fake.max_in_flight == 3


async def test_concurrency_of_one_is_sequential(fake: EmbeddingsFake) -> None:
    fake.delay = 0.02
    await client(fake, batch_size=1, max_concurrency=1).aembed(TEXTS[:5])
    assert fake.max_in_flight == 1


# Errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "status, message",
    [
        (501, "This server does not support embeddings. Start it with `--embeddings`"),
        (400, "Pooling type 'none' is not OAI compatible. Please use a different pooling type"),
        (404, "File Not Found"),
    ],
)
async def test_embeddings_not_served_says_how_to_start_the_server(
    fake: EmbeddingsFake, run: Run[Any], status: int, message: str
) -> None:
    fake.fail((status, {"error": {"code": status, "message": message, "type": "x"}}))
    with pytest.raises(EmbeddingsNotEnabledError) as caught:
        await embed(run, client(fake), ["a"])
    assert "--embeddings --pooling mean" in str(caught.value)
    assert "zenllama serve --embeddings" in str(caught.value)
    assert caught.value.status == status


async def test_too_long_input_is_named_by_its_index(fake: EmbeddingsFake, run: Run[Any]) -> None:
    fake.ubatch = 512
    texts = ["a", "b", "c", "word " * 600, "d"]
    with pytest.raises(InputTooLongError) as caught:
        await embed(run, client(fake, batch_size=2), texts)
    error = caught.value
    assert (error.index, error.n_tokens, error.limit) == (3, 601, 512)
    assert "input 3 ('word word" in str(error) and "has 601 tokens" in str(error)
    assert "--ubatch-size" in str(error)
    assert fake.paths.count("/tokenize") == 2  # inputs 2 and 3 of the failing batch


async def test_a_batch_of_one_needs_no_tokenizing(fake: EmbeddingsFake, run: Run[Any]) -> None:
    fake.ubatch = 512
    with pytest.raises(InputTooLongError) as caught:
        await embed(run, client(fake, batch_size=1), ["a", "word " * 600])
    assert caught.value.index == 1
    assert "/tokenize" not in fake.paths


async def test_without_tokenize_the_error_names_the_batch(
    fake: EmbeddingsFake, run: Run[Any]
) -> None:
    fake.ubatch, fake.tokenize = 512, False
    with pytest.raises(InputTooLongError, match=r"one of inputs 2\.\.3") as caught:
        await embed(run, client(fake, batch_size=2), ["a", "b", "c", "word " * 600])
    assert caught.value.index is None


async def test_context_overflow_names_the_input(fake: EmbeddingsFake, run: Run[Any]) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "input (3000 tokens) is larger than the max context size (2048 tokens)",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 3000,
            "n_ctx": 2048,
        }
    }
    fake.fail((400, body))
    with pytest.raises(InputTooLongError) as caught:
        await embed(run, client(fake, batch_size=1), ["long"])
    error = caught.value
    assert (error.index, error.n_tokens, error.limit) == (0, 3000, 2048)
    assert "--ctx-size" in str(error)
