import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenllama.core.reasoning import ThinkSplitter, split_think, template_opens_think
from zenllama.core.wires import chat_completions
from zenllama.local.server import template_path

CASES = [
    ("<think>plan it</think>\n\nHello", "plan it", "Hello"),
    ("  \n<think>plan it</think>Hello", "plan it", "Hello"),  # leading whitespace
    ("plan it</think>\nHello", "plan it", "Hello"),  # only the closing tag
    ("Hello, no tags", "", "Hello, no tags"),
    ("<think>cut off", "cut off", ""),
    ("a < b and <b>bold</b>", "", "a < b and <b>bold</b>"),
    ("<think></think>Answer", "", "Answer"),
    ("<thi", "", "<thi"),
]


@pytest.mark.parametrize(("content", "reasoning", "answer"), CASES)
def test_whole_content(content: str, reasoning: str, answer: str) -> None:
    assert split_think(content) == (reasoning, answer)


def _feed_in_pieces(content: str, cuts: list[int], opened: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(opened)
    reasoning = answer = ""
    start = 0
    for end in [*cuts, len(content)]:
        r, a = splitter.feed(content[start:end])
        reasoning, answer = reasoning + r, answer + a
        start = end
    r, a = splitter.flush()
    return reasoning + r, answer + a


@pytest.mark.parametrize("content", [c for c, _, _ in CASES if not c.lstrip().startswith("plan")])
def test_stream_split_at_every_point_matches_whole(content: str) -> None:
    expected = split_think(content)
    for cut in range(len(content) + 1):
        assert _feed_in_pieces(content, [cut]) == expected, cut
    assert _feed_in_pieces(content, list(range(1, len(content)))) == expected


def test_tags_split_inside_across_three_pieces() -> None:
    assert _feed_in_pieces("<think>why</think>because", [3, 12, 16]) == ("why", "because")


def test_stream_closing_tag_first_is_reasoning_when_seen_before_any_answer() -> None:
    assert _feed_in_pieces("plan</think>Hi", [12]) == ("plan", "Hi")


def test_stream_answer_never_contains_a_stray_closing_tag() -> None:
    reasoning, answer = _feed_in_pieces("Hello</think> world", [3, 9])
    assert "</think>" not in answer and "think" not in reasoning + answer


OPENED_CASES = [
    ("plan it</think>\n\nHello", "plan it", "Hello"),
    ("  plan it</think>Hello", "  plan it", "Hello"),
    ("<think>plan it</think>Hello", "plan it", "Hello"),  # the model opened it again
    ("cut off before closing", "cut off before closing", ""),
]


@pytest.mark.parametrize(("content", "reasoning", "answer"), OPENED_CASES)
def test_a_prompt_that_opened_think_makes_the_stream_reasoning_from_the_first_piece(
    content: str, reasoning: str, answer: str
) -> None:
    # Issue 10 #13: before, the pieces before </think> were handed out as answer.
    for cut in range(1, len(content)):
        got = _feed_in_pieces(content, [cut], opened=True)
        assert (got[0].strip(), got[1]) == (reasoning.strip(), answer), cut
    splitter = ThinkSplitter(opened=True)
    assert splitter.feed("plan ")[0] == "plan "  # handed out as reasoning at once
    assert split_think(content, opened=True)[1] == answer


def test_a_server_that_splits_reasoning_itself_ends_the_opened_mode() -> None:
    splitter = ThinkSplitter(opened=True)
    splitter.server_splits()
    assert splitter.feed("Hello") == ("", "Hello")


@pytest.mark.parametrize(
    ("template", "kwargs", "opens"),
    [
        ("glm", {}, True),  # ends its generation prompt in <think>
        ("glm", {"enable_thinking": False}, False),  # ... or in </think>
        ("reasoning", {}, False),  # Qwen3 opens nothing; closed <think></think> when off
        ("tools", {}, False),
    ],
)
def test_template_opens_think(template: str, kwargs: dict[str, object], opens: bool) -> None:
    assert template_opens_think(template_path(template).read_text(), kwargs) is opens


def test_a_template_that_is_not_text_opens_nothing() -> None:
    assert template_opens_think(None, {}) is False


def test_a_stream_answered_with_one_json_body_keeps_the_opened_think() -> None:
    # A server that ignored "stream": the whole answer is read with the same flag.
    body = {"choices": [{"message": {"content": "plan it, cut off"}, "finish_reason": "stop"}]}
    parser = chat_completions.StreamParser("llama-server", reasoning_open=True)
    assert parser.feed(json.dumps(body)) is None
    result = parser.finish().result
    assert result is not None and (result.reasoning, result.text) == ("plan it, cut off", "")


def test_an_answer_of_whitespace_alone_is_kept_whole_and_streamed() -> None:
    # Leading whitespace is held back only in case a <think> follows; alone, it is the answer.
    assert split_think("\r") == ("", "\r")
    splitter = ThinkSplitter()
    assert splitter.feed(" ") == ("", "")
    assert splitter.feed("\n") == ("", "")
    assert splitter.flush() == ("", " \n")


@given(st.text(alphabet=st.characters(blacklist_characters="<")))
def test_text_without_a_tag_is_all_answer_whole_or_streamed(content: str) -> None:
    # split_think's shortcut for tagless text says what the splitter says.
    assert split_think(content) == _feed_in_pieces(content, []) == ("", content)
