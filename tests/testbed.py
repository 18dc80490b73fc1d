"""Shared inputs for tests against the real llama-server test bed (Gemma 3 270M).

Steering lives in the package (the demo and notebooks use it too); see its docstring.
"""

from zenllama.local.steering import (
    SAMPLING,
    THINK_GRAMMAR,
    WEATHER_QUESTION,
    WEATHER_SHOTS,
    WEATHER_TOOL,
)

__all__ = ["SAMPLING", "THINK_GRAMMAR", "WEATHER_QUESTION", "WEATHER_SHOTS", "WEATHER_TOOL"]
