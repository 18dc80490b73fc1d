"""The routed model through both frameworks, offline: metadata, events, env opt-in, tool loops
across a switch (LangChain create_agent, LlamaIndex FunctionAgent)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tools import tool
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool

from zenllama.core import BackendConnectionError, MissingAPIKeyError, RoutedChatClient
from zenllama.frameworks import Fallback
from zenllama.langchain import ChatZenLlama, ZenLlamaEmbeddings
from zenllama.langchain.routing import ROUTE_EVENT
from zenllama.llama_index import ZenLlama
from zenllama.llama_index.routing import RouteSwitchEvent

from ..support.answers import answer, tool_call_answer, tool_call_stream
from ..support.fake_servers import FakeServer, Reply, error
from ..support.fake_zen import FAKE_KEY
from ..support.spy import SentRequests
from ..support.synthesized import MODEL, ZEN_URL
from .conftest import Seen, dead_url, zen_chats, zen_fields

pytestmark = [
    pytest.mark.usefixtures("zen"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect"),
]
LOADING = Reply(503, error(503, "Loading model", "unavailable_error"))
ZEN = [Fallback(**zen_fields())]


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.custom: list[tuple[str, Any]] = []
        self.ended: list[Any] = []

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.custom.append((name, data))

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        assert isinstance(generation, ChatGeneration)
        self.ended.append(generation.message.response_metadata.get("route"))


# LangChain ------------------------------------------------------------------------------
def test_langchain_says_which_backend_served_and_tells_callbacks() -> None:
    llm = ChatZenLlama(base_url=dead_url(), fallbacks=ZEN)
    events = Events()
    message = llm.invoke("hi", config={"callbacks": [events]})
    route = {"backend": "zen", "reason": "local unavailable: connection failed"}
    assert message.response_metadata["route"] == route
    assert message.response_metadata["backend"] == "zen"
    assert events.custom == [(ROUTE_EVENT, route)]


def test_langchain_streams_carry_the_route_on_the_last_chunk() -> None:
    llm = ChatZenLlama(base_url=dead_url(), fallbacks=ZEN)
    events = Events()
    chunks = list(llm.stream("hi", config={"callbacks": [events]}))
    assert chunks[-1].response_metadata["route"]["backend"] == "zen"
    # LangChain's stream() hands _stream no run manager: the route reaches callbacks in
    # on_llm_end (the custom event comes with invoke/ainvoke/batch).
    assert events.ended == [chunks[-1].response_metadata["route"]]


async def test_langchain_async_routes() -> None:
    llm = ChatZenLlama(base_url=dead_url(), fallbacks=ZEN)
    message = await llm.ainvoke("hi")
    chunks = [c async for c in llm.astream("hi")]
    assert message.response_metadata["route"]["backend"] == "zen"
    assert chunks[-1].response_metadata["route"]["backend"] == "zen"


def test_langchain_per_call_route(fake: FakeServer) -> None:
    llm = ChatZenLlama(base_url=fake.base_url, fallbacks=ZEN)
    message = llm.invoke("hi", route="zen")
    assert message.response_metadata["route"]["reason"] == "route='zen' asked"
    assert fake.chat_bodies == []


def test_route_on_a_single_backend_model_is_a_clear_error(fake: FakeServer) -> None:
    llm = ChatZenLlama(base_url=fake.base_url, fallbacks=[])
    with pytest.raises(ValueError, match="route='zen' needs fallbacks"):
        llm.invoke("hi", route="zen")


def test_environment_opts_in_and_keeps_the_first_backends_key_and_model(
    fake: FakeServer, sent: SentRequests, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.chat(LOADING)
    monkeypatch.setenv("BACKEND_URL", fake.base_url)
    monkeypatch.setenv("BACKEND_API_KEY", "local-secret")
    monkeypatch.setenv("BACKEND_MODEL", "gemma")
    monkeypatch.setenv("BACKEND_FALLBACK_URL", ZEN_URL)
    monkeypatch.setenv("BACKEND_FALLBACK_MODEL", MODEL)
    monkeypatch.setenv("BACKEND_FALLBACK_API_KEY", FAKE_KEY)
    llm = ChatZenLlama()
    assert isinstance(llm.client, RoutedChatClient) and llm.client.names == ("local", "zen")
    assert llm.invoke("hi").response_metadata["route"]["backend"] == "zen"
    zen = zen_chats(sent)[-1]
    assert zen.headers["authorization"] == f"Bearer {FAKE_KEY}" and zen.body["model"] == MODEL
    assert "local-secret" not in repr(llm) and "local-secret" not in llm.model_dump_json()
    assert FAKE_KEY not in repr(llm) and FAKE_KEY not in llm.model_dump_json()


def test_no_fallback_env_means_the_single_backend_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKEND_FALLBACK_URL", raising=False)
    assert not isinstance(ChatZenLlama().client, RoutedChatClient)


def test_langchain_manual_tool_loop_across_a_switch(fake: FakeServer, sent: SentRequests) -> None:
    fake.props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1}
    fake.chat(Reply(body=tool_call_answer('{"city": "Paris"}', call_id="call_local")), LOADING)

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        return f"rainy in {city}"

    llm = ChatZenLlama(base_url=fake.base_url, fallbacks=ZEN).bind_tools([get_weather])
    messages: list[Any] = [HumanMessage("Weather in Paris?")]
    ai = llm.invoke(messages)
    assert ai.response_metadata["route"]["backend"] == "local"
    messages += [
        ai,
        *(ToolMessage(get_weather.invoke(c["args"]), tool_call_id=c["id"]) for c in ai.tool_calls),
    ]
    final = llm.invoke(messages)
    assert final.response_metadata["route"]["backend"] == "zen"
    assert final.content == "The tool says: rainy in Paris."
    sent_messages = zen_chats(sent)[-1].body["messages"]
    assert (
        sent_messages[1]["tool_calls"][0]["id"] == sent_messages[2]["tool_call_id"] == "call_local"
    )


def test_langchain_agent_tool_loop_across_a_switch(fake: FakeServer) -> None:
    fake.props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1}
    fake.chat(Reply(body=tool_call_answer('{"city": "Paris"}', call_id="call_local")), LOADING)
    cities: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        cities.append(city)
        return "rainy"

    agent = create_agent(ChatZenLlama(base_url=fake.base_url, fallbacks=ZEN), [get_weather])
    state = agent.invoke({"messages": [HumanMessage("Weather in Paris?")]})
    routes = [
        m.response_metadata.get("route", {}).get("backend")
        for m in state["messages"]
        if m.type == "ai"
    ]
    assert cities == ["Paris"] and routes == ["local", "zen"]
    assert state["messages"][-1].content == "The tool says: rainy."


# LlamaIndex -------------------------------------------------------------------------------
def test_llama_index_says_which_backend_served_and_dispatches_an_event(seen: Seen) -> None:
    llm = ZenLlama(base_url=dead_url(), fallbacks=ZEN)
    response = llm.chat([ChatMessage(role="user", content="hi")])
    assert response.additional_kwargs["route"] == {
        "backend": "zen",
        "reason": "local unavailable: connection failed",
    }
    switches = [e for e in seen.events if isinstance(e, RouteSwitchEvent)]
    assert [(e.backend, e.reason) for e in switches] == [
        ("zen", "local unavailable: connection failed")
    ]
    streamed = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
    assert streamed[-1].additional_kwargs["route"]["backend"] == "zen"


async def test_llama_index_function_agent_across_a_switch(fake: FakeServer, seen: Seen) -> None:
    fake.props = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1}
    fake.chat(Reply(events=tool_call_stream(['{"city": ', '"Paris"}'])), LOADING)
    cities: list[str] = []

    def get_weather(city: str) -> str:
        """Get the current weather in a city"""
        cities.append(city)
        return "rainy"

    llm = ZenLlama(base_url=fake.base_url, fallbacks=ZEN)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_weather)], llm=llm)
    handler = agent.run(user_msg="Weather in Paris?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    output = await handler
    assert cities == ["Paris"] and [r.tool_id for r in results] == ["call_s1"]
    assert str(output) == "The tool says: rainy."
    switches = [e for e in seen.events if isinstance(e, RouteSwitchEvent)]
    assert [(e.backend, e.reason) for e in switches] == [
        ("zen", "local unavailable: HTTP 503 (loading)")
    ]


def test_fallbacks_serialize_without_keys() -> None:
    llm = ChatZenLlama(base_url=dead_url(), fallbacks=ZEN)
    dumped = llm.model_dump()
    assert dumped["fallbacks"][0]["base_url"] == ZEN_URL
    assert "api_key" not in dumped["fallbacks"][0]
    assert answer  # shapes module shared with the core tests


def test_a_keyless_zen_fallback_fails_when_built_not_when_local_goes_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BACKEND_FALLBACK_API_KEY", "OPENCODE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKEND_API_KEY", "the-first-backends-key")  # never sent to a fallback
    with pytest.raises(MissingAPIKeyError, match="BACKEND_FALLBACK_API_KEY or OPENCODE_API_KEY"):
        ZenLlama(base_url=dead_url(), fallbacks=[Fallback(base_url=ZEN_URL, model=MODEL)])
    monkeypatch.setenv("OPENCODE_API_KEY", FAKE_KEY)
    llm = ZenLlama(base_url=dead_url(), fallbacks=[Fallback(base_url=ZEN_URL, model=MODEL)])
    assert llm.complete("hi").additional_kwargs["route"]["backend"] == "zen"


def test_embeddings_never_fall_back(monkeypatch: pytest.MonkeyPatch, sent: SentRequests) -> None:
    # Vectors of two models do not belong in one index: a fallback is for chat only.
    monkeypatch.setenv("BACKEND_FALLBACK_URL", ZEN_URL)
    monkeypatch.setenv("BACKEND_FALLBACK_API_KEY", FAKE_KEY)
    with pytest.raises(BackendConnectionError):
        ZenLlamaEmbeddings(base_url=dead_url(), max_retries=0).embed_query("hi")
    assert [s for s in sent if "opencode.ai" in s.url] == []
