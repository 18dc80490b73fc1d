"""EMBED_TEXTS texts embedded in one call through the openai SDK, the frameworks and zenllama.

Every client asks for all texts in one request (LlamaIndex batch sizes set to EMBED_TEXTS), so
all do the same HTTP work; the answer is EMBED_TEXTS x EMBED_DIMS floats, as JSON floats or as
base64 float32, whichever the client asks for. Each result is checked for shape, values and
index order before it is timed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import openai
from langchain_openai import OpenAIEmbeddings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.embeddings.openai_like import OpenAILikeEmbedding
from pydantic import SecretStr

from zenllama.core.embeddings import DEFAULT_BATCH_SIZE
from zenllama.langchain import ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlamaEmbedding

from .loopback import EMBED_DIMS, EMBED_MODEL, server_vectors
from .tables import Table, Target
from .timing import Case, Row, measure

EMBED_TEXTS = 256
TEXTS = [
    f"Document {i}: the quick brown fox.\nIt jumps over the lazy dog {i} times."
    for i in range(EMBED_TEXTS)
]
TARGET_LANGCHAIN = 0.8  # ZenLlamaEmbeddings <= 0.8x OpenAIEmbeddings
TARGET_LLAMA_INDEX = 0.4  # ZenLlamaEmbedding <= 0.4x OpenAILikeEmbedding

Embed = Callable[[], Sequence[Sequence[float]]]


def sdk(base_url: str, **options: Any) -> Embed:
    client = openai.OpenAI(base_url=base_url, api_key="dummy")

    def run() -> Sequence[Sequence[float]]:
        answer = client.embeddings.create(input=TEXTS, model=EMBED_MODEL, **options)
        return [item.embedding for item in answer.data]

    return run


def openai_embeddings(base_url: str) -> Embed:
    # check_embedding_ctx_length=False: otherwise it tokenizes with tiktoken, which downloads
    # cl100k_base at run time (fails offline) and sends token ids instead of text.
    embedder = OpenAIEmbeddings(
        model=EMBED_MODEL,
        base_url=base_url,
        api_key="dummy",  # type: ignore[arg-type,unused-ignore]
        check_embedding_ctx_length=False,
    )
    return lambda: embedder.embed_documents(TEXTS)


def openai_like(base_url: str, batch: int) -> Embed:
    embedder = OpenAILikeEmbedding(
        model_name=EMBED_MODEL, api_base=base_url, api_key="dummy", embed_batch_size=batch
    )
    return lambda: embedder.get_text_embedding_batch(TEXTS)


def zenllama_langchain(base_url: str, batch: int | None) -> Embed:
    """`batch` None: zenllama's default batch size."""
    sizes: dict[str, Any] = {} if batch is None else {"batch_size": batch}
    embedder = ZenLlamaEmbeddings(
        base_url=base_url, model=EMBED_MODEL, api_key=SecretStr("dummy"), **sizes
    )
    return lambda: embedder.embed_documents(TEXTS)


def zenllama_llama_index(base_url: str, batch: int | None) -> Embed:
    sizes: dict[str, Any] = {} if batch is None else {"embed_batch_size": batch}
    embedder = ZenLlamaEmbedding(
        base_url=base_url, model=EMBED_MODEL, api_key=SecretStr("dummy"), **sizes
    )
    return lambda: embedder.get_text_embedding_batch(TEXTS)


class FloorEmbedding(BaseEmbedding):
    """Returns the server's vectors with no HTTP: LlamaIndex's own cost per batch call (its
    EmbeddingEndEvent validates every float of the batch)."""

    def _get_query_embedding(self, query: str) -> list[float]:
        raise NotImplementedError

    async def _aget_query_embedding(self, query: str) -> list[float]:
        raise NotImplementedError

    def _get_text_embedding(self, text: str) -> list[float]:
        raise NotImplementedError

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in server_vectors(len(texts))]


def check_vectors(values: bool = True) -> Callable[[Any], str | None]:
    """The answer has the right shape and (`values`) the server's values in index order.
    The server's vectors depend on the batch size, so batched calls check the shape only."""
    want = server_vectors(EMBED_TEXTS)

    def check(vectors: Any) -> str | None:
        if len(vectors) != EMBED_TEXTS or any(len(v) != EMBED_DIMS for v in vectors):
            return f"shape {len(vectors)} x {len(vectors[0]) if len(vectors) else 0}"
        for i in (0, 1, EMBED_TEXTS - 1) if values else ():
            if any(abs(float(a) - b) > 1e-6 for a, b in zip(vectors[i], want[i], strict=True)):
                return f"vector {i} is not the server's vector {i}"
        return None

    return check


