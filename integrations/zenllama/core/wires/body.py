"""What the wires' body builders share: tool choice in each backend's dialect, reasoning
pass-back, system prompts apart, levels and switches the backend may lack (warned, not sent)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import errors
from ..backends import BackendProfile
from ..message_shapes import REASONING_BLOCKS_FIELD, REASONING_FIELD
from ..request import (
    ChatRequest,
    Message,
    ToolChoiceSetting,
    ToolSpec,
    named_tool_choice,
    tool_name,
)

# Neutral tool_choice after the profile's rules: None, "auto", "none", "required", or the
# OpenAI object naming one function.
ToolChoice = str | dict[str, Any] | None

_PACKAGE = str(Path(__file__).resolve().parents[2]) + os.sep


def warn(message: str | Warning, category: type[Warning] | None = None) -> None:
    """Warns at the first frame outside zenllama: the line that made the call (a core
    user's, or the framework's that called a zenllama class), however deep the build ran."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def check_messages(request: ChatRequest) -> None:
    if not request.messages:
        raise ValueError("messages is empty: send at least one message")


def normalize_tool_choice(
    profile: BackendProfile,
    model: str | None,
    tools: Sequence[ToolSpec],
    tool_choice: ToolChoiceSetting,
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
        warn(
            errors.ToolChoiceDowngradedWarning(
                f"{model} on {profile.name} accepts only tool_choice='auto': sent 'auto' "
                f"instead of {tool_choice!r}"
                + (f" with only the {named!r} tool offered" if named is not None else "")
                + ", so the model may answer without calling a tool"
            )
        )
        return tools, "auto"
    if named is not None:
        if profile.tool_choice_strings_only:
            # llama-server treats the object form as "auto": offer only that tool, and require it.
            return [t for t in tools if tool_name(t) == named], "required"
        return tools, {"type": "function", "function": {"name": named}}
    return tools, str(tool_choice)


def tool_parts(
    profile: BackendProfile, model: str | None, request: ChatRequest
) -> tuple[list[dict[str, Any]], ToolChoice]:
    """The functions to offer (name, description, parameters) and the neutral choice, for the
    wires that carry functions apart from their OpenAI wrapping."""
    tools, tool_choice = request.tools, request.tool_choice
    if not tools:
        needs_tools(tool_choice)
        return [], None
    sent, choice = normalize_tool_choice(profile, model, tools, tool_choice)
    return [dict(t.get("function", t)) for t in sent], choice


def needs_tools(tool_choice: ToolChoiceSetting) -> None:
    """A tool_choice that forces a tool, with no tools: said before sending."""
    if tool_choice not in (None, False, "auto", "none"):
        raise ValueError(f"tool_choice={tool_choice!r} needs tools: pass them along with the call")


def choice_name(choice: ToolChoice) -> str | None:
    if isinstance(choice, dict):
        return str((choice.get("function") or choice).get("name"))
    return None


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


def content_text(content: Any) -> str:
    """Text of neutral content: a string, None, or a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))


def system_prompt(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """System and developer messages apart (Messages and Responses carry them outside the
    turns)."""
    system = [content_text(m.get("content")) for m in messages if _is_system(m)]
    return "\n\n".join(s for s in system if s), [m for m in messages if not _is_system(m)]


def _is_system(message: Message) -> bool:
    return message.get("role") in ("system", "developer")


def own_reasoning(message: Message, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """This wire's reasoning items of an assistant turn, unchanged."""
    blocks = message.get(REASONING_BLOCKS_FIELD) or ()
    return [b for b in blocks if isinstance(b, dict) and b.get("type") in kinds]


def unsigned_reasoning(profile: BackendProfile, message: Message, own: list[Any]) -> str:
    """Reasoning text with no item of this wire (another model family wrote it): sent only
    where the backend takes it unsigned; a hosted API would refuse the request."""
    if own or not profile.accepts_unsigned_reasoning:
        return ""
    return content_text(message.get(REASONING_FIELD))


def put_level(
    body: dict[str, Any], where: str, setting: str, value: Any, field: str | None
) -> bool:
    """Puts one reasoning level (budget, effort) in its field; where there is none it warns
    and is not sent. True when it went."""
    if value is None:
        return False
    if field is None:
        warn(
            f"{setting} has no request field on {where} and was not sent; pass the backend's "
            "own field in extra_body",
            errors.UnsupportedSettingWarning,
        )
        return False
    body[field] = value
    return True


def switch(
    body: dict[str, Any], profile: BackendProfile, setting: str, fields: Mapping[str, Any]
) -> None:
    """Merges a switch's fields (reasoning on/off, preserved thinking); a backend without
    them is warned about, and nothing is sent."""
    if not fields:
        warn(
            f"{setting} has no request field on the {profile.name} backend and is not sent; "
            "pass the backend's own field in extra_body",
            errors.UnsupportedSettingWarning,
        )
    deep_merge(body, fields)


def unsupported(api: str, names: Sequence[str]) -> None:
    """Options the dialect has no field for are named, not silently sent or dropped."""
    if names:
        warn(
            f"{', '.join(sorted(names))} {'is' if len(names) == 1 else 'are'} not part of the "
            f"{api} API and {'was' if len(names) == 1 else 'were'} not sent; pass the backend's "
            "own field in extra_body if it takes one",
            errors.UnsupportedSettingWarning,
        )


def finish_body(
    body: dict[str, Any], extra_body: Mapping[str, Any] | None, *, stream: bool
) -> dict[str, Any]:
    """`stream` asked for, then the caller's extra_body merged in last."""
    if stream:
        body["stream"] = True
    if extra_body:
        deep_merge(body, extra_body)
    return body


def deep_merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key] = {**target[key]}
            deep_merge(target[key], value)
        else:
            target[key] = value
