"""`reasoning` levels on the real llama-server (Qwen3 template): on/off reach the template,
a token budget cuts thinking short, an effort level is accepted; both frameworks."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock

from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

pytestmark = pytest.mark.llama_server

# Thinking that would run to max_tokens unless something ends it.
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


async def test_a_budget_cuts_thinking_short(reasoning_server: LlamaServer) -> None:
    free = ChatZenLlama(base_url=reasoning_server.base_url, **BASE)
    budget = ChatZenLlama(base_url=reasoning_server.base_url, reasoning=4, **BASE)
    unbounded = free.invoke([HumanMessage("Say hello")])
    cut = budget.invoke([HumanMessage("Say hello")])
    long_r = unbounded.additional_kwargs.get("reasoning_content", "")
    short_r = cut.additional_kwargs.get("reasoning_content", "")
    assert len(free.get_token_ids(short_r)) <= 6 < len(free.get_token_ids(long_r))
    index_llm = ZenLlama(base_url=reasoning_server.base_url, reasoning=4, **BASE)
    response = await index_llm.achat([ChatMessage(role="user", content="Say hello")])
    thinking = "".join(
        block.content or "" for block in response.message.blocks if isinstance(block, ThinkingBlock)
    )
    assert len(free.get_token_ids(thinking)) <= 6
