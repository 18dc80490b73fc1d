"""Two backends, one environment variable apart; three wires, one setting apart; and
llama-server behind a gateway.

Every scenario runs against (a) zen, replayed from synthesized cassettes, and (b) the real
llama-server test bed, live. Between the two, only BACKEND_URL and the key differ; the classes
are built with no arguments and BACKEND_MODEL is glm-4.7 for both (llama-server serves its one
model whatever the name).

Each scenario also runs over the two other wires: on zen by the model family alone
(claude-sonnet-4-5 goes to /messages, gpt-5.1 to /responses; synthesized cassettes), on the
real llama-server by `api=` (its /v1/messages and /v1/responses; RECORDED cassettes in
cassettes/llama-server/wires, `make record` re-records them against the test bed).

The Messages and Responses scenarios also run on a generic server (`backend` auto-detected as
"openai-compatible", the way api.anthropic.com, a LiteLLM gateway or any proxy is seen): a
FakeServer answering /v1/messages and /v1/responses with `FakeZen`'s answers, which check that
signed thinking and reasoning items come back as those APIs require.

(c) the same llama-servers, two of each, behind a LiteLLM proxy (tests/support/gateway_bed.py): the
gateway's URL and key, BACKEND_MODEL names the gateway's model group, and the classes get
`backend="llama-server"`, since no probe sees through a gateway (it answers /props with an
error, so auto-detection says "openai-compatible"; tests/gateway checks that). What the
gateway changes on the way is written down in GATEWAY_CHANGES, and asserted.

The test bed's steering lives in the servers, not in the requests, so both legs send the same
requests: greedy sampling and a 64-token budget are server defaults, and the thinking server
has THINK_GRAMMAR as its default grammar (Qwen3 template: real `reasoning_content`). The tools
server (Llama 3.1 template) calls a tool when tool_choice="required".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pytest

from zenllama.local import LlamaServer

from ..support.drivers import DRIVERS, Driver
from ..support.fake_servers import FakeServer, Handler, Reply, Seen
from ..support.fake_zen import FAKE_KEY, Answer, FakeZen
from ..support.gateway_bed import GatewayBed
from ..support.recorded import RECORDING, make_vcr
from ..support.spy import SentRequests, spy_requests
from ..support.synthesized import MODEL, ZEN_URL, zen_cassette
from ..support.testbed import THINK_GRAMMAR

Bed = Literal["thinking", "tools"]
_GREEDY = ["--temp", "0", "--seed", "7", "--n-predict", "64"]


def _serve(template: str, *args: str) -> Iterator[LlamaServer]:
    with LlamaServer(template=template, extra_args=[*_GREEDY, *args], progress=print) as server:
        yield server


@pytest.fixture(scope="session")
def thinking_bed() -> Iterator[LlamaServer]:
    yield from _serve("reasoning", "--grammar", THINK_GRAMMAR)


@pytest.fixture(scope="session")
def tools_bed() -> Iterator[LlamaServer]:
    yield from _serve("tools")


@dataclass(frozen=True)
class WireFacts:
    """What each backend must be sent, written down here rather than read from the code."""

    backend: str  # "zen" or "llama-server"
    api: str  # the wire: "chat", "messages", "responses"
    sends_session: bool  # x-opencode-session, zen's prompt-cache key
    thinking_off: dict[str, Any]
    model: str = MODEL
    # Settings the user gives this leg's class (on zen only the model family picks the wire).
    settings: dict[str, Any] = field(default_factory=dict)
    # What a stream request carries beside the messages.
    stream_fields: dict[str, Any] = field(
        default_factory=lambda: {"stream": True, "stream_options": {"include_usage": True}}
    )
    # Reasoning another model wrote (no signature) goes back on this leg.
    takes_unsigned_reasoning: bool = True
    # A repeated short prompt is read from the cache with no hint: every wire here but
    # Anthropic Messages, which caches only at cache_control breakpoints and only past the
    # model's minimum (1024 tokens for Sonnet 4.5): docs.anthropic.com prompt caching.
    caches_short_prompts: bool = True

    @property
    def path(self) -> str:
        return {"chat": "/chat/completions", "messages": "/messages", "responses": "/responses"}[
            self.api
        ]


_LLAMA_OFF = {"chat_template_kwargs": {"enable_thinking": False}}
FACTS = {
    "zen": WireFacts("zen", "chat", True, {"thinking": {"type": "disabled"}}),
    "llama-server": WireFacts("llama-server", "chat", False, _LLAMA_OFF),
    # Claude thinks only when asked: the user asks for it.
    "zen-claude": WireFacts(
        "zen",
        "messages",
        True,
        {"thinking": {"type": "disabled"}},
        model="claude-sonnet-4-5",
        settings={"reasoning": True},
        stream_fields={"stream": True},
        takes_unsigned_reasoning=False,
        caches_short_prompts=False,
    ),
    "zen-gpt": WireFacts(
        "zen",
        "responses",
        True,
        {"reasoning": {"effort": "minimal"}},
        model="gpt-5.1",
        stream_fields={"stream": True},
        takes_unsigned_reasoning=False,
    ),
    # llama-server's /v1/messages asks 4096 tokens when none are set: the 270M model gets 64.
    "llama-server-messages": WireFacts(
        "llama-server",
        "messages",
        False,
        _LLAMA_OFF,
        settings={"api": "messages", "max_tokens": 64},
        stream_fields={"stream": True},
    ),
    "llama-server-responses": WireFacts(
        "llama-server",
        "responses",
        False,
        _LLAMA_OFF,
        settings={"api": "responses"},
        stream_fields={"stream": True},
    ),
}
# A generic server speaking each wire: what a user of api.anthropic.com or of OpenAI sets.
FACTS["generic-messages"] = replace(
    FACTS["zen-claude"],
    backend="openai-compatible",
    sends_session=False,
    settings={"api": "messages", "reasoning": True},
)
FACTS["generic-responses"] = replace(
    FACTS["zen-gpt"],
    backend="openai-compatible",
    sends_session=False,
    settings={"api": "responses", "reasoning": True},
)
_WIRES_VCR = make_vcr("llama-server/wires")
_RECORDED = [pytest.mark.cassette, pytest.mark.llama_server_cassette]
# Through the gateway: llama-server's facts; the probe cannot see through it, so it is named.
FACTS["gateway"] = replace(FACTS["llama-server"], settings={"backend": "llama-server"})


@dataclass
class Leg:
    name: str
    driver: Driver
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    @property
    def facts(self) -> WireFacts:
        return FACTS[self.name]

    def new(self) -> Any:
        """The framework class as a user on this leg makes it."""
        return self.driver.new(**self.facts.settings)

    @contextmanager
    def backend(self, bed: Bed, scenario: str) -> Iterator[None]:
        """Points BACKEND_URL (and the key) at this leg's backend for one scenario."""
        facts = self.facts
        self.monkeypatch.setenv("BACKEND_MODEL", facts.model)
        wire = "" if facts.api == "chat" else f"{facts.api}-"
        cassette = f"scenario_{scenario}-{wire}{self.driver.name}"
        if facts.backend == "zen":
            self.monkeypatch.setenv("BACKEND_URL", ZEN_URL)
            self.monkeypatch.setenv("BACKEND_API_KEY", FAKE_KEY)
            with zen_cassette(cassette):
                yield
            return
        if self.name == "gateway":
            gateway: GatewayBed = self.request.getfixturevalue("gateway")
            self.monkeypatch.setenv("BACKEND_URL", gateway.base_url)
            self.monkeypatch.setenv("BACKEND_API_KEY", gateway.key)
            self.monkeypatch.setenv("BACKEND_MODEL", bed)  # the gateway's model group
            yield
            return
        if facts.backend == "openai-compatible":
            with _generic_server() as url:
                self.monkeypatch.setenv("BACKEND_URL", url)
                self.monkeypatch.setenv("BACKEND_API_KEY", FAKE_KEY)
                yield
            return
        self.monkeypatch.delenv("BACKEND_API_KEY", raising=False)
        if facts.api == "chat":  # live
            server: LlamaServer = self.request.getfixturevalue(f"{bed}_bed")
            self.monkeypatch.setenv("BACKEND_URL", server.base_url)
            yield
            return
        # Recorded: the real server when recording, any URL on replay (the port is not matched).
        url = "http://127.0.0.1:8080/v1"
        if RECORDING:
            url = self.request.getfixturevalue(f"{bed}_bed").base_url
        self.monkeypatch.setenv("BACKEND_URL", url)
        with _WIRES_VCR.use_cassette(cassette):
            yield


