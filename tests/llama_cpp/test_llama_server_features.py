"""llama-server's power features on real servers the test bed starts: slots that survive a
restart, speculative decoding, router mode, reasoning levels, infill (FIM-less model)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage

from zenllama import cli
from zenllama.core import (
    ChatRequest,
    FeatureNotSupportedError,
    InvalidSettingError,
    SlotFileNotFoundError,
    UnknownModelError,
)
from zenllama.langchain import ChatZenLlama
from zenllama.llama_index import ZenLlama
from zenllama.local import LlamaServer
from zenllama.local.model import coder_model_path, default_model_path

from ..conftest import SERVER_THREADS
from ..support.testbed import SAMPLING

pytestmark = pytest.mark.llama_server


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _server(**kwargs: object) -> LlamaServer:
    return LlamaServer(progress=_progress, threads=SERVER_THREADS, **kwargs)  # type: ignore[arg-type]


# A system prompt long enough that reading it from cache is worth it (~600 tokens).
SYSTEM = " ".join(
    f"Rule {i}: answer in the style of a careful librarian who checks every fact twice."
    for i in range(40)
)
CONVERSATION = [SystemMessage(SYSTEM), HumanMessage("Say ok.")]
SLOT_SETTINGS = {"id_slot": 0, "cache_prompt": True, "temperature": 0, "seed": 7, "max_tokens": 2}


def _timings(llm: ChatZenLlama) -> dict[str, float]:
    return dict(llm.invoke(CONVERSATION).response_metadata["timings"])


def test_a_saved_slot_is_reused_after_a_restart(tmp_path: Path) -> None:
    with _server(slot_save_path=tmp_path, parallel=1) as first:
        llm = ChatZenLlama(base_url=first.base_url, **SLOT_SETTINGS)
        cold = _timings(llm)
        assert cold["cache_n"] == 0
        saved = llm.save_slot(0, "system.bin")
        assert saved["n_saved"] > 500
    assert (tmp_path / "system.bin").is_file()
    with _server(slot_save_path=tmp_path, parallel=1) as second:
        llm = ChatZenLlama(base_url=second.base_url, **SLOT_SETTINGS)
        restored = llm.restore_slot(0, "system.bin")
        assert restored["n_restored"] == saved["n_saved"]
        warm = _timings(llm)
        # Everything but the last token (always evaluated) came from the restored cache.
        assert warm["cache_n"] >= saved["n_saved"] - 2
        assert warm["prompt_n"] < cold["prompt_n"]
        print(f"\nprompt_ms cold {cold['prompt_ms']:.0f}, after restore {warm['prompt_ms']:.0f}")
        # LlamaIndex: the same through its object, and erase really empties the slot.
        index_llm = ZenLlama(base_url=second.base_url, **SLOT_SETTINGS)
        index_llm.erase_slot(0)
        index_llm.restore_slot(0, "system.bin")
        messages = [
            ChatMessage(role="system", content=SYSTEM),
            ChatMessage(role="user", content="Say ok."),
        ]
        response = index_llm.chat(messages)
        assert response.additional_kwargs["timings"]["cache_n"] >= saved["n_saved"] - 2
        assert response.additional_kwargs["cached_tokens"] >= saved["n_saved"] - 2


def test_without_swa_full_a_restored_slot_is_not_reused(tmp_path: Path) -> None:
    """The evidence for --swa-full: Gemma 3 is a sliding-window model; without the full cache
    the server needs an in-memory context checkpoint to reuse a prefix, and a slot file has
    none, so the restored tokens are re-processed (cache_n 0)."""
    plain = ["--slot-save-path", str(tmp_path)]
    with _server(parallel=1, extra_args=plain) as first:
        llm = ChatZenLlama(base_url=first.base_url, **SLOT_SETTINGS)
        _timings(llm)
        saved = llm.save_slot(0, "system.bin")
    with _server(parallel=1, extra_args=plain) as second:
        llm = ChatZenLlama(base_url=second.base_url, **SLOT_SETTINGS)
        assert llm.restore_slot(0, "system.bin")["n_restored"] == saved["n_saved"]
        assert _timings(llm)["cache_n"] == 0


def test_slot_file_names_stay_inside_the_save_folder() -> None:
    llm = ChatZenLlama(base_url="http://127.0.0.1:9/v1", backend="llama-server")
    with pytest.raises(InvalidSettingError, match="plain file name"):
        llm.save_slot(0, "../escape.bin")


async def test_slots_without_a_slot_folder_say_how_to_start_the_server(
    tools_server: LlamaServer,
) -> None:
    """llama-server answers 501 "does not support slots action": not a ServerError."""
    llm = ChatZenLlama(base_url=tools_server.base_url)
    with pytest.raises(FeatureNotSupportedError, match="zenllama serve --slot-save") as caught:
        llm.save_slot(0, "system.bin")
    assert "--slot-save-path" in str(caught.value)
    assert caught.value.feature == "save_slot"
    index_llm = ZenLlama(base_url=tools_server.base_url)
    with pytest.raises(FeatureNotSupportedError, match="--slot-save-path"):
        await index_llm.arestore_slot(0, "system.bin")
    with pytest.raises(FeatureNotSupportedError, match="--slot-save-path"):
        index_llm.erase_slot(0)


async def test_restoring_a_missing_slot_file_names_it(tmp_path: Path) -> None:
    """Not the server's "No available space in KV cache or invalid slot save file"."""
    with _server(slot_save_path=tmp_path, parallel=1) as server:
        llm = ChatZenLlama(base_url=server.base_url)
        with pytest.raises(SlotFileNotFoundError, match=r"no such slot file 'missing\.bin'") as e:
            llm.restore_slot(0, "missing.bin")
        assert e.value.filename == "missing.bin" and e.value.status == 400
        index_llm = ZenLlama(base_url=server.base_url)
        with pytest.raises(SlotFileNotFoundError, match=r"no such slot file 'gone\.bin'"):
            await index_llm.arestore_slot(0, "gone.bin")


