"""Typed reads of an answer's JSON fields, whatever the wire.

A field of the wrong kind (valid JSON or not) is a `MalformedResponseError` naming the field,
what it was and what was expected; never a TypeError or KeyError from deep inside a parser.
`raise_malformed` raises that error; `malformed_error` makes the one for a shape error caught
around a whole parser.
"""

from __future__ import annotations

from typing import Any, NoReturn

from . import errors

_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}


def raise_malformed(what: str, value: Any, expected: str) -> NoReturn:
    """Raises the error for `what` (a field) being `value`, not the `expected` kind."""
    kind = _JSON_KINDS.get(type(value)) or ("null" if value is None else "a number")
    raise errors.MalformedResponseError(
        f"{what} is {kind} ({str(value)[:80]!r}), expected {expected}"
    )


def malformed_error(api: str, exc: Exception) -> errors.MalformedResponseError:
    """The error (returned, for `raise … from exc`) for an answer of the `api` wire whose shape
    made reading it fail with `exc`."""
    return errors.MalformedResponseError(
        f"the {api} answer has an unexpected shape "
        f"({type(exc).__name__}: {errors.shorten(str(exc))})"
    )


def required_object(value: Any, what: str) -> dict[str, Any]:
    """An object; anything else (null too) is malformed."""
    if type(value) is not dict:
        raise_malformed(what, value, "an object")
    return value


def object_field(value: Any, what: str) -> dict[str, Any]:
    """An object; null as an empty one."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise_malformed(what, value, "an object")
    return value


def list_field(value: Any, what: str) -> list[Any]:
    """A list; null as an empty one."""
    if value is None:
        return []
    if type(value) is not list:
        raise_malformed(what, value, "a list")
    return value


def text_field(value: Any, what: str) -> str:
    """Text where the wire puts text; null as none."""
    if value is None:
        return ""
    if type(value) is not str:
        raise_malformed(what, value, "text")
    return value


def optional_str(value: Any, what: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise_malformed(what, value, "a string")


def index_field(value: Any, what: str) -> int:
    if type(value) is not int:
        raise_malformed(what, value, "an integer")
    return value


def count_field(raw: dict[str, Any], name: str, where: str = "usage") -> int | None:
    """A token count: an integer or absent."""
    value = raw.get(name)
    if value is not None and type(value) is not int:
        raise_malformed(f"`{where}.{name}`", value, "an integer")
    return value
