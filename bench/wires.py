"""One long streamed answer over each wire through LangChain, per chunk.

Every contender reads the same loopback stream (N_CHUNKS deltas) and collects the text: raw
httpx (the floor of HTTP + json per event), on chat completions also the openai SDK two ways,
LangChain's floor (a chat model yielding minimal chunks, no HTTP), the mainstream class for the
wire (ChatOpenAI, ChatAnthropic, ChatOpenAI(use_responses_api=True)) and ChatZenLlama with that
`api=`. Then the same with N_REASONING_CHUNKS reasoning deltas first: the mainstream classes
drop them or keep them in content blocks, ChatZenLlama keeps them apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel

from . import raw
from .floors import FloorChatModel
from .loopback import (
    N_CHUNKS,
    N_REASONING_CHUNKS,
    PLAIN_MODEL,
    REASONING_MODEL,
    expected_text,
    token,
)
from .peers import chat_peer, chat_zen
from .tables import Table, Target
from .timing import Case, measure

TARGET = 0.5  # ChatZenLlama <= 0.5x the mainstream class on its own wire
UNIT = "CPU µs/chunk"


def same_text(want: str) -> Callable[[Any], str | None]:
    def check(got: Any) -> str | None:
        return None if got == want else f"collected {len(got)} chars, expected {len(want)}"

    return check


def langchain_stream(model: BaseChatModel) -> Callable[[], str]:
    """Collects the answer text; `.text`, as Anthropic and Responses content is a block list."""

    def run() -> str:
        return "".join(chunk.text for chunk in model.stream(raw.PROMPT))

    return run


def sdk_objects(base_url: str, model: str) -> Callable[[], str]:
    client = openai.OpenAI(base_url=base_url, api_key="dummy")
    messages: Any = [{"role": "user", "content": raw.PROMPT}]

    def run() -> str:
        text = []
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
            if chunk.choices and (content := chunk.choices[0].delta.content):
                text.append(content)
        return "".join(text)

    return run


def sdk_lines(base_url: str, model: str) -> Callable[[], str]:
    client = openai.OpenAI(base_url=base_url, api_key="dummy")
    create = client.chat.completions.with_streaming_response.create
    messages: Any = [{"role": "user", "content": raw.PROMPT}]

    def run() -> str:
        text = []
        with create(model=model, messages=messages, stream=True) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    text.append(raw.CHAT.delta(json.loads(line[6:])))
        return "".join(text)

    return run


def _cases(wire: raw.Wire, base_url: str, model: str) -> tuple[list[Case], str]:
    want = same_text(expected_text(model))
    peer_name, peer = chat_peer(wire.api, base_url, model)
    cases = []
    if model == PLAIN_MODEL:
        floor_text = same_text("".join(token(i) for i in range(N_CHUNKS)))
        run = langchain_stream(FloorChatModel())
        detail = "BaseChatModel yielding minimal chunks, no HTTP"
        cases += [
            Case("floor: LangChain", detail, run, "floor", N_CHUNKS, floor_text),
            Case(
                "floor: raw httpx",
                "iter_lines + json.loads per event",
                raw.stream(wire, base_url, model),
                "floor",
                N_CHUNKS,
                want,
            ),
        ]
        if wire is raw.CHAT:
            cases += [
                Case(
                    "openai SDK objects",
                    "create(stream=True)",
                    sdk_objects(base_url, model),
                    "reference",
                    N_CHUNKS,
                    want,
                ),
                Case(
                    "openai SDK lines",
                    "with_streaming_response + json.loads",
                    sdk_lines(base_url, model),
                    "reference",
                    N_CHUNKS,
                    want,
                ),
            ]
    zen = chat_zen(base_url, model, api=wire.api)
    cases += [
        Case(peer_name, type(peer).__name__, langchain_stream(peer), "peer", N_CHUNKS, want),
        Case("ChatZenLlama", f"api={wire.api}", langchain_stream(zen), "zenllama", N_CHUNKS, want),
    ]
    return cases, peer_name


def main(base_url: str, repeats: int) -> Iterator[Table]:
    for model, what in (
        (PLAIN_MODEL, f"{N_CHUNKS} text deltas"),
        (REASONING_MODEL, f"{N_REASONING_CHUNKS} reasoning deltas, then text"),
    ):
        for wire in raw.WIRES:
            cases, peer = _cases(wire, base_url, model)
            rows = measure(cases, repeats)
            table = Table(
                "wires",
                f"LangChain stream, {wire.title}, {what}",
                UNIT,
                list(rows.values()),
                peers=[peer],
                targets=[Target("ChatZenLlama", [peer], TARGET)],
            )
            floor = table.value("floor: LangChain")
            zen, other = table.value("ChatZenLlama"), table.value(peer)
            if floor is not None and zen is not None and other is not None and other > floor:
                above = (zen - floor) / (other - floor)
                table.notes.append(f"above LangChain's floor: ChatZenLlama / {peer} = {above:.2f}")
            yield table
