"""The Messages and Responses dialects, offline: builders, whole answers, streams split anywhere."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from zenllama.core import (
    ChatRequest,
    ChatResult,
    ContextOverflowError,
    IncompleteResponseError,
    InvalidSettingError,
    MalformedResponseError,
    ModelNotSupportedError,
    ServerOverloadedError,
    StreamError,
    ToolChoiceDowngradedWarning,
    UnsupportedSettingWarning,
)
from zenllama.core import message_shapes as shapes
from zenllama.core.backends import DEEPSEEK, LLAMA_SERVER, OPENAI_COMPATIBLE, ZEN, BackendProfile
from zenllama.core.wires import anthropic_messages, openai_responses, wire_for

from ..support.wire_streams import messages_sse, responses_sse

SIGNATURE = "EqQBCkgIARABGAIiQL+sig/with+slashes=="
CLAUDE_ANSWER: dict[str, Any] = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "Paris weather: call the tool.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "ENCRYPTED-REDACTED"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "cache_read_input_tokens": 90,
        "cache_creation_input_tokens": 5,
        "output_tokens": 20,
    },
}
GPT_ANSWER: dict[str, Any] = {
    "id": "resp_01",
    "object": "response",
    "model": "gpt-5",
    "status": "completed",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_01",
            "summary": [
                {"type": "summary_text", "text": "**Weather** The user asks about Paris."},
                {"type": "summary_text", "text": "I call get_weather."},
            ],
            "encrypted_content": "gAAAAB-encrypted",
        },
        {
            "type": "message",
            "id": "msg_01",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
        },
        {
            "type": "function_call",
            "id": "fc_01",
            "call_id": "call_01",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "status": "completed",
        },
    ],
    "usage": {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 90},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 120,
    },
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


# Whole answers -----------------------------------------------------------------------------
def test_messages_answer() -> None:
    result = anthropic_messages.parse(CLAUDE_ANSWER, "zen")
    assert result.text == "Let me check."
    assert result.reasoning == "Paris weather: call the tool."
    [call] = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("toolu_01", "get_weather", {"city": "Paris"})
    assert result.finish_reason == "tool_calls" and result.id == "msg_01"
    usage = result.usage
    assert usage is not None
    # Anthropic counts cache reads and writes apart from input_tokens.
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_creation_tokens) == (105, 90, 5)
    assert usage.total_tokens == 125
    assert result.reasoning_blocks == CLAUDE_ANSWER["content"][:2]


# anthropic-sdk-python src/anthropic/types/stop_reason.py: mapped where chat completions has the
# same reason; the rest as sent (`pause_turn`: the turn is unfinished, not "stop").
@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "pause_turn"),
        ("refusal", "refusal"),
        ("a_reason_not_documented_yet", "a_reason_not_documented_yet"),
    ],
)
def test_messages_stop_reasons(stop_reason: str, finish: str) -> None:
    answer = {**CLAUDE_ANSWER, "stop_reason": stop_reason}
    assert anthropic_messages.parse(answer, "zen").finish_reason == finish
    _, streamed = _run(anthropic_messages.StreamParser("zen"), messages_sse(answer))
    assert streamed.finish_reason == finish


def test_messages_invalid_tool_input_is_kept_as_invalid() -> None:
    answer = copy.deepcopy(CLAUDE_ANSWER)
    answer["content"][3]["input"] = "not an object"
    result = anthropic_messages.parse(answer, "zen")
    assert not result.tool_calls and result.invalid_tool_calls[0].name == "get_weather"


def test_responses_answer() -> None:
    result = openai_responses.parse(GPT_ANSWER, "zen")
    assert result.text == "Let me check."
    assert result.reasoning == "**Weather** The user asks about Paris.\n\nI call get_weather."
    [call] = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_01", "get_weather", {"city": "Paris"})
    assert result.finish_reason == "tool_calls"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.cached_tokens) == (100, 90)
    assert result.usage.reasoning_tokens == 12
    assert result.reasoning_blocks == [GPT_ANSWER["output"][0]]


def test_responses_incomplete_and_invalid_arguments() -> None:
    answer = copy.deepcopy(GPT_ANSWER)
    answer["status"] = "incomplete"
    answer["incomplete_details"] = {"reason": "max_output_tokens"}
    answer["output"][2]["arguments"] = '{"city": "Par'
    result = openai_responses.parse(answer, "zen")
    assert result.finish_reason == "length"
    assert not result.tool_calls and "not valid JSON" in result.invalid_tool_calls[0].error


def test_llama_server_reasoning_item_reads_its_content() -> None:
    item = {
        "type": "reasoning",
        "id": "rs_x",
        "summary": [],
        "encrypted_content": "",
        "content": [{"type": "reasoning_text", "text": "Thinking."}],
    }
    answer = {**GPT_ANSWER, "output": [item]}
    assert openai_responses.parse(answer, "llama-server").reasoning == "Thinking."


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "error", "error": {"type": "api_error", "message": "Overloaded"}},
        {"type": "error", "code": "server_error", "message": "Overloaded"},
        {
            "type": "response.failed",
            "response": {"status": "failed", "error": {"message": "Overloaded"}},
        },
    ],
)
def test_error_events_mid_stream(payload: dict[str, Any]) -> None:
    parsers = [openai_responses.StreamParser("zen")]
    if payload["type"] == "error":  # Anthropic's (and zen's) error event
        parsers.append(anthropic_messages.StreamParser("zen"))
    for parser in parsers:
        with pytest.raises(StreamError, match="Overloaded"):
            parser.feed(f"data: {json.dumps(payload)}")


OVERFLOW = "Your input exceeds the context window of this model."


@pytest.mark.parametrize(
    ("parser", "payload", "typed"),
    [
        # Anthropic streaming reference: "overloaded_error, which would normally correspond to
        # an HTTP 529 in a non-streaming context".
        (
            anthropic_messages.StreamParser,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ServerOverloadedError,
        ),
        # openai-python types/responses/response_error_event.py: code, message, param.
        (
            openai_responses.StreamParser,
            {"type": "error", "code": "context_length_exceeded", "message": OVERFLOW},
            ContextOverflowError,
        ),
        # types/responses/response_failed_event.py: the response, its `error` with a code.
        (
            openai_responses.StreamParser,
            {
                "type": "response.failed",
                "response": {
                    "status": "failed",
                    "error": {"code": "context_length_exceeded", "message": OVERFLOW},
                },
            },
            ContextOverflowError,
        ),
    ],
)
def test_overflow_and_overload_events_are_typed(
    parser: Any, payload: dict[str, Any], typed: type[Exception]
) -> None:
    with pytest.raises(typed):
        parser("zen").feed(f"data: {json.dumps(payload)}")


def test_a_failed_whole_response_with_overflow_is_typed() -> None:
    failed = {
        **GPT_ANSWER,
        "status": "failed",
        "error": {"code": "context_length_exceeded", "message": OVERFLOW},
    }
    with pytest.raises(ContextOverflowError):
        openai_responses.parse(failed, "zen")


# Streams split anywhere --------------------------------------------------------------------
def _run(parser: Any, lines: list[str]) -> tuple[list[Any], ChatResult]:
    deltas = [d for line in lines if (d := parser.feed(line)) is not None]
    last = parser.finish()
    assert last.result is not None
    return [*deltas, last], last.result


def _arguments(deltas: list[Any]) -> dict[int, str]:
    out: dict[int, str] = {}
    for delta in deltas:
        for f in delta.tool_call_fragments:
            out[f.index] = out.get(f.index, "") + f.arguments
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_messages_stream_equals_whole_answer(size: int) -> None:
    whole = anthropic_messages.parse(CLAUDE_ANSWER, "zen")
    deltas, result = _run(anthropic_messages.StreamParser("zen"), messages_sse(CLAUDE_ANSWER, size))
    assert result == whole  # signature reassembled from its signature_delta pieces
    assert "".join(d.text for d in deltas) == whole.text
    assert "".join(d.reasoning for d in deltas) == whole.reasoning
    assert json.loads(_arguments(deltas)[0]) == {"city": "Paris"}


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_responses_stream_equals_whole_answer(size: int) -> None:
    whole = openai_responses.parse(GPT_ANSWER, "zen")
    deltas, result = _run(openai_responses.StreamParser("zen"), responses_sse(GPT_ANSWER, size))
    assert result == whole
    assert "".join(d.text for d in deltas) == whole.text
    assert "".join(d.reasoning for d in deltas) == whole.reasoning
    assert json.loads(_arguments(deltas)[0]) == {"city": "Paris"}


def test_cut_streams_are_incomplete() -> None:
    from zenllama.core import IncompleteStreamError

    for parser, lines in (
        (anthropic_messages.StreamParser("zen"), messages_sse(CLAUDE_ANSWER)[:-6]),
        (openai_responses.StreamParser("zen"), responses_sse(GPT_ANSWER)[:-3]),
    ):
        for line in lines:
            parser.feed(line)
        with pytest.raises(IncompleteStreamError):
            parser.finish()


def test_json_answer_to_a_stream_request_is_read_whole() -> None:
    for parser, answer in (
        (anthropic_messages.StreamParser("zen"), CLAUDE_ANSWER),
        (openai_responses.StreamParser("zen"), GPT_ANSWER),
    ):
        assert parser.feed(json.dumps(answer)) is None
        final = parser.finish()
        assert final.result is not None and final.result.text == "Let me check."


# Requests ----------------------------------------------------------------------------------
def _claude_tool_loop() -> list[dict[str, Any]]:
    """A Claude tool loop as the frameworks send it back: the turn's thinking blocks ride
    along with its reasoning text (ChatResult.reasoning_blocks -> `reasoning_blocks`)."""
    first = anthropic_messages.parse(CLAUDE_ANSWER, "zen")
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": first.text,
            "reasoning_content": first.reasoning,
            "reasoning_blocks": first.reasoning_blocks,
            "tool_calls": [
                {
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01", "content": "rainy, 12 C"},
    ]


def test_claude_tool_loop_sends_thinking_back_with_its_signature_unchanged() -> None:
    body = anthropic_messages.build(
        ZEN, "claude-sonnet-4-5", ChatRequest(_claude_tool_loop(), tools=TOOLS), stream=False
    )
    assert body["system"] == "Be brief."
    user, assistant, results = body["messages"]
    assert user == {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
    assert assistant["content"] == [
        CLAUDE_ANSWER["content"][0],  # thinking + signature, byte for byte
        CLAUDE_ANSWER["content"][1],  # redacted_thinking, unchanged
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    assert results == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "rainy, 12 C"}],
    }
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city.",
            "input_schema": TOOLS[0]["function"]["parameters"],
        }
    ]
    assert body["max_tokens"] > 0


@pytest.mark.parametrize("profile", [OPENAI_COMPATIBLE, DEEPSEEK, ZEN, LLAMA_SERVER])
def test_the_wires_own_reasoning_goes_back_on_every_backend(profile: Any) -> None:
    """A rule of the Messages and Responses APIs, not of a backend: a generic server (the
    Anthropic API itself, a gateway) gets the signed thinking and the reasoning item back,
    also in an earlier turn."""
    claude = anthropic_messages.parse(CLAUDE_ANSWER, "x")
    gpt = openai_responses.parse(GPT_ANSWER, "x")
    for first, build in ((claude, anthropic_messages.build), (gpt, openai_responses.build)):
        turn = {
            "role": "assistant",
            "content": first.text,
            "reasoning_content": first.reasoning,
            "reasoning_blocks": first.reasoning_blocks,
            "tool_calls": [_wire_call(first)],
        }
        result = {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "rainy"}
        ask = {"role": "user", "content": "Weather in Paris?"}
        for history in ([ask, turn, result], [ask, turn, result, {**ask, "content": "And?"}]):
            body = build(profile, "m", ChatRequest(history, tools=TOOLS), stream=False)
            sent = json.dumps(body)
            for block in first.reasoning_blocks:
                assert json.dumps(block) in sent


def _wire_call(result: ChatResult) -> dict[str, Any]:
    call = result.tool_calls[0]
    return shapes.tool_call(call.id, call.name, call.arguments)


def test_unsigned_reasoning_goes_only_where_the_backend_takes_it() -> None:
    """GLM's reasoning in a conversation switched to Claude has no signature: zen's Claude
    would refuse it; llama-server re-reads it as text."""
    glm_turn = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet."},
        {"role": "user", "content": "again"},
    ]
    zen = anthropic_messages.build(ZEN, "claude-sonnet-4-5", ChatRequest(glm_turn), stream=False)
    local = anthropic_messages.build(LLAMA_SERVER, None, ChatRequest(glm_turn), stream=False)
    assert zen["messages"][1]["content"] == [{"type": "text", "text": "Hello!"}]
    assert local["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "Greet.",
        "signature": "",
    }


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        (True, {"type": "any"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
        ("none", {"type": "none"}),
    ],
)
def test_messages_tool_choice(choice: Any, sent: dict[str, Any]) -> None:
    body = anthropic_messages.build(
        ZEN,
        "claude-x",
        ChatRequest([{"role": "user", "content": "q"}], tools=TOOLS, tool_choice=choice),
        stream=True,
    )
    assert body["tool_choice"] == sent and body["stream"] is True


def test_messages_thinking_budget_and_switch() -> None:
    ask = [{"role": "user", "content": "q"}]
    on = anthropic_messages.build(
        ZEN,
        "claude-x",
        ChatRequest(ask, reasoning=True, options={"thinking_budget": 2048, "max_tokens": 8000}),
        stream=False,
    )
    off = anthropic_messages.build(ZEN, "claude-x", ChatRequest(ask, reasoning=False), stream=False)
    assert on["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert on["max_tokens"] == 8000
    assert off["thinking"] == {"type": "disabled"}
    with pytest.raises(InvalidSettingError, match=r"budget of 2048 tokens.*max_tokens=1000"):
        anthropic_messages.build(
            ZEN,
            "claude-x",
            ChatRequest(ask, options={"thinking_budget": 2048, "max_tokens": 1000}),
            stream=False,
        )


@pytest.mark.parametrize("profile", [ZEN, LLAMA_SERVER])
def test_messages_reasoning_on_below_the_default_budget_is_a_setting_error(
    profile: BackendProfile,
) -> None:
    """reasoning=True means Anthropic's minimum budget, 1024: max_tokens=128 cannot hold it."""
    with pytest.raises(InvalidSettingError, match=r"default thinking budget of 1024.*=128"):
        anthropic_messages.build(
            profile,
            "claude-x",
            ChatRequest(
                [{"role": "user", "content": "q"}], reasoning=True, options={"max_tokens": 128}
            ),
            stream=False,
        )


