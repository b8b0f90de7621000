"""The course site's one extension: every notebook page opens with links to its twins.

A lesson exists as a PyTorch and a TensorFlow notebook and has a worked-solutions notebook; the
lab has its solution. Before MyST-NB parses a notebook, its first cell (the "Open in Colab" badge,
an image on Colab's server) becomes a line of links: the other framework, the solutions or the
exercises, and Colab as a plain link, so the page loads nothing from outside the site.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

FRAMEWORKS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
BADGE = re.compile(r"\[!\[(?P<alt>[^\]]*)\]\([^)]*\)\]\((?P<url>[^)]*)\)")


def twin_links(docname: str, exists) -> list[str]:
    """The markdown links atop ``docname`` (``notebooks/...`` without suffix), in reading order.

    ``exists(path)`` says whether a notebook path relative to ``notebooks/`` is on the site.
    """
    parts = docname.split("/")
    if parts[0] != "notebooks":
        return []
    if parts[1:2] == ["solutions"]:
        stem, up = parts[-1], "../"
        candidates = [(name, f"{stem}_{key}.ipynb") for key, name in FRAMEWORKS.items()]
        candidates.append(("the exercise notebook", f"{stem}.ipynb"))
        return [f"[{name}]({up}{path})" for name, path in candidates if exists(path)]
    stem = parts[-1]
    framework = next((key for key in FRAMEWORKS if stem.endswith("_" + key)), None)
    links = []
    if framework is not None:
        base = stem.removesuffix("_" + framework)
        for key, name in FRAMEWORKS.items():
            if key != framework and exists(f"{base}_{key}.ipynb"):
                links.append(f"[the same lesson in {name}]({base}_{key}.ipynb)")
    else:
        base = stem
    if exists(f"solutions/{base}.ipynb"):
        links.append(f"[worked solutions](solutions/{base}.ipynb)")
    return links


def header_cell(docname: str, exists, colab: str | None) -> str:
    """The markdown of the links cell that replaces the Colab badge."""
    stem = docname.rsplit("/", 1)[-1]
    framework = next((name for key, name in FRAMEWORKS.items() if stem.endswith("_" + key)), None)
    if docname.startswith("notebooks/solutions/"):
        lead = "Worked solutions. Back to"
    elif framework is not None:
        lead = f"This page: the **{framework}** notebook. See also"
    else:
        lead = "See also"
    links = twin_links(docname, exists)
    if colab:
        links.append(f"[open it in Colab]({colab})")
    body = f"{lead} " + " · ".join(links) if links else ""
    return f":::{{container}} lessonkit-twins\n{body}\n:::\n" if body else ""


def insert_twin_links(app, docname: str, source: list[str]) -> None:
    if not docname.startswith("notebooks/"):
        return
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".ipynb":
        return
    notebooks = Path(app.srcdir) / "notebooks"
    notebook = json.loads(source[0])
    cells = notebook["cells"]
    colab = None
    if cells and cells[0]["cell_type"] == "markdown":
        text = "".join(cells[0]["source"])
        match = BADGE.search(text)
        if match and "colab" in match["alt"].lower():
            colab = match["url"]
            cells.pop(0)
    header = header_cell(docname, lambda p: (notebooks / p).is_file(), colab)
    if header:
        cells.insert(0, {"cell_type": "markdown", "id": "lessonkit-twins", "metadata": {},
                         "source": header})  # fmt: skip
    source[0] = json.dumps(notebook)


def setup(app):
    app.connect("source-read", insert_twin_links)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
