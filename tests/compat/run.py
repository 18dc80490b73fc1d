"""Runs the suite on what users install: the built wheel in a fresh venv, resolved to the
newest versions pyproject.toml allows (`newest`, what `pip install zenllama[all]` gets today)
or to its declared lower bounds (`oldest`, tests/compat/oldest.txt).

    python -m tests.compat.run newest|oldest

Prints the resolved versions, then runs the offline suite and the live subset (marker
`users_get`) from this checkout's tests against the installed wheel; where the versions are
the very ones of the venv running it (the project's), the live subset only. Test tools are
added under the resolved versions as constraints, so they never change what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.release import REPO, build_dist, install_wheel

OLDEST = Path(__file__).with_name("oldest.txt")
SHOWN = ["openai", "httpx", "httpx2", "pydantic", "langchain-core", "llama-index-core"]
TOOLS = ["pytest>=8", "pytest-asyncio>=0.23", "hypothesis>=6.100", "vcrpy>=8.2", "pyyaml"]
# Files that need packages outside `zenllama[all]` (langchain-tests, langchain, nbclient):
# the project's own venv runs them.
NOT_HERE = [
    "tests/langchain/test_standard.py",
    "tests/langchain/test_embeddings.py",
    "tests/routing/test_frameworks.py",
    "tests/langchain/test_llama_server.py",
    "tests/langchain/test_prompt_cache.py",
    "tests/notebooks",
    "tests/gateway",
    "tests/compat/test_wheel.py",
]


def versions(python: Path) -> dict[str, str | None]:
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError: out[name] = None\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run(
        [str(python), "-c", code, *SHOWN], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def add_test_tools(python: Path, work: Path) -> None:
    """pytest & co. under the resolved versions as constraints: what is tested stays put."""
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze"], check=True, capture_output=True, text=True
    ).stdout
    constraints = work / "resolved.txt"
    constraints.write_text(
        "\n".join(line for line in frozen.splitlines() if not line.startswith("zenllama"))
    )
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", str(constraints), *TOOLS],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise RuntimeError(install.stdout[-3000:] + install.stderr[-3000:])


def main(which: str) -> int:
    if which not in ("newest", "oldest"):
        raise SystemExit("usage: python -m tests.compat.run newest|oldest")
    with tempfile.TemporaryDirectory(prefix=f"zenllama-{which}-") as tmp:
        work = Path(tmp)
        print(f"[{which}] building the wheel and a fresh venv…", flush=True)
        dist = build_dist(work / "release")
        python = install_wheel(dist, work / "venv", OLDEST if which == "oldest" else None)
        resolved = versions(python)
        add_test_tools(python, work)
        if versions(python) != resolved:
            raise RuntimeError("installing the test tools changed the resolved versions")
        print(f"[{which}] " + ", ".join(f"{k} {v}" for k, v in resolved.items() if v), flush=True)
        selection = "users_get or not (llama_server or gateway or wheel)"
        if resolved == versions(Path(sys.executable)):
            # The project venv (fresh in CI) resolved the same versions, and `make test` ran
            # the whole suite there just before: only the live subset is new from the wheel.
            selection = "users_get"
            print(f"[{which}] same versions as the project venv: the live subset", flush=True)
        command = [
            str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
            "-m", selection, *(f"--ignore={path}" for path in NOT_HERE),
        ]  # fmt: skip
        env = {**os.environ, "ZENLLAMA_COMPAT": which}
        env.pop("PYTHONPATH", None)
        return subprocess.run(command, cwd=REPO, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
