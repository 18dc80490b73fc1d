"""Lifetimes of the four framework classes (issue 10 #10, #11): copies, setting changes,
close and `with`, pickles and LangChain dumps, never with a live client or the key."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.load import dumps, loads
from llama_index.core.base.llms.types import ChatMessage
from pydantic import SecretStr

from zenllama.core import InvalidSettingError, MissingAPIKeyError
from zenllama.core.errors import redact_url
from zenllama.langchain import ChatZenLlama, Fallback, ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlama, ZenLlamaEmbedding

from ..support.answers import answer
from ..support.embeddings_fake import EMBEDDINGS, EmbeddingsFake
from ..support.fake_servers import FakeServer, Reply

SECRET = "sk-lifecycle-secret"


def _chat_lc(obj: Any) -> Any:
    return obj.invoke("hi").content


def _chat_li(obj: Any) -> Any:
    return obj.chat([ChatMessage(role="user", content="hi")]).message.content


def _embed_lc(obj: Any) -> Any:
    return obj.embed_query("hi")


def _embed_li(obj: Any) -> Any:
    return obj.get_text_embedding("hi")


# (class, one call, the path that call reaches)
KINDS: dict[str, tuple[type[Any], Callable[[Any], Any], str]] = {
    "ChatZenLlama": (ChatZenLlama, _chat_lc, "/v1/chat/completions"),
    "ZenLlama": (ZenLlama, _chat_li, "/v1/chat/completions"),
    "ZenLlamaEmbeddings": (ZenLlamaEmbeddings, _embed_lc, EMBEDDINGS),
    "ZenLlamaEmbedding": (ZenLlamaEmbedding, _embed_li, EMBEDDINGS),
}


def _serving(server: FakeServer) -> FakeServer:
    EmbeddingsFake(server)  # answers /v1/embeddings
    server.handle("/v1/chat/completions", lambda seen: Reply(body=answer({"content": "ok"})))
    return server


@pytest.fixture
def two() -> Iterator[tuple[FakeServer, FakeServer]]:
    first, second = FakeServer(), FakeServer()
    yield _serving(first), _serving(second)
    first.close()
    second.close()


@pytest.fixture(params=list(KINDS))
def kind(request: pytest.FixtureRequest) -> tuple[type[Any], Callable[[Any], Any], str]:
    return KINDS[str(request.param)]


def _calls(server: FakeServer, path: str) -> int:
    return len(server.requests_to(path))


def test_a_copy_with_a_new_url_calls_the_new_server(
    two: tuple[FakeServer, FakeServer], kind: tuple[type[Any], Callable[[Any], Any], str]
) -> None:
    first, second = two
    cls, call, path = kind
    original = cls(base_url=first.base_url, backend="llama-server", max_retries=0)
    call(original)
    copy = original.model_copy(update={"base_url": second.base_url})
    call(copy)
    call(original)
    assert (_calls(first, path), _calls(second, path)) == (2, 1)
    assert copy.client is not original.client


def test_a_changed_setting_takes_effect(
    two: tuple[FakeServer, FakeServer], kind: tuple[type[Any], Callable[[Any], Any], str]
) -> None:
    first, second = two
    cls, call, path = kind
    obj = cls(base_url=first.base_url, backend="llama-server", max_retries=0)
    call(obj)
    obj.base_url = second.base_url
    call(obj)
    assert (_calls(first, path), _calls(second, path)) == (1, 1)


def test_with_closes_and_a_closed_object_opens_again(
    two: tuple[FakeServer, FakeServer], kind: tuple[type[Any], Callable[[Any], Any], str]
) -> None:
    first, _ = two
    cls, call, path = kind
    with cls(base_url=first.base_url, backend="llama-server", max_retries=0) as obj:
        call(obj)
        used = obj.client
    assert obj.client is not used  # closed on exit: the next use builds a new client
    call(obj)
    assert _calls(first, path) == 2


async def test_async_with_closes(
    two: tuple[FakeServer, FakeServer], kind: tuple[type[Any], Callable[[Any], Any], str]
) -> None:
    first, _ = two
    cls, _call, _path = kind
    async with cls(base_url=first.base_url, backend="llama-server") as obj:
        used = obj.client
    assert obj.client is not used


def test_closing_a_copy_leaves_the_original_working(
    two: tuple[FakeServer, FakeServer], kind: tuple[type[Any], Callable[[Any], Any], str]
) -> None:
    first, _ = two
    cls, call, path = kind
    original = cls(base_url=first.base_url, backend="llama-server", max_retries=0)
    call(original)
    used = original.client
    original.model_copy().close()
    assert original.client is used
    call(original)
    assert _calls(first, path) == 2


def test_pickles_hold_no_client_and_no_key(
    two: tuple[FakeServer, FakeServer],
    kind: tuple[type[Any], Callable[[Any], Any], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, _ = two
    cls, call, path = kind
    obj = cls(base_url=first.base_url, api_key=SECRET, backend="llama-server", max_retries=0)
    call(obj)  # a live client exists now
    data = pickle.dumps(obj)
    assert SECRET.encode() not in data

    monkeypatch.setenv("BACKEND_API_KEY", "sk-from-env")
    restored = pickle.loads(data)
    call(restored)  # builds its own client
    assert _calls(first, path) == 2
    assert restored.api_key.get_secret_value() == "sk-from-env"  # read again, as a new one
    assert isinstance(restored.api_key, SecretStr)  # the field's type, wherever the key came from
    assert first.requests_to(path)[-1].headers["authorization"] == "Bearer sk-from-env"


def test_langchain_dumps_and_loads_the_chat_model(fake: FakeServer) -> None:
    llm = ChatZenLlama(
        base_url=fake.base_url, api_key=SECRET, model="m", temperature=0.5, max_tokens=7
    )
    text = dumps(llm)
    assert SECRET not in text and "not_implemented" not in text
    restored = loads(
        text,
        allowed_objects=[ChatZenLlama],
        valid_namespaces=["zenllama"],
        secrets_map={"BACKEND_API_KEY": "sk-restored"},
    )
    assert isinstance(restored, ChatZenLlama)
    assert (restored.base_url, restored.model_name, restored.temperature, restored.max_tokens) == (
        fake.base_url,
        "m",
        0.5,
        7,
    )
    assert restored.api_key is not None and restored.api_key.get_secret_value() == "sk-restored"
    assert restored.session_id != llm.session_id  # drawn at random: not carried over


def test_a_chain_holding_the_model_serializes(fake: FakeServer) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | ChatZenLlama(
        base_url=fake.base_url, api_key=SECRET
    )
    text = dumps(chain)
    assert SECRET not in text and "not_implemented" not in text


def test_a_given_session_id_is_a_setting_and_is_kept(fake: FakeServer) -> None:
    text = dumps(ChatZenLlama(base_url=fake.base_url, session_id="conversation-1"))
    assert '"session_id": "conversation-1"' in text


FALLBACK_SECRET = "sk-fallback-secret"
ZEN = "https://opencode.ai/zen/v1"


@pytest.mark.parametrize("cls", [ChatZenLlama, ZenLlama])
def test_pickles_hold_no_fallback_key(
    cls: type[Any], fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = cls(base_url=fake.base_url, fallbacks=[Fallback(base_url=ZEN, api_key=FALLBACK_SECRET)])
    assert FALLBACK_SECRET.encode() not in pickle.dumps(given)
    assert given.fallbacks[0].api_key.get_secret_value() == FALLBACK_SECRET  # still its own

    monkeypatch.setenv("BACKEND_FALLBACK_URL", ZEN)
    monkeypatch.setenv("BACKEND_FALLBACK_API_KEY", FALLBACK_SECRET)
    from_env = cls(base_url=fake.base_url)
    assert from_env.fallbacks is None  # read when the client is built, never written back
    assert FALLBACK_SECRET.encode() not in pickle.dumps(from_env)
    assert len(from_env.client.names) == 2
    monkeypatch.delenv("BACKEND_FALLBACK_API_KEY")
    with pytest.raises(MissingAPIKeyError):  # still found at construction
        cls(base_url=fake.base_url)


def test_langchain_dumps_and_loads_fallbacks_without_their_key(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = Fallback(base_url=ZEN, model="glm-4.7", api_key=FALLBACK_SECRET, name="zen")
    text = dumps(ChatZenLlama(base_url=fake.base_url, fallbacks=[fallback]))
    assert FALLBACK_SECRET not in text and "not_implemented" not in text
    # A loaded fallback reads its key from the environment, as a new one would.
    monkeypatch.setenv("BACKEND_FALLBACK_API_KEY", "sk-restored")
    restored = loads(text, allowed_objects=[ChatZenLlama], valid_namespaces=["zenllama"])
    (back,) = restored.fallbacks
    assert (back.base_url, back.model, back.name, back.api_key) == (ZEN, "glm-4.7", "zen", None)


def test_credentials_in_the_url_are_masked_in_reprs_and_dumps(
    kind: tuple[type[Any], Callable[[Any], Any], str],
) -> None:
    cls = kind[0]
    url = "http://user:PASSWD@127.0.0.1:9/v1?api-key=QUERYKEY"
    kwargs: dict[str, Any] = {"base_url": url}
    if cls in (ChatZenLlama, ZenLlama):
        kwargs["fallbacks"] = [Fallback(base_url=url, api_key=FALLBACK_SECRET, name="spare")]
    obj = cls(**kwargs)
    shown = [repr(obj), str(obj), obj.model_dump_json()]
    if isinstance(obj, ChatZenLlama):
        shown += [dumps(obj), str(obj._identifying_params)]
    if hasattr(obj, "to_json") and isinstance(obj, (ZenLlama, ZenLlamaEmbedding)):
        shown.append(obj.to_json())
    for text in shown:
        assert "127.0.0.1:9" in text
        assert "PASSWD" not in text and "QUERYKEY" not in text and FALLBACK_SECRET not in text
    assert obj.base_url == url  # the object itself still uses it


# Normal use, sync and async, in both frameworks; then exit. The first exit handler (run last)
# drops the transport's shared clients as interpreter teardown does: a socket still open
# then is a ResourceWarning, an error here.
NORMAL_USE = """
import asyncio, atexit, gc, sys

