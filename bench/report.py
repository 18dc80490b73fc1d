"""bench/REPORT.md and bench/report.json: every table of one run, its verdicts, its stamp."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tables import Table, fmt, lines
from .timing import MIN_ROUNDS, MIN_SECONDS


@dataclass
class Run:
    machine: dict[str, str]
    versions: dict[str, str]
    parts: list[str]  # asked for, in order
    tables: list[Table] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)  # part -> why
    failed: dict[str, str] = field(default_factory=dict)  # part -> the error
    seconds: float = 0.0


def _md_table(cells: list[list[str]]) -> list[str]:
    head, *rows = cells
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def _summary(run: Run) -> list[list[str]]:
    """One line per zenllama row and peer: the ratio, and the verdicts on that row."""
    cells = [["part", "case", "zenllama", "peer", "ratio", "verdicts"]]
    for table in run.tables:
        verdicts = table.verdicts()
        for subject, peer, ratio in table.ratios():
            mine = [v for v in verdicts if v.subject == subject]
            marks = ", ".join("PASS" if v.passed else "FAIL" for v in mine)
            cells.append([table.part, table.title, subject, peer, f"{ratio:.2f}", marks])
    return cells


def markdown(run: Run) -> str:
    out = [
        "# zenllama bench report",
        "",
        "Written by `python -m bench` (`make bench`) from one run: every part in one process "
        f"group, each table's contenders in interleaved rounds (at least {MIN_ROUNDS}, more "
        f"until a set has run {MIN_SECONDS:g} s), medians with min–max. Timed rows are this "
        "process's CPU time per item (the servers are other processes); `wall median` beside "
        "it. Roles: `zenllama`; `peer`, the mainstream class it is compared with (ratios are "
        "zenllama / peer); `floor`, what no client goes under (raw httpx, the framework's "
        "do-nothing model); `reference`, shown for scale.",
        "",
        "## Machine",
        "",
    ]
    stamp = {**run.machine, "wall time of the run": f"{run.seconds / 60:.1f} min"}
    out += _md_table([["", ""], *[[k, v] for k, v in stamp.items()]])
    out += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in run.versions.items()), ""]
    out += ["Parts: " + ", ".join(run.parts), ""]
    for part, why in run.not_run.items():
        out.append(f"- **{part}: not run**: {why}")
    for part, error in run.failed.items():
        out.append(f"- **{part}: failed**: {error}")
    if run.not_run or run.failed:
        out.append("")
    if run.tables:
        out += ["## Summary: zenllama / peer, medians", ""]
        out += _md_table(_summary(run))
        out += ["", "![zenllama vs peers per part, floors marked](report.png)", ""]
    part = ""
    for table in run.tables:
        if table.part != part:
            part = table.part
            out += [f"## {part}", ""]
        rounds = max(r.rounds() for r in table.rows)
        out += [f"### {table.title}", "", f"{rounds} interleaved rounds; {table.unit}.", ""]
        out += _md_table(lines(table))
        out.append("")
        for verdict in table.verdicts():
            out.append(f"- {'PASS' if verdict.passed else 'FAIL'}: {verdict.text}")
        for row in table.rows:
            out += [f"- WARNING {row.name}: {w}" for w in row.warnings]
        out += [f"- {note}" for note in table.notes]
        details = "; ".join(
            f"{r.name}: {r.detail}" for r in table.rows if r.detail and r.detail != r.name
        )
        out += [f"- {details}", ""] if details else [""]
    return "\n".join(out).rstrip() + "\n"


def data(run: Run) -> dict[str, Any]:
    """The same as JSON, every sample kept."""
    return {
        "machine": run.machine,
        "versions": run.versions,
        "seconds": run.seconds,
        "not_run": run.not_run,
        "failed": run.failed,
        "tables": [
            {
                "part": t.part,
                "title": t.title,
                "unit": t.unit,
                "metric": t.metric,
                "scale": t.scale,
                "peers": t.peers,
                "verdicts": [{"text": v.text, "passed": v.passed} for v in t.verdicts()],
                "notes": t.notes,
                "rows": [
                    {
                        "contender": r.name,
                        "detail": r.detail,
                        "role": r.role,
                        "median": fmt(r.median(t.metric) * t.scale),
                        "samples": r.samples,
                        "warnings": r.warnings,
                    }
                    for r in t.rows
                ],
            }
            for t in run.tables
        ],
    }


def write(run: Run, folder: Path) -> list[Path]:
    """REPORT.md, report.json and (matplotlib) report.png in `folder`; the paths written."""
    from .chart import draw

    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / "REPORT.md", folder / "report.json", folder / "report.png"
    md.write_text(markdown(run))
    js.write_text(json.dumps(data(run), indent=1, ensure_ascii=False) + "\n")
    written = [md, js]
    if run.tables:
        draw(run, png)
        written.append(png)
    return written
