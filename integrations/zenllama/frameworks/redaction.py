"""Reprs, dumps and pickles of the settings objects without a key or a URL's credentials."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import SecretStr

from zenllama.core.errors import redact_url
from zenllama.core.secret import SecretLike


def redacted_url(url: str | None) -> str | None:
    return redact_url(url) if url else url


def repr_args_redacted(args: Iterable[tuple[str | None, Any]]) -> Iterator[tuple[str | None, Any]]:
    """Framework reprs without a URL's credentials (some gateways take a key in the URL)."""
    for name, value in args:
        yield name, (redacted_url(value) if name == "base_url" else value)


def without_secrets(state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic pickle state without the key, with the base URL's credentials masked."""
    fields = state["__dict__"]
    state["__dict__"] = {**fields, "api_key": None, "base_url": redacted_url(fields["base_url"])}
    return state


def as_secret_str(key: SecretLike | None) -> SecretStr | None:
    """A key the core resolved (its own `Secret` when read from the environment) as the
    `SecretStr` the framework objects' `api_key` field holds."""
    if key is None or isinstance(key, SecretStr):
        return key
    return SecretStr(key.get_secret_value())
