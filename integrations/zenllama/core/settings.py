"""Where the backend is and how to reach it: arguments first, then the environment."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from .backends import LLAMA_SERVER, BackendProfile, profile_from_url, profile_named
from .errors import InvalidSettingError, is_masked_url, redact_url, register_secrets, url_secrets
from .secret import Secret, SecretLike

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: SecretLike | None = field(default=None, repr=False)
    model: str | None = None
    # "auto" until resolved by `ChatClient.profile` (URL, then a probe of the server).
    backend: str = "auto"
    timeout: float | None = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    default_headers: dict[str, str] = field(default_factory=dict)
    # Seconds one request may take whole (retries, every byte of the answer); None: no bound.
    deadline: float | None = None

    def __post_init__(self) -> None:
        # Masked in every error message from now on (errors.mask_secrets).
        secrets = url_secrets(self.base_url)
        if self.api_key is not None:
            secrets.append(self.api_key.get_secret_value())
        for name, value in self.default_headers.items():
            if name.lower() == "authorization":  # a key given as a header: "Bearer <key>"
                secrets += [value, value.rpartition(" ")[2]]
        register_secrets(secrets)

    def __repr__(self) -> str:  # never show the key, not even masked differently per caller
        key = "**********" if self.api_key else None
        url = redact_url(self.base_url)  # some gateways take a key in the URL
        return (
            f"Settings(base_url={url!r}, api_key={key}, model={self.model!r}, "
            f"backend={self.backend!r}, timeout={self.timeout}, max_retries={self.max_retries})"
        )


def env_value(name: str) -> str | None:
    """An environment variable, None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_settings(
    *,
    base_url: str | None = None,
    api_key: SecretLike | str | None = None,
    model: str | None = None,
    backend: str = "auto",
    timeout: float | None = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    session_id: str | None = None,
    default_headers: dict[str, str] | None = None,
    url_env: str = "BACKEND_URL",
    deadline: float | None = None,
) -> Settings:
    """Arguments win; then BACKEND_URL / BACKEND_API_KEY / BACKEND_MODEL; then the backend's own.

    A URL with masked credentials (a pickle's or a dump's) takes them from `url_env` when that
    holds the same URL: the analogue of a restored object reading its key again."""
    named: BackendProfile | None = None if backend == "auto" else profile_named(backend)
    url = base_url or env_value(url_env) or (named or LLAMA_SERVER).default_base_url
    if is_masked_url(url):
        found = env_value(url_env)
        if found and redact_url(found).rstrip("/") == url.rstrip("/"):
            url = found
    profile = named or profile_from_url(url)
    key_names = profile.api_key_env if profile else ("BACKEND_API_KEY",)
    if isinstance(api_key, str):
        api_key = Secret(api_key)
    if api_key is None or not api_key.get_secret_value():
        found = next((v for v in map(env_value, key_names) if v), None)
        api_key = Secret(found) if found else None
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    if deadline is not None and deadline <= 0:
        raise InvalidSettingError("deadline must be a number of seconds above 0, or None")
    return Settings(
        base_url=url.rstrip("/"),
        api_key=api_key,
        model=model or env_value("BACKEND_MODEL"),
        backend=profile.name if profile else "auto",
        timeout=timeout,
        max_retries=max_retries,
        session_id=session_id or uuid.uuid4().hex,
        default_headers=dict(default_headers or {}),
        deadline=deadline,
    )
