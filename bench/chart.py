"""bench/report.png: one panel per table, zenllama and its peers as bars (median, min–max
whiskers), the floors as dashed lines, the machine stamp on top."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Run

COLUMNS = 3
COLOURS = {"zenllama": "#2a9d8f", "peer": "#8d99ae", "reference": "#d9dde3"}
FLOOR = "#e76f51"


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
        for r in table.rows:
            if r.role == "floor":
                ax.axvline(r.median(m) * scale, color=FLOOR, linestyle="--", linewidth=1)
                ax.text(
                    r.median(m) * scale,
                    len(bars) - 0.5,
                    f" {r.name}",
                    color=FLOOR,
                    fontsize=7,
                    va="bottom",
                    rotation=90,
                )
        for yi, value in zip(y, medians, strict=True):
            ax.text(value, yi, f" {value:.3g}", va="center", fontsize=7)
        ratios = ", ".join(f"{s}/{p} {x:.2f}" for s, p, x in table.ratios())
        title = f"{table.part}: {table.title}"
        ax.set_title("\n".join(textwrap.wrap(title, 60)), fontsize=9)
        better = "higher is better" if table.higher_is_better else "lower is better"
        ax.set_xlabel(f"{table.unit} ({better}){'; ' + ratios if ratios else ''}", fontsize=8)
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
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.9 / (2.6 * rows + 1.2)))
    fig.savefig(path, dpi=80)
    plt.close(fig)
