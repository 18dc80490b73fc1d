"""What a user gets when the backend is down, loading, overloaded, refusing, or cut off."""

from __future__ import annotations

import pytest

from zenllama.core import (
    AuthenticationError,
    BackendConnectionError,
    BadRequestError,
    ChatClient,
    ChatRequest,
    ContextOverflowError,
    IncompleteStreamError,
    RateLimitError,
    ServerLoadingError,
    ServerOverloadedError,
    StreamError,
    UnknownModelError,
    resolve_settings,
)
from zenllama.local import free_port

from ..support.answers import answer, chunk
from ..support.fake_servers import FakeServer, Reply, error, sse

HI = [{"role": "user", "content": "hi"}]


def client(url: str, **kwargs: object) -> ChatClient:
    return ChatClient(resolve_settings(base_url=url, backend="llama-server", **kwargs))  # type: ignore[arg-type]


def test_connection_refused_names_the_url_and_how_to_start_a_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendConnectionError) as caught:
        client(url, max_retries=0).complete(ChatRequest(HI))
    assert url in str(caught.value) and "zenllama serve" in str(caught.value)


def test_overloaded_is_retried_honouring_retry_after_then_typed(fake: FakeServer) -> None:
    busy = Reply(429, error(429, "no free slot"), headers={"Retry-After": "0.01"})
    fake.chat(busy, busy, busy)
    with pytest.raises(RateLimitError) as caught:
        client(fake.base_url, max_retries=2).complete(ChatRequest(HI))
    assert len(fake.requests_to("/v1/chat/completions")) == 3
    assert caught.value.retry_after == 0.01 and caught.value.status == 429


def test_loading_server_is_retried_and_then_answers(fake: FakeServer) -> None:
    loading = Reply(
        503, error(503, "Loading model", "unavailable_error"), headers={"Retry-After": "0.01"}
    )
    fake.chat(
        loading, Reply(body={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]})
    )
    assert client(fake.base_url).complete(ChatRequest(HI)).text == "ok"


def test_still_loading_after_retries_says_so(fake: FakeServer) -> None:
    fake.chat(Reply(503, error(503, "Loading model", "unavailable_error")))
    with pytest.raises(ServerLoadingError, match="still loading"):
        client(fake.base_url, max_retries=0).complete(ChatRequest(HI))


def test_client_errors_are_never_retried(fake: FakeServer) -> None:
    fake.chat(Reply(400, error(400, "bad field")))
    with pytest.raises(BadRequestError, match="bad field"):
        client(fake.base_url, max_retries=3).complete(ChatRequest(HI))
    assert len(fake.requests_to("/v1/chat/completions")) == 1


def test_a_router_call_without_a_model_lists_the_models(fake: FakeServer) -> None:
    # llama-server's router (tools/server/server-models.cpp, router_validate_model).
    missing = "model name is missing from the request"
    fake.chat(Reply(400, error(400, missing, "invalid_request_error")))
    fake.reply("/v1/models", Reply(body={"object": "list", "data": [{"id": "a"}, {"id": "b"}]}))
    with pytest.raises(UnknownModelError, match="needs model=") as caught:
        client(fake.base_url).complete(ChatRequest(HI))
    assert (caught.value.model, caught.value.available) == ("", ["a", "b"])


def test_context_overflow_carries_sizes(fake: FakeServer) -> None:
    fake.chat(
        Reply(
            400,
            error(
                400,
                "the request exceeds the available context size",
                "exceed_context_size_error",
                n_prompt_tokens=5000,
                n_ctx=4096,
            ),
        )
    )
    with pytest.raises(ContextOverflowError) as caught:
        client(fake.base_url).complete(ChatRequest(HI))
    assert (caught.value.n_ctx, caught.value.n_prompt_tokens) == (4096, 5000)
    assert "--ctx-size" in str(caught.value)


