"""Framework-free adapter: the wire, each backend's quirks, and one neutral result.

Nothing here imports LangChain or LlamaIndex.
"""

from .backends import BackendProfile, profile_named
from .chat import ChatClient
from .connection import Connection
from .embeddings import EmbeddingsClient, EmbeddingsResult
from .errors import (
    AuthenticationError,
    BackendConnectionError,
    BackendHTTPError,
    BackendTimeoutError,
    BadRequestError,
    CacheBreakpointsDroppedWarning,
    ContextOverflowError,
    EmbeddingsNotEnabledError,
    FeatureNotSupportedError,
    IncompleteResponseError,
    IncompleteStreamError,
    InputTooLongError,
    InvalidSettingError,
    InvalidToolCallError,
    MalformedResponseError,
    MissingAPIKeyError,
    ModelNotSupportedError,
    RateLimitError,
    ServerError,
    ServerLoadingError,
    ServerOverloadedError,
    SlotFileNotFoundError,
    StreamError,
    ToolChoiceDowngradedWarning,
    TruncatedOutputError,
    UnknownModelError,
    UnsupportedSettingWarning,
    ZenLlamaError,
)
from .llama_cpp import InfillDelta, InfillResult, LlamaCpp
from .models import ModelInfo
from .request import ChatRequest
from .results import (
    ChatResult,
    InvalidToolCall,
    Route,
    StreamDelta,
    ToolCall,
    ToolCallFragment,
    Usage,
)
from .routing.client import RoutedChatClient
from .routing.fallbacks import RoutingPolicy
from .secret import Secret, SecretLike
from .settings import Settings, resolve_settings

__all__ = [
    "AuthenticationError",
    "BackendConnectionError",
    "BackendHTTPError",
    "BackendProfile",
    "BackendTimeoutError",
    "BadRequestError",
    "CacheBreakpointsDroppedWarning",
    "ChatClient",
    "ChatRequest",
    "ChatResult",
    "Connection",
    "ContextOverflowError",
    "EmbeddingsClient",
    "EmbeddingsNotEnabledError",
    "EmbeddingsResult",
    "FeatureNotSupportedError",
    "IncompleteResponseError",
    "IncompleteStreamError",
    "InfillDelta",
    "InfillResult",
    "InputTooLongError",
    "InvalidSettingError",
    "InvalidToolCall",
    "InvalidToolCallError",
    "LlamaCpp",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "ModelInfo",
    "ModelNotSupportedError",
    "RateLimitError",
    "Route",
    "RoutedChatClient",
    "RoutingPolicy",
    "Secret",
    "SecretLike",
    "ServerError",
    "ServerLoadingError",
    "ServerOverloadedError",
    "Settings",
    "SlotFileNotFoundError",
    "StreamDelta",
    "StreamError",
    "ToolCall",
    "ToolCallFragment",
    "ToolChoiceDowngradedWarning",
    "TruncatedOutputError",
    "UnknownModelError",
    "UnsupportedSettingWarning",
    "Usage",
    "ZenLlamaError",
    "profile_named",
    "resolve_settings",
]
