"""Write the course notebooks from their sources in notebooks/src/, and optionally execute them.

One source per lesson gives both framework notebooks, so the PyTorch and TensorFlow notebooks have
the same sections and the same prose by construction. A source module (``notebooks/src/NAME.py``)
defines:

- ``TARGETS``: notebook path under notebooks/ -> variant: ``"torch"`` or ``"tensorflow"`` for
  the two framework notebooks, ``None`` for a notebook without variants, or another name
  (``"exercise"``, ``"solution"``) for cells written ``code(exercise=..., solution=...)``;
- ``CELLS``: a list built with :func:`md` and :func:`code` from ``nbsrc``;
- optionally ``CELLS_BY_TARGET``: notebook path -> its own cell list, for a notebook that is not
  the lesson itself (a lesson's worked solutions: its exercise cells with ``"solution"``).

A variant may join names with ``+``: ``"torch+exercise"`` is the PyTorch notebook whose exercise
cells show the learner's TODO (see ``nbsrc.render``).

In code and markdown, ``{{FW}}`` becomes ``torch`` or ``tensorflow`` and ``{{FW_NAME}}`` becomes
``PyTorch`` or ``TensorFlow``; ``code(torch=..., tensorflow=...)`` gives a cell that differs.
Without --execute, code cells whose source is unchanged keep their outputs; changed cells lose them.

    python scripts/build_notebooks.py              # write every notebook (outputs dropped)
    python scripts/build_notebooks.py --execute    # write and execute in place (make notebooks)
    python scripts/build_notebooks.py --check      # exit 1 if a notebook's sources are stale
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
sys.path.insert(0, str(SRC))

from nbsrc import colab_badge, render  # noqa: E402

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def load_source(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_for(cells, variant: str | None, name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    badge = nbformat.v4.new_markdown_cell(colab_badge(name))  # "Open in Colab", atop every notebook
    badge.id = "colab-badge"
    nb.cells.append(badge)
    for index, cell in enumerate(cells):
        source = render(cell, variant)
        if source is None:  # a cell of another variant only
            continue
        if cell.kind == "markdown":
            new = nbformat.v4.new_markdown_cell(source)
        else:
            new = nbformat.v4.new_code_cell(source)
            if cell.tags:
                new.metadata["tags"] = list(cell.tags)
            if cell.figure:
                new.metadata["lessonkit_figure"] = cell.figure
        # Stable ids keep diffs small when a notebook is rebuilt.
        new.id = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
        nb.cells.append(new)
    return nb


def keep_outputs(old: nbformat.NotebookNode, new: nbformat.NotebookNode) -> None:
    """Carry outputs over to code cells whose source is unchanged, so a prose edit needs no run."""
    outputs: dict[str, list] = {}
    for cell in old.cells:
        if cell.cell_type == "code":
            outputs.setdefault(cell.source, []).append((cell.outputs, cell.execution_count))
    for cell in new.cells:
        if cell.cell_type == "code" and outputs.get(cell.source):
            cell.outputs, cell.execution_count = outputs[cell.source].pop(0)
    if "widgets" in old.metadata:  # the saved widget state those outputs refer to
        new.metadata["widgets"] = old.metadata["widgets"]


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--execute", action="store_true", help="execute each notebook in place")
    parser.add_argument(
        "--check", action="store_true", help="only check that notebooks match sources"
    )
    parser.add_argument("only", nargs="*", help="notebook file names to build (default: all)")
    args = parser.parse_args()
    stale = []
    for path in sorted(SRC.glob("[0-9]*.py")):
        module = load_source(path)
        for name, variant in module.TARGETS.items():
            if args.only and name not in args.only:
                continue
            target = ROOT / "notebooks" / name
            cells = getattr(module, "CELLS_BY_TARGET", {}).get(name, module.CELLS)
            nb = notebook_for(cells, variant, name)
            if args.check:
                current = nbformat.read(target, as_version=4) if target.exists() else None
                if current is None or sources(current) != sources(nb):
                    stale.append(name)
                continue
            if not args.execute and target.exists():
                keep_outputs(nbformat.read(target, as_version=4), nb)
            if args.execute:
                from nbclient import NotebookClient

                NotebookClient(
                    nb,
                    timeout=900,
                    kernel_name="python3",
                    resources={"metadata": {"path": str(target.parent)}},
                ).execute()
                for cell in nb.cells:  # execution counts and timings make noisy diffs
                    cell.metadata.pop("execution", None)
            nbformat.write(nb, target)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("notebooks out of date with notebooks/src (run `make notebooks`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
