"""with_structured_output on answers the token limit cut off (issue 10 #9)."""

from __future__ import annotations

from typing import Any

import pytest

from zenllama.core import TruncatedOutputError
from zenllama.langchain import ChatZenLlama

from ..support.answers import answer, stream_of, usage
from ..support.fake_servers import FakeServer, Reply

SCHEMA = {
    "title": "Place",
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
}
CUT = '{"city": "Paris"'  # where max_tokens=9 stopped it
CUT_CALL = {"type": "function", "id": "call_1", "function": {"name": "Place", "arguments": CUT}}


def _cut(method: str, streamed: bool) -> Reply:
    if method == "function_calling":
        message: dict[str, Any] = {"content": "", "tool_calls": [CUT_CALL]}
    else:
        message = {"content": CUT + "}"}  # a closed object that is still cut short
    if not streamed:
        return Reply(body=answer(message, "length", usage(20, 9)))
    if method == "function_calling":
        delta = {"tool_calls": [{"index": 0, **CUT_CALL}]}
    else:
        delta = {"content": message["content"]}
    return Reply(events=stream_of(delta, finish="length", usage=usage(20, 9)))


METHODS = ["json_schema", "json_mode", "function_calling"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("call", ["invoke", "ainvoke"])
async def test_include_raw_reports_the_cut_as_a_parsing_error(
    fake: FakeServer, method: str, call: str
) -> None:
    fake.chat(_cut(method, streamed=False))
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server", max_tokens=9)
    chain = llm.with_structured_output(SCHEMA, method=method, include_raw=True)  # type: ignore[arg-type]
    out = chain.invoke("Where?") if call == "invoke" else await chain.ainvoke("Where?")

    assert out["parsed"] is None
    assert isinstance(out["parsing_error"], TruncatedOutputError)
    assert out["parsing_error"].completion_tokens == 9
    assert "max_tokens" in str(out["parsing_error"])
    assert out["raw"].response_metadata["finish_reason"] == "length"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("call", ["invoke", "stream", "astream"])
async def test_a_cut_answer_raises(fake: FakeServer, method: str, call: str) -> None:
    fake.chat(_cut(method, streamed=call != "invoke"))
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server", max_tokens=9)
    chain = llm.with_structured_output(SCHEMA, method=method)  # type: ignore[arg-type]
    with pytest.raises(TruncatedOutputError):
        if call == "invoke":
            chain.invoke("Where?")
        elif call == "stream":
            list(chain.stream("Where?"))
        else:
            [p async for p in chain.astream("Where?")]


async def test_a_finished_answer_still_streams_partial_objects(fake: FakeServer) -> None:
    fake.chat(
        Reply(
            events=stream_of({"content": '{"city": "Par'}, {"content": 'is", "country": "France"}'})
        )
    )
    llm = ChatZenLlama(base_url=fake.base_url, backend="llama-server")
    parts = list(llm.with_structured_output(SCHEMA).stream("Where?"))
    assert parts[-1] == {"city": "Paris", "country": "France"} and len(parts) > 1