def test_messages_effort_on_llama_server_goes_to_the_template() -> None:
    """llama-server's /v1/messages drops every chat field but chat_template_kwargs; its chat
    endpoint hands `reasoning_effort` to the template as this kwarg."""
    body = anthropic_messages.build(
        LLAMA_SERVER,
        None,
        ChatRequest([{"role": "user", "content": "q"}], reasoning="high"),
        stream=False,
    )
    assert body["chat_template_kwargs"] == {"enable_thinking": True, "reasoning_effort": "high"}
    assert "reasoning_effort" not in body


def test_thinking_claude_gets_auto_instead_of_a_forced_tool() -> None:
    tools = [*TOOLS, {"type": "function", "function": {"name": "other", "parameters": {}}}]
    with pytest.warns(ToolChoiceDowngradedWarning, match="only tool_choice 'auto' or 'none'"):
        body = anthropic_messages.build(
            ZEN,
            "claude-x",
            ChatRequest(
                [{"role": "user", "content": "q"}],
                tools=tools,
                tool_choice="get_weather",
                reasoning=True,
            ),
            stream=False,
        )
    assert body["tool_choice"] == {"type": "auto"}
    assert [t["name"] for t in body["tools"]] == ["get_weather"]


def test_messages_names_options_it_has_no_field_for() -> None:
    with pytest.warns(UnsupportedSettingWarning, match="seed"):
        body = anthropic_messages.build(
            ZEN,
            "claude-x",
            ChatRequest([{"role": "user", "content": "q"}], options={"seed": 7, "stop": ["\n"]}),
            stream=False,
        )
    assert "seed" not in body and body["stop_sequences"] == ["\n"]


