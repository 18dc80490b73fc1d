"""The embedded default: a local llama-server with the bundled small model (no framework here)."""

from .binary import build_llama_server, cache_dir, find_llama_server
from .model import (
    coder_15b_model_path,
    coder_model_path,
    default_model_path,
    embedding_model_path,
    models_dir,
)
from .server import MODELS, TEMPLATE_FILES, LlamaServer, free_port, template_path

__all__ = [
    "MODELS",
    "TEMPLATE_FILES",
    "LlamaServer",
    "build_llama_server",
    "cache_dir",
    "coder_15b_model_path",
    "coder_model_path",
    "default_model_path",
    "embedding_model_path",
    "find_llama_server",
    "free_port",
    "models_dir",
    "template_path",
]
