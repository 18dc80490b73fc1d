"""Shared inputs for tests against the real llama-server test bed (Gemma 3 270M).

The 270M model has little skill, so tests that need exact behaviour steer it the way
llama.cpp allows: temperature 0 and a seed everywhere, a `grammar` where the text must be
exact, and a one-shot example conversation where a real tool call is wanted (llama-server
refuses a custom grammar together with tools).
"""

from __future__ import annotations

from typing import Any

SAMPLING: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 64}

# Forces "<think>…</think>answer": the Qwen3 template makes llama-server return the part in
# the tags as real `reasoning_content`.
THINK_GRAMMAR = r'root ::= "<think>" [a-zA-Z .]{5,60} "</think>" [a-zA-Z !.]{3,40}'

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}

# One worked example; with tool_choice="required" the Llama 3.1 template then yields a real
# `tool_calls` answer for the next question.
WEATHER_SHOTS: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the weather in Rome?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_rome",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_rome", "content": "sunny, 24 C"},
    {"role": "assistant", "content": "It is sunny in Rome, 24 C."},
]
WEATHER_QUESTION = "What is the weather in Paris?"
