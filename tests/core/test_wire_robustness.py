"""Whatever bytes a server sends, zenllama reads SSE as SSE and answers with a typed error.

Property tests (hypothesis): any split of a valid stream reads the same; any garbled line or
wrong-shaped JSON gives a `ZenLlamaError` (or is ignored where SSE says so), never a crash.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenllama.core import (
    ChatClient,
    ChatRequest,
    ChatResult,
    ContextOverflowError,
    MalformedResponseError,
    StreamError,
    ZenLlamaError,
    resolve_settings,
)
from zenllama.core.embeddings import decode_base64, parse_embeddings
from zenllama.core.sse import LineSplitter
from zenllama.core.usage import parse_usage
from zenllama.core.wires import anthropic_messages, chat_completions, openai_responses
from zenllama.langchain.messages import to_ai_message, to_message_chunk
from zenllama.llama_index.messages import to_chat_response

from ..support.answers import answer, chunk
from ..support.fake_servers import FakeServer, Reply, sse
from ..support.wire_streams import messages_sse, responses_sse
from .test_wires import (
    CLAUDE_ANSWER,
    CLAUDE_DOCUMENTED,
    GPT_ANSWER,
    GPT_DOCUMENTED,
    GPT_REFUSAL,
)

# Event and delta kinds of both wires, so generated events reach their deep paths.
WIRE_EVENT_TYPES = {
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping", "error", "response.created", "response.in_progress",
    "response.output_item.added", "response.output_text.delta", "response.refusal.delta",
    "response.refusal.done", "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta", "response.function_call_arguments.delta",
    "response.output_item.done", "response.completed", "response.incomplete", "response.failed",
}  # fmt: skip
WIRE_DELTA_TYPES = {
    "text_delta", "thinking_delta", "input_json_delta", "signature_delta", "citations_delta",
}  # fmt: skip

HI = [{"role": "user", "content": "hi"}]
# Characters str.splitlines breaks at, which SSE does not: JSON strings carry them raw.
UNICODE_BREAKS = "line one\u2028two\u2029three\x85four\x1cfive\x0bsix\x0cend"


def _raw(event: dict[str, Any]) -> str:
    return "data: " + json.dumps(event, ensure_ascii=False)


# SSE lines ------------------------------------------------------------------------------
def test_unicode_line_separators_inside_events_stay_inside(fake: FakeServer) -> None:
    fake.chat(Reply(events=sse(_raw(chunk({"content": UNICODE_BREAKS})), _raw(chunk({}, "stop")))))
    chat = ChatClient(resolve_settings(base_url=fake.base_url, backend="llama-server"))
    assert "".join(delta.text for delta in chat.stream(ChatRequest(HI))) == UNICODE_BREAKS


async def test_unicode_line_separators_async(fake: FakeServer) -> None:
    fake.chat(Reply(events=sse(_raw(chunk({"content": UNICODE_BREAKS})), _raw(chunk({}, "stop")))))
    chat = ChatClient(resolve_settings(base_url=fake.base_url, backend="llama-server"))
    assert "".join([delta.text async for delta in chat.astream(ChatRequest(HI))]) == UNICODE_BREAKS


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_sse_line_end(end: bytes) -> None:
    splitter = LineSplitter()
    stream = end.join([b"\xef\xbb\xbfdata: 1", b"", b": ping", b"data: \xe2\x80\xa8", b""])
    lines = splitter.feed(stream) + splitter.flush()
    assert lines == ["data: 1", "", ": ping", "data: \u2028", ""][: len(lines)]
    assert lines[:4] == ["data: 1", "", ": ping", "data: \u2028"]


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"data: 1\r") == []
    assert splitter.feed(b"\ndata: 2\r") == ["data: 1"]
    assert splitter.feed(b"\r\n") == ["data: 2", ""]
    assert splitter.flush() == []


# Any split of a valid stream reads the same ----------------------------------------------
_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[str], list[int]]:
    pieces = draw(st.lists(_texts, min_size=1, max_size=6))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines: list[str] = []
    for piece in pieces:
        if draw(st.booleans()):
            lines += [": keep-alive", ""]
        lines += [_raw(chunk({"content": piece})), ""]
    lines += [_raw(chunk({}, "stop")), "", "data: [DONE]", ""]
    data = end.join(lines).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    return data, pieces, cuts


def _read(chunks: list[bytes]) -> tuple[str, str | None]:
    splitter, parser = LineSplitter(), chat_completions.StreamParser("llama-server")
    for piece in chunks:
        for line in splitter.feed(piece):
            parser.feed(line)
    for line in splitter.flush():
        parser.feed(line)
    result = parser.finish().result
    assert result is not None
    return result.text, result.finish_reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_streams())
def test_any_split_of_a_stream_reads_the_same(stream: tuple[bytes, list[str], list[int]]) -> None:
    data, pieces, cuts = stream
    bounds = [0, *cuts, len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    assert _read(chunks) == _read([data]) == ("".join(pieces), "stop")


# Anything else is a typed error ----------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
# JSON shaped like an answer, with any values where the fields go: reaches the deep paths.
_call = st.fixed_dictionaries(
    {},
    optional={
        "index": _json,
        "id": _json,
        "function": st.fixed_dictionaries({}, optional={"name": _json, "arguments": _json}) | _json,
        "name": _json,
        "arguments": _json,
    },
)
_message = st.fixed_dictionaries(
    {},
    optional={
        "content": _json,
        "reasoning_content": _json,
        "reasoning": _json,
        "tool_calls": st.lists(_call, max_size=2) | _json,
        "function_call": _call | _json,
    },
)
_usage = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": _json,
        "completion_tokens": _json,
        "total_tokens": _json,
        "prompt_tokens_details": _json,
        "completion_tokens_details": _json,
    },
) | _json
_answer = st.fixed_dictionaries(
    {},
    optional={
        "id": _json,
        "model": _json,
        "usage": _usage,
        "timings": _json,
        "error": _json,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "message": _message | _json,
                    "delta": _message | _json,
                    "finish_reason": _json,
                },
            )
            | _json,
            max_size=2,
        )
        | _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_answer | _json, min_size=1, max_size=4))
def test_wrong_shapes_in_a_stream_are_typed_errors(events: list[Any]) -> None:
    parser = chat_completions.StreamParser("llama-server")
    try:
        for event in events:
            parser.feed("data: " + json.dumps(event))
        parser.finish()
    except ZenLlamaError:
        pass


@settings(max_examples=300, deadline=None)
@given(_answer | _json)
def test_wrong_shapes_in_a_whole_answer_are_typed_errors(data: Any) -> None:
    with contextlib.suppress(ZenLlamaError):
        chat_completions.parse(data, "llama-server")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30) | st.text(max_size=30).map("data: {}".format), max_size=5))
def test_garbled_lines_are_typed_errors_or_ignored_as_sse_says(lines: list[str]) -> None:
    parser = chat_completions.StreamParser("llama-server")
    try:
        for line in lines:
            parser.feed(line)
        parser.finish()
    except ZenLlamaError:
        pass


@settings(max_examples=200, deadline=None)
@given(_json, st.integers(0, 3))
def test_wrong_embeddings_answers_are_typed_errors(data: Any, count: int) -> None:
    with contextlib.suppress(ZenLlamaError):
        parse_embeddings({"data": data} if count % 2 else data, count)


@pytest.mark.parametrize(
    "line",
    ["data: 42", 'data: "error"', "data: [1, 2]", "data: null", "data: " + "[" * 1000 + "]" * 1000],
)
def test_events_that_are_not_objects(line: str) -> None:
    with pytest.raises(MalformedResponseError):
        chat_completions.StreamParser("x").feed(line)


def test_an_error_event_is_still_a_stream_error() -> None:
    with pytest.raises(StreamError, match="slot crashed"):
        chat_completions.StreamParser("x").feed('data: {"error": {"message": "slot crashed"}}')


def test_an_overflow_event_on_the_chat_wire_is_typed_as_on_the_others() -> None:
    event = {"error": {"code": "context_length_exceeded", "message": "Your input exceeds it."}}
    with pytest.raises(ContextOverflowError):
        chat_completions.StreamParser("x").feed(f"data: {json.dumps(event)}")


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"choices": {"0": {}}}, "`choices`"),
        ({"choices": ["x"]}, "`choices[0]`"),
        ({"choices": [{"message": []}]}, "message"),
        ({"choices": [{"message": {"content": {"a": 1}}}]}, "`content`"),
        ({"choices": [{"message": {"tool_calls": "f"}}]}, "`tool_calls`"),
        ({"choices": [{"message": {"tool_calls": [1]}}]}, "tool call"),
        ({"choices": [{"message": {"content": "x"}}], "usage": [1, 2]}, "`usage`"),
        ({"choices": [{"message": {"content": "x"}, "finish_reason": 3}]}, "`finish_reason`"),
    ],
)
def test_whole_answers_of_the_wrong_shape_name_what_was_wrong(data: Any, names: str) -> None:
    with pytest.raises(MalformedResponseError, match=re.escape(names)):
        chat_completions.parse(data, "x")


def test_usage_details_of_the_wrong_shape() -> None:
    with pytest.raises(MalformedResponseError, match="prompt_tokens_details"):
        parse_usage({"prompt_tokens": 1, "prompt_tokens_details": [3]})


@pytest.mark.parametrize("value", ["%%%not base64", "AAA=", "AAAAAAA="])
def test_bad_base64_embeddings(value: str) -> None:
    with pytest.raises(MalformedResponseError, match="base64"):
        decode_base64(value)


def test_streamed_tool_arguments_that_are_not_text() -> None:
    parser = chat_completions.StreamParser("x")
    with pytest.raises(MalformedResponseError, match="arguments"):
        parser.feed(
            "data: "
            + json.dumps(chunk({"tool_calls": [{"index": 0, "function": {"arguments": 5}}]}))
        )


def test_a_whole_answer_still_parses() -> None:
    assert chat_completions.parse(answer({"content": "ok"}), "x").text == "ok"


# The Messages and Responses wires hold the same promise ----------------------------------
_wire_event = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(WIRE_EVENT_TYPES)) | _json},
    optional={
        "index": _json,
        "delta": st.fixed_dictionaries(
            {"type": st.sampled_from(sorted(WIRE_DELTA_TYPES)) | _json},
            optional={"text": _json, "thinking": _json, "partial_json": _json, "signature": _json},
        )
        | _json,
        "content_block": _json,
        "message": _json,
        "response": _json,
        "item": _json,
        "output_index": _json,
        "usage": _usage,
    },
)
_wire_answer = st.fixed_dictionaries(
    {},
    optional={
        "content": st.lists(_json | _call, max_size=3) | _json,
        "output": st.lists(_json | _call, max_size=3) | _json,
        "usage": _usage,
        "stop_reason": _json,
        "status": _json,
        "error": _json,
    },
)


@pytest.mark.parametrize("parser", [anthropic_messages.StreamParser, openai_responses.StreamParser])
@settings(max_examples=200, deadline=None)
@given(events=st.lists(_wire_event | _json, min_size=1, max_size=4))
def test_wrong_shapes_on_the_other_wires_are_typed_errors(
    parser: type[anthropic_messages.StreamParser | openai_responses.StreamParser], events: list[Any]
) -> None:
    reading = parser("zen")
    with contextlib.suppress(ZenLlamaError):
        for event in events:
            reading.feed("data: " + json.dumps(event))
        reading.finish()


@pytest.mark.parametrize("parse", [anthropic_messages.parse, openai_responses.parse])
@settings(max_examples=200, deadline=None)
@given(data=_wire_answer | _json)
def test_wrong_whole_answers_on_the_other_wires_are_typed_errors(
    parse: Callable[[Any, str], Any], data: Any
) -> None:
    with contextlib.suppress(ZenLlamaError):
        parse(data, "zen")


@pytest.mark.parametrize("parser", [anthropic_messages.StreamParser, openai_responses.StreamParser])
def test_deep_nesting_on_the_other_wires_is_a_typed_error(
    parser: type[anthropic_messages.StreamParser | openai_responses.StreamParser],
) -> None:
    with pytest.raises(ZenLlamaError):
        parser("zen").feed("data: " + "[" * 1000 + "]" * 1000)


# Property tests on the documented streams of both wires -------------------------------------
# Answers whose streams carry every documented event type tests/support/wire_streams.py writes.
_WHOLE = {
    "messages": (CLAUDE_ANSWER, CLAUDE_DOCUMENTED),
    "responses": (GPT_ANSWER, GPT_DOCUMENTED, GPT_REFUSAL),
}
_WIRE = {
    "messages": (messages_sse, anthropic_messages.parse, anthropic_messages.StreamParser),
    "responses": (responses_sse, openai_responses.parse, openai_responses.StreamParser),
}


def _with_text(api: str, answer: dict[str, Any], text: str) -> dict[str, Any]:
    """The answer with `text` (any characters, multi-byte ones too) as its answer text."""
    answer = copy.deepcopy(answer)
    if api == "messages":
        for block in answer["content"]:
            if block["type"] == "text":
                block["text"] = text
        return answer
    for item in answer["output"]:
        for part in item.get("content") or () if item["type"] == "message" else ():
            part["refusal" if part["type"] == "refusal" else "text"] = text
    return answer


@st.composite
def _documented_streams(draw: st.DrawFn) -> tuple[str, dict[str, Any], bytes, list[int]]:
    api = draw(st.sampled_from(sorted(_WHOLE)))
    answer = _with_text(api, draw(st.sampled_from(_WHOLE[api])), draw(_texts))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = _WIRE[api][0](answer, draw(st.integers(1, 9)))
    data = (end.join(lines) + end).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    return api, answer, data, cuts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documented_streams())
def test_any_split_of_a_documented_stream_reads_as_the_whole_answer(
    stream: tuple[str, dict[str, Any], bytes, list[int]],
) -> None:
    api, answer, data, cuts = stream
    _, parse, parser_type = _WIRE[api]
    splitter, parser = LineSplitter(), parser_type("zen")
    texts = []
    for a, b in itertools.pairwise([0, *cuts, len(data)]):
        for line in splitter.feed(data[a:b]):
            if (delta := parser.feed(line)) is not None:
                texts.append(delta.text)
    for line in splitter.flush():
        parser.feed(line)
    result = parser.finish().result
    assert result is not None and result == parse(answer, "zen")
    assert "".join(texts) == result.text


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a mutation can put something else."""
    inner: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            inner += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner += _paths(item, (*at, index))
    return [at, *inner] if at else inner


