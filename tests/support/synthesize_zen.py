"""Re-writes every zen cassette: `make synthesize` runs this file.

zen cannot be reached from here, so its cassettes are SYNTHESIZED, never recorded: the tests
that replay them (tests/zen and the zen leg of tests/scenarios) run with ZENLLAMA_SYNTHESIZE=1,
their requests to https://opencode.ai/zen/v1 are answered in-process by `fake_zen.FakeZen`
(zen's documented wire format), and vcr writes what was sent and answered, each file labelled
by `make_vcr(..., synthesized=True)`. The request side is therefore exactly what the suite
sends; the answers are only as true as zen's documentation (https://opencode.ai/docs/zen).

The notebooks' zen cells (notebooks/show.py: zen_or_replay) are synthesized the same way, by
executing those notebooks with ZENLLAMA_SYNTHESIZE=1 (this needs the local llama-server test bed,
which their other cells use).

Then the same tests replay the new cassettes offline, which also checks that none holds a key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "cassettes" / "zen"
TESTS = ["tests/zen", "tests/scenarios"]
NOTEBOOKS = ["tests/notebooks", "-k", "quickstart or agent or caching"]
# The llama-server legs of the scenarios run live or replay recordings: none is synthesized.
SELECT = ["-m", "not llama_server and not llama_server_cassette", "-p", "no:cacheprovider", "-q"]


def _pytest(*args: str, **env: str) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    return subprocess.call(command, cwd=ROOT, env={**os.environ, **env})


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for stale in FOLDER.glob("*.yaml"):
        stale.unlink()
    if code := _pytest(*SELECT, *TESTS, ZENLLAMA_SYNTHESIZE="1") or _pytest(
        "-q", "-p", "no:cacheprovider", *NOTEBOOKS, ZENLLAMA_SYNTHESIZE="1"
    ):
        print("synthesizing failed; see the test output above", file=sys.stderr)
        return code
    written = sorted(p.name for p in FOLDER.glob("*.yaml"))
    print(f"wrote {len(written)} cassettes to {FOLDER.relative_to(ROOT)}: {', '.join(written)}")
    return _pytest(*SELECT, *TESTS, ZENLLAMA_SYNTHESIZE="0")


if __name__ == "__main__":
    sys.exit(main())
