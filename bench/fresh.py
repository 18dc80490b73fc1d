"""Fresh objects: N_OBJECTS new chat objects, one call each: time, RSS growth, open sockets.

Apps create chat objects in numbers (per request, per agent, per notebook cell). Each client
runs in a subprocess of its own, imported and warmed up by one object's call first, so what is
measured is what each further object costs, and no library pays for another's process state.
Every object stays alive until the end (their pools and sockets count). The subprocesses of
all four clients run in interleaved rounds (the one harness); tables quote medians.

    python -m bench fresh
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from .loopback import PLAIN_MODEL, expected_text
from .tables import Table, Target
from .timing import CPU, WALL, Case, Role, measure

N_OBJECTS = 40
RSS_TARGET = 3.0  # zenllama's RSS growth <= 3x the alternative's
SOCKETS_TARGET = 2  # zenllama's open sockets <= the alternative's + 2
PEER: Role = "peer"
ZENLLAMA: Role = "zenllama"
PAIRS = (("LangChain", "ChatZenLlama", "ChatOpenAI"), ("LlamaIndex", "ZenLlama", "OpenAILike"))


def _factory(name: str, base_url: str) -> Callable[[], tuple[Any, str]]:
    """Builds one object of `name` and makes one call; returns the object and the answer text."""
    key = SecretStr("dummy")
    if name in ("ChatOpenAI", "ChatZenLlama"):
        if name == "ChatOpenAI":
            from langchain_openai import ChatOpenAI

            chat_class: Any = ChatOpenAI
        else:
            from zenllama.langchain import ChatZenLlama

            chat_class = ChatZenLlama

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
    began, cpu_began = time.perf_counter(), time.process_time()
    kept = [call() for _ in range(N_OBJECTS)]
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    gc.collect()
    print(
        json.dumps(
            {
                "cpu_seconds": cpu,
                "seconds": seconds,
                "rss_kb": _rss_kb() - rss,
                "sockets": _sockets() - sockets,
                "objects": len(kept),
            }
        )
    )


def _run(name: str, base_url: str) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, "-m", "bench.fresh", name, base_url],
            capture_output=True,
            text=True,
            check=True,
        )
        figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return figures

    return run


def _figures(got: dict[str, float]) -> dict[str, float]:
    return {
        CPU: got["cpu_seconds"] / N_OBJECTS,
        WALL: got["seconds"] / N_OBJECTS,
        "rss": got["rss_kb"] / 1024,
        "sockets": got["sockets"],
    }


def main(base_url: str, repeats: int) -> list[Table]:
    cases = [
        Case(name, "a subprocess", _run(name, base_url), role, figures=_figures)
        for _, subject, peer in PAIRS
        for name, role in ((peer, PEER), (subject, ZENLLAMA))
    ]
    # Each run is a whole subprocess (seconds): the minimum of rounds, no more.
    rows = measure(cases, repeats, min_seconds=0)
    what = f"{N_OBJECTS} new objects, one call each, after a warm-up object"
    tables = []
    for framework, subject, peer in PAIRS:
        pair = [rows[peer], rows[subject]]
        tables += [
            Table("fresh", f"{framework}: {what}", "CPU ms/object", pair, scale=1e3, peers=[peer]),
            Table(
                "fresh",
                f"{framework}: RSS growth over {N_OBJECTS} objects",
                "MB",
                pair,
                metric="rss",
                scale=1,
                peers=[peer],
                targets=[Target(subject, [peer], RSS_TARGET)],
            ),
            Table(
                "fresh",
                f"{framework}: sockets left open by {N_OBJECTS} objects",
                "sockets",
                pair,
                metric="sockets",
                scale=1,
                targets=[Target(subject, [peer], kind="budget", extra=SOCKETS_TARGET)],
            ),
        ]
    return tables


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2])
