"""The real llama-server test bed: one server per chat template, started once per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from zenllama.local import LlamaServer

from .fakes import FakeServer
from .gateway.bed import gateway  # noqa: F401 - the session fixture, for every test folder


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _serve(**kwargs: object) -> Iterator[LlamaServer]:
    server = LlamaServer(progress=_progress, **kwargs)  # type: ignore[arg-type]
    with server:
        yield server


@pytest.fixture(scope="session")
def tools_server() -> Iterator[LlamaServer]:
    """Llama 3.1 template: real `tool_calls`."""
    yield from _serve(template="tools")


@pytest.fixture(scope="session")
def reasoning_server() -> Iterator[LlamaServer]:
    """Qwen3 template: real `reasoning_content`."""
    yield from _serve(template="reasoning")


@pytest.fixture(scope="session")
def embeddings_server() -> Iterator[LlamaServer]:
    """`--embeddings --pooling mean`: serves /v1/embeddings."""
    yield from _serve(template=None, embeddings=True)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """A scripted OpenAI-compatible server on loopback (offline tests of the real transport)."""
    server = FakeServer()
    yield server
    server.close()
