"""ZenLlamaEmbeddings: LangChain embeddings on llama-server or any OpenAI-compatible server."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from zenllama.core import EmbeddingsClient, EmbeddingsResult, Usage
from zenllama.core.embeddings import DEFAULT_BATCH_SIZE, DEFAULT_MAX_CONCURRENCY
from zenllama.core.fields import ConnectionFields


class ZenLlamaEmbeddings(ConnectionFields, Embeddings):
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

    model: str | None = None
    """Model id; BACKEND_MODEL if not given. llama-server serves its one model without it."""
    dimensions: int | None = None
    """Sent as `dimensions` where given; llama-server ignores it (full-size vectors)."""
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0)
    """Texts per request."""
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, gt=0)
    """Requests in flight at once on the async path, over every call on this object."""

    _client: EmbeddingsClient = PrivateAttr()
    _last_usage: Usage | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_backend(self) -> ZenLlamaEmbeddings:
        settings = self._resolve(self.model)
        self.model = settings.model
        self._client = EmbeddingsClient(
            settings,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            dimensions=self.dimensions,
        )
        return self

    @property
    def client(self) -> EmbeddingsClient:
        """The shared core client."""
        return self._client

    @property
    def last_usage(self) -> Usage | None:
        """Token usage of the last finished call, summed over its requests (None if unreported)."""
        return self._last_usage

    def _keep(self, result: EmbeddingsResult) -> list[list[float]]:
        self._last_usage = result.usage
        return result.vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._keep(self._client.embed(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._keep(await self._client.aembed(texts))

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
