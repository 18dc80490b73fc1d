"""One long streamed answer over each extra wire, against the nearest mainstream class.

Anthropic Messages: ChatZenLlama(api="messages") against ChatAnthropic (langchain-anthropic).
OpenAI Responses: ChatZenLlama(api="responses") against ChatOpenAI(use_responses_api=True).
Chat completions (ChatZenLlama against ChatOpenAI) is measured in the same run for the
per-wire comparison. Same loopback streams (N_CHUNKS deltas), same run, interleaved rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from .chat_langchain import FloorChatModel, same_text
from .loopback import (
    N_CHUNKS,
    N_REASONING_CHUNKS,
    PLAIN_MODEL,
    REASONING_MODEL,
    expected_text,
    token,
)
from .timing import Case, Row, measure, print_table, verdict

TARGET = 0.5  # ChatZenLlama <= 0.5x the mainstream class on its own wire


def langchain_stream(model: BaseChatModel) -> Callable[[], str]:
    """Collects the answer text; `.text`, as Anthropic and Responses content is a block list."""

    def run() -> str:
        return "".join(chunk.text for chunk in model.stream("Say many words."))

    return run


def chat_anthropic(base_url: str, model: str) -> BaseChatModel | None:
    try:
        from langchain_anthropic import ChatAnthropic
    except ImportError as exc:
        print(f"  skipping ChatAnthropic: {exc} (pip install langchain-anthropic)")
        return None
    root = base_url.removesuffix("/v1")  # the Anthropic SDK adds /v1/messages itself
    # max_tokens is required by the API; streaming=True as a user would stream.
    return ChatAnthropic(  # type: ignore[call-arg]
        model=model, base_url=root, api_key=SecretStr("dummy"), max_tokens=4096
    )


def zen(base_url: str, model: str, api: str) -> BaseChatModel:
    from zenllama.langchain import ChatZenLlama

    return ChatZenLlama(base_url=base_url, model=model, api_key=SecretStr("dummy"), api=api)


def _cases(base_url: str, model: str) -> tuple[list[Case], list[tuple[str, str]]]:
    want: Callable[[Any], str | None] = same_text(expected_text(model))
    cases: list[Case] = []
    pairs: list[tuple[str, str]] = []
    anthropic = chat_anthropic(base_url, model)
    if anthropic is not None:
        cases.append(Case("ChatAnthropic", "messages", langchain_stream(anthropic), N_CHUNKS, want))
    cases.append(
        Case(
            "zen-messages",
            "ChatZenLlama api=messages",
            langchain_stream(zen(base_url, model, "messages")),
            N_CHUNKS,
            want,
        )
    )
    pairs.append(("zen-messages", "ChatAnthropic"))
    responses = ChatOpenAI(
        model=model, base_url=base_url, api_key=SecretStr("dummy"), use_responses_api=True
    )
    cases += [
        Case(
            "ChatOpenAI-resp", "use_responses_api=True", langchain_stream(responses), N_CHUNKS, want
        ),
        Case(
            "zen-responses",
            "ChatZenLlama api=responses",
            langchain_stream(zen(base_url, model, "responses")),
            N_CHUNKS,
            want,
        ),
        Case(
            "ChatOpenAI",
            "chat completions",
            langchain_stream(ChatOpenAI(model=model, base_url=base_url, api_key=SecretStr("d"))),
            N_CHUNKS,
            want,
        ),
        Case(
            "zen-chat",
            "ChatZenLlama api=chat",
            langchain_stream(zen(base_url, model, "chat")),
            N_CHUNKS,
            want,
        ),
    ]
    pairs += [("zen-responses", "ChatOpenAI-resp"), ("zen-chat", "ChatOpenAI")]
    floor = "".join(token(i) for i in range(N_CHUNKS))
    cases.append(
        Case(
            "floor",
            "BaseChatModel yielding minimal chunks, no HTTP",
            langchain_stream(FloorChatModel()),
            N_CHUNKS,
            same_text(floor),
        )
    )
    return cases, pairs


def above_floor(rows: list[Row], pairs: list[tuple[str, str]]) -> None:
    """What each client adds to LangChain's own per-chunk cost, zenllama over the other."""
    by_name = {row.name: row.seconds for row in rows}
    floor = by_name.get("floor")
    for subject, baseline in pairs:
        if floor is None or subject not in by_name or baseline not in by_name:
            continue
        ratio = (by_name[subject] - floor) / (by_name[baseline] - floor)
        print(f"  above LangChain's floor: {subject} / {baseline} = {ratio:.2f}")


def main(base_url: str, repeats: int) -> None:
    for model, title in (
        (PLAIN_MODEL, f"{N_CHUNKS} text deltas"),
        (REASONING_MODEL, f"{N_REASONING_CHUNKS} reasoning deltas first"),
    ):
        print(f"\n== LangChain stream per wire ({model}: {title}), µs per chunk ==")
        cases, pairs = _cases(base_url, model)
        rows = measure(cases, repeats)
        print_table(rows, "chunk", ["ChatAnthropic", "ChatOpenAI-resp", "ChatOpenAI"])
        for subject, baseline in pairs:
            verdict(rows, subject, baseline, TARGET)
        above_floor(rows, pairs)
