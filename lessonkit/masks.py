"""Attention masks and positional encodings, in NumPy.

**The mask convention of the whole course: True = may attend.** A boolean mask ``m`` with
``m[..., t, s] == True`` lets query position ``t`` look at key position ``s``; where it is False
the score is replaced by the most negative float before the softmax, so that key gets weight 0.
(``torch.nn.MultiheadAttention`` uses the opposite convention, True = blocked; Keras'
``MultiHeadAttention`` uses ours. The tests convert where they compare.)

Masks combine with ``&`` by NumPy broadcasting: ``padding_mask(ids, pad_id) & causal_mask(T)``
is a ``(B, T, T)`` mask that blocks both padding and the future.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def causal_mask(T: int) -> np.ndarray:
    """``(T, T)`` boolean: position ``t`` may attend to positions ``s <= t`` (itself and the past)."""
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool))  # (T, T)


def padding_mask(
    lengths_or_ids: Sequence[int] | np.ndarray, pad_id: int | None = None, length: int | None = None
) -> np.ndarray:
    """``(B, 1, S)`` boolean: True on the real tokens of each sequence, False on padding.

    Give either the sequence lengths ``(B,)`` (then ``S = length`` or the longest length), or
    padded token ids ``(B, S)`` together with ``pad_id``. The middle axis of size 1 broadcasts over
    the query positions, so the result is a valid attention mask as it is; ``mask[:, 0]`` is the
    ``(B, S)`` token mask a classifier uses for pooling.
    """
    array = np.asarray(lengths_or_ids)
    if pad_id is None:
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"without pad_id, padding_mask expects integer lengths of shape (B,), got shape {array.shape}; "
                "to mask padded ids, pass pad_id"
            )
        if len(array) == 0 or array.min() < 0:
            raise ValueError(f"lengths must be non-negative and at least one, got {array.tolist()}")
        S = int(array.max()) if length is None else length
        if S < int(array.max()):
            raise ValueError(
                f"length {S} is shorter than the longest sequence ({int(array.max())})"
            )
        real = np.arange(S)[None, :] < array[:, None]  # (B, S)
    else:
        if array.ndim != 2:
            raise ValueError(
                f"with pad_id, padding_mask expects ids of shape (B, S), got shape {array.shape}"
            )
        if length is not None and length != array.shape[1]:
            raise ValueError(f"length {length} does not match the ids' length {array.shape[1]}")
        real = array != pad_id  # (B, S)
    return real[:, None, :]  # (B, 1, S)


def sinusoidal_positions(max_len: int, d_model: int) -> np.ndarray:
    """The fixed positional encoding of "Attention is all you need", ``(max_len, d_model)`` float32.

    ``PE[pos, 2i] = sin(pos / 10000^(2i / d_model))`` and ``PE[pos, 2i + 1] = cos(pos / 10000^(2i /
    d_model))``: each pair of columns is a clock of its own frequency, from one turn every 2*pi
    positions (the first pair) to one turn every 10000 * 2*pi positions (the last).
    """
    if max_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError(
            f"need max_len >= 1 and an even d_model >= 2, got max_len={max_len}, d_model={d_model}"
        )
    positions = np.arange(max_len, dtype=np.float64)[:, None]  # (max_len, 1)
    frequencies = 1.0 / 10000.0 ** (
        np.arange(0, d_model, 2, dtype=np.float64) / d_model
    )  # (d_model/2,)
    angles = positions * frequencies[None, :]  # (max_len, d_model/2)
    table = np.empty((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles)
    return table.astype(np.float32)


def attention_mask_shape(
    mask_shape: Sequence[int], batch: int | None, n_heads: int, T: int | None, S: int | None
) -> tuple[int, int, int, int]:
    """Check an attention mask's shape; return the 4-D shape ``(B|1, H|1, T|1, S)`` it is read as.

    Accepted: ``(T|1, S)`` for every sequence, ``(B|1, T|1, S)`` per sequence (e.g. a
    :func:`padding_mask`, or one combined with :func:`causal_mask`), and ``(B|1, H|1, T|1, S)``.
    Both framework twins call this, so they accept and reject the same masks. A size given as
    ``None`` (unknown while a graph is traced) accepts any length.
    """
    shape = tuple(None if n is None else int(n) for n in mask_shape)
    expected = {2: (T, S), 3: (batch, T, S), 4: (batch, n_heads, T, S)}.get(len(shape))
    wanted = "(T, S), (B, T, S) or (B, H, T, S), with 1 allowed for B, H, T"
    if expected is None:
        raise ValueError(f"mask must be {wanted}; got a {len(shape)}-D mask of shape {shape}")
    leading_fit = all(
        n is None or e is None or n in (1, e)
        for n, e in zip(shape[:-1], expected[:-1], strict=True)
    )
    fits = leading_fit and (shape[-1] is None or S is None or shape[-1] == S)
    if not fits:
        raise ValueError(
            f"mask of shape {shape} does not fit attention of B={batch}, H={n_heads}, T={T}, S={S}: "
            f"expected {expected} (1 allowed except for S)"
        )
    if len(shape) == 2:
        return (1, 1, *shape)
    if len(shape) == 3:
        return (shape[0], 1, shape[1], shape[2])
    return shape  # type: ignore[return-value]