# n-gram drafting proposes what followed the same n-gram earlier in the context: a prompt that
# repeats itself gives it something to draft from, whatever the model then writes.
REPEAT = {"temperature": 0, "seed": 7, "max_tokens": 40}
PROMPT = "Repeat this text: " + "the cat sat on the mat. " * 8


@pytest.fixture(scope="module")
def ngram_server() -> Iterator[LlamaServer]:
    with _server(speculative="ngram", parallel=1) as server:
        yield server


async def test_ngram_drafts_show_in_both_frameworks(ngram_server: LlamaServer) -> None:
    llm = ChatZenLlama(base_url=ngram_server.base_url, **REPEAT)
    timings = llm.invoke(PROMPT).response_metadata["timings"]
    assert timings["draft_n"] > 0 and 0 <= timings["draft_n_accepted"] <= timings["draft_n"]
    chunks = [c async for c in llm.astream(PROMPT)]
    streamed = [c.response_metadata.get("timings") for c in chunks if c.response_metadata]
    assert any(t and t.get("draft_n", 0) > 0 for t in streamed)
    index_llm = ZenLlama(base_url=ngram_server.base_url, **REPEAT)
    index_timings = index_llm.complete(PROMPT).additional_kwargs["timings"]
    assert index_timings["draft_n"] > 0 and "draft_n_accepted" in index_timings
    # Per-request speculative fields pass through to the server, which in this build ignores
    # them (tools/server/server-schema.cpp keeps their parsing under `#if 0`): drafts go on.
    # If a newer build honours them this fails: then document them as working.
    off = llm.invoke(PROMPT, **{"speculative.type": "none", "speculative.n_max": 0})
    assert off.response_metadata["timings"]["draft_n"] > 0


