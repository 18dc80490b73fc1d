"""The httpx generation the installed openai SDK runs on.

openai 1.x and 2.x run on `httpx`; openai 3.x runs on `httpx2`, the same API under a new name
(https://github.com/openai/openai-python, `src/openai/_base_client.py` imports it). Every
exception class, `Response` and client type zenllama names must come from the generation the
SDK uses, or a refused connection is not recognised as one. Both may be installed at once
(another package may pull in the other), so the SDK's major version decides, not an import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import openai

OPENAI_MAJOR = int(openai.__version__.split(".")[0])
HTTPX_MODULE = "httpx2" if OPENAI_MAJOR >= 3 else "httpx"

if TYPE_CHECKING:
    # Types are checked against the generation a fresh install gets (`make lint`'s venv).
    import httpx2 as httpx
else:
    httpx = importlib.import_module(HTTPX_MODULE)

__all__ = ["HTTPX_MODULE", "OPENAI_MAJOR", "httpx"]
