"""Streams whose <think> the chat template opened in the prompt (issue 10 #13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

from ..conftest import _serve
from ..support.answers import LLAMA_PROPS, stream_of
from ..support.fake_servers import FakeServer, Reply
from ..support.llama_index_calls import user
from ..support.testbed import SAMPLING

TEMPLATES = Path(__file__).resolve().parents[1] / "support" / "templates"
# A template llama-server knows no reasoning format of: it hands the raw text on, which starts
# inside the <think> the prompt opened.
OPEN_THINK = (TEMPLATES / "open_think.jinja").read_text()
# What llama-server then streams.
RAW = stream_of(*({"content": piece} for piece in ("Think", "ing.", "</think>", "Hi")))


@pytest.fixture
def opening(fake: FakeServer) -> FakeServer:
    fake.props = {**LLAMA_PROPS, "chat_template": OPEN_THINK}
    return fake


def _split(chunks: list[AIMessageChunk]) -> list[tuple[str, str]]:
    return [
        (str(c.additional_kwargs.get("reasoning_content", "")), str(c.content))
        for c in chunks
        if c.content or c.additional_kwargs
    ]


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_reasoning_streams_as_reasoning_from_the_first_token(
    opening: FakeServer, mode: str
) -> None:
    opening.chat(Reply(events=RAW), Reply(events=RAW))
    llm = ChatZenLlama(base_url=opening.base_url)
    for _ in range(2):
        if mode == "stream":
            chunks = list(llm.stream("hi"))
        else:
            chunks = [c async for c in llm.astream("hi")]
        assert _split(chunks) == [("Think", ""), ("ing.", ""), ("", "Hi")]
    # The template came with the backend probe: nothing more was asked.
    assert [s.path for s in opening.seen] == ["/props", *["/v1/chat/completions"] * 2]


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_every_client_of_the_url_reads_the_template_once_probed(
    opening: FakeServer, mode: str
) -> None:
    # The probe runs once per URL per process; later objects (new, copied) know the template
    # from it too, without asking /props again.
    opening.chat(*[Reply(events=RAW)] * 3)
    first = ChatZenLlama(base_url=opening.base_url)
    for llm in (first, ChatZenLlama(base_url=opening.base_url), first.model_copy()):
        if mode == "stream":
            chunks = list(llm.stream("hi"))
        else:
            chunks = [c async for c in llm.astream("hi")]
        assert _split(chunks) == [("Think", ""), ("ing.", ""), ("", "Hi")]
    assert [s.path for s in opening.seen] == ["/props", *["/v1/chat/completions"] * 3]


def test_thinking_switched_off_closes_the_tag(opening: FakeServer) -> None:
    opening.chat(Reply(events=stream_of({"content": "Hi"})))
    llm = ChatZenLlama(base_url=opening.base_url, reasoning=False)  # enable_thinking: false
    assert _split(list(llm.stream("hi"))) == [("", "Hi")]


@pytest.mark.parametrize(
    "events",
    [
        stream_of({"reasoning_content": "Think."}, {"content": "Hi"}),  # llama-server split it
        stream_of({"content": "<think>Think."}, {"content": "</think>Hi"}),  # or re-opened it
    ],
)
def test_a_server_that_knows_the_template_is_read_as_it_sends(
    opening: FakeServer, events: list[Any]
) -> None:
    opening.chat(Reply(events=events))
    chunks = _split(list(ChatZenLlama(base_url=opening.base_url).stream("hi")))
    assert ("".join(r for r, _ in chunks), "".join(a for _, a in chunks)) == ("Think.", "Hi")


@pytest.mark.parametrize("setting", [True, False])
def test_the_setting_decides_on_any_backend(fake: FakeServer, setting: bool) -> None:
    fake.chat(Reply(events=RAW))
    llm = ChatZenLlama(base_url=fake.base_url, backend="openai-compatible", reasoning_open=setting)
    chunks = _split(list(llm.stream("hi")))
    if setting:
        assert chunks == [("Think", ""), ("ing.", ""), ("", "Hi")]
    else:  # the old rule: text handed out before </think> stays answer
        assert chunks[0] == ("", "Think")


def test_a_server_that_sends_reasoning_apart_wins_over_the_setting(fake: FakeServer) -> None:
    fake.chat(Reply(events=stream_of({"reasoning_content": "Think."}, {"content": "Hi"})))
    llm = ChatZenLlama(base_url=fake.base_url, backend="openai-compatible", reasoning_open=True)
    assert _split(list(llm.stream("hi"))) == [("Think.", ""), ("", "Hi")]


def test_llama_index_streams_the_same(opening: FakeServer) -> None:
    opening.chat(Reply(events=RAW))
    llm = ZenLlama(base_url=opening.base_url)
    responses = list(llm.stream_chat([user("hi")]))
    thinking: list[Any] = [r.additional_kwargs.get("thinking_delta") for r in responses]
    assert [t for t in thinking if t] == ["Think", "ing."]
    assert responses[-1].message.content == "Hi"


# The real test bed with a template that opens <think> in its generation prompt and that
# llama-server knows no reasoning format of (GLM's it knows, and splits itself). The grammar
# bounds the output to "reasoning</think>answer", whatever the model would say.
GRAMMAR = r'root ::= [a-zA-Z .]{5,40} "</think>" [a-zA-Z !.]{3,30}'


@pytest.fixture(scope="module")
def open_think_server() -> Iterator[LlamaServer]:
    yield from _serve(template=str(TEMPLATES / "open_think.jinja"))


@pytest.mark.llama_server
def test_real_llama_server_streams_the_opened_reasoning_as_reasoning(
    open_think_server: LlamaServer,
) -> None:
    llm = ChatZenLlama(base_url=open_think_server.base_url, grammar=GRAMMAR, **SAMPLING)
    chunks = list(llm.stream("What is the capital of France?"))
    pieces = _split(chunks)
    assert pieces[0][0] and not pieces[0][1]  # the first token is already reasoning
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    reasoning = str(merged.additional_kwargs["reasoning_content"])
    assert reasoning.strip() and str(merged.content).strip()
    assert "think>" not in reasoning + str(merged.content)
    whole = llm.invoke("What is the capital of France?")  # the same split, answered whole
    assert (whole.additional_kwargs["reasoning_content"], whole.content) == (
        reasoning,
        merged.content,
    )
