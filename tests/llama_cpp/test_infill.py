"""Fill in the middle on a FIM-capable code model (Qwen2.5-Coder-0.5B), through both frameworks."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from zenllama.core import (
    ChatClient,
    FeatureNotSupportedError,
    IncompleteStreamError,
    StreamError,
    resolve_settings,
)
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer

from ..support.fake_servers import FakeServer, Reply

PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\n\nprint(add(2, 3))\n"
SAMPLING = {"temperature": 0, "seed": 7, "max_tokens": 8}


@pytest.fixture(scope="module")
def coder_server() -> Iterator[LlamaServer]:
    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # One slot: its whole context, so /infill keeps the extra files (two slots halve it).
    with LlamaServer(model="coder", parallel=1, threads=1, progress=progress) as server:
        yield server


@pytest.mark.llama_server
async def test_infill_through_core_and_both_frameworks(coder_server: LlamaServer) -> None:
    client = ChatClient(resolve_settings(base_url=coder_server.base_url))
    result = client.llama_cpp.infill(PREFIX, SUFFIX, **SAMPLING)
    assert result.text.strip()
    assert result.prompt_tokens and result.prompt_tokens > 10  # prefix + suffix + FIM tokens
    assert result.completion_tokens is not None and 0 < result.completion_tokens <= 8
    assert "predicted_ms" in result.timings
    # Greedy: every route gives the core's answer.
    assert (await client.llama_cpp.ainfill(PREFIX, SUFFIX, **SAMPLING)).text == result.text
    lc = ChatZenLlama(base_url=coder_server.base_url, **SAMPLING)
    assert lc.infill(PREFIX, SUFFIX) == result.text
    assert await lc.ainfill(PREFIX, SUFFIX) == result.text
    runnable = lc.as_infill()
    assert runnable.invoke({"prefix": PREFIX, "suffix": SUFFIX}) == result.text
    assert await runnable.abatch([{"prefix": PREFIX, "suffix": SUFFIX}]) == [result.text]
    li = ZenLlama(base_url=coder_server.base_url, **SAMPLING)
    completion = li.complete(PREFIX, suffix=SUFFIX)
    assert completion.text == result.text
    assert completion.additional_kwargs["completion_tokens"] == result.completion_tokens
    assert (await li.acomplete(PREFIX, suffix=SUFFIX)).text == result.text


@pytest.mark.llama_server
async def test_extra_files_and_options_reach_the_server(coder_server: LlamaServer) -> None:
    client = ChatClient(resolve_settings(base_url=coder_server.base_url))
    extra = [{"filename": "util.py", "text": "def helper():\n    return 1\n"}]
    plain = client.llama_cpp.infill(PREFIX, SUFFIX, **SAMPLING)
    with_extra = client.llama_cpp.infill(PREFIX, SUFFIX, extra=extra, **SAMPLING)
    assert with_extra.prompt_tokens and plain.prompt_tokens
    assert with_extra.prompt_tokens > plain.prompt_tokens  # the extra file is in the prompt
    one = client.llama_cpp.infill(PREFIX, SUFFIX, temperature=0, seed=7, max_tokens=1)
    assert one.completion_tokens == 1


@pytest.mark.llama_server
async def test_streamed_infill_is_the_same_infill_in_both_frameworks(
    coder_server: LlamaServer,
) -> None:
    """Streaming does not change what the call does: `suffix=` streams /infill's middle."""
    client = ChatClient(resolve_settings(base_url=coder_server.base_url))
    whole = client.llama_cpp.infill(PREFIX, SUFFIX, **SAMPLING)
    deltas = list(client.llama_cpp.stream_infill(PREFIX, SUFFIX, **SAMPLING))
    assert len(deltas) > 2  # pieces, then the result
    result = deltas[-1].result
    assert result is not None and result.text == whole.text
    assert "".join(d.text for d in deltas) == whole.text
    assert result.completion_tokens == whole.completion_tokens
    assert "predicted_ms" in result.timings
    li = ZenLlama(base_url=coder_server.base_url, **SAMPLING)
    responses = list(li.stream_complete(PREFIX, suffix=SUFFIX))
    assert "".join(r.delta or "" for r in responses) == whole.text
    assert responses[-1].text == whole.text
    assert responses[-1].additional_kwargs["completion_tokens"] == whole.completion_tokens
    aresponses = [r async for r in await li.astream_complete(PREFIX, suffix=SUFFIX)]
    assert [r.text for r in aresponses] == [r.text for r in responses]
    lc = ChatZenLlama(base_url=coder_server.base_url, **SAMPLING)
    assert "".join(lc.stream_infill(PREFIX, SUFFIX)) == whole.text
    runnable = lc.as_infill()
    parts = {"prefix": PREFIX, "suffix": SUFFIX}
    chunks = list(runnable.stream(parts))
    assert len(chunks) > 1 and "".join(chunks) == whole.text
    achunks = [c async for c in runnable.astream(parts)]
    assert achunks == chunks
    assert runnable.invoke(parts) == await runnable.ainvoke(parts) == whole.text


@pytest.mark.llama_server
async def test_streamed_infill_needs_fim_tokens_too(reasoning_server: LlamaServer) -> None:
    li = ZenLlama(base_url=reasoning_server.base_url)  # Gemma: no FIM tokens
    with pytest.raises(FeatureNotSupportedError, match="no FIM tokens"):
        list(li.stream_complete(PREFIX, suffix=SUFFIX))
    with pytest.raises(FeatureNotSupportedError, match="no FIM tokens"):
        [r async for r in await li.astream_complete(PREFIX, suffix=SUFFIX)]
    lc = ChatZenLlama(base_url=reasoning_server.base_url)
    with pytest.raises(FeatureNotSupportedError, match="no FIM tokens"):
        list(lc.as_infill().stream({"prefix": PREFIX, "suffix": SUFFIX}))


LLAMA_PROPS = {"default_generation_settings": {"n_ctx": 512}, "total_slots": 1}


def _infill_events(fake: FakeServer, *events: object) -> ChatClient:
    fake.props = LLAMA_PROPS
    fake.reply("/infill", Reply(events=list(events)))
    return ChatClient(resolve_settings(base_url=fake.base_url))


def test_an_error_event_mid_stream_is_a_stream_error(fake: FakeServer) -> None:
    client = _infill_events(
        fake, {"content": "a", "stop": False}, {"error": {"code": 500, "message": "decode failed"}}
    )
    with pytest.raises(StreamError, match="decode failed"):
        list(client.llama_cpp.stream_infill(PREFIX, SUFFIX))


def test_a_stream_without_its_last_event_is_incomplete(fake: FakeServer) -> None:
    client = _infill_events(fake, {"content": "a", "stop": False})  # then the server hung up
    with pytest.raises(IncompleteStreamError):
        list(client.llama_cpp.stream_infill(PREFIX, SUFFIX))
    assert fake.requests_to("/infill")[0].body["stream"] is True
