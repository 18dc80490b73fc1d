"""Scale-out: N concurrent zenllama streams on one llama-server vs two behind a LiteLLM proxy.

Real servers (the bundled model, one thread each, N slots) and a real LiteLLM proxy
(tests/support/litellm_proxy.py, the tests' own config). Each stream asks for MAX_TOKENS
tokens and gets exactly that many (`ignore_eos`), so both setups do the same work; the figure
is aggregate output tokens/s over the N streams, the median of interleaved rounds.
On a 2-core machine the proxy's own CPU competes with the servers, so the gain is modest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from tests.support.litellm_proxy import LiteLLMProxy, litellm_command

from zenllama.core import ChatClient, ChatRequest, resolve_settings
from zenllama.local import LlamaServer
from zenllama.local.server import free_port

from .speculative import require_llama_server
from .tables import NotRun, Table
from .timing import Case, measure

N_STREAMS = 8
MAX_TOKENS = 32


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


def _enough(got: tuple[float, int]) -> str | None:
    want = N_STREAMS * MAX_TOKENS
    return None if got[1] == want else f"{got[1]} tokens, expected {want}"


def main(base_url: str, repeats: int) -> Iterator[Table]:
    del base_url  # real servers, not the loopback one
    require_llama_server()
    try:
        litellm_command()
    except FileNotFoundError as exc:
        raise NotRun(str(exc)) from exc
    one, two = _server(), _server()
    proxy = LiteLLMProxy({"bench": [one.base_url, two.base_url]})
    loop = asyncio.new_event_loop()  # every client on this one loop
    clients: list[ChatClient] = []
    try:
        with ThreadPoolExecutor(3) as pool:
            for future in [pool.submit(p.start) for p in (one, two, proxy)]:
                future.result()
        direct = ChatClient(resolve_settings(base_url=one.base_url))
        gateway = ChatClient(
            resolve_settings(
                base_url=proxy.base_url,
                api_key=proxy.master_key,
                model="bench",
                backend="llama-server",
            )
        )
        clients += [direct, gateway]

        def rate(client: ChatClient) -> Callable[[], tuple[float, int]]:
            return lambda: loop.run_until_complete(_tokens_per_second(client))

        def figures(got: tuple[float, int]) -> dict[str, float]:
            return {"tokens/s": got[0]}

        cases = [
            Case(
                "one server, direct",
                "zenllama ChatClient",
                rate(direct),
                "peer",
                1,
                _enough,
                figures,
            ),
            Case(
                "two servers, LiteLLM",
                "the same through the proxy",
                rate(gateway),
                "zenllama",
                1,
                _enough,
                figures,
            ),
        ]
        rows = measure(cases, repeats, min_seconds=0)
        table = Table(
            "gateway",
            f"{N_STREAMS} concurrent streams x {MAX_TOKENS} tokens, aggregate",
            "tokens/s",
            list(rows.values()),
            metric="tokens/s",
            scale=1,
            peers=["one server, direct"],
            higher_is_better=True,
            notes=["servers -t 1 each; the proxy's own CPU competes with them on a small machine"],
        )
        yield table
    finally:
        for client in clients:
            loop.run_until_complete(client.aclose())
        loop.close()
        proxy.stop()
        one.stop()
        two.stop()
