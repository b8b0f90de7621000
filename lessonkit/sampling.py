"""Turning a model's scores into the next token, in NumPy, for every model of the course.

``next_token_probs`` shapes a distribution (temperature, then top-k, then top-p) and is what the
widgets draw; ``sample`` draws from it with a seeded generator. Temperature 0 means greedy.
"""

from __future__ import annotations

import math

import numpy as np


def check_sampling_args(
    vocab_size: int, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> None:
    """Raise ``ValueError`` naming the first argument that makes no sense."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)):
        raise ValueError(f"temperature must be a number, got {temperature!r}")
    if math.isnan(temperature) or math.isinf(temperature) or temperature < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 means greedy), got {temperature}")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
            raise ValueError(f"top_k must be an int or None, got {top_k!r}")
        if not 1 <= top_k <= vocab_size:
            raise ValueError(
                f"top_k must be between 1 and the vocabulary size {vocab_size}, got {top_k}"
            )
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.floating)):
            raise ValueError(f"top_p must be a number or None, got {top_p!r}")
        if math.isnan(top_p) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def next_token_probs(
    logits: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """The distribution a sampler draws from, shape ``(..., V)``, each row summing to 1.

    1. divide the logits by ``temperature`` (0: all mass on the best token, i.e. greedy);
    2. keep the ``top_k`` highest-scoring tokens (ties at the k-th score are all kept);
    3. keep the smallest set of most likely tokens whose mass reaches ``top_p`` (nucleus).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a vocabulary axis, got shape {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("logits contain NaN or infinite values")
    vocab_size = logits.shape[-1]
    check_sampling_args(vocab_size, temperature, top_k, top_p)

    if temperature == 0:
        probs = np.zeros_like(logits)
        np.put_along_axis(probs, logits.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return probs
    scaled = logits / temperature
    if top_k is not None and top_k < vocab_size:
        kth = np.sort(scaled, axis=-1)[..., -top_k][..., None]  # (..., 1) k-th best score
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    probs = softmax(scaled)
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, axis=-1)  # most likely first
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        # Keep a token while the mass before it is short of top_p (the best token always stays);
        # the tolerance makes a nucleus that reaches top_p exactly count despite float rounding.
        keep_sorted = mass_before < top_p - 1e-9
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def sample(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """Draw one token id per row of ``logits`` ``(B, V)``; returns ``(B,)`` int64."""
    probs = np.atleast_2d(next_token_probs(logits, temperature, top_k, top_p))  # (B, V)
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    ids = (cumulative <= draws).sum(axis=-1)  # first index whose cumulative mass passes the draw
    return np.minimum(ids, probs.shape[-1] - 1).astype(np.int64)


def greedy(logits: np.ndarray) -> np.ndarray:
    """The highest-scoring token of each row: ``(B, V) -> (B,)``."""
    return np.asarray(logits).argmax(axis=-1).astype(np.int64)
