"""Prompt caching on every wire: which breakpoints and keys each body carries (explicit and
auto), the 4-breakpoint limit, the per-family minimum, routing, and a conversation's second
step reading what its first wrote (Claude: the fake zen, SYNTHESIZED from Anthropic's
documented usage fields; llama-server: a real multi-slot server).

Anthropic: https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (breakpoints,
4 per request, tools -> system -> messages, minimums, usage fields). OpenAI Responses:
`prompt_cache_key`, usage `input_tokens_details.cached_tokens`
(https://platform.openai.com/docs/api-reference/responses/create).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from zenllama.core import (
    CacheBreakpointsDroppedWarning,
    ChatClient,
    ChatRequest,
    InvalidSettingError,
    resolve_settings,
)
from zenllama.core.backends import LLAMA_SERVER, OPENAI_COMPATIBLE, ZEN, BackendProfile
from zenllama.core.prompt_cache import MAX_BREAKPOINTS, estimate_tokens
from zenllama.core.routing import Backend, RoutedChatClient
from zenllama.core.wires import anthropic_messages, chat_completions, openai_responses
from zenllama.local import LlamaServer

from ..routing.conftest import dead_url, local_server
from ..support.answers import answer
from ..support.fake_servers import Reply
from ..support.fake_zen import FAKE_KEY, FakeZen
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import ZEN_URL

CC = {"type": "ephemeral"}
CC_1H = {"type": "ephemeral", "ttl": "1h"}
SONNET, HAIKU = "claude-sonnet-4-5", "claude-haiku-4-5"
# About 1,900 tokens by zenllama's estimate (and ~1,450 by the fake's): past Sonnet 4.5's
# minimum of 1024, under Haiku 4.5's 4096.
LONG_SYSTEM = "You are a careful assistant for a weather service. " * 110
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def grown(*, system: str = LONG_SYSTEM) -> list[dict[str, Any]]:
    """A tool loop one step in: system, question, the call, its result."""
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "rainy, 12 C"},
    ]


def marks(body: dict[str, Any]) -> list[str]:
    """Where a Messages body's breakpoints are, in prefix order: tool:<name>, system:<i>,
    <turn>:<block type>."""
    found = [f"tool:{t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    system = body.get("system")
    if isinstance(system, list):
        found += [f"system:{i}" for i, b in enumerate(system) if "cache_control" in b]
    for i, message in enumerate(body["messages"]):
        found += [f"{i}:{b['type']}" for b in message["content"] if "cache_control" in b]
    return found


def messages_body(
    messages: list[dict[str, Any]],
    *,
    model: str = SONNET,
    profile: BackendProfile = ZEN,
    **fields: Any,
) -> dict[str, Any]:
    request = ChatRequest(messages, **fields)
    return anthropic_messages.build(profile, model, request, stream=False)


def no_cache_control(value: Any) -> bool:
    return "cache_control" not in json.dumps(value)


# Messages: explicit breakpoints pass through -----------------------------------------------
def test_explicit_breakpoints_reach_the_wire_unchanged() -> None:
    tools = [{**TOOLS[0], "cache_control": CC_1H}]
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": CC}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "What is it?", "cache_control": CC},
            ],
        },
    ]
    body = messages_body(messages, tools=tools)
    assert marks(body) == ["tool:get_weather", "system:0", "0:text"]
    assert body["tools"][0]["cache_control"] == CC_1H  # the TTL as given
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": CC}]
    assert body["messages"][0]["content"][-1] == {
        "type": "text",
        "text": "What is it?",
        "cache_control": CC,
    }
    assert "cache_control" not in body["messages"][0]["content"][0]


def test_a_mark_on_a_tool_results_content_goes_on_the_result_and_on_tool_use() -> None:
    messages = grown(system="Be brief.")
    messages[2]["tool_calls"][0]["cache_control"] = CC
    messages[3]["content"] = [{"type": "text", "text": "rainy, 12 C", "cache_control": CC}]
    body = messages_body(messages, prompt_cache="off")
    assert marks(body) == ["1:tool_use", "2:tool_result"]
    assert body["messages"][2]["content"][0]["content"] == "rainy, 12 C"


def test_explicit_breakpoints_go_with_prompt_cache_off_too() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": CC}]}]
    assert marks(messages_body(messages, prompt_cache="off")) == ["0:text"]


# Messages: the 4-breakpoint limit ----------------------------------------------------------
def test_a_fifth_breakpoint_drops_the_oldest_with_a_warning() -> None:
    messages: list[dict[str, Any]] = []
    for i in range(6):
        role = "user" if i % 2 == 0 else "assistant"
        messages.append(
            {"role": role, "content": [{"type": "text", "text": f"turn {i}", "cache_control": CC}]}
        )
    with pytest.warns(
        CacheBreakpointsDroppedWarning, match="6 cache_control breakpoints"
    ) as caught:
        body = messages_body(messages, prompt_cache="off")
    assert caught[0].filename == __file__  # said at the caller's line
    assert marks(body) == ["2:text", "3:text", "4:text", "5:text"]
    assert len(marks(body)) == MAX_BREAKPOINTS


def test_auto_fills_only_the_breakpoints_left() -> None:
    messages = grown()
    messages[1]["content"] = [{"type": "text", "text": "Weather in Paris?", "cache_control": CC}]
    messages[2]["content"] = [{"type": "text", "text": "Let me look.", "cache_control": CC}]
    messages.insert(
        1, {"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": CC}]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # explicit ones within 4: nothing dropped
        body = messages_body(messages, tools=TOOLS)
    # Three given + one of zenllama's (the newest turn comes first): four in all.
    assert marks(body) == ["0:text", "0:text", "1:text", "2:tool_result"]


# Messages: auto ------------------------------------------------------------------------------
def test_auto_marks_tools_system_and_the_newest_turn_past_the_minimum() -> None:
    big_tool = {**TOOLS[0], "function": {**TOOLS[0]["function"], "description": LONG_SYSTEM}}
    body = messages_body(grown(), tools=[big_tool])
    assert marks(body) == ["tool:get_weather", "system:0", "2:tool_result"]
    assert body["system"] == [{"type": "text", "text": LONG_SYSTEM, "cache_control": CC}]


def test_default_is_auto() -> None:
    assert messages_body(grown(), tools=TOOLS) == messages_body(
        grown(), tools=TOOLS, prompt_cache="auto"
    )


def test_auto_marks_the_newest_turn_only_once_the_conversation_has_grown() -> None:
    first_step = grown()[:2]
    assert marks(messages_body(first_step)) == ["system:0"]


def test_auto_stays_off_below_the_familys_minimum() -> None:
    # Haiku 4.5 caches from 4096 tokens: the same prompt is too short for it.
    assert marks(messages_body(grown(), tools=TOOLS, model=HAIKU)) == []
    short = grown(system="Be brief.")
    assert marks(messages_body(short, tools=TOOLS)) == []  # short: the body is unchanged
    assert messages_body(short, tools=TOOLS) == messages_body(
        short, tools=TOOLS, prompt_cache="off"
    )


def test_auto_gates_each_breakpoint_on_its_own_prefix() -> None:
    # The tools alone are short; with the system prompt the prefix is long.
    assert "tool:get_weather" not in marks(messages_body(grown(), tools=TOOLS))
    big_tool = {**TOOLS[0], "function": {**TOOLS[0]["function"], "description": LONG_SYSTEM}}
    assert marks(messages_body(grown(system="Be brief."), tools=[big_tool])) == [
        "tool:get_weather",
        "system:0",
        "2:tool_result",
    ]
    # Nothing long before the turns: only the newest turn, once the turns make it long.
    long_turns = grown(system="Be brief.")
    long_turns[1]["content"] = LONG_SYSTEM
    assert marks(messages_body(long_turns, tools=TOOLS)) == ["2:tool_result"]


def test_prompt_cache_off_places_nothing() -> None:
    assert marks(messages_body(grown(), tools=TOOLS, prompt_cache="off")) == []


def test_auto_never_marks_thinking_or_empty_text() -> None:
    messages = [
        *grown()[:2],
        {
            "role": "assistant",
            "content": "",
            "reasoning_blocks": [{"type": "thinking", "thinking": "hm", "signature": "s"}],
        },
        {
            "role": "user",
            "content": [{"type": "text", "text": "go on"}, {"type": "text", "text": ""}],
        },
    ]
    body = messages_body(messages)
    assert marks(body) == ["system:0", "2:text"]
    assert body["messages"][2]["content"][0] == {
        "type": "text",
        "text": "go on",
        "cache_control": CC,
    }


def test_no_auto_breakpoints_where_the_backend_caches_every_prefix_itself() -> None:
    # llama-server's /v1/messages: its cache needs no breakpoint (cache_prompt, slots).
    assert marks(messages_body(grown(), tools=TOOLS, profile=LLAMA_SERVER)) == []
    # A generic server reached with api="messages" (Anthropic's own API) gets them.
    assert marks(messages_body(grown(), tools=TOOLS, profile=OPENAI_COMPATIBLE)) != []


def test_the_estimate_errs_high_and_needs_no_request() -> None:
    text = "word " * 1000
    assert estimate_tokens(text) >= len(text) // 4
    assert estimate_tokens([]) == 0


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(InvalidSettingError, match="prompt_cache='always'"):
        ChatRequest([{"role": "user", "content": "x"}], prompt_cache="always")


# Responses and chat completions -------------------------------------------------------------
def test_responses_sends_the_session_id_as_prompt_cache_key() -> None:
    marked = grown()
    marked[3]["content"] = [{"type": "text", "text": "rainy", "cache_control": CC}]
    request = ChatRequest(marked, tools=[{**TOOLS[0], "cache_control": CC}], session_id="conv-1")
    for profile in (ZEN, OPENAI_COMPATIBLE):
        body = openai_responses.build(profile, "gpt-5.1", request, stream=False)
        assert body["prompt_cache_key"] == "conv-1"
        assert no_cache_control(body)  # Anthropic's marks have no Responses form
    # llama-server's Responses API has no such field; "off" sends none.
    assert "prompt_cache_key" not in openai_responses.build(
        LLAMA_SERVER, None, request, stream=False
    )
    off = ChatRequest(grown(), session_id="conv-1", prompt_cache="off")
    assert "prompt_cache_key" not in openai_responses.build(ZEN, "gpt-5.1", off, stream=False)


def test_the_cache_key_is_the_session_id_zens_header_carries() -> None:
    client = ChatClient(resolve_settings(base_url=ZEN_URL, model="gpt-5.1", api_key=FAKE_KEY))
    body = client.build_body(ChatRequest([{"role": "user", "content": "hi"}]), stream=False)
    assert body["prompt_cache_key"] == client.settings.session_id
    assert client.transport.request_headers["x-opencode-session"] == client.settings.session_id


def test_chat_completions_carries_no_cache_control() -> None:
    marked = grown()
    marked[1]["content"] = [{"type": "text", "text": "Weather in Paris?", "cache_control": CC}]
    marked[2]["tool_calls"][0]["cache_control"] = CC
    tool = {**TOOLS[0], "cache_control": CC}
    # A parameter that bears the name is the tool's own, and stays.
    tool["function"] = {
        **tool["function"],
        "cache_control": CC,
        "parameters": {"type": "object", "properties": {"cache_control": {"type": "string"}}},
    }
    request = ChatRequest(marked, tools=[tool])
    for profile in (ZEN, LLAMA_SERVER):
        body = chat_completions.build(profile, "glm-4.7", request, stream=False)
        sent = json.dumps({k: v for k, v in body.items() if k != "tools"})
        assert "cache_control" not in sent
        assert "cache_control" not in body["tools"][0]
        assert "cache_control" not in body["tools"][0]["function"]
        assert body["tools"][0]["function"]["parameters"]["properties"] == {
            "cache_control": {"type": "string"}
        }
        assert body["messages"][1]["content"] == [{"type": "text", "text": "Weather in Paris?"}]
    assert "cache_control" in json.dumps(marked)  # the caller's messages are left alone


# A conversation's second step reads what the first wrote -------------------------------------
@pytest.fixture
def zen() -> Iterator[FakeZen]:
    with FakeZen().serving() as fake:
        yield fake


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> SentRequests:
    return spy_requests(monkeypatch)


def _claude(model: str = SONNET) -> ChatClient:
    return ChatClient(resolve_settings(base_url=ZEN_URL, model=model, api_key=FAKE_KEY))


def _steps(client: Any, **fields: Any) -> list[Any]:
    """Two steps of one tool loop: the question, then the call's result."""
    usages = []
    for messages in (grown()[:2], grown()):
        result = client.complete(ChatRequest(messages, tools=TOOLS, **fields))
        usages.append(result.usage)
    return usages