def test_messages_refuses_tool_arguments_that_are_not_an_object() -> None:
    loop = _claude_tool_loop()
    loop[2]["tool_calls"][0]["function"]["arguments"] = '{"city": '
    with pytest.raises(ValueError, match="not a JSON object"):
        anthropic_messages.build(ZEN, "claude-x", ChatRequest(loop), stream=False)


def test_responses_tool_loop_sends_reasoning_items_back_unchanged() -> None:
    first = openai_responses.parse(GPT_ANSWER, "zen")
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": first.text,
            "reasoning_content": first.reasoning,
            "reasoning_blocks": first.reasoning_blocks,
            "tool_calls": [
                {
                    "id": "call_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_01", "content": "rainy, 12 C"},
    ]
    body = openai_responses.build(
        ZEN,
        "gpt-5",
        ChatRequest(
            history,
            tools=TOOLS,
            tool_choice="get_weather",
            options={"max_tokens": 300, "reasoning_effort": "low"},
        ),
        stream=True,
    )
    assert body["instructions"] == "Be brief."
    assert body["input"] == [
        {"role": "user", "content": "Weather in Paris?"},
        GPT_ANSWER["output"][0],
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        {
            "type": "function_call",
            "call_id": "call_01",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_01", "output": "rainy, 12 C"},
    ]
    assert body["tools"] == [{"type": "function", **TOOLS[0]["function"]}]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["max_output_tokens"] == 300 and "max_tokens" not in body
    assert body["reasoning"] == {"summary": "auto", "effort": "low"}
    # zen is used statelessly: reasoning comes back encrypted, to be passed back.
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]


