"""ChatZenLlama: a LangChain chat model on zen or llama-server, switched by BACKEND_URL."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.load.serializable import SerializedConstructor, SerializedNotImplemented
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import (
    Runnable,
    RunnableGenerator,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, model_validator

from zenllama.core import ChatRequest, ModelInfo
from zenllama.core import message_shapes as shapes
from zenllama.core.errors import check_finished, redact_url
from zenllama.core.prompt_cache import CACHE_CONTROL
from zenllama.core.request import named_tool_choice, tool_name
from zenllama.frameworks.fields import ChatFields
from zenllama.frameworks.llama_cpp_methods import LlamaCppMethods

from .messages import PROVIDER, to_ai_message, to_message_chunk, to_wire_messages
from .routing import aannounce, announce


def _check(message: BaseMessage, text: list[str]) -> None:
    if isinstance(message.content, str):
        text.append(message.content)
    reason = message.response_metadata.get("finish_reason")
    if reason is not None:
        usage = getattr(message, "usage_metadata", None) or {}
        check_finished(reason, "".join(text), usage.get("output_tokens"))


def _finished(messages: Iterator[BaseMessage]) -> Iterator[BaseMessage]:
    """Passes the answer (or its chunks) on; TruncatedOutputError where it hit the limit."""
    text: list[str] = []
    for message in messages:
        _check(message, text)
        yield message


async def _afinished(messages: AsyncIterator[BaseMessage]) -> AsyncIterator[BaseMessage]:
    text: list[str] = []
    async for message in messages:
        _check(message, text)
        yield message


# The estimate where the backend has no tokenizer endpoint (LangChain's own approximation).
CHARS_PER_TOKEN = 4.0


def _with_mark(formatted: dict[str, Any], tool: Any) -> dict[str, Any]:
    """A tool's `cache_control` (an Anthropic-format dict's, or a BaseTool's `extras`, as
    ChatAnthropic reads them) kept beside its OpenAI form: the Messages wire sends it."""
    extras = getattr(tool, "extras", None)
    source = tool if isinstance(tool, dict) else extras if isinstance(extras, dict) else {}
    if mark := source.get(CACHE_CONTROL):
        return {**formatted, CACHE_CONTROL: mark}
    return formatted


class ChatZenLlama(ChatFields, LlamaCppMethods, BaseChatModel):
    """Chat model for OpenCode zen, a local llama-server, or any OpenAI-compatible server.

    Reasoning lands in `additional_kwargs["reasoning_content"]` (and so in `content_blocks`),
    usage in `usage_metadata` with cache reads and writes (`input_token_details.cache_read`,
    `cache_creation`) and reasoning tokens, llama.cpp `timings` in `response_metadata`.
    `cache_control` on content blocks and tools goes to Anthropic Messages as ChatAnthropic
    sends it; `prompt_cache` places breakpoints itself (see the field).

    Example:
        ```python
        from zenllama.langchain import ChatZenLlama

        llm = ChatZenLlama()  # BACKEND_URL, BACKEND_API_KEY, BACKEND_MODEL from the environment
        llm.invoke("Hello")
        ```
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model_name: str | None = Field(default=None, alias="model")
    """Model id; BACKEND_MODEL if not given. llama-server serves its one model without it."""
    streaming: bool = False

    @model_validator(mode="after")
    def _resolve_backend(self) -> ChatZenLlama:
        # Settings are read here (cheap, no network); the core client is built on first use.
        self.model_name = self._resolve().model
        return self

    def _model_id(self) -> str | None:
        return self.model_name

    @property
    def _llm_type(self) -> str:
        return "zenllama-chat"

    # LangChain serialization: `dumps` writes the settings, never the key; `loads` needs
    # valid_namespaces=["zenllama"] and allowed_objects=[ChatZenLlama].
    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["zenllama", "langchain"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "BACKEND_API_KEY"}

    def to_json(self) -> SerializedConstructor | SerializedNotImplemented:
        data = super().to_json()
        if data["type"] != "constructor":
            return data
        kwargs = data["kwargs"]
        if self._session_drawn:
            # A random conversation id is not a setting: a loaded model draws its own.
            kwargs.pop("session_id", None)
        if kwargs.get("base_url"):
            kwargs["base_url"] = redact_url(kwargs["base_url"])  # a gateway's key in the URL
        if kwargs.get("fallbacks"):
            # Plain settings (the URL masked, never the key) that `loads` validates back.
            kwargs["fallbacks"] = [f.model_dump(exclude_none=True) for f in kwargs["fallbacks"]]
        return data

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "base_url": redact_url(self.base_url) if self.base_url else None,
            "backend": self.backend,
            **self.options(),
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model")
            or self.model_name
            or self.served_model()
            or "default",
            ls_model_type="chat",
        )
        if self.temperature is not None:
            params["ls_temperature"] = kwargs.get("temperature", self.temperature)
        if self.max_tokens is not None:
            params["ls_max_tokens"] = kwargs.get("max_tokens", self.max_tokens)
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # Requests ------------------------------------------------------------------------
    def _request(
        self, messages: list[BaseMessage], kwargs: dict[str, Any], stop: list[str] | None
    ) -> ChatRequest:
        return self.chat_request(to_wire_messages(messages), kwargs, stop)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        result = self.client.complete(self._request(messages, kwargs, stop))
        announce(run_manager, result.route)
        return ChatResult(generations=[ChatGeneration(message=to_ai_message(result))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        result = await self.client.acomplete(self._request(messages, kwargs, stop))
        await aannounce(run_manager, result.route)
        return ChatResult(generations=[ChatGeneration(message=to_ai_message(result))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        on_token = run_manager.on_llm_new_token if run_manager else None
        for delta in self.client.stream(self._request(messages, kwargs, stop)):
            chunk = ChatGenerationChunk(message=to_message_chunk(delta))
            if delta.result is not None:
                announce(run_manager, delta.result.route)
            if on_token is not None:
                on_token(delta.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, kwargs, stop)
        # aclosing: a consumer that stops early closes the HTTP stream at once (frees the slot).
        async with aclosing(self.client.astream(request)) as deltas:
            async for delta in deltas:
                chunk = ChatGenerationChunk(message=to_message_chunk(delta))
                if delta.result is not None:
                    await aannounce(run_manager, delta.result.route)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(delta.text, chunk=chunk)
                yield chunk

    # Tools and structured output -----------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Binds tools; tool_choice is "auto", "none", "required"/"any"/True, or a tool's name."""
        formatted = [_with_mark(convert_to_openai_tool(t, strict=strict), t) for t in tools]
        named_tool_choice(formatted, tool_choice)  # an unbound name fails here, not at call time
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Structured output by `json_schema` (llama-server enforces it with a grammar),
        `function_calling` (a forced tool call) or `json_mode`."""
        if kwargs:
            raise ValueError(f"Unexpected arguments: {sorted(kwargs)}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        # Tracing metadata LangChain reads (BaseChatModel pops it before _generate).
        traced: dict[str, Any] = {
            "ls_structured_output_format": {
                "kwargs": {"method": method, "strict": strict},
                "schema": convert_to_openai_tool(schema) if schema is not None else None,
            }
        }
        parser: Runnable[Any, Any]
        if method == "function_calling":
            if schema is None:
                raise ValueError("method='function_calling' needs a schema")
            name = tool_name(convert_to_openai_tool(schema))
            llm = self.bind_tools([schema], tool_choice=name, strict=strict, **traced)
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_schema":
            if schema is None:
                raise ValueError("method='json_schema' needs a schema")
            response_format = shapes.json_schema_format(convert_to_json_schema(schema), strict)
            llm = self.bind(response_format=response_format, **traced)
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        elif method == "json_mode":
            llm = self.bind(response_format=shapes.JSON_OBJECT_FORMAT, **traced)
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"Unknown method {method!r}: use 'json_schema', 'function_calling' or 'json_mode'"
            )
        # A structured answer cut off by the token limit is an error, never a parsed result.
        parser = RunnableGenerator(_finished, _afinished) | parser
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )

    # Server facts --------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        return self.client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        return await self.client.alist_models()

    # Token counts --------------------------------------------------------------------
    # llama-server: exact, from the served model's own tokenizer and chat template (cached per
    # text). Other backends have no tokenizer endpoint: counts are LangChain's documented
    # estimate (`count_tokens_approximately`, about 4 characters a token) and ids raise
    # FeatureNotSupportedError. Nothing is ever downloaded.
    def get_token_ids(self, text: str) -> list[int]:
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return self.client.llama_cpp.tokenize(text)

    async def aget_token_ids(self, text: str) -> list[int]:
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return await self.client.llama_cpp.atokenize(text)

    def get_num_tokens(self, text: str) -> int:
        if self.custom_get_token_ids is None and not self.client.llama_cpp.available:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(self.get_token_ids(text))

    async def aget_num_tokens(self, text: str) -> int:
        if self.custom_get_token_ids is None and not await self.client.llama_cpp.aavailable():
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(await self.aget_token_ids(text))

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """llama-server: the `usage.prompt_tokens` a call with these messages (and tools, and
        this model's settings) will report, counted before sending it."""
        if not self.client.llama_cpp.available:
            return count_tokens_approximately(messages, tools=list(tools or ()))  # type: ignore[arg-type]
        return self.client.llama_cpp.count_prompt_tokens(self._count_request(messages, tools))

    async def aget_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        if not await self.client.llama_cpp.aavailable():
            return count_tokens_approximately(messages, tools=list(tools or ()))  # type: ignore[arg-type]
        request = self._count_request(messages, tools)
        return await self.client.llama_cpp.acount_prompt_tokens(request)

    def _count_request(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None,
    ) -> ChatRequest:
        specs = [convert_to_openai_tool(tool) for tool in tools or ()]
        return self.chat_request(to_wire_messages(messages), {"tools": specs})

    # Fill in the middle (llama-server /infill, a code model with FIM tokens) ------------
    def infill(self, prefix: str, suffix: str = "", **kwargs: Any) -> str:
        """The code between `prefix` and `suffix`; kwargs: sampling fields, `extra` files."""
        return self.client.llama_cpp.infill(prefix, suffix, **{**self.options(), **kwargs}).text

    async def ainfill(self, prefix: str, suffix: str = "", **kwargs: Any) -> str:
        result = await self.client.llama_cpp.ainfill(prefix, suffix, **{**self.options(), **kwargs})
        return result.text

    def stream_infill(self, prefix: str, suffix: str = "", **kwargs: Any) -> Iterator[str]:
        """`infill`, streamed: the middle's pieces as they come."""
        options = {**self.options(), **kwargs}
        for delta in self.client.llama_cpp.stream_infill(prefix, suffix, **options):
            yield delta.text

    async def astream_infill(
        self, prefix: str, suffix: str = "", **kwargs: Any
    ) -> AsyncGenerator[str, None]:
        options = {**self.options(), **kwargs}
        deltas = self.client.llama_cpp.astream_infill(prefix, suffix, **options)
        async with aclosing(deltas):  # stopping early closes the HTTP stream at once
            async for delta in deltas:
                yield delta.text

    def as_infill(self, **kwargs: Any) -> Runnable[dict[str, str], str]:
        """A runnable: `{"prefix": ..., "suffix": ...}` in, the middle out (sync, async, batch,
        and streamed: `stream` / `astream` give its pieces as /infill sends them)."""

        def run(parts: dict[str, str]) -> Iterator[str]:
            yield from self.stream_infill(parts["prefix"], parts.get("suffix", ""), **kwargs)

        async def arun(parts: dict[str, str]) -> AsyncGenerator[str, None]:
            pieces = self.astream_infill(parts["prefix"], parts.get("suffix", ""), **kwargs)
            async with aclosing(pieces):
                async for piece in pieces:
                    yield piece

        return RunnableLambda(run, afunc=arun, name="ZenLlamaInfill")
