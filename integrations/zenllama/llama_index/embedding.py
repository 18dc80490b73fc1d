"""ZenLlamaEmbedding: LlamaIndex embeddings on llama-server or any OpenAI-compatible server."""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from zenllama.core.embeddings import DEFAULT_BATCH_SIZE
from zenllama.frameworks.fields import EmbeddingsFields

_UNSET_NAME = BaseEmbedding.model_fields["model_name"].default


class ZenLlamaEmbedding(EmbeddingsFields, BaseEmbedding):
    """Embeddings from a local llama-server (`--embeddings --pooling mean`) or any
    OpenAI-compatible `/v1/embeddings`, with `ZenLlama`'s settings.

    Texts are sent unchanged (newlines kept), vectors come back in input order, as base64
    where the server allows. `embed_batch_size` is the number of texts per request; async
    batches share `max_concurrency` requests in flight. LlamaIndex's embedding events carry no
    usage, so `last_usage` holds it for the last batch that finished (LlamaIndex hands over
    texts `embed_batch_size` at a time, so that is one request's usage).

    Example:
        ```python
        from zenllama.llama_index import ZenLlamaEmbedding

        embed_model = ZenLlamaEmbedding()  # BACKEND_URL, BACKEND_API_KEY, BACKEND_MODEL
        embed_model.get_text_embedding("Hello")
        ```
    """

    model_config = ConfigDict(populate_by_name=True)

    embed_batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0, le=2048)
    """Texts per request."""

    @model_validator(mode="after")
    def _resolve_backend(self) -> ZenLlamaEmbedding:
        # LlamaIndex users pass `model_name`; it counts when `model` is not given
        # ("unknown" is BaseEmbedding's placeholder, never a model id).
        named = None if self.model_name == _UNSET_NAME else self.model_name
        self.model = self.model or named
        self.model = self._resolve().model
        self.model_name = self.model or _UNSET_NAME
        return self

    def _batch_size(self) -> int:
        return self.embed_batch_size

    @classmethod
    def class_name(cls) -> str:
        return "ZenLlamaEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._vectors_keeping_usage(self.client.embed([query]))[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._vectors_keeping_usage(await self.client.aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._vectors_keeping_usage(self.client.embed([text]))[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._vectors_keeping_usage(await self.client.aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._vectors_keeping_usage(self.client.embed(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._vectors_keeping_usage(await self.client.aembed(texts))