@pytest.mark.usefixtures("zen")
def test_claude_step_two_reads_what_step_one_wrote() -> None:
    first, second = _steps(_claude())
    # Step one writes tools + system (the newest turn is marked only from step two).
    assert first.cache_creation_tokens > 0 and first.cached_tokens == 0
    # Step two reads that prefix and writes the rest up to its newest turn.
    assert second.cached_tokens == first.cache_creation_tokens
    assert second.cache_creation_tokens > 0
    # input_tokens counts fresh, written and read alike (Anthropic's excludes the last two).
    assert second.input_tokens >= second.cached_tokens + second.cache_creation_tokens


@pytest.mark.usefixtures("zen")
def test_claude_caches_nothing_with_prompt_cache_off_or_below_the_minimum() -> None:
    for usage in (*_steps(_claude(), prompt_cache="off"), *_steps(_claude(HAIKU))):
        assert (usage.cached_tokens, usage.cache_creation_tokens) == (0, 0)


@pytest.mark.usefixtures("zen")
def test_claude_streams_show_cache_writes_and_reads() -> None:
    client = _claude()
    usages = []
    for messages in (grown()[:2], grown()):
        deltas = list(client.stream(ChatRequest(messages, tools=TOOLS)))
        result = deltas[-1].result
        assert result is not None and result.usage is not None
        usages.append(result.usage)
    assert usages[0].cache_creation_tokens and not usages[0].cached_tokens
    assert usages[1].cached_tokens == usages[0].cache_creation_tokens


