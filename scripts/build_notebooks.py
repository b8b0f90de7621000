"""Write the course notebooks from their sources in notebooks/src/, and optionally execute them.

A source, ``notebooks/src/NN_name.py``, is a jupytext percent-format script: ``# %% [markdown]``
cells hold the prose, ``# %%`` cells plain Python (an IPython magic is commented: ``# !git ...``).
One source gives both framework notebooks of a lesson, so they have the same sections and prose by
construction. Its YAML header names the notebooks it builds and the tags each one takes:

    # ---
    # jupyter:
    #   lessonkit:
    #     notebooks:
    #       01_generative_rnn_pytorch.ipynb: [lesson, torch, exercise]
    #       01_generative_rnn_tensorflow.ipynb: [lesson, tensorflow, exercise]
    #       solutions/01_generative_rnn.ipynb: [solution]
    # ---

The tag filter: a cell tagged with any of ``torch``, ``tensorflow``, ``exercise`` or ``solution``
goes into the notebooks whose list shares one of its tags; a cell with none of them goes into the
notebooks that list ``lesson``. So ``# %% tags=["torch"]`` is in the PyTorch notebook only, an
exercise's TODO version is tagged ``["exercise"]`` and its worked version ``["solution"]``, and an
exercise's prose, shown in both, ``["exercise", "solution"]``.

A cell tagged ``setup`` is replaced by the one cell of ``notebooks/src/setup_cell.py``, the setup
cell every notebook starts with (on Colab it installs the course). A cell header's
``lessonkit_figure="NAME"`` names the PNG that ``make figures`` exports to docs/images/.

Every notebook starts with an "Open in Colab" badge, its cells get ids from their position (small
diffs on rebuilds), and without --execute a code cell whose source is unchanged keeps its outputs.

    python scripts/build_notebooks.py                  # write every notebook (changed cells lose outputs)
    python scripts/build_notebooks.py 03_transformers  # only one source's notebooks (or notebook names)
    python scripts/build_notebooks.py --execute [...]  # write and execute in place (make notebooks)
    python scripts/build_notebooks.py --check          # exit 1 if a notebook's sources are stale
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import jupytext
import nbformat
import tomllib

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
SETUP_CELL = SRC / "setup_cell.py"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
SELECTORS = {"torch", "tensorflow", "exercise", "solution"}  # tags that pick notebooks
BUILDER_TAGS = SELECTORS | {"setup"}  # read here, not written into the notebooks
# The kernel that executes a notebook gets these from the setup cell, as a learner's kernel does,
# not from the shell that runs the builder (`make test` exports OMP_WAIT_POLICY for CI).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def read_source(path: Path) -> nbformat.NotebookNode:
    return jupytext.read(path, fmt="py:percent")


def targets(source: nbformat.NotebookNode) -> dict[str, list[str]]:
    """Notebook path under notebooks/ -> the tags it takes, from the source's YAML header."""
    return source.metadata["lessonkit"]["notebooks"]


def selected(cell: nbformat.NotebookNode, tags: list[str]) -> bool:
    picks = SELECTORS & set(cell.metadata.get("tags", []))
    return bool(picks & set(tags)) if picks else "lesson" in tags


def notebook_for(
    source: nbformat.NotebookNode, tags: list[str], name: str
) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nb.cells.append(nbformat.v4.new_markdown_cell(colab_badge(name), id="colab-badge"))
    setup = next(c.source for c in read_source(SETUP_CELL).cells if c.cell_type == "code")
    for cell in (c for c in source.cells if selected(c, tags)):
        cell_tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_code_cell(setup if "setup" in cell_tags else cell.source)
            if kept := [t for t in cell_tags if t not in BUILDER_TAGS]:
                new.metadata["tags"] = kept
            if "lessonkit_figure" in cell.metadata:
                new.metadata["lessonkit_figure"] = cell.metadata["lessonkit_figure"]
        new.id = hashlib.sha1(f"{name}:{len(nb.cells) - 1}".encode()).hexdigest()[:8]
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
    for key in ("language_info", "widgets"):  # what the kernel recorded; widgets: their state
        if key in old.metadata:
            new.metadata[key] = old.metadata[key]


def execute(nb: nbformat.NotebookNode, target: Path) -> None:
    from nbclient import NotebookClient

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(target.parent)}}
    )
    client.execute(env=env)
    for cell in nb.cells:  # execution counts and timings make noisy diffs
        cell.metadata.pop("execution", None)


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


# --- Launch badges: Colab and Binder URLs derived from the one repository URL ---------------------

BRANCH = "main"  # the branch that Colab and Binder open
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
READ_ONLINE_BADGE = "https://img.shields.io/badge/read-online-blue"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def repository_url() -> str:
    """The repository URL, kept in one place: pyproject.toml's [project.urls]."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def github_repository() -> str:
    """``OWNER/NAME`` of the repository URL (Colab and Binder open notebooks from GitHub)."""
    url = repository_url()
    parts = urlparse(url)
    path = parts.path.strip("/").removesuffix(".git")
    if parts.netloc != "github.com" or path.count("/") != 1:
        raise ValueError(
            f"[project.urls] Repository must be https://github.com/OWNER/NAME, got {url!r}"
        )
    return path


def colab_url(notebook: str) -> str:
    """Colab's URL for ``notebooks/<notebook>`` on GitHub."""
    return f"https://colab.research.google.com/github/{github_repository()}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url() -> str:
    """mybinder.org's URL that builds binder/ and opens JupyterLab on notebooks/."""
    return f"https://mybinder.org/v2/gh/{github_repository()}/{BRANCH}?urlpath=lab/tree/notebooks"


def colab_badge(notebook: str) -> str:
    """The markdown of the "Open in Colab" badge atop every notebook."""
    return f"[![Open in Colab]({COLAB_BADGE})]({colab_url(notebook)})"


def pages_url() -> str:
    """The course site's address on GitHub Pages (``make site`` builds it; a workflow publishes)."""
    owner, name = github_repository().split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def readme_badges() -> str:
    """The README's badges line: Lesson 1 in Colab, the whole course on Binder, the site."""
    binder = f"[![Launch on Binder]({BINDER_BADGE})]({binder_url()})"
    online = f"[![Read online]({READ_ONLINE_BADGE})]({pages_url()})"
    return f"{colab_badge('01_generative_rnn_pytorch.ipynb')} {binder} {online}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--execute", action="store_true", help="execute each notebook in place")
    parser.add_argument(
        "--check", action="store_true", help="only check that notebooks match sources"
    )
    parser.add_argument(
        "only",
        nargs="*",
        help="sources (03_transformers) or notebook names to build (default: all)",
    )
    args = parser.parse_args()
    stale, built = [], set()
    for path in sorted(SRC.glob("[0-9]*.py")):
        source = read_source(path)
        for name, tags in targets(source).items():
            if args.only and not {path.stem, name, Path(name).name} & set(args.only):
                continue
            built.add(path.stem)
            target = ROOT / "notebooks" / name
            nb = notebook_for(source, tags, name)
            if args.check:
                current = nbformat.read(target, as_version=4) if target.exists() else None
                if current is None or sources(current) != sources(nb):
                    stale.append(name)
                continue
            if args.execute:
                execute(nb, target)
            elif target.exists():
                keep_outputs(nbformat.read(target, as_version=4), nb)
            nbformat.write(nb, target)
            print(f"wrote {target.relative_to(ROOT)}")
    if args.only and not built:
        print("no source or notebook named", ", ".join(args.only))
        return 1
    if stale:
        print("notebooks out of date with notebooks/src (run `make notebooks`):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
