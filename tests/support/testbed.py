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
    "CHAIN_QUESTION",
    "ORDER_ID",
    "REASONING_MODEL",
    "SAMPLING",
    "THINK_GRAMMAR",
    "TIME_TOOL",
    "WEATHER_QUESTION",
    "WEATHER_TOOL",
    "find_order",
    "order_status",
]

# A two-step tool chain (chain_server): order_status needs an id that only find_order knows.
ORDER_ID = "ORD-7342"
CHAIN_QUESTION = "First find Alice's latest order, then tell me its shipping status."


def find_order(customer: str) -> str:
    """Finds the id of a customer's latest order."""
    return ORDER_ID


def order_status(order_id: str) -> str:
    """Gets the shipping status of an order. Needs the order id, which find_order gives."""
    return f"Order {order_id} was shipped on Monday." if order_id == ORDER_ID else "No such order."
