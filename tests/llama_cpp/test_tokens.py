"""Exact token counts from llama-server (/apply-template + /tokenize), through both frameworks."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.node_parser import TokenTextSplitter

from zenllama.core import ChatClient, resolve_settings
from zenllama.core.errors import FeatureNotSupportedError
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

from ..support.fake_servers import FakeServer, Reply
from ..support.testbed import SAMPLING, WEATHER_TOOL

MESSAGES = [
    SystemMessage("You are terse."),
    HumanMessage("Name a colour."),
    AIMessage("Blue."),
    HumanMessage("And a fruit? <start_of_turn> is text here."),
]


@pytest.mark.llama_server
async def test_langchain_count_equals_the_servers_prompt_tokens(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url, **{**SAMPLING, "max_tokens": 2})
    counted = llm.get_num_tokens_from_messages(MESSAGES)
    answer = llm.invoke(MESSAGES)
    assert answer.usage_metadata is not None
    assert counted == answer.usage_metadata["input_tokens"]
    assert await llm.aget_num_tokens_from_messages(MESSAGES) == counted
    # Tools are part of the prompt: counted with them, the number grows and still matches.
    with_tools = llm.get_num_tokens_from_messages(MESSAGES, tools=[WEATHER_TOOL])
    bound = llm.bind_tools([WEATHER_TOOL]).invoke(MESSAGES)
    assert bound.usage_metadata is not None
    assert with_tools == bound.usage_metadata["input_tokens"] > counted


@pytest.mark.llama_server
async def test_langchain_text_tokens_round_trip(tools_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=tools_server.base_url)
    text = "Fill-in-the-middle <start_of_turn> stays literal."
    ids = llm.get_token_ids(text)
    assert ids == await llm.aget_token_ids(text)
    assert llm.get_num_tokens(text) == len(ids) == await llm.aget_num_tokens(text)
    assert llm.client.llama_cpp.detokenize(ids) == text
    # Plain text: no BOS, special spellings read as text (more than one token).
    assert len(llm.get_token_ids("<start_of_turn>")) > 1


@pytest.mark.llama_server
def test_counts_are_cached_per_text_and_thread_safe(tools_server: LlamaServer) -> None:
    client = ChatClient(resolve_settings(base_url=tools_server.base_url))
    texts = [f"chunk number {i}" for i in range(20)]
    results: dict[int, list[list[int]]] = {}

    def work(n: int) -> None:
        results[n] = [client.llama_cpp.tokenize(t) for t in texts]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == results[0] for r in results.values())
    sent = client.llama_cpp._text_tokens  # one entry per text, whatever the thread count
    assert len(sent) == len(texts)


@pytest.mark.llama_server
async def test_llama_index_tokenizer_splitter_memory_and_count(tools_server: LlamaServer) -> None:
    llm = ZenLlama(base_url=tools_server.base_url, **{**SAMPLING, "max_tokens": 2})
    tokenizer = llm.tokenizer
    text = " ".join(f"word{i}" for i in range(200))
    n = len(tokenizer(text))
    splitter = TokenTextSplitter(chunk_size=64, chunk_overlap=0, tokenizer=tokenizer)
    chunks = splitter.split_text(text)
    assert len(chunks) >= n // 64
    assert all(len(tokenizer(c)) <= 64 for c in chunks)
    memory = ChatMemoryBuffer.from_defaults(token_limit=40, tokenizer_fn=tokenizer)
    for i in range(10):
        memory.put(ChatMessage(role="user", content=f"message {i} " + "x " * 10))
    kept = memory.get()
    assert 0 < len(kept) < 10
    messages = [ChatMessage(role="user", content="Name a colour.")]
    counted = llm.count_tokens(messages)
    response = llm.chat(messages)
    assert (
        counted == response.additional_kwargs["prompt_tokens"] == await llm.acount_tokens(messages)
    )


def test_zen_estimates_counts_and_refuses_ids_without_downloading(fake: FakeServer) -> None:
    llm = ChatZenLlama(base_url=fake.base_url, backend="openai-compatible", api_key="k")
    assert llm.get_num_tokens("x" * 40) == 10  # LangChain's documented ~4 chars a token
    assert llm.get_num_tokens_from_messages(MESSAGES) > 0
    with pytest.raises(FeatureNotSupportedError, match="tokenize needs llama-server"):
        llm.get_token_ids("hello")
    with pytest.raises(FeatureNotSupportedError):
        ZenLlama(base_url=fake.base_url, backend="openai-compatible").tokenizer("hello")
    assert fake.seen == []  # nothing asked of the backend, nothing downloaded


def test_auto_backend_probes_once_then_counts_from_the_server(fake: FakeServer) -> None:
    fake.props = {"default_generation_settings": {"n_ctx": 512}, "total_slots": 1}
    fake.handle("/tokenize", lambda seen: Reply(body={"tokens": [1, 2, 3]}))
    llm = ChatZenLlama(base_url=fake.base_url)
    assert llm.get_num_tokens("abc") == 3
    assert llm.get_num_tokens("abc") == 3  # cached: one /tokenize request
    assert [s.path for s in fake.seen] == ["/props", "/tokenize"]
