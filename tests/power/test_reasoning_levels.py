"""`reasoning` levels on the real llama-server (Qwen3 template): on/off reach the template,
a token budget and an effort level are accepted; both frameworks."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock

from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

pytestmark = pytest.mark.llama_server

OPEN_THINKING = r'root ::= "<think>" [a-z ]+ "</think>" [a-zA-Z !.]{3,20}'
BASE = {"temperature": 0, "seed": 7, "max_tokens": 60, "grammar": OPEN_THINKING}


def _prompt(reasoning: object, server: LlamaServer) -> str:
    llm = ChatZenLlama(base_url=server.base_url, reasoning=reasoning)
    return llm.client.llama_cpp.apply_template(
        [{"role": "user", "content": "hi"}], **llm.request_parts({})
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
    """The server takes both fields (an unknown or ill-typed one is a 400). Whether a budget
    cuts thinking short is the model's template's business: with Gemma 270M steered by a
    grammar into `<think>`, this llama-server build did not shorten it (see the report)."""
    for reasoning in (4, "high"):
        lc = ChatZenLlama(base_url=reasoning_server.base_url, reasoning=reasoning, **BASE)
        message = lc.invoke([HumanMessage("Say hello")])
        assert message.additional_kwargs.get("reasoning_content")
        li = ZenLlama(base_url=reasoning_server.base_url, reasoning=reasoning, **BASE)
        response = await li.achat([ChatMessage(role="user", content="Say hello")])
        assert any(isinstance(b, ThinkingBlock) for b in response.message.blocks)
