"""zen cassettes: replayed offline; written only by `tests/support/synthesize_zen.py`.

That script runs the zen tests with ZENLLAMA_SYNTHESIZE=1: each `zen_cassette` then records what
the client sends to https://opencode.ai/zen/v1 and what `FakeZen` (zen's documented format)
answers. Every file is labelled SYNTHESIZED by `make_vcr(..., synthesized=True)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .fake_zen import FakeZen
from .recorded import make_vcr

SYNTHESIZING = os.environ.get("ZENLLAMA_SYNTHESIZE") == "1"
ZEN_URL = "https://opencode.ai/zen/v1"
MODEL = "glm-4.7"

_VCR = make_vcr("zen", synthesized=True)
# One fake for a whole synthesis run: zen's prompt cache lives across requests of a session.
_FAKE = FakeZen()


@contextmanager
def zen_cassette(name: str) -> Iterator[FakeZen]:
    """Replays cassettes/zen/<name>.yaml; when synthesizing, (re)writes it from `FakeZen`.

    The yielded fake takes `script()`ed answers; on replay the cassette already holds them.
    """
    if not SYNTHESIZING:
        with _VCR.use_cassette(name):
            yield FakeZen()
        return
    with _FAKE.serving(), _VCR.use_cassette(name, record_mode="all"):
        yield _FAKE
