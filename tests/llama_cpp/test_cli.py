"""`zenllama serve` and `zenllama models`, run as a user would from a shell."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from zenllama import demo
from zenllama.cli import main
from zenllama.local import LlamaServer, free_port

from ..support.ctrl_c import interruptible
from ..support.fake_servers import FakeServer, Reply


def test_models_lists_ids_in_any_shape(
    fake: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.reply("/v1/models", Reply(body=[{"id": "glm-4.7"}, {"id": "kimi-k2"}]))
    assert main(["models", "--base-url", fake.base_url, "--backend", "openai-compatible"]) == 0
    assert capsys.readouterr().out.split() == ["glm-4.7", "kimi-k2"]


def test_models_says_what_went_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert main(["models", "--base-url", url, "--backend", "llama-server"]) == 1
    assert "zenllama serve" in capsys.readouterr().err


@pytest.mark.llama_server
def test_serve_prints_the_url_serves_and_stops_on_ctrl_c() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zenllama.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"export BACKEND_URL=http://127.0.0.1:{port}/v1" in "".join(lines)
        # Bounds that trip only on a hang: a loaded machine answers and shuts down slowly.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=120) as answer:
            assert json.loads(answer.read())["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=300) == 0
    finally:
        proc.kill()
    with pytest.raises(OSError):  # the llama-server child went with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


@contextmanager
def _serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`zenllama serve ARGS` in a child process, with the lines it printed up to the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zenllama.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        assert proc.stdout is not None
        yield proc, [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=300)
        finally:
            proc.kill()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.mark.llama_server
def test_serve_takes_threads_host_and_llama_server_flags_after_double_dash() -> None:
    port = free_port()
    # 127.0.0.2 is loopback too (Linux): listening there, the server is not at 127.0.0.1.
    args = ["--model", "gemma", "--threads", "1", "--host", "127.0.0.2", "--port", str(port)]
    with _serve(*args, "--ctx-size", "512", "--", "--alias", "my-model") as (_, lines):
        printed = "".join(lines)
        assert "(1 threads)" in printed  # the count llama-server reported at start
        assert f"export BACKEND_URL=http://127.0.0.2:{port}/v1" in printed
        # The flag after `--` reached llama-server.
        assert [m["id"] for m in _get(f"http://127.0.0.2:{port}/v1/models")["data"]] == [
            "my-model"
        ]
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)


def test_flags_after_double_dash_are_for_serve_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["models", "--", "--alias", "x"])
    assert "only with `zenllama serve`" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the printed URL is made of serve's own --port
        main(["serve", "--", "--port", "9"])
    assert "before `--`" in capsys.readouterr().err


def test_serve_passes_threads_host_and_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict[str, Any] = {}

    class Started(Exception):
        pass

    def fake_server(**kwargs: Any) -> LlamaServer:
        made.update(kwargs)
        raise Started

    monkeypatch.setattr("zenllama.cli.LlamaServer", fake_server)
    with pytest.raises(Started):
        main(["serve", "--threads", "3", "--host", "0.0.0.0", "--", "--flash-attn", "on"])
    assert made["threads"] == 3 and made["host"] == "0.0.0.0"
    assert made["extra_args"] == ["--flash-attn", "on"]
    server = LlamaServer(host="0.0.0.0", port=8081, threads=3)
    assert server.root_url == "http://127.0.0.1:8081"  # reached through loopback


def test_demo_takes_port_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []

    class FakeServer:
        def __init__(self, **kwargs: Any) -> None:
            started.append(kwargs)
            self.base_url = f"http://127.0.0.1:{kwargs['port']}/v1"

        def __enter__(self) -> FakeServer:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def threads_in_use(self) -> int:
            return 2

    monkeypatch.delenv("BACKEND_URL", raising=False)
    monkeypatch.setattr(demo, "LlamaServer", FakeServer)
    asked: list[tuple[int, int | None]] = []
    monkeypatch.setattr(demo, "run_demo", lambda port, threads: asked.append((port, threads)) or 0)
    assert main(["demo", "--port", "9100", "--threads", "2"]) == 0
    assert asked == [(9100, 2)]
    with demo._backends(9100, 2) as urls:
        assert urls == ("http://127.0.0.1:9100/v1", "http://127.0.0.1:9101/v1")
    assert [(s["port"], s["threads"]) for s in started] == [(9100, 2), (9101, 2)]
