"""The zen rules of the core, offline: GLM's tool_choice dialect, preserved thinking, /models."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from zenllama.core import ChatClient, ChatRequest, ToolChoiceDowngradedWarning, resolve_settings
from zenllama.core.backends import LLAMA_SERVER, ZEN
from zenllama.core.wires import chat_completions

from ..support.fake_servers import FakeServer, Reply

TOOLS = [
    {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}},
]
ASK = [{"role": "user", "content": "hi"}]


def _tools_sent(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


@pytest.mark.parametrize(
    ("choice", "offered"),
    [
        ("required", ["a", "b"]),
        (True, ["a", "b"]),
        ("any", ["a", "b"]),
        ("b", ["b"]),
        ({"type": "function", "function": {"name": "b"}}, ["b"]),
    ],
)
def test_glm_gets_auto_with_a_warning_for_forced_choices(choice: Any, offered: list[str]) -> None:
    with pytest.warns(ToolChoiceDowngradedWarning, match="accepts only tool_choice='auto'"):
        body = chat_completions.build(
            ZEN, "glm-4.7", ChatRequest(ASK, tools=TOOLS, tool_choice=choice), stream=False
        )
    assert body["tool_choice"] == "auto" and _tools_sent(body) == offered


def test_glm_downgrade_can_be_made_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ToolChoiceDowngradedWarning)
        with pytest.raises(ToolChoiceDowngradedWarning):
            chat_completions.build(
                ZEN, "glm-4.7-free", ChatRequest(ASK, tools=TOOLS, tool_choice="a"), stream=False
            )


@pytest.mark.filterwarnings("error")
def test_glm_auto_and_none_need_no_warning() -> None:
    auto = chat_completions.build(
        ZEN, "glm-4.7", ChatRequest(ASK, tools=TOOLS, tool_choice="auto"), stream=False
    )
    none = chat_completions.build(
        ZEN, "glm-4.7", ChatRequest(ASK, tools=TOOLS, tool_choice="none"), stream=False
    )
    assert auto["tool_choice"] == "auto" and _tools_sent(auto) == ["a", "b"]
    assert "tools" not in none and "tool_choice" not in none  # no tools offered: no call


@pytest.mark.filterwarnings("error")
def test_other_zen_models_keep_their_tool_choice() -> None:
    for choice in ("required", "none"):
        body = chat_completions.build(
            ZEN, "kimi-k2", ChatRequest(ASK, tools=TOOLS, tool_choice=choice), stream=False
        )
        assert body["tool_choice"] == choice and _tools_sent(body) == ["a", "b"]


def test_preserved_thinking_per_backend() -> None:
    zen = chat_completions.build(
        ZEN, "glm-4.7", ChatRequest(ASK, preserve_thinking=True), stream=False
    )
    local = chat_completions.build(
        LLAMA_SERVER, None, ChatRequest(ASK, preserve_thinking=True), stream=False
    )
    assert zen["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert local["chat_template_kwargs"] == {"clear_thinking": False}
    for off in (None, False):
        assert "thinking" not in chat_completions.build(
            ZEN, "glm-4.7", ChatRequest(ASK, preserve_thinking=off), stream=False
        )


def test_thinking_switch_wins_over_preserved_thinking() -> None:
    body = chat_completions.build(
        ZEN, "glm-4.7", ChatRequest(ASK, preserve_thinking=True, reasoning=False), stream=False
    )
    assert body["thinking"] == {"type": "disabled", "clear_thinking": False}


@pytest.mark.parametrize(
    "answer",
    [
        {"object": "list", "data": [{"id": "glm-4.7"}, {"id": "kimi-k2"}]},
        [{"id": "glm-4.7"}, {"id": "kimi-k2"}],
        {"models": [{"name": "glm-4.7"}, {"model": "kimi-k2"}]},
    ],
    ids=["data", "bare-list", "models"],
)
def test_list_models_reads_every_shape_under_the_base_path(fake: FakeServer, answer: Any) -> None:
    fake.reply("/v1/models", Reply(body=answer))
    client = ChatClient(resolve_settings(base_url=fake.base_url, backend="openai-compatible"))
    assert [m.id for m in client.list_models()] == ["glm-4.7", "kimi-k2"]
    assert [s.path for s in fake.seen] == ["/v1/models"]
