"""Fallback: a backend a chat model routes to when its own cannot take a call. Only its fields
are declared here: core.routing.fallbacks resolves them (and BACKEND_FALLBACK_*), each with its
own key only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr, field_serializer

from zenllama.core.errors import redact_url
from zenllama.core.routing import FallbackSpec, env_fallbacks

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

    def spec(self) -> FallbackSpec:
        """These fields, for core to resolve (core.routing.fallbacks: URL, key, name)."""
        return FallbackSpec(self.base_url, self.model, self.api_key, self.backend, self.name)


class FallbackRouting:
    """Mixed into ChatFields (which declares `fallbacks`): the fallbacks as core resolves them."""

    if TYPE_CHECKING:
        fallbacks: list[Fallback] | None

    def _fallbacks(self) -> list[FallbackSpec]:
        """The explicit fallbacks, else one from BACKEND_FALLBACK_*. Never written back to the
        field: its key would travel in pickles and dumps."""
        if self.fallbacks is not None:
            return [f.spec() for f in self.fallbacks]
        return env_fallbacks()
