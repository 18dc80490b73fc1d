"""Fresh objects: N_OBJECTS new chat objects, one call each: time, RSS growth, open sockets.

Apps create chat objects in numbers (per request, per agent, per notebook cell). Each client
runs in a subprocess of its own, imported and warmed up by one object's call first, so what is
measured is what each further object costs, and no library pays for another's process state.
Every object stays alive until the end (their pools and sockets count).

    python -m bench fresh
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from .loopback import PLAIN_MODEL, expected_text

N_OBJECTS = 40
RUNS = 3  # subprocesses per client; the median of each measure
RSS_TARGET = 3.0  # zenllama's RSS growth <= 3x the alternative's
SOCKETS_TARGET = 2  # zenllama's open sockets <= the alternative's + 2
PAIRS = (("ChatZenLlama", "ChatOpenAI"), ("ZenLlama", "OpenAILike"))


def _factory(name: str, base_url: str) -> Callable[[], tuple[Any, str]]:
    """Builds one object of `name` and makes one call; returns the object and the answer text."""
    key = SecretStr("dummy")
    if name in ("ChatOpenAI", "ChatZenLlama"):
        chat_class: Any
        if name == "ChatOpenAI":
            from langchain_openai import ChatOpenAI as chat_class
        else:
            from zenllama.langchain import ChatZenLlama as chat_class

        def langchain() -> tuple[Any, str]:
            llm = chat_class(model=PLAIN_MODEL, base_url=base_url, api_key=key)
            return llm, str(llm.invoke("hi").content)

        return langchain

    from llama_index.core.llms import ChatMessage

    if name == "OpenAILike":
        from llama_index.llms.openai_like import OpenAILike

        def make() -> Any:
            return OpenAILike(
                model=PLAIN_MODEL, api_base=base_url, api_key="dummy", is_chat_model=True
            )
    else:
        from zenllama.llama_index import ZenLlama

        def make() -> Any:
            return ZenLlama(model=PLAIN_MODEL, base_url=base_url, api_key=key)

    def llama_index() -> tuple[Any, str]:
        llm = make()
        return llm, str(llm.chat([ChatMessage(role="user", content="hi")]).message.content)

    return llama_index


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed since listed
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def child(name: str, base_url: str) -> None:
    """Runs in the subprocess: prints one JSON line of measures."""
    call = _factory(name, base_url)
    warm = call()  # imports, lazy modules, process-wide caches: not what an object costs
    assert warm[1] == expected_text(PLAIN_MODEL), f"{name} answered {warm[1][:40]!r}"
    gc.collect()
    rss, sockets = _rss_kb(), _sockets()
    began = time.perf_counter()
    kept = [call() for _ in range(N_OBJECTS)]
    seconds = time.perf_counter() - began
    gc.collect()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_kb": _rss_kb() - rss,
                "sockets": _sockets() - sockets,
                "objects": len(kept),
            }
        )
    )


def _measure(name: str, base_url: str) -> dict[str, float]:
    runs = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-m", "bench.fresh", name, base_url],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main(base_url: str, repeats: int) -> None:
    print(
        f"\n== Fresh objects: {N_OBJECTS} new objects, one call each "
        f"(after one warm-up object; median of {RUNS} subprocesses) =="
    )
    print(f"  {'client':<14}{'ms/object':>10}{'RSS growth MB':>15}{'sockets':>9}")
    for subject, baseline in PAIRS:
        got = {name: _measure(name, base_url) for name in (baseline, subject)}
        for name, m in got.items():
            print(
                f"  {name:<14}{m['seconds'] / N_OBJECTS * 1e3:>10.2f}"
                f"{m['rss_kb'] / 1024:>15.2f}{m['sockets']:>9.0f}"
            )
        s, b = got[subject], got[baseline]
        rss_ratio = s["rss_kb"] / max(b["rss_kb"], 1)
        ok = rss_ratio <= RSS_TARGET and s["sockets"] <= b["sockets"] + SOCKETS_TARGET
        print(
            f"  {subject} / {baseline}: time x{s['seconds'] / b['seconds']:.2f}, "
            f"RSS growth x{rss_ratio:.2f}, sockets {s['sockets']:.0f} vs {b['sockets']:.0f} "
            f"(target RSS <= {RSS_TARGET}x, sockets <= +{SOCKETS_TARGET}): "
            f"{'PASS' if ok else 'FAIL'}"
        )


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2])
