"""The settings every zenllama class takes, declared once (pydantic only, no framework).

Each framework class inherits these next to its framework base: `ConnectionFields` for where
the backend is; `ChatFields` adds the chat request fields and the split of call-time kwargs;
`EmbeddingsFields` the embeddings settings, client and last usage.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    model_validator,
)
from typing_extensions import Self

from . import errors
from .backends import Api, profile_named
from .chat import ChatClient
from .embeddings import DEFAULT_MAX_CONCURRENCY, EmbeddingsClient, EmbeddingsResult
from .errors import ZenLlamaError, redact_url
from .models import model_from_props
from .request import LLAMA_CPP_FIELDS, ROUTE_OPTION, ChatRequest, Message
from .results import Usage
from .routing import (
    AnyChatClient,
    Backend,
    RoutedChatClient,
    RoutingPolicy,
    check_names,
    default_name,
)
from .settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Settings,
    env_value,
    resolve_settings,
)

# Sampling options of a chat request, sent only when set.
OPTION_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "seed",
    *LLAMA_CPP_FIELDS,
)

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

ClientT = TypeVar("ClientT", ChatClient, EmbeddingsClient)
_BUILDING = threading.Lock()  # process-wide: clients are built once per object, rarely


def _redacted_url(url: str | None) -> str | None:
    return redact_url(url) if url else url


def _repr_args_redacted(args: Iterable[tuple[str | None, Any]]) -> Iterator[tuple[str | None, Any]]:
    """Framework reprs without a URL's credentials (some gateways take a key in the URL)."""
    for name, value in args:
        yield name, (_redacted_url(value) if name == "base_url" else value)


