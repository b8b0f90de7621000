"""Turning a model's scores into the next token, in NumPy, for every model of the course.

``next_token_probs`` shapes a distribution (temperature, then top-k, then top-p) and is what the
widgets draw; ``sample`` draws from it with a seeded generator. Temperature 0 means greedy.
"""

from __future__ import annotations

import numpy as np

from .checks import sampling_args


def _check_logits(logits) -> np.ndarray:
    """Finite float64 scores with a non-empty vocabulary axis, or a ``ValueError``."""
    try:
        logits = np.asarray(logits, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"logits must be an array of numbers: {error}") from error
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a vocabulary axis, got shape {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("logits contain NaN or infinite values")
    return logits


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """The course's one NumPy softmax, in float64: subtracting the row maximum first changes
    nothing in the result but keeps ``exp`` from overflowing."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def penalize_repeats(logits: np.ndarray, seen: np.ndarray, penalty: float) -> np.ndarray:
    """CTRL's repetition penalty (Keskar et al., 2019), as ``transformers`` applies it: the score
    of every token already in the text (``seen``, a boolean ``(..., V)`` mask) is divided by
    ``penalty`` where positive and multiplied by it where negative, so a repeat gets less likely
    whatever its sign. ``penalty`` 1 changes nothing; greedy decoding stays greedy on the new
    scores."""
    logits = _check_logits(logits)
    penalty = float(penalty)
    if not np.isfinite(penalty) or penalty <= 0:
        raise ValueError(f"repetition_penalty must be a positive number (1 = off), got {penalty}")
    seen = np.asarray(seen, dtype=bool)
    if seen.shape != logits.shape:
        raise ValueError(f"seen must match the logits' shape {logits.shape}, got {seen.shape}")
    penalized = np.where(logits > 0, logits / penalty, logits * penalty)
    return np.where(seen, penalized, logits)


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
    logits = _check_logits(logits)
    vocab_size = logits.shape[-1]
    temperature, top_k, top_p = sampling_args(vocab_size, temperature, top_k, top_p)

    if temperature == 0:
        probs = np.zeros_like(logits)
        np.put_along_axis(probs, logits.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return probs
    # Shift the best score to 0 before dividing: a tiny temperature or huge finite logits then
    # give -inf (probability 0), never inf - inf = NaN.
    with np.errstate(over="ignore"):
        scaled = (logits - logits.max(axis=-1, keepdims=True)) / temperature
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
        keep_sorted[..., 0] = True  # however small top_p, the most likely token is kept
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
    """Draw one token id per row of ``logits`` ``(B, V)`` (or ``(V,)``); returns ``(B,)`` int64."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    if np.ndim(logits) > 2:
        raise ValueError(
            f"logits must be (B, V) or (V,): one row per sequence, got shape {np.shape(logits)}; "
            "for a (B, T, V) output pass its last position, logits[:, -1]"
        )
    if temperature == 0:  # greedy: the best token, whatever top-k and top-p keep
        sampling_args(np.shape(logits)[-1] if np.ndim(logits) else None, temperature, top_k, top_p)
        return greedy(np.atleast_2d(_check_logits(logits)))
    probs = np.atleast_2d(next_token_probs(logits, temperature, top_k, top_p))  # (B, V)
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    ids = (cumulative <= draws).sum(axis=-1)  # first index whose cumulative mass passes the draw
    return np.minimum(ids, probs.shape[-1] - 1).astype(np.int64)


def greedy(logits: np.ndarray) -> np.ndarray:
    """The highest-scoring token of each row: ``(B, V) -> (B,)``."""
    return np.asarray(logits).argmax(axis=-1).astype(np.int64)
