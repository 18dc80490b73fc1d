"""A base_url with a query string (`…/v1?api-key=…`: some gateways take their key there) keeps
it as a query on every request, llama-server's own endpoints beside /v1 included (issue 18 #7)."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from zenllama.core import ChatClient, ChatRequest, EmbeddingsClient, resolve_settings
from zenllama.core.transport import root_url

from ..support.answers import LLAMA_PROPS, answer, chunk
from ..support.embeddings_fake import EMBEDDINGS, EmbeddingsFake
from ..support.fake_servers import CHAT, FakeServer, Reply, Seen, sse

QUERY = "api-key=S3CRET&tenant=t%201"
HI = [{"role": "user", "content": "hi"}]


def _chat(seen: Seen) -> Reply:
    if seen.body.get("stream"):
        return Reply(events=sse(chunk({"content": "ok"}), chunk({}, finish_reason="stop")))
    return Reply(body=answer({"content": "ok"}))


def test_root_url_keeps_no_query_in_the_path() -> None:
    # The query goes with each request (the client's default query), never inside a path.
    assert root_url(f"http://h:1/v1?{QUERY}") == "http://h:1"
    assert root_url("http://h:1/v1/") == "http://h:1"
    assert root_url("http://h:1/api") == "http://h:1/api"


def test_the_query_goes_with_every_request(fake: FakeServer) -> None:
    fake.props = LLAMA_PROPS
    fake.handle(CHAT, _chat)
    fake.handle("/v1/models", lambda seen: Reply(body={"data": [{"id": "m"}]}))
    fake.handle("/apply-template", lambda seen: Reply(body={"prompt": "hi"}))
    EmbeddingsFake(fake)  # /v1/embeddings and /tokenize
    url = f"{fake.base_url}?{QUERY}"

    client = ChatClient(resolve_settings(base_url=url))  # auto: probes /props first
    assert client.complete(ChatRequest(HI)).text == "ok"
    assert "".join(d.text for d in client.stream(ChatRequest(HI))) == "ok"
    assert asyncio.run(client.acomplete(ChatRequest(HI))).text == "ok"
    assert [m.id for m in client.list_models()] == ["m"]
    assert client.llama_cpp.tokenize("a b") == [0, 0, 0]  # the fake: one per word, plus BOS
    assert client.llama_cpp.apply_template(ChatRequest(HI)) == "hi"
    vectors = EmbeddingsClient(resolve_settings(base_url=url)).embed(["x"]).vectors
    assert len(vectors) == 1

    paths = {s.path.partition("?")[0] for s in fake.seen}
    assert paths == {"/props", CHAT, "/v1/models", "/tokenize", "/apply-template", EMBEDDINGS}
    # Each field's value arrives as given (a space may travel as + or %20).
    assert all(parse_qsl(s.path.partition("?")[2]) == parse_qsl(QUERY) for s in fake.seen)
