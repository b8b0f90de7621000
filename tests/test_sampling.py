"""The sampler gives the distribution it promises (chi-square over seeded draws) and rejects nonsense."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare

from lessonkit.sampling import greedy, next_token_probs, sample

LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
N = 40_000


def hand_softmax(logits, temperature=1.0):
    """Independent reference: plain Python floats, no NumPy."""
    exps = [math.exp(x / temperature) for x in logits]
    return [e / sum(exps) for e in exps]


def draw(temperature=1.0, top_k=None, top_p=None, seed=0):
    rng = np.random.default_rng(seed)
    batch = np.tile(LOGITS, (N, 1))  # N rows sampled in one call
    return np.bincount(sample(batch, rng, temperature, top_k, top_p), minlength=len(LOGITS))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_temperature_gives_the_promised_distribution(temperature):
    counts = draw(temperature)
    expected = np.array(hand_softmax(LOGITS, temperature)) * N
    assert chisquare(counts, expected).pvalue > 1e-3


def test_chi_square_can_tell_temperatures_apart():
    counts = draw(1.0)
    expected_wrong = np.array(hand_softmax(LOGITS, 0.5)) * N
    assert chisquare(counts, expected_wrong).pvalue < 1e-6


def test_low_temperature_sharpens_and_high_flattens():
    entropies = [
        -(p * np.log(p)).sum() for p in (next_token_probs(LOGITS, t) for t in (0.3, 1.0, 3.0))
    ]
    assert entropies[0] < entropies[1] < entropies[2]


def test_top_k_keeps_only_the_k_best_with_renormalized_mass():
    counts = draw(top_k=3)
    assert counts[3:].sum() == 0
    kept = hand_softmax(LOGITS[:3])
    assert chisquare(counts[:3], np.array(kept) * N).pvalue > 1e-3


def test_top_p_keeps_the_smallest_nucleus():
    probs = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    np.testing.assert_allclose(next_token_probs(probs, top_p=0.8), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(
        next_token_probs(probs, top_p=0.81), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]
    )
    np.testing.assert_allclose(next_token_probs(probs, top_p=0.01), [1, 0, 0, 0])


def test_temperature_zero_is_greedy():
    assert (draw(temperature=0) == [N, 0, 0, 0, 0, 0]).all()
    assert greedy(np.array([[0.1, 3.0, 2.0]])).tolist() == [1]


def test_same_seed_same_draws_different_seed_different_draws():
    assert (draw(seed=1) == draw(seed=1)).all()
    assert (draw(seed=1) != draw(seed=2)).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 7}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": float("nan")}, "top_p"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        next_token_probs(LOGITS, **kwargs)


def test_non_finite_logits_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        next_token_probs(np.array([0.0, np.nan]))


def test_repetition_penalty_matches_transformers_processor():
    """Reference: transformers' RepetitionPenaltyLogitsProcessor (CTRL's rule) on the same scores."""
    torch = pytest.importorskip("torch")
    from transformers import RepetitionPenaltyLogitsProcessor

    from lessonkit.sampling import penalize_repeats

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 50))  # positive and negative scores
    previous = rng.integers(0, 50, size=(3, 12))
    seen = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(seen, previous, True, axis=-1)
    expected = RepetitionPenaltyLogitsProcessor(1.3)(torch.tensor(previous), torch.tensor(logits))
    np.testing.assert_allclose(penalize_repeats(logits, seen, 1.3), expected.numpy(), atol=1e-12)
    np.testing.assert_array_equal(penalize_repeats(logits, seen, 1.0), logits)  # 1 = off


class _Cycle:
    """A stub model whose best next token is always (last + 1) mod 3, then token 3."""

    def step(self, ids, state=None):
        logits = np.full((len(ids), 5), -1.0)
        logits[np.arange(len(ids)), (ids[:, -1] + 1) % 3] = 2.0
        logits[:, 3] = 1.5  # second best, never repeated greedily without the penalty
        return logits, state


def test_generate_with_repetition_penalty_leaves_the_loop():
    from lessonkit.generation import generate

    plain = generate(_Cycle(), [0], 6, temperature=0)
    assert plain.tolist() == [1, 2, 0, 1, 2, 0]  # greedy loops
    # With penalty 2 a seen best token scores 1.0 < 1.5, so token 3 wins once, then the
    # next seen ones are penalized: 2.0 / 2 = 1.0 against 3's 1.5 / 2 = 0.75.
    penalized = generate(_Cycle(), [0], 4, temperature=0, repetition_penalty=2.0)
    assert penalized.tolist() == [1, 2, 3, 1]
    with pytest.raises(ValueError, match="repetition_penalty"):
        generate(_Cycle(), [0], 2, repetition_penalty=0)
