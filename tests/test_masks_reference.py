"""masks.py and reference.py against hand-computed values (NumPy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessonkit import masks, reference

T_, F_ = True, False


def test_causal_mask_by_hand():
    expected = np.array([[T_, F_, F_], [T_, T_, F_], [T_, T_, T_]])
    np.testing.assert_array_equal(masks.causal_mask(3), expected)
    assert masks.causal_mask(1).tolist() == [[True]]


def test_padding_mask_from_lengths_and_from_ids():
    by_lengths = masks.padding_mask([2, 3])
    np.testing.assert_array_equal(by_lengths, [[[T_, T_, F_]], [[T_, T_, T_]]])
    assert masks.padding_mask(np.array([1, 2]), length=4).shape == (2, 1, 4)
    by_ids = masks.padding_mask(np.array([[5, 7, 0], [0, 1, 0]]), pad_id=0)
    np.testing.assert_array_equal(by_ids, [[[T_, T_, F_]], [[F_, T_, F_]]])


def test_masks_combine_by_broadcasting():
    combined = masks.padding_mask([2, 3]) & masks.causal_mask(3)  # (B, T, T)
    expected_first = np.array([[T_, F_, F_], [T_, T_, F_], [T_, T_, F_]])  # key 2 is padding
    assert combined.shape == (2, 3, 3)
    np.testing.assert_array_equal(combined[0], expected_first)
    np.testing.assert_array_equal(combined[1], masks.causal_mask(3))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: masks.causal_mask(0), "positive"),
        (lambda: masks.padding_mask(np.zeros((2, 3), dtype=int)), "pad_id"),
        (lambda: masks.padding_mask([1, 2], pad_id=0), r"\(B, S\)"),
        (lambda: masks.padding_mask([3, 2], length=2), "shorter"),
        (lambda: masks.sinusoidal_positions(10, 5), "even"),
    ],
)
def test_mask_helpers_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sinusoidal_positions_match_the_formula_at_hand_computed_entries():
    pe = masks.sinusoidal_positions(50, 4)
    assert pe.shape == (50, 4) and pe.dtype == np.float32
    np.testing.assert_allclose(
        pe[0], [0.0, 1.0, 0.0, 1.0], atol=1e-7
    )  # sin(0), cos(0) in every pair
    # d_model = 4: pair i = 0 has frequency 1, pair i = 1 has 1 / 10000^(2/4) = 1/100.
    np.testing.assert_allclose(
        pe[1], [0.8414709848, 0.5403023059, 0.0099998333, 0.9999500004], atol=1e-7
    )
    np.testing.assert_allclose(pe[2, 2:], [0.0199986667, 0.9998000067], atol=1e-7)
    big = masks.sinusoidal_positions(60, 512)
    # PE(pos=50, 2i=100) = sin(50 / 10000^(100/512)); PE(50, 101) is its cosine.
    angle = 50 / 10000 ** (100 / 512)
    np.testing.assert_allclose(big[50, 100:102], [math.sin(angle), math.cos(angle)], atol=1e-6)


def test_attention_mask_shape_accepts_and_rejects():
    assert masks.attention_mask_shape((4, 6), 2, 3, 4, 6) == (1, 1, 4, 6)
    assert masks.attention_mask_shape((2, 1, 6), 2, 3, 4, 6) == (2, 1, 1, 6)
    assert masks.attention_mask_shape((2, 3, 4, 6), 2, 3, 4, 6) == (2, 3, 4, 6)
    for bad in [(6,), (4, 5), (3, 4, 6), (2, 2, 4, 6), (1, 2, 3, 4, 6)]:
        with pytest.raises(ValueError, match="mask"):
            masks.attention_mask_shape(bad, 2, 3, 4, 6)


def test_scaled_dot_product_attention_by_hand():
    q = np.array([[1.0, 0.0]])  # (T=1, D=2)
    k = np.array([[1.0, 0.0], [0.0, 1.0]])  # (S=2, D=2)
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    out, weights = reference.scaled_dot_product_attention(q, k, v)
    w0 = math.exp(1 / math.sqrt(2)) / (math.exp(1 / math.sqrt(2)) + 1.0)  # scores 1/sqrt(2) and 0
    np.testing.assert_allclose(weights, [[w0, 1 - w0]], atol=1e-12)
    np.testing.assert_allclose(out, [[w0 * 1 + (1 - w0) * 3, w0 * 2 + (1 - w0) * 4]], atol=1e-12)
    out, weights = reference.scaled_dot_product_attention(q, k, v, mask=np.array([[True, False]]))
    np.testing.assert_allclose(weights, [[1.0, 0.0]])
    np.testing.assert_allclose(out, [[1.0, 2.0]])


def test_fully_masked_row_gives_uniform_weights_not_nan():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    mask = np.array([[True, True, False, False], [False, False, False, False]])
    _, weights = reference.scaled_dot_product_attention(q, k, v, mask)
    assert np.isfinite(weights).all()
    np.testing.assert_allclose(weights[1], 0.25)
    np.testing.assert_allclose(weights.sum(-1), 1.0)


def _loop_multi_head(query, key, value, params, n_heads, mask=None):
    """An independent multi-head attention: one head at a time, with explicit slices and loops."""
    B, T, C = query.shape
    D = C // n_heads
    q = query @ params["q_proj.weight"].T + params["q_proj.bias"]
    k = key @ params["k_proj.weight"].T + params["k_proj.bias"]
    v = value @ params["v_proj.weight"].T + params["v_proj.bias"]
    merged = np.zeros((B, T, C))
    weights = np.zeros((B, n_heads, T, key.shape[1]))
    for b in range(B):
        for h in range(n_heads):
            cols = slice(h * D, (h + 1) * D)
            for t in range(T):
                scores = np.array(
                    [q[b, t, cols] @ k[b, s, cols] / math.sqrt(D) for s in range(key.shape[1])]
                )
                if mask is not None:
                    scores = np.where(mask[b, t], scores, -np.inf)
                w = np.exp(scores - scores.max())
                w /= w.sum()
                weights[b, h, t] = w
                merged[b, t, cols] = w @ v[b, :, cols]
    return merged @ params["out_proj.weight"].T + params["out_proj.bias"], weights


def _random_params(C, rng):
    return {
        f"{name}.{kind}": rng.normal(size=(C, C) if kind == "weight" else (C,)) / math.sqrt(C)
        for name in ("q_proj", "k_proj", "v_proj", "out_proj")
        for kind in ("weight", "bias")
    }


def test_multi_head_attention_equals_a_head_by_head_loop():
    rng = np.random.default_rng(1)
    B, T, S, C, H = 2, 3, 5, 8, 2
    params = _random_params(C, rng)
    query, memory = rng.normal(size=(B, T, C)), rng.normal(size=(B, S, C))
    out, weights = reference.multi_head_attention(query, memory, memory, params, H)
    expected_out, expected_weights = _loop_multi_head(query, memory, memory, params, H)
    np.testing.assert_allclose(out, expected_out, atol=1e-10)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-10)
    # Self-attention with padding and causality combined.
    x = rng.normal(size=(B, T, C))
    mask = masks.padding_mask([3, 2]) & masks.causal_mask(T)  # (B, T, T)
    out, weights = reference.multi_head_attention(x, x, x, params, H, mask=mask)
    expected_out, expected_weights = _loop_multi_head(x, x, x, params, H, mask=mask)
    np.testing.assert_allclose(out, expected_out, atol=1e-10)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-10)
    assert weights[1, :, 2, 2] == pytest.approx([0.0, 0.0])  # the padded key gets nothing


def test_multi_head_attention_rejects_bad_input():
    rng = np.random.default_rng(2)
    params = _random_params(6, rng)
    x = rng.normal(size=(2, 3, 6))
    with pytest.raises(ValueError, match="divisible"):
        reference.multi_head_attention(x, x, x, params, n_heads=4)
    with pytest.raises(ValueError, match="key, value"):
        reference.multi_head_attention(x, x, x[:, :2], params, n_heads=2)
    with pytest.raises(ValueError, match="mask"):
        reference.multi_head_attention(
            x, x, x, params, n_heads=2, mask=np.ones((2, 4, 3), dtype=bool)
        )
