"""A LiteLLM proxy in front of several OpenAI-compatible servers, run as its own process.

zenllama never imports litellm: the proxy runs as production runs it, `litellm --config FILE`,
from the `gateway` extra (`pip install 'zenllama[gateway]'`). Its config is written here and
shown in the README ("Many servers"); `proxy_config` is the one place it is made.

LiteLLM reaches for the network at start (model cost map, blog posts, presets); OFFLINE points
each of those at the copy it ships, so the proxy talks to nothing but the loopback servers.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from zenllama.local.server import free_port, stop_process

OFFLINE = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DISABLE_SCHEMA_UPDATE": "True",
    "NO_DOCS": "True",
    "NO_PROXY": "127.0.0.1,localhost",
}


def proxy_config(
    groups: Mapping[str, Sequence[str]],
    *,
    num_retries: int = 2,
    cooldown_time: float = 1.0,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """One model name per group, load-balanced over its servers (`api_base` each).

    The `openai/` provider forwards the body as sent (fields it does not know, like llama-server's
    `chat_template_kwargs`, go along) and keeps `reasoning_content` in answers.
    The master key comes from LITELLM_MASTER_KEY: LiteLLM refuses to start without one.
    """
    return {
        "model_list": [
            {
                "model_name": name,
                "litellm_params": {
                    "model": f"openai/{name}",
                    "api_base": base_url,
                    "api_key": "none",  # llama-server takes no key
                },
            }
            for name, base_urls in groups.items()
            for base_url in base_urls
        ],
        "router_settings": {
            "routing_strategy": "simple-shuffle",
            # A dead server is skipped for `cooldown_time` s after one failure, then tried again.
            "allowed_fails": 1,
            "cooldown_time": cooldown_time,
            "num_retries": num_retries,
        },
        "litellm_settings": {"request_timeout": timeout, "drop_params": False},
    }


def litellm_command() -> list[str]:
    """The `litellm` script of this environment (the `gateway` extra installs it)."""
    script = Path(sys.executable).with_name("litellm")
    if not script.exists():
        raise FileNotFoundError(
            f"No {script}: install the gateway extra, pip install -e '.[gateway]'"
        )
    return [str(script)]


@dataclass
class LiteLLMProxy:
    """One LiteLLM proxy process on a free loopback port. A context manager, like LlamaServer."""

    groups: Mapping[str, Sequence[str]]
    port: int = 0
    num_retries: int = 2
    timeout: float = 120.0
    master_key: str = field(default_factory=lambda: "sk-" + secrets.token_hex(16), repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _dir: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    @property
    def log(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / "litellm.log"

    def config(self) -> dict[str, Any]:
        return proxy_config(self.groups, num_retries=self.num_retries, timeout=self.timeout)

    def start(self, timeout: float = 600.0) -> LiteLLMProxy:
        if self.port == 0:
            self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="litellm-")
        config = Path(self._dir.name) / "config.yaml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        env = {**os.environ, **OFFLINE, "LITELLM_MASTER_KEY": self.master_key}
        cmd = [*litellm_command(), "--config", str(config), "--host", "127.0.0.1"]
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [*cmd, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self._dir.name,  # LiteLLM reads a .env from its working directory
            )
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
                raise RuntimeError(f"litellm exited with {self._proc.returncode}:\n{self.tail()}")
            try:
                url = self.root_url + "/health/readiness"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if json.loads(answer.read()).get("status") == "healthy":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass  # not listening yet
            time.sleep(0.3)
        raise TimeoutError(f"litellm was not ready within {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        if self._dir is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self._proc, grace=15)
        self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LiteLLMProxy:
        return self.start() if self._proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
