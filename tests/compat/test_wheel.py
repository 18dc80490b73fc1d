"""Users install a wheel: build one as a release would, install it in a fresh venv outside the
repository, and run `zenllama serve` and `zenllama demo` from there."""

from __future__ import annotations

import os
import signal
import subprocess
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from zenllama.local import find_llama_server, free_port

from ..support.ctrl_c import interruptible
from ..support.release import REPO, build_dist, install_wheel, tracked

PACKAGE = REPO / "integrations" / "zenllama"

pytestmark = [pytest.mark.llama_server, pytest.mark.wheel]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist(tmp_path_factory.mktemp("release"))


def _package_files() -> set[str]:
    return {
        name.removeprefix("integrations/")
        for name in tracked(PACKAGE)
        if "__pycache__" not in name
    }


def test_wheel_and_sdist_carry_every_file_the_package_has(dist: Path) -> None:
    wheel = next(dist.glob("zenllama-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {n for n in archive.namelist() if n.startswith("zenllama/")}
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        assert "License-Expression: MIT" in archive.read(metadata).decode()
    expected = _package_files()
    assert any(name.endswith(".jinja") for name in expected)
    assert expected - in_wheel == set(), "missing from the wheel"

    sdist = next(dist.glob("zenllama-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        in_sdist = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {f"integrations/{name}" for name in expected} - in_sdist == set(), "missing in sdist"


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its extras; nothing of the repository on its path."""
    home = tmp_path_factory.mktemp("user")
    install_wheel(dist, home / "venv")
    return home / "venv"


def _user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BACKEND_"))}
    # The llama-server this suite uses (built once, cached): the wheel must not rebuild it.
    env["LLAMA_SERVER_BIN"] = str(find_llama_server(build=False))
    return env


def test_the_installed_package_comes_from_the_venv(venv: Path) -> None:
    where = subprocess.run(
        [str(venv / "bin/python"), "-c", "import zenllama; print(zenllama.__file__)"],
        cwd=venv.parent,
        env=_user_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where


@pytest.fixture
def served(venv: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(venv / "bin/zenllama"), "serve", "--port", str(port)],
        cwd=venv.parent,
        env=_user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=interruptible,  # the test stops it with Ctrl-C (SIGINT)
    )
    yield proc, port
    proc.kill()
    proc.wait()


def test_zenllama_serve_from_the_wheel(served: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = served
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(3)]
    assert f"export BACKEND_URL=http://127.0.0.1:{port}/v1" in "".join(lines)
    # Bounds that trip only on a hang: a loaded machine answers and shuts down slowly.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=120) as answer:
        assert b'"ok"' in answer.read()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=300) == 0


def test_zenllama_demo_from_the_wheel(venv: Path) -> None:
    demo = subprocess.run(
        [str(venv / "bin/zenllama"), "demo"],
        cwd=venv.parent,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "[tool call]" in demo.stdout
    # A first run prints progress lines, never a wall of warnings.
    assert "Warning" not in demo.stderr, demo.stderr[-3000:]
