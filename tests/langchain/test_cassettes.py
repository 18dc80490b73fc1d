"""ChatZenLlama on cassettes recorded from the real llama-server; replays offline."""

from __future__ import annotations

import pytest

from zenllama.langchain import ChatZenLlama

from ..support.recorded import make_vcr, server_url
from ..support.testbed import SAMPLING, THINK_GRAMMAR, TIME_TOOL, WEATHER_QUESTION, WEATHER_TOOL

pytestmark = pytest.mark.cassette
vcr = make_vcr("llama-server/langchain")


@vcr.use_cassette("reasoning_invoke_and_stream")
def test_reasoning_invoke_and_stream(request: pytest.FixtureRequest) -> None:
    llm = ChatZenLlama(
        base_url=server_url(request, "reasoning_server"), grammar=THINK_GRAMMAR, **SAMPLING
    )
    invoked = llm.invoke("Say hello")
    chunks = list(llm.stream("Say hello"))
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed = streamed + chunk
    for message in (invoked, streamed):
        assert message.additional_kwargs["reasoning_content"].strip()
        assert message.content and "think>" not in str(message.content)
        assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0
        assert "cache_read" in message.usage_metadata["input_token_details"]
        assert message.response_metadata["timings"]["predicted_n"] > 0
    assert invoked.content == streamed.content  # temperature 0, same seed
    assert sum(1 for c in chunks if c.additional_kwargs.get("reasoning_content")) > 1


@vcr.use_cassette("tool_call")
def test_tool_call(request: pytest.FixtureRequest) -> None:
    llm = ChatZenLlama(base_url=server_url(request, "tools_server"), **SAMPLING)
    # The model picks the tool itself (auto); a replay repeats the recorded answer exactly.
    message = llm.bind_tools([TIME_TOOL, WEATHER_TOOL]).invoke(WEATHER_QUESTION)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert llm.client.profile.name == "llama-server"  # detected from the recorded /props
