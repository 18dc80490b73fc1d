"""Fixtures for embeddings: the loopback fake, and a llama-server with pooling `none`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from zenllama.local import LlamaServer

from ..conftest import _serve
from .fake import EmbeddingsFake

T = TypeVar("T")

# What llama-server's /props carries that makes zenllama detect it.
LLAMA_PROPS: dict[str, Any] = {"default_generation_settings": {"n_ctx": 2048}, "total_slots": 2}


@pytest.fixture
def fake() -> Iterator[EmbeddingsFake]:
    server = EmbeddingsFake().start()
    yield server
    server.stop()


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
