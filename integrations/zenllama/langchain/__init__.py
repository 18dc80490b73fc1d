"""LangChain classes on the shared zenllama core."""

from .chat_models import ChatZenLlama

__all__ = ["ChatZenLlama"]