def test_draft_model_serves(tmp_path: Path) -> None:
    # The same small model as its own draft: mechanics only (a real setup drafts with a
    # smaller model of the same family).
    with _server(draft_model=default_model_path(), parallel=1) as server:
        llm = ChatZenLlama(base_url=server.base_url, **REPEAT)
        timings = llm.invoke(PROMPT).response_metadata["timings"]
        assert timings["draft_n"] > 0


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Two model families in one router, under names of their own (symlinks to the cache)."""
    folder = tmp_path_factory.mktemp("models")
    (folder / "gemma.gguf").symlink_to(default_model_path(_progress))
    (folder / "coder.gguf").symlink_to(coder_model_path(_progress))
    with _server(models_dir=folder, models_max=1, parallel=1) as server:
        yield server


def _wait_for_status(llm: ChatZenLlama, model: str, wanted: str) -> str | None:
    status = None
    deadline = time.monotonic() + 600  # a loaded machine can take minutes to start a child
    while time.monotonic() < deadline:
        status = {m.id: m.status for m in llm.list_models()}[model]
        if status == wanted:
            break
        time.sleep(0.2)
    return status


async def test_router_lists_routes_loads_and_refuses_unknown(
    router: LlamaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    llm = ChatZenLlama(base_url=router.base_url, model="gemma", **SAMPLING)
    states = {m.id: m.status for m in llm.list_models()}
    assert set(states) == {"gemma", "coder"}
    assert set(states.values()) <= {"unloaded", "loading", "loaded"}
    assert llm.invoke("Say hi", max_tokens=2).response_metadata["model_name"] == "gemma"
    assert {m.id: m.status for m in llm.list_models()}["gemma"] == "loaded"
    index_llm = ZenLlama(base_url=router.base_url, model="coder", **SAMPLING)
    assert {m.id for m in await index_llm.alist_models()} == {"gemma", "coder"}
    # model= per call routes to it (autoloads; --models-max 1 swaps gemma out).
    answer = llm.invoke("Say hi", model="coder", max_tokens=2)
    assert answer.response_metadata["model_name"] == "coder"
    with pytest.raises(UnknownModelError) as caught:
        llm.invoke("Say hi", model="gamma", max_tokens=2)
    assert sorted(caught.value.available or []) == ["coder", "gemma"]
    assert "gemma" in str(caught.value)
    with pytest.raises(UnknownModelError):
        await index_llm.achat([ChatMessage(role="user", content="hi")], model="gamma")
    # No model at all: a router cannot guess; the error lists what it has.
    with pytest.raises(UnknownModelError, match="needs model=") as caught:
        ChatZenLlama(base_url=router.base_url, **SAMPLING).invoke("Say hi")
    assert sorted(caught.value.available or []) == ["coder", "gemma"]
    with pytest.raises(UnknownModelError, match="needs model="):
        await ZenLlama(base_url=router.base_url, **SAMPLING).acomplete("Say hi")
    # load / unload from the client.
    llm.unload_model("coder")  # answers at once; the child process stops after
    assert _wait_for_status(llm, "coder", "unloaded") == "unloaded"
    await index_llm.aload_model("coder")
    assert _wait_for_status(llm, "coder", "loaded") == "loaded"
    # `zenllama models` prints each id with its state.
    assert cli.main(["models", "--base-url", router.base_url]) == 0
    assert "coder\tloaded" in capsys.readouterr().out
    with pytest.raises(UnknownModelError):
        llm.load_model("gamma")


# Turn markup of the chat templates in play: in an answer it means the model was prompted in
# another family's markup (one router-wide template) and wrote it back.
TEMPLATE_TOKENS = ("<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>", "<|eot_id|>")


def test_router_serves_each_model_with_its_own_template(router: LlamaServer) -> None:
    question = [HumanMessage("Say hello in one word.")]
    for model, own in (("gemma", "<start_of_turn>"), ("coder", "<|im_start|>")):
        llm = ChatZenLlama(base_url=router.base_url, model=model, **{**SAMPLING, "max_tokens": 24})
        assert own in llm.client.llama_cpp.apply_template(
            ChatRequest([{"role": "user", "content": "hi"}])
        )
        answer = str(llm.invoke(question).content)
        assert answer.strip()
        assert not [t for t in TEMPLATE_TOKENS if t in answer], (model, answer)


def test_infill_on_a_model_without_fim_tokens_is_a_clear_error(
    reasoning_server: LlamaServer,
) -> None:
    llm = ChatZenLlama(base_url=reasoning_server.base_url)  # Gemma: no FIM tokens
    with pytest.raises(FeatureNotSupportedError, match="no FIM tokens"):
        llm.infill("def add(a, b):\n    return ", "\n")
