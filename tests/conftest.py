"""The real llama-server test bed: one server per chat template, started once per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import settings

from zenllama.local import LlamaServer

from .support.fake_servers import FakeServer
from .support.gateway_bed import gateway  # noqa: F401 - the session fixture, for every test folder
from .support.testbed import REASONING_MODEL

# Property tests draw the same examples on every run and machine, so a suite that passes here
# passes in CI; widen the search by raising an example count while working on a parser.
settings.register_profile("zenllama", derandomize=True)
settings.load_profile("zenllama")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# One thread per server: the suite runs several at once on a small, shared machine.
# ZENLLAMA_TEST_THREADS=0 gives every test server llama-server's own default instead.
SERVER_THREADS = int(os.environ.get("ZENLLAMA_TEST_THREADS", "1")) or None


def _serve(**kwargs: object) -> Iterator[LlamaServer]:
    server = LlamaServer(progress=_progress, threads=SERVER_THREADS, **kwargs)  # type: ignore[arg-type]
    with server:
        yield server


@pytest.fixture(scope="session")
def tools_server() -> Iterator[LlamaServer]:
    """Qwen2.5-Coder-0.5B with the bare-JSON tools template: real `tool_calls`, unsteered."""
    yield from _serve(model="coder")


@pytest.fixture(scope="session")
def chain_server() -> Iterator[LlamaServer]:
    """Qwen2.5-Coder-1.5B (qwen-chain template): finishes the two-step tool chains the 0.5B
    loops on (1.1 GB, fetched once; only the chain tests start it)."""
    yield from _serve(model="coder-1.5b", parallel=1)


@pytest.fixture(scope="session")
def reasoning_server() -> Iterator[LlamaServer]:
    """Qwen3 template: real `reasoning_content` when THINK_GRAMMAR makes the model think."""
    yield from _serve(model=REASONING_MODEL, template="reasoning")


@pytest.fixture(scope="session")
def embeddings_server() -> Iterator[LlamaServer]:
    """all-MiniLM-L6-v2, `--embeddings --pooling mean`: real sentence embeddings (384 dims)."""
    yield from _serve(model="minilm", ctx_size=512, embeddings=True)


@pytest.fixture(scope="session")
def pooling_none_server() -> Iterator[LlamaServer]:
    """`--embeddings --pooling none`: serves only llama-server's own /embeddings."""
    yield from _serve(template=None, extra_args=["--embeddings", "--pooling", "none"])


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """A scripted OpenAI-compatible server on loopback (offline tests of the real transport)."""
    server = FakeServer()
    yield server
    server.close()


T = TypeVar("T")
Run = Callable[[Callable[[], T], Callable[[], Coroutine[Any, Any, T]]], Coroutine[Any, Any, T]]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run[Any]:
    """Runs each call through its sync form or its async form, so one test covers both."""

    async def call(sync: Callable[[], T], async_: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return sync() if request.param == "sync" else await async_()

    return call
