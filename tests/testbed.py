"""Shared inputs for tests against the real llama-server test bed (tests/conftest.py).

The tools server runs Qwen2.5-Coder-0.5B (real tool calls, no steering); reasoning needs
THINK_GRAMMAR on any local model. Steering lives in the package (the demo and notebooks use
it too); see its docstring.
"""

from zenllama.local.steering import (
    REASONING_MODEL,
    SAMPLING,
    THINK_GRAMMAR,
    TIME_TOOL,
    WEATHER_QUESTION,
    WEATHER_TOOL,
)

__all__ = [
    "REASONING_MODEL",
    "SAMPLING",
    "THINK_GRAMMAR",
    "TIME_TOOL",
    "WEATHER_QUESTION",
    "WEATHER_TOOL",
]
