import pytest

from zenllama.core.reasoning import ThinkSplitter, split_think

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


def _feed_in_pieces(content: str, cuts: list[int]) -> tuple[str, str]:
    splitter = ThinkSplitter()
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
