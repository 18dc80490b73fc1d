"""What a user installs, used as a user would: a chat, a stream, a tool call, embeddings and a
refused first backend with a fallback, through both frameworks, on the real llama-server.

The main suite runs this file in the project's venv; `python -m tests.compat.run` runs it again
in a fresh venv holding the built wheel at the newest and at the oldest versions pyproject.toml
allows, where `zenllama` must be the installed wheel, not this checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.base.llms.types import ChatMessage

import zenllama
from zenllama.langchain import ChatZenLlama, Fallback, ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlama, ZenLlamaEmbedding
from zenllama.local import LlamaServer, free_port

from ..support.testbed import SAMPLING, WEATHER_QUESTION, WEATHER_TOOL

pytestmark = [pytest.mark.llama_server, pytest.mark.users_get]

REPO = Path(__file__).resolve().parents[2]
NOTHING_THERE = f"http://127.0.0.1:{free_port()}/v1"


@pytest.mark.skipif(not os.environ.get("ZENLLAMA_COMPAT"), reason="only in the wheel's venvs")
def test_zenllama_is_the_installed_wheel() -> None:
    assert REPO not in Path(zenllama.__file__).resolve().parents


def test_chat_and_stream(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING)
    answer = llm.invoke("Say hello.")
    assert answer.content and answer.usage_metadata and answer.usage_metadata["output_tokens"] > 0
    chunks = list(llm.stream("Say hello."))
    merged = sum(chunks[1:], chunks[0])
    assert isinstance(merged, AIMessageChunk) and len(chunks) > 1 and merged.content
    assert merged.response_metadata["finish_reason"] in ("stop", "length")

    index = ZenLlama(base_url=tools_server.base_url, **SAMPLING)
    said = index.chat([ChatMessage(role="user", content="Say hello.")])
    assert said.message.content
    streamed = list(index.stream_chat([ChatMessage(role="user", content="Say hello.")]))
    assert len(streamed) > 1 and streamed[-1].message.content


def test_a_tool_call(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING)
    forced = llm.bind_tools([WEATHER_TOOL], tool_choice="get_weather")
    [call] = forced.invoke(WEATHER_QUESTION).tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"].get("city"), str)

    index = ZenLlama(base_url=tools_server.base_url, **SAMPLING)
    response = index.chat(
        [ChatMessage(role="user", content=WEATHER_QUESTION)],
        tools=[WEATHER_TOOL],
        tool_choice="required",
    )
    [selection] = index.get_tool_calls_from_response(response)
    assert selection.tool_name == "get_weather" and isinstance(selection.tool_kwargs, dict)


def test_embeddings(embeddings_server: LlamaServer) -> None:
    vectors = ZenLlamaEmbeddings(base_url=embeddings_server.base_url).embed_documents(["a", "b"])
    assert [len(v) for v in vectors] == [384, 384]
    one = ZenLlamaEmbedding(base_url=embeddings_server.base_url).get_text_embedding("a")
    assert len(one) == 384


def test_a_refused_first_backend_falls_back(tools_server: LlamaServer) -> None:
    fallback = Fallback(base_url=tools_server.base_url, name="fb")  # one class for both
    llm = ChatZenLlama(base_url=NOTHING_THERE, fallbacks=[fallback], max_retries=0, **SAMPLING)
    answer = llm.invoke("hi")
    assert answer.content and answer.response_metadata["route"]["backend"] == "fb"

    index = ZenLlama(
        base_url=NOTHING_THERE,
        fallbacks=[fallback],
        max_retries=0,
        **SAMPLING,
    )
    said = index.chat([ChatMessage(role="user", content="hi")])
    assert said.message.content and said.additional_kwargs["route"]["backend"] == "fb"
