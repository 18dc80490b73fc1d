"""llama-server's own endpoints beside chat: exact token counts, infill, slot KV caches, router.

One `LlamaCpp` per `ChatClient` (`client.llama_cpp`), over its `Connection`. Every call first
checks that the backend is llama-server and raises `FeatureNotSupportedError` otherwise: a hosted
backend has no /tokenize, and guessing a tokenizer (or downloading one) would give counts nobody
can trust.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import prompt_size
from .connection import Connection
from .errors import (
    BackendHTTPError,
    FeatureNotSupportedError,
    IncompleteStreamError,
    InvalidSettingError,
    SlotFileNotFoundError,
    UnknownModelError,
)
from .llama_server_errors import Refusal, refusal
from .request import ChatRequest
from .wires import chat_completions
from .wires.answer import raise_error, sse_event, whole_body

V = TypeVar("V")

# Entries kept per client: enough for a splitter or memory buffer re-counting the same chunks.
CACHE_SIZE = 2048

TOKENS_HINT = (
    "exact token counts need llama-server's /tokenize; on this backend use the documented "
    "estimate (get_num_tokens*) or pass your own tokenizer"
)


class BoundedCache(Generic[V]):
    """A thread-safe LRU map; two threads missing the same key both compute it (harmless)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


@dataclass(frozen=True)
class InfillResult:
    """What /infill answered: the middle, plus llama.cpp's counts and timings."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    stop_type: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _infill_result(data: Any) -> InfillResult:
    data = data if isinstance(data, dict) else {}
    return InfillResult(
        text=str(data.get("content") or ""),
        prompt_tokens=data.get("tokens_evaluated"),
        completion_tokens=data.get("tokens_predicted"),
        stop_type=data.get("stop_type"),
        timings=dict(data.get("timings") or {}),
        raw=data,
    )


@dataclass(frozen=True)
class InfillDelta:
    """A piece of a streamed infill; the last one (`text` "") carries the whole result."""

    text: str
    result: InfillResult | None = None


class _InfillStream:
    """/infill's SSE events, llama.cpp's own shape: `content` pieces, no `[DONE]`; the last
    event says `stop: true` and carries the counts and timings."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._stray: list[str] = []
        self._last: dict[str, Any] | None = None

    def feed(self, line: str) -> InfillDelta | None:
        data = sse_event(line, self._stray)
        if data is None:
            return None
        if data.get("error") is not None:
            raise_error(data, "llama-server")
        text = str(data.get("content") or "")
        if text:
            self._pieces.append(text)
        if data.get("stop"):
            self._last = data
        return InfillDelta(text) if text else None

    def finish(self) -> InfillDelta:
        if self._last is None:
            if not self._stray:
                raise IncompleteStreamError("no event said stop")
            # A server that ignored `stream` and sent the whole answer.
            return InfillDelta("", _infill_result(whole_body(self._stray)))
        whole = {**self._last, "content": "".join(self._pieces)}
        return InfillDelta("", _infill_result(whole))


_FIM_HINT = "serve a code model with fill-in-the-middle tokens (e.g. Qwen2.5-Coder)"
_SLOTS_HINT = "start llama-server with --slot-save-path DIR (`zenllama serve --slot-save DIR`)"


def _typed(exc: BackendHTTPError, feature: str, filename: str = "") -> Exception:
    """llama-server's refusals of its own endpoints (llama_server_errors), as typed errors."""
    meaning = refusal(exc.status, exc.message)
    if meaning is Refusal.NO_FIM:
        reason = f"infill: the served model has no FIM tokens ({exc.message})"
        return FeatureNotSupportedError(feature, "llama-server", _FIM_HINT, reason=reason)
    if meaning is Refusal.NO_SLOT_FOLDER:
        reason = f"{feature}: this llama-server was started without a slot folder"
        return FeatureNotSupportedError(feature, "llama-server", _SLOTS_HINT, reason=reason)
    if meaning is Refusal.SLOT_FILE_MISSING:
        return SlotFileNotFoundError(exc.status, exc.message, filename)
    return exc


