"""The core client against the real llama-server test bed."""

from __future__ import annotations

import pytest

from zenllama.core import ChatClient, ChatRequest, resolve_settings
from zenllama.local import LlamaServer

from ..support.testbed import SAMPLING

pytestmark = pytest.mark.llama_server

HI = [{"role": "user", "content": "hi"}]
# A grammar pins the answer: text holding characters str.splitlines breaks at, SSE does not.
SEPARATED = "line one\u2028line two\u2029end"
GRAMMAR = 'root ::= "line one\u2028line two\u2029end"'


async def test_unicode_line_separators_survive_every_mode(tools_server: LlamaServer) -> None:
    chat = ChatClient(resolve_settings(base_url=tools_server.base_url))
    options = {**SAMPLING, "grammar": GRAMMAR, "max_tokens": 30}
    assert chat.complete(ChatRequest(HI, options=options)).text == SEPARATED
    assert (await chat.acomplete(ChatRequest(HI, options=options))).text == SEPARATED
    assert "".join(d.text for d in chat.stream(ChatRequest(HI, options=options))) == SEPARATED
    streamed = [d.text async for d in chat.astream(ChatRequest(HI, options=options))]
    assert "".join(streamed) == SEPARATED
