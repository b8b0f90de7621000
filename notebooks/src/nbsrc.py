"""The tiny vocabulary notebook sources are written in (see scripts/build_notebooks.py)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}

# Every framework notebook starts with this cell: on Colab it installs lessonkit; everywhere it
# quiets TensorFlow's start-up logs and makes idle OpenMP threads sleep (both must be set before
# the frameworks are imported).
SETUP = """\
# Setup: runs anywhere. On Colab it installs lessonkit first; elsewhere it only sets quiet logs.
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep: faster on a busy CPU
if "google.colab" in sys.modules:  # only on Colab: fetch the course once, then import it from there
    if not os.path.isdir("/content/lessonkit-course"):
        !git clone -q --depth 1 {{REPO}} /content/lessonkit-course && pip install -q -e /content/lessonkit-course
    sys.path.insert(0, "/content/lessonkit-course")
    os.chdir("/content/lessonkit-course/notebooks")"""


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    text: str | None = None
    variants: dict[str, str] = field(default_factory=dict)  # variant -> text
    tags: tuple[str, ...] = ()
    figure: str | None = None  # name of the PNG `make figures` exports to docs/images/


def md(text: str) -> Cell:
    return Cell("markdown", textwrap.dedent(text).strip())


def code(text: str | None = None, *, tags: tuple[str, ...] = (), figure: str | None = None,
         **variants: str) -> Cell:
    """A code cell: ``text`` for every notebook, or named variants (``torch=``, ``tensorflow=``,
    ``exercise=``, ``solution=``) matched against the notebook's variant in ``TARGETS``."""
    if (text is None) == (not variants):
        raise ValueError("give either text or named variants")
    dedented = {k: textwrap.dedent(v).strip() for k, v in variants.items()}
    return Cell("code", textwrap.dedent(text).strip() if text else None, dedented, tuple(tags), figure)


def render(cell: Cell, variant: str | None) -> str | None:
    """The cell's source in one notebook variant (``None``: the cell is not in that notebook).

    A variant may join several names with ``+``: ``"torch+exercise"`` is the PyTorch notebook with
    the learner's TODO cells, so a cell written ``code(exercise=..., solution=...)`` shows its
    ``exercise`` text there, and ``code(torch=..., tensorflow=...)`` its ``torch`` text.
    """
    names = variant.split("+") if variant else []
    if cell.variants:
        text = next((cell.variants[n] for n in names if n in cell.variants), None)
        if text is None:
            return None
    else:
        text = cell.text
    framework = next((n for n in names if n in FRAMEWORK_NAMES), None)
    if framework:
        text = text.replace("{{FW}}", framework).replace("{{FW_NAME}}", FRAMEWORK_NAMES[framework])
    return text.replace("{{REPO}}", repository_url())


def repository_url() -> str:
    """The repository URL, kept in one place: pyproject.toml's [project.urls]."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"]


# --- Launch badges: Colab and Binder URLs derived from the one repository URL ---------------------

BRANCH = "main"  # the branch that Colab and Binder open
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def github_repository() -> str:
    """``OWNER/NAME`` of the repository URL (Colab and Binder open notebooks from GitHub)."""
    from urllib.parse import urlparse

    url = repository_url()
    parts = urlparse(url)
    path = parts.path.strip("/").removesuffix(".git")
    if parts.netloc != "github.com" or path.count("/") != 1:
        raise ValueError(f"[project.urls] Repository must be https://github.com/OWNER/NAME, got {url!r}")
    return path


def colab_url(notebook: str) -> str:
    """Colab's URL for ``notebooks/<notebook>`` on GitHub."""
    return f"https://colab.research.google.com/github/{github_repository()}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url() -> str:
    """mybinder.org's URL that builds binder/ and opens JupyterLab on notebooks/."""
    return f"https://mybinder.org/v2/gh/{github_repository()}/{BRANCH}?urlpath=lab/tree/notebooks"


def colab_badge(notebook: str) -> str:
    """The markdown of the "Open in Colab" badge the builder puts atop every notebook."""
    return f"[![Open in Colab]({COLAB_BADGE})]({colab_url(notebook)})"


def readme_badges() -> str:
    """The README's badges line: Lesson 1 in Colab, the whole course on Binder."""
    binder = f"[![Launch on Binder]({BINDER_BADGE})]({binder_url()})"
    return f"{colab_badge('01_generative_rnn_pytorch.ipynb')} {binder}"


# --- Quizzes, exercises and worked solutions (the same shape in every lesson) ---------------------

TODO = "raise NotImplementedError  # TODO: your code here"

_QUIZ_INTRO = {
    "pre": """
    ## Before you start: a short quiz

    A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
    and the lesson comes back to every one of them.
    """,
    "post": """
    ## Check your understanding

    The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.
    """,
}


def quiz(lesson: str, part: str) -> list[Cell]:
    """The markdown and code cells that show ``lessonkit/quizzes/<lesson>.json``'s ``part``."""
    if part not in _QUIZ_INTRO:
        raise ValueError(f"part must be 'pre' or 'post', got {part!r}")
    return [
        md(_QUIZ_INTRO[part]),
        code(f"""
        from lessonkit.widgets import Quiz

        Quiz.from_file("{lesson}", part="{part}")
        """),
    ]


def solutions(lesson_title: str, exercise_cells: list[Cell]) -> list[Cell]:
    """A lesson's worked-solutions notebook: its exercise cells, each with the ``solution`` text."""
    return [
        md(f"""
        # {lesson_title} · worked solutions

        One way to solve each exercise of the lesson, with the same self-check underneath.
        Try the exercise in the lesson notebook first: the check there says what is wrong.
        """),
        code(SETUP),
        code("""
        import numpy as np

        from lessonkit import exercises
        """),
        *exercise_cells,
    ]