# Chat body fields that do not change the rendered prompt (kept out of the cache key and
# out of /apply-template, which ignores them anyway).
_NOT_IN_PROMPT = ("stream", "stream_options", "max_tokens", "temperature", "seed", "top_p")


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class LlamaCpp:
    """The llama-server endpoints of one connection (same URL, headers, retries, errors)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._text_tokens: BoundedCache[tuple[int, ...]] = BoundedCache()
        self._prompt_counts: BoundedCache[int] = BoundedCache()

    # Plumbing ------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """Whether the backend has these endpoints (probes the backend once if `auto`)."""
        return self._connection.profile.llama_cpp_endpoints

    async def aavailable(self) -> bool:
        return (await self._connection.aprofile()).llama_cpp_endpoints

    def _require(self, feature: str, hint: str = "") -> None:
        if not self.available:
            raise FeatureNotSupportedError(feature, self._connection.profile.name, hint)

    async def _arequire(self, feature: str, hint: str = "") -> None:
        if not await self.aavailable():
            raise FeatureNotSupportedError(feature, self._connection.profile.name, hint)

    def _url(self, path: str) -> str:
        return self._connection.url(path)

    def _routed(self, body: dict[str, Any], model: str | None = None) -> dict[str, Any]:
        # A router (--models-dir) forwards by the body's model; a single server ignores it.
        model = model or self._connection.settings.model
        return {**body, "model": model} if model and "model" not in body else body

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._connection.transport.post(self._url(path), body)

    async def _apost(self, path: str, body: dict[str, Any]) -> Any:
        return await (await self._connection.atransport()).apost(self._url(path), body)

    # Tokens --------------------------------------------------------------------------
    def tokenize(
        self, text: str, *, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        """Token ids of `text` in the served model's vocabulary.

        Defaults count text as text: no BOS added, special-token spellings read literally.
        Results are cached per text (bounded, thread-safe)."""
        key = (text, add_special, parse_special)
        cached = self._text_tokens.get(key)
        if cached is None:
            self._require("tokenize", TOKENS_HINT)
            cached = tuple(
                self._connection.tokenize(
                    text,
                    add_special=add_special,
                    parse_special=parse_special,
                    model=self._connection.settings.model,  # a router forwards by it
                )
            )
            self._text_tokens.put(key, cached)
        return list(cached)

    async def atokenize(
        self, text: str, *, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        key = (text, add_special, parse_special)
        cached = self._text_tokens.get(key)
        if cached is None:
            await self._arequire("tokenize", TOKENS_HINT)
            tokens = await self._connection.atokenize(
                text,
                add_special=add_special,
                parse_special=parse_special,
                model=self._connection.settings.model,
            )
            cached = tuple(tokens)
            self._text_tokens.put(key, cached)
        return list(cached)

    def detokenize(self, tokens: Sequence[int]) -> str:
        self._require("detokenize", TOKENS_HINT)
        return str(
            self._post("/detokenize", self._routed({"tokens": list(tokens)})).get("content", "")
        )

    async def adetokenize(self, tokens: Sequence[int]) -> str:
        await self._arequire("detokenize", TOKENS_HINT)
        answer = await self._apost("/detokenize", self._routed({"tokens": list(tokens)}))
        return str(answer.get("content", ""))

    def _template_body(self, request: ChatRequest) -> dict[str, Any]:
        # The very body a chat call would send, so the template sees the same tools and kwargs;
        # in the chat wire whatever `api` says: these endpoints take chat bodies only, and
        # llama-server renders the same template for every wire.
        model = request.model or self._connection.settings.model
        body = chat_completions.build(self._connection.profile, model, request, stream=False)
        return {k: v for k, v in body.items() if k not in _NOT_IN_PROMPT}

    def apply_template(self, request: ChatRequest) -> str:
        """The prompt text llama-server renders for this chat request (its messages, tools,
        reasoning, options, extra_body: the request `ChatClient.complete` takes)."""
        self._require("apply-template", TOKENS_HINT)
        return str(self._post("/apply-template", self._template_body(request))["prompt"])

    async def aapply_template(self, request: ChatRequest) -> str:
        await self._arequire("apply-template", TOKENS_HINT)
        answer = await self._apost("/apply-template", self._template_body(request))
        return str(answer["prompt"])

    def count_prompt_tokens(self, request: ChatRequest) -> int:
        """The chat call's prompt tokens, as the server's `usage.prompt_tokens` will count
        them (`prompt_size.prompt_tokens`: one round trip where the server counts it). Cached
        per body digest, so no prompt text is kept."""
        self._require("count_prompt_tokens", TOKENS_HINT)
        body = self._template_body(request)
        key = _digest(body)
        count = self._prompt_counts.get(key)
        if count is None:
            count = prompt_size.prompt_tokens(self._connection, body)
            self._prompt_counts.put(key, count)
        return count

    async def acount_prompt_tokens(self, request: ChatRequest) -> int:
        await self._arequire("count_prompt_tokens", TOKENS_HINT)
        body = self._template_body(request)
        key = _digest(body)
        count = self._prompt_counts.get(key)
        if count is None:
            count = await prompt_size.aprompt_tokens(self._connection, body)
            self._prompt_counts.put(key, count)
        return count

    # Infill --------------------------------------------------------------------------
    def _infill_body(
        self,
        prefix: str,
        suffix: str,
        prompt: str,
        extra: Sequence[Mapping[str, str]],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "input_prefix": prefix,
            "input_suffix": suffix,
            "input_extra": [dict(chunk) for chunk in extra],
        }
        if prompt:
            body["prompt"] = prompt
        for key, value in options.items():
            if value is not None:
                # /infill speaks llama.cpp's native names: n_predict, not max_tokens.
                body["n_predict" if key == "max_tokens" else key] = value
        return self._routed(body)

    def infill(
        self,
        prefix: str,
        suffix: str = "",
        *,
        prompt: str = "",
        extra: Sequence[Mapping[str, str]] = (),
        **options: Any,
    ) -> InfillResult:
        """Fill in the middle between `prefix` and `suffix` (a code model with FIM tokens).

        `extra`: other files as `{"filename", "text"}` for context; `options`: sampling fields
        (`max_tokens`/`n_predict`, `temperature`, `seed`, `stop`, ...)."""
        self._require("infill", _FIM_HINT)
        body = self._infill_body(prefix, suffix, prompt, extra, options)
        try:
            return _infill_result(self._post("/infill", body))
        except BackendHTTPError as exc:
            raise _typed(exc, "infill") from exc

    async def ainfill(
        self,
        prefix: str,
        suffix: str = "",
        *,
        prompt: str = "",
        extra: Sequence[Mapping[str, str]] = (),
        **options: Any,
    ) -> InfillResult:
        await self._arequire("infill", _FIM_HINT)
        body = self._infill_body(prefix, suffix, prompt, extra, options)
        try:
            return _infill_result(await self._apost("/infill", body))
        except BackendHTTPError as exc:
            raise _typed(exc, "infill") from exc

    def stream_infill(
        self,
        prefix: str,
        suffix: str = "",
        *,
        prompt: str = "",
        extra: Sequence[Mapping[str, str]] = (),
        **options: Any,
    ) -> Iterator[InfillDelta]:
        """`infill`, streamed: the middle's pieces as they come, then the whole result."""
        self._require("infill", _FIM_HINT)
        body = {**self._infill_body(prefix, suffix, prompt, extra, options), "stream": True}
        stream = _InfillStream()
        try:
            with self._connection.transport.stream_lines(self._url("/infill"), body) as lines:
                for line in lines:
                    delta = stream.feed(line)
                    if delta is not None:
                        yield delta
        except BackendHTTPError as exc:  # before the first piece: the server refused
            raise _typed(exc, "infill") from exc
        yield stream.finish()

    async def astream_infill(
        self,
        prefix: str,
        suffix: str = "",
        *,
        prompt: str = "",
        extra: Sequence[Mapping[str, str]] = (),
        **options: Any,
    ) -> AsyncGenerator[InfillDelta, None]:
        await self._arequire("infill", _FIM_HINT)
        body = {**self._infill_body(prefix, suffix, prompt, extra, options), "stream": True}
        transport = await self._connection.atransport()
        stream = _InfillStream()
        try:
            async with transport.astream_lines(self._url("/infill"), body) as lines:
                async for line in lines:
                    delta = stream.feed(line)
                    if delta is not None:
                        yield delta
        except BackendHTTPError as exc:
            raise _typed(exc, "infill") from exc
        yield stream.finish()

    # Slots (KV cache on disk) --------------------------------------------------------
    def slots(self) -> list[dict[str, Any]]:
        """Each slot's state (`n_ctx`, `is_processing`, its current task's settings)."""
        self._require("slots")
        return list(self._connection.transport.get(self._url("/slots")))

    def _slot(self, action: str, slot: int, filename: str = "") -> dict[str, Any]:
        feature = f"{action}_slot"
        self._require(feature, _SLOTS_HINT)
        body = {"filename": _file(filename)} if action != "erase" else {}
        try:
            return dict(self._post(f"/slots/{int(slot)}?action={action}", body))
        except BackendHTTPError as exc:
            raise _typed(exc, feature, filename) from exc

    async def _aslot(self, action: str, slot: int, filename: str = "") -> dict[str, Any]:
        feature = f"{action}_slot"
        await self._arequire(feature, _SLOTS_HINT)
        body = {"filename": _file(filename)} if action != "erase" else {}
        try:
            return dict(await self._apost(f"/slots/{int(slot)}?action={action}", body))
        except BackendHTTPError as exc:
            raise _typed(exc, feature, filename) from exc

    def save_slot(self, slot: int, filename: str) -> dict[str, Any]:
        """Writes the slot's KV cache and tokens to `filename` inside --slot-save-path;
        answers `n_saved` (tokens) and `n_written` (bytes)."""
        return self._slot("save", slot, filename)

    def restore_slot(self, slot: int, filename: str) -> dict[str, Any]:
        """Loads a saved KV cache into the slot; answers `n_restored` (tokens). A request
        sent with `id_slot=slot` then reads the restored prefix from cache. A file that is
        not there raises SlotFileNotFoundError."""
        return self._slot("restore", slot, filename)

    def erase_slot(self, slot: int) -> dict[str, Any]:
        return self._slot("erase", slot)

    async def asave_slot(self, slot: int, filename: str) -> dict[str, Any]:
        return await self._aslot("save", slot, filename)

    async def arestore_slot(self, slot: int, filename: str) -> dict[str, Any]:
        return await self._aslot("restore", slot, filename)

    async def aerase_slot(self, slot: int) -> dict[str, Any]:
        return await self._aslot("erase", slot)

    # Router (llama-server --models-dir) ----------------------------------------------
    _ROUTER_HINT = "start a router: `zenllama serve --models-dir DIR`"

    def _unknown(self, exc: BackendHTTPError, model: str, available: list[str]) -> Exception:
        if exc.status == 404 or "not found" in exc.message:
            return UnknownModelError(exc.status, exc.message, model, available)
        return exc

    def load_model(self, model: str) -> dict[str, Any]:
        """Asks a router to load `model` (answers at once; `list_models` shows it loading)."""
        return self._router("load", model)

    def unload_model(self, model: str) -> dict[str, Any]:
        return self._router("unload", model)

    def _router(self, action: str, model: str) -> dict[str, Any]:
        self._require(f"{action}_model", self._ROUTER_HINT)
        try:
            return dict(self._post(f"/models/{action}", {"model": model}))
        except BackendHTTPError as exc:
            models = [m.id for m in self._connection.list_models()]
            raise self._unknown(exc, model, models) from exc

    async def aload_model(self, model: str) -> dict[str, Any]:
        return await self._arouter("load", model)

    async def aunload_model(self, model: str) -> dict[str, Any]:
        return await self._arouter("unload", model)

    async def _arouter(self, action: str, model: str) -> dict[str, Any]:
        await self._arequire(f"{action}_model", self._ROUTER_HINT)
        try:
            return dict(await self._apost(f"/models/{action}", {"model": model}))
        except BackendHTTPError as exc:
            models = [m.id for m in await self._connection.alist_models()]
            raise self._unknown(exc, model, models) from exc


def _file(filename: str) -> str:
    # llama-server refuses paths (it writes only inside --slot-save-path); say so before sending.
    if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        raise InvalidSettingError(
            f"slot file {filename!r} must be a plain file name; it is stored in the server's "
            "--slot-save-path folder"
        )
    return filename
