"""ZenLlamaEmbeddings: langchain-tests' standard suites, plus what they do not look at."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from zenllama.core import EmbeddingsNotEnabledError
from zenllama.langchain import ZenLlamaEmbeddings
from zenllama.local import LlamaServer

from ..support.embeddings_fake import EmbeddingsFake, vector
from ..support.embeddings_fake import embeddings_fake as embeddings_fake  # `fake` here


class TestZenLlamaEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[ZenLlamaEmbeddings]:
        return ZenLlamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"base_url": "http://127.0.0.1:9/v1", "model": "nomic-embed-text"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "BACKEND_URL": "http://10.0.0.5:8080/v1/",
                "BACKEND_API_KEY": "sk-from-env",
                "BACKEND_MODEL": "nomic-embed-text",
            },
            {},
            {
                "base_url": "http://10.0.0.5:8080/v1",
                "api_key": "sk-from-env",
                "model": "nomic-embed-text",
            },
        )


@pytest.mark.llama_server
class TestZenLlamaEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """Against the real llama-server started with `--embeddings --pooling mean`."""

    server: LlamaServer

    @pytest.fixture(autouse=True)
    def _server(self, embeddings_server: LlamaServer) -> None:
        type(self).server = embeddings_server

    @property
    def embeddings_class(self) -> type[ZenLlamaEmbeddings]:
        return ZenLlamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"base_url": self.server.base_url}


def test_the_key_stays_secret() -> None:
    embeddings = ZenLlamaEmbeddings(base_url="http://127.0.0.1:9/v1", api_key="sk-secret")
    assert "sk-secret" not in repr(embeddings)
    assert "sk-secret" not in str(embeddings.client.settings)


async def test_four_calls_agree_and_keep_usage(fake: EmbeddingsFake) -> None:
    embeddings = ZenLlamaEmbeddings(base_url=fake.base_url, batch_size=2, max_retries=0)
    assert embeddings.last_usage is None
    texts = ["one\ntwo", "three", "four five"]
    assert embeddings.embed_documents(texts) == [vector(t) for t in texts]
    assert embeddings.last_usage is not None and embeddings.last_usage.input_tokens == 8
    assert await embeddings.aembed_documents(texts) == [vector(t) for t in texts]
    assert embeddings.embed_query("q") == await embeddings.aembed_query("q") == vector("q")
    assert embeddings.last_usage.total_tokens == 2  # the last call's, not a running sum
    # Async batches may arrive in either order.
    assert sorted(map(tuple, fake.inputs)) == sorted(
        [tuple(texts[:2]), tuple(texts[2:])] * 2 + [("q",)] * 2
    )


def test_empty_documents(fake: EmbeddingsFake) -> None:
    assert ZenLlamaEmbeddings(base_url=fake.base_url).embed_documents([]) == []
    assert fake.paths == []


def test_errors_reach_the_user_typed(fake: EmbeddingsFake) -> None:
    message = "This server does not support embeddings. Start it with `--embeddings`"
    fake.fail((501, {"error": {"code": 501, "message": message, "type": "not_supported"}}))
    with pytest.raises(EmbeddingsNotEnabledError, match="--pooling mean"):
        ZenLlamaEmbeddings(base_url=fake.base_url, max_retries=0).embed_query("a")
