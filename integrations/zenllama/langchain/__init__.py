"""LangChain classes on the shared zenllama core."""

from .chat_models import ChatZenLlama
from .embeddings import ZenLlamaEmbeddings

__all__ = ["ChatZenLlama", "ZenLlamaEmbeddings"]