def _put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = copy.copy(value)
    copied[path[0]] = _put(value[path[0]], path[1:], new)
    return copied


@st.composite
def _mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with a few of its fields, anywhere, replaced by any JSON."""
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(value)
        if not paths:
            break
        value = _put(value, draw(st.sampled_from(paths)), draw(_json))
    return value


@st.composite
def _mutated_streams(draw: st.DrawFn) -> tuple[str, list[Any]]:
    api = draw(st.sampled_from(sorted(_WHOLE)))
    lines = _WIRE[api][0](draw(st.sampled_from(_WHOLE[api])), draw(st.integers(2, 12)))
    events: list[Any] = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(events) - 1))
        how = draw(st.sampled_from(["drop", "repeat", "swap", "change", "cut"]))
        if how == "drop":
            del events[i]
        elif how == "repeat":
            events.insert(i, events[i])
        elif how == "swap":
            j = draw(st.integers(0, len(events) - 1))
            events[i], events[j] = events[j], events[i]
        elif how == "change":
            events[i] = draw(_mutated(events[i]))
        else:
            events = events[:i]
        if not events:
            break
    return api, events


def _check_usable(result: ChatResult) -> None:
    """A result hands the frameworks only what their types take (no ValidationError there)."""
    assert isinstance(result.text, str) and isinstance(result.reasoning, str)
    assert all(isinstance(v, str | None) for v in (result.id, result.model, result.finish_reason))
    for call in result.tool_calls:
        assert isinstance(call.id, str) and isinstance(call.name, str) and call.name
        assert isinstance(call.arguments, dict)
    for invalid in result.invalid_tool_calls:
        assert isinstance(invalid.id, str) and isinstance(invalid.name, str | None)
    to_ai_message(result)
    to_chat_response(result)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_streams())
def test_mutated_documented_streams_give_a_result_or_a_typed_error(
    stream: tuple[str, list[Any]],
) -> None:
    api, events = stream
    parser = _WIRE[api][2]("zen")
    try:
        for event in events:
            if (delta := parser.feed("data: " + json.dumps(event))) is not None:
                to_message_chunk(delta)
        last = parser.finish()
    except ZenLlamaError:
        return
    assert last.result is not None
    _check_usable(last.result)
    to_message_chunk(last)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(_WHOLE)).flatmap(
        lambda api: st.tuples(st.just(api), st.sampled_from(_WHOLE[api]).flatmap(_mutated))
    )
)
def test_mutated_documented_answers_give_a_result_or_a_typed_error(
    answer: tuple[str, Any],
) -> None:
    api, data = answer
    try:
        result = _WIRE[api][1](data, "zen")
    except ZenLlamaError:
        return
    _check_usable(result)
