"""Routing's per-call cost: a routed ChatZenLlama whose first backend takes every call (the
usual case: it is up and the prompt clearly fits) against the single-backend class, on a small
call (invoke, ainvoke) and a long stream. Target: routed <= 1.05x one backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from zenllama.frameworks import Fallback

from . import raw
from .loopback import N_CHUNKS, PLAIN_MODEL, SMALL_MODEL, expected_text
from .peers import chat_zen
from .tables import Table, Target
from .timing import Case, measure
from .wires import UNIT, langchain_stream, same_text

TARGET = 1.05


def _modes(
    loop: asyncio.AbstractEventLoop, base_url: str, **fields: Any
) -> dict[str, tuple[Callable[[], Any], int]]:
    small = chat_zen(base_url, SMALL_MODEL, **fields)
    plain = chat_zen(base_url, PLAIN_MODEL, **fields)

    async def ainvoke() -> str:
        return (await small.ainvoke(raw.PROMPT)).text

    return {
        "invoke": (lambda: small.invoke(raw.PROMPT).text, 1),
        "ainvoke": (lambda: loop.run_until_complete(ainvoke()), 1),
        "stream": (langchain_stream(plain), N_CHUNKS),
    }


def main(base_url: str, repeats: int) -> Iterator[Table]:
    loop = asyncio.new_event_loop()
    try:
        single = _modes(loop, base_url)
        routed = _modes(loop, base_url, fallbacks=[Fallback(base_url=base_url, name="cloud")])
        for mode, (run, per) in single.items():
            model = PLAIN_MODEL if mode == "stream" else SMALL_MODEL
            want = same_text(expected_text(model))
            routed_run = routed[mode][0]
            cases = [
                Case("ChatZenLlama", "one backend", run, "peer", per, want),
                Case("routed", "ChatZenLlama with a fallback", routed_run, "zenllama", per, want),
            ]
            rows = measure(cases, repeats)
            yield (
                Table(
                    "routing",
                    f"LangChain {mode}, routed (first backend serves) vs one backend",
                    UNIT if mode == "stream" else "CPU µs/call",
                    list(rows.values()),
                    peers=["ChatZenLlama"],
                    targets=[Target("routed", ["ChatZenLlama"], TARGET)],
                )
            )
    finally:
        loop.close()
