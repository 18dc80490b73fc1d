"""The settings every zenllama class takes, declared once (pydantic only, no framework).

Each framework class inherits these next to its framework base: `ConnectionFields` for where
the backend is; `ChatFields` adds the chat request fields and the split of call-time kwargs;
`EmbeddingsFields` the embeddings settings, client and last usage.
"""

from __future__ import annotations

import threading
import uuid
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, SecretStr
from typing_extensions import Self

from .chat import ChatClient
from .embeddings import DEFAULT_MAX_CONCURRENCY, EmbeddingsClient, EmbeddingsResult
from .errors import ZenLlamaError
from .models import model_from_props
from .request import LLAMA_CPP_FIELDS
from .results import Usage
from .settings import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Settings, resolve_settings

# Sampling options of a chat request, sent only when set.
OPTION_FIELDS = ("temperature", "max_tokens", "top_p", "stop", "seed", *LLAMA_CPP_FIELDS)

# Fields every core client is built from; a change to one builds a new client.
_CONNECTION = ("base_url", "api_key", "backend", "timeout", "max_retries", "default_headers")

ClientT = TypeVar("ClientT", ChatClient, EmbeddingsClient)
_BUILDING = threading.Lock()  # process-wide: clients are built once per object, rarely


class _ClientSlot(Generic[ClientT]):
    """The core client an object built, with the settings it was built from and its owner.

    Copies and pickles of the object start empty (a live client is neither copied nor pickled);
    a shallow `model_copy` shares the slot, so the owner's id tells whose client it is.
    """

    __slots__ = ("client", "key", "owner")

    def __init__(
        self, client: ClientT | None = None, key: tuple[Any, ...] = (), owner: int = 0
    ) -> None:
        self.client: ClientT | None = client
        self.key = key
        self.owner = owner

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
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: dict[str, str] | None = None

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
        """Closes the connections this object opened; a later call opens new ones."""
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
        """Pickles carry neither a live client (the slot pickles empty) nor the key: a restored
        object reads the key from the environment again, as a new one would."""
        state: dict[Any, Any] = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        return state


class ChatFields(ConnectionFields):
    session_id: str | None = None
    """Conversation id sent where the backend caches prompts by it (zen); random if not set."""
    reasoning: bool | None = None
    """Turn the model's thinking on or off (GLM `thinking`, llama.cpp `enable_thinking`)."""
    preserve_thinking: bool | None = None
    """Keep earlier turns' reasoning in the model's context (GLM preserved thinking:
    `clear_thinking: false`); the reasoning goes back complete and in order either way."""
    stream_usage: bool = True
    """Ask for usage at the end of streams."""
    reasoning_open: bool | None = None
    """The prompt ends in an open `<think>` (the template opened it), so a stream starts as
    reasoning. None: llama-server's template says (from the probe's `/props`); elsewhere no."""

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

    def _build_client(self, settings: Settings) -> ChatClient:
        return ChatClient(settings)

    @property
    def client(self) -> ChatClient:
        """The core client (backend profile, server facts, model list), built on first use."""
        client: ChatClient = self._core_client()
        return client

    # (the client asked, the model it reported)
    _served: tuple[ChatClient, str | None] | None = PrivateAttr(default=None)

    def served_model(self) -> str | None:
        """The model the server reports, for when none was given (tracing, metadata).

        llama-server: its `/props` `model_path`, which the backend probe already read; others:
        the first of `/models`. Asked once per client; None while the server cannot say.
        """
        client = self.client
        known = self._served
        if known is not None and known[0] is client:
            return known[1]
        try:
            if client.profile.name == "llama-server":
                model = model_from_props(client.server_props())
            else:
                model = next((m.id for m in client.list_models()), None)
        except ZenLlamaError:
            return None  # not up yet: the call itself will say what is wrong
        self._served = (client, model)
        return model

    def options(self) -> dict[str, Any]:
        return {name: value for name in OPTION_FIELDS if (value := getattr(self, name)) is not None}

    def request_parts(
        self, kwargs: dict[str, Any], stop: list[str] | None = None
    ) -> dict[str, Any]:
        """Splits call-time kwargs into the core's named parts; the rest are request fields."""
        kwargs = dict(kwargs)
        parts: dict[str, Any] = {
            "tools": kwargs.pop("tools", None) or (),
            "tool_choice": kwargs.pop("tool_choice", None),
            "parallel_tool_calls": kwargs.pop("parallel_tool_calls", None),
            "reasoning": kwargs.pop("reasoning", self.reasoning),
            "preserve_thinking": kwargs.pop("preserve_thinking", self.preserve_thinking),
            "stream_usage": kwargs.pop("stream_usage", self.stream_usage),
            "reasoning_open": kwargs.pop("reasoning_open", self.reasoning_open),
            "extra_body": {**(self.extra_body or {}), **(kwargs.pop("extra_body", None) or {})},
        }
        options = self.options()
        if stop is not None:
            options["stop"] = stop
        if not options.get("stop", True):  # LangChain passes stop=[] for "none"
            del options["stop"]
        options.update(kwargs)
        parts["options"] = options
        return parts


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

    def _keep(self, result: EmbeddingsResult) -> list[list[float]]:
        self._last_usage = result.usage
        return result.vectors
