"""Embeddings fixtures: the loopback fake with computed vectors, llama-server with pooling none."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from zenllama.local import LlamaServer

from ..conftest import _serve
from ..fakes import FakeServer
from .answers import EmbeddingsFake

T = TypeVar("T")


@pytest.fixture
def fake(fake: FakeServer) -> EmbeddingsFake:
    """The loopback fake server, answering /v1/embeddings with vectors computed from the texts."""
    return EmbeddingsFake(fake)


@pytest.fixture(scope="session")
def pooling_none_server() -> Iterator[LlamaServer]:
    """`--embeddings --pooling none`: serves only llama-server's own /embeddings."""
    yield from _serve(template=None, extra_args=["--embeddings", "--pooling", "none"])


Run = Callable[[Callable[[], T], Callable[[], Coroutine[Any, Any, T]]], Coroutine[Any, Any, T]]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run[Any]:
    """Runs each call through its sync form or its async form, so one test covers both."""

    async def call(sync: Callable[[], T], async_: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return sync() if request.param == "sync" else await async_()

    return call
