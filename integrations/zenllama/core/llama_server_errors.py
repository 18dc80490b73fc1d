"""llama-server's error answers, read in one place: what each of its refusals means.

Every refusal comes as `{"code", "message", "type"}` (tools/server/server-common.cpp:
`format_error_response`, the type per HTTP status); the texts are the server's own, from
tools/server/server-context.cpp (endpoints, slot tasks, batches), tools/server/server-http.cpp
(loading) and tools/server/server-models.cpp (router). The callers (transport, embeddings,
llama_cpp, prompt_size) turn a `Refusal` into the typed error users catch.

Loading ("Loading model", a router's model loading, "no slot available") is a 503
`unavailable_error`, told by its status alone: transport reads that for every backend.
"""

from __future__ import annotations

import re
from enum import Enum


class Refusal(Enum):
    # 500 `server_error`: one embeddings input over the physical batch (--ubatch-size; with
    # mean pooling an input is never split): "input (N tokens) is too large to process.
    # increase the physical batch size (current batch size: M)".
    OVER_UBATCH = "over_ubatch"
    # 400 `exceed_context_size_error`: "request (N tokens) exceeds the available context size
    # (M tokens) …", with `n_prompt_tokens` and `n_ctx` in the body.
    CONTEXT_OVERFLOW = "context_overflow"
    # 501 "This server does not support embeddings. Start it with `--embeddings`"; 400
    # "Pooling type 'none' is not OAI compatible" (started with --pooling none).
    EMBEDDINGS_OFF = "embeddings_off"
    # 501 "Infill is not supported by this model: … prefix token is missing" (no FIM tokens).
    NO_FIM = "no_fim"
    # 501 "This server does not support slots action. Start it with `--slot-save-path`".
    NO_SLOT_FOLDER = "no_slot_folder"
    # A restore task's "Unable to restore slot, no available space in KV cache or invalid slot
    # save file": said for a file that is not there (or not one this model saved).
    SLOT_FILE_MISSING = "slot_file_missing"
    # A router (--models-dir): "model 'x' not found", "model name is missing from the request".
    UNKNOWN_MODEL = "unknown_model"
    # 404 that names no model: no such endpoint here (a router's unknown model 404s too).
    NO_SUCH_ENDPOINT = "no_such_endpoint"


CONTEXT_OVERFLOW_TYPE = "exceed_context_size_error"
_OVER_UBATCH = re.compile(r"input \((\d+) tokens\) is too large to process.*batch size: (\d+)")
_UNKNOWN_MODEL = re.compile(
    r"^model '(?P<model>.+)' not found$|^model name is missing from the request$"
)
# Statuses of an endpoint this build (or this kind of server) does not have: newer endpoints
# (/chat/completions/input_tokens) 404 on older builds; 405 and 501 from servers and proxies.
_NOT_SERVED = (404, 405, 501)


def refusal(status: int, message: str, kind: str = "") -> Refusal | None:
    """What a llama-server error answer (status, `message`, `type`) means; None: nothing
    llama-server-specific (its HTTP status says it all)."""
    text = message.lower()
    if _OVER_UBATCH.search(message):
        return Refusal.OVER_UBATCH
    if kind == CONTEXT_OVERFLOW_TYPE or "context size" in text:
        return Refusal.CONTEXT_OVERFLOW
    if "does not support embeddings" in text or "pooling type 'none'" in text:
        return Refusal.EMBEDDINGS_OFF
    if "infill is not supported" in text:
        return Refusal.NO_FIM
    if "does not support slots action" in text:
        return Refusal.NO_SLOT_FOLDER
    if "unable to restore slot" in text and "invalid slot save file" in text:
        return Refusal.SLOT_FILE_MISSING
    if _UNKNOWN_MODEL.search(message):
        return Refusal.UNKNOWN_MODEL
    if status == 404 and "model" not in text:
        return Refusal.NO_SUCH_ENDPOINT
    return None


def over_ubatch(message: str) -> tuple[int, int] | None:
    """(the input's tokens, the batch size) from an OVER_UBATCH text."""
    found = _OVER_UBATCH.search(message)
    return (int(found[1]), int(found[2])) if found else None


def unknown_model(message: str) -> str | None:
    """The model an UNKNOWN_MODEL text names ("" when the request named none)."""
    found = _UNKNOWN_MODEL.search(message)
    return (found["model"] or "") if found else None


def not_served(status: int) -> bool:
    """The endpoint is not there (the caller has another way: /apply-template + /tokenize)."""
    return status in _NOT_SERVED
