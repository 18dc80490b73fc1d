"""The zen cassettes say they are synthesized and hold no key."""

from __future__ import annotations

import re

import pytest

from ..support.fake_zen import FAKE_KEY
from ..support.recorded import CASSETTES
from ..support.synthesized import SYNTHESIZING

pytestmark = pytest.mark.skipif(SYNTHESIZING, reason="the cassettes are being rewritten")


def test_zen_cassettes_are_labelled_and_hold_no_key() -> None:
    files = sorted((CASSETTES / "zen").glob("*.yaml"))
    assert files, "no zen cassettes: run `make synthesize`"
    for path in files:
        text = path.read_text()
        assert text.startswith("# provenance: SYNTHESIZED"), path.name
        assert "\nprovenance: synthesized\n" in text, path.name
        assert FAKE_KEY not in text and "sk-zen" not in text, path.name
        assert not re.search(r"(?im)^\s*(authorization|api-key|x-api-key):", text), path.name
