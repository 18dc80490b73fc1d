"""A chat call's kwargs, with the object's own settings, made into one typed ChatRequest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zenllama.core import errors
from zenllama.core.backends import Api
from zenllama.core.request import LLAMA_CPP_FIELDS, ROUTE_OPTION, ChatRequest, Message

if TYPE_CHECKING:
    from zenllama.core.routing import FallbackSpec

# Sampling options of a chat request, sent only when set.
OPTION_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "seed",
    *LLAMA_CPP_FIELDS,
)


class CallKwargs:
    """Mixed into ChatFields, which declares the fields below (and resolves the fallbacks)."""

    if TYPE_CHECKING:
        reasoning: bool | int | str | None
        reasoning_effort: str | None
        thinking_budget: int | None
        preserve_thinking: bool | None
        stream_usage: bool
        reasoning_open: bool | None
        api: Api | None
        prompt_cache: str | None
        extra_body: dict[str, Any] | None

        def _fallbacks(self) -> list[FallbackSpec]: ...

        def _session(self) -> str | None: ...

    def options(self) -> dict[str, Any]:
        return {name: value for name in OPTION_FIELDS if (value := getattr(self, name)) is not None}

    def chat_request(
        self,
        messages: Sequence[Message],
        kwargs: Mapping[str, Any],
        stop: list[str] | None = None,
    ) -> ChatRequest:
        """The call's one typed request: these settings, overridden by call-time kwargs; kwargs
        that name no part of the request are request fields (options)."""
        kwargs = dict(kwargs)
        route = kwargs.pop(ROUTE_OPTION, None)
        if route is not None and not self._fallbacks():
            raise errors.InvalidSettingError(
                f"route={route!r} needs fallbacks: pass fallbacks=[...] or set BACKEND_FALLBACK_URL"
            )
        tools = kwargs.pop("tools", None) or ()
        tool_choice = kwargs.pop("tool_choice", None)
        parallel_tool_calls = kwargs.pop("parallel_tool_calls", None)
        reasoning = kwargs.pop("reasoning", self.reasoning)
        reasoning_effort = kwargs.pop("reasoning_effort", self.reasoning_effort)
        thinking_budget = kwargs.pop("thinking_budget", self.thinking_budget)
        preserve_thinking = kwargs.pop("preserve_thinking", self.preserve_thinking)
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        reasoning_open = kwargs.pop("reasoning_open", self.reasoning_open)
        api = kwargs.pop("api", self.api)
        prompt_cache = kwargs.pop("prompt_cache", self.prompt_cache)
        extra_body = {**(self.extra_body or {}), **(kwargs.pop("extra_body", None) or {})}
        options = self.options()
        if stop is not None:
            options["stop"] = stop
        if not options.get("stop", True):  # LangChain passes stop=[] for "none"
            del options["stop"]
        options.update(kwargs)
        return ChatRequest(
            messages,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=parallel_tool_calls,
            reasoning=reasoning,
            reasoning_effort=reasoning_effort,
            thinking_budget=thinking_budget,
            preserve_thinking=preserve_thinking,
            stream_usage=stream_usage,
            reasoning_open=reasoning_open,
            api=api,
            options=options,
            extra_body=extra_body,
            route=route,
            prompt_cache=prompt_cache,
            session_id=self._session(),
        )