@pytest.mark.usefixtures("zen")
def test_the_api_refuses_a_fifth_breakpoint_that_zenllama_never_sends(sent: SentRequests) -> None:
    turns = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": f"t{i}", "cache_control": CC}],
        }
        for i in range(5)
    ]
    with pytest.warns(CacheBreakpointsDroppedWarning):
        _claude().complete(ChatRequest(turns))
    assert len(marks(sent.to("/messages")[-1].body)) == 4


# Routing: a switch of backend is a new cache ---------------------------------------------
def _routed(local_url: str) -> RoutedChatClient:
    return RoutedChatClient(
        [
            Backend("local", resolve_settings(base_url=local_url)),
            Backend("zen", resolve_settings(base_url=ZEN_URL, model=SONNET, api_key=FAKE_KEY)),
        ]
    )


@pytest.mark.usefixtures("zen")
def test_routing_sends_each_backend_only_its_wires_cache_hints(sent: SentRequests) -> None:
    def marked(system: str) -> list[dict[str, Any]]:
        messages = grown(system=system)
        question = {"type": "text", "text": "Weather in Paris?", "cache_control": CC}
        messages[1]["content"] = [question]
        return messages

    local = local_server()  # a short prompt fits its window: it serves
    local.chat(Reply(body=answer({"content": "local"})))
    try:
        _routed(local.base_url).complete(ChatRequest(marked("Be brief."), tools=TOOLS))
    finally:
        local.close()
    assert no_cache_control(sent.chats()[-1].body)  # chat completions: no marks at all
    messages = marked(LONG_SYSTEM)
    # With the local server down, zen's Claude takes the conversation, marks and all.
    fallback = _routed(dead_url())
    first = fallback.complete(ChatRequest(messages, tools=TOOLS))
    again = fallback.complete(ChatRequest(messages, tools=TOOLS))
    assert first.backend == "zen"
    assert marks(sent.to("/messages")[-1].body) == ["system:0", "0:text", "2:tool_result"]
    # What the local server held is nothing to Claude: its first call writes, the next reads.
    assert first.usage is not None and first.usage.cache_creation_tokens
    assert first.usage.cached_tokens == 0
    assert again.usage is not None and again.usage.cached_tokens


# llama-server: the slot holding the prefix serves the next step -----------------------------
@pytest.mark.llama_server
def test_llama_server_step_two_reads_its_prefix_from_the_slot(tools_server: LlamaServer) -> None:
    """`cache_prompt` is on by default and, with several slots (the fixture's `parallel`),
    llama-server picks the one whose cached prompt shares the longest prefix
    (`--slot-prompt-similarity`, tools/server): nothing to send, the step reads it."""
    assert tools_server.parallel > 1
    client = ChatClient(resolve_settings(base_url=tools_server.base_url))
    system = "You answer weather questions with one tool call. " * 20
    usages = []
    for messages in (grown(system=system)[:2], grown(system=system)):
        result = client.complete(ChatRequest(messages, tools=TOOLS, options={"max_tokens": 24}))
        usages.append(result.usage)
    assert usages[1].cached_tokens > 0
    assert usages[1].cached_tokens <= usages[1].input_tokens
