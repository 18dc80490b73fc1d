"""Chat completions (`POST /chat/completions`): the body and answers live in request.py and
responses.py (reasoning and its aliases map through the profile there)."""

from __future__ import annotations

from ..request import build_chat_body

PATH = "/chat/completions"
build_body = build_chat_body
