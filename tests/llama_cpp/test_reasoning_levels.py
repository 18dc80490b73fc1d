"""`reasoning` levels on the real llama-server: on/off reach the template (Qwen3), a token
budget ends thinking after that many tokens and an effort reaches the template on all three
wires (a template that opens <think> in the prompt); both frameworks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock

from zenllama.core import ChatClient, ChatRequest, resolve_settings
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

pytestmark = pytest.mark.llama_server

TEMPLATES = Path(__file__).parents[1] / "support" / "templates"

OPEN_THINKING = r'root ::= "<think>" [a-z ]+ "</think>" [a-zA-Z !.]{3,20}'
BASE = {"temperature": 0, "seed": 7, "max_tokens": 60, "grammar": OPEN_THINKING}


def _prompt(reasoning: object, server: LlamaServer) -> str:
    llm = ChatZenLlama(base_url=server.base_url, reasoning=reasoning)
    return llm.client.llama_cpp.apply_template(
        llm.chat_request([{"role": "user", "content": "hi"}], {})
    )


def test_on_and_off_reach_the_chat_template(reasoning_server: LlamaServer) -> None:
    # Qwen3's template closes an empty think block when thinking is off.
    assert "<think>\n\n</think>" in _prompt("off", reasoning_server)
    assert "<think>\n\n</think>" in _prompt(False, reasoning_server)
    assert "<think>" not in _prompt("on", reasoning_server)
    assert "<think>" not in _prompt("high", reasoning_server)  # an effort means on


async def test_budget_and_effort_are_accepted_through_both_frameworks(
    reasoning_server: LlamaServer,
) -> None:
    """The server takes both fields (an unknown or ill-typed one is a 400). Here the budget
    never starts counting: the grammar makes Gemma spell `<think>` in pieces ("<", "t", "hi",
    …), and llama-server starts a budget only on the tag's own tokens (see the next tests)."""
    for reasoning in (4, "high"):
        lc = ChatZenLlama(base_url=reasoning_server.base_url, reasoning=reasoning, **BASE)
        message = lc.invoke([HumanMessage("Say hello")])
        assert message.additional_kwargs.get("reasoning_content")
        li = ZenLlama(base_url=reasoning_server.base_url, reasoning=reasoning, **BASE)
        response = await li.achat([ChatMessage(role="user", content="Say hello")])
        assert any(isinstance(b, ThinkingBlock) for b in response.message.blocks)


@pytest.fixture(scope="module")
def thinking_server() -> Iterator[LlamaServer]:
    """Gemma with a template that opens <think> in the prompt (QwQ's), so llama-server's
    budget counts from the first token the model writes; no grammar."""
    template = str(TEMPLATES / "think_open_effort.jinja")

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with LlamaServer(
        model="gemma", template=template, ctx_size=1024, parallel=1, threads=1, progress=progress
    ) as server:
        yield server


ASK = [{"role": "user", "content": "Say hello"}]
GREEDY: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 24}


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
def test_a_budget_ends_thinking_after_that_many_tokens(
    thinking_server: LlamaServer, api: str
) -> None:
    """llama-server's sampler forces `</think>` once the budget is spent (chat:
    reasoning_budget_tokens; Messages: thinking.budget_tokens; Responses: the chat field,
    passed through). This model never closes <think> by itself within max_tokens."""
    client = ChatClient(resolve_settings(base_url=thinking_server.base_url))
    counts = {}
    for budget in (4, 16):
        result = client.complete(ChatRequest(ASK, api=api, reasoning=budget, options=GREEDY))
        counts[budget] = len(client.llama_cpp.tokenize(result.reasoning))
        assert 0 < counts[budget] <= budget
        assert result.text  # what it wrote after the forced end of thinking
    assert counts[4] < counts[16]
    if api != "messages":  # (Messages always sends a budget)
        unbounded = client.complete(ChatRequest(ASK, api=api, reasoning=True, options=GREEDY))
        assert not unbounded.text  # no budget: it thinks until max_tokens


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
def test_an_effort_reaches_the_chat_template(thinking_server: LlamaServer, api: str) -> None:
    """The template writes `reasoning_effort` into the prompt when it gets one: the prompt
    grows by that line on every wire (on Messages, as a chat_template_kwargs entry)."""
    client = ChatClient(resolve_settings(base_url=thinking_server.base_url))
    options = {**GREEDY, "max_tokens": 8}

    def prompt_tokens(**reasoning: Any) -> int:
        request = ChatRequest(ASK, api=api, thinking_budget=4, options=options, **reasoning)
        usage = client.complete(request)
        assert usage.usage is not None
        return usage.usage.input_tokens

    assert prompt_tokens(reasoning_effort="high") > prompt_tokens() + 3


async def test_a_budget_through_both_frameworks(thinking_server: LlamaServer) -> None:
    lc = ChatZenLlama(base_url=thinking_server.base_url, reasoning=4, **GREEDY)
    message = await lc.ainvoke([HumanMessage("Say hello")])
    reasoning = message.additional_kwargs["reasoning_content"]
    assert 0 < len(lc.get_token_ids(reasoning)) <= 4 and message.content
    li = ZenLlama(base_url=thinking_server.base_url, reasoning=4, api="messages", **GREEDY)
    response = li.chat([ChatMessage(role="user", content="Say hello")])
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert thinking and 0 < len(li.tokenizer(thinking[0].content or "")) <= 4
