"""What a part reports: tables of measured rows, ratios to the peers, verdicts on targets.

A table is one comparison (one case, one unit): zenllama, its peers and the floors side by
side, every row's median with min–max and its ratio to each peer. A part returns its tables;
`python -m bench` prints each as it comes and writes them all into the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .timing import CPU, WALL, Row


class NotRun(Exception):
    """A part (or a table) that cannot run here; the message says why and what would run it."""


@dataclass
class Target:
    """`ratio`: subject / baselines[0] <= limit.
    `budget`: subject <= sum(baselines) + extra (extra in the table's stored unit: seconds for
    timed tables)."""

    subject: str
    baselines: list[str]
    limit: float = 0.0
    kind: Literal["ratio", "budget"] = "ratio"
    extra: float = 0.0


@dataclass
class Verdict:
    subject: str
    text: str
    passed: bool


@dataclass
class Table:
    part: str
    title: str
    unit: str  # what one value is, as printed: "CPU µs/chunk", "tokens/s"
    rows: list[Row]
    metric: str = CPU
    scale: float = 1e6  # stored value x scale = printed value
    peers: list[str] = field(default_factory=list)  # rows every row gets a ratio to
    targets: list[Target] = field(default_factory=list)
    higher_is_better: bool = False
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)

    def value(self, name: str) -> float | None:
        row = self.row(name)
        return None if row is None else row.median(self.metric)

    def shows_wall(self) -> bool:
        return self.metric == CPU and all(WALL in r.samples for r in self.rows)

    def ratios(self) -> list[tuple[str, str, float]]:
        """(zenllama row, peer, median ratio) for every zenllama row and peer in the table."""
        out = []
        for row in self.rows:
            if row.role != "zenllama":
                continue
            for peer in self.peers:
                base = self.value(peer)
                if base:
                    out.append((row.name, peer, row.median(self.metric) / base))
        return out

    def verdicts(self) -> list[Verdict]:
        return [v for v in (self._judge(t) for t in self.targets) if v is not None]

    def _judge(self, target: Target) -> Verdict | None:
        subject = self.value(target.subject)
        bases = [self.value(b) for b in target.baselines]
        if subject is None or any(b is None for b in bases) or not bases:
            return None
        values = [b for b in bases if b is not None]
        if target.kind == "ratio":
            if not values[0]:
                return None
            ratio = subject / values[0]
            ok = ratio >= target.limit if self.higher_is_better else ratio <= target.limit
            sign = ">=" if self.higher_is_better else "<="
            text = (
                f"{target.subject} / {target.baselines[0]} = {ratio:.2f} "
                f"(target {sign} {target.limit:g})"
            )
            return Verdict(target.subject, text, ok)
        budget = sum(values) + target.extra
        parts = " + ".join(
            [f"{n} {v * self.scale:.1f}" for n, v in zip(target.baselines, values, strict=True)]
            + ([f"{target.extra * self.scale:g}"] if target.extra else [])
        )
        text = (
            f"{target.subject} {subject * self.scale:.1f} <= {parts} = "
            f"{budget * self.scale:.1f} {self.unit}"
        )
        return Verdict(target.subject, text, subject <= budget)


def fmt(value: float) -> str:
    """Three significant figures, no exponent."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def lines(table: Table) -> list[list[str]]:
    """The table as cells: a header row, then one row per contender."""
    head = ["contender", "role", f"median {table.unit}", "min–max"]
    if table.shows_wall():
        head.append("wall median")
    head += [f"x {peer}" for peer in table.peers if table.row(peer)]
    out = [head]
    for row in table.rows:
        m = table.metric
        cells = [
            row.name,
            row.role,
            fmt(row.median(m) * table.scale),
            f"{fmt(row.low(m) * table.scale)}–{fmt(row.high(m) * table.scale)}",
        ]
        if table.shows_wall():
            cells.append(fmt(row.median(WALL) * table.scale))
        for peer in table.peers:
            base = table.value(peer)
            if base is not None:
                cells.append(f"{row.median(m) / base:.2f}" if base else "–")
        out.append(cells)
    return out


def show(table: Table) -> None:
    """Prints the table (aligned columns), its verdicts and notes."""
    cells = lines(table)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    rounds = max((r.rounds() for r in table.rows), default=0)
    print(f"\n== {table.part}: {table.title} ({rounds} interleaved rounds, medians) ==")
    for r in cells:
        first = f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}"
        print(first + "".join(f"  {c:>{w}}" for c, w in zip(r[2:], widths[2:], strict=True)))
    for verdict in table.verdicts():
        print(f"  {'PASS' if verdict.passed else 'FAIL'}: {verdict.text}")
    for note in table.notes:
        print(f"  {note}")
