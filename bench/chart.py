"""bench/report.png: one panel per table, zenllama and its peers as bars (median, min–max
whiskers), the floors as dashed lines, the machine stamp on top."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from .tables import fmt

if TYPE_CHECKING:
    from .report import Run

COLUMNS = 3
COLOURS = {"zenllama": "#2a9d8f", "peer": "#8d99ae", "reference": "#d9dde3"}
FLOOR = "#e76f51"
STYLES = ("--", ":", "-.")


def draw(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = run.tables
    rows = -(-len(tables) // COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(6 * COLUMNS, 2.6 * rows + 1.2), squeeze=False)
    for ax, table in zip(axes.flat, tables, strict=False):
        bars = [r for r in table.rows if r.role != "floor"]
        m, scale = table.metric, table.scale
        medians = [r.median(m) * scale for r in bars]
        lows = [r.median(m) * scale - r.low(m) * scale for r in bars]
        highs = [r.high(m) * scale - r.median(m) * scale for r in bars]
        y = list(range(len(bars)))
        ax.barh(
            y,
            medians,
            xerr=[lows, highs],
            color=[COLOURS.get(r.role, "#cccccc") for r in bars],
            capsize=3,
        )
        ax.set_yticks(y, [r.name for r in bars], fontsize=8)
        ax.invert_yaxis()
        floors = [r for r in table.rows if r.role == "floor"]
        for r, style in zip(floors, STYLES, strict=False):
            value = r.median(m) * scale
            ax.axvline(
                value, color=FLOOR, linestyle=style, linewidth=1.2, label=f"{r.name} {fmt(value)}"
            )
        if floors:
            ax.legend(fontsize=7, loc="lower right", framealpha=0.8)
        for yi, value in zip(y, medians, strict=True):
            ax.text(0, yi, f" {fmt(value)}", va="center", fontsize=7)
        ratios = ", ".join(f"{s}/{p} {x:.2f}" for s, p, x in table.ratios())
        title = f"{table.part}: {table.title}"
        ax.set_title("\n".join(textwrap.wrap(title, 60)), fontsize=9)
        better = "higher is better" if table.higher_is_better else "lower is better"
        label = f"{table.unit} ({better}){'; ' + ratios if ratios else ''}"
        ax.set_xlabel("\n".join(textwrap.wrap(label, 75)), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(tables) :]:
        ax.axis("off")
    stamp = run.machine
    head = (
        f"zenllama bench, {stamp['date (UTC)']} UTC, {stamp['cpus']} CPUs ({stamp['cpu']}), "
        f"load {stamp['load before (1/5/15 min)']} before, "
        f"{stamp.get('load after (1/5/15 min)', '?')} after, commit {stamp['commit']}"
    )
    keys = ("zenllama", "openai", "langchain-core", "langchain-openai", "llama-index-core")
    versions = ", ".join(f"{k} {run.versions[k]}" for k in keys if k in run.versions)
    fig.suptitle(
        f"{head}\n{versions}; python {stamp['python']}; bars: medians, whiskers: min–max, "
        "dashed: floors",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / (2.6 * rows + 1.2)))
    fig.savefig(path, dpi=80)
    plt.close(fig)
