"""ZenLlamaEmbeddings: LangChain embeddings on llama-server or any OpenAI-compatible server."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field, model_validator

from zenllama.core.embeddings import DEFAULT_BATCH_SIZE
from zenllama.frameworks.fields import EmbeddingsFields


class ZenLlamaEmbeddings(EmbeddingsFields, Embeddings):
    """Embeddings from a local llama-server (`--embeddings --pooling mean`) or any
    OpenAI-compatible `/v1/embeddings`, with the chat model's settings.

    Texts are sent unchanged (newlines kept, no tokenizer), vectors come back in input order,
    as base64 where the server allows. LangChain has no place for usage: `last_usage` holds the
    usage of the last call that finished on this object.

    Example:
        ```python
        from zenllama.langchain import ZenLlamaEmbeddings

        embeddings = ZenLlamaEmbeddings()  # BACKEND_URL, BACKEND_API_KEY, BACKEND_MODEL
        embeddings.embed_query("Hello")
        ```
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0)
    """Texts per request."""

    @model_validator(mode="after")
    def _resolve_backend(self) -> ZenLlamaEmbeddings:
        # Settings are read here (cheap, no network); the core client is built on first use.
        self.model = self._resolve().model
        return self

    def _batch_size(self) -> int:
        return self.batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._vectors_keeping_usage(self.client.embed(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._vectors_keeping_usage(await self.client.aembed(texts))

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
