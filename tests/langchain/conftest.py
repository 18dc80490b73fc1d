"""The one place that lists which standard tests depend on the test bed's model, and why.

The standard suite's prompts and schemas are langchain-tests' own, so their outputs cannot be
bounded from here. Everything else on the test bed checks mechanics or bounded output.
"""

from __future__ import annotations

import pytest

from zenllama.core import ServerError, TruncatedOutputError

# Passing, but only because Qwen2.5-Coder-0.5B (temperature 0, seed 7) chooses well: these
# would fail on a model that answers in words where a call is expected, or picks other fields.
# Kept as they are; listed so nobody is surprised.
MODEL_CHOICE = {
    "test_agent_loop": "tool_choice auto: the model decides to call get_weather",
    "test_json_mode": "json_object mode: the model picks the fields the prompt names",
}

# The model's words decide whether these pass: on some machines (thread count, batch mix) the
# answer comes out differently. Each may fail only with the typed error zenllama rightly raises
# for that answer (xfail with `raises`): any other failure still fails the test.
MODEL_MARGIN: dict[str, tuple[str, tuple[type[Exception], ...]]] = {
    **{
        name: (
            "the Joke schema's strings have no maxLength: a rambling joke hits max_tokens, and "
            "a cut-off structured answer is a TruncatedOutputError",
            (TruncatedOutputError,),
        )
        for name in (
            "test_structured_output",
            "test_structured_output_async",
            "test_structured_output_pydantic_2_v1",
            "test_structured_output_optional_param",
        )
    },
    **{
        name: (
            "after the tool's JSON result the coder may answer with JSON of its own, which the "
            "bare-JSON tool template's parser refuses (llama-server: HTTP 500 'does not match the "
            "expected peg-native format', a ServerError)",
            (ServerError,),
        )
        for name in (
            "test_tool_message_histories_string_content",
            "test_tool_message_histories_list_content",
        )
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if "Integration" in item.nodeid and name in MODEL_MARGIN:
            reason, raises = MODEL_MARGIN[name]
            item.add_marker(pytest.mark.xfail(reason=reason, raises=raises, strict=False))
