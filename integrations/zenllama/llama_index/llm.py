"""ZenLlama: a LlamaIndex function-calling LLM on zen or llama-server, switched by BACKEND_URL."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

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
from llama_index.core.prompts import BasePromptTemplate
from pydantic import BaseModel

from zenllama.core import (
    ChatRequest,
    ChatResult,
    InvalidToolCallError,
    ModelInfo,
    ZenLlamaError,
)
from zenllama.core.errors import check_finished
from zenllama.core.request import named_tool_choice
from zenllama.frameworks.fields import ChatFields
from zenllama.frameworks.llama_cpp_methods import LlamaCppMethods, Tokenizer

from .messages import (
    INVALID_TOOL_CALLS_KEY,
    ChatStream,
    InfillStream,
    infill_response,
    to_chat_response,
    to_completion_response,
    to_wire_messages,
)
from .routing import announce

if TYPE_CHECKING:
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.tools.types import BaseTool

Model = TypeVar("Model", bound=BaseModel)

# Marks the calls of structured prediction; LlamaIndex hands `llm_kwargs` down to chat().
_STRUCTURED = "zenllama_structured"


def _structured(llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    return {**(llm_kwargs or {}), _STRUCTURED: True}


def _check_finished(result: ChatResult) -> None:
    """A structured answer cut off by the token limit is an error, never a partial object."""
    text = result.text or "".join(c.arguments for c in result.invalid_tool_calls)
    usage = result.usage
    check_finished(result.finish_reason, text, usage.output_tokens if usage else None)


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

    # (the client asked, its answer): a client built for new settings asks again.
    _server_window: tuple[object, int] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_backend(self) -> ZenLlama:
        # Settings are read here (cheap, no network); the core client is built on first use.
        self.model = self._resolve().model
        return self

    def _model_id(self) -> str | None:
        return self.model

    @classmethod
    def class_name(cls) -> str:
        return "ZenLlama"

    @property
    def metadata(self) -> LLMMetadata:
        context_window = self._context_window()  # first: it reads llama-server's /props
        return LLMMetadata(
            context_window=context_window,
            num_output=self._num_output(),
            is_chat_model=True,
            is_function_calling_model=True,
            # The server's own when none was given (llama-server: the /props just read).
            model_name=self.model or self.served_model() or "default",
        )

    def _num_output(self) -> int:
        """The calls' token limit: max_tokens, or one given in extra_body; -1 where there is
        none (the answer may fill the rest of the context window)."""
        limit = self.max_tokens or (self.extra_body or {}).get("max_tokens")
        return int(limit) if limit else -1

    def _context_window(self) -> int:
        if self.context_window is not None:
            return self.context_window
        # Asked once per client, on first use: construction never touches the network.
        client = self.client
        known = self._server_window
        if known is None or known[0] is not client:
            try:
                window = client.context_window()
            except ZenLlamaError:
                # LlamaIndex reads metadata while building indexes and engines, before any
                # call: a server that is not up yet must not fail those. Asked again next time.
                return DEFAULT_CONTEXT_WINDOW
            known = self._server_window = (client, window or DEFAULT_CONTEXT_WINDOW)
        return known[1]

    # Requests ------------------------------------------------------------------------
    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatRequest:
        return self.chat_request(to_wire_messages(messages), kwargs)

    # Undecorated, so a completion built on a chat is one LLM event, counted once.
    def _chat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        structured = kwargs.pop(_STRUCTURED, False)
        result = self.client.complete(self._request(messages, kwargs))
        if structured:
            _check_finished(result)
        announce(result.route)
        return to_chat_response(result)

    async def _achat(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatResponse:
        structured = kwargs.pop(_STRUCTURED, False)
        result = await self.client.acomplete(self._request(messages, kwargs))
        if structured:
            _check_finished(result)
        announce(result.route)
        return to_chat_response(result)

    def _stream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponseGen:
        structured = kwargs.pop(_STRUCTURED, False)
        response = ChatStream().response
        for delta in self.client.stream(self._request(messages, kwargs)):
            if delta.result is not None:
                if structured:
                    _check_finished(delta.result)
                announce(delta.result.route)
            yield response(delta)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponseAsyncGen:
        structured = kwargs.pop(_STRUCTURED, False)
        response = ChatStream().response
        deltas = self.client.astream(self._request(messages, kwargs))
        async with aclosing(deltas):  # stopping early closes the HTTP stream at once
            async for delta in deltas:
                if delta.result is not None:
                    if structured:
                        _check_finished(delta.result)
                    announce(delta.result.route)
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
                self.client.llama_cpp.infill(prompt, suffix, **self._fim(kwargs))
            )
        return to_completion_response(self._chat(self._prompt(prompt), kwargs))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        if "suffix" in kwargs:
            suffix = kwargs.pop("suffix")
            result = await self.client.llama_cpp.ainfill(prompt, suffix, **self._fim(kwargs))
            return infill_response(result)
        return to_completion_response(await self._achat(self._prompt(prompt), kwargs))

    def _fim(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # Sampling options as for chat; infill has no messages, tools or reasoning.
        return {**self.options(), **kwargs}

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """`suffix=...` streams the middle from /infill, as `complete(suffix=...)` answers it."""
        if "suffix" in kwargs:
            suffix = kwargs.pop("suffix")
            stream = InfillStream().response
            deltas = self.client.llama_cpp.stream_infill(prompt, suffix, **self._fim(kwargs))
            return (stream(d) for d in deltas)
        return (to_completion_response(r) for r in self._stream_chat(self._prompt(prompt), kwargs))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        if "suffix" in kwargs:
            return self._astream_infill(prompt, kwargs.pop("suffix"), kwargs)
        responses = self._astream_chat(self._prompt(prompt), kwargs)
        return (to_completion_response(r) async for r in responses)

    async def _astream_infill(
        self, prefix: str, suffix: str, kwargs: dict[str, Any]
    ) -> CompletionResponseAsyncGen:
        stream = InfillStream().response
        deltas = self.client.llama_cpp.astream_infill(prefix, suffix, **self._fim(kwargs))
        async with aclosing(deltas):  # stopping early closes the HTTP stream at once
            async for delta in deltas:
                yield stream(delta)

    # Structured output: an answer cut off by the token limit raises TruncatedOutputError.
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        result: Model = super().structured_predict(
            output_cls, prompt, _structured(llm_kwargs), **prompt_args
        )
        return result

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        result: Model = await super().astructured_predict(
            output_cls, prompt, _structured(llm_kwargs), **prompt_args
        )
        return result

    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | FlexibleModel, None, None]:
        return super().stream_structured_predict(
            output_cls, prompt, _structured(llm_kwargs), **prompt_args
        )

    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | FlexibleModel, None]:
        return await super().astream_structured_predict(
            output_cls, prompt, _structured(llm_kwargs), **prompt_args
        )

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
        return self.client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        return await self.client.alist_models()

    # Token counts (llama-server only; other backends raise FeatureNotSupportedError) -----
    @property
    def tokenizer(self) -> Tokenizer:
        """The served model's tokenizer as LlamaIndex wants one (text -> ids): for
        `Settings.tokenizer`, `TokenTextSplitter(tokenizer=...)` and
        `ChatMemoryBuffer(tokenizer_fn=...)`. Cached per text; raises
        FeatureNotSupportedError on backends without /tokenize."""
        return Tokenizer(lambda: self.client.llama_cpp)

    def count_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        """The `prompt_tokens` a chat with these messages (and kwargs, e.g. tools) will use."""
        return self.client.llama_cpp.count_prompt_tokens(self._request(messages, kwargs))

    async def acount_tokens(self, messages: Sequence[ChatMessage], **kwargs: Any) -> int:
        return await self.client.llama_cpp.acount_prompt_tokens(self._request(messages, kwargs))
