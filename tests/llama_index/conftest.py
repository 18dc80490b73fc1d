"""Fixtures for the LlamaIndex layer: a ZenLlama pointed at the loopback fake server (`fake`)."""

from __future__ import annotations

import pytest

from zenllama.llama_index import ZenLlama

from ..support.fake_servers import FakeServer


@pytest.fixture
def llm(fake: FakeServer) -> ZenLlama:
    return ZenLlama(base_url=fake.base_url, max_retries=0, temperature=0)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every call-level test runs once through the sync and once through the async form."""
    return str(request.param)
