"""`reasoning` and its aliases (reasoning_effort, thinking_budget): one normalised setting that
every wire maps through the backend profile; contradictions refused; never in /infill."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.support.answers import LLAMA_PROPS
from tests.support.fake_servers import FakeServer, Reply
from zenllama.core import ChatRequest, InvalidSettingError, UnsupportedSettingWarning, ZenLlamaError
from zenllama.core.backends import PROFILES
from zenllama.core.wires import WIRES
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama

ASK = [{"role": "user", "content": "q"}]
REASONING_KEYS = (
    "thinking",
    "chat_template_kwargs",
    "reasoning",
    "reasoning_effort",
    "reasoning_budget_tokens",
)
TEMPLATE_ON = {"enable_thinking": True}
ON = {"chat_template_kwargs": TEMPLATE_ON}
OFF = {"chat_template_kwargs": {"enable_thinking": False}}
SUMMARY = {"reasoning": {"summary": "auto"}}
MINIMAL = {"reasoning": {"effort": "minimal"}}
HIGH = {"reasoning": {"summary": "auto", "effort": "high"}}


def thinking(budget: int) -> dict[str, Any]:
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


# (backend, wire, model) -> setting -> (reasoning part of the body, warned)
TARGETS: dict[tuple[str, str, str | None], dict[str, tuple[dict[str, Any], bool]]] = {
    ("llama-server", "chat", None): {
        "unset": ({}, False),
        "on": (ON, False),
        "off": (OFF, False),
        "budget": ({"reasoning_budget_tokens": 256, **ON}, False),
        "effort": ({"reasoning_effort": "high", **ON}, False),
    },
    ("llama-server", "messages", None): {
        "unset": ({}, False),
        "on": ({**thinking(1024), **ON}, False),
        "off": ({"thinking": {"type": "disabled"}, **OFF}, False),
        "budget": ({**thinking(256), **ON}, False),
        # /v1/messages keeps only chat_template_kwargs: the effort goes in as its kwarg.
        "effort": (
            {**thinking(1024), "chat_template_kwargs": {**TEMPLATE_ON, "reasoning_effort": "high"}},
            False,
        ),
    },
    ("llama-server", "responses", None): {
        "unset": (SUMMARY, False),
        "on": ({**SUMMARY, **ON}, False),
        "off": ({**MINIMAL, **OFF}, False),
        "budget": ({**SUMMARY, **ON, "reasoning_budget_tokens": 256}, False),
        "effort": ({**HIGH, **ON}, False),
    },
    ("zen", "chat", "glm-4.7"): {
        "unset": ({}, False),
        "on": ({"thinking": {"type": "enabled"}}, False),
        "off": ({"thinking": {"type": "disabled"}}, False),
        "budget": ({"thinking": {"type": "enabled"}}, True),
        "effort": ({"thinking": {"type": "enabled"}}, True),
    },
    ("zen", "messages", "claude-x"): {
        "unset": ({}, False),
        "on": (thinking(1024), False),
        "off": ({"thinking": {"type": "disabled"}}, False),
        "budget": (thinking(256), False),
        "effort": (thinking(1024), True),
    },
    ("zen", "responses", "gpt-5"): {
        "unset": (SUMMARY, False),  # zen's gpt-* all reason
        "on": (SUMMARY, False),
        "off": (MINIMAL, False),
        "budget": (SUMMARY, True),
        "effort": (HIGH, False),
    },
    ("openai-compatible", "chat", "m"): {
        "unset": ({}, False),
        "on": ({}, True),
        "off": ({}, True),
        "budget": ({}, True),
        "effort": ({"reasoning_effort": "high"}, False),
    },
    ("openai-compatible", "responses", "m"): {
        "unset": ({}, False),  # a non-reasoning model would refuse a `reasoning` object
        "on": (SUMMARY, False),
        "off": (MINIMAL, False),
        "budget": (SUMMARY, True),
        "effort": (HIGH, False),
    },
}
SETTINGS: dict[str, dict[str, Any]] = {
    "unset": {},
    "on": {"reasoning": "on"},
    "off": {"reasoning": "off"},
    "budget": {"reasoning": 256},
    "effort": {"reasoning": "high"},
}
# The aliases build exactly what the `reasoning` values they stand for build.
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "True": ("on", {"reasoning": True}),
    "False": ("off", {"reasoning": False}),
    "reasoning_effort": ("effort", {"reasoning_effort": "high"}),
    "reasoning_effort in options": ("effort", {"options": {"reasoning_effort": "high"}}),
    "thinking_budget": ("budget", {"thinking_budget": 256}),
    "thinking_budget in options": ("budget", {"options": {"thinking_budget": 256}}),
    "agreeing": ("budget", {"reasoning": 256, "thinking_budget": 256}),
}


def _build(target: tuple[str, str, str | None], **setting: Any) -> tuple[Any, bool]:
    backend, api, model = target
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = WIRES[api].build(PROFILES[backend], model, ChatRequest(ASK, **setting), stream=False)
    warned = any(issubclass(w.category, UnsupportedSettingWarning) for w in caught)
    return {k: body[k] for k in REASONING_KEYS if k in body}, warned


CASES = [
    pytest.param(target, name, expected, id="-".join(map(str, (*target, name))))
    for target, table in TARGETS.items()
    for name, expected in table.items()
]


@pytest.mark.parametrize(("target", "name", "expected"), CASES)
def test_each_wire_maps_reasoning_through_the_backend(
    target: tuple[str, str, str | None], name: str, expected: tuple[Any, bool]
) -> None:
    assert _build(target, **SETTINGS[name]) == expected


@pytest.mark.parametrize("target", list(TARGETS), ids=lambda t: "-".join(map(str, t)))
@pytest.mark.parametrize("alias", list(ALIASES))
def test_aliases_build_what_reasoning_builds(
    target: tuple[str, str, str | None], alias: str
) -> None:
    name, setting = ALIASES[alias]
    assert _build(target, **setting) == TARGETS[target][name]


CONFLICTS = [
    ({"reasoning": False, "thinking_budget": 100}, "thinking_budget"),
    ({"reasoning": "off", "reasoning_effort": "high"}, "reasoning_effort"),
    ({"reasoning": False, "options": {"reasoning_effort": "high"}}, "reasoning_effort"),
    ({"reasoning": "high", "reasoning_effort": "low"}, "reasoning_effort"),
    ({"reasoning": 256, "thinking_budget": 100}, "thinking_budget"),
]


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
@pytest.mark.parametrize(("setting", "alias"), CONFLICTS)
def test_contradicting_settings_are_refused_naming_both(
    api: str, setting: dict[str, Any], alias: str
) -> None:
    with pytest.raises(InvalidSettingError, match=f"reasoning=.*{alias}=") as caught:
        WIRES[api].build(PROFILES["llama-server"], "m", ChatRequest(ASK, **setting), stream=False)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ZenLlamaError)


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"reasoning_effort": 3}, "reasoning_effort=3"),
        ({"thinking_budget": -1}, "thinking_budget=-1"),
        ({"thinking_budget": "lots"}, "thinking_budget='lots'"),
        ({"reasoning": "extreme"}, "reasoning='extreme'"),
    ],
)
def test_values_no_request_can_carry_are_refused(setting: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidSettingError, match=named):
        WIRES["chat"].build(
            PROFILES["llama-server"], "m", ChatRequest(ASK, **setting), stream=False
        )


def test_aliases_are_request_parts_not_options_and_stay_out_of_infill(fake: FakeServer) -> None:
    fake.props = LLAMA_PROPS
    fake.reply("/infill", Reply(body={"content": "x"}), Reply(body={"content": "x"}))
    settings: dict[str, Any] = {"reasoning_effort": "high", "thinking_budget": 64}
    chat = ChatZenLlama(base_url=fake.base_url, model="m", temperature=0.2, **settings)
    index = ZenLlama(base_url=fake.base_url, model="m", temperature=0.2, **settings)
    assert "reasoning_effort" not in chat._identifying_params
    assert chat.chat_request(ASK, {}).reasoning_effort == "high"
    assert chat.chat_request(ASK, {"thinking_budget": 8}).thinking_budget == 8
    chat.infill("def f(", "")
    index.complete("def f(", suffix="")
    bodies = [s.body for s in fake.requests_to("/infill")]
    assert len(bodies) == 2
    for body in bodies:
        assert body["temperature"] == 0.2
        assert not set(body) & {"reasoning_effort", "thinking_budget", "reasoning"}
