"""The one harness every part measures with: interleaved rounds, medians with min and max.

The contenders of one set run in turns (round 1: a, b, c; round 2: a, b, c; …), so a burst of
load from elsewhere on the machine slows one round of every contender rather than all runs of
one, and the ratios stay fair. Each round gives each contender one sample: a contender faster
than ROUND_SECONDS runs several times in its turn and the sample is their mean. Tables quote
the median sample with the lowest and highest.

A timed contender is sampled as this process's CPU time per item (all its threads; the servers
are other processes, so waiting on them costs nothing) and its wall time; a contender can
report its own figures from each run's result instead (tokens/s, MB of RSS).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

MIN_ROUNDS = 5
MIN_SECONDS = 3.0  # keep doing rounds (past `repeats`) until a set has taken this long
MAX_ROUNDS = 200
ROUND_SECONDS = 0.1  # per contender per round, when one run is shorter than that

CPU = "cpu"
WALL = "wall"

# zenllama: the subject; peer: the mainstream alternative it is compared with; floor: what no
# client can go under (the framework's do-nothing model, raw HTTP); reference: shown, not judged.
Role = Literal["zenllama", "peer", "floor", "reference"]


@dataclass
class Case:
    name: str  # short, what ratios and verdicts refer to
    detail: str
    run: Callable[[], Any]
    role: Role = "reference"
    per: int = 1  # items in one run (chunks, calls), 1 for a whole call
    # Looks at the warm-up run's result; returns what is wrong with it, or None.
    check: Callable[[Any], str | None] | None = None
    # Figures the run reports itself, by metric name (once per round); None: the run is timed.
    figures: Callable[[Any], dict[str, float]] | None = None


@dataclass
class Row:
    name: str
    detail: str
    role: Role
    samples: dict[str, list[float]] = field(default_factory=dict)  # per metric, one per round
    warnings: list[str] = field(default_factory=list)

    def median(self, metric: str) -> float:
        return statistics.median(self.samples[metric])

    def low(self, metric: str) -> float:
        return min(self.samples[metric])

    def high(self, metric: str) -> float:
        return max(self.samples[metric])

    def rounds(self) -> int:
        return max((len(s) for s in self.samples.values()), default=0)


def _timed(run: Callable[[], Any], times: int, per: int) -> tuple[float, float]:
    """Mean CPU and wall seconds per item over `times` runs, collected garbage first (the
    garbage of the one before is not this one's cost)."""
    gc.collect()
    cpu_began, wall_began = time.process_time(), time.perf_counter()
    for _ in range(times):
        run()
    wall = time.perf_counter() - wall_began
    cpu = time.process_time() - cpu_began
    return cpu / times / per, wall / times / per


def measure(
    cases: list[Case], repeats: int = MIN_ROUNDS, min_seconds: float = MIN_SECONDS
) -> dict[str, Row]:
    """One warm-up run per case (checked), then at least max(repeats, MIN_ROUNDS) interleaved
    rounds (more, up to MAX_ROUNDS, until the set has taken `min_seconds`). Rows by name."""
    rows = {c.name: Row(c.name, c.detail, c.role) for c in cases}
    runs_per_round = []
    for case in cases:
        began = time.perf_counter()
        result = case.run()
        took = time.perf_counter() - began
        timed = case.figures is None
        runs_per_round.append(max(1, min(20, int(ROUND_SECONDS / took))) if timed else 1)
        problem = case.check(result) if case.check else None
        if problem:
            print(f"  WARNING {case.name}: {problem}", flush=True)
            rows[case.name].warnings.append(problem)
    # Everything alive now (the libraries, the clients) is left out of every later collection:
    # a full collection of the frameworks' heaps takes ~0.3 s, a collection of one turn's ~0.
    gc.collect()
    gc.freeze()
    rounds = 0
    start = time.perf_counter()
    wanted = max(repeats, MIN_ROUNDS)
    while rounds < wanted or (time.perf_counter() - start < min_seconds and rounds < MAX_ROUNDS):
        for case, times in zip(cases, runs_per_round, strict=True):
            samples = rows[case.name].samples
            if case.figures is None:
                cpu, wall = _timed(case.run, times, case.per)
                samples.setdefault(CPU, []).append(cpu)
                samples.setdefault(WALL, []).append(wall)
            else:
                for metric, value in case.figures(case.run()).items():
                    samples.setdefault(metric, []).append(value)
        rounds += 1
    return rows
