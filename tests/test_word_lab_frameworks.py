"""The Lesson 1 lab runs top to bottom in either framework: only its ``FRAMEWORK`` line changes.

The lab picks its twin with one line (``FRAMEWORK = "torch"  # or "tensorflow"``) and then uses the
same names in both, so the TensorFlow run loads the word-level checkpoint (a ``WordTokenizer``)
and trains, samples and compares exactly as the committed PyTorch run does. Each run executes a
copy of the notebook in a fresh kernel (about a minute or two on a CPU).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LAB = NOTEBOOKS / "01_lab_word_generation.ipynb"
FRAMEWORK_LINE = re.compile(r'^FRAMEWORK = "(torch|tensorflow)"', re.MULTILINE)


def framework_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and FRAMEWORK_LINE.search(c.source)]


def test_the_committed_lab_picks_torch_in_one_line():
    cells = framework_cells(nbformat.read(LAB, as_version=4))
    assert len(cells) == 1
    assert FRAMEWORK_LINE.search(cells[0].source).group(1) == "torch"


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_the_word_lab_runs_top_to_bottom(framework, tmp_path):
    pytest.importorskip(framework)
    notebook = nbformat.read(LAB, as_version=4)
    (cell,) = framework_cells(notebook)
    cell.source = FRAMEWORK_LINE.sub(f'FRAMEWORK = "{framework}"', cell.source, count=1)
    copy = tmp_path / LAB.name
    nbformat.write(notebook, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # where a learner runs it from
    )
    client.execute()  # raises CellExecutionError, naming the cell, at the first error
    errors = [
        f"{output.ename}: {output.evalue}"
        for c in notebook.cells
        if c.cell_type == "code"
        for output in c.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors
    ran = [c for c in notebook.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) == sum(c.cell_type == "code" for c in notebook.cells)
