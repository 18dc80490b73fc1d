"""One typed hierarchy for what a backend can do wrong, so users catch what they can act on."""

from __future__ import annotations


class ZenLlamaError(Exception):
    """Base of every error zenllama raises on purpose."""


class BackendConnectionError(ZenLlamaError, ConnectionError):
    """Nothing answered at the backend URL (refused, reset, DNS)."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        hint = (
            "Is llama-server running there? Start the local default with `zenllama serve`, "
            "or point BACKEND_URL at a running server."
        )
        super().__init__(f"Could not connect to {url}: {detail or 'connection failed'}. {hint}")


class BackendTimeoutError(ZenLlamaError, TimeoutError):
    """The backend took longer than `timeout` seconds."""

    def __init__(self, url: str, timeout: float | None) -> None:
        self.url = url
        self.timeout = timeout
        super().__init__(
            f"{url} did not answer within {timeout} s. Raise `timeout`, or ask for fewer tokens."
        )


class BackendHTTPError(ZenLlamaError):
    """An HTTP error answer; `status` and the server's own `message` are kept."""

    def __init__(self, status: int, message: str, *, hint: str = "") -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}" + (f" — {hint}" if hint else ""))


class AuthenticationError(BackendHTTPError):
    """401/403: the key is missing, wrong, or not allowed this model."""


class MissingAPIKeyError(AuthenticationError):
    """A keyed backend (zen) was asked to chat with no key set: raised before anything is sent.

    `status` is 401, what the backend would have answered.
    """

    def __init__(self, backend: str, env_names: tuple[str, ...]) -> None:
        super().__init__(
            401,
            f"no API key is set for {backend}; the request was not sent",
            hint=f"set {' or '.join(env_names)}, or pass api_key",
        )


class RateLimitError(BackendHTTPError):
    """429: rate limited, or (llama-server) no free slot; retried with backoff first."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(
            status,
            message,
            hint="wait and retry, or raise `max_retries`; a llama-server answers this when all "
            "its slots are busy (start it with more --parallel slots)",
        )


class ServerLoadingError(BackendHTTPError):
    """503: the server is up but still loading its model (or unavailable); retried first."""


class ServerError(BackendHTTPError):
    """5xx other than 503, after retries."""


class BadRequestError(BackendHTTPError, ValueError):
    """4xx the server rejected as invalid: its message says why."""


class ModelNotSupportedError(BadRequestError):
    """The gateway serves this model, but not on the API asked for (set `api`), or only in a
    format zenllama does not speak (zen's Gemini models)."""


class ContextOverflowError(BadRequestError):
    """The prompt does not fit the server's context window."""

    def __init__(
        self, status: int, message: str, *, n_ctx: int | None, n_prompt_tokens: int | None
    ):
        self.n_ctx = n_ctx
        self.n_prompt_tokens = n_prompt_tokens
        super().__init__(
            status,
            message,
            hint=f"prompt has {n_prompt_tokens} tokens, context is {n_ctx}: shorten the input "
            "or start llama-server with a larger --ctx-size",
        )


class EmbeddingsNotEnabledError(BadRequestError):
    """The server does not serve OpenAI embeddings as started."""


class InputTooLongError(ContextOverflowError):
    """One embeddings input has more tokens than the server embeds at once.

    `index` is that input's position in the list handed to the embeddings call (LlamaIndex
    hands over `embed_batch_size` texts at a time), None where the server cannot tell which;
    the message quotes the text's start. `n_tokens` is its size, `limit` the most per input.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        index: int | None,
        n_tokens: int | None,
        limit: int | None,
        hint: str,
    ) -> None:
        self.index = index
        self.n_tokens = n_tokens
        self.limit = limit
        self.n_ctx = limit
        self.n_prompt_tokens = n_tokens
        # The parent's hint is about chat prompts; this one names the input and the knob.
        BadRequestError.__init__(self, status, message, hint=hint)


class StreamError(ZenLlamaError):
    """The server sent an error event in the middle of a stream."""

    def __init__(self, message: str, payload: object = None) -> None:
        self.payload = payload
        super().__init__(f"The stream was aborted by the server: {message}")


class IncompleteStreamError(ZenLlamaError):
    """The stream ended without a finish reason or `[DONE]`: the answer is cut off."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "The stream ended before the server finished (no finish_reason or [DONE])"
            + (f": {detail}" if detail else "")
            + ". The server may have crashed or been restarted; retry the call."
        )


class InvalidToolCallError(ZenLlamaError, ValueError):
    """A tool call whose arguments are not a JSON object."""

    def __init__(self, name: str | None, arguments: str, error: str) -> None:
        self.name = name
        self.arguments = arguments
        self.error = error
        super().__init__(f"Tool call {name!r} has invalid arguments {arguments!r}: {error}")


class ToolChoiceDowngradedWarning(UserWarning):
    """The model accepts only tool_choice="auto", so the choice asked for was sent as "auto".

    Make it an error with `warnings.simplefilter("error", ToolChoiceDowngradedWarning)`.
    """


class UnsupportedSettingWarning(UserWarning):
    """A setting (reasoning, preserve_thinking) this backend has no request field for."""
