"""GGUF discovery: headers read without loading, the usual folders, names for `serve --model`."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from zenllama import cli
from zenllama.local.gguf import GGUFError, discover_ggufs, gguf_info, resolve_model, scan_ggufs
from zenllama.local.model import default_model_path


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def write_gguf(path: Path, name: str, *, template: bool = True, fim: bool = False) -> Path:
    """A minimal GGUF header (no tensors) with a big string array the reader must skip."""
    kvs = [
        _string("general.architecture") + struct.pack("<I", 8) + _string("qwen2"),
        _string("general.name") + struct.pack("<I", 8) + _string(name),
        _string("general.file_type") + struct.pack("<I", 4) + struct.pack("<I", 15),
        _string("qwen2.context_length") + struct.pack("<I", 4) + struct.pack("<I", 32768),
        _string("tokenizer.ggml.tokens")
        + struct.pack("<I", 9)
        + struct.pack("<IQ", 8, 1000)
        + b"".join(_string(f"tok{i}") for i in range(1000)),
        _string("tokenizer.ggml.scores")
        + struct.pack("<I", 9)
        + struct.pack("<IQ", 6, 1000)
        + b"\0" * 4000,
    ]
    if template:
        kvs.append(_string("tokenizer.chat_template") + struct.pack("<I", 8) + _string("{{x}}"))
    if fim:
        for t in ("pre", "suf", "mid"):
            kvs.append(_string(f"tokenizer.ggml.fim_{t}_token_id") + struct.pack("<II", 4, 7))
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"\0" * 64)
    return path


def test_header_fields_of_a_written_gguf(tmp_path: Path) -> None:
    info = gguf_info(write_gguf(tmp_path / "coder-q4.gguf", "Coder", fim=True))
    assert (info.name, info.architecture, info.quantization) == ("Coder", "qwen2", "Q4_K_M")
    assert info.context_length == 32768
    assert info.has_chat_template and info.has_fim
    assert info.key == "coder-q4"


def test_a_corrupt_string_length_is_a_gguf_error_and_discovery_skips_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first key claims 2**62 bytes: reading it whole would raise MemoryError.
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**62) + b"x" * 64)
    with pytest.raises(GGUFError, match="past the end"):
        gguf_info(bad)
    write_gguf(tmp_path / "good.gguf", "Good")
    assert [m.name for m in discover_ggufs([tmp_path], defaults=False)] == ["Good"]
    assert cli.main(["models", "--local", str(tmp_path)]) == 0
    assert "Good" in capsys.readouterr().out


def test_the_bundled_model_read_without_loading() -> None:
    info = gguf_info(default_model_path())
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 32768
    assert not info.has_chat_template  # the reason the test bed passes templates
    assert info.size_bytes > 200_000_000


def test_discovers_the_usual_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("LLAMA_CACHE", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    write_gguf(tmp_path / ".cache/llama.cpp/a.gguf", "A")
    blob = write_gguf(tmp_path / ".cache/huggingface/hub/models--x--b/blobs/123abc.gguf", "B")
    snap = tmp_path / ".cache/huggingface/hub/models--x--b/snapshots/rev/b-q4.gguf"
    snap.parent.mkdir(parents=True)
    snap.symlink_to(blob)
    write_gguf(tmp_path / ".lmstudio/models/pub/c/c-00001-of-00002.gguf", "C")
    (tmp_path / ".lmstudio/models/pub/c/c-00002-of-00002.gguf").write_bytes(b"x" * 10)
    (tmp_path / ".lmstudio/models/pub/c/broken.gguf").write_bytes(b"not a gguf")
    mine = write_gguf(tmp_path / "mine/d.gguf", "D", template=False)
    found = {m.name: m for m in discover_ggufs([tmp_path / "mine"])}
    assert set(found) >= {"A", "B", "C", "D"}
    assert found["B"].key == "b-q4"  # the snapshot's name, listed once
    assert (
        found["C"].size_bytes
        == (tmp_path / ".lmstudio/models/pub/c/c-00001-of-00002.gguf").stat().st_size + 10
    )
    assert resolve_model("d", [tmp_path / "mine"]) == mine
    assert resolve_model("b", []) == snap  # general.name, any case
    with pytest.raises(FileNotFoundError, match=r"Found: .*\ba\b"):
        resolve_model("nothing-like-it")


def test_cli_lists_local_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_gguf(tmp_path / "coder.gguf", "Coder", fim=True)
    assert cli.main(["models", "--local", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "coder\tCoder | qwen2 | Q4_K_M" in out and "ctx 32768" in out and "FIM" in out


# Hostile files (issue 18 #10): each is skipped with its reason, the rest are listed ----------
def _header(*kvs: bytes) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)


def _nested_arrays(depth: int, innermost: int = 0) -> bytes:
    """An array of an array of … (depth levels) of one item each; the innermost holds
    `innermost` u32 items (claims them: none are written)."""
    return (
        struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 4, innermost)
    )


HOSTILE = {
    # 2**63 items: a seek that far overflows (OverflowError), a loop over them never ends.
    "huge-array.gguf": _header(
        _string("x.big") + struct.pack("<I", 9) + struct.pack("<IQ", 4, 2**63)
    ),
    "huge-string-array.gguf": _header(
        _string("x.big") + struct.pack("<I", 9) + struct.pack("<IQ", 8, 2**63)
    ),
    "huge-nested-array.gguf": _header(_string("x.big") + _nested_arrays(3, innermost=2**62)),
    # A key of 100,000 bytes (the format allows 65,535) and a 2 MB name: read whole otherwise.
    "huge-key.gguf": _header(_string("k" * 100_000) + struct.pack("<II", 4, 0)),
    "huge-name.gguf": _header(
        _string("general.name") + struct.pack("<I", 8) + _string("n" * 2**21)
    ),
}
# Nested arrays (the format allows them) 100,000 deep: a recursive reader overflows its stack.
NESTED = _header(
    _string("x.nested") + _nested_arrays(100_000),
    _string("general.name") + struct.pack("<I", 8) + _string("Deep"),
)


def test_hostile_counts_are_gguf_errors(tmp_path: Path) -> None:
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data + b"\0" * 64)
        with pytest.raises(GGUFError, match=r"past the end|more than the"):
            gguf_info(tmp_path / name)


def test_deeply_nested_arrays_are_read_past(tmp_path: Path) -> None:
    (tmp_path / "deep.gguf").write_bytes(NESTED)
    assert gguf_info(tmp_path / "deep.gguf").name == "Deep"


def test_the_listing_skips_bad_files_with_their_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.gguf")  # opened for reading, it would wait for a writer forever
    write_gguf(tmp_path / "good.gguf", "Good")
    (tmp_path / "deep.gguf").write_bytes(NESTED)
    found, skipped = scan_ggufs([tmp_path], defaults=False)
    assert [m.name for m in found] == ["Deep", "Good"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert set(reasons) == {*HOSTILE, "fifo.gguf"}
    assert "not a regular file" in reasons["fifo.gguf"]
    assert cli.main(["models", "--local", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "Good" in out
    assert "fifo.gguf: not a regular file" in err and "huge-array.gguf: an array of" in err


def test_names_print_safely(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A header's name and a file's name may hold escape codes, newlines, bidi overrides.
    write_gguf(tmp_path / "evil\x1b]0;pwned\x07\n.gguf", "Evil\x1b[2J\nname\u202e")
    assert cli.main(["models", "--local", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    # Every line is a model's (key, tab, fields) or its path (tab first): nothing injected.
    assert all("\t" in line for line in out.splitlines())
    assert "Evil\\x1b[2J\\nname\\u202e" in out and "evil\\x1b]0;pwned\\x07\\n" in out
    with pytest.raises(FileNotFoundError) as caught:  # the names `serve --model` lists
        resolve_model("nothing-like-it", [tmp_path])
    assert "\x1b" not in str(caught.value) and "evil\\x1b]0;pwned" in str(caught.value)
