"""Two backends, one environment variable apart; and llama-server behind a gateway.

Every scenario runs against (a) zen, replayed from synthesized cassettes, and (b) the real
llama-server test bed, live. Between the two, only BACKEND_URL and the key differ; the classes
are built with no arguments and BACKEND_MODEL is glm-4.7 for both (llama-server serves its one
model whatever the name).

(c) the same llama-servers, two of each, behind a LiteLLM proxy (tests/gateway/bed.py): the
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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from zenllama.local import LlamaServer

from ..gateway.bed import GatewayBed
from ..spy import SentRequests, spy_requests
from ..testbed import THINK_GRAMMAR
from ..zen.fake_zen import FAKE_KEY
from ..zen.recording import MODEL, ZEN_URL, zen_cassette
from .drivers import DRIVERS, Driver

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

    sends_session: bool  # x-opencode-session, zen's prompt-cache key
    thinking_off: dict[str, Any]


FACTS = {
    "zen": WireFacts(True, {"thinking": {"type": "disabled"}}),
    "llama-server": WireFacts(False, {"chat_template_kwargs": {"enable_thinking": False}}),
}
FACTS["gateway"] = FACTS["llama-server"]


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
        """The framework class as user code builds it on this leg."""
        if self.name == "gateway":
            return self.driver.new(backend="llama-server")
        return self.driver.new()

    @contextmanager
    def backend(self, bed: Bed, scenario: str) -> Iterator[None]:
        """Points BACKEND_URL (and the key) at this leg's backend for one scenario."""
        if self.name == "zen":
            self.monkeypatch.setenv("BACKEND_URL", ZEN_URL)
            self.monkeypatch.setenv("BACKEND_API_KEY", FAKE_KEY)
            with zen_cassette(f"scenario_{scenario}-{self.driver.name}"):
                yield
            return
        if self.name == "gateway":
            gateway: GatewayBed = self.request.getfixturevalue("gateway")
            self.monkeypatch.setenv("BACKEND_URL", gateway.base_url)
            self.monkeypatch.setenv("BACKEND_API_KEY", gateway.key)
            self.monkeypatch.setenv("BACKEND_MODEL", bed)  # the gateway's model group
            yield
            return
        server: LlamaServer = self.request.getfixturevalue(f"{bed}_bed")
        self.monkeypatch.setenv("BACKEND_URL", server.base_url)
        self.monkeypatch.delenv("BACKEND_API_KEY", raising=False)
        yield


@pytest.fixture(
    params=[
        pytest.param("zen", marks=pytest.mark.cassette),
        pytest.param("llama-server", marks=pytest.mark.llama_server),
        pytest.param("gateway", marks=[pytest.mark.llama_server, pytest.mark.gateway]),
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