def teardown():
    sys.modules["zenllama.core.transport"]._sync_clients.clear()
    gc.collect()

atexit.register(teardown)

from zenllama.langchain import ChatZenLlama, ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlama, ZenLlamaEmbedding

chat_url, embed_url = sys.argv[1:]
lc = ChatZenLlama(base_url=chat_url, max_tokens=2, temperature=0)
li = ZenLlama(base_url=chat_url, max_tokens=2, temperature=0)
lc_embed = ZenLlamaEmbeddings(base_url=embed_url)
li_embed = ZenLlamaEmbedding(base_url=embed_url)
lc.invoke("hi"), list(lc.stream("hi")), li.complete("hi"), list(li.stream_complete("hi"))
lc_embed.embed_documents(["a", "b"]), li_embed.get_text_embedding("c")

async def main():
    await lc.ainvoke("hi"), [c async for c in lc.astream("hi")]
    await li.acomplete("hi"), [r async for r in await li.astream_complete("hi")]
    await lc_embed.aembed_query("d"), await li_embed.aget_text_embedding("e")

asyncio.run(main())
print("used")
"""


@pytest.mark.llama_server
def test_normal_use_leaves_no_open_socket_at_exit(
    tools_server: Any, embeddings_server: Any
) -> None:
    urls = [tools_server.base_url, embeddings_server.base_url]
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", NORMAL_USE, *urls],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert run.stdout.strip() == "used", run.stderr
    assert "ResourceWarning" not in run.stderr and "unclosed" not in run.stderr, run.stderr
    assert run.returncode == 0


def _with_credentials(server: FakeServer) -> str:
    return server.base_url.replace("//", "//user:PASSWD@") + "?api-key=QUERYKEY"


URL_SECRETS = (b"PASSWD", b"QUERYKEY", FALLBACK_SECRET.encode())


def test_pickles_hold_no_url_credentials(
    two: tuple[FakeServer, FakeServer],
    kind: tuple[type[Any], Callable[[Any], Any], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the key: a pickle holds the URL masked, a restored object takes the credentials from
    BACKEND_URL when that is the same URL, and says what to give when it is not."""
    first, second = two
    cls, call, path = kind
    url = _with_credentials(first)
    kwargs: dict[str, Any] = {"base_url": url, "backend": "llama-server", "max_retries": 0}
    if cls in (ChatZenLlama, ZenLlama):
        kwargs["fallbacks"] = [Fallback(base_url=url, api_key=FALLBACK_SECRET, name="spare")]
        kwargs["fallback_on_size"] = False  # the fake has no /props to count with
    obj = cls(**kwargs)
    call(obj)
    data = pickle.dumps(obj)
    assert not [secret for secret in URL_SECRETS if secret in data]

    with pytest.raises(InvalidSettingError, match="masked"):
        call(pickle.loads(data))  # nothing to take them from
    monkeypatch.setenv("BACKEND_URL", _with_credentials(second))  # another URL: not taken
    with pytest.raises(InvalidSettingError, match="BACKEND_URL"):
        call(pickle.loads(data))
    monkeypatch.setenv("BACKEND_URL", url)
    monkeypatch.setenv("BACKEND_FALLBACK_URL", url)
    restored = pickle.loads(data)
    call(restored)
    assert restored.base_url == url
    assert [s.path for s in first.seen[-1:]] == [path + "?api-key=QUERYKEY"]