def test_llama_server_gets_its_template_switch_on_every_wire() -> None:
    ask = [{"role": "user", "content": "q"}]
    for build in (anthropic_messages.build, openai_responses.build):
        body = build(LLAMA_SERVER, None, ChatRequest(ask, reasoning=False), stream=False)
        assert body["chat_template_kwargs"] == {"enable_thinking": False}


# Choosing the wire -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "model", "api", "chosen"),
    [
        (ZEN, "claude-sonnet-4-5", None, "messages"),
        (ZEN, "gpt-5.1-codex", None, "responses"),
        (ZEN, "glm-4.7", None, "chat"),
        (ZEN, "kimi-k2", None, "chat"),
        (ZEN, "glm-4.7", "messages", "messages"),
        (LLAMA_SERVER, "claude-sonnet-4-5", None, "chat"),
        (LLAMA_SERVER, None, "responses", "responses"),
        (OPENAI_COMPATIBLE, "gpt-5", None, "chat"),
    ],
)
def test_wire_for(profile: Any, model: str | None, api: str | None, chosen: str) -> None:
    assert wire_for(profile, model, api).api == chosen


def test_gemini_on_zen_names_its_format() -> None:
    with pytest.raises(ModelNotSupportedError, match="Google's Gemini format"):
        wire_for(ZEN, "gemini-3-pro")
    with pytest.raises(ValueError, match="not a wire"):
        wire_for(ZEN, "glm-4.7", "google")


