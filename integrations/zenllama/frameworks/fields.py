"""The settings every zenllama class takes, declared once (pydantic only, no framework).

Each framework class inherits these next to its framework base: `ConnectionFields` for where
the backend is (its core client's lifecycle: client_slot.py); `ChatFields` adds the chat request
fields, the fallbacks (fallbacks.py) and the split of call-time kwargs (call_kwargs.py);
`EmbeddingsFields` the embeddings settings, client and last usage.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    model_validator,
)
from typing_extensions import Self

from zenllama.core import errors
from zenllama.core.backends import Api
from zenllama.core.embeddings import DEFAULT_MAX_CONCURRENCY, EmbeddingsClient, EmbeddingsResult
from zenllama.core.errors import ZenLlamaError
from zenllama.core.models import model_from_props
from zenllama.core.results import Usage
from zenllama.core.routing import AnyChatClient, RoutingPolicy, chat_client, check_fallbacks
from zenllama.core.settings import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Settings, resolve_settings

from .call_kwargs import CallKwargs
from .client_slot import ClientLifecycle
from .fallbacks import Fallback, FallbackRouting
from .redaction import as_secret_str, redacted_url, repr_args_redacted

# Fields every core client is built from; a change to one builds a new client.
_CONNECTION = (
    "base_url",
    "api_key",
    "backend",
    "timeout",
    "deadline",
    "max_retries",
    "default_headers",
)


class ConnectionFields(ClientLifecycle):
    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("base_url", "api_base")
    )
    """Backend URL (…/v1); BACKEND_URL if not given, else a local llama-server."""
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """Key for keyed backends; BACKEND_API_KEY (or OPENCODE_API_KEY for zen) if not given.
    Never serialized: a restored object reads the environment again."""
    backend: str = "auto"
    """`auto` (detect), `zen`, `llama-server`, `deepseek` or `openai-compatible`."""
    timeout: float | None = DEFAULT_TIMEOUT
    """Seconds each wait may take: connecting, sending, each read of the answer (so a server
    that keeps sending bytes is never cut off by it). Per attempt; retries start it again."""
    deadline: float | None = None
    """Seconds one request may take whole: every attempt, the waits between them and every
    byte of the answer (a stream's included). None: no bound. BackendTimeoutError past it."""
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: dict[str, str] | None = None

    @field_serializer("base_url")
    def _serialize_base_url(self, url: str | None) -> str | None:
        # Dumps (model_dump, to_json) mask a URL's credentials: give base_url again on load.
        return redacted_url(url)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return repr_args_redacted(super().__repr_args__())

    # Fields (past the connection's) the core client is built from.
    _client_fields: ClassVar[tuple[str, ...]] = ()

    def _model_id(self) -> str | None:
        raise NotImplementedError

    def _session(self) -> str | None:
        return None

    def _resolve(self) -> Settings:
        """Arguments, then the environment; the resolved place and key are written back."""
        settings = resolve_settings(
            base_url=self.base_url,
            api_key=self.api_key,
            model=self._model_id(),
            backend=self.backend,
            timeout=self.timeout,
            deadline=self.deadline,
            max_retries=self.max_retries,
            session_id=self._session(),
            default_headers=self.default_headers,
        )
        self.base_url, self.api_key = settings.base_url, as_secret_str(settings.api_key)
        return settings

    def _settings_key(self) -> tuple[Any, ...]:
        names = (*_CONNECTION, *self._client_fields)
        return (self._model_id(), self._session(), *(getattr(self, n) for n in names))


class ChatFields(ConnectionFields, FallbackRouting, CallKwargs):
    # A change to the routing settings builds a new (routed or plain) client.
    _client_fields: ClassVar[tuple[str, ...]] = (
        "fallbacks",
        "fallback_on_unavailable",
        "fallback_at_once",
        "fallback_on_size",
    )

    session_id: str | None = None
    """Conversation id sent where the backend caches prompts by it (zen); random if not set."""
    reasoning: bool | int | str | None = None
    """Thinking: True/"on", False/"off", a budget in tokens (int), or an effort
    "minimal".."high". Each wire maps it through the backend: the switch to GLM `thinking` and
    llama.cpp `enable_thinking`, a budget to `reasoning_budget_tokens` (llama-server) or Messages
    `thinking.budget_tokens`, an effort to `reasoning_effort` or Responses `reasoning.effort`;
    parts with no field warn (UnsupportedSettingWarning) and are not sent."""
    preserve_thinking: bool | None = None
    """Keep earlier turns' reasoning in the model's context (GLM preserved thinking:
    `clear_thinking: false`); the reasoning goes back complete and in order either way."""
    stream_usage: bool = True
    """Ask for usage at the end of streams."""
    reasoning_open: bool | None = None
    """The prompt ends in an open `<think>` (the template opened it), so a stream starts as
    reasoning. None: llama-server's template says (from the probe's `/props`); elsewhere no."""
    api: Api | None = None
    """The wire: "chat" (chat completions), "responses" (OpenAI Responses) or "messages"
    (Anthropic Messages). Unset: the backend's rule for the model (zen: claude-* Messages,
    gpt-* Responses, the rest chat; other backends chat)."""
    prompt_cache: Literal["auto", "off"] | None = None
    """Prompt caching (also per call). "auto": zenllama adds each wire's cache hints where they
    pay: Anthropic Messages `cache_control` breakpoints after the tools, the system prompt and
    the newest turn of a grown conversation, once the prefix reaches the Claude family's
    minimum cacheable length; Responses `prompt_cache_key` (the session id). "off": none of
    its own (for one-shot long prompts, where a cache write costs 25% more than fresh input
    and is never read). Unset: "auto" (a write pays from its first read; see
    zenllama.core.prompt_cache). Your own `cache_control` / `CachePoint` always go."""
    reasoning_effort: str | None = None
    """Alias of `reasoning=<effort>` ("low", "medium", "high", …), mapped the same way; one
    that contradicts `reasoning` is an InvalidSettingError."""
    thinking_budget: int | None = None
    """Alias of `reasoning=<budget>` (tokens the model may think for), mapped the same way;
    one that contradicts `reasoning` is an InvalidSettingError."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    # llama.cpp request fields (request.LLAMA_CPP_FIELDS), sent only when set.
    top_k: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_penalty: float | None = None
    repeat_last_n: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    mirostat: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    n_probs: int | None = None
    cache_prompt: bool | None = None
    id_slot: int | None = None
    grammar: str | None = None
    json_schema: dict[str, Any] | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    reasoning_format: str | None = None
    samplers: list[str] | None = None
    dry_multiplier: float | None = None
    xtc_probability: float | None = None

    extra_body: dict[str, Any] | None = Field(
        default=None, validation_alias=AliasChoices("extra_body", "additional_kwargs")
    )
    """Any other request fields, merged into the body last (`additional_kwargs` also works)."""

    # The session id was drawn at random, not given: serialized forms leave it out.
    _session_drawn: bool = PrivateAttr(default=False)

    def _session(self) -> str | None:
        if self.session_id is None:  # drawn once, readable as `session_id`
            self.session_id = uuid.uuid4().hex
            self._session_drawn = True
        return self.session_id

    def _build_client(self, settings: Settings) -> AnyChatClient:
        return self._chat_client(settings)  # routed when fallbacks are set

    @property
    def client(self) -> AnyChatClient:
        """The core client (backend profile, server facts, model list), built on first use."""
        client: AnyChatClient = self._core_client()
        return client

    def served_model(self) -> str | None:
        """The model the server reports, for when none was given (tracing, metadata).

        llama-server: its `/props` `model_path`, which the backend probe already read; others:
        the first of `/models`. Asked once per client; None when the server cannot say (asked
        again only after a connection or loading error, which may pass).
        """
        client = self.client
        slot = self._slot  # kept with its client: copies and pickles start without either
        if slot.client is client and slot.served is not None:
            return slot.served[0]
        try:
            if client.profile.props_describe_model:
                model = model_from_props(client.server_props())
            else:
                model = next((m.id for m in client.list_models()), None)
        except (errors.BadRequestError, errors.AuthenticationError, errors.MalformedResponseError):
            model = None  # no /models (404), or none we can read: asking again cannot help
        except ZenLlamaError:
            return None  # not up yet: the call itself will say what is wrong
        if slot.client is client:
            slot.served = (model,)
        return model

    # Routing (core.routing) ----------------------------------------------------------
    fallbacks: list[Fallback] | None = None
    """Backends to route a call to, in order, when this one cannot take it (down, loading, no
    free slot, prompt too long for its window). None: one from BACKEND_FALLBACK_URL /
    BACKEND_FALLBACK_MODEL / BACKEND_FALLBACK_API_KEY if set; [] turns routing off."""
    fallback_on_unavailable: bool = True
    """Connection refused, 503 loading or 429 no free slot send the call to the next backend."""
    fallback_at_once: bool = True
    """Leave a backend at its first refusal, without its own retries."""
    fallback_on_size: bool = True
    """Count the prompt (llama-server's tokenizer) first; too long for the window -> next."""

    @model_validator(mode="after")
    def _check_fallbacks(self) -> Self:
        """A fallback's missing key, and two backends of one name (route=), found at
        construction (cheap: no network), not when the first backend goes down in production."""
        check_fallbacks(
            self.base_url,
            self.backend,
            self._fallbacks(),
            timeout=self.timeout,
            deadline=self.deadline,
            max_retries=self.max_retries,
        )
        return self

    def _chat_client(self, settings: Settings) -> AnyChatClient:
        """The core client: plain, or routed when fallbacks are configured."""
        policy = RoutingPolicy(
            on_unavailable=self.fallback_on_unavailable,
            at_once=self.fallback_at_once,
            on_size=self.fallback_on_size,
        )
        return chat_client(settings, self._fallbacks(), policy)


class EmbeddingsFields(ConnectionFields):
    model: str | None = None
    """Model id; BACKEND_MODEL if not given. llama-server serves its one model without it."""
    dimensions: int | None = None
    """Sent as `dimensions` where given; llama-server ignores it (full-size vectors)."""
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, gt=0)
    """Requests in flight at once on the async path, over every call on this object."""

    _client_fields: ClassVar[tuple[str, ...]] = ("dimensions", "max_concurrency")
    _last_usage: Usage | None = PrivateAttr(default=None)

    def _model_id(self) -> str | None:
        return self.model

    def _batch_size(self) -> int:
        raise NotImplementedError

    def _settings_key(self) -> tuple[Any, ...]:
        return (*super()._settings_key(), self._batch_size())

    def _build_client(self, settings: Settings) -> EmbeddingsClient:
        return EmbeddingsClient(
            settings,
            batch_size=self._batch_size(),
            max_concurrency=self.max_concurrency,
            dimensions=self.dimensions,
        )

    @property
    def client(self) -> EmbeddingsClient:
        """The core client, built on first use from the current settings."""
        client: EmbeddingsClient = self._core_client()
        return client

    @property
    def last_usage(self) -> Usage | None:
        """Token usage of the last finished call, summed over its requests (None if unreported).

        Neither framework has a place for embeddings usage, so it is kept here."""
        return self._last_usage

    def _vectors_keeping_usage(self, result: EmbeddingsResult) -> list[list[float]]:
        self._last_usage = result.usage
        return result.vectors
