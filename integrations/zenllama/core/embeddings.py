"""Embeddings for both frameworks: one routine that batches, sends, decodes and orders.

Texts go to the server as the strings they are (newlines kept; never token ids, no local
tokenizer). Vectors travel as base64 float32 where the server can (far cheaper to decode than
a JSON float list) and as floats otherwise: a server that answers a base64 request
with floats, or refuses it, is asked for floats from then on.

llama-server embeds each input of a request as its own task, so a request may hold any number
of inputs; what it refuses is ONE input longer than its physical batch (`--ubatch-size`, 512 by
default; with mean pooling an input is never split) or its per-slot context. /props reports
neither limit, so the server's own error says it, and `/tokenize` then finds which input it was.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import weakref
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import errors
from .connection import Connection
from .llama_server_errors import Refusal, over_ubatch, refusal
from .results import Usage
from .settings import Settings
from .transport import Transport
from .usage import parse_usage

EMBEDDINGS_PATH = "/embeddings"
# Texts per request. llama-server queues every input as its own task, so a request's size
# costs it nothing, while each request costs the client a round trip; OpenAI's cap is 2048.
# Servers with a small per-request cap (TEI: 32) need `batch_size` set to it.
DEFAULT_BATCH_SIZE = 256
# Requests in flight at once per client (async), across every call sharing the client.
DEFAULT_MAX_CONCURRENCY = 4

START_HINT = (
    "start llama-server with `--embeddings --pooling mean` (or run `zenllama serve "
    "--embeddings`), or point base_url at a server that serves /v1/embeddings"
)
_UBATCH_HINT = (
    "shorten or split that input, or start llama-server with a larger --ubatch-size and "
    "--batch-size (with mean pooling an input must fit one physical batch)"
)
_CTX_HINT = "shorten or split that input, or start llama-server with a larger --ctx-size"


@dataclass(frozen=True)
class EmbeddingsResult:
    vectors: list[list[float]]
    # Summed over the call's requests; None where the server reports none.
    usage: Usage | None


@dataclass(frozen=True)
class _Overflow:
    n_tokens: int | None
    limit: int | None
    hint: str


def decode_base64(value: str) -> list[float]:
    """Little-endian float32, as OpenAI and llama-server send it."""
    try:
        floats = array("f", base64.b64decode(value, validate=True))
    except ValueError as exc:  # binascii.Error, or a length that is not whole floats
        raise errors.MalformedResponseError(f"an embedding is not base64 float32 ({exc})") from None
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tolist()


def _numbers(raw: list[Any], index: int) -> list[float]:
    if not all(type(x) is float or type(x) is int for x in raw):
        raise errors.MalformedResponseError(f"embedding {index} holds something not a number")
    return raw


def parse_embeddings(answer: Any, count: int) -> tuple[list[list[float]], Usage | None, bool]:
    """Vectors in input order (by each item's `index`), usage, and whether floats came back."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else "no"
        raise errors.MalformedResponseError(f"expected {count} embeddings in `data`, got {got}")
    vectors: list[list[float]] = [[]] * count
    filled = [False] * count
    floats = False
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count or filled[index]:
            raise errors.MalformedResponseError(
                f"embedding `index` {index!r} does not fit the input"
            )
        raw = item.get("embedding")
        if isinstance(raw, str):
            vectors[index] = decode_base64(raw)
        elif isinstance(raw, list):
            vectors[index] = _numbers(raw, index)
            floats = True
        else:
            raise errors.MalformedResponseError(f"embedding {index} is {type(raw).__name__}")
        filled[index] = True
    return vectors, parse_usage(answer.get("usage")), floats


def _checked(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not one string")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"input {index} is {type(text).__name__}, not str: zenllama embeds text only"
            )
    return texts


_Part = tuple[list[list[float]], Usage | None]


def _joined(parts: Sequence[_Part]) -> EmbeddingsResult:
    vectors = [vector for part, _ in parts for vector in part]
    return EmbeddingsResult(vectors, _sum_usage([usage for _, usage in parts]))


def _sum_usage(usages: list[Usage | None]) -> Usage | None:
    known = [u for u in usages if u is not None]
    if not known:
        return None
    return Usage(
        input_tokens=sum(u.input_tokens for u in known),
        output_tokens=sum(u.output_tokens for u in known),
        total_tokens=sum(u.total_tokens for u in known),
    )


def _overflow(exc: errors.BackendHTTPError) -> _Overflow | None:
    # An input over llama-server's physical batch (a 500), or over its slot context (a
    # ContextOverflowError already).
    found = over_ubatch(exc.message)
    if found:
        return _Overflow(*found, _UBATCH_HINT)
    if isinstance(exc, errors.ContextOverflowError):
        return _Overflow(exc.n_prompt_tokens, exc.n_ctx, _CTX_HINT)
    return None


def _not_enabled(exc: errors.BackendHTTPError) -> errors.EmbeddingsNotEnabledError | None:
    # llama-server without --embeddings or with --pooling none; or no such endpoint at all.
    if refusal(exc.status, exc.message) in (Refusal.EMBEDDINGS_OFF, Refusal.NO_SUCH_ENDPOINT):
        return errors.EmbeddingsNotEnabledError(exc.status, exc.message, hint=START_HINT)
    return None


def _too_long(
    exc: errors.BackendHTTPError,
    overflow: _Overflow,
    index: int | None,
    start: int,
    batch: list[str],
) -> errors.InputTooLongError:
    if index is None:
        which = f"one of inputs {start}..{start + len(batch) - 1}"
    else:
        # The text too: a framework may hand over a slice of the user's list.
        which = f"input {index} ({batch[index - start][:40]!r}…)"
    return errors.InputTooLongError(
        exc.status,
        f"{which} has {overflow.n_tokens} tokens; the server embeds at most "
        f"{overflow.limit} per input (server said: {exc.message})",
        index=index,
        n_tokens=overflow.n_tokens,
        limit=overflow.limit,
        hint=overflow.hint,
    )


def _may_refuse_base64(exc: errors.BackendHTTPError, use_base64: bool) -> bool:
    # Only a plain 400/422 could be "no base64 here"; the float retry settles it.
    return use_base64 and type(exc) is errors.BadRequestError and exc.status in (400, 422)


class EmbeddingsClient:
    """Embeds lists of texts on one backend; framework classes hold one and return its vectors."""

    def __init__(
        self,
        settings: Settings,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        dimensions: int | None = None,
    ) -> None:
        if batch_size < 1 or max_concurrency < 1:
            raise ValueError("batch_size and max_concurrency must be 1 or more")
        self.settings = settings
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.dimensions = dimensions
        # Backend detection, /props, /tokenize and the transport: shared, not redone.
        self._connection = Connection(settings)
        self._base64 = True  # until the server shows it does not do base64
        # One semaphore per event loop bounds every call on this client, not each call alone.
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    def _body(self, batch: list[str], use_base64: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"input": batch}
        if self.settings.model:
            body["model"] = self.settings.model
        if use_base64:
            body["encoding_format"] = "base64"
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return body

    def _batches(self, texts: list[str]) -> list[tuple[int, list[str]]]:
        size = self.batch_size
        return [(start, texts[start : start + size]) for start in range(0, len(texts), size)]

    def _accept(self, answer: Any, count: int, use_base64: bool) -> _Part:
        vectors, usage, floats = parse_embeddings(answer, count)
        if use_base64 and floats:
            self._base64 = False  # asked for base64, got floats: stop asking
        return vectors, usage

    # Sync ---------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> EmbeddingsResult:
        texts = _checked(texts)
        if not texts:
            return EmbeddingsResult([], None)
        transport = self._connection.transport
        parts = [
            self._send(transport, batch, start, self._base64)
            for start, batch in self._batches(texts)
        ]
        return _joined(parts)

    def _send(self, transport: Transport, batch: list[str], start: int, use_base64: bool) -> _Part:
        try:
            answer = transport.post(EMBEDDINGS_PATH, self._body(batch, use_base64))
        except errors.BackendHTTPError as exc:
            overflow = _overflow(exc)
            if overflow is not None:
                index = self._locate(batch, start, overflow.limit)
                raise _too_long(exc, overflow, index, start, batch) from exc
            not_enabled = _not_enabled(exc)
            if not_enabled is not None:
                raise not_enabled from exc
            if not _may_refuse_base64(exc, use_base64):
                raise
            part = self._send(transport, batch, start, use_base64=False)
            self._base64 = False  # floats worked where base64 was refused
            return part
        return self._accept(answer, len(batch), use_base64)

    def _locate(self, batch: list[str], start: int, limit: int | None) -> int | None:
        if len(batch) == 1:
            return start
        if limit is None:
            return None
        for offset, text in enumerate(batch):
            try:
                # add_special: count BOS/EOS as the embeddings endpoint does.
                tokens = self._connection.tokenize(text, add_special=True)
            except (errors.BackendHTTPError, errors.MalformedResponseError):
                return None  # no /tokenize here: the error names the batch instead
            if len(tokens) > limit:
                return start + offset
        return None

    # Async --------------------------------------------------------------------------
    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.max_concurrency)
        return semaphore

    async def aembed(self, texts: Sequence[str]) -> EmbeddingsResult:
        texts = _checked(texts)
        if not texts:
            return EmbeddingsResult([], None)
        transport = await self._connection.atransport()
        semaphore = self._semaphore()

        async def one(start: int, batch: list[str]) -> _Part:
            async with semaphore:
                return await self._asend(transport, batch, start, self._base64)

        parts = await asyncio.gather(*(one(start, batch) for start, batch in self._batches(texts)))
        return _joined(parts)

    async def _asend(
        self, transport: Transport, batch: list[str], start: int, use_base64: bool
    ) -> _Part:
        try:
            answer = await transport.apost(EMBEDDINGS_PATH, self._body(batch, use_base64))
        except errors.BackendHTTPError as exc:
            overflow = _overflow(exc)
            if overflow is not None:
                index = await self._alocate(batch, start, overflow.limit)
                raise _too_long(exc, overflow, index, start, batch) from exc
            not_enabled = _not_enabled(exc)
            if not_enabled is not None:
                raise not_enabled from exc
            if not _may_refuse_base64(exc, use_base64):
                raise
            part = await self._asend(transport, batch, start, use_base64=False)
            self._base64 = False
            return part
        return self._accept(answer, len(batch), use_base64)

    async def _alocate(self, batch: list[str], start: int, limit: int | None) -> int | None:
        if len(batch) == 1:
            return start
        if limit is None:
            return None
        for offset, text in enumerate(batch):
            try:
                tokens = await self._connection.atokenize(text, add_special=True)
            except (errors.BackendHTTPError, errors.MalformedResponseError):
                return None
            if len(tokens) > limit:
                return start + offset
        return None

    def close(self) -> None:
        self._connection.close()
