import pytest

from zenllama.core import ChatRequest
from zenllama.core.backends import DEEPSEEK, LLAMA_SERVER, OPENAI_COMPATIBLE, ZEN
from zenllama.core.wires import chat_completions

TOOLS = [
    {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}},
]
USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("choice", ["any", True, "required"])
def test_llama_server_gets_required_for_any(choice: object) -> None:
    request = ChatRequest(USER, tools=TOOLS, tool_choice=choice)  # type: ignore[arg-type]
    body = chat_completions.build(LLAMA_SERVER, None, request, stream=False)
    assert body["tool_choice"] == "required" and len(body["tools"]) == 2


@pytest.mark.parametrize("choice", ["b", {"type": "function", "function": {"name": "b"}}])
def test_llama_server_named_tool_becomes_required_with_only_that_tool(choice: object) -> None:
    request = ChatRequest(USER, tools=TOOLS, tool_choice=choice)  # type: ignore[arg-type]
    body = chat_completions.build(LLAMA_SERVER, None, request, stream=False)
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["b"]


@pytest.mark.parametrize("backend", [LLAMA_SERVER, OPENAI_COMPATIBLE])
@pytest.mark.parametrize("parallel", [None, True])
def test_a_forced_named_tool_asks_for_one_call(backend: object, parallel: object) -> None:
    body = chat_completions.build(
        backend,
        "m",
        ChatRequest(USER, tools=TOOLS, tool_choice="b", parallel_tool_calls=parallel),
        stream=False,
    )
    assert body["parallel_tool_calls"] is False


def test_required_without_a_name_keeps_parallel_calls() -> None:
    body = chat_completions.build(
        LLAMA_SERVER,
        None,
        ChatRequest(USER, tools=TOOLS, tool_choice="required", parallel_tool_calls=True),
        stream=False,
    )
    assert body["parallel_tool_calls"] is True


def test_openai_compatible_keeps_the_object_form() -> None:
    body = chat_completions.build(
        OPENAI_COMPATIBLE, "m", ChatRequest(USER, tools=TOOLS, tool_choice="b"), stream=False
    )
    assert body["tool_choice"] == {"type": "function", "function": {"name": "b"}}


def test_unbound_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not among the bound tools"):
        chat_completions.build(
            LLAMA_SERVER, None, ChatRequest(USER, tools=TOOLS, tool_choice="zzz"), stream=False
        )


def test_empty_messages_are_refused() -> None:
    with pytest.raises(ValueError, match="messages is empty"):
        chat_completions.build(LLAMA_SERVER, None, ChatRequest([]), stream=False)


def test_options_sent_only_when_set_and_stream_usage() -> None:
    body = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, options={"top_k": 5, "min_p": None}), stream=True
    )
    assert body["top_k"] == 5 and "min_p" not in body and "model" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, stream_usage=False), stream=True
    )


def test_extra_body_merges_deep_and_last() -> None:
    body = chat_completions.build(
        ZEN,
        "glm-4.7",
        ChatRequest(USER, reasoning=False, extra_body={"thinking": {"budget": 5}, "x": 1}),
        stream=False,
    )
    assert body["thinking"] == {"type": "disabled", "budget": 5} and body["x"] == 1


HISTORY = [
    {"role": "user", "content": "q1"},
    {"role": "assistant", "content": "a1", "reasoning_content": "r1"},
    {"role": "user", "content": "q2"},
    {"role": "assistant", "content": "", "reasoning_content": "r2", "tool_calls": []},
    {"role": "tool", "tool_call_id": "c", "content": "out"},
]


def _reasoning_sent(profile) -> list[str]:  # type: ignore[no-untyped-def]
    body = chat_completions.build(profile, "m", ChatRequest(HISTORY), stream=False)
    return [m["reasoning_content"] for m in body["messages"] if "reasoning_content" in m]


def test_reasoning_pass_back_is_a_backend_policy() -> None:
    assert _reasoning_sent(LLAMA_SERVER) == ["r1", "r2"]
    assert _reasoning_sent(ZEN) == ["r1", "r2"]
    assert _reasoning_sent(DEEPSEEK) == ["r2"]  # only the current tool loop
    assert _reasoning_sent(OPENAI_COMPATIBLE) == []


def test_reasoning_switch_per_backend() -> None:
    zen = chat_completions.build(ZEN, "glm-4.7", ChatRequest(USER, reasoning=False), stream=False)
    local = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, reasoning=False), stream=False
    )
    assert zen["thinking"] == {"type": "disabled"}
    assert local["chat_template_kwargs"] == {"enable_thinking": False}


def test_reasoning_levels_map_to_each_backends_fields() -> None:
    import warnings

    from zenllama.core.errors import UnsupportedSettingWarning

    local = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, reasoning=256), stream=False
    )
    assert local["chat_template_kwargs"] == {"enable_thinking": True}
    assert local["reasoning_budget_tokens"] == 256
    effort = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, reasoning="high"), stream=False
    )
    assert effort["reasoning_effort"] == "high" and "reasoning_budget_tokens" not in effort
    off = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(USER, reasoning="off"), stream=False
    )
    assert off["chat_template_kwargs"] == {"enable_thinking": False}
    assert (
        chat_completions.build(
            DEEPSEEK, "deepseek-reasoner", ChatRequest(USER, reasoning="low"), stream=False
        )["reasoning_effort"]
        == "low"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zen = chat_completions.build(
            ZEN, "glm-4.7", ChatRequest(USER, reasoning="high"), stream=False
        )
        zen_budget = chat_completions.build(
            ZEN, "glm-4.7", ChatRequest(USER, reasoning=100), stream=False
        )
    assert zen["thinking"] == {"type": "enabled"} and "reasoning_effort" not in zen
    assert zen_budget["thinking"] == {"type": "enabled"}
    assert "reasoning_budget_tokens" not in zen_budget
    assert [type(w.message) for w in caught] == [UnsupportedSettingWarning] * 2
    assert "reasoning effort" in str(caught[0].message)
    with pytest.raises(ValueError, match="token budget"):
        chat_completions.build(
            LLAMA_SERVER, None, ChatRequest(USER, reasoning="extreme"), stream=False
        )
    with pytest.raises(ValueError, match="negative"):
        chat_completions.build(LLAMA_SERVER, None, ChatRequest(USER, reasoning=-1), stream=False)
