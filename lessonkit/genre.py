"""The genre task of Lessons 3 and 4: from which kind of play, by the First Folio's grouping
(comedy, history, tragedy), is a passage of spoken text?

Passages come from :func:`lessonkit.data.spoken_text` and follow the one split by play
(:mod:`lessonkit.data`), so test passages come from plays never seen in training. Labels index
:data:`lessonkit.data.GENRES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from .data import GENRES, spoken_text, works


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
