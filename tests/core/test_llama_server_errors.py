"""llama-server's error texts, read in one place (core/llama_server_errors.py). The texts are
the server's own: tools/server/server-context.cpp, server-models.cpp (llama.cpp)."""

from __future__ import annotations

import pytest

from zenllama.core.llama_server_errors import (
    Refusal,
    not_served,
    over_ubatch,
    refusal,
    unknown_model,
)

OVER_UBATCH = (
    "input (700 tokens) is too large to process. increase the physical batch size "
    "(current batch size: 512)"
)


@pytest.mark.parametrize(
    ("status", "message", "kind", "meaning"),
    [
        (500, OVER_UBATCH, "server_error", Refusal.OVER_UBATCH),
        (
            400,
            "request (5000 tokens) exceeds the available context size (4096 tokens), try "
            "increasing it",
            "exceed_context_size_error",
            Refusal.CONTEXT_OVERFLOW,
        ),
        (400, "prompt too long", "exceed_context_size_error", Refusal.CONTEXT_OVERFLOW),
        (
            501,
            "This server does not support embeddings. Start it with `--embeddings`",
            "not_supported_error",
            Refusal.EMBEDDINGS_OFF,
        ),
        (
            400,
            "Pooling type 'none' is not OAI compatible. Please use a different pooling type",
            "invalid_request_error",
            Refusal.EMBEDDINGS_OFF,
        ),
        (
            501,
            "Infill is not supported by this model: prefix token is missing. ",
            "not_supported_error",
            Refusal.NO_FIM,
        ),
        (
            501,
            "This server does not support slots action. Start it with `--slot-save-path`",
            "not_supported_error",
            Refusal.NO_SLOT_FOLDER,
        ),
        (
            400,
            "Unable to restore slot, no available space in KV cache or invalid slot save file",
            "invalid_request_error",
            Refusal.SLOT_FILE_MISSING,
        ),
        (400, "model 'qwen' not found", "invalid_request_error", Refusal.UNKNOWN_MODEL),
        (404, "File Not Found", "", Refusal.NO_SUCH_ENDPOINT),
        (404, "The model `x` does not exist", "", None),  # a model, not the endpoint
        (503, "Loading model", "unavailable_error", None),  # told by its status
        (400, "invalid tool_choice", "invalid_request_error", None),
    ],
)
def test_each_refusal_is_read_from_the_servers_words(
    status: int, message: str, kind: str, meaning: Refusal | None
) -> None:
    assert refusal(status, message, kind) is meaning


def test_the_numbers_in_the_texts() -> None:
    assert over_ubatch(OVER_UBATCH) == (700, 512)
    assert over_ubatch("input too large") is None
    assert unknown_model("model 'qwen' not found") == "qwen"
    assert unknown_model("model name is missing from the request") == ""
    assert unknown_model("no such model") is None


@pytest.mark.parametrize(
    ("status", "served"), [(404, False), (405, False), (501, False), (400, True)]
)
def test_an_endpoint_not_served(status: int, served: bool) -> None:
    assert not_served(status) is not served
