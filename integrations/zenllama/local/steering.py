"""How the local models are made to give real tool calls and real reasoning.

- Tool calls need no steering: Qwen2.5-Coder-0.5B served with the `qwen-tools` template (bare
  JSON calls, the way this model writes them) returns real `tool_calls` for tool_choice "auto",
  "required" or a named tool, and picks between tools.
- Reasoning does: no installable small model thinks on its own. A `grammar` forces
  `<think>…</think>answer`; with the Qwen3 template llama-server returns the tagged part as real
  `reasoning_content` (llama-server refuses a custom grammar together with tools).
- Temperature 0 and a seed always, so a run repeats.
"""

from __future__ import annotations

from typing import Any

# The model served for reasoning under THINK_GRAMMAR (a name from zenllama.local.MODELS).
REASONING_MODEL = "gemma"

SAMPLING: dict[str, Any] = {"temperature": 0, "seed": 7, "max_tokens": 64}

THINK_GRAMMAR = r'root ::= "<think>" [a-zA-Z .]{5,60} "</think>" [a-zA-Z !.]{3,40}'
# For showing (the demo): room for a real thought, and an answer that ends its sentence.
# At most ~310 characters, so max_tokens 128 always holds it.
THINK_SENTENCE_GRAMMAR = (
    r'root ::= "<think>" [a-zA-Z ,.]{5,150} "</think>" " "? [a-zA-Z ,]{3,150} "."'
)

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
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
WEATHER_QUESTION = "What is the weather in Paris?"
