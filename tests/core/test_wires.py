"""The Messages and Responses dialects, offline: builders, whole answers, streams split anywhere."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from zenllama.core import (
    ChatResult,
    InvalidSettingError,
    ModelNotSupportedError,
    StreamError,
    ToolChoiceDowngradedWarning,
    UnsupportedSettingWarning,
)
from zenllama.core.backends import LLAMA_SERVER, OPENAI_COMPATIBLE, ZEN, BackendProfile
from zenllama.core.wires import wire_for
from zenllama.core.wires.messages import (
    MessagesStreamParser,
    build_messages_body,
    parse_messages_response,
)
from zenllama.core.wires.responses_api import (
    ResponsesStreamParser,
    build_responses_body,
    parse_responses_response,
)

from ..wire_streams import messages_sse, responses_sse

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
    result = parse_messages_response(CLAUDE_ANSWER, "zen")
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


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("refusal", "content_filter"),
    ],
)
def test_messages_stop_reasons(stop_reason: str, finish: str) -> None:
    answer = {**CLAUDE_ANSWER, "stop_reason": stop_reason}
    assert parse_messages_response(answer, "zen").finish_reason == finish


def test_messages_invalid_tool_input_is_kept_as_invalid() -> None:
    answer = copy.deepcopy(CLAUDE_ANSWER)
    answer["content"][3]["input"] = "not an object"
    result = parse_messages_response(answer, "zen")
    assert not result.tool_calls and result.invalid_tool_calls[0].name == "get_weather"


def test_responses_answer() -> None:
    result = parse_responses_response(GPT_ANSWER, "zen")
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
    result = parse_responses_response(answer, "zen")
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
    assert parse_responses_response(answer, "llama-server").reasoning == "Thinking."


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        {"type": "error", "code": "server_error", "message": "Overloaded"},
        {
            "type": "response.failed",
            "response": {"status": "failed", "error": {"message": "Overloaded"}},
        },
    ],
)
def test_error_events_mid_stream(payload: dict[str, Any]) -> None:
    parsers = [ResponsesStreamParser("zen")]
    if payload["type"] == "error":  # Anthropic's (and zen's) error event
        parsers.append(MessagesStreamParser("zen"))
    for parser in parsers:
        with pytest.raises(StreamError, match="Overloaded"):
            parser.feed(f"data: {json.dumps(payload)}")


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
    whole = parse_messages_response(CLAUDE_ANSWER, "zen")
    deltas, result = _run(MessagesStreamParser("zen"), messages_sse(CLAUDE_ANSWER, size))
    assert result == whole  # signature reassembled from its signature_delta pieces
    assert "".join(d.text for d in deltas) == whole.text
    assert "".join(d.reasoning for d in deltas) == whole.reasoning
    assert json.loads(_arguments(deltas)[0]) == {"city": "Paris"}


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
def test_responses_stream_equals_whole_answer(size: int) -> None:
    whole = parse_responses_response(GPT_ANSWER, "zen")
    deltas, result = _run(ResponsesStreamParser("zen"), responses_sse(GPT_ANSWER, size))
    assert result == whole
    assert "".join(d.text for d in deltas) == whole.text
    assert "".join(d.reasoning for d in deltas) == whole.reasoning
    assert json.loads(_arguments(deltas)[0]) == {"city": "Paris"}


def test_cut_streams_are_incomplete() -> None:
    from zenllama.core import IncompleteStreamError

    for parser, lines in (
        (MessagesStreamParser("zen"), messages_sse(CLAUDE_ANSWER)[:-6]),
        (ResponsesStreamParser("zen"), responses_sse(GPT_ANSWER)[:-3]),
    ):
        for line in lines:
            parser.feed(line)
        with pytest.raises(IncompleteStreamError):
            parser.finish()


def test_json_answer_to_a_stream_request_is_read_whole() -> None:
    for parser, answer in (
        (MessagesStreamParser("zen"), CLAUDE_ANSWER),
        (ResponsesStreamParser("zen"), GPT_ANSWER),
    ):
        assert parser.feed(json.dumps(answer)) is None
        final = parser.finish()
        assert final.result is not None and final.result.text == "Let me check."


# Requests ----------------------------------------------------------------------------------
def _claude_tool_loop() -> list[dict[str, Any]]:
    """A Claude tool loop as the frameworks send it back: the turn's thinking blocks ride
    along with its reasoning text (ChatResult.reasoning_blocks -> `reasoning_blocks`)."""
    first = parse_messages_response(CLAUDE_ANSWER, "zen")
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
    body = build_messages_body(
        ZEN, "claude-sonnet-4-5", _claude_tool_loop(), stream=False, tools=TOOLS
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


def test_unsigned_reasoning_goes_only_where_the_backend_takes_it() -> None:
    """GLM's reasoning in a conversation switched to Claude has no signature: zen's Claude
    would refuse it; llama-server re-reads it as text."""
    glm_turn = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet."},
        {"role": "user", "content": "again"},
    ]
    zen = build_messages_body(ZEN, "claude-sonnet-4-5", glm_turn, stream=False)
    local = build_messages_body(LLAMA_SERVER, None, glm_turn, stream=False)
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
    body = build_messages_body(
        ZEN,
        "claude-x",
        [{"role": "user", "content": "q"}],
        stream=True,
        tools=TOOLS,
        tool_choice=choice,
    )
    assert body["tool_choice"] == sent and body["stream"] is True


def test_messages_thinking_budget_and_switch() -> None:
    ask = [{"role": "user", "content": "q"}]
    on = build_messages_body(
        ZEN,
        "claude-x",
        ask,
        stream=False,
        reasoning=True,
        options={"thinking_budget": 2048, "max_tokens": 8000},
    )
    off = build_messages_body(ZEN, "claude-x", ask, stream=False, reasoning=False)
    assert on["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert on["max_tokens"] == 8000
    assert off["thinking"] == {"type": "disabled"}
    with pytest.raises(InvalidSettingError, match=r"budget of 2048 tokens.*max_tokens=1000"):
        build_messages_body(
            ZEN,
            "claude-x",
            ask,
            stream=False,
            options={"thinking_budget": 2048, "max_tokens": 1000},
        )


@pytest.mark.parametrize("profile", [ZEN, LLAMA_SERVER])
def test_messages_reasoning_on_below_the_default_budget_is_a_setting_error(
    profile: BackendProfile,
) -> None:
    """reasoning=True means Anthropic's minimum budget, 1024: max_tokens=128 cannot hold it."""
    with pytest.raises(InvalidSettingError, match=r"default thinking budget of 1024.*=128"):
        build_messages_body(
            profile,
            "claude-x",
            [{"role": "user", "content": "q"}],
            stream=False,
            reasoning=True,
            options={"max_tokens": 128},
        )


