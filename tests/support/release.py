"""A release as users get it: the sdist and wheel built from a clean clone's files, and a fresh
venv outside the repository that installs the wheel with its extras (pip resolves the rest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tracked(under: Path) -> list[str]:
    """What a clean clone has below `under`, relative to the repository."""
    out = subprocess.run(
        ["git", "ls-files", "--", str(under)], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return out.split()


def build_dist(root: Path) -> Path:
    """sdist, then the wheel built from that sdist (as `python -m build` does), from a copy of
    the tracked files only; returns the folder holding both."""
    source = root / "source"
    for name in tracked(REPO):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / name).read_bytes())
    out = root / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0 or "SetuptoolsDeprecationWarning" in build.stdout + build.stderr:
        raise RuntimeError(build.stdout[-3000:] + build.stderr[-3000:])
    return out


def install_wheel(dist: Path, venv: Path, constraints: Path | None = None) -> Path:
    """A fresh venv at `venv` with `zenllama[all]` from the wheel in `dist`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(dist.glob("zenllama-*.whl"))
    pinned = ["-c", str(constraints)] if constraints else []
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{wheel}[all]", *pinned],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise RuntimeError(install.stdout[-3000:] + install.stderr[-3000:])
    return python
