"""Self-checks for the exercises: run the learner's function on our cases and say what is wrong.

Each ``check_*`` returns a :class:`Feedback` that a notebook displays: a pass, the first failing
case with the expected and actual values, or "not done yet" while the function still raises
``NotImplementedError`` (so a notebook runs top to bottom with the TODOs unfilled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import windows
from .sampling import next_token_probs
from .text import WordTokenizer


@dataclass(frozen=True)
class Feedback:
    status: str  # "passed", "failed" or "not done"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __repr__(self) -> str:
        mark = {"passed": "✅", "failed": "❌", "not done": "⏳"}[self.status]
        return f"{mark} {self.message}"

    def _repr_html_(self) -> str:
        colour = {"passed": "#1a7f37", "failed": "#b00020", "not done": "#8a6d00"}[self.status]
        body = self.message.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        return f"<div style='color:{colour};font-family:monospace'>{repr(self)[:2]}{body}</div>"


@dataclass(frozen=True)
class Case:
    args: tuple
    expected: Any
    description: str


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        try:
            return np.shape(actual) == np.shape(expected) and np.allclose(
                actual, expected, atol=1e-6
            )
        except (TypeError, ValueError):
            return False
    if isinstance(expected, tuple) and isinstance(actual, tuple) and len(actual) == len(expected):
        return all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


def _short(value: Any, limit: int = 300) -> str:
    text = np.array2string(value, threshold=20) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def run_cases(
    function: Callable,
    cases: Sequence[Case],
    name: str,
    compare: Callable[[Any, Any], bool] = _same,
) -> Feedback:
    """Call ``function(*case.args)`` for every case; report the first one that goes wrong."""
    for case in cases:
        try:
            actual = function(*case.args)
        except NotImplementedError:
            return Feedback(
                "not done", f"{name}: not done yet (it still raises NotImplementedError)"
            )
        except Exception as error:  # the learner's bug, reported, not raised
            return Feedback(
                "failed",
                f"{name} raised {type(error).__name__}: {error}\n  case: {case.description}",
            )
        if not compare(actual, case.expected):
            return Feedback(
                "failed",
                f"{name} gives a wrong answer for {case.description}\n"
                f"  expected: {_short(case.expected)}\n  got:      {_short(actual)}",
            )
    return Feedback("passed", f"{name}: all {len(cases)} cases pass")


# --- Lesson 1 lab: word-level generation -------------------------------------------------------

_VOCAB_TEXTS = [
    ("the cat and the hat", 10, "a short text with a repeated word"),
    ("b a b c b a", 3, "max_size=3: room for <unk> and the two most frequent words"),
    ("c b a", 10, "three words seen once each: ties go in alphabetical order"),
    ("To be, or not to be", 5, "case-sensitive words and punctuation"),
]


def check_build_vocab(build_vocab: Callable[[str, int], list[str]]) -> Feedback:
    """``build_vocab(text, max_size)``: ``<unk>`` first, then words by falling count, ties A-Z."""
    cases = [
        Case((text, size), WordTokenizer.from_text(text, max_size=size).words,
             f"build_vocab({text!r}, max_size={size}) ({why})")
        for text, size, why in _VOCAB_TEXTS
    ]  # fmt: skip
    return run_cases(build_vocab, cases, "build_vocab")


def check_encode_words(encode_words: Callable[[str, list[str]], list[int]]) -> Feedback:
    """``encode_words(text, vocab)``: the id of each word piece, 0 (``<unk>``) for unknown words."""
    vocab = ["<unk>", "the", "cat", ",", "sat"]
    cases = [
        Case(
            ("the cat sat", vocab),
            [1, 2, 4],
            "encode_words('the cat sat', vocab) (all words known)",
        ),
        Case(
            ("the dog sat", vocab),
            [1, 0, 4],
            "encode_words('the dog sat', vocab) ('dog' is unknown: id 0)",
        ),
        Case(
            ("cat, the cat", vocab),
            [2, 3, 1, 2],
            "encode_words('cat, the cat', vocab) (',' is a token)",
        ),
        Case(("", vocab), [], "encode_words('', vocab) (empty text)"),
    ]
    return run_cases(encode_words, cases, "encode_words")


def check_make_windows(
    make_windows: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
) -> Feedback:
    """``make_windows(ids, n)``: non-overlapping inputs of n tokens and targets shifted by one."""
    cases = [
        Case((np.arange(10), 4), windows(np.arange(10), 4), "make_windows(np.arange(10), 4)"),
        Case((np.arange(9), 4), windows(np.arange(9), 4), "make_windows(np.arange(9), 4) (the last target is 8)"),
        Case((np.array([5, 3, 8, 1, 9, 2, 7]), 3), windows(np.array([5, 3, 8, 1, 9, 2, 7]), 3),
             "make_windows([5, 3, 8, 1, 9, 2, 7], 3)"),
    ]  # fmt: skip
    return run_cases(make_windows, cases, "make_windows")


def check_temperature_probs(
    temperature_probs: Callable[[np.ndarray, float], np.ndarray],
) -> Feedback:
    """``temperature_probs(logits, temperature)``: softmax of logits / temperature (0: one-hot argmax)."""
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    cases = [
        Case(
            (logits, t),
            next_token_probs(logits, temperature=t),
            f"temperature_probs({logits.tolist()}, {t})",
        )
        for t in (1.0, 0.5, 2.0, 0.0)
    ]
    return run_cases(temperature_probs, cases, "temperature_probs")
