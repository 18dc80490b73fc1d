"""What the client really sent: every httpx request, seen above vcr and any server.

Cassette replay matches method, path and body but not headers, so request-side assertions
(the session header, the reasoning sent back, the thinking switch) read them here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from zenllama.core.httpx_compat import httpx


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: Any

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path


class SentRequests(list[Sent]):
    def to(self, suffix: str) -> list[Sent]:
        return [s for s in self if s.path.endswith(suffix)]

    def chats(self) -> list[Sent]:
        return self.to("/chat/completions")


def _record(sent: SentRequests, request: httpx.Request) -> None:
    raw = request.read()
    sent.append(
        Sent(
            request.method,
            str(request.url),
            {k.lower(): v for k, v in request.headers.items()},
            json.loads(raw) if raw else None,
        )
    )


def spy_requests(monkeypatch: pytest.MonkeyPatch) -> SentRequests:
    sent = SentRequests()
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        _record(sent, request)
        return sync_send(client, request, **kwargs)

    async def asend(
        client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        _record(sent, request)
        return await async_send(client, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", asend)
    return sent
