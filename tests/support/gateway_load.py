"""Many streams through the gateway at once, each with an answer only it can give.

Stream i is held by a grammar (llama-server's `grammar` field, which the gateway forwards) to
the text `i` and nothing else: a stream that got another's chunks, lost one, or was cut
short cannot read as its own number, so every outcome is one of
  ok        the whole, right answer,
  cut       raised IncompleteStreamError / StreamError (a stream broken under it),
  refused   raised another ZenLlamaError before any text (connection refused, 5xx),
  partial   ended "normally" with a wrong or short answer: a silent partial answer, the bug.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass

from zenllama.core import (
    ChatClient,
    ChatRequest,
    IncompleteStreamError,
    StreamError,
    ZenLlamaError,
    resolve_settings,
)

MAX_TOKENS = 16  # the answer is a token or two; a grammar for one string is cheap to sample


def grammar(i: int, repeat: int) -> str:
    """Exactly `i`, or `i i i …` (`repeat` times: a stream long enough to be cut mid-way)."""
    return f'root ::= "{i}"' + (f' (" {i}"){{{repeat - 1}}}' if repeat > 1 else "")


# Streams queue for a slot behind the others: on a loaded 2-core machine that is minutes.
TIMEOUT = 600.0


def gateway_client(base_url: str, key: str, model: str) -> ChatClient:
    settings = resolve_settings(
        base_url=base_url, api_key=key, model=model, backend="llama-server", timeout=TIMEOUT
    )
    return ChatClient(settings)


@dataclass(frozen=True)
class Outcome:
    id: int
    kind: str  # ok | cut | refused | partial
    detail: str
    chunks: int


async def one_stream(
    client: ChatClient, i: int, repeat: int = 1, underway: set[int] | None = None
) -> Outcome:
    """One stream; its id goes into `underway` once two chunks of text have arrived."""
    messages = [{"role": "user", "content": f"Say {i}."}]
    options = {"max_tokens": MAX_TOKENS * repeat, "grammar": grammar(i, repeat)}
    pieces: list[str] = []
    final = None
    try:
        async for delta in client.astream(ChatRequest(messages, options=options)):
            if delta.text:
                pieces.append(delta.text)
                if underway is not None and len(pieces) == 2:
                    underway.add(i)
            final = delta.result or final
    except (IncompleteStreamError, StreamError) as exc:
        return Outcome(i, "cut", f"{type(exc).__name__}: {exc}"[:200], len(pieces))
    except ZenLlamaError as exc:
        kind = "refused" if not pieces else "cut"
        return Outcome(i, kind, f"{type(exc).__name__}: {exc}"[:200], len(pieces))
    text = "".join(pieces)
    assert final is not None  # the stream's last delta always carries the result
    try:
        right = final.text == text and [json.loads(n) for n in text.split(" ")] == [i] * repeat
    except ValueError:
        right = False
    return Outcome(i, "ok" if right else "partial", repr(text)[:200], len(pieces))


async def run_streams(
    client: ChatClient, ids: range, repeat: int = 1, underway: set[int] | None = None
) -> list[Outcome]:
    streams = (one_stream(client, i, repeat, underway) for i in ids)
    return list(await asyncio.gather(*streams))


def tally(label: str, outcomes: list[Outcome]) -> Counter[str]:
    """Counts by kind, printed (with a sample of each failure) for the test output and report."""
    counts = Counter(o.kind for o in outcomes)
    kinds = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    print(f"\n{label}: {len(outcomes)} streams: {kinds}")
    for kind in ("cut", "refused", "partial"):
        sample = [o for o in outcomes if o.kind == kind][:3]
        for o in sample:
            print(f"  {kind} #{o.id} after {o.chunks} chunks: {o.detail}")
    return counts
