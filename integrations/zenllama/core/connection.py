"""One backend as a connection: its settings, its transport, which backend it is (found once per
URL per process), and the server facts every client reads: /props, the context window, /models,
/tokenize. Chat, embeddings, llama.cpp's extras and prompt counting all go through one."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any

from . import errors
from .backends import BackendProfile, profile_from_props, profile_named
from .models import ModelInfo, parse_models
from .settings import Settings
from .transport import Transport, root_url

# Which backend serves a URL is found once per process: by a probe of llama-server's /props,
# per (base URL, whether a key is sent), whatever the number of objects, threads and loops.
# The props are kept with the profile: every later connection reads its template from them.
_DetectionKey = tuple[str, bool]
_detected: dict[_DetectionKey, tuple[BackendProfile, Any]] = {}
_probe_locks: dict[_DetectionKey, threading.Lock] = {}
_guard = threading.Lock()


def _probe_lock(key: _DetectionKey) -> threading.Lock:
    with _guard:
        return _probe_locks.setdefault(key, threading.Lock())


def forget_detected_backends(base_url: str | None = None) -> None:
    """Probes `base_url` (default: every URL) again from now on: the server there was replaced,
    or was probed while it could not say what it is (routing, tests)."""
    with _guard:
        for key in [k for k in _detected if base_url is None or k[0] == base_url]:
            del _detected[key]


def tokenize_body(
    text: str, *, add_special: bool, parse_special: bool | None = None, model: str | None = None
) -> dict[str, Any]:
    """llama-server's /tokenize request. `add_special`: BOS/EOS as a prompt gets them;
    `parse_special`: special-token spellings read as those tokens (None: the server's default,
    true); `model`: for a router (--models-dir), which forwards by it."""
    body: dict[str, Any] = {"content": text, "add_special": add_special}
    if parse_special is not None:
        body["parse_special"] = parse_special
    if model:
        body["model"] = model
    return body


def token_ids(answer: Any) -> list[int]:
    """/tokenize's `tokens`: ids, or `{"id", "piece"}` objects (with_pieces)."""
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise errors.MalformedResponseError(
            f"llama-server /tokenize answered without tokens: {errors.shorten(repr(answer))}"
        )
    return [t["id"] if isinstance(t, dict) else int(t) for t in tokens]


class Connection:
    """One backend: settings, transport, detected profile and server facts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._props: dict[str, Any] | None = None
        self._transport = Transport(settings)
        self._profile: BackendProfile | None = None
        if settings.backend != "auto":
            self._use(profile_named(settings.backend))

    def _use(self, profile: BackendProfile) -> None:
        self._transport.backend = profile.name
        if profile.session_header:
            self._transport.request_headers[profile.session_header] = self.settings.session_id
        self._profile = profile  # last: another thread may read it and send at once

    # Backend ------------------------------------------------------------------------
    @property
    def profile(self) -> BackendProfile:
        return self._profile or self._resolve()

    async def aprofile(self) -> BackendProfile:
        # The probe is a blocking call, made once per URL per process: off the event loop.
        if self._profile is not None:
            return self._profile
        return await asyncio.to_thread(self._resolve)

    def _resolve(self) -> BackendProfile:
        has_key = self.settings.api_key is not None or "authorization" in map(
            str.lower, self.settings.default_headers
        )
        key = (self.settings.base_url, has_key)
        with _probe_lock(key):
            found = _detected.get(key)
            if found is None:
                found = _detected[key] = self._detect(self._probe_props())
        profile, props = found
        if props is not None and self._props is None:
            self._props = props
        self._use(profile)
        return profile

    @staticmethod
    def _detect(props: Any) -> tuple[BackendProfile, Any]:
        profile = profile_from_props(props)
        return profile, props if profile.props_describe_model else None

    def _probe_props(self) -> Any:
        """/props with the object's own timeout and retries; None where the server has none.

        Nothing answering, a timeout or a loading server is an error (the call could not
        have gone through either), and nothing is remembered.
        """
        try:
            return self._transport.get(self.url("/props"))
        except errors.ServerLoadingError:
            raise
        except (errors.BackendHTTPError, errors.MalformedResponseError):
            return None

    @property
    def transport(self) -> Transport:
        """The backend's transport, once the backend is known (its headers depend on it)."""
        self.profile  # noqa: B018 - resolves the backend first
        return self._transport

    async def atransport(self) -> Transport:
        await self.aprofile()
        return self._transport

    def url(self, path: str) -> str:
        """llama-server's own endpoints (/props, /tokenize, …) live beside /v1."""
        return root_url(self.settings.base_url) + path

    # Server facts -------------------------------------------------------------------
    @property
    def known_props(self) -> dict[str, Any] | None:
        """The /props read so far (by the probe), never fetched for this: no round trip."""
        return self._props

    def server_props(self) -> dict[str, Any] | None:
        """llama-server's `/props` (context size, template, slots); None for other backends."""
        if not self.profile.props_describe_model:
            return None
        if self._props is None:
            self._props = self.transport.get(self.url("/props"))
        return self._props

    def context_window(self) -> int | None:
        model = (self.settings.model or "").lower()
        known = self.profile.context_windows.get(model)
        if known:
            return known
        props = self.server_props() or {}
        n_ctx = props.get("n_ctx") or (props.get("default_generation_settings") or {}).get("n_ctx")
        return int(n_ctx) if n_ctx else None

    def list_models(self) -> list[ModelInfo]:
        """The served models, each with the API it is served on (`ModelInfo.api`)."""
        return self._with_apis(parse_models(self.transport.get("/models")))

    async def alist_models(self) -> list[ModelInfo]:
        return self._with_apis(parse_models(await (await self.atransport()).aget("/models")))

    def _with_apis(self, models: list[ModelInfo]) -> list[ModelInfo]:
        api_for = self.profile.api_for
        return [replace(m, api=api_for(m.id)) for m in models]

    # /tokenize: every token count's one way to the server ------------------------------
    def tokenize(
        self,
        text: str,
        *,
        add_special: bool,
        parse_special: bool | None = None,
        model: str | None = None,
    ) -> list[int]:
        """`text`'s token ids on llama-server (flags: `tokenize_body`). Uncached: the callers
        keep what they count (LlamaCpp per text, prompt counts per body)."""
        body = tokenize_body(
            text, add_special=add_special, parse_special=parse_special, model=model
        )
        return token_ids(self.transport.post(self.url("/tokenize"), body))

    async def atokenize(
        self,
        text: str,
        *,
        add_special: bool,
        parse_special: bool | None = None,
        model: str | None = None,
    ) -> list[int]:
        body = tokenize_body(
            text, add_special=add_special, parse_special=parse_special, model=model
        )
        transport = await self.atransport()
        return token_ids(await transport.apost(self.url("/tokenize"), body))

    def close(self) -> None:
        """Lets go of this object's hold on the shared HTTP clients; they and their pools stay
        open for the process (other objects with the same settings use them; see transport)."""
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()
