"""Every backend quirk in one place: a profile per backend, and how one is recognised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

# When earlier assistant turns' reasoning goes back to the model:
# "always": every assistant turn; "tool_loop": only turns after the last user message
# (the current tool loop); "never": stripped.
ReasoningPassBack = Literal["always", "tool_loop", "never"]

# The request/answer dialects zenllama speaks (core/wires): chat completions, OpenAI
# Responses, Anthropic Messages.
Api = Literal["chat", "responses", "messages"]
APIS: tuple[Api, ...] = ("chat", "responses", "messages")

# The fewest prompt tokens Anthropic caches, per Claude family (first matching prefix wins);
# a shorter prefix is processed without caching, with no error and no write charged.
# https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (cache limitations).
# An unknown claude-* gets the lowest minimum: a breakpoint under its true one costs nothing.
CLAUDE_CACHE_MINIMUMS: tuple[tuple[str, int], ...] = (
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
    ("claude", 1024),  # Sonnet 4.5/4/3.7, Opus 4.1/4
)


@dataclass(frozen=True)
class BackendProfile:
    name: str
    default_base_url: str
    api_key_env: tuple[str, ...] = ("BACKEND_API_KEY",)
    # llama-server honours only string tool_choice; a named tool must become "required".
    tool_choice_strings_only: bool = False
    # Models (by name prefix) that accept only tool_choice "auto" (GLM: Z.ai's API documents
    # "auto" as its only value). Other choices are downgraded with a ToolChoiceDowngradedWarning.
    auto_only_tool_choice_models: tuple[str, ...] = ()
    # Chat is refused before sending when no key is set (zen answers keyless chat with 401/403);
    # listing models stays keyless.
    requires_api_key: bool = False
    reasoning_pass_back: ReasoningPassBack = "never"
    # Header that keeps one conversation on one prompt cache (zen's `x-opencode-session`).
    session_header: str | None = None
    # Request fields that switch reasoning off / on for one call.
    reasoning_off: dict[str, Any] = field(default_factory=dict)
    reasoning_on: dict[str, Any] = field(default_factory=dict)
    # Where a thinking budget (tokens) and an effort level ("low".."high") go; None: the backend
    # has no such field, and the setting warns and sends only "on".
    reasoning_budget_field: str | None = None
    reasoning_effort_field: str | None = None
    # The chat template kwarg an effort becomes (llama-server puts its chat `reasoning_effort`
    # there): the Messages wire sends it so, as llama-server's /v1/messages keeps only
    # chat_template_kwargs of the chat fields (tools/server/server-chat.cpp).
    reasoning_effort_template_kwarg: str | None = None
    # Request fields that keep earlier turns' reasoning in the model's context (GLM's preserved
    # thinking); the reasoning itself goes back by `reasoning_pass_back`.
    preserve_thinking_on: dict[str, Any] = field(default_factory=dict)
    # Context windows of models the backend serves, where the server does not report one.
    context_windows: dict[str, int] = field(default_factory=dict)
    # llama.cpp's own endpoints (/tokenize, /apply-template, /infill, /slots, router models).
    llama_cpp_endpoints: bool = False
    # llama.cpp's own request fields (grammar, id_slot, …: request.LLAMA_CPP_FIELDS) are
    # understood; a routed call leaves them out for backends without them.
    llama_cpp_fields: bool = False
    # The server's own template and tokenizer count a chat prompt exactly (prompt_size):
    # routing sizes a prompt against the window before sending.
    counts_prompts: bool = False
    # /props describes the served model (`model_path`) and its chat template (whether it opens
    # <think>); other backends have no /props, or none that says so.
    props_describe_model: bool = False
    # The server option that sets its context window, named in a context-overflow hint; None:
    # nothing to raise where the backend runs (the hint says to lower max_tokens).
    context_size_option: str | None = None
    # The name a routed backend of this kind goes by unless given one; None: its URL's host
    # ("local" on loopback).
    route_name: str | None = None
    # The API each model family is served on, by model-name prefix; "chat" for the rest.
    # A value outside APIS names a format zenllama does not speak (a clear error, not sent).
    model_apis: tuple[tuple[str, str], ...] = ()
    # `reasoning_on/off` are template switches every endpoint honours (llama-server passes
    # chat_template_kwargs through its /v1/messages and /v1/responses), not chat-only fields.
    reasoning_fields_on_every_api: bool = False
    # Reasoning without the wire's own proof (an Anthropic signature, Responses encrypted
    # content) may go back: a local server re-reads it as text. Hosted APIs verify it.
    accepts_unsigned_reasoning: bool = False
    # Extra fields of every Responses request (stateless use: reasoning comes back encrypted
    # so it can be passed back without server-side storage).
    responses_fields: dict[str, Any] = field(default_factory=dict)
    # Responses requests ask for reasoning summaries even when `reasoning` is unset, as the
    # backend takes the `reasoning` object for every model (zen's gpt-* all reason;
    # llama-server accepts it for any model). Elsewhere only reasoning on asks: OpenAI's API
    # refuses the object for a non-reasoning model.
    responses_reasoning_default: bool = False
    # Anthropic Messages models (by name prefix) whose prompt cache starts only at
    # `cache_control` breakpoints, with the fewest prompt tokens each caches: zenllama's own
    # breakpoints (prompt_cache="auto") go only to these. A backend that caches every prefix
    # by itself (llama-server) has none.
    cache_breakpoint_minimums: tuple[tuple[str, int], ...] = ()
    # Responses requests carry `prompt_cache_key` (OpenAI's field that routes a conversation's
    # requests to one cache); a backend whose Responses API lacks it is never sent one.
    prompt_cache_key: bool = False

    def api_for(self, model: str | None) -> str:
        """The API this backend serves `model` on, by its family prefix."""
        name = (model or "").lower()
        return next((api for prefix, api in self.model_apis if name.startswith(prefix)), "chat")

    def cache_minimum(self, model: str | None) -> int | None:
        """The fewest prompt tokens `model` caches at a breakpoint; None: no breakpoints of
        zenllama's own go to it."""
        name = (model or "").lower()
        found = (n for prefix, n in self.cache_breakpoint_minimums if name.startswith(prefix))
        return next(found, None)


