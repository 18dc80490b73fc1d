"""The chat-completions answer shapes backends send, each as a whole answer and as a stream:
OpenAI's (https://platform.openai.com/docs/api-reference/chat), llama-server's
(ggml-org/llama.cpp, tools/server/README.md), DeepSeek's and the gateways' variants.

Both forms of a shape must come out the same through every client method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .answers import TIMINGS, answer, stream_of
from .fake_servers import Reply


@dataclass
class Shape:
    name: str
    whole: dict[str, Any]
    stream: list[Any]
    text: str
    reasoning: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] | None = None  # (name, args)
    invalid: list[tuple[str, str]] | None = None  # (name, raw args)

    def replies(self) -> tuple[Reply, Reply]:
        return Reply(body=self.whole), Reply(events=self.stream)


_WEATHER_ARGS = '{"city": "Paris"}'

SHAPES = [
    Shape(
        "reasoning_content",
        answer(
            {"content": "Hello there!", "reasoning_content": "The user greets me.\n"},
            timings=TIMINGS,
        ),
        stream_of(
            {"reasoning_content": "The user "},
            {"reasoning_content": "greets me.\n"},
            {"content": "Hello"},
            {"content": " there!"},
            timings=TIMINGS,
        ),
        "Hello there!",
        "The user greets me.\n",
    ),
    Shape(
        "reasoning alias",
        answer({"content": "Hi", "reasoning": "short"}),
        stream_of({"reasoning": "sh"}, {"reasoning": "ort"}, {"content": "Hi"}),
        "Hi",
        "short",
    ),
    Shape(
        "inline think tags, split inside the tags, after whitespace",
        answer({"content": "\n <think>weigh it</think>\n\nAnswer."}),
        stream_of(
            {"content": "\n <thi"},
            {"content": "nk>wei"},
            {"content": "gh it</th"},
            {"content": "ink>\n"},
            {"content": "\nAnswer."},
        ),
        "Answer.",
        "weigh it",
    ),
    Shape(
        "closing tag only (template opened it)",
        answer({"content": "weigh it</think>Answer."}),
        stream_of({"content": "weigh it</think>Ans"}, {"content": "wer."}),
        "Answer.",
        "weigh it",
    ),
    Shape(
        "OpenAI tool call (llama-server, content junk beside it)",
        answer(
            {
                "content": "",
                "tool_calls": [
                    {
                        "type": "function",
                        "id": "dO0J",
                        "function": {"name": "get_weather", "arguments": '{\n  "city": "Paris"\n}'},
                    }
                ],
            },
            finish="tool_calls",
        ),
        stream_of(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "dO0J",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{\n  "ci'},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"\n}'}}]},
            finish="tool_calls",
        ),
        "",
        tool_calls=[("get_weather", {"city": "Paris"})],
    ),
    Shape(
        "no function wrapper, no id, object arguments",
        answer(
            {
                "content": None,
                "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
            },
            finish="tool_calls",
        ),
        stream_of(
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
            finish="tool_calls",
        ),
        "",
        tool_calls=[("get_weather", {"city": "Paris"})],
    ),
    Shape(
        "two calls in one chunk, id and name repeated in every fragment",
        answer(
            {
                "content": "",
                "tool_calls": [
                    {"id": "a", "function": {"name": "get_weather", "arguments": _WEATHER_ARGS}},
                    {"id": "b", "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}},
                ],
            },
            finish="tool_calls",
        ),
        stream_of(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "a",
                        "function": {"name": "get_weather", "arguments": '{"city": '},
                    },
                    {
                        "index": 1,
                        "id": "b",
                        "function": {"name": "get_time", "arguments": '{"tz": '},
                    },
                ]
            },
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "a",
                        "function": {"name": "get_weather", "arguments": '"Paris"}'},
                    },
                    {
                        "index": 1,
                        "id": "b",
                        "function": {"name": "get_time", "arguments": '"CET"}'},
                    },
                ]
            },
            finish="tool_calls",
        ),
        "",
        tool_calls=[("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})],
    ),
    Shape(
        "arguments that are not JSON",
        answer(
            {
                "content": "",
                "tool_calls": [
                    {"id": "x", "function": {"name": "get_weather", "arguments": "city=Paris"}}
                ],
            },
            finish="tool_calls",
        ),
        stream_of(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "x",
                        "function": {"name": "get_weather", "arguments": "city="},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": "Paris"}}]},
            finish="tool_calls",
        ),
        "",
        invalid=[("get_weather", "city=Paris")],
    ),
    Shape(
        "DeepSeek usage (prompt_cache_hit_tokens), SSE comments and blank lines",
        answer(
            {"content": "ok"},
            usage={
                "prompt_tokens": 25,
                "completion_tokens": 30,
                "total_tokens": 55,
                "prompt_cache_hit_tokens": 3,
                "completion_tokens_details": {"reasoning_tokens": 12},
            },
        ),
        [
            ": ping",
            "",
            *stream_of(
                {"content": "o"},
                {"content": "k"},
                usage={
                    "prompt_tokens": 25,
                    "completion_tokens": 30,
                    "total_tokens": 55,
                    "prompt_cache_hit_tokens": 3,
                    "completion_tokens_details": {"reasoning_tokens": 12},
                },
            ),
        ],
        "ok",
    ),
]
