"""Speculative decoding on the real llama-server: tokens/s with and without n-gram drafts.

Two servers with the bundled model, one plain and one with `speculative="ngram"`, answer the
same request to repeat a text (as code edits and quoting do), through ChatZenLlama. Generation
speed is llama-server's own `timings.predicted_per_second`, best of N; the draft statistics
(draft_n / draft_n_accepted) come from the same `timings`.
"""

from __future__ import annotations

import sys
from typing import Any

from zenllama.langchain import ChatZenLlama
from zenllama.local import LlamaServer

REQUEST: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 120}
# Drafts come from n-grams seen earlier in the context: a text to repeat, as in code edits.
PROMPT = "Repeat this text: " + "the cat sat on the mat. " * 8


def _quiet(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _best(base_url: str, repeats: int) -> dict[str, Any]:
    llm = ChatZenLlama(base_url=base_url, **REQUEST)
    runs = [llm.invoke(PROMPT).response_metadata["timings"] for _ in range(max(repeats, 2))]
    return dict(max(runs, key=lambda t: t["predicted_per_second"]))


def main(base_url: str, repeats: int) -> None:  # base_url: unused, starts its own servers
    print("\nspeculative decoding (real llama-server, Gemma 3 270M, repetitive answer)")
    results = {}
    for name, options in (("plain", {}), ("ngram drafts", {"speculative": "ngram"})):
        with LlamaServer(parallel=1, progress=_quiet, **options) as server:  # type: ignore[arg-type]
            results[name] = _best(server.base_url, repeats)
    for name, t in results.items():
        drafts = (
            f", drafts {t['draft_n_accepted']}/{t['draft_n']} accepted" if "draft_n" in t else ""
        )
        print(
            f"  {name:13} {t['predicted_per_second']:7.1f} tokens/s "
            f"({t['predicted_n']} tokens{drafts})"
        )
    ratio = (
        results["ngram drafts"]["predicted_per_second"] / results["plain"]["predicted_per_second"]
    )
    print(f"  speed-up {ratio:.2f}x")
