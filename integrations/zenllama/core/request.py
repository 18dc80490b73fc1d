"""The typed chat request: one call's parts, normalised once where the call is made.

A framework class makes one `ChatRequest` from its settings and the call's kwargs
(`ChatFields.chat_request`); it travels unchanged to the wire that builds the body
(`wires/`), through `ChatClient`, `RoutedChatClient` (which adapts it per backend with
`dataclasses.replace`) and `LlamaCpp`'s prompt counts. Reasoning settings are checked here,
once: a contradiction is an InvalidSettingError before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .backends import Api
from .errors import InvalidSettingError

Message = dict[str, Any]
ToolSpec = dict[str, Any]
# What a caller may pass as tool_choice: "auto", "none", "required"/"any"/True, False, a
# tool's name, or the OpenAI object naming one function.
ToolChoiceSetting = str | bool | Mapping[str, Any] | None
# `reasoning`: on/off (a bool, "on"/"off"), a thinking budget in tokens (an int), or an effort.
Reasoning = bool | int | str | None
REASONING_OFF = ("off", "none", "false", "disabled")
REASONING_ON = ("on", "true", "enabled", "auto")
EFFORT_LEVELS = ("minimal", "low", "medium", "high")
# The per-call option naming the backend of a routed model that must serve the call.
ROUTE_OPTION = "route"
# `prompt_cache`: "auto" (zenllama adds the cache hints each wire has: Messages breakpoints
# past the family's minimum, Responses `prompt_cache_key`) or "off" (none of its own; explicit
# `cache_control` still goes). Unset means the default (prompt_cache.py says why "auto").
PROMPT_CACHE_SETTINGS = ("auto", "off")
PROMPT_CACHE_DEFAULT = "auto"


class ReasoningMode(NamedTuple):
    """The reasoning settings once normalised, for every wire: on (None: not asked either
    way), a thinking budget in tokens, an effort level."""

    on: bool | None
    budget: int | None
    effort: str | None


# Request fields llama.cpp (and some gateways) understand beyond OpenAI's; sent only when set.
LLAMA_CPP_FIELDS = (
    "top_k",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "repeat_last_n",
    "presence_penalty",
    "frequency_penalty",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "n_probs",
    "cache_prompt",
    "id_slot",
    "grammar",
    "json_schema",
    "chat_template_kwargs",
    "reasoning_format",
    "samplers",
    "dry_multiplier",
    "xtc_probability",
)


def tool_name(tool: ToolSpec) -> str:
    return str(tool.get("function", tool).get("name", ""))


def named_tool_choice(
    tools: Sequence[ToolSpec], tool_choice: str | bool | Mapping[str, Any] | None
) -> str | None:
    """The tool a tool_choice names, if it names one; a ValueError if that tool is not bound."""
    if isinstance(tool_choice, Mapping):
        named = tool_name(dict(tool_choice))
    elif isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required", "any"):
        named = tool_choice
    else:
        return None
    bound = [tool_name(t) for t in tools]
    if named not in bound:
        raise ValueError(
            f"tool_choice names {named!r}, which is not among the bound tools {bound}; "
            "pass that tool along with the call, or use 'auto', 'required' or 'none'"
        )
    return named


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call: the messages and every part that shapes its body or how its answer is
    read. `options` holds the request fields sent as they are (sampling, `model`, llama.cpp's
    fields); reasoning aliases and `route` found among them are taken out into their fields
    here, so every wire and the router read one place. `mode` is the resolved reasoning."""

    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoiceSetting = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    preserve_thinking: bool | None = None
    stream_usage: bool = True
    # How the answer is read, not part of the body: the prompt ends in an open <think>.
    reasoning_open: bool | None = None
    api: Api | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    extra_body: Mapping[str, Any] | None = None
    # The backend of a routed model that must serve this call (RoutedChatClient).
    route: str | None = None
    # "auto", "off", or None for PROMPT_CACHE_DEFAULT; the conversation's id, which keys its
    # prompt cache where the wire has a key (Responses `prompt_cache_key`; ChatClient fills
    # in its settings' session id, the one zen's session header carries, when unset).
    prompt_cache: str | None = None
    session_id: str | None = None
    mode: ReasoningMode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        options = dict(self.options or {})
        effort = options.pop("reasoning_effort", None)
        budget = options.pop("thinking_budget", None)
        route = options.pop(ROUTE_OPTION, None)
        put = object.__setattr__  # frozen: normalised once, here
        put(self, "options", options)
        put(self, "tools", self.tools or ())
        if self.reasoning_effort is None and effort is not None:
            put(self, "reasoning_effort", effort)
        if self.thinking_budget is None and budget is not None:
            put(self, "thinking_budget", budget)
        if self.route is None and route is not None:
            put(self, "route", route)
        put(
            self,
            "mode",
            resolve_reasoning(self.reasoning, self.reasoning_effort, self.thinking_budget),
        )
        if self.prompt_cache is not None and self.prompt_cache not in PROMPT_CACHE_SETTINGS:
            raise InvalidSettingError(
                f"prompt_cache={self.prompt_cache!r}: use 'auto' (zenllama adds cache "
                "breakpoints and keys where they pay), 'off' (only your own cache_control), "
                f"or leave it unset for the default ({PROMPT_CACHE_DEFAULT!r})"
            )

    @property
    def auto_cache(self) -> bool:
        """zenllama adds its own prompt-cache hints to this call."""
        return (self.prompt_cache or PROMPT_CACHE_DEFAULT) == "auto"

    @property
    def model(self) -> str | None:
        """The model named for this call (`options["model"]`), if any."""
        model = self.options.get("model")
        return None if model is None else str(model)


