"""ZenLlama's settings: where they come from, what is sent, what is never shown."""

from __future__ import annotations

import json

import pytest
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW

from zenllama.core.request import LLAMA_CPP_FIELDS
from zenllama.llama_index import ZenLlama

from ..support.answers import LLAMA_PROPS, REASONING_ANSWER, text_stream
from ..support.fake_servers import FakeServer, Reply
from ..support.llama_index_calls import chat, stream_chat, user

SECRET = "sk-zen-do-not-leak-42"


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_URL", "BACKEND_MODEL", "BACKEND_API_KEY", "OPENCODE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


async def test_environment_fills_what_arguments_leave_out(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("BACKEND_URL", fake.base_url)
    monkeypatch.setenv("BACKEND_MODEL", "glm-4.7-free")
    monkeypatch.setenv("BACKEND_API_KEY", SECRET)
    llm = ZenLlama(max_retries=0)
    assert (llm.base_url, llm.model) == (fake.base_url, "glm-4.7-free")

    fake.chat(Reply(body=REASONING_ANSWER))
    await chat(llm, mode, [user("Hi")])
    assert fake.chat_bodies[-1]["model"] == "glm-4.7-free"
    assert fake.seen[-1].headers["authorization"] == f"Bearer {SECRET}"


async def test_llama_index_spellings_are_accepted(fake: FakeServer, mode: str) -> None:
    llm = ZenLlama(api_base=fake.base_url, additional_kwargs={"n_keep": 4}, max_retries=0)
    assert llm.base_url == fake.base_url
    fake.chat(Reply(body=REASONING_ANSWER))
    await chat(llm, mode, [user("Hi")])
    assert fake.chat_bodies[-1]["n_keep"] == 4


async def test_every_llama_cpp_field_is_a_setting_sent_when_set(
    fake: FakeServer, mode: str
) -> None:
    assert set(LLAMA_CPP_FIELDS) <= set(ZenLlama.model_fields)
    llm = ZenLlama(
        base_url=fake.base_url,
        max_retries=0,
        top_k=5,
        grammar='root ::= "x"',
        chat_template_kwargs={"enable_thinking": False},
        stop=["<|eot_id|>"],
        extra_body={"n_keep": 1},
    )
    fake.chat(Reply(body=REASONING_ANSWER))
    await chat(llm, mode, [user("Hi")], top_k=9, n_probs=2)  # call-time kwargs win

    body = fake.chat_bodies[-1]
    assert body["top_k"] == 9
    assert body["n_probs"] == 2
    assert body["grammar"] == 'root ::= "x"'
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["stop"] == ["<|eot_id|>"]
    assert body["n_keep"] == 1
    assert "min_p" not in body and "temperature" not in body  # unset fields are not sent


async def test_thinking_switches_use_the_backend_dialect(fake: FakeServer, mode: str) -> None:
    fake.props = LLAMA_PROPS
    llm = ZenLlama(base_url=fake.base_url, reasoning=False, max_retries=0)
    fake.chat(Reply(body=REASONING_ANSWER))
    fake.chat(Reply(body=REASONING_ANSWER))
    await chat(llm, mode, [user("Hi")])
    await chat(llm, mode, [user("Hi")], reasoning=True, preserve_thinking=True)

    off, preserved = fake.chat_bodies
    assert off["chat_template_kwargs"] == {"enable_thinking": False}
    assert preserved["chat_template_kwargs"] == {"enable_thinking": True, "clear_thinking": False}


async def test_stream_usage_can_be_turned_off(fake: FakeServer, mode: str) -> None:
    llm = ZenLlama(base_url=fake.base_url, stream_usage=False, max_retries=0)
    fake.chat(Reply(events=text_stream("Hi")))
    await stream_chat(llm, mode, [user("Hi")])
    assert "stream_options" not in fake.chat_bodies[-1]


def test_api_key_is_never_shown_or_serialized(fake: FakeServer) -> None:
    llm = ZenLlama(base_url=fake.base_url, api_key=SECRET)
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET
    shown = [repr(llm), str(llm), json.dumps(llm.to_dict()), llm.to_json()]
    if hasattr(llm, "to_payload"):  # llama-index-core 0.14.23 and later
        shown.append(json.dumps(llm.to_payload()))
    for text in shown:
        assert SECRET not in text
    restored = ZenLlama.from_dict(llm.to_dict())
    assert (restored.base_url, restored.api_key) == (fake.base_url, None)


def test_construction_and_metadata_touch_the_network_once(fake: FakeServer) -> None:
    fake.props = LLAMA_PROPS
    llm = ZenLlama(base_url=fake.base_url, max_tokens=256)
    assert fake.seen == []

    metadata = llm.metadata
    assert metadata.context_window == 8192  # llama-server's n_ctx
    assert (metadata.is_chat_model, metadata.is_function_calling_model) == (True, True)
    assert metadata.num_output == 256
    asked = len(fake.seen)
    assert llm.metadata.context_window == 8192
    assert len(fake.seen) == asked == 1


def test_metadata_names_the_served_model_and_the_calls_limit(fake: FakeServer) -> None:
    """Not 'default' and -1: the model llama-server reports and max_tokens, however given,
    from the one /props request the backend probe makes."""
    fake.props = {**LLAMA_PROPS, "model_path": "/models/qwen2.5-coder-0.5b-q4_k_m.gguf"}
    llm = ZenLlama(base_url=fake.base_url, additional_kwargs={"max_tokens": 96})
    metadata = llm.metadata
    assert metadata.model_name == "qwen2.5-coder-0.5b-q4_k_m.gguf"
    assert metadata.num_output == 96
    assert llm.metadata.model_name == metadata.model_name
    assert [seen.path for seen in fake.seen] == ["/props"]
    assert ZenLlama(base_url=fake.base_url, model="mine").metadata.model_name == "mine"
    assert ZenLlama(base_url=fake.base_url).metadata.num_output == -1  # no limit set


def test_context_window_without_a_server(fake: FakeServer) -> None:
    zen = ZenLlama(base_url="https://opencode.ai/zen/v1", model="glm-4.7", api_key=SECRET)
    assert zen.metadata.context_window == 200_000  # known for zen models, no request
    assert zen.metadata.model_name == "glm-4.7"
    # (A model given: without one, metadata asks the server which it serves.)
    given = ZenLlama(base_url=fake.base_url, model="local", context_window=1234)
    assert given.metadata.context_window == 1234
    assert fake.seen == []
    # A server that does not say (no /props) leaves LlamaIndex's default.
    assert ZenLlama(base_url=fake.base_url).metadata.context_window == DEFAULT_CONTEXT_WINDOW
