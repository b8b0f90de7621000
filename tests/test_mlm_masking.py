"""BERT's 15% / 80-10-10 masking recipe: statistical tests on seeded draws, and argument checks."""

import numpy as np
import pytest
from scipy.stats import binomtest, chisquare

from lessonkit.models.bert import IGNORE_INDEX, mask_tokens

VOCAB = 30522
PAD, UNK, CLS, SEP, MASK = 0, 100, 101, 102, 103
SPECIAL = (PAD, UNK, CLS, SEP, MASK)


def padded_batch(seed=0, rows=400, length=256):
    """[CLS] words [SEP] [PAD]...: rows of random lengths, ids drawn from the non-special range."""
    rng = np.random.default_rng(seed)
    ids = np.full((rows, length), PAD, dtype=np.int64)
    for row in range(rows):
        n = int(rng.integers(10, length - 1))
        ids[row, 0] = CLS
        ids[row, 1 : n + 1] = rng.integers(1000, VOCAB, size=n)
        ids[row, n + 1] = SEP
    return ids


@pytest.fixture(scope="module")
def draw():
    ids = padded_batch()
    inputs, labels = mask_tokens(ids, 7, VOCAB, MASK, SPECIAL)
    return ids, inputs, labels


def fates(ids, inputs, labels):
    """Counts of selected positions that became [MASK], stayed the same, or became another token."""
    selected = labels != IGNORE_INDEX
    masked = (inputs[selected] == MASK).sum()
    kept = (inputs[selected] == ids[selected]).sum()
    return np.array([masked, kept, selected.sum() - masked - kept])


def test_about_15_percent_of_ordinary_tokens_are_selected(draw):
    ids, _, labels = draw
    eligible = ~np.isin(ids, SPECIAL)
    selected = labels != IGNORE_INDEX
    assert eligible.sum() > 40_000  # a large sample
    assert binomtest(int(selected.sum()), int(eligible.sum()), 0.15).pvalue > 1e-3
    # ... and the test notices a wrong rate
    assert binomtest(int(selected.sum()), int(eligible.sum()), 0.16).pvalue < 1e-3


def test_selected_tokens_split_80_10_10(draw):
    counts = fates(*draw)
    n_candidates = VOCAB - len(SPECIAL)
    # A random replacement draws the original token again with probability 1 / n_candidates.
    promised = np.array([0.8, 0.1 + 0.1 / n_candidates, 0.1 * (1 - 1 / n_candidates)])
    assert chisquare(counts, promised * counts.sum()).pvalue > 1e-3
    assert chisquare(counts, np.array([0.76, 0.12, 0.12]) * counts.sum()).pvalue < 1e-6


def test_other_proportions_are_honoured():
    ids = padded_batch(seed=1)
    _, labels = mask_tokens(ids, 3, VOCAB, MASK, SPECIAL, mask_prob=0.4)
    eligible = int((~np.isin(ids, SPECIAL)).sum())
    assert binomtest(int((labels != IGNORE_INDEX).sum()), eligible, 0.4).pvalue > 1e-3
    inputs, labels = mask_tokens(ids, 3, VOCAB, MASK, SPECIAL, random_prob=0.0, keep_prob=0.0)
    selected = labels != IGNORE_INDEX
    assert (inputs[selected] == MASK).all()


def test_random_replacements_are_uniform_over_ordinary_tokens():
    vocab, special = 20, (0, 1, 2, 3)
    rng = np.random.default_rng(0)
    ids = rng.integers(4, vocab, size=(200, 100))
    inputs, labels = mask_tokens(
        ids, 5, vocab, 3, special, mask_prob=1.0, random_prob=1.0, keep_prob=0.0
    )
    assert (labels == ids).all()
    counts = np.bincount(inputs.ravel(), minlength=vocab)
    assert counts[:4].sum() == 0  # never a special token
    assert chisquare(counts[4:]).pvalue > 1e-3  # uniform over the 16 others
    only = mask_tokens(ids, 5, vocab, 3, special, 1.0, 1.0, 0.0, random_ids=[7, 8])[0]
    assert set(np.unique(only)) == {7, 8}


def test_specials_and_padding_are_never_selected(draw):
    ids, inputs, labels = draw
    special = np.isin(ids, SPECIAL)
    assert (labels[special] == IGNORE_INDEX).all()
    assert (inputs[special] == ids[special]).all()


def test_labels_are_the_original_ids_exactly_where_selected(draw):
    ids, inputs, labels = draw
    selected = labels != IGNORE_INDEX
    assert (labels[selected] == ids[selected]).all()
    assert (inputs[~selected] == ids[~selected]).all()  # nothing else changes
    assert inputs.shape == labels.shape == ids.shape
    assert inputs.dtype == labels.dtype == np.int64


def test_the_same_seed_gives_the_same_masks_and_a_generator_works_too():
    ids = padded_batch(rows=20)
    first = mask_tokens(ids, 11, VOCAB, MASK, SPECIAL)
    again = mask_tokens(ids, np.random.default_rng(11), VOCAB, MASK, SPECIAL)
    other = mask_tokens(ids, 12, VOCAB, MASK, SPECIAL)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    original = padded_batch(rows=20)
    np.testing.assert_array_equal(ids, original)  # the input is not modified


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": np.array([1.5, 2.0])}, "integer array"),
        ({"ids": np.array(5)}, "integer array"),
        ({"ids": np.array([[5, VOCAB]])}, "ids must be in"),
        ({"ids": np.array([[-1, 5]])}, "ids must be in"),
        ({"vocab_size": 10.0}, "vocab_size must be an int"),
        ({"mask_id": VOCAB}, "mask_id"),
        ({"special_ids": [VOCAB + 1]}, "special_ids"),
        ({"mask_prob": 1.5}, "mask_prob"),
        ({"mask_prob": "0.15"}, "mask_prob"),
        ({"random_prob": -0.1}, "random_prob"),
        ({"keep_prob": 0.6, "random_prob": 0.6}, "at most 1"),
        ({"random_ids": [VOCAB]}, "random_ids"),
        (
            {"vocab_size": 2, "ids": np.array([[0, 1]]), "mask_id": 1, "special_ids": [0, 1]},
            "every id is special",
        ),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_them(kwargs, message):
    arguments = {
        "ids": np.array([[CLS, 2000, 3000, SEP]]),
        "rng": 0,
        "vocab_size": VOCAB,
        "mask_id": MASK,
        "special_ids": SPECIAL,
    }
    with pytest.raises(ValueError, match=message):
        mask_tokens(**(arguments | kwargs))
