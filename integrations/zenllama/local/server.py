"""Starts llama-server on a free loopback port, waits until it is ready, and stops it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from .binary import Progress, find_llama_server
from .model import (
    CODER,
    CODER_15B,
    GEMMA_FILE,
    MINILM_FILE,
    coder_15b_model_path,
    coder_model_path,
    default_model_path,
    embedding_model_path,
)

TEMPLATES = Path(__file__).with_name("templates")
# Named chat templates: Gemma has none of its own; Qwen-coder's own gives no tool calls.
TEMPLATE_FILES = {
    "gemma": "gemma-turns.jinja",
    "tools": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "reasoning": "Qwen-Qwen3-0.6B.jinja",
    "glm": "GLM-4.7-Flash.jinja",
    "qwen-tools": "qwen-bare-json-tools.jinja",
    "qwen-chain": "qwen-bare-json-tools-chain.jinja",
}

# The local models by name: how to get each, and the template it is served with by default.
MODELS: dict[str, tuple[Callable[[Progress], Path], str | None]] = {
    "gemma": (default_model_path, "gemma"),
    "coder": (coder_model_path, "qwen-tools"),
    "coder-1.5b": (coder_15b_model_path, "qwen-chain"),
    "minilm": (embedding_model_path, None),
}
# Their files' names, by which a router recognises them in any folder (symlinks followed).
MODEL_FILES = {
    "gemma": GEMMA_FILE,
    "coder": CODER.file,
    "coder-1.5b": CODER_15B.file,
    "minilm": MINILM_FILE,
}
# `template="default"`: the named model's template above; a GGUF path keeps its own.
DEFAULT_TEMPLATE = "default"


def template_path(name_or_path: str) -> Path:
    if name_or_path in TEMPLATE_FILES:
        return TEMPLATES / TEMPLATE_FILES[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(TEMPLATE_FILES)
        raise FileNotFoundError(f"No chat template {name_or_path!r}: use one of {names} or a path")
    return path


def router_templates(models_dir: Path) -> dict[str, Path]:
    """Router mode: the chat template of each model in `models_dir` that zenllama knows, by the
    router's name for it (a GGUF's file name without .gguf, or its subfolder's name). Every
    other model keeps the template its GGUF carries."""
    known = {file: MODELS[name][1] for name, file in MODEL_FILES.items()}
    templates = {}
    for entry in sorted(models_dir.iterdir()):
        files = sorted(entry.glob("*.gguf")) if entry.is_dir() else [entry]
        for file in files:
            template = known.get(file.resolve().name) if file.suffix == ".gguf" else None
            if template:
                templates[entry.name.removesuffix(".gguf")] = template_path(template)
    return templates


def presets_ini(templates: dict[str, Path]) -> str:
    """llama-server's --models-preset file: one section per model, its own chat template.
    (A template on the router's command line would override every model's.)"""
    lines = ["version = 1"]
    for name, path in templates.items():
        # The INI has no quoting: `]` ends a section name, `;` and `#` start a comment.
        if set("];#\n") & set(name + str(path)):
            raise ValueError(f"Router model {name!r} ({path}): rename it without ] ; # or newlines")
        lines += [f"[{name}]", f"chat-template-file = {path}"]
    return "\n".join(lines) + "\n"


# `speculative` names: ours -> llama-server's --spec-type.
SPECULATIVE_TYPES = {"ngram": "ngram-simple", "draft": "draft-simple"}


def speculative_args(speculative: str | None, draft_model: Path | None) -> list[str]:
    """--spec-type (and --model-draft): this llama-server drafts only with a type named, even
    when a draft model is given."""
    if speculative is None and draft_model is None:
        return []
    spec_type = SPECULATIVE_TYPES.get(speculative or "draft", speculative or "")
    if not spec_type.startswith(("ngram-", "draft-")):
        raise ValueError(
            f"speculative={speculative!r}: use 'ngram' (no draft model) or 'draft' with "
            "draft_model, or one of llama-server's ngram-*/draft-* types"
        )
    args = ["--spec-type", spec_type]
    if spec_type.startswith("draft-"):
        if draft_model is None:
            raise ValueError(
                f"speculative={speculative!r} needs draft_model=<a small GGUF of the same family>"
            )
        if not Path(draft_model).is_file():
            raise FileNotFoundError(f"No draft model at {draft_model}: pass a GGUF file")
        args += ["--model-draft", str(draft_model)]
    elif draft_model is not None:
        raise ValueError(f"draft_model is used only with speculative='draft', not {speculative!r}")
    return args


def stop_process(proc: subprocess.Popen[Any] | None, grace: float) -> None:
    """Asks a child to end, and ends it if it has not within `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """One llama-server process. Use as a context manager, or call start() and stop()."""

    # A name from MODELS ("gemma", "coder", "minilm"), a GGUF path, or None for "gemma".
    model: Path | str | None = None
    # A name from TEMPLATE_FILES, a path, None for the model's own, or "default" (see MODELS).
    template: str | None = DEFAULT_TEMPLATE
    # The address it listens on: loopback unless told (0.0.0.0: every interface).
    host: str = "127.0.0.1"
    port: int = 0
    ctx_size: int = 4096
    parallel: int = 2
    # None: llama-server's default (all cores). On a machine shared by many servers, 1 thread
    # each is faster overall: idle-spinning threads of a busy server starve the others.
    threads: int | None = None
    embeddings: bool = False
    # A folder for slot KV-cache files (/slots/{id}?action=save|restore).
    slot_save_path: Path | None = None
    # "ngram": model-free n-gram drafting; or a draft GGUF (`draft_model`) for speculation.
    speculative: str | None = None
    draft_model: Path | None = None
    # Router mode: every GGUF in this folder served by name, loaded on demand.
    models_dir: Path | None = None
    models_max: int | None = None
    extra_args: list[str] = field(default_factory=list)
    progress: Progress = print
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: Path | None = field(default=None, init=False, repr=False)
    _presets: Path | None = field(default=None, init=False, repr=False)

    @property
    def root_url(self) -> str:
        # A server on every interface is reached here through loopback.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def model_path(self) -> Path:
        name = self.model or "gemma"
        if isinstance(name, str) and name in MODELS:
            return MODELS[name][0](self.progress)
        path = Path(name)
        if not path.is_file():
            names = ", ".join(MODELS)
            raise FileNotFoundError(f"No model {str(name)!r}: use one of {names} or a GGUF path")
        return path

    def template_name(self) -> str | None:
        """The one template for every model: in router mode only one named explicitly (the
        default there is each model's own, see router_templates)."""
        if self.template != DEFAULT_TEMPLATE:
            return self.template
        if self.models_dir is not None:
            return None
        name = self.model or "gemma"
        return MODELS[name][1] if isinstance(name, str) and name in MODELS else None

    def command(self) -> list[str]:
        cmd = [str(find_llama_server(progress=self.progress))]
        if self.models_dir is not None:
            cmd += ["--models-dir", str(self.models_dir)]
            if self.models_max is not None:
                cmd += ["--models-max", str(self.models_max)]
            if self.template == DEFAULT_TEMPLATE:
                templates = router_templates(self.models_dir)
                if templates:
                    cmd += ["--models-preset", str(self._write_presets(presets_ini(templates)))]
        else:
            cmd += ["--model", str(self.model_path())]
        cmd += [
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--ctx-size",
            str(self.ctx_size),
            "--parallel",
            str(self.parallel),
            "--jinja",
            "--no-webui",
        ]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        template = self.template_name()
        if template:
            cmd += ["--chat-template-file", str(template_path(template))]
        if self.embeddings:
            # With per-slot KV caches (the default), a sequence batched with another gets a
            # different vector on llama.cpp 11434; one unified cache keeps vectors exact.
            cmd += ["--embeddings", "--pooling", "mean", "--kv-unified"]
        if self.slot_save_path is not None:
            # Sliding-window models (Gemma 3) keep only the last window of the KV cache; a
            # request may reuse a cached prefix only through a context checkpoint, and those
            # live in memory, not in the slot file. --swa-full keeps the whole cache, so a
            # restored slot is reused (llama-server ignores the flag on other models).
            cmd += ["--slot-save-path", str(self.slot_save_path), "--swa-full"]
        cmd += speculative_args(self.speculative, self.draft_model)
        return cmd + self.extra_args

    def _write_presets(self, text: str) -> Path:
        if self._presets is None:
            fd, name = tempfile.mkstemp(prefix="llama-server-presets-", suffix=".ini")
            os.close(fd)
            self._presets = Path(name)
        self._presets.write_text(text)
        return self._presets

    def start(self, timeout: float = 600.0) -> LlamaServer:
        """Starts the server and waits until it answers /health "ok" (a process that exits
        fails at once). Loading a model on a busy machine can take minutes: the bound only
        catches a server that never gets ready."""
        if self.port == 0:
            self.port = free_port()
        cmd = self.command()
        fd, log = tempfile.mkstemp(prefix=f"llama-server-{self.port}-", suffix=".log")
        self._log = Path(log)
        self._proc = subprocess.Popen(cmd, stdout=fd, stderr=subprocess.STDOUT)
        os.close(fd)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"llama-server exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.root_url + "/health", timeout=2) as answer:
                    if json.loads(answer.read()).get("status") == "ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass  # not listening yet, or 503 while the model loads
            time.sleep(0.2)
        raise TimeoutError(f"llama-server was not ready within {timeout} s:\n{self.log_tail()}")

    def wait(self) -> int:
        """Blocks until the server exits; returns its exit code."""
        if self._proc is None:
            raise RuntimeError("llama-server is not running")
        return self._proc.wait()

    def threads_in_use(self) -> int | None:
        """The thread count llama-server reported at start (its own default is all cores;
        `threads`, a `--threads` in extra_args or LLAMA_ARG_THREADS change it)."""
        if self._log is None or not self._log.exists():
            return None
        found = re.search(r"n_threads = (\d+)", self._log.read_text(errors="replace"))
        return int(found[1]) if found else None

    def log_tail(self, lines: int = 20) -> str:
        if self._log is None or not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self._proc, grace=10)
        self._proc = None
        for path in (self._log, self._presets):
            if path is not None:
                path.unlink(missing_ok=True)
        self._presets = None

    def __enter__(self) -> LlamaServer:
        return self.start() if self._proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
