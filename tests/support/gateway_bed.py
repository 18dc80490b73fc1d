"""The gateway test bed: a LiteLLM proxy over two llama-servers per model name.

    thinking  2 x Qwen3 template, THINK_GRAMMAR by default (real `reasoning_content`)
    tools     2 x Llama 3.1 template (real `tool_calls`)
    embed     2 x --embeddings

Each pair serves the same model with the same settings, so whichever server the gateway
picks gives the same answer (greedy sampling), as the scenarios need. Everything starts at
once (ports are chosen first), which keeps the bed's start to about the slowest process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from zenllama.local import LlamaServer
from zenllama.local.server import free_port

from .litellm_proxy import LiteLLMProxy
from .testbed import THINK_GRAMMAR

# The scenario beds' server-side steering (tests/scenarios/conftest.py), so requests match.
GREEDY = ["--temp", "0", "--seed", "7", "--n-predict", "64"]
THINKING, TOOLS, EMBED = "thinking", "tools", "embed"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _servers(group: str) -> list[LlamaServer]:
    def one() -> LlamaServer:
        if group == THINKING:
            args = [*GREEDY, "--grammar", THINK_GRAMMAR]
            server = LlamaServer(template="reasoning", extra_args=args, progress=_progress)
        elif group == TOOLS:
            # Four slots: the load tests send many streams at once.
            server = LlamaServer(
                template="tools", parallel=4, extra_args=GREEDY, progress=_progress
            )
        else:
            server = LlamaServer(template=None, embeddings=True, progress=_progress)
        server.port = free_port()
        return server

    return [one(), one()]


@dataclass
class GatewayBed:
    proxy: LiteLLMProxy
    servers: dict[str, list[LlamaServer]]

    @property
    def base_url(self) -> str:
        return self.proxy.base_url

    @property
    def key(self) -> str:
        return self.proxy.master_key


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewayBed]:
    servers = {group: _servers(group) for group in (THINKING, TOOLS, EMBED)}
    everyone = [s for group in servers.values() for s in group]
    # Long upstream timeout: the load tests queue streams for minutes on a loaded machine.
    groups = {g: [s.base_url for s in group] for g, group in servers.items()}
    proxy = LiteLLMProxy(groups, timeout=600.0)
    try:
        with ThreadPoolExecutor(len(everyone) + 1) as pool:
            started = [pool.submit(s.start) for s in everyone] + [pool.submit(proxy.start)]
            for future in started:
                future.result()
        yield GatewayBed(proxy, servers)
    finally:
        proxy.stop()
        for server in everyone:
            server.stop()
