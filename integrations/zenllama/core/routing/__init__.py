"""Routing: one conversation over an ordered list of backends, the first that can take each call.

`RoutedChatClient` has ChatClient's interface, so both frameworks route without knowing it.
Each call goes to the first backend that is up and whose context window holds the prompt (plus
max_tokens), counted before sending by llama-server's own tokenizer. The body is built by the
serving backend's profile (reasoning pass-back, tool-choice dialect, session header), so a
conversation moves between backends without breaking. A stream that has handed out a chunk is
never continued by another backend.

fallbacks.py resolves the backends' settings; planner.py decides every call; client.py sends.
"""

from .client import AnyChatClient, RoutedChatClient, chat_client
from .fallbacks import (
    Backend,
    FallbackSpec,
    RoutingPolicy,
    check_fallbacks,
    check_names,
    default_name,
    env_fallbacks,
)

__all__ = [
    "AnyChatClient",
    "Backend",
    "FallbackSpec",
    "RoutedChatClient",
    "RoutingPolicy",
    "chat_client",
    "check_fallbacks",
    "check_names",
    "default_name",
    "env_fallbacks",
]