def test_messages_effort_on_llama_server_goes_to_the_template() -> None:
    """llama-server's /v1/messages drops every chat field but chat_template_kwargs; its chat
    endpoint hands `reasoning_effort` to the template as this kwarg."""
    body = build_messages_body(
        LLAMA_SERVER, None, [{"role": "user", "content": "q"}], stream=False, reasoning="high"
    )
    assert body["chat_template_kwargs"] == {"enable_thinking": True, "reasoning_effort": "high"}
    assert "reasoning_effort" not in body


def test_thinking_claude_gets_auto_instead_of_a_forced_tool() -> None:
    tools = [*TOOLS, {"type": "function", "function": {"name": "other", "parameters": {}}}]
    with pytest.warns(ToolChoiceDowngradedWarning, match="only tool_choice 'auto' or 'none'"):
        body = build_messages_body(
            ZEN,
            "claude-x",
            [{"role": "user", "content": "q"}],
            stream=False,
            tools=tools,
            tool_choice="get_weather",
            reasoning=True,
        )
    assert body["tool_choice"] == {"type": "auto"}
    assert [t["name"] for t in body["tools"]] == ["get_weather"]


def test_messages_names_options_it_has_no_field_for() -> None:
    with pytest.warns(UnsupportedSettingWarning, match="seed"):
        body = build_messages_body(
            ZEN,
            "claude-x",
            [{"role": "user", "content": "q"}],
            stream=False,
            options={"seed": 7, "stop": ["\n"]},
        )
    assert "seed" not in body and body["stop_sequences"] == ["\n"]


def test_messages_refuses_tool_arguments_that_are_not_an_object() -> None:
    loop = _claude_tool_loop()
    loop[2]["tool_calls"][0]["function"]["arguments"] = '{"city": '
    with pytest.raises(ValueError, match="not a JSON object"):
        build_messages_body(ZEN, "claude-x", loop, stream=False)


def test_responses_tool_loop_sends_reasoning_items_back_unchanged() -> None:
    first = parse_responses_response(GPT_ANSWER, "zen")
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
    body = build_responses_body(
        ZEN,
        "gpt-5",
        history,
        stream=True,
        tools=TOOLS,
        tool_choice="get_weather",
        options={"max_tokens": 300, "reasoning_effort": "low"},
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
    for build in (build_messages_body, build_responses_body):
        body = build(LLAMA_SERVER, None, ask, stream=False, reasoning=False)
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
