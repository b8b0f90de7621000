"""Every self-check accepts a correct answer and rejects plausible wrong ones, saying what is wrong."""

from collections import Counter

import numpy as np

from lessonkit import exercises
from lessonkit.text import WordTokenizer


def build_vocab(text, max_size):
    counts = Counter(WordTokenizer.split(text))
    return ["<unk>"] + sorted(counts, key=lambda w: (-counts[w], w))[: max_size - 1]


def build_vocab_without_tie_order(text, max_size):
    return ["<unk>"] + [w for w, _ in Counter(WordTokenizer.split(text)).most_common(max_size - 1)]


def encode_words(text, vocab):
    index = {w: i for i, w in enumerate(vocab)}
    return [index.get(p, 0) for p in WordTokenizer.split(text)]


def make_windows(ids, n):
    count = (len(ids) - 1) // n
    return np.asarray(ids)[: count * n].reshape(count, n), np.asarray(ids)[
        1 : count * n + 1
    ].reshape(count, n)


def todo(*args):
    raise NotImplementedError


def test_correct_answers_pass():
    assert exercises.check_build_vocab(build_vocab).passed
    assert exercises.check_encode_words(encode_words).passed
    assert exercises.check_make_windows(make_windows).passed
    assert exercises.check_temperature_probs(
        lambda logits, t: (
            np.eye(len(logits))[np.argmax(logits)]
            if t == 0
            else np.exp(logits / t) / np.exp(logits / t).sum()
        )
    ).passed


def test_unfinished_todo_reports_not_done_instead_of_raising():
    for check in (
        exercises.check_build_vocab,
        exercises.check_encode_words,
        exercises.check_make_windows,
    ):
        feedback = check(todo)
        assert feedback.status == "not done" and "not done yet" in repr(feedback)


def test_wrong_tie_order_is_caught_with_expected_and_actual():
    feedback = exercises.check_build_vocab(build_vocab_without_tie_order)
    assert feedback.status == "failed"
    assert "build_vocab('the cat and the hat', max_size=10)" in feedback.message
    assert "expected: ['<unk>', 'the', 'and', 'cat', 'hat']" in feedback.message
    assert "got:      ['<unk>', 'the', 'cat', 'and', 'hat']" in feedback.message


def test_forgetting_unk_is_caught():
    feedback = exercises.check_encode_words(
        lambda text, vocab: [vocab.index(p) for p in text.split()]
    )
    assert feedback.status == "failed" and "'dog' is unknown" in feedback.message


def test_overlapping_windows_are_caught():
    def overlapping(ids, n):
        ids = np.asarray(ids)
        starts = range(len(ids) - n)
        return np.array([ids[s : s + n] for s in starts]), np.array(
            [ids[s + 1 : s + n + 1] for s in starts]
        )

    feedback = exercises.check_make_windows(overlapping)
    assert feedback.status == "failed" and "make_windows(np.arange(10), 4)" in feedback.message


def test_temperature_without_division_is_caught_and_exceptions_are_reported():
    feedback = exercises.check_temperature_probs(
        lambda logits, t: np.exp(logits) / np.exp(logits).sum()
    )
    assert feedback.status == "failed" and "0.5" in feedback.message
    crashed = exercises.check_temperature_probs(lambda logits, t: logits / 0 if t == 0 else 1 / 0)
    assert crashed.status == "failed" and "ZeroDivisionError" in crashed.message