# The documented event types, stream split anywhere == whole answer --------------------------
# Anthropic Messages, per the streaming guide (docs.anthropic.com/en/docs/build-with-claude/
# streaming) and anthropic-sdk-python src/anthropic/types: a server tool (server_tool_use_block.py,
# web_search_tool_result_block.py) whose input streams as input_json_delta, a text block with
# citations (citations_delta.py), usage with server-tool counts (message_delta_usage.py).
CLAUDE_DOCUMENTED: dict[str, Any] = {
    **CLAUDE_ANSWER,
    "content": [
        CLAUDE_ANSWER["content"][0],
        CLAUDE_ANSWER["content"][1],
        {
            "type": "server_tool_use",
            "id": "srvtoolu_01",
            "name": "web_search",
            "input": {"query": "Paris weather"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://example.org/paris",
                    "title": "Paris weather",
                    "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                    "page_age": "1 hour ago",
                }
            ],
        },
        {
            "type": "text",
            "text": "Rainy in Paris, says the web.",
            "citations": [
                {
                    "type": "web_search_result_location",
                    "url": "https://example.org/paris",
                    "title": "Paris weather",
                    "encrypted_index": "Eo8BCioIAhgBIiQ",
                    "cited_text": "Rain, 12 C",
                }
            ],
        },
        CLAUDE_ANSWER["content"][3],
    ],
    "usage": {**CLAUDE_ANSWER["usage"], "server_tool_use": {"web_search_requests": 1}},
}
# OpenAI Responses, per the streaming events reference (platform.openai.com/docs/api-reference/
# responses-streaming) and openai-python src/openai/types/responses: raw reasoning text as
# open-weight models stream it (response_reasoning_text_delta_event.py), a built-in tool call
# (response_function_web_search.py), annotations (response_output_text.py).
GPT_DOCUMENTED: dict[str, Any] = {
    **GPT_ANSWER,
    "output": [
        {
            "type": "reasoning",
            "id": "rs_02",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Search, then call the tool."}],
            "encrypted_content": "gAAAAB-encrypted-2",
        },
        {
            "type": "web_search_call",
            "id": "ws_01",
            "status": "completed",
            "action": {"type": "search", "query": "Paris weather"},
        },
        {
            "type": "message",
            "id": "msg_02",
            "role": "assistant",
            "status": "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": "Rainy in Paris, says the web.",
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url": "https://example.org/paris",
                            "title": "Paris weather",
                            "start_index": 0,
                            "end_index": 14,
                        }
                    ],
                }
            ],
        },
        GPT_ANSWER["output"][2],
    ],
}
# types/responses/response_output_refusal.py: a refusal is a content part of its own.
REFUSAL = "I can't help with that request."
GPT_REFUSAL: dict[str, Any] = {
    **GPT_ANSWER,
    "output": [
        {
            "type": "message",
            "id": "msg_03",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "refusal", "refusal": REFUSAL}],
        }
    ],
}


