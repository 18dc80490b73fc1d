"""Every chat contender, built the way a user would build it against the loopback server.

zenllama's classes on each wire, and the mainstream class for that wire and framework (None
where no such class is installed; the table then says so).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from llama_index.core.llms import LLM
from llama_index.llms.openai_like import OpenAILike
from pydantic import SecretStr

from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama

from .raw import Api

KEY = SecretStr("dummy")


def chat_zen(base_url: str, model: str, api: Api = "chat", **fields: Any) -> ChatZenLlama:
    return ChatZenLlama(base_url=base_url, model=model, api_key=KEY, api=api, **fields)


def llama_index_zen(base_url: str, model: str, api: Api = "chat") -> ZenLlama:
    return ZenLlama(base_url=base_url, model=model, api_key=KEY, api=api)


def chat_peer(api: Api, base_url: str, model: str) -> tuple[str, BaseChatModel]:
    """The mainstream LangChain class on `api`, by name."""
    if api == "messages":
        from langchain_anthropic import ChatAnthropic

        root = base_url.removesuffix("/v1")  # the Anthropic SDK adds /v1/messages itself
        # max_tokens is required by the API.
        anthropic = ChatAnthropic(  # type: ignore[call-arg,unused-ignore]
            model=model, base_url=root, api_key=KEY, max_tokens=4096
        )
        return "ChatAnthropic", anthropic
    if api == "responses":
        responses = ChatOpenAI(model=model, base_url=base_url, api_key=KEY, use_responses_api=True)
        return "ChatOpenAI-responses", responses
    return "ChatOpenAI", ChatOpenAI(model=model, base_url=base_url, api_key=KEY)


def llama_index_peer(api: Api, base_url: str, model: str) -> tuple[str, LLM] | None:
    """The mainstream LlamaIndex class on `api`, or None (no LlamaIndex Anthropic class is in
    the bench extra)."""
    if api == "responses":
        from llama_index.llms.openai import OpenAIResponses

        llm: LLM = OpenAIResponses(
            model=model, api_base=base_url, api_key="dummy", context_window=8192
        )
        return "OpenAIResponses", llm
    if api == "chat":
        like: LLM = OpenAILike(
            model=model,
            api_base=base_url,
            api_key="dummy",
            is_chat_model=True,
            context_window=8192,
        )
        return "OpenAILike", like
    return None