def _without_secrets(state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic pickle state without the key, with the base URL's credentials masked."""
    fields = state["__dict__"]
    state["__dict__"] = {**fields, "api_key": None, "base_url": _redacted_url(fields["base_url"])}
    return state


class _ClientSlot(Generic[ClientT]):
    """The core client an object built, with the settings it was built from and its owner.

    Copies and pickles of the object start empty (a live client is neither copied nor pickled);
    a shallow `model_copy` shares the slot, so the owner's id tells whose client it is.
    """

    __slots__ = ("client", "key", "owner", "served")

    def __init__(
        self, client: ClientT | None = None, key: tuple[Any, ...] = (), owner: int = 0
    ) -> None:
        self.client: ClientT | None = client
        self.key = key
        self.owner = owner
        # The model the client's server reported (chat), in a tuple since None is an answer.
        self.served: tuple[str | None] | None = None

    def __copy__(self) -> _ClientSlot[ClientT]:
        return _ClientSlot()

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientSlot[ClientT]:
        return _ClientSlot()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return _ClientSlot, ()


class ConnectionFields(BaseModel):
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
        return _redacted_url(url)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return _repr_args_redacted(super().__repr_args__())

    # Fields (past the connection's) the core client is built from.
    _client_fields: ClassVar[tuple[str, ...]] = ()
    _slot: _ClientSlot[Any] = PrivateAttr(default_factory=_ClientSlot)

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
        self.base_url, self.api_key = settings.base_url, settings.api_key
        return settings

    def _settings_key(self) -> tuple[Any, ...]:
        names = (*_CONNECTION, *self._client_fields)
        return (self._model_id(), self._session(), *(getattr(self, n) for n in names))

    def _build_client(self, settings: Settings) -> Any:
        raise NotImplementedError

    def _core_client(self) -> Any:
        """This object's core client, built on first use from its current settings.

        Built again when a setting changed (`llm.base_url = …`); a copy (`model_copy`) builds
        its own from its own settings. Construction never connects.
        """
        slot = self._slot
        if slot.owner == id(self) and slot.key == self._settings_key():
            return slot.client
        with _BUILDING:
            slot = self._slot
            if slot.owner != id(self) or slot.key != self._settings_key():
                client = self._build_client(self._resolve())
                # A new slot, never the old one: a shallow copy may share that.
                slot = self._slot = _ClientSlot(client, self._settings_key(), id(self))
        return slot.client

    def _release(self) -> Any:
        """Hands back the client this object built (None if none) and forgets it."""
        with _BUILDING:
            slot = self._slot
            if slot.owner != id(self) or slot.client is None:
                return None
            self._slot = _ClientSlot()
            return slot.client

    def close(self) -> None:
        """Lets go of this object's client. The HTTP clients under it are shared per settings
        and live for the process (never closed here); a later call builds a new client."""
        client = self._release()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client = self._release()
        if client is None:
            return
        aclose = getattr(client, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __getstate__(self) -> dict[Any, Any]:
        """Pickles carry neither a live client (the slot pickles empty) nor the key, nor the
        credentials in base_url (masked): a restored object reads the key from the environment
        again, as a new one would, and the URL's credentials from BACKEND_URL when that is
        the same URL (resolve_settings). Fallbacks pickle the same way (Fallback)."""
        return _without_secrets(super().__getstate__())


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
        return _repr_args_redacted(super().__repr_args__())

    def __getstate__(self) -> dict[Any, Any]:
        """Without the key and the URL's credentials; a restored fallback reads them from
        BACKEND_FALLBACK_API_KEY (or its backend's variable) and BACKEND_FALLBACK_URL."""
        return _without_secrets(super().__getstate__())


class ChatFields(ConnectionFields):
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
        names = [self._fallback_backend(f, session_id=None).name for f in self._fallbacks()]
        if names:
            first = resolve_settings(base_url=self.base_url, backend=self.backend)
            check_names([default_name(first), *names])
        return self

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

    def _chat_client(self, settings: Settings) -> AnyChatClient:
        """The core client: plain, or routed when fallbacks are configured."""
        fallbacks = self._fallbacks()
        if not fallbacks:
            return ChatClient(settings)
        backends = [Backend(default_name(settings), settings)]
        # One conversation, one session id (zen's prompt cache).
        backends += [self._fallback_backend(f, settings.session_id) for f in fallbacks]
        policy = RoutingPolicy(
            on_unavailable=self.fallback_on_unavailable,
            at_once=self.fallback_at_once,
            on_size=self.fallback_on_size,
        )
        return RoutedChatClient(backends, policy)

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

    def options(self) -> dict[str, Any]:
        return {name: value for name in OPTION_FIELDS if (value := getattr(self, name)) is not None}

    def chat_request(
        self,
        messages: Sequence[Message],
        kwargs: Mapping[str, Any],
        stop: list[str] | None = None,
    ) -> ChatRequest:
        """The call's one typed request: these settings, overridden by call-time kwargs; kwargs
        that name no part of the request are request fields (options)."""
        kwargs = dict(kwargs)
        route = kwargs.pop(ROUTE_OPTION, None)
        if route is not None and not self._fallbacks():
            raise errors.InvalidSettingError(
                f"route={route!r} needs fallbacks: pass fallbacks=[...] or set BACKEND_FALLBACK_URL"
            )
        tools = kwargs.pop("tools", None) or ()
        tool_choice = kwargs.pop("tool_choice", None)
        parallel_tool_calls = kwargs.pop("parallel_tool_calls", None)
        reasoning = kwargs.pop("reasoning", self.reasoning)
        reasoning_effort = kwargs.pop("reasoning_effort", self.reasoning_effort)
        thinking_budget = kwargs.pop("thinking_budget", self.thinking_budget)
        preserve_thinking = kwargs.pop("preserve_thinking", self.preserve_thinking)
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        reasoning_open = kwargs.pop("reasoning_open", self.reasoning_open)
        api = kwargs.pop("api", self.api)
        extra_body = {**(self.extra_body or {}), **(kwargs.pop("extra_body", None) or {})}
        options = self.options()
        if stop is not None:
            options["stop"] = stop
        if not options.get("stop", True):  # LangChain passes stop=[] for "none"
            del options["stop"]
        options.update(kwargs)
        return ChatRequest(
            messages,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=parallel_tool_calls,
            reasoning=reasoning,
            reasoning_effort=reasoning_effort,
            thinking_budget=thinking_budget,
            preserve_thinking=preserve_thinking,
            stream_usage=stream_usage,
            reasoning_open=reasoning_open,
            api=api,
            options=options,
            extra_body=extra_body,
            route=route,
        )


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