@contextmanager
def _generic_server() -> Iterator[str]:
    """A server that is neither zen nor llama-server, answering both wires as zen's fake does
    (its prompt cache keyed on nothing: a generic server has no session header)."""
    zen, server = FakeZen(), FakeServer()

    def answer(wire: Callable[[dict[str, Any], str | None], Answer]) -> Handler:
        def handle(seen: Seen) -> Reply:
            got = wire(seen.body, "generic")
            if got.headers.get("content-type") != "text/event-stream":
                return Reply(got.status, json.loads(got.body))
            return Reply(got.status, events=got.body.decode().strip("\n").split("\n\n"))

        return handle

    server.handle("/v1/messages", answer(zen.messages))
    server.handle("/v1/responses", answer(zen.responses))
    try:
        yield server.base_url
    finally:
        server.close()


@pytest.fixture(
    params=[
        pytest.param("zen", marks=pytest.mark.cassette),
        pytest.param("zen-claude", marks=pytest.mark.cassette),
        pytest.param("zen-gpt", marks=pytest.mark.cassette),
        pytest.param("llama-server", marks=pytest.mark.llama_server),
        pytest.param("llama-server-messages", marks=_RECORDED),
        pytest.param("llama-server-responses", marks=_RECORDED),
        pytest.param("gateway", marks=[pytest.mark.llama_server, pytest.mark.gateway]),
        "generic-messages",
        "generic-responses",
    ]
)
def leg(request: pytest.FixtureRequest, driver: Driver, monkeypatch: pytest.MonkeyPatch) -> Leg:
    monkeypatch.delenv("OPENCODE_API_KEY", raising=False)
    monkeypatch.setenv("BACKEND_MODEL", MODEL)
    return Leg(str(request.param), driver, monkeypatch, request)


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Driver:
    return DRIVERS[request.param]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> SentRequests:
    return spy_requests(monkeypatch)