@pytest.mark.parametrize("size", [1, 3, 8, 1000])
def test_documented_messages_events(size: int) -> None:
    whole = anthropic_messages.parse(CLAUDE_DOCUMENTED, "zen")
    assert whole.text == "Rainy in Paris, says the web."
    assert [c.name for c in whole.tool_calls] == ["get_weather"]  # the server tool is not ours
    assert whole.reasoning_blocks == CLAUDE_ANSWER["content"][:2]
    assert whole.usage is not None and whole.usage.input_tokens == 105
    lines = messages_sse(CLAUDE_DOCUMENTED, size)
    sent = "\n".join(lines)
    for kind in (
        "ping",
        "citations_delta",
        "signature_delta",
        "server_tool_use",
        "redacted_thinking",
    ):
        assert f'"type": "{kind}"' in sent
    deltas, result = _run(anthropic_messages.StreamParser("zen"), lines)
    assert result == whole
    assert "".join(d.text for d in deltas) == whole.text
    assert list(_arguments(deltas).values()) == ['{"city": "Paris"}']


@pytest.mark.parametrize("size", [1, 3, 8, 1000])
def test_documented_responses_events(size: int) -> None:
    whole = openai_responses.parse(GPT_DOCUMENTED, "zen")
    assert whole.text == "Rainy in Paris, says the web."
    assert whole.reasoning == "Search, then call the tool."
    assert [c.name for c in whole.tool_calls] == ["get_weather"]
    assert whole.reasoning_blocks == GPT_DOCUMENTED["output"][:1]
    lines = responses_sse(GPT_DOCUMENTED, size)
    assert {
        "response.reasoning_text.delta",
        "response.output_text.annotation.added",
        "response.web_search_call.searching",
    } <= _event_types(lines)
    deltas, result = _run(openai_responses.StreamParser("zen"), lines)
    assert result == whole
    assert "".join(d.reasoning for d in deltas) == whole.reasoning
    assert "".join(d.text for d in deltas) == whole.text


