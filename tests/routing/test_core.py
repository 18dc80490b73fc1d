"""RoutedChatClient offline: availability, size, per-call route, never splicing a stream."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from zenllama.core import (
    BackendConnectionError,
    ChatRequest,
    ChatResult,
    IncompleteStreamError,
    InvalidSettingError,
    RoutingPolicy,
    ServerLoadingError,
    ToolChoiceDowngradedWarning,
    UnsupportedSettingWarning,
)
from zenllama.core.chat import ChatClient
from zenllama.core.routing import Backend, RoutedChatClient, planner
from zenllama.core.settings import Settings, resolve_settings
from zenllama.langchain import ChatZenLlama, Fallback

from ..support.answers import answer, chunk, stream_of
from ..support.fake_servers import CHAT, FakeServer, Reply, error
from ..support.fake_servers import Seen as SeenRequest
from ..support.fake_zen import FAKE_KEY, FakeZen
from ..support.spy import SentRequests
from ..support.synthesized import MODEL, ZEN_URL
from .conftest import ASK, LOCAL_WINDOW, dead_url, local_server, routed, zen_chats

pytestmark = pytest.mark.usefixtures("zen")

LOCAL_ANSWER = Reply(body=answer({"content": "local"}))


def _long(chars: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "x" * chars}]


def _stream_text(client: RoutedChatClient, messages: list[dict[str, str]]) -> ChatResult:
    deltas = list(client.stream(ChatRequest(messages)))
    result = deltas[-1].result
    assert result is not None
    return result


# Availability -------------------------------------------------------------------------
def test_down_local_goes_to_zen_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    client = routed(dead_url())
    with caplog.at_level(logging.INFO, logger="zenllama.routing"):
        first = client.complete(ChatRequest(ASK))
        second = client.complete(ChatRequest(ASK))
    assert first.backend == "zen" and first.route is not None
    assert first.route.backend == "zen" and first.route.switched
    assert first.route.reason == "local unavailable: connection failed"
    assert second.route is not None and not second.route.switched  # still zen: no new switch
    switches = [r for r in caplog.records if r.name == "zenllama.routing"]
    assert len(switches) == 1 and "zen serves instead of local" in switches[0].getMessage()


@pytest.mark.parametrize(
    ("status", "kind", "why"),
    [
        (503, "unavailable_error", "HTTP 503 (loading)"),
        (429, "unavailable_error", "HTTP 429 (no free slot"),
        # Anthropic's overloaded answer (docs.anthropic.com/en/api/errors).
        (529, "overloaded_error", "HTTP 529 (overloaded)"),
    ],
)
def test_loading_or_busy_local_goes_to_zen_at_once(
    local: FakeServer, status: int, kind: str, why: str
) -> None:
    local.chat(Reply(status, error(status, "busy", kind)))
    result = routed(local.base_url, max_retries=3).complete(ChatRequest(ASK))
    assert result.route is not None and why in result.route.reason
    assert len(local.chat_bodies) == 1  # at once: none of the local client's 3 retries


def test_local_retries_first_when_so_configured(local: FakeServer) -> None:
    local.chat(*[Reply(429, error(429, "no free slot", "unavailable_error"))] * 2)
    policy = RoutingPolicy(at_once=False)
    result = routed(local.base_url, policy, max_retries=1).complete(ChatRequest(ASK))
    assert result.backend == "zen" and len(local.chat_bodies) == 2


def test_unavailable_policy_off_raises() -> None:
    client = routed(dead_url(), RoutingPolicy(on_unavailable=False))
    with pytest.raises(BackendConnectionError):
        client.complete(ChatRequest(ASK))


def test_comes_back_to_local_once_it_is_up(local: FakeServer) -> None:
    local.chat(Reply(503, error(503, "Loading model", "unavailable_error")), LOCAL_ANSWER)
    client = routed(local.base_url)
    assert client.complete(ChatRequest(ASK)).backend == "zen"
    back = client.complete(ChatRequest(ASK))
    assert back.text == "local" and back.route is not None
    assert back.route.backend == "local" and back.route.switched
    assert back.route.reason == "first choice"


def test_loading_server_probed_as_plain_openai_is_asked_again(local: FakeServer) -> None:
    props = local.props
    local.props = None  # /props 404 while loading: the first probe sees no llama-server
    local.chat(Reply(503, error(503, "Loading model", "unavailable_error")))
    client = routed(local.base_url)
    client.complete(ChatRequest(ASK))
    local.props = props
    local.chat(LOCAL_ANSWER)
    assert client.complete(ChatRequest(ASK)).backend == "llama-server"


# Size -----------------------------------------------------------------------------------
def test_a_short_prompt_is_not_counted(local: FakeServer) -> None:
    local.chat(LOCAL_ANSWER)
    assert routed(local.base_url).complete(ChatRequest(ASK)).text == "local"
    assert local.requests_to("/tokenize") == []


def test_too_long_goes_to_zen_before_any_local_chat_request(local: FakeServer) -> None:
    result = routed(local.base_url).complete(ChatRequest(_long(LOCAL_WINDOW + 100)))
    assert result.backend == "zen" and result.route is not None
    assert result.route.reason == f"local context window {LOCAL_WINDOW} < 1107 needed"
    assert local.chat_bodies == []  # no failed round trip
    assert len(local.requests_to("/tokenize")) == 1


def test_servers_counting_chat_requests_are_asked_once(local: FakeServer) -> None:
    counted = [Reply(body={"input_tokens": LOCAL_WINDOW + 1})]
    local.handle(CHAT + "/input_tokens", lambda seen: counted.pop() if counted else None)
    result = routed(local.base_url).complete(ChatRequest(_long(LOCAL_WINDOW - 100)))
    assert result.route is not None
    assert result.route.reason == f"local context window {LOCAL_WINDOW} < {LOCAL_WINDOW + 1} needed"
    assert local.requests_to("/tokenize") == [] and local.chat_bodies == []
    # What is counted is the body the chat would send (built by llama-server's profile).
    assert local.requests_to(CHAT + "/input_tokens")[0].body["messages"][0]["content"] == "x" * 900


def test_near_the_window_the_exact_count_decides(local: FakeServer) -> None:
    local.chat(LOCAL_ANSWER)
    result = routed(local.base_url).complete(ChatRequest(_long(LOCAL_WINDOW - 100)))
    assert result.text == "local" and len(local.requests_to("/tokenize")) == 1


def test_a_prompt_is_counted_once_per_client(local: FakeServer) -> None:
    # Routing counts through the client's llama_cpp: its bounded cache, one path.
    local.chat(LOCAL_ANSWER, LOCAL_ANSWER)
    client = routed(local.base_url)
    for _ in range(2):
        assert client.complete(ChatRequest(_long(LOCAL_WINDOW - 100))).text == "local"
    assert len(local.requests_to("/tokenize")) == 1 and len(local.chat_bodies) == 2


def test_max_tokens_counts_towards_the_window(local: FakeServer) -> None:
    long_ask = ChatRequest(_long(LOCAL_WINDOW - 100), options={"max_tokens": 200})
    result = routed(local.base_url).complete(long_ask)
    assert result.route is not None and result.route.reason.endswith("< 1107 needed")
    assert local.chat_bodies == []


def test_a_server_back_with_another_window_is_asked_again(local: FakeServer) -> None:
    local.chat(LOCAL_ANSWER, Reply(429, error(429, "no free slot", "unavailable_error")))
    client = routed(local.base_url)
    assert client.complete(ChatRequest(_long(LOCAL_WINDOW - 100))).text == "local"
    local.props = {"default_generation_settings": {"n_ctx": 500}, "total_slots": 1}  # restarted
    assert client.complete(ChatRequest(ASK)).backend == "zen"
    result = client.complete(ChatRequest(_long(LOCAL_WINDOW - 100)))
    assert (
        result.route is not None and result.route.reason == "local context window 500 < 907 needed"
    )
    assert len(local.chat_bodies) == 2


def test_size_policy_off_sends_to_local(local: FakeServer) -> None:
    local.chat(LOCAL_ANSWER)
    result = routed(local.base_url, RoutingPolicy(on_size=False)).complete(ChatRequest(_long(2000)))
    assert result.text == "local" and local.requests_to("/tokenize") == []


@pytest.mark.parametrize(
    "body",
    [
        error(400, "too long", "exceed_context_size_error", n_ctx=9, n_prompt_tokens=99),
        # OpenAI's and Anthropic's wording of the same (see tests/core/test_errors.py).
        {
            "error": {
                "message": "Your input exceeds the context window of this model.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 215000 tokens > 200000 maximum",
            },
        },
    ],
)
def test_a_context_overflow_answer_goes_on(local: FakeServer, body: dict[str, object]) -> None:
    local.chat(Reply(400, body))
    result = routed(local.base_url).complete(ChatRequest(ASK))
    assert result.backend == "zen" and result.route is not None
    assert "exceeds its context window" in result.route.reason


# Per-call route ---------------------------------------------------------------------------
def test_route_forces_a_backend(local: FakeServer) -> None:
    result = routed(local.base_url).complete(ChatRequest(ASK, options={"route": "zen"}))
    assert result.backend == "zen" and local.chat_bodies == []
    assert result.route is not None and result.route.reason == "route='zen' asked"


def test_forced_local_does_not_fall_back() -> None:
    with pytest.raises(BackendConnectionError):
        routed(dead_url()).complete(ChatRequest(ASK, options={"route": "local"}))


def test_unknown_route_is_a_clear_error(local: FakeServer) -> None:
    names = r"route='gpu' names no backend.*\['local', 'zen'\]"
    with pytest.raises(InvalidSettingError, match=names):
        routed(local.base_url).complete(ChatRequest(ASK, options={"route": "gpu"}))


def test_backends_need_distinct_names(local: FakeServer) -> None:
    settings = resolve_settings(base_url=local.base_url)
    with pytest.raises(InvalidSettingError, match="distinct names"):
        RoutedChatClient([Backend("a", settings), Backend("a", settings)])


# Streams ------------------------------------------------------------------------------------
def test_a_stream_refused_before_its_first_chunk_goes_to_zen() -> None:
    result = _stream_text(routed(dead_url()), ASK)
    assert result.backend == "zen" and result.route is not None and result.route.switched


def test_a_cut_stream_raises_and_is_never_continued_elsewhere(local: FakeServer) -> None:
    other = FakeServer()
    try:
        local.chat(Reply(events=[chunk({"content": "Hel"}), chunk({"content": "lo"})]))
        client = RoutedChatClient(
            [
                Backend("local", resolve_settings(base_url=local.base_url)),
                Backend("other", resolve_settings(base_url=other.base_url)),
            ]
        )
        got = []
        with pytest.raises(IncompleteStreamError):
            for delta in client.stream(ChatRequest(ASK)):
                got.append(delta.text)
        assert got == ["Hel", "lo"] and other.seen == []
    finally:
        other.close()


def test_a_stream_too_long_for_local_goes_to_zen(local: FakeServer) -> None:
    result = _stream_text(routed(local.base_url), _long(LOCAL_WINDOW + 100))
    assert result.backend == "zen" and local.chat_bodies == []


def test_async_paths_route_too(local: FakeServer) -> None:
    local.chat(Reply(events=stream_of({"content": "local"})))

    async def run() -> tuple[ChatResult, ChatResult]:
        client = routed(local.base_url)
        whole = await client.acomplete(ChatRequest(_long(LOCAL_WINDOW + 100)))
        deltas = [d async for d in client.astream(ChatRequest(ASK))]
        assert deltas[-1].result is not None
        return whole, deltas[-1].result

    whole, streamed = asyncio.run(run())
    assert whole.backend == "zen" and local.chat_bodies[0]["stream"] is True
    assert streamed.text == "local" and streamed.route is not None and streamed.route.switched


def test_async_down_local_goes_to_zen() -> None:
    async def run() -> list[ChatResult]:
        client = routed(dead_url())
        deltas = [d async for d in client.astream(ChatRequest(ASK))]
        assert deltas[-1].result is not None
        return [await client.acomplete(ChatRequest(ASK)), deltas[-1].result]

    assert [r.backend for r in asyncio.run(run())] == ["zen", "zen"]


def test_loading_answer_with_no_fallback_policy_raises(local: FakeServer) -> None:
    local.chat(Reply(503, error(503, "Loading model", "unavailable_error")))
    client = routed(local.base_url, RoutingPolicy(on_unavailable=False), max_retries=0)
    with pytest.raises(ServerLoadingError):
        client.complete(ChatRequest(ASK))


# Continuity ----------------------------------------------------------------------------------
def test_a_tool_loop_moves_to_zen_and_back_with_each_backends_rules(
    local: FakeServer, sent: SentRequests
) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    call = {
        "id": "call_local_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    local.chat(
        Reply(
            body=answer(
                {"content": "", "reasoning_content": "look it up", "tool_calls": [call]},
                finish="tool_calls",
            )
        ),
        Reply(503, error(503, "Loading model", "unavailable_error")),
        LOCAL_ANSWER,
    )
    client = routed(local.base_url)
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.complete(ChatRequest(messages, tools=tools, tool_choice="get_weather"))
    assert first.backend == "llama-server" and first.tool_calls[0].id == "call_local_1"
    messages += [
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": first.reasoning,
            "tool_calls": [call],
        },
        {"role": "tool", "tool_call_id": "call_local_1", "content": "18 C"},
    ]
    with pytest.warns(ToolChoiceDowngradedWarning):  # GLM takes only "auto"
        second = client.complete(ChatRequest(messages, tools=tools, tool_choice="get_weather"))
    assert second.backend == "zen" and second.text == "The tool says: 18 C."
    zen_body = zen_chats(sent)[-1]
    # zen's rules: its session header, GLM's tool_choice "auto", the reasoning sent back.
    assert zen_body.headers["x-opencode-session"] == client.settings.session_id
    assert zen_body.body["tool_choice"] == "auto"
    sent_call = zen_body.body["messages"][1]
    assert sent_call["tool_calls"][0]["id"] == zen_body.body["messages"][2]["tool_call_id"]
    assert sent_call["reasoning_content"] == "look it up"
    messages += [{"role": "assistant", "content": second.text}, {"role": "user", "content": "ok"}]
    third = client.complete(ChatRequest(messages, tools=tools, tool_choice="get_weather"))
    assert third.backend == "llama-server" and third.route is not None and third.route.switched
    local_body = local.chat_bodies[-1]
    # llama-server's rules: a named tool becomes "required", no session header.
    assert local_body["tool_choice"] == "required"
    assert "x-opencode-session" not in local.requests_to(CHAT)[-1].headers


def test_fake_zen_is_what_answers(zen: FakeZen) -> None:
    # Guards the fixture: zen calls in this module never leave the process.
    assert isinstance(zen, FakeZen)


def test_a_local_server_fixture_is_llama_server() -> None:
    server = local_server()
    try:
        server.chat(LOCAL_ANSWER)
        assert routed(server.base_url).complete(ChatRequest(ASK)).backend == "llama-server"
    finally:
        server.close()


# What each backend is sent --------------------------------------------------------------------
def _count_chat_bodies_only(seen: SeenRequest) -> Reply:
    # llama-server's counting endpoints take chat bodies; anything else is a 400.
    if "messages" not in seen.body:
        return Reply(400, error(400, "'messages' is required"))
    return Reply(body={"input_tokens": LOCAL_WINDOW + 1})


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
def test_the_size_check_counts_the_chat_body_whatever_the_wire(
    local: FakeServer, api: str
) -> None:
    local.handle(CHAT + "/input_tokens", _count_chat_bodies_only)
    messages = [{"role": "system", "content": "be brief"}, *_long(LOCAL_WINDOW - 100)]
    result = routed(local.base_url).complete(ChatRequest(messages, api=api))
    assert result.route is not None
    assert result.route.reason == f"local context window {LOCAL_WINDOW} < {LOCAL_WINDOW + 1} needed"
    counted = local.requests_to(CHAT + "/input_tokens")[0].body
    assert counted["messages"][0] == {"role": "system", "content": "be brief"}


def test_a_fallback_gets_its_own_model_and_no_llama_cpp_fields(sent: SentRequests) -> None:
    options = {"model": "local-only", "grammar": 'root ::= "x"', "id_slot": 0, "top_k": 5}
    with pytest.warns(UnsupportedSettingWarning, match="zen is not a llama-server"):
        result = routed(dead_url()).complete(ChatRequest(ASK, options=options, api="messages"))
    assert result.backend == "zen"
    (body,) = [s.body for s in zen_chats(sent)]  # chat completions: zen's rule for its model
    assert body["model"] == MODEL
    assert not {"grammar", "id_slot", "top_k"} & body.keys()


def test_a_per_call_model_goes_to_the_backend_route_names(sent: SentRequests) -> None:
    asked = ChatRequest(ASK, options={"model": "glm-4.6", "route": "zen"})
    result = routed(dead_url()).complete(asked)
    assert result.backend == "zen"
    assert [s.body["model"] for s in zen_chats(sent)] == ["glm-4.6"]


def test_threads_failing_on_a_down_local_rebuild_its_client_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = local_server()
    # Its last answer hangs up, so once closed nothing answers on that port (refused).
    server.chat(Reply(body=answer({"content": "local"}), headers={"Connection": "close"}))
    client = routed(server.base_url)
    assert client.complete(ChatRequest(ASK)).text == "local"  # its window is learnt
    server.close()  # down: every thread fails on it at once
    built: list[ChatClient] = []

    class Counted(ChatClient):
        def __init__(self, settings: Settings) -> None:
            super().__init__(settings)
            built.append(self)

    monkeypatch.setattr(planner, "ChatClient", Counted)
    start = threading.Barrier(16)

    def call(_: int) -> str | None:
        start.wait()
        return client.complete(ChatRequest(ASK)).backend

    for _ in range(5):
        with ThreadPoolExecutor(16) as pool:
            assert list(pool.map(call, range(16))) == ["zen"] * 16
    assert len(built) == 1


def test_duplicate_backend_names_fail_at_construction(local: FakeServer) -> None:
    clash = Fallback(base_url=ZEN_URL, model=MODEL, api_key=FAKE_KEY, name="local")
    # pydantic hands the InvalidSettingError on as its ValidationError (a ValueError too).
    with pytest.raises(ValueError, match="distinct names"):
        ChatZenLlama(base_url=local.base_url, fallbacks=[clash])
