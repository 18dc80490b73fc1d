"""Model discovery: `/models` in every shape servers answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str | None = None
    # Whatever else the server said of it (llama-server: n_ctx, n_ctx_train, n_embd, …).
    meta: dict[str, Any] = field(default_factory=dict)
    # A router's (llama-server --models-dir) state of the model: loaded, loading, unloaded,
    # failed; None where the server does not say.
    status: str | None = None
    # The API the backend serves it on ("chat", "responses", "messages"; or a format zenllama
    # does not speak, such as zen's "google" for Gemini): set by `ChatClient.list_models`.
    api: str = "chat"


def _status(entry: dict[str, Any]) -> str | None:
    status = entry.get("status")
    if isinstance(status, dict):
        status = status.get("value")
    return str(status) if status else None


def parse_models(data: Any) -> list[ModelInfo]:
    """`{"data": [...]}` (OpenAI, zen), a bare list (old llama-server), `{"models": [...]}`."""
    if isinstance(data, dict):
        entries = data.get("data") or data.get("models") or []
    elif isinstance(data, list):
        entries = data
    else:
        entries = []
    models = []
    for entry in entries:
        if isinstance(entry, str):
            models.append(ModelInfo(id=entry))
            continue
        if not isinstance(entry, dict):
            continue
        model_id = entry.get("id") or entry.get("model") or entry.get("name")
        if not model_id:
            continue
        meta = entry.get("meta")
        models.append(
            ModelInfo(
                id=str(model_id),
                owned_by=entry.get("owned_by"),
                meta=dict(meta) if isinstance(meta, dict) else {},
                status=_status(entry),
            )
        )
    return models


def model_from_props(props: Any) -> str | None:
    """llama-server's `/props`: the file it serves (`model_path`), by its base name."""
    path = props.get("model_path") if isinstance(props, dict) else None
    if not isinstance(path, str) or not path:
        return None
    return path.replace("\\", "/").rsplit("/", 1)[-1]
