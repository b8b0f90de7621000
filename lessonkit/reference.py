"""NumPy references of attention: the slow, obvious version the framework twins are tested against.

Masks follow :mod:`lessonkit.masks`: boolean, **True = may attend**. Where a mask is False the score
becomes the most negative float before the softmax, so that key gets weight 0 (a row with no key
left to attend to gets uniform weights instead of NaN).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .masks import attention_mask_shape
from .sampling import softmax


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(q k^T / sqrt(D)) v``: ``(output (..., T, Dv), weights (..., T, S))``.

    ``q`` is ``(..., T, D)``, ``k`` ``(..., S, D)``, ``v`` ``(..., S, Dv)``; ``mask`` is boolean and
    broadcasts to ``(..., T, S)``.
    """
    q, k, v = np.asarray(q), np.asarray(k), np.asarray(v)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"q {q.shape}, k {k.shape}, v {v.shape}: need q (..., T, D), k (..., S, D), v (..., S, Dv)"
        )
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])  # (..., T, S)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        scores = np.where(mask, scores, np.finfo(scores.dtype).min)  # (..., T, S)
    weights = softmax(scores, axis=-1)  # (..., T, S)
    return weights @ v, weights  # (..., T, Dv), (..., T, S)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``x @ weight.T + bias`` with a torch-layout ``weight`` ``(out, in)``."""
    y = np.asarray(x) @ np.asarray(weight).T  # (..., out)
    return y if bias is None else y + np.asarray(bias)


def multi_head_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    params: Mapping[str, np.ndarray],
    n_heads: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head attention from weight matrices: ``(output (B, T, C), weights (B, H, T, S))``.

    ``params`` holds torch-layout arrays under the twins' keys: ``q_proj.weight`` ``(C, C)`` and
    ``q_proj.bias`` ``(C,)``, the same for ``k_proj``, ``v_proj`` and ``out_proj`` (biases may be
    absent). ``query`` is ``(B, T, C)``, ``key`` and ``value`` ``(B, S, C)``; ``mask`` is any shape
    :func:`lessonkit.masks.attention_mask_shape` accepts.
    """
    query, key, value = np.asarray(query), np.asarray(key), np.asarray(value)
    if (
        query.ndim != 3
        or key.ndim != 3
        or key.shape != value.shape
        or key.shape[0] != query.shape[0]
    ):
        raise ValueError(
            f"need query (B, T, C) and key, value (B, S, C); got {query.shape}, {key.shape}, {value.shape}"
        )
    B, T, C = query.shape
    S = key.shape[1]
    if C % n_heads:
        raise ValueError(f"d_model ({C}) must be divisible by n_heads ({n_heads})")
    D = C // n_heads

    def project(x: np.ndarray, name: str, length: int) -> np.ndarray:
        y = linear(x, params[f"{name}.weight"], params.get(f"{name}.bias"))  # (B, length, C)
        return y.reshape(B, length, n_heads, D).transpose(0, 2, 1, 3)  # (B, H, length, D)

    q, k, v = project(query, "q_proj", T), project(key, "k_proj", S), project(value, "v_proj", S)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool).reshape(
            attention_mask_shape(np.shape(mask), B, n_heads, T, S)
        )
    heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, D), (B, H, T, S)
    merged = heads.transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C)
    return linear(merged, params["out_proj.weight"], params.get("out_proj.bias")), weights


def additive_attention(
    query: np.ndarray,
    keys: np.ndarray,
    params: Mapping[str, np.ndarray],
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Additive (Bahdanau) attention: ``(context (B, Ck), weights (B, S))``.

    ``score_i = v^T tanh(W_s query + W_h keys_i)``, softmax over the positions where ``mask``
    (B, S) is True, and the context is the weighted sum of the keys. ``params`` holds torch-layout
    arrays under the twins' keys: ``query_proj.weight`` ``(A, Cq)`` (W_s), ``key_proj.weight``
    ``(A, Ck)`` (W_h) and ``energy.weight`` ``(1, A)`` (v). ``query`` is ``(B, Cq)``, ``keys``
    ``(B, S, Ck)``.
    """
    query, keys = np.asarray(query), np.asarray(keys)
    if query.ndim != 2 or keys.ndim != 3 or keys.shape[0] != query.shape[0]:
        raise ValueError(f"need query (B, Cq) and keys (B, S, Ck); got {query.shape}, {keys.shape}")
    hidden = np.tanh(
        linear(query, params["query_proj.weight"])[:, None, :]  # (B, 1, A)
        + linear(keys, params["key_proj.weight"])  # (B, S, A)
    )  # (B, S, A)
    scores = linear(hidden, params["energy.weight"])[..., 0]  # (B, S)
    if mask is not None:
        scores = np.where(np.asarray(mask, dtype=bool), scores, np.finfo(scores.dtype).min)
    weights = softmax(scores, axis=-1)  # (B, S)
    context = np.einsum("bs,bsc->bc", weights, keys)  # (B, Ck)
    return context, weights
