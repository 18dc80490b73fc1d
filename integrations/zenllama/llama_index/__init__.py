"""LlamaIndex classes on the shared zenllama core."""

from .embedding import ZenLlamaEmbedding
from .llm import ZenLlama

__all__ = ["ZenLlama", "ZenLlamaEmbedding"]
