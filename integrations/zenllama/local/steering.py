"""How to get real tool calls and real reasoning out of the bundled 270M model.

The model has little skill, so llama.cpp's own means steer it: temperature 0 and a seed; a
`grammar` that forces `<think>…</think>answer` (with the Qwen3 template llama-server then
returns the tagged part as real `reasoning_content`); and one worked example conversation
before a question, which with tool_choice="required" and the Llama 3.1 template gives a real
`tool_calls` answer (llama-server refuses a custom grammar together with tools).
"""

from __future__ import annotations

from typing import Any

SAMPLING: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 64}

# The templates' end-of-turn markers are plain text to Gemma's vocabulary: stop on them.
TEMPLATE_STOPS = ["<|eot_id|>", "<|im_end|>", "<|user|>"]

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
