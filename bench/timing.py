"""Interleaved best-of-N timing and the ratio table every part prints.

The clients of one table run in turns (round 1: a, b, c; round 2: a, b, c; …) and each keeps
its fastest run, so a burst of load from something else on the machine slows one round of
every client rather than all runs of one, and the ratios stay fair. Within a round a fast
client runs several times (about ROUND_SECONDS' worth), so it gets as many chances at a quiet
moment as a slow one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_SECONDS = 3.0  # keep doing rounds (past `repeats`) until a table has taken this long
MAX_ROUNDS = 200
ROUND_SECONDS = 0.1  # per client per round, when one run is shorter than that


@dataclass
class Case:
    name: str  # short, what ratios and verdicts refer to
    detail: str
    run: Callable[[], Any]
    per: int = 1  # items in one run (chunks), 1 for a whole call
    # Looks at the warm-up run's result; returns what is wrong with it, or None.
    check: Callable[[Any], str | None] | None = None


@dataclass
class Row:
    name: str
    detail: str
    seconds: float  # the best run
    per: int


def measure(cases: list[Case], repeats: int) -> list[Row]:
    """One warm-up run per case (checked), then interleaved rounds; the best run of each."""
    runs_per_round = []
    for case in cases:
        began = time.perf_counter()
        result = case.run()
        took = time.perf_counter() - began
        runs_per_round.append(max(1, min(20, int(ROUND_SECONDS / took))))
        problem = case.check(result) if case.check else None
        if problem:
            print(f"  WARNING {case.name}: {problem}")
    best = [float("inf")] * len(cases)
    rounds = 0
    start = time.perf_counter()
    while rounds < repeats or (time.perf_counter() - start < MIN_SECONDS and rounds < MAX_ROUNDS):
        for i, case in enumerate(cases):
            for _ in range(runs_per_round[i]):
                gc.collect()
                began = time.perf_counter()
                case.run()
                best[i] = min(best[i], time.perf_counter() - began)
        rounds += 1
    print(f"  best run of each, over {rounds} interleaved rounds after a warm-up")
    return [Row(c.name, c.detail, s, c.per) for c, s in zip(cases, best, strict=True)]


def print_table(rows: list[Row], unit: str, baselines: list[str]) -> None:
    """One line per row: cost per item, then its ratio to each baseline row (by name)."""
    scale, unit_name = (1e6, "µs") if unit == "chunk" else (1e3, "ms")
    by_name = {row.name: row for row in rows}
    bases = [by_name[b] for b in baselines if b in by_name]
    widths = [max(8, len(base.name) + 2) for base in bases]
    labels = [f"{row.name} ({row.detail})" if row.detail else row.name for row in rows]
    width = max(len(label) for label in labels)
    header = f"  {'client':<{width}}  {unit_name + '/' + unit:>10}"
    header += "".join(f"  {'x ' + base.name:>{w}}" for base, w in zip(bases, widths, strict=True))
    print(header)
    for label, row in zip(labels, rows, strict=True):
        line = f"  {label:<{width}}  {row.seconds / row.per * scale:>10.1f}"
        line += "".join(
            f"  {row.seconds / base.seconds:>{w}.2f}" for base, w in zip(bases, widths, strict=True)
        )
        print(line)


def verdict(rows: list[Row], subject: str, baseline: str, target: float) -> None:
    """Prints PASS/FAIL of subject/baseline against `target`; never raises."""
    by_name = {row.name: row for row in rows}
    if subject not in by_name or baseline not in by_name:
        return
    ratio = by_name[subject].seconds / by_name[baseline].seconds
    outcome = "PASS" if ratio <= target else "FAIL"
    print(f"  {subject} / {baseline} = {ratio:.2f} (target <= {target}): {outcome}")