# As the providers word it: OpenAI's `code` (its older text names both sizes), Anthropic's
# two 400 texts (docs.anthropic.com/en/api/errors, quoted by users of the live API).
@pytest.mark.parametrize(
    ("body", "sizes"),
    [
        (
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens. However, "
                    "your messages resulted in 130012 tokens. Please reduce the length.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
            (128000, 130012),
        ),
        (
            {
                "error": {
                    "message": "Your input exceeds the context window of this model. Please "
                    "adjust your input and try again.",
                    "type": "invalid_request_error",
                    "param": "input",
                    "code": "context_length_exceeded",
                }
            },
            (None, None),
        ),
        (
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 215000 tokens > 200000 maximum",
                },
            },
            (200000, 215000),
        ),
        (
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "input length and `max_tokens` exceed context limit: 198000 + "
                    "8192 > 200000, decrease input length or `max_tokens` and try again",
                },
            },
            (200000, 198000),
        ),
    ],
)
def test_context_overflow_as_each_api_words_it(
    fake: FakeServer, body: dict[str, object], sizes: tuple[int | None, int | None]
) -> None:
    fake.chat(Reply(400, body))
    generic = ChatClient(resolve_settings(base_url=fake.base_url, backend="openai-compatible"))
    with pytest.raises(ContextOverflowError) as caught:
        generic.complete(ChatRequest(HI))
    assert (caught.value.n_ctx, caught.value.n_prompt_tokens) == sizes
    assert "lower max_tokens" in str(caught.value) and "--ctx-size" not in str(caught.value)


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_anthropic_overloaded_is_retried_like_a_503(fake: FakeServer) -> None:
    fake.chat(
        Reply(529, OVERLOADED, headers={"Retry-After": "0.01"}),
        Reply(body=answer({"content": "ok"})),
    )
    assert client(fake.base_url, max_retries=1).complete(ChatRequest(HI)).text == "ok"
    fake.chat(Reply(529, OVERLOADED))
    with pytest.raises(ServerOverloadedError, match="Overloaded") as caught:
        client(fake.base_url, max_retries=0).complete(ChatRequest(HI))
    assert isinstance(caught.value, ServerLoadingError) and caught.value.status == 529


def test_authentication_error_never_shows_the_key(fake: FakeServer) -> None:
    fake.chat(Reply(401, error(401, "Invalid API Key", "authentication_error")))
    with pytest.raises(AuthenticationError) as caught:
        client(fake.base_url, api_key="sk-secret-value-1").complete(ChatRequest(HI))
    assert "BACKEND_API_KEY" in str(caught.value) and "sk-secret" not in str(caught.value)
    assert fake.seen[-1].headers["authorization"] == "Bearer sk-secret-value-1"


def test_keyless_server_gets_no_authorization_header(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKEND_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake.chat(Reply(body={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}))
    client(fake.base_url).complete(ChatRequest(HI))
    assert "authorization" not in fake.seen[-1].headers


def test_error_event_mid_stream(fake: FakeServer) -> None:
    fake.chat(Reply(events=[chunk({"content": "par"}), {"error": {"message": "slot crashed"}}]))
    with pytest.raises(StreamError, match="slot crashed"):
        list(client(fake.base_url).stream(ChatRequest(HI)))


async def test_stream_cut_before_finish_is_an_error(fake: FakeServer) -> None:
    fake.chat(Reply(events=sse(chunk({"content": "par"}), done=False)))
    with pytest.raises(IncompleteStreamError):
        [d async for d in client(fake.base_url).astream(ChatRequest(HI))]


def test_abandoning_a_stream_closes_the_response(fake: FakeServer) -> None:
    fake.chat(Reply(events=[chunk({"content": str(i)}) for i in range(400)], pace=0.005))
    stream = client(fake.base_url).stream(ChatRequest(HI))
    next(stream)
    stream.close()
    assert fake.abandoned.wait(5), "the server kept writing to a closed stream"


def test_backend_detection_probes_props(fake: FakeServer) -> None:
    fake.reply(
        "/props", Reply(body={"default_generation_settings": {"n_ctx": 2048}, "total_slots": 2})
    )
    chat = ChatClient(resolve_settings(base_url=fake.base_url))
    assert chat.profile.name == "llama-server" and chat.context_window() == 2048
    # Found once per URL per process: /props would now answer 404, and is not asked again.
    other = ChatClient(resolve_settings(base_url=fake.base_url))
    assert other.profile.name == "llama-server"
    assert len(fake.requests_to("/props")) == 1


def test_a_json_answer_to_a_stream_request_is_read_whole(fake: FakeServer) -> None:
    body = {"choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}]}
    fake.chat(Reply(body=body))  # a server that ignored "stream": true
    [delta] = list(client(fake.base_url).stream(ChatRequest(HI)))
    assert delta.text == "whole" and delta.result and delta.result.finish_reason == "stop"


def test_an_error_body_to_a_stream_request_keeps_its_message(fake: FakeServer) -> None:
    fake.chat(Reply(body={"error": {"message": "model crashed"}}))  # status 200, no SSE
    with pytest.raises(StreamError, match="model crashed"):
        list(client(fake.base_url).stream(ChatRequest(HI)))
