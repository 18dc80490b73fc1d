"""The one place that lists which standard tests depend on the test bed's model, and why.

The standard suite's prompts and schemas are langchain-tests' own, so their outputs cannot be
bounded from here. Everything else on the test bed checks mechanics or bounded output.
"""

from __future__ import annotations

import pytest

# Passing, but only because Qwen2.5-Coder-0.5B (temperature 0, seed 7) chooses well: these
# would fail on a model that answers in words where a call is expected, or writes an
# unbounded string (the Joke schema has no maxLength; max_tokens in test_standard.py leaves
# room for several times the model's answer). Kept as they are; listed so nobody is surprised.
MODEL_CHOICE = {
    "test_agent_loop": "tool_choice auto: the model decides to call get_weather",
    "test_structured_output": "the joke's strings end within max_tokens",
    "test_structured_output_async": "the joke's strings end within max_tokens",
    "test_structured_output_pydantic_2_v1": "the joke's strings end within max_tokens",
    "test_structured_output_optional_param": "the joke's strings end within max_tokens",
    "test_json_mode": "json_object mode: the model picks the fields the prompt names",
}

# Failing for lack of skill (xfail, not strict): the model's answer decides, not zenllama.
SKILL_LIMITED: dict[str, str] = {
    "test_tool_message_histories_string_content": (
        "after the tool's JSON result the coder answers with JSON of its own, which the bare-JSON "
        "tool template's parser refuses (llama-server: HTTP 500 'does not match the expected "
        "peg-native format'); the list-content twin passes"
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if "Integration" in item.nodeid and name in SKILL_LIMITED:
            item.add_marker(pytest.mark.xfail(reason=SKILL_LIMITED[name], strict=False))
