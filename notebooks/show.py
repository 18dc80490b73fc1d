"""What the notebooks share: printing streams, usage lines, and zen without a key.

With no zen key set, `zen_or_replay` replays cassettes/zen/<name>.yaml, which are SYNTHESIZED
from zen's documented wire format (tests/support/synthesize_zen.py writes them by running
these notebooks against a stand-in for zen), and says so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

ROOT = Path(__file__).resolve().parent.parent
ZEN_URL = "https://opencode.ai/zen/v1"


def stream_reply(llm: BaseChatModel, prompt: str | list[BaseMessage]) -> AIMessageChunk:
    """Prints reasoning and answer apart as they arrive; returns the merged message."""
    merged: AIMessageChunk | None = None
    showing = ""
    for chunk in llm.stream(prompt):
        for part, text in (
            ("reasoning", chunk.additional_kwargs.get("reasoning_content", "")),
            ("answer", chunk.content),
        ):
            if text:
                if part != showing:
                    print(f"\n[{part}] ", end="")
                    showing = part
                print(text, end="", flush=True)
        merged = chunk if merged is None else merged + chunk  # type: ignore[assignment]
    print()
    assert merged is not None
    return merged


def usage_line(message: AIMessage) -> str:
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    line = (
        f"tokens in={usage.get('input_tokens')} out={usage.get('output_tokens')} "
        f"cache_read={usage.get('input_token_details', {}).get('cache_read')} "
        f"reasoning={usage.get('output_token_details', {}).get('reasoning')}"
    )
    timings = message.response_metadata.get("timings")
    if timings:
        line += f" | {timings['predicted_per_second']:.0f} tokens/s (llama.cpp timings)"
    return line


@contextmanager
def zen_or_replay(cassette: str) -> Iterator[None]:
    """zen itself with your key (BACKEND_API_KEY or OPENCODE_API_KEY); else a replay."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if os.environ.get("ZENLLAMA_SYNTHESIZE") == "1":  # writing the cassette, see module doc
        from tests.support.fake_zen import FAKE_KEY
        from tests.support.synthesized import zen_cassette

        with _env("BACKEND_API_KEY", FAKE_KEY), zen_cassette(cassette):
            yield
        return
    if os.environ.get("BACKEND_API_KEY") or os.environ.get("OPENCODE_API_KEY"):
        print("Calling zen with your key.")
        yield
        return
    from tests.support.recorded import make_vcr

    print(
        f"No zen key set: replaying cassettes/zen/{cassette}.yaml, SYNTHESIZED from zen's "
        "documented wire format (not a recording). Set OPENCODE_API_KEY to call zen itself."
    )
    # Replays match the request body, never the key; zenllama still wants one for zen.
    with (
        _env("BACKEND_API_KEY", "replay-needs-no-key"),
        make_vcr("zen", synthesized=True).use_cassette(cassette),
    ):
        yield


def zen_key() -> str:
    """A key for a zen fallback built outside `zen_or_replay`: yours, the fake zen's while
    synthesizing, else a stand-in (replays never match the key)."""
    if os.environ.get("ZENLLAMA_SYNTHESIZE") == "1":
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from tests.support.fake_zen import FAKE_KEY

        return FAKE_KEY
    return (
        os.environ.get("OPENCODE_API_KEY")
        or os.environ.get("BACKEND_API_KEY")
        or "replay-needs-no-key"
    )


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old
