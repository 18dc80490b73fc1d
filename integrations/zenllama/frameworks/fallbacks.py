"""Fallbacks: the backends a chat model routes to when its own cannot take a call, each from
its arguments or the BACKEND_FALLBACK_* environment, with its own key only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr, field_serializer

from zenllama.core import errors
from zenllama.core.backends import profile_named
from zenllama.core.errors import redact_url
from zenllama.core.routing import Backend, default_name
from zenllama.core.settings import env_value, resolve_settings

from .redaction import repr_args_redacted, without_secrets


class Fallback(BaseModel):
    """One more backend a chat model routes calls to when those before it cannot take them."""

    base_url: str
    model: str | None = None
    """Never BACKEND_MODEL (the first backend's): None sends no model."""
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """If not given: BACKEND_FALLBACK_API_KEY, else the backend's own variable (OPENCODE_API_KEY
    for zen); never BACKEND_API_KEY (the first backend's). Never serialized."""
    backend: str = "auto"
    name: str | None = None
    """The name `route=` and `route["backend"]` use; by default the backend ("zen"),
    "local" for a loopback server, else the host."""

    @field_serializer("base_url")
    def _serialize_base_url(self, url: str) -> str:
        return redact_url(url)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return repr_args_redacted(super().__repr_args__())

    def __getstate__(self) -> dict[Any, Any]:
        """Without the key and the URL's credentials; a restored fallback reads them from
        BACKEND_FALLBACK_API_KEY (or its backend's variable) and BACKEND_FALLBACK_URL."""
        return without_secrets(super().__getstate__())


class FallbackRouting:
    """Mixed into ChatFields (which declares the fields below): its fallbacks, each resolved
    to a backend with its own key."""

    if TYPE_CHECKING:
        timeout: float | None
        deadline: float | None
        max_retries: int
        fallbacks: list[Fallback] | None

    def _fallbacks(self) -> list[Fallback]:
        """The explicit fallbacks, else one from BACKEND_FALLBACK_*. Never written back to the
        field: its key would travel in pickles and dumps."""
        if self.fallbacks is not None:
            return self.fallbacks
        url = env_value("BACKEND_FALLBACK_URL")
        if not url:
            return []
        key = env_value("BACKEND_FALLBACK_API_KEY")
        secret = SecretStr(key) if key else None
        return [Fallback(base_url=url, model=env_value("BACKEND_FALLBACK_MODEL"), api_key=secret)]

    def _fallback_backend(self, fallback: Fallback, session_id: str | None) -> Backend:
        settings = resolve_settings(
            base_url=fallback.base_url,
            url_env="BACKEND_FALLBACK_URL",
            backend=fallback.backend,
            timeout=self.timeout,
            deadline=self.deadline,
            max_retries=self.max_retries,
            session_id=session_id,
        )
        # The first backend's key and model (BACKEND_API_KEY, BACKEND_MODEL) never go to
        # another host: only the fallback's own, BACKEND_FALLBACK_API_KEY, or its backend's
        # own variable (OPENCODE_API_KEY).
        profile = None if settings.backend == "auto" else profile_named(settings.backend)
        names = ["BACKEND_FALLBACK_API_KEY"]
        names += [n for n in (profile.api_key_env if profile else ()) if n != "BACKEND_API_KEY"]
        key = fallback.api_key
        if key is None:
            found = next((v for v in map(env_value, names) if v), None)
            key = SecretStr(found) if found else None
        if key is None and profile is not None and profile.requires_api_key:
            raise errors.MissingAPIKeyError(f"the {profile.name} fallback", tuple(names))
        settings = replace(settings, api_key=key, model=fallback.model)
        return Backend(fallback.name or default_name(settings), settings)
