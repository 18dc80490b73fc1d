import json

from zenllama.core.results import InvalidToolCall, ToolCall
from zenllama.core.tool_calls import ToolCallAssembler, parse_tool_calls, stable_call_id


def test_openai_shape() -> None:
    calls, invalid = parse_tool_calls(
        [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
        "r1",
    )
    assert calls == [ToolCall("c1", "get_weather", {"city": "Paris"})] and invalid == []


def test_no_wrapper_no_id_object_arguments() -> None:
    calls, _ = parse_tool_calls([{"name": "f", "arguments": {"a": 1}}], "r1")
    assert calls == [ToolCall(stable_call_id("r1", 0), "f", {"a": 1})]


def test_empty_arguments_are_an_empty_object() -> None:
    calls, _ = parse_tool_calls([{"function": {"name": "f", "arguments": ""}}], None)
    assert calls[0].arguments == {}


def test_bad_json_is_invalid_with_raw_text_and_error() -> None:
    calls, invalid = parse_tool_calls(
        [{"id": "x", "function": {"name": "f", "arguments": '{"a": '}}], None
    )
    assert calls == []
    assert invalid[0].arguments == '{"a": ' and invalid[0].name == "f"
    assert "not valid JSON" in invalid[0].error


def test_non_object_json_is_invalid() -> None:
    _, invalid = parse_tool_calls(
        [{"id": "x", "function": {"name": "f", "arguments": "[1]"}}], None
    )
    assert invalid == [
        InvalidToolCall("x", "f", "[1]", "arguments must be a JSON object, got list")
    ]


def test_stable_ids_differ_per_index_and_response() -> None:
    ids = {stable_call_id("a", 0), stable_call_id("a", 1), stable_call_id("b", 0)}
    assert len(ids) == 3 and stable_call_id("a", 0) == stable_call_id("a", 0)


def _assemble(chunks: list[list[dict]], response_id: str | None = "r1"):  # type: ignore[no-untyped-def]
    assembler = ToolCallAssembler()
    fragments = [f for chunk in chunks for f in assembler.add(chunk, response_id)]
    return fragments, assembler.finish()


def test_stream_assembles_by_index_with_repeated_id_and_name() -> None:
    def piece(args: str) -> dict:  # type: ignore[type-arg]
        return {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": args}}

    fragments, (calls, invalid) = _assemble(
        [[piece('{"ci')], [piece('ty": "Pa')], [piece('ris"}')]]
    )
    assert calls == [ToolCall("c1", "get_weather", {"city": "Paris"})] and invalid == []
    # id and name are handed out once, with the first fragment.
    assert [(f.id, f.name) for f in fragments] == [
        ("c1", "get_weather"),
        (None, None),
        (None, None),
    ]


def test_stream_several_calls_in_one_chunk() -> None:
    chunk = [
        {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"index": 1, "id": "b", "function": {"name": "g", "arguments": '{"y": 2}'}},
    ]
    _, (calls, _) = _assemble([chunk])
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {"y": 2}),
    ]


def test_stream_without_ids_gets_the_same_ids_as_invoke() -> None:
    fragments, (calls, _) = _assemble(
        [[{"index": 0, "function": {"name": "f", "arguments": "{}"}}]], "resp"
    )
    whole, _ = parse_tool_calls([{"function": {"name": "f", "arguments": "{}"}}], "resp")
    assert calls[0].id == whole[0].id == fragments[0].id


def test_stream_object_arguments_and_no_index() -> None:
    _, (calls, _) = _assemble([[{"id": "a", "name": "f", "arguments": {"k": "v"}}]])
    assert calls == [ToolCall("a", "f", {"k": "v"})]


def test_stream_invalid_is_judged_like_invoke() -> None:
    raw = '{"city": "Par'
    _, (_, streamed) = _assemble(
        [[{"index": 0, "id": "c", "function": {"name": "f", "arguments": raw}}]]
    )
    _, whole = parse_tool_calls([{"id": "c", "function": {"name": "f", "arguments": raw}}], "r1")
    assert streamed == whole and streamed[0].arguments == raw


def test_arguments_round_trip_json() -> None:
    _, (calls, _) = _assemble(
        [
            [
                {
                    "index": 0,
                    "id": "a",
                    "function": {"name": "f", "arguments": json.dumps({"n": [1, 2]})},
                }
            ]
        ]
    )
    assert calls[0].arguments == {"n": [1, 2]}


def test_stream_name_piece_equal_to_the_name_so_far_continues_it() -> None:
    fragments, (calls, _) = _assemble(
        [
            [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": ""}}],
            [{"index": 0, "function": {"name": "a", "arguments": "{}"}}],
        ]
    )
    assert calls == [ToolCall("c1", "aa", {})]
    assert [f.name for f in fragments] == ["a", "aa"]


def test_stream_repeating_id_and_whole_name_is_not_doubled_even_for_short_names() -> None:
    # Gateways that repeat the id repeat the whole name with it, in every fragment.
    _, (calls, _) = _assemble(
        [
            [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": '{"x"'}}],
            [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": ": 1}"}}],
        ]
    )
    assert calls == [ToolCall("c1", "a", {"x": 1})]


def test_stream_name_in_pieces() -> None:
    _, (calls, _) = _assemble(
        [
            [{"index": 0, "id": "c1", "function": {"name": "get_"}}],
            [{"index": 0, "function": {"name": "weather", "arguments": "{}"}}],
        ]
    )
    assert calls == [ToolCall("c1", "get_weather", {})]
