"""ZenLlama: a LlamaIndex function-calling LLM on zen or llama-server, switched by BACKEND_URL."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import PrivateAttr, model_validator
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from zenllama.core import ChatClient, InvalidToolCallError, ModelInfo, ZenLlamaError
from zenllama.core.fields import ChatFields
from zenllama.core.llama_cpp import LlamaCppMethods, Tokenizer
from zenllama.core.request import named_tool_choice

from .messages import (
    INVALID_TOOL_CALLS_KEY,
    ChatStream,
    infill_response,
    to_chat_response,
    to_completion_response,
    to_wire_messages,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool


def _arguments(kwargs: dict[str, Any] | str) -> dict[str, Any]:
    """Arguments still streaming are partial JSON: read what there is so far."""
    if isinstance(kwargs, dict):
        return kwargs
    try:
        parsed = parse_partial_json(kwargs) if kwargs.strip() else {}
    except ValueError:  # JSONDecodeError is one
        return {}
    return parsed if isinstance(parsed, dict) else {}


class ZenLlama(ChatFields, LlamaCppMethods, FunctionCallingLLM):
    """LLM for OpenCode zen, a local llama-server, or any OpenAI-compatible server.

    Reasoning comes as a `ThinkingBlock` in `message.blocks` (streamed: `thinking_delta` in
    `additional_kwargs`) and goes back to the backend with earlier assistant turns where its
    profile wants it. Usage (with cached and reasoning tokens), llama.cpp `timings` and the
    finish reason are in `ChatResponse.additional_kwargs`.

    Example:
        ```python
        from zenllama.llama_index import ZenLlama

        llm = ZenLlama()  # BACKEND_URL, BACKEND_API_KEY, BACKEND_MODEL from the environment
        print(llm.complete("Hello"))
        ```
    """

    model: str | None = None
    """Model id; BACKEND_MODEL if not given. llama-server serves its one model without it."""
    context_window: int | None = None
    """Overrides the context window read from the server (llama-server `n_ctx`)."""

    _client: ChatClient = PrivateAttr()
    _server_window: int | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_backend(self) -> ZenLlama:
        settings = self._resolve(self.model, self.session_id)
        self.model, self.session_id = settings.model, settings.session_id
        self._client = ChatClient(settings)
        return self

    @classmethod
    def class_name(cls) -> str:
        return "ZenLlama"

    @property
    def client(self) -> ChatClient:
        """The shared core client (backend profile, server facts, model list)."""
        return self._client

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self._context_window(),
            num_output=self.max_tokens or -1,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model or "default",
        )

    def _context_window(self) -> int:
        if self.context_window is not None:
            return self.context_window
        # Asked once, on first use: construction never touches the network.
        if self._server_window is None:
            try:
                window = self._client.context_window()
            except ZenLlamaError:
                # LlamaIndex reads metadata while building indexes and engines, before any
                # call: a server that is not up yet must not fail those. Asked again next time.
                return DEFAULT_CONTEXT_WINDOW
            self._server_window = window or DEFAULT_CONTEXT_WINDOW
        return self._server_window

    # Requests ------------------------------------------------------------------------
    # Undecorated, so a completion built on a chat is one LLM event, counted once.
    def _chat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        result = self._client.complete(to_wire_messages(messages), **self.request_parts(kwargs))
        return to_chat_response(result)

    async def _achat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        result = await self._client.acomplete(
            to_wire_messages(messages), **self.request_parts(kwargs)
        )
        return to_chat_response(result)

    def _stream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponseGen:
        response = ChatStream().response
        for delta in self._client.stream(to_wire_messages(messages), **self.request_parts(kwargs)):
            yield response(delta)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponseAsyncGen:
        response = ChatStream().response
        deltas = self._client.astream(to_wire_messages(messages), **self.request_parts(kwargs))
        async with aclosing(deltas):  # stopping early closes the HTTP stream at once
            async for delta in deltas:
                yield response(delta)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream_chat(messages, kwargs)

    @staticmethod
    def _prompt(prompt: str) -> list[ChatMessage]:
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """`suffix=...` makes it fill in the middle (llama-server /infill, a FIM code model):
        `prompt` is the code before the gap, `suffix` the code after it."""
        if "suffix" in kwargs:
            suffix = kwargs.pop("suffix")
            return infill_response(
                self._client.llama_cpp.infill(prompt, suffix, **self._fim(kwargs))
            )
        return to_completion_response(self._chat(self._prompt(prompt), kwargs))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        if "suffix" in kwargs:
            suffix = kwargs.pop("suffix")
            result = await self._client.llama_cpp.ainfill(prompt, suffix, **self._fim(kwargs))
            return infill_response(result)
        return to_completion_response(await self._achat(self._prompt(prompt), kwargs))

    def _fim(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # Sampling options as for chat; infill has no messages, tools or reasoning.
        return {**self.options(), **kwargs}

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return (to_completion_response(r) for r in self._stream_chat(self._prompt(prompt), kwargs))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = self._astream_chat(self._prompt(prompt), kwargs)
        return (to_completion_response(r) async for r in responses)

    # Tools ---------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """tool_choice is "auto", "none", "required" or a tool's name; the core puts it in the
        backend's dialect (llama-server: a named tool becomes "required" with only that tool)."""
        messages = list(chat_history or [])  # never the caller's list
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        request: dict[str, Any] = {"messages": messages, **kwargs}
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        if specs:
            named_tool_choice(specs, tool_choice)  # an unbound name fails here, not mid-stream
            if tool_choice is None:
                tool_choice = "required" if tool_required else "auto"
            request.update(
                tools=specs,
                tool_choice=tool_choice,
                parallel_tool_calls=allow_parallel_tool_calls,
            )
        return request

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        message = response.message
        calls = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
        if not allow_parallel_tool_calls and len(calls) > 1:  # a server that ignored the flag
            message.blocks = [
                b for b in message.blocks if not isinstance(b, ToolCallBlock) or b is calls[0]
            ]
            message.additional_kwargs["tool_calls"] = message.additional_kwargs["tool_calls"][:1]
            # Calls past the first are dropped, the unparseable ones with them.
            response.additional_kwargs.pop(INVALID_TOOL_CALLS_KEY, None)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """Cheap enough for every streamed chunk; partial arguments are read as far as they go.

        Raises InvalidToolCallError for a finished answer whose call arguments did not parse.
        """
        invalid = response.additional_kwargs.get(INVALID_TOOL_CALLS_KEY)
        if invalid:
            first = invalid[0]
            raise InvalidToolCallError(first["name"], first["arguments"], first["error"])
        selections = [
            ToolSelection(
                tool_id=block.tool_call_id or "",
                tool_name=block.tool_name,
                tool_kwargs=_arguments(block.tool_kwargs),
            )
            for block in response.message.blocks
            if isinstance(block, ToolCallBlock)
        ]
        if not selections and error_on_no_tool_call:
            raise ValueError(
                "Expected at least one tool call, got none; the model answered with text. "
                "Pass tool_required=True (or tool_choice) to make it call a tool."
            )
        return selections

    # Server facts --------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        return self._client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        return await self._client.alist_models()

    # Token counts (llama-server only; other backends raise FeatureNotSupportedError) -----
    @property
    def tokenizer(self) -> Tokenizer:
        """The served model's tokenizer as LlamaIndex wants one (text -> ids): for
        `Settings.tokenizer`, `TokenTextSplitter(tokenizer=...)` and
        `ChatMemoryBuffer(tokenizer_fn=...)`. Cached per text; raises
        FeatureNotSupportedError on backends without /tokenize."""
        return Tokenizer(self._client.llama_cpp)

    def count_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        """The `prompt_tokens` a chat with these messages (and kwargs, e.g. tools) will use."""
        return self._client.llama_cpp.count_prompt_tokens(
            to_wire_messages(messages), **self.request_parts(kwargs)
        )

    async def acount_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        return await self._client.llama_cpp.acount_prompt_tokens(
            to_wire_messages(messages), **self.request_parts(kwargs)
        )
