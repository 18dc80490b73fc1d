"""GGUF discovery: headers read without loading, the usual folders, names for `serve --model`."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from zenllama import cli
from zenllama.local.gguf import GGUFError, discover_ggufs, gguf_info, resolve_model
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
