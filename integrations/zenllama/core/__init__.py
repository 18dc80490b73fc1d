"""Framework-free adapter: the wire, each backend's quirks, and one neutral result.

Nothing here imports LangChain or LlamaIndex.
"""

from .backends import BackendProfile, profile_named
from .chat import ChatClient
from .embeddings import EmbeddingsClient, EmbeddingsResult
from .errors import (
    AuthenticationError,
    BackendConnectionError,
    BackendHTTPError,
    BackendTimeoutError,
    BadRequestError,
    ContextOverflowError,
    EmbeddingsNotEnabledError,
    FeatureNotSupportedError,
    IncompleteStreamError,
    InputTooLongError,
    InvalidToolCallError,
    MissingAPIKeyError,
    ModelNotSupportedError,
    RateLimitError,
    ServerError,
    ServerLoadingError,
    StreamError,
    ToolChoiceDowngradedWarning,
    UnknownModelError,
    UnsupportedSettingWarning,
    ZenLlamaError,
)
from .llama_cpp import InfillResult, LlamaCpp
from .models import ModelInfo
from .results import (
    ChatResult,
    InvalidToolCall,
    StreamDelta,
    ToolCall,
    ToolCallFragment,
    Usage,
)
from .settings import Settings, resolve_settings

__all__ = [
    "AuthenticationError",
    "BackendConnectionError",
    "BackendHTTPError",
    "BackendProfile",
    "BackendTimeoutError",
    "BadRequestError",
    "ChatClient",
    "ChatResult",
    "ContextOverflowError",
    "EmbeddingsClient",
    "EmbeddingsNotEnabledError",
    "EmbeddingsResult",
    "FeatureNotSupportedError",
    "IncompleteStreamError",
    "InfillResult",
    "InputTooLongError",
    "InvalidToolCall",
    "InvalidToolCallError",
    "LlamaCpp",
    "MissingAPIKeyError",
    "ModelInfo",
    "ModelNotSupportedError",
    "RateLimitError",
    "ServerError",
    "ServerLoadingError",
    "Settings",
    "StreamDelta",
    "StreamError",
    "ToolCall",
    "ToolCallFragment",
    "ToolChoiceDowngradedWarning",
    "UnknownModelError",
    "UnsupportedSettingWarning",
    "Usage",
    "ZenLlamaError",
    "profile_named",
    "resolve_settings",
]
