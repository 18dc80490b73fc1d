"""Builds the chat-completions body: OpenAI-shaped messages in, the backend's dialect out."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .backends import BackendProfile
from .errors import InvalidSettingError, ToolChoiceDowngradedWarning, UnsupportedSettingWarning
from .wire import REASONING_BLOCKS_FIELD, REASONING_FIELD

Message = dict[str, Any]
ToolSpec = dict[str, Any]
# `reasoning`: on/off (a bool, "on"/"off"), a thinking budget in tokens (an int), or an effort.
Reasoning = bool | int | str | None
REASONING_OFF = ("off", "none", "false", "disabled")
REASONING_ON = ("on", "true", "enabled", "auto")
EFFORT_LEVELS = ("minimal", "low", "medium", "high")


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


def normalize_tool_choice(
    profile: BackendProfile,
    model: str | None,
    tools: Sequence[ToolSpec],
    tool_choice: str | bool | Mapping[str, Any] | None,
) -> tuple[list[ToolSpec], str | dict[str, Any] | None]:
    """Returns the tools to send and tool_choice in a form this backend honours."""
    tools = list(tools)
    if tool_choice is None or tool_choice is False:
        return tools, None
    named = named_tool_choice(tools, tool_choice)
    if tool_choice is True or tool_choice == "any":
        tool_choice = "required"
    auto_only = bool(model) and any(
        str(model).lower().startswith(p) for p in profile.auto_only_tool_choice_models
    )
    if auto_only and tool_choice == "none":
        # Offering no tools says "none" exactly, in the one dialect every model takes.
        return [], None
    if auto_only and tool_choice != "auto":
        # Mapped, not refused: LangChain's function-calling structured output and LlamaIndex's
        # tool_required force a tool, and would otherwise not work on GLM at all.
        if named is not None:
            tools = [t for t in tools if tool_name(t) == named]
        warnings.warn(
            ToolChoiceDowngradedWarning(
                f"{model} on {profile.name} accepts only tool_choice='auto': sent 'auto' "
                f"instead of {tool_choice!r}"
                + (f" with only the {named!r} tool offered" if named is not None else "")
                + ", so the model may answer without calling a tool"
            ),
            stacklevel=4,
        )
        return tools, "auto"
    if named is not None:
        if profile.tool_choice_strings_only:
            # llama-server treats the object form as "auto": offer only that tool, and require it.
            return [t for t in tools if tool_name(t) == named], "required"
        return tools, {"type": "function", "function": {"name": named}}
    return tools, str(tool_choice)


def apply_reasoning_policy(profile: BackendProfile, messages: Sequence[Message]) -> list[Message]:
    """Keeps or strips earlier assistant turns' reasoning text as the backend wants.

    The wire's own reasoning items (`reasoning_blocks`: signed thinking blocks, encrypted
    reasoning items) always stay: going back unchanged is a rule of the Messages and Responses
    APIs (Anthropic refuses a thinking tool loop without them), not of a backend.
    """
    policy = profile.reasoning_pass_back
    if policy == "always":
        return list(messages)
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    out = []
    for i, message in enumerate(messages):
        keep = policy == "tool_loop" and i > last_user
        if not keep and REASONING_FIELD in message:
            message = {k: v for k, v in message.items() if k != REASONING_FIELD}
        out.append(message)
    return out


def _chat_message(message: Message) -> Message:
    # Other wires' reasoning items mean nothing to chat completions (a conversation that
    # switched model family); the reasoning text itself stays.
    if REASONING_BLOCKS_FIELD in message:
        return {k: v for k, v in message.items() if k != REASONING_BLOCKS_FIELD}
    return message


def build_chat_body(
    profile: BackendProfile,
    model: str | None,
    messages: Sequence[Message],
    *,
    stream: bool,
    tools: Sequence[ToolSpec] = (),
    tool_choice: str | bool | Mapping[str, Any] | None = None,
    parallel_tool_calls: bool | None = None,
    reasoning: Reasoning = None,
    reasoning_effort: str | None = None,
    thinking_budget: int | None = None,
    preserve_thinking: bool | None = None,
    stream_usage: bool = True,
    options: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if not messages:
        raise ValueError("messages is empty: send at least one message")
    options = dict(options or {})
    mode = take_reasoning(options, reasoning, reasoning_effort, thinking_budget)
    body: dict[str, Any] = {
        "messages": [_chat_message(m) for m in apply_reasoning_policy(profile, messages)]
    }
    if model:
        body["model"] = model
    if tools:
        sent_tools, choice = normalize_tool_choice(profile, model, tools, tool_choice)
        if sent_tools:
            body["tools"] = sent_tools
            if choice is not None:
                body["tool_choice"] = choice
            if named_tool_choice(tools, tool_choice) is not None:
                # Forcing one named tool asks for one call: with parallel calls allowed a model
                # may repeat it, and templates that take one call per turn (Llama 3.1) then
                # refuse the next turn.
                parallel_tool_calls = False
            if parallel_tool_calls is not None:
                body["parallel_tool_calls"] = parallel_tool_calls
    elif tool_choice not in (None, False, "auto", "none"):
        raise ValueError(f"tool_choice={tool_choice!r} needs tools: pass them along with the call")
    for key, value in options.items():
        if value is not None:
            body[key] = value
    if preserve_thinking:
        _switch(body, profile, "preserve_thinking", profile.preserve_thinking_on)
    if mode.on is not None:  # after preserving, so an explicit switch decides `thinking.type`
        _apply_reasoning(body, profile, mode)
    if stream:
        body["stream"] = True
        if stream_usage:
            body["stream_options"] = {"include_usage": True}
    if extra_body:
        deep_merge(body, extra_body)
    return body


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


def take_reasoning(
    options: dict[str, Any],
    reasoning: Reasoning,
    reasoning_effort: str | None,
    thinking_budget: int | None,
) -> ReasoningMode:
    """The mode of a request's reasoning parts; aliases a core caller put among `options`
    are taken out of them (and normalised with the rest), never sent raw."""
    effort = options.pop("reasoning_effort", None)
    budget = options.pop("thinking_budget", None)
    return resolve_reasoning(
        reasoning,
        reasoning_effort if reasoning_effort is not None else effort,
        thinking_budget if thinking_budget is not None else budget,
    )


def put_level(
    body: dict[str, Any], where: str, setting: str, value: Any, field: str | None
) -> bool:
    """Puts one reasoning level (budget, effort) in its field; where there is none it warns
    and is not sent. True when it went."""
    if value is None:
        return False
    if field is None:
        warnings.warn(
            f"{setting} has no request field on {where} and was not sent; pass the backend's "
            "own field in extra_body",
            UnsupportedSettingWarning,
            stacklevel=6,
        )
        return False
    body[field] = value
    return True


def _apply_reasoning(body: dict[str, Any], profile: BackendProfile, mode: ReasoningMode) -> None:
    where = f"the {profile.name} backend"
    budget_sent = put_level(
        body, where, "a reasoning budget", mode.budget, profile.reasoning_budget_field
    )
    effort_sent = put_level(
        body, where, "a reasoning effort", mode.effort, profile.reasoning_effort_field
    )
    fields = profile.reasoning_on if mode.on else profile.reasoning_off
    if fields or not (budget_sent or effort_sent):  # a level alone is the switch if no other
        _switch(body, profile, "reasoning", fields, stacklevel=6)


def _switch(
    body: dict[str, Any],
    profile: BackendProfile,
    setting: str,
    fields: Mapping[str, Any],
    stacklevel: int = 5,
) -> None:
    if not fields:
        warnings.warn(
            f"{setting} has no request field on the {profile.name} backend and is not sent; "
            "pass the backend's own field in extra_body",
            UnsupportedSettingWarning,
            stacklevel=stacklevel,
        )
    deep_merge(body, fields)


def deep_merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key] = {**target[key]}
            deep_merge(target[key], value)
        else:
            target[key] = value
