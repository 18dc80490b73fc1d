"""Fixtures for the LlamaIndex layer: a loopback fake server and a ZenLlama pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zenllama.llama_index import ZenLlama

from .fake_server import FakeServer


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm(fake: FakeServer) -> ZenLlama:
    return ZenLlama(base_url=fake.base_url, max_retries=0, temperature=0)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every call-level test runs once through the sync and once through the async form."""
    return str(request.param)