def _event_types(lines: list[str]) -> set[str]:
    return {json.loads(line[5:])["type"] for line in lines if line.startswith("data:")}


def test_parse_messages_usage_is_cumulative_and_null_means_not_counted_yet() -> None:
    """types/message_delta_usage.py: counts are cumulative; input counts may be null."""
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_u",
                "model": "claude-x",
                "content": [],
                "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"input_tokens": None, "cache_read_input_tokens": None, "output_tokens": 20},
        },
        {"type": "message_stop"},
    ]
    _, result = _run(
        anthropic_messages.StreamParser("zen"), [f"data: {json.dumps(e)}" for e in events]
    )
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.cached_tokens) == (100, 90)
    assert result.usage.output_tokens == 20


# Refusals ------------------------------------------------------------------------------------
def test_a_refusal_is_the_text_and_the_finish_reason() -> None:
    whole = openai_responses.parse(GPT_REFUSAL, "zen")
    assert (whole.text, whole.finish_reason) == (REFUSAL, "refusal")
    for size in (1, 5, 1000):
        deltas, result = _run(
            openai_responses.StreamParser("zen"), responses_sse(GPT_REFUSAL, size)
        )
        assert result == whole
        assert "".join(d.text for d in deltas) == REFUSAL


def test_a_refusal_sent_only_whole_is_shown_once() -> None:
    """A server that sends `response.refusal.done` without deltas."""
    lines = [line for line in responses_sse(GPT_REFUSAL) if "response.refusal.delta" not in line]
    deltas, result = _run(openai_responses.StreamParser("zen"), lines)
    assert "".join(d.text for d in deltas) == REFUSAL
    assert (result.text, result.finish_reason) == (REFUSAL, "refusal")


# Hostile answers: typed errors, nothing dropped ---------------------------------------------
def _tool_use(**block: Any) -> dict[str, Any]:
    return {"content": [{"type": "tool_use", "name": "f", "input": {}, **block}]}


@pytest.mark.parametrize(
    ("answer", "names"),
    [
        ({"content": [{"type": "text", "text": 5}]}, "`content[0]`.text"),
        ({"id": 7, "content": []}, "`id`"),
        (_tool_use(id=7), "`content[0]`.id"),
        (_tool_use(name=3), "`content[0]`.name"),
        ({"content": [], "stop_reason": 1}, "`stop_reason`"),
        ({"content": [], "model": ["m"]}, "`model`"),
        ({"content": [], "usage": {"input_tokens": "10"}}, "`usage.input_tokens`"),
        ({"content": "hi"}, "`content`"),
        ({"content": ["hi"]}, "`content[0]`"),
        ({}, "`content`"),
    ],
)
def test_wrong_types_in_a_messages_answer(answer: dict[str, Any], names: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(names)):
        anthropic_messages.parse(answer, "x")


def _call_item(**item: Any) -> dict[str, Any]:
    fields = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", **item}
    return {"status": "completed", "output": [fields]}


@pytest.mark.parametrize(
    ("answer", "names"),
    [
        (
            {"status": "completed", "output": [{"type": "message", "content": [{"text": 5}]}]},
            "content part's `text`",
        ),
        ({"status": "completed", "output": [], "id": 5}, "`id`"),
        (_call_item(call_id=9), "`output[0]`.call_id"),
        (_call_item(call_id=None, id=9), "`output[0]`.id"),
        (_call_item(name=2), "`output[0]`.name"),
        ({"status": "completed", "output": [{"type": "reasoning", "summary": "x"}]}, "`summary`"),
        ({"status": "completed", "output": {"type": "message"}}, "`output`"),
        ({"status": "completed", "output": [], "model": 3}, "`model`"),
        ({}, "`status`"),
        ({"status": 200, "output": []}, "`status`"),
    ],
)
def test_wrong_types_in_a_responses_answer(answer: dict[str, Any], names: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(names)):
        openai_responses.parse(answer, "x")


def _events(*events: dict[str, Any]) -> list[str]:
    return [f"data: {json.dumps(e)}" for e in events]


_MESSAGE_START = {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}}
_ITEM_ADDED = {
    "type": "response.output_item.added",
    "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f"},
}


