"""The embedded default: a local llama-server with the bundled small model (no framework here)."""

from .binary import build_llama_server, cache_dir, find_llama_server
from .model import default_model_path
from .server import TEMPLATE_FILES, LlamaServer, free_port, template_path

__all__ = [
    "TEMPLATE_FILES",
    "LlamaServer",
    "build_llama_server",
    "cache_dir",
    "default_model_path",
    "find_llama_server",
    "free_port",
    "template_path",
]
