"""LangSmith parameters name the model the server serves when none was given (issue 10 #14)."""

from __future__ import annotations

import pickle

from zenllama.langchain import ChatZenLlama

from ..support.answers import answer
from ..support.fake_servers import FakeServer, Reply

PROPS = {
    "default_generation_settings": {"n_ctx": 4096},
    "total_slots": 1,
    "model_path": "/models/gemma-3-270m-it-Q4_K_M.gguf",
}


def test_llama_server_model_from_the_probe_without_another_round_trip(fake: FakeServer) -> None:
    fake.props = PROPS
    fake.chat(Reply(body=answer({"content": "hi"})), Reply(body=answer({"content": "hi"})))
    llm = ChatZenLlama(base_url=fake.base_url)
    assert llm._get_ls_params()["ls_model_name"] == "gemma-3-270m-it-Q4_K_M.gguf"
    llm.invoke("hi")
    llm.invoke("hi")
    assert [s.path for s in fake.seen] == ["/props", *["/v1/chat/completions"] * 2]


def test_other_servers_name_their_first_model(fake: FakeServer) -> None:
    fake.reply("/v1/models", Reply(body={"object": "list", "data": [{"id": "served-model"}]}))
    llm = ChatZenLlama(base_url=fake.base_url, backend="openai-compatible")
    assert llm._get_ls_params()["ls_model_name"] == "served-model"
    assert llm._get_ls_params()["ls_model_name"] == "served-model"
    assert len(fake.requests_to("/v1/models")) == 1


def test_a_given_model_wins_and_asks_nothing(fake: FakeServer) -> None:
    llm = ChatZenLlama(base_url=fake.base_url, model="mine")
    assert llm._get_ls_params()["ls_model_name"] == "mine"
    assert llm._get_ls_params(model="per-call")["ls_model_name"] == "per-call"
    assert fake.seen == []


def test_a_server_that_is_down_leaves_the_call_to_say_so() -> None:
    llm = ChatZenLlama(base_url="http://127.0.0.1:9/v1", backend="openai-compatible", max_retries=0)
    assert llm._get_ls_params()["ls_model_name"] == "default"


def test_a_server_without_models_is_asked_once(fake: FakeServer) -> None:
    # fake.props is None: no /props and no /models (404), as on many OpenAI-compatible servers.
    fake.chat(*[Reply(body=answer({"content": "hi"})) for _ in range(3)])
    llm = ChatZenLlama(base_url=fake.base_url)
    for _ in range(3):
        llm.invoke("hi")
    assert llm._get_ls_params()["ls_model_name"] == "default"
    assert len(fake.requests_to("/v1/models")) == 1
    assert len(fake.requests_to("/v1/chat/completions")) == 3
    pickle.loads(pickle.dumps(llm))  # what it remembers goes with the client: not pickled


def test_a_loading_server_is_asked_again(fake: FakeServer) -> None:
    loading = {"error": {"message": "Loading model", "type": "unavailable_error"}}
    fake.reply("/v1/models", Reply(status=503, body=loading))
    fake.reply("/v1/models", Reply(body={"object": "list", "data": [{"id": "served-model"}]}))
    llm = ChatZenLlama(base_url=fake.base_url, backend="openai-compatible", max_retries=0)
    assert llm._get_ls_params()["ls_model_name"] == "default"
    assert llm._get_ls_params()["ls_model_name"] == "served-model"
