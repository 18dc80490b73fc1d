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

from .loopback import EMBED_DIMS, EMBED_MODEL, server_vectors
from .timing import Case, measure, print_table, verdict

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
        api_key="dummy",  # type: ignore[arg-type]
        check_embedding_ctx_length=False,
    )
    return lambda: embedder.embed_documents(TEXTS)


def openai_like(base_url: str, batch: int) -> Embed:
    embedder = OpenAILikeEmbedding(
        model_name=EMBED_MODEL, api_base=base_url, api_key="dummy", embed_batch_size=batch
    )
    return lambda: embedder.get_text_embedding_batch(TEXTS)


def zenllama_langchain(base_url: str, batch: int | None) -> Embed | None:
    """`batch` None: zenllama's default batch size."""
    try:
        from zenllama.langchain import ZenLlamaEmbeddings
    except ImportError as exc:
        print(f"  skipping ZenLlamaEmbeddings: it does not import yet ({exc})")
        return None
    sizes: dict[str, Any] = {} if batch is None else {"batch_size": batch}
    embedder = ZenLlamaEmbeddings(
        api_base=base_url, model=EMBED_MODEL, api_key=SecretStr("dummy"), **sizes
    )
    return lambda: embedder.embed_documents(TEXTS)


def zenllama_llama_index(base_url: str, batch: int | None) -> Embed | None:
    try:
        from zenllama.llama_index import ZenLlamaEmbedding
    except ImportError as exc:
        print(f"  skipping ZenLlamaEmbedding: it does not import yet ({exc})")
        return None
    sizes: dict[str, Any] = {} if batch is None else {"embed_batch_size": batch}
    embedder = ZenLlamaEmbedding(
        api_base=base_url, model=EMBED_MODEL, api_key=SecretStr("dummy"), **sizes
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


def main(base_url: str, repeats: int) -> None:
    print(f"\n== Embeddings: {EMBED_TEXTS} texts x {EMBED_DIMS} dims, ms per call ==")
    print("  OpenAIEmbeddings runs with check_embedding_ctx_length=False: by default it")
    print("  tokenizes with tiktoken, which downloads cl100k_base at run time (fails offline).")
    print(f"  Rows without -default send all {EMBED_TEXTS} texts in one request.")
    one, batched = check_vectors(), check_vectors(values=False)
    floor = FloorEmbedding(embed_batch_size=EMBED_TEXTS)
    # ~20x slower than the rest: timed on its own so the others get more rounds.
    float_case = Case(
        "sdk-float",
        'openai SDK, encoding_format="float"',
        sdk(base_url, encoding_format="float"),
        1,
        one,
    )
    cases = [
        Case(
            "sdk-base64",
            "openai SDK default: asks for base64, decodes with numpy",
            sdk(base_url),
            1,
            one,
        ),
        Case(
            "OpenAIEmbeddings",
            "langchain-openai, default chunk_size=1000",
            openai_embeddings(base_url),
            1,
            one,
        ),
        Case(
            "li-floor",
            "LlamaIndex BaseEmbedding returning vectors, no HTTP",
            lambda: floor.get_text_embedding_batch(TEXTS),
            1,
            one,
        ),
        Case(
            "OpenAILikeEmbedding",
            f"embed_batch_size={EMBED_TEXTS}",
            openai_like(base_url, EMBED_TEXTS),
            1,
            one,
        ),
        Case(
            "OpenAILike-default",
            "OpenAILikeEmbedding, default embed_batch_size=10: 26 calls",
            openai_like(base_url, 10),
            1,
            batched,
        ),
    ]
    zen_builders: list[tuple[str, Callable[[str, int | None], Embed | None]]] = [
        ("ZenLlamaEmbeddings", zenllama_langchain),
        ("ZenLlamaEmbedding", zenllama_llama_index),
    ]
    for name, build in zen_builders:
        run = build(base_url, EMBED_TEXTS)
        if run is None:
            continue
        cases.append(Case(name, f"batch {EMBED_TEXTS}", run, 1, one))
        # And with zenllama's own default batch size: more, smaller requests.
        from zenllama.core.embeddings import DEFAULT_BATCH_SIZE as size

        detail = f"{name}, default batch of {size}: {-(-EMBED_TEXTS // size)} calls"
        default_run = build(base_url, None)
        assert default_run is not None
        cases.append(Case(f"{name}-default", detail, default_run, 1, batched))
    rows = measure([float_case], 3) + measure(cases, repeats)
    print_table(rows, "call", ["OpenAIEmbeddings", "OpenAILikeEmbedding"])
    print("  one request each:")
    verdict(rows, "ZenLlamaEmbeddings", "OpenAIEmbeddings", TARGET_LANGCHAIN)
    verdict(rows, "ZenLlamaEmbedding", "OpenAILikeEmbedding", TARGET_LLAMA_INDEX)
    print("  each class with its own default batch size:")
    verdict(rows, "ZenLlamaEmbeddings-default", "OpenAIEmbeddings", TARGET_LANGCHAIN)
    verdict(rows, "ZenLlamaEmbedding-default", "OpenAILike-default", TARGET_LLAMA_INDEX)
