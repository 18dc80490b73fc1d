"""zen tests: the environment a zen user has (BACKEND_URL, OPENCODE_API_KEY, BACKEND_MODEL)."""

from __future__ import annotations

import pytest

from ..support.fake_zen import FAKE_KEY
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import MODEL, ZEN_URL


@pytest.fixture(autouse=True)
def zen_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_API_KEY", "OPENCODE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKEND_URL", ZEN_URL)
    monkeypatch.setenv("OPENCODE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("BACKEND_MODEL", MODEL)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> SentRequests:
    return spy_requests(monkeypatch)