@pytest.mark.parametrize(
    ("parser", "lines", "names"),
    [
        (
            anthropic_messages.StreamParser,
            _events(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": 5},
                }
            ),
            "`delta.text`",
        ),
        (
            anthropic_messages.StreamParser,
            _events({"type": "message_start", "message": {"id": 5}}),
            "`message.id`",
        ),
        (
            anthropic_messages.StreamParser,
            _events(
                _MESSAGE_START,
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "tool_use", "id": 5},
                },
            ),
            "`content_block.id`",
        ),
        (
            anthropic_messages.StreamParser,
            _events(
                {"type": "content_block_start", "index": "0", "content_block": {"type": "text"}}
            ),
            "`index`",
        ),
        (
            anthropic_messages.StreamParser,
            _events({"type": "message_delta", "delta": {"stop_reason": 3}}),
            "`delta.stop_reason`",
        ),
        (
            openai_responses.StreamParser,
            _events({"type": "response.output_text.delta", "delta": 5}),
            "`delta`",
        ),
        (
            openai_responses.StreamParser,
            _events({**_ITEM_ADDED, "item": {**_ITEM_ADDED["item"], "call_id": 5}}),
            "`item.call_id`",
        ),
        (
            openai_responses.StreamParser,
            _events({"type": "response.created", "response": {"id": 5}}),
            "`response.id`",
        ),
    ],
)
def test_wrong_types_in_a_stream(parser: Any, lines: list[str], names: str) -> None:
    reading = parser("x")
    with pytest.raises(MalformedResponseError, match=re.escape(names)):
        for line in lines:
            reading.feed(line)


def test_messages_arguments_for_a_block_never_started() -> None:
    """Dropping them would leave finish_reason "tool_calls" with no call."""
    lines = _events(
        _MESSAGE_START,
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
        },
    )
    parser = anthropic_messages.StreamParser("x")
    with pytest.raises(MalformedResponseError, match="content block 1, which never started"):
        for line in lines:
            parser.feed(line)


def test_responses_arguments_for_an_item_never_added() -> None:
    parser = openai_responses.StreamParser("x")
    event = {"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": "{}"}
    with pytest.raises(MalformedResponseError, match="never added"):
        parser.feed(f"data: {json.dumps(event)}")


def _ended_with(status: str, **more: Any) -> list[str]:
    lines = responses_sse(GPT_ANSWER)
    final = {"type": "response.completed", "response": {**GPT_ANSWER, "status": status, **more}}
    return [*lines[:-3], f"data: {json.dumps(final)}", ""]


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        ("in_progress", IncompleteResponseError),
        ("queued", IncompleteResponseError),
        ("cancelled", IncompleteResponseError),
        ("failed", StreamError),
        ("no_such_status", MalformedResponseError),
    ],
)
def test_responses_that_did_not_complete_are_typed_errors(
    status: str, raised: type[Exception]
) -> None:
    failure = {"error": {"code": "server_error", "message": "boom"}} if status == "failed" else {}
    with pytest.raises(raised):
        openai_responses.parse({**GPT_ANSWER, "status": status, **failure}, "x")
    parser = openai_responses.StreamParser("x")
    for line in _ended_with(status, **failure):
        parser.feed(line)
    with pytest.raises(raised):
        parser.finish()


@pytest.mark.parametrize("parse", [anthropic_messages.parse, openai_responses.parse])
def test_an_empty_object_is_not_an_empty_answer(parse: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse({}, "x")


def test_a_streamed_call_without_a_name_is_invalid() -> None:
    claude = copy.deepcopy(CLAUDE_ANSWER)
    claude["content"][3]["name"] = None
    gpt = copy.deepcopy(GPT_ANSWER)
    gpt["output"][2]["name"] = None
    for parser, lines in (
        (anthropic_messages.StreamParser("x"), messages_sse(claude)),
        (openai_responses.StreamParser("x"), responses_sse(gpt)),
    ):
        _, result = _run(parser, lines)
        assert not result.tool_calls
        [invalid] = result.invalid_tool_calls
        assert invalid.name is None and "no function name" in invalid.error