def reasoning_mode(reasoning: Reasoning) -> tuple[bool, int | None, str | None]:
    """(on, budget, effort) of a `reasoning` setting; an InvalidSettingError says what is
    accepted."""
    if isinstance(reasoning, bool):
        return reasoning, None, None
    if isinstance(reasoning, int):
        if reasoning < 0:
            raise InvalidSettingError(
                f"reasoning budget {reasoning} is negative: use 0 or more tokens"
            )
        return True, reasoning, None
    if isinstance(reasoning, str):
        level = reasoning.lower()
        if level in REASONING_OFF:
            return False, None, None
        if level in REASONING_ON:
            return True, None, None
        if level in EFFORT_LEVELS:
            return True, None, level
    choices = ", ".join(("off", "on", *EFFORT_LEVELS))
    raise InvalidSettingError(
        f"reasoning={reasoning!r}: use True/False, {choices}, or a token budget (an int)"
    )


def resolve_reasoning(
    reasoning: Reasoning = None,
    reasoning_effort: str | None = None,
    thinking_budget: int | None = None,
) -> ReasoningMode:
    """`reasoning` and its aliases as one ReasoningMode; an alias turns reasoning on, as
    `reasoning=<effort>` or `reasoning=<budget>` would. Contradictions are refused, not
    guessed: an InvalidSettingError names both settings."""
    if reasoning is None:
        on, budget, effort = None, None, None
    else:
        on, budget, effort = reasoning_mode(reasoning)
    if reasoning_effort is not None:
        if not isinstance(reasoning_effort, str) or not reasoning_effort:
            raise InvalidSettingError(
                f"reasoning_effort={reasoning_effort!r}: use an effort level such as "
                f"{', '.join(EFFORT_LEVELS)}"
            )
        alias = reasoning_effort.lower()
        _agree("reasoning_effort", reasoning_effort, reasoning, on, effort, alias)
        on, effort = True, alias
    if thinking_budget is not None:
        if isinstance(thinking_budget, bool) or not isinstance(thinking_budget, int):
            raise InvalidSettingError(
                f"thinking_budget={thinking_budget!r}: use a token budget (an int)"
            )
        if thinking_budget < 0:
            raise InvalidSettingError(
                f"thinking_budget={thinking_budget} is negative: use 0 or more tokens"
            )
        _agree("thinking_budget", thinking_budget, reasoning, on, budget, thinking_budget)
        on, budget = True, thinking_budget
    return ReasoningMode(on, budget, effort)


def _agree(
    alias: str, value: Any, reasoning: Reasoning, on: bool | None, own: Any, wanted: Any
) -> None:
    if on is False:
        raise InvalidSettingError(
            f"reasoning={reasoning!r} switches thinking off, but {alias}={value!r} asks for "
            f"it: drop one of them"
        )
    if own is not None and own != wanted:
        raise InvalidSettingError(
            f"reasoning={reasoning!r} and {alias}={value!r} disagree: set only one of them "
            f"({alias} is an alias of reasoning)"
        )
