"""Chat completions (`POST /chat/completions`): the body and answers live in request.py and
responses.py; this adds only what the other dialects made a common setting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..backends import BackendProfile
from ..request import Message, build_chat_body
from .common import unsupported

PATH = "/chat/completions"


def build_body(
    profile: BackendProfile,
    model: str | None,
    messages: Sequence[Message],
    *,
    stream: bool,
    options: Mapping[str, Any] | None = None,
    **request: Any,
) -> dict[str, Any]:
    options = dict(options or {})
    if options.pop("thinking_budget", None) is not None:
        unsupported("chat completions", ["thinking_budget"])
    # reasoning_effort is chat completions' own field (OpenAI, vLLM); it goes as it is.
    return build_chat_body(profile, model, messages, stream=stream, options=options, **request)
