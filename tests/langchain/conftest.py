"""The one place that lists standard tests the 270M test-bed model fails for lack of skill.

Each is about what the model chooses to say, not about zenllama's mechanics, which the same
file's other tests and tests/langchain/test_llama_server.py cover with a steered model.
"""

from __future__ import annotations

import pytest

_NO_TOOL_SKILL = (
    "Gemma 3 270M does not emit a tool call unprompted, and this llama-server applies no "
    "grammar for tool_choice='required' with the Llama 3.1 template; the mechanics are "
    "covered by test_llama_server.py with a one-shot example"
)
SKILL_LIMITED = {
    "test_tool_calling": _NO_TOOL_SKILL,
    "test_tool_calling_async": _NO_TOOL_SKILL,
    "test_bind_runnables_as_tools": _NO_TOOL_SKILL,
    "test_tool_choice": _NO_TOOL_SKILL,
    "test_tool_calling_with_no_arguments": _NO_TOOL_SKILL,
    "test_agent_loop": _NO_TOOL_SKILL,
    "test_unicode_tool_call_integration": _NO_TOOL_SKILL,
    "test_json_mode": (
        "json_object mode gives the model no schema; the 270M model writes valid JSON with "
        "the wrong fields (json_schema mode, enforced by a grammar, passes)"
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if "Integration" in item.nodeid and name in SKILL_LIMITED:
            item.add_marker(pytest.mark.xfail(reason=SKILL_LIMITED[name], strict=False))
