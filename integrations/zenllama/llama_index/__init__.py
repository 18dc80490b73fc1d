"""LlamaIndex classes on the shared zenllama core."""

from zenllama.frameworks import Fallback

from .embedding import ZenLlamaEmbedding
from .llm import ZenLlama

__all__ = ["Fallback", "ZenLlama", "ZenLlamaEmbedding"]
