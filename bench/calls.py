"""Small non-streamed calls on each wire: what a client costs per call above the floors.

One short answer (SMALL_TEXT) per call, through zenllama, the mainstream class for the wire,
raw httpx (the same request, json-parsed) and the framework's do-nothing model answering the
message zenllama answered. Modes: LangChain `invoke`, `ainvoke` and CONCURRENT `ainvoke`s at
once; LlamaIndex `chat` and `achat`. Targets (issue 22): zenllama <= floor + raw httpx + 0.3 ms,
and <= 0.5x ChatOpenAI / 0.6x ChatAnthropic, in every mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from . import raw
from .floors import FloorChatModel, FloorLLM
from .loopback import SMALL_MODEL, SMALL_TEXT
from .peers import chat_peer, chat_zen, llama_index_peer, llama_index_zen
from .tables import Table, Target
from .timing import Case, measure

CONCURRENT = 50
# Why the concurrent rows sit above the single ones, kept with the tables that show it.
CONCURRENT_NOTE = (
    f"{CONCURRENT} requests in flight hold {CONCURRENT} connections, and httpcore's pool "
    "checks every connection it holds on each request and each release (`has_expired`, a "
    "readability poll per idle connection): the per-call cost grows with the connections "
    "held, for raw httpx too. A client that spends less CPU before each send has more "
    "requests in flight at once (zenllama keeps all 50; ChatOpenAI's pool was seen down to 7 "
    "after a few rounds, its calls finishing before the next ones start)."
)
BUDGET = 0.3e-3  # seconds above floor + raw httpx
PEER_TARGETS = {"ChatOpenAI": 0.5, "ChatOpenAI-responses": 0.5, "ChatAnthropic": 0.6}
LI_MESSAGES = [ChatMessage(role="user", content=raw.PROMPT)]


def _is_small(got: Any) -> str | None:
    texts = got if isinstance(got, list) else [got]
    bad = [t for t in texts if t != SMALL_TEXT]
    return f"answered {bad[0]!r}" if bad else None


def _sync(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[Any]]) -> Callable[[], Any]:
    return lambda: loop.run_until_complete(make())


def _modes(
    loop: asyncio.AbstractEventLoop, model: Any, text: Callable[[Any], str]
) -> dict[str, Callable[[], Any]]:
    """invoke, ainvoke, CONCURRENT ainvokes of one LangChain model, each returning text."""

    async def one() -> str:
        return text(await model.ainvoke(raw.PROMPT))

    return {
        "invoke": lambda: text(model.invoke(raw.PROMPT)),
        "ainvoke": _sync(loop, one),
        f"{CONCURRENT} concurrent ainvoke": _sync(loop, raw.gather(CONCURRENT, one)),
    }


def _raw_modes(
    loop: asyncio.AbstractEventLoop, wire: raw.Wire, base_url: str
) -> dict[str, Callable[[], Any]]:
    one = raw.acall(wire, base_url, SMALL_MODEL)
    sync = raw.call(wire, base_url, SMALL_MODEL)
    many = _sync(loop, raw.gather(CONCURRENT, one))
    return {
        "invoke": sync,
        "ainvoke": _sync(loop, one),
        f"{CONCURRENT} concurrent ainvoke": many,
        "chat": sync,
        "achat": _sync(loop, one),
    }


def _text(message: Any) -> str:
    return str(message.text)


def _langchain(
    loop: asyncio.AbstractEventLoop, wire: raw.Wire, base_url: str, repeats: int
) -> Iterator[Table]:
    zen = chat_zen(base_url, SMALL_MODEL, api=wire.api)
    peer_name, peer = chat_peer(wire.api, base_url, SMALL_MODEL)
    floor = FloorChatModel(message=zen.invoke(raw.PROMPT))
    contenders: list[tuple[str, str, Any, Callable[[Any], str]]] = [
        ("floor: LangChain", "floor", floor, _text),
        (peer_name, "peer", peer, _text),
        ("ChatZenLlama", "zenllama", zen, _text),
    ]
    raws = _raw_modes(loop, wire, base_url)
    for mode in ("invoke", "ainvoke", f"{CONCURRENT} concurrent ainvoke"):
        per = CONCURRENT if "concurrent" in mode else 1
        cases = [Case("floor: raw httpx", "same request, json.loads", raws[mode], "floor", per)]
        for name, role, model, text in contenders:
            detail = f"api={wire.api}" if role == "zenllama" else type(model).__name__
            run = _modes(loop, model, text)[mode]
            cases.append(Case(name, detail, run, role, per, _is_small))  # type: ignore[arg-type]
        rows = measure(cases, repeats)
        floors = ["floor: LangChain", "floor: raw httpx"]
        targets = [Target("ChatZenLlama", floors, kind="budget", extra=BUDGET)]
        if peer_name in PEER_TARGETS:
            targets.append(Target("ChatZenLlama", [peer_name], PEER_TARGETS[peer_name]))
        yield (
            Table(
                "calls",
                f"LangChain {mode}, {wire.title}",
                "CPU µs/call",
                list(rows.values()),
                peers=[peer_name],
                targets=targets,
                notes=[CONCURRENT_NOTE] if per > 1 else [],
            )
        )


def _llama_index(
    loop: asyncio.AbstractEventLoop, wire: raw.Wire, base_url: str, repeats: int
) -> Iterator[Table]:
    zen = llama_index_zen(base_url, SMALL_MODEL, api=wire.api)
    floor = FloorLLM(response=zen.chat(LI_MESSAGES))
    contenders: list[tuple[str, str, Any]] = [("floor: LlamaIndex", "floor", floor)]
    peer = llama_index_peer(wire.api, base_url, SMALL_MODEL)
    notes = []
    if peer is None:
        notes.append(f"No LlamaIndex peer on {wire.title} in the bench extra: floors only.")
    else:
        contenders.append((peer[0], "peer", peer[1]))
    contenders.append(("ZenLlama", "zenllama", zen))
    raws = _raw_modes(loop, wire, base_url)
    for mode in ("chat", "achat"):
        cases = [Case("floor: raw httpx", "same request, json.loads", raws[mode], "floor")]
        for name, role, llm in contenders:
            detail = f"api={wire.api}" if role == "zenllama" else type(llm).__name__
            if mode == "chat":
                run: Callable[[], Any] = _chat(llm)
            else:
                run = _sync(loop, _achat(llm))
            cases.append(Case(name, detail, run, role, 1, _is_small))  # type: ignore[arg-type]
        rows = measure(cases, repeats)
        budget = Target(
            "ZenLlama", ["floor: LlamaIndex", "floor: raw httpx"], kind="budget", extra=BUDGET
        )
        yield (
            Table(
                "calls",
                f"LlamaIndex {mode}, {wire.title}",
                "CPU µs/call",
                list(rows.values()),
                peers=[peer[0]] if peer else [],
                targets=[budget],
                notes=list(notes),
            )
        )


def _chat(llm: Any) -> Callable[[], str]:
    return lambda: str(llm.chat(LI_MESSAGES).message.content)


def _achat(llm: Any) -> Callable[[], Awaitable[str]]:
    async def run() -> str:
        return str((await llm.achat(LI_MESSAGES)).message.content)

    return run


def main(base_url: str, repeats: int) -> Iterator[Table]:
    loop = asyncio.new_event_loop()
    try:
        for wire in raw.WIRES:
            yield from _langchain(loop, wire, base_url, repeats)
            yield from _llama_index(loop, wire, base_url, repeats)
    finally:
        loop.close()
