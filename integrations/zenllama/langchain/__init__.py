"""LangChain classes on the shared zenllama core."""

from zenllama.frameworks import Fallback

from .chat_models import ChatZenLlama
from .embeddings import ZenLlamaEmbeddings

__all__ = ["ChatZenLlama", "Fallback", "ZenLlamaEmbeddings"]
