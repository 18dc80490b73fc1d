"""What `LlamaServer` / `zenllama serve` pass to llama-server for the power features."""

from __future__ import annotations

from pathlib import Path

import pytest

from zenllama.local import server as server_module
from zenllama.local.model import CODER, GEMMA_FILE
from zenllama.local.server import LlamaServer, template_path


@pytest.fixture(autouse=True)
def _no_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_module, "find_llama_server", lambda progress: Path("llama-server"))
    monkeypatch.setattr(server_module, "default_model_path", lambda progress: tmp_path / "m.gguf")


def _after(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_slot_folder_brings_swa_full(tmp_path: Path) -> None:
    cmd = LlamaServer(slot_save_path=tmp_path).command()
    assert _after(cmd, "--slot-save-path") == str(tmp_path)
    assert "--swa-full" in cmd
    assert "--swa-full" not in LlamaServer().command()


def test_speculative_flags(tmp_path: Path) -> None:
    assert _after(LlamaServer(speculative="ngram").command(), "--spec-type") == "ngram-simple"
    draft = tmp_path / "draft.gguf"
    draft.write_bytes(b"GGUF")
    for speculative in ("draft", None):
        cmd = LlamaServer(speculative=speculative, draft_model=draft).command()
        assert _after(cmd, "--model-draft") == str(draft)
        assert _after(cmd, "--spec-type") == "draft-simple"
    with pytest.raises(ValueError, match="needs draft_model"):
        LlamaServer(speculative="draft").command()
    with pytest.raises(ValueError, match="ngram"):
        LlamaServer(speculative="magic").command()
    with pytest.raises(FileNotFoundError):
        LlamaServer(draft_model=tmp_path / "missing.gguf").command()


def test_router_mode_has_no_single_model(tmp_path: Path) -> None:
    cmd = LlamaServer(models_dir=tmp_path, models_max=2).command()
    assert _after(cmd, "--models-dir") == str(tmp_path)
    assert _after(cmd, "--models-max") == "2"
    assert "--model" not in cmd


def test_router_gives_each_known_model_its_own_template(tmp_path: Path) -> None:
    cache, folder = tmp_path / "cache", tmp_path / "models"
    cache.mkdir()
    folder.mkdir()
    for file in (GEMMA_FILE, CODER.file, "mystery.gguf"):
        (cache / file).write_bytes(b"GGUF")
    (folder / "small.gguf").symlink_to(cache / GEMMA_FILE)  # known by the file it points to
    (folder / "mystery.gguf").symlink_to(cache / "mystery.gguf")  # keeps its own template
    (folder / "qwen").mkdir()  # a model in a subfolder is named after the folder
    (folder / "qwen" / CODER.file).symlink_to(cache / CODER.file)
    (folder / "README.gguf.txt").write_text("not a model")
    server = LlamaServer(models_dir=folder)
    cmd = server.command()
    assert "--chat-template-file" not in cmd  # on the router's command line it beats presets
    preset = Path(_after(cmd, "--models-preset"))
    assert preset.read_text().splitlines() == [
        "version = 1",
        "[qwen]",
        f"chat-template-file = {template_path('qwen-tools')}",
        "[small]",
        f"chat-template-file = {template_path('gemma')}",
    ]
    server.stop()
    assert not preset.exists()
    # A template named explicitly is every model's; none leaves each its GGUF's own.
    one = LlamaServer(models_dir=folder, template="tools").command()
    assert "--models-preset" not in one
    assert _after(one, "--chat-template-file") == str(template_path("tools"))
    own = LlamaServer(models_dir=folder, template=None).command()
    assert "--models-preset" not in own and "--chat-template-file" not in own