def main(base_url: str, repeats: int) -> list[Table]:
    one, batched = check_vectors(), check_vectors(values=False)
    floor = FloorEmbedding(embed_batch_size=EMBED_TEXTS)
    # ~20x slower than the rest: timed on its own, its minimum of rounds only.
    float_case = Case(
        "openai SDK float",
        'openai SDK, encoding_format="float"',
        sdk(base_url, encoding_format="float"),
        "reference",
        check=one,
    )
    cases = [
        Case(
            "openai SDK base64",
            "openai SDK default: asks for base64, decodes with numpy",
            sdk(base_url),
            "reference",
            check=one,
        ),
        Case(
            "OpenAIEmbeddings",
            "langchain-openai, default chunk_size=1000",
            openai_embeddings(base_url),
            "peer",
            check=one,
        ),
        Case(
            "floor: LlamaIndex",
            "BaseEmbedding returning vectors, no HTTP",
            lambda: floor.get_text_embedding_batch(TEXTS),
            "floor",
            check=one,
        ),
        Case(
            "OpenAILikeEmbedding",
            f"embed_batch_size={EMBED_TEXTS}",
            openai_like(base_url, EMBED_TEXTS),
            "peer",
            check=one,
        ),
        Case(
            "OpenAILike-default",
            "OpenAILikeEmbedding, default embed_batch_size=10: 26 calls",
            openai_like(base_url, 10),
            "peer",
            check=batched,
        ),
    ]
    size = DEFAULT_BATCH_SIZE
    for name, build in (
        ("ZenLlamaEmbeddings", zenllama_langchain),
        ("ZenLlamaEmbedding", zenllama_llama_index),
    ):
        cases.append(
            Case(name, f"batch {EMBED_TEXTS}", build(base_url, EMBED_TEXTS), "zenllama", check=one)
        )
        # And with zenllama's own default batch size: more, smaller requests.
        detail = f"default batch of {size}: {-(-EMBED_TEXTS // size)} calls"
        cases.append(
            Case(f"{name}-default", detail, build(base_url, None), "zenllama", check=batched)
        )
    rows = measure([float_case], repeats, min_seconds=0) | measure(cases, repeats)
    title = f"{EMBED_TEXTS} texts x {EMBED_DIMS} dims in one call"
    note = (
        "OpenAIEmbeddings runs with check_embedding_ctx_length=False: by default it tokenizes "
        "with tiktoken, which downloads cl100k_base at run time (fails offline)."
    )

    def pick(*names: str) -> list[Row]:
        return [rows[n] for n in names]

    return [
        Table(
            "embeddings",
            f"LangChain embed_documents, {title}",
            "CPU ms/call",
            pick(
                "openai SDK float",
                "openai SDK base64",
                "OpenAIEmbeddings",
                "ZenLlamaEmbeddings",
                "ZenLlamaEmbeddings-default",
            ),
            scale=1e3,
            peers=["OpenAIEmbeddings"],
            targets=[
                Target("ZenLlamaEmbeddings", ["OpenAIEmbeddings"], TARGET_LANGCHAIN),
                Target("ZenLlamaEmbeddings-default", ["OpenAIEmbeddings"], TARGET_LANGCHAIN),
            ],
            notes=[note],
        ),
        Table(
            "embeddings",
            f"LlamaIndex get_text_embedding_batch, {title}",
            "CPU ms/call",
            pick(
                "floor: LlamaIndex",
                "OpenAILikeEmbedding",
                "OpenAILike-default",
                "ZenLlamaEmbedding",
                "ZenLlamaEmbedding-default",
            ),
            scale=1e3,
            peers=["OpenAILikeEmbedding", "OpenAILike-default"],
            targets=[
                Target("ZenLlamaEmbedding", ["OpenAILikeEmbedding"], TARGET_LLAMA_INDEX),
                Target("ZenLlamaEmbedding-default", ["OpenAILike-default"], TARGET_LLAMA_INDEX),
            ],
            notes=["Each class with its own default batch size: the -default rows."],
        ),
    ]
