"""Every notebook runs top to bottom on the local test bed, with outputs like the committed ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.llama_server


def _kinds(cell: Any) -> list[tuple[str, tuple[str, ...]]]:
    """What a cell showed, by kind: stream name or output type, and the mime types."""
    kinds = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        detail = (output["name"],) if kind == "stream" else tuple(sorted(output.get("data", {})))
        if (kind, detail) not in kinds:
            kinds.append((kind, detail))
    return kinds


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_like_its_committed_outputs(path: Path) -> None:
    committed = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    # Raises CellExecutionError, with the cell and its traceback, if any cell fails. A cell's
    # bound trips only on a hang: on a loaded machine the local model answers slowly.
    NotebookClient(fresh, timeout=900, resources={"metadata": {"path": str(path.parent)}}).execute()
    for old, new in zip(committed.cells, fresh.cells, strict=True):
        if old.cell_type == "code":
            assert _kinds(new) == _kinds(old), f"cell changed kind of output:\n{old.source}"
