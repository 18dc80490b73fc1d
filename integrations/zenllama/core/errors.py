"""One typed hierarchy for what a backend can do wrong, so users catch what they can act on."""

from __future__ import annotations

import functools
import re
import threading
from urllib.parse import unquote, urlsplit, urlunsplit

# How much of a non-JSON error body (an HTML error page from a proxy) a message quotes.
_QUOTE = 200


# Cached: LangChain reads every call's `_identifying_params`, which show the URL redacted.
@functools.lru_cache(maxsize=64)
def redact_url(url: str) -> str:
    """The URL with its user info and query values masked (a token may be in either).

    `url` and error messages say where the backend is, never with the credentials some
    gateways take in the URL (`https://user:key@host/v1`, `…/v1?api-key=…`).
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = MASK + "@" + netloc.rpartition("@")[2]
        query = re.sub(r"=[^&]*", "=" + MASK, parts.query)
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        return "<unparseable URL>"


MASK = "***"


def _credentials(url: str) -> list[str]:
    """What redact_url masks: the user info's parts and the query's values, as written."""
    try:
        parts = urlsplit(url)
        user = [parts.username or "", parts.password or ""]
    except ValueError:
        return []
    return user + [field.partition("=")[2] for field in parts.query.split("&")]


def is_masked_url(url: str) -> bool:
    """A URL as redact_url leaves one that had credentials: from a pickle or a dump."""
    return MASK in _credentials(url)


def url_secrets(url: str) -> list[str]:
    """The credentials in a URL, as written and decoded."""
    found = _credentials(url)
    return [*found, *map(unquote, found)]


# Every secret zenllama was configured with (keys, a URL's credentials), process-wide: a
# server may quote one in its error text (a fallback's too), and no message shows it.
# Shorter values ("k" in a test) are no secret, and masking them would garble messages.
_SHORTEST_SECRET = 6
_secrets: tuple[str, ...] = ()  # longest first: one secret may contain another
_secrets_lock = threading.Lock()


def register_secrets(values: list[str]) -> None:
    global _secrets
    new = {v for v in values if len(v) >= _SHORTEST_SECRET}.difference(_secrets)
    if new:
        with _secrets_lock:
            _secrets = tuple(sorted({*_secrets, *new}, key=len, reverse=True))


def mask_secrets(text: str) -> str:
    """`text` (a server's words, a message quoting them) with every configured secret masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redacted(text: str, url: str) -> str:
    return text.replace(url, redact_url(url)) if url else text


def shorten(text: str) -> str:
    """A readable start of a body that is not JSON: an HTML page's title, else its first text."""
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title is None and re.search(r"<(html|body|!doctype)", text[:500], re.IGNORECASE):
        text = re.sub(r"<[^>]*>", " ", text)
    elif title is not None:
        text = title[1]
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"


class ZenLlamaError(Exception):
    """Base of every error zenllama raises on purpose; its message never shows a configured
    key or URL credential, even where it quotes a server that did."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


class BackendConnectionError(ZenLlamaError, ConnectionError):
    """Nothing answered at the backend URL (refused, DNS, no route)."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = redact_url(url)
        hint = (
            "Is llama-server running there? Start the local default with `zenllama serve`, "
            "or point BACKEND_URL at a running server."
        )
        detail = _redacted(detail, url) or "connection failed"
        super().__init__(f"Could not connect to {self.url}: {detail}. {hint}")


class BackendTimeoutError(ZenLlamaError, TimeoutError):
    """A wait took longer than `timeout` seconds (connecting, or one read of the answer), or
    a whole request longer than its `deadline` (backend detection included)."""

    def __init__(self, url: str, timeout: float | None, *, deadline: float | None = None) -> None:
        self.url = redact_url(url)
        self.timeout = timeout
        self.deadline = deadline
        if deadline is not None:
            message = (
                f"{self.url} did not finish within the deadline of {deadline} s (every attempt "
                "and the whole answer). Raise `deadline`, or ask for fewer tokens."
            )
        else:
            message = (
                f"{self.url} did not answer within {timeout} s (`timeout` bounds each wait: "
                "connecting, each read). Raise `timeout`, or ask for fewer tokens."
            )
        super().__init__(message)


class IncompleteResponseError(ZenLlamaError):
    """The connection broke after the request went out: the answer is cut off or missing."""

    def __init__(self, detail: str = "", *, url: str = "") -> None:
        self.url = redact_url(url) if url else ""
        where = f" from {self.url}" if url else ""
        super().__init__(
            f"The answer{where} was cut off before it was complete"
            + (f" ({_redacted(detail, url)})" if detail else "")
            + ". The server may have crashed or been restarted; retry the call."
        )


class MalformedResponseError(ZenLlamaError, ValueError):
    """The server answered with something chat completions never sends (wrong JSON shape)."""

    def __init__(self, what: str) -> None:
        self.what = mask_secrets(what)
        super().__init__(
            f"The server's answer is malformed: {what}. Check that base_url points at an "
            "OpenAI-compatible /v1 endpoint."
        )


class BackendHTTPError(ZenLlamaError):
    """An HTTP error answer; `status` and the server's own `message` are kept."""

    def __init__(self, status: int, message: str, *, hint: str = "") -> None:
        self.status = status
        self.message = mask_secrets(message)
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


class ServerOverloadedError(ServerLoadingError):
    """529 / `overloaded_error` (Anthropic's API, also as a stream's error event): the provider
    is overloaded for now. Retried, and routed to the next backend, like a 503."""


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
        self,
        status: int,
        message: str,
        *,
        n_ctx: int | None,
        n_prompt_tokens: int | None,
        hint: str | None = None,
    ):
        self.n_ctx = n_ctx
        self.n_prompt_tokens = n_prompt_tokens
        super().__init__(
            status,
            message,
            hint=hint
            or f"prompt has {n_prompt_tokens} tokens, context is {n_ctx}: shorten the input "
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


class IncompleteStreamError(IncompleteResponseError):
    """The stream ended without a finish reason or `[DONE]`: the answer is cut off."""

    def __init__(self, detail: str = "") -> None:
        self.url = ""
        ZenLlamaError.__init__(
            self,
            "The stream ended before the server finished (no finish_reason or [DONE])"
            + (f": {detail}" if detail else "")
            + ". The server may have crashed or been restarted; retry the call.",
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


class CacheBreakpointsDroppedWarning(UserWarning):
    """More than the 4 `cache_control` breakpoints Anthropic takes per request were given: the
    oldest went unmarked (the API would refuse the request with a 400)."""


class InvalidSettingError(ZenLlamaError, ValueError):
    """A setting or argument zenllama cannot use, or two settings together that no request can
    carry (reasoning=False with a thinking budget); the message says what to pass instead."""


class TruncatedOutputError(ZenLlamaError, ValueError):
    """A structured answer (json_schema, json_mode, a forced tool call) was cut off by the
    token limit (`finish_reason` "length"): what came is incomplete, so it is not a result.

    `text` is what the model wrote before the cut; `completion_tokens` what it cost, if known.
    """

    def __init__(self, text: str = "", completion_tokens: int | None = None) -> None:
        self.text = text
        self.completion_tokens = completion_tokens
        spent = f" after {completion_tokens} tokens" if completion_tokens is not None else ""
        super().__init__(
            f"The structured answer was cut off by the token limit{spent} "
            "(finish_reason='length'), so it is incomplete: raise max_tokens (or leave it unset)."
        )


def check_finished(finish_reason: str | None, text: str, completion_tokens: int | None) -> None:
    """Raises TruncatedOutputError where a structured answer stopped at the token limit."""
    if finish_reason == "length":
        raise TruncatedOutputError(text, completion_tokens)


class FeatureNotSupportedError(ZenLlamaError):
    """A llama.cpp feature (tokens, infill, slots, router) asked of a backend that lacks it."""

    def __init__(self, feature: str, backend: str, hint: str = "", *, reason: str = "") -> None:
        self.feature = feature
        self.backend = backend
        reason = reason or f"{feature} needs llama-server; the {backend} backend does not offer it"
        super().__init__(reason + (f" — {hint}" if hint else ""))


class SlotFileNotFoundError(BadRequestError):
    """`restore_slot` of a file the server's slot folder does not have (or not a slot file
    this model saved: llama-server cannot tell the two apart). `filename` is the name asked."""

    def __init__(self, status: int, message: str, filename: str) -> None:
        self.filename = filename
        super().__init__(
            status,
            f"no such slot file {filename!r} in the server's --slot-save-path folder",
            hint=f"save it first (save_slot(slot, {filename!r})); a file saved by another "
            f"model cannot be restored either (the server said: {message})",
        )


class UnknownModelError(BadRequestError):
    """A router (llama-server --models-dir) was asked for a model it does not have, or for none.

    `model`: the one asked for ("" when the request named none); `available`: the models it has
    (None if listing them failed too)."""

    def __init__(self, status: int, message: str, model: str, available: list[str] | None) -> None:
        self.model = model
        self.available = available
        listed = ", ".join(available) if available else "see list_models()"
        asked = f"{model!r} is not served here" if model else "a router needs model="
        super().__init__(status, message, hint=f"{asked}; it has: {listed}")

    def listing(self, available: list[str]) -> UnknownModelError:
        return UnknownModelError(self.status, self.message, self.model, available)
