"""The settings every zenllama class takes, declared once (pydantic only, no framework).

Each framework class inherits these next to its framework base: `ConnectionFields` for where
the backend is; `ChatFields` adds the chat request fields and the split of call-time kwargs;
`EmbeddingsFields` the embeddings settings, client and last usage.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, SecretStr

from .backends import Api
from .embeddings import DEFAULT_MAX_CONCURRENCY, EmbeddingsClient, EmbeddingsResult
from .request import LLAMA_CPP_FIELDS
from .results import Usage
from .settings import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Settings, resolve_settings

# Sampling options of a chat request, sent only when set.
OPTION_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "seed",
    "reasoning_effort",
    "thinking_budget",
    *LLAMA_CPP_FIELDS,
)


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

    def _resolve(self, model: str | None, session_id: str | None = None) -> Settings:
        """Arguments, then the environment; the resolved values are written back."""
        settings = resolve_settings(
            base_url=self.base_url,
            api_key=self.api_key,
            model=model,
            backend=self.backend,
            timeout=self.timeout,
            max_retries=self.max_retries,
            session_id=session_id,
            default_headers=self.default_headers,
        )
        self.base_url, self.api_key = settings.base_url, settings.api_key
        return settings


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
    api: Api | None = None
    """The wire: "chat" (chat completions), "responses" (OpenAI Responses) or "messages"
    (Anthropic Messages). Unset: the backend's rule for the model (zen: claude-* Messages,
    gpt-* Responses, the rest chat; other backends chat)."""
    reasoning_effort: str | None = None
    """Reasoning effort ("low", "medium", "high", …): Responses `reasoning.effort`, chat
    completions `reasoning_effort`."""
    thinking_budget: int | None = None
    """Anthropic Messages: tokens the model may think for (turns thinking on)."""

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
            "api": kwargs.pop("api", self.api),
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

    _client: EmbeddingsClient = PrivateAttr()
    _last_usage: Usage | None = PrivateAttr(default=None)

    def _connect(self, model: str | None, batch_size: int) -> None:
        settings = self._resolve(model)
        self.model = settings.model
        self._client = EmbeddingsClient(
            settings,
            batch_size=batch_size,
            max_concurrency=self.max_concurrency,
            dimensions=self.dimensions,
        )

    @property
    def client(self) -> EmbeddingsClient:
        """The shared core client."""
        return self._client

    @property
    def last_usage(self) -> Usage | None:
        """Token usage of the last finished call, summed over its requests (None if unreported).

        Neither framework has a place for embeddings usage, so it is kept here."""
        return self._last_usage

    def _keep(self, result: EmbeddingsResult) -> list[list[float]]:
        self._last_usage = result.usage
        return result.vectors
