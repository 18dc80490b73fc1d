"""Scale-out: N concurrent zenllama streams on one llama-server vs two behind a LiteLLM proxy.

Real servers (the bundled model, one thread each, N slots) and a real LiteLLM proxy
(tests/support/litellm_proxy.py, the tests' own config). Each stream asks for MAX_TOKENS
tokens and gets exactly that many (`ignore_eos`), so both setups do the same work; the figure
is aggregate output tokens/s over the N streams, best of the rounds, taken in turns.
On a 2-core machine the proxy's own CPU competes with the servers, so the gain is modest.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.litellm_proxy import LiteLLMProxy

from zenllama.core import ChatClient, ChatRequest, resolve_settings
from zenllama.local import LlamaServer
from zenllama.local.server import free_port

N_STREAMS = 8
MAX_TOKENS = 32
ROUNDS = 2


def _server() -> LlamaServer:
    args = ["--threads", "1", "--temp", "0", "--seed", "7"]
    server = LlamaServer(template=None, parallel=N_STREAMS, extra_args=args, progress=print)
    server.port = free_port()
    return server


async def _streams(client: ChatClient) -> int:
    """Runs N_STREAMS streams at once; returns the output tokens they produced."""

    async def one(i: int) -> int:
        messages = [{"role": "user", "content": f"Tell story number {i}."}]
        options = {"max_tokens": MAX_TOKENS, "ignore_eos": True}
        async for delta in client.astream(ChatRequest(messages, options=options)):
            if delta.result is not None and delta.result.usage is not None:
                return delta.result.usage.output_tokens
        return 0

    return sum(await asyncio.gather(*(one(i) for i in range(N_STREAMS))))


async def _tokens_per_second(client: ChatClient) -> tuple[float, int]:
    began = time.perf_counter()
    tokens = await _streams(client)
    return tokens / (time.perf_counter() - began), tokens


async def _measure(clients: dict[str, ChatClient]) -> dict[str, float]:
    """Best aggregate tokens/s of each setup, in turns, all on one event loop."""
    best = dict.fromkeys(clients, 0.0)
    try:
        for name, client in clients.items():  # warm-up: prompt caches, connections
            _, tokens = await _tokens_per_second(client)
            if tokens != N_STREAMS * MAX_TOKENS:
                print(f"  WARNING {name}: {tokens} tokens, expected {N_STREAMS * MAX_TOKENS}")
        for _ in range(ROUNDS):
            for name, client in clients.items():
                best[name] = max(best[name], (await _tokens_per_second(client))[0])
    finally:
        for client in clients.values():
            await client.aclose()
    return best


def main(base_url: str, repeats: int) -> None:
    del base_url, repeats  # real servers, not the loopback one; a few long rounds
    print(f"\n== scale-out: {N_STREAMS} concurrent streams x {MAX_TOKENS} tokens, tokens/s ==")
    one, two = _server(), _server()
    proxy = LiteLLMProxy({"bench": [one.base_url, two.base_url]})
    try:
        with ThreadPoolExecutor(3) as pool:
            for future in [pool.submit(p.start) for p in (one, two, proxy)]:
                future.result()
        clients = {
            "one server, direct": ChatClient(resolve_settings(base_url=one.base_url)),
            "two servers, LiteLLM": ChatClient(
                resolve_settings(
                    base_url=proxy.base_url,
                    api_key=proxy.master_key,
                    model="bench",
                    backend="llama-server",
                )
            ),
        }
        best = asyncio.run(_measure(clients))
        print(f"  best of {ROUNDS} interleaved rounds after a warm-up; servers -t 1 each")
        for name, rate in best.items():
            print(f"  {name:<22} {rate:>8.1f} tokens/s")
        gain = best["two servers, LiteLLM"] / best["one server, direct"]
        print(f"  scale-out gain (two via gateway / one direct) = {gain:.2f}x")
    finally:
        proxy.stop()
        one.stop()
        two.stop()
