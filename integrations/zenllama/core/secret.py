"""A key that never shows: core's own holder, so core needs no pydantic.

Core takes any object with `get_secret_value()` (pydantic's `SecretStr`, which the framework
classes hand it, included) and wraps a key it finds itself (a string argument, the environment)
in `Secret`. Neither shows the value in a repr or str.
"""

from __future__ import annotations

from typing import Protocol


class SecretLike(Protocol):
    def get_secret_value(self) -> str: ...


class Secret:
    """A key; `get_secret_value()` is the only way to read it."""

    def __init__(self, value: str) -> None:
        self._secret_value = value

    def get_secret_value(self) -> str:
        return self._secret_value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __len__(self) -> int:  # an empty key is false, as a SecretStr's is
        return len(self._secret_value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._secret_value == self._secret_value

    def __hash__(self) -> int:
        return hash(self._secret_value)
