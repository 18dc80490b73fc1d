"""`zenllama serve` and `zenllama models`, run as a user would from a shell."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest

from zenllama.cli import main
from zenllama.local import free_port

from .fakes import FakeServer, Reply


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
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"export BACKEND_URL=http://127.0.0.1:{port}/v1" in "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            assert json.loads(answer.read())["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    with pytest.raises(OSError):  # the llama-server child went with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
