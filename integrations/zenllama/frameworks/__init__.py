"""What both framework layers share: pydantic settings fields, the core client's lifecycle and
pickling, fallbacks, call kwargs -> request, llama.cpp methods, tokenizer.

Pydantic only: nothing here imports LangChain or LlamaIndex, and `zenllama.core` imports
nothing from here.
"""

from .fallbacks import Fallback
from .fields import ChatFields, ConnectionFields, EmbeddingsFields
from .llama_cpp_methods import LlamaCppMethods, Tokenizer

__all__ = [
    "ChatFields",
    "ConnectionFields",
    "EmbeddingsFields",
    "Fallback",
    "LlamaCppMethods",
    "Tokenizer",
]