@pytest.mark.parametrize("cls", [ChatZenLlama, ZenLlama])
def test_a_restored_fallback_takes_its_url_credentials_from_its_variable(
    cls: type[Any], two: tuple[FakeServer, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two
    spare = Fallback(base_url=_with_credentials(second), backend="llama-server", name="spare")
    model = cls(
        base_url=first.base_url, backend="llama-server", fallbacks=[spare], fallback_on_size=False
    )
    data = pickle.dumps(model)
    assert b"PASSWD" not in data and b"QUERYKEY" not in data
    monkeypatch.setenv("BACKEND_FALLBACK_URL", _with_credentials(second))
    restored = pickle.loads(data)
    if cls is ChatZenLlama:
        restored.invoke("hi", route="spare")
    else:
        restored.chat([ChatMessage(role="user", content="hi")], route="spare")
    assert second.seen[-1].path == "/v1/chat/completions?api-key=QUERYKEY"
    assert all(s.path.endswith("?api-key=QUERYKEY") for s in second.seen)


def test_a_fallback_pickles_without_its_key_and_url_credentials() -> None:
    url = "http://user:PASSWD@127.0.0.1:9/v1?api-key=QUERYKEY"
    data = pickle.dumps(Fallback(base_url=url, api_key=FALLBACK_SECRET, name="spare"))
    assert not [secret for secret in URL_SECRETS if secret in data]
    restored = pickle.loads(data)
    assert (restored.base_url, restored.api_key, restored.name) == (redact_url(url), None, "spare")


def test_a_loaded_dump_takes_url_credentials_from_backend_url(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _with_credentials(fake)
    text = dumps(ChatZenLlama(base_url=url, backend="llama-server"))
    assert "PASSWD" not in text and "QUERYKEY" not in text
    masked = loads(text, allowed_objects=[ChatZenLlama], valid_namespaces=["zenllama"])
    with pytest.raises(InvalidSettingError, match="Give base_url again"):
        masked.invoke("hi")
    monkeypatch.setenv("BACKEND_URL", url)
    restored = loads(text, allowed_objects=[ChatZenLlama], valid_namespaces=["zenllama"])
    assert restored.base_url == url