LLAMA_SERVER = BackendProfile(
    name="llama-server",
    default_base_url="http://127.0.0.1:8080/v1",
    tool_choice_strings_only=True,
    reasoning_pass_back="always",
    reasoning_off={"chat_template_kwargs": {"enable_thinking": False}},
    reasoning_on={"chat_template_kwargs": {"enable_thinking": True}},
    # Budget: the sampler ends thinking after N tokens. Effort: handed to the chat template
    # (`reasoning_effort` kwarg; gpt-oss templates read it).
    reasoning_budget_field="reasoning_budget_tokens",
    reasoning_effort_field="reasoning_effort",
    reasoning_effort_template_kwarg="reasoning_effort",
    # GLM chat templates (GLM-4.7-Flash.jinja) read the same switch zen takes in the body.
    preserve_thinking_on={"chat_template_kwargs": {"clear_thinking": False}},
    llama_cpp_endpoints=True,
    llama_cpp_fields=True,
    counts_prompts=True,
    props_describe_model=True,
    context_size_option="--ctx-size",
    reasoning_fields_on_every_api=True,
    accepts_unsigned_reasoning=True,
    responses_reasoning_default=True,
)

ZEN = BackendProfile(
    name="zen",
    default_base_url="https://opencode.ai/zen/v1",
    api_key_env=("BACKEND_API_KEY", "OPENCODE_API_KEY"),
    auto_only_tool_choice_models=("glm",),
    requires_api_key=True,
    # GLM 4.7 interleaved thinking wants the assistant turn's reasoning back with tool results;
    # preserved thinking wants every earlier turn's, complete and in order.
    reasoning_pass_back="always",
    session_header="x-opencode-session",
    reasoning_off={"thinking": {"type": "disabled"}},
    reasoning_on={"thinking": {"type": "enabled"}},
    # The reference names only the field; Z.ai API clients send it inside `thinking`; it means
    # something only while thinking is on.
    preserve_thinking_on={"thinking": {"type": "enabled", "clear_thinking": False}},
    context_windows={"glm-4.7": 200_000, "glm-4.7-free": 200_000, "glm-4.6": 200_000},
    # zen's docs list each model with its endpoint; the families route as a whole.
    model_apis=(("claude", "messages"), ("gpt", "responses"), ("gemini", "google")),
    responses_fields={"store": False, "include": ["reasoning.encrypted_content"]},
    responses_reasoning_default=True,
    cache_breakpoint_minimums=CLAUDE_CACHE_MINIMUMS,
    prompt_cache_key=True,
    route_name="zen",
)

DEEPSEEK = BackendProfile(
    name="deepseek",
    default_base_url="https://api.deepseek.com/v1",
    # Older reasoner models reject reasoning in input; thinking with tools wants it in the loop.
    reasoning_pass_back="tool_loop",
    reasoning_effort_field="reasoning_effort",
    route_name="deepseek",
)

OPENAI_COMPATIBLE = BackendProfile(
    name="openai-compatible",
    default_base_url="http://127.0.0.1:8080/v1",
    # OpenAI's own name for it; servers that do not know it ignore it.
    reasoning_effort_field="reasoning_effort",
    # Anthropic's and OpenAI's own APIs, reached with `api=` on a generic URL.
    cache_breakpoint_minimums=CLAUDE_CACHE_MINIMUMS,
    prompt_cache_key=True,
)

PROFILES: dict[str, BackendProfile] = {
    p.name: p for p in (LLAMA_SERVER, ZEN, DEEPSEEK, OPENAI_COMPATIBLE)
}


def profile_named(name: str) -> BackendProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(["auto", *PROFILES])
        raise ValueError(f"Unknown backend {name!r}; use one of: {known}") from None


def profile_from_url(url: str) -> BackendProfile | None:
    """Recognises hosted backends by their host; None where only a probe can tell."""
    host = (urlparse(url).hostname or "").lower()
    if host == "opencode.ai" or host.endswith(".opencode.ai"):
        return ZEN
    if host.endswith("deepseek.com"):
        return DEEPSEEK
    return None


def looks_like_llama_server(props: Any) -> bool:
    """`/props` answers of llama-server carry its generation settings and slot count."""
    return isinstance(props, dict) and (
        "default_generation_settings" in props or "total_slots" in props
    )


def profile_from_props(props: Any) -> BackendProfile:
    """The backend a `/props` answer (None: there was none) shows: llama-server or a generic
    OpenAI-compatible server."""
    return LLAMA_SERVER if looks_like_llama_server(props) else OPENAI_COMPATIBLE
