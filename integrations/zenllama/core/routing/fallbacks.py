"""The routed backends' settings, resolved in one place from plain values.

A fallback's URL (or BACKEND_FALLBACK_URL), model and key (its own, BACKEND_FALLBACK_API_KEY or
its backend's variable; never the first backend's BACKEND_API_KEY or BACKEND_MODEL), its name,
the distinct-names check and the policy. The framework classes only hand their fields in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

from .. import errors
from ..backends import profile_named
from ..secret import Secret, SecretLike
from ..settings import Settings, env_value, resolve_settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
FALLBACK_URL_ENV = "BACKEND_FALLBACK_URL"
FALLBACK_KEY_ENV = "BACKEND_FALLBACK_API_KEY"
FIRST_KEY_ENV = "BACKEND_API_KEY"


@dataclass(frozen=True)
class RoutingPolicy:
    """When a call leaves a backend for the next one."""

    # Connection refused, 503 loading, 429 no free slot -> the next backend.
    on_unavailable: bool = True
    # Leave at once, rather than after the backend's own retries (max_retries, backoff).
    at_once: bool = True
    # Skip a backend whose context window the prompt plus max_tokens does not fit, before
    # sending (llama-server backends: counted by the server's tokenizer).
    on_size: bool = True


@dataclass(frozen=True)
class Backend:
    name: str
    settings: Settings


@dataclass(frozen=True)
class FallbackSpec:
    """One fallback as given (arguments or BACKEND_FALLBACK_*), before it is resolved."""

    base_url: str
    model: str | None = None  # never BACKEND_MODEL (the first backend's): None sends no model
    api_key: SecretLike | None = field(default=None, repr=False)
    backend: str = "auto"
    name: str | None = None


def default_name(settings: Settings) -> str:
    """zen, deepseek by their profile; "local" for a loopback server; else the host."""
    named = None if settings.backend == "auto" else profile_named(settings.backend).route_name
    if named:
        return named
    host = urlparse(settings.base_url).hostname or settings.base_url
    return "local" if host in LOOPBACK else host


def check_names(names: Sequence[str]) -> None:
    """Routed backends are told apart by name (route=, results): at least two, all distinct."""
    if len(names) < 2:
        raise errors.InvalidSettingError(
            "routing needs at least two backends; use ChatClient for one"
        )
    if len(set(names)) != len(names):
        raise errors.InvalidSettingError(
            f"routed backends need distinct names, got {list(names)}: pass Fallback(name=...)"
        )


def env_fallbacks() -> list[FallbackSpec]:
    """One fallback from BACKEND_FALLBACK_URL / _MODEL / _API_KEY, or none."""
    url = env_value(FALLBACK_URL_ENV)
    if not url:
        return []
    key = env_value(FALLBACK_KEY_ENV)
    model = env_value("BACKEND_FALLBACK_MODEL")
    return [FallbackSpec(url, model=model, api_key=Secret(key) if key else None)]


def fallback_backend(
    fallback: FallbackSpec,
    *,
    timeout: float | None,
    deadline: float | None,
    max_retries: int,
    session_id: str | None,
) -> Backend:
    """A fallback with its own key and model only; MissingAPIKeyError where its backend needs a
    key and none is found."""
    settings = resolve_settings(
        base_url=fallback.base_url,
        url_env=FALLBACK_URL_ENV,
        backend=fallback.backend,
        timeout=timeout,
        deadline=deadline,
        max_retries=max_retries,
        session_id=session_id,
    )
    # The first backend's key and model (BACKEND_API_KEY, BACKEND_MODEL) never go to another
    # host: only the fallback's own, BACKEND_FALLBACK_API_KEY, or its backend's own variable
    # (OPENCODE_API_KEY).
    profile = None if settings.backend == "auto" else profile_named(settings.backend)
    names = [FALLBACK_KEY_ENV]
    names += [n for n in (profile.api_key_env if profile else ()) if n != FIRST_KEY_ENV]
    key = fallback.api_key
    if key is None:
        found = next((v for v in map(env_value, names) if v), None)
        key = Secret(found) if found else None
    if key is None and profile is not None and profile.requires_api_key:
        raise errors.MissingAPIKeyError(f"the {profile.name} fallback", tuple(names))
    settings = replace(settings, api_key=key, model=fallback.model)
    return Backend(fallback.name or default_name(settings), settings)


def routed_backends(first: Settings, fallbacks: Sequence[FallbackSpec]) -> list[Backend]:
    """The routed client's backends: the first, then each fallback on the first's timeouts and
    session id (one conversation, one session: zen's prompt cache). [] without fallbacks."""
    if not fallbacks:
        return []
    rest = [
        fallback_backend(
            f,
            timeout=first.timeout,
            deadline=first.deadline,
            max_retries=first.max_retries,
            session_id=first.session_id,
        )
        for f in fallbacks
    ]
    return [Backend(default_name(first), first), *rest]


def check_fallbacks(
    base_url: str | None,
    backend: str,
    fallbacks: Sequence[FallbackSpec],
    *,
    timeout: float | None,
    deadline: float | None,
    max_retries: int,
) -> None:
    """A fallback's missing key, and two backends of one name (route=): found when the model is
    made (cheap: no network), not when the first backend goes down in production."""
    names = [
        fallback_backend(
            f, timeout=timeout, deadline=deadline, max_retries=max_retries, session_id=None
        ).name
        for f in fallbacks
    ]
    if names:
        first = resolve_settings(base_url=base_url, backend=backend)
        check_names([default_name(first), *names])
