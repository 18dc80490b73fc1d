"""Inline `<think>…</think>` reasoning, split from the answer even when tags are cut apart."""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkSplitter:
    """Feeds content pieces in order and returns (reasoning, answer) pieces.

    States: `start` (nothing but whitespace seen), `think` (inside the tags), `gap` (whitespace
    after the closing tag, dropped), `answer`.
    A closing tag seen while no opening tag was (the chat template opened it in the prompt)
    ends reasoning too: in one piece, what came before it is reasoning; in a stream, text
    already handed out as answer stays answer, and the tag itself is dropped.
    `opened=True` (the prompt is known to end in an open `<think>`) starts inside reasoning,
    so a stream hands out reasoning as reasoning from the first piece.
    """

    __slots__ = ("_held", "_opened", "_state")

    def __init__(self, opened: bool = False) -> None:
        self._state = "start"
        self._held = ""
        self._opened = opened

    def server_splits(self) -> None:
        """The server sent reasoning apart: it knew the template; the content is answer."""
        self._opened = False

    def feed(self, piece: str) -> tuple[str, str]:
        if self._state == "answer" and not self._held and "<" not in piece:
            return "", piece  # hot path: plain answer text
        text = self._held + piece
        self._held = ""
        reasoning: list[str] = []
        answer: list[str] = []
        while text:
            if self._state in ("start", "gap"):
                stripped = text.lstrip()
                if not stripped:
                    if self._state == "start":
                        self._held = text
                    break
                if self._state == "gap":
                    self._state, text = "answer", stripped
                elif stripped.startswith(OPEN):
                    self._state, text = "think", stripped[len(OPEN) :]
                elif OPEN.startswith(stripped):
                    self._held = text
                    break
                elif CLOSE in text:
                    before, _, text = text.partition(CLOSE)
                    reasoning.append(before)
                    self._state = "gap"
                else:
                    self._state = "think" if self._opened else "answer"
                continue
            out = reasoning if self._state == "think" else answer
            at = text.find(CLOSE)
            if at >= 0:
                out.append(text[:at])
                text = text[at + len(CLOSE) :]
                if self._state == "think":
                    self._state = "gap"
                continue
            keep = _partial_suffix(text, CLOSE)
            if keep:
                self._held = text[-keep:]
                text = text[:-keep]
            out.append(text)
            break
        return "".join(reasoning), "".join(answer)

    def flush(self) -> tuple[str, str]:
        """Hands out what was held back at the end of the content."""
        held, self._held = self._held, ""
        if self._state == "think":
            return held, ""
        if self._state == "start" and self._opened:
            return held.strip(), ""
        # Whitespace alone is an answer too (held only in case a <think> followed it).
        return "", held.strip() if self._state == "gap" else held


def split_think(content: str, opened: bool = False) -> tuple[str, str]:
    """Whole-content form: returns (reasoning, answer)."""
    if not opened and "<" not in content:
        return "", content  # no tag, none opened: all answer (what the splitter would say)
    splitter = ThinkSplitter(opened)
    reasoning, answer = splitter.feed(content)
    more_reasoning, more_answer = splitter.flush()
    return reasoning + more_reasoning, answer + more_answer


def template_opens_think(template: object, chat_template_kwargs: dict[str, object]) -> bool:
    """Whether a chat template's generation prompt ends inside an open `<think>`.

    Read from the template text (llama-server's `/props` `chat_template`, no rendering): after
    its last `add_generation_prompt`, an opening tag comes after any closing one (GLM's
    `'</think>' if not enable_thinking else '<think>'`, DeepSeek R1's `<think>\n`; Qwen3's
    `<think>\n\n</think>` is closed). `enable_thinking: false` closes it (GLM, Qwen3).
    """
    if not isinstance(template, str) or chat_template_kwargs.get("enable_thinking") is False:
        return False
    tail = template[template.rfind("add_generation_prompt") :]
    return "add_generation_prompt" in template and tail.rfind(OPEN) > tail.rfind(CLOSE)
