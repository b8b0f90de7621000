"""Input checks shared by every model and panel, without a framework.

Each raises ``ValueError`` for a bad value and ``TypeError`` for an argument of the wrong Python
type, naming the argument, so a twin fails the same way in both frameworks, before any framework
sees the input (where an out-of-range id would be an ``IndexError`` in torch, a graph error in
TensorFlow, or silently the last row for ``-1``). Per-model checks (``models/gpt2.check_ids``)
call these.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def count(value: Any, name: str, minimum: int = 0) -> int:
    """A whole number of things (steps, tokens, examples): an ``int`` (not a bool) >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def token_ids(ids: Any, vocab_size: int, name: str = "ids", ndim: int = 2) -> np.ndarray:
    """Token ids as an int64 array of ``ndim`` dimensions, each in ``[0, vocab_size)``.

    Floats (even whole ones), booleans and strings are refused rather than truncated or cast, and
    an empty array is refused: there would be nothing to read.
    """
    array = np.asarray(ids)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        if array.size == 0 and array.dtype == np.float64 and ndim == 1:  # [] is an empty list
            array = array.astype(np.int64)
        else:
            raise ValueError(f"{name} must be integer token ids, got dtype {array.dtype}")
    if array.ndim != ndim:
        shape = "(B, T)" if ndim == 2 else f"{ndim}-dimensional"
        raise ValueError(f"{name} must be {shape}, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(
            f"token {name} must be in [0, {vocab_size}) (the vocabulary), got values {low}..{high}"
        )
    return array.astype(np.int64)


def _number(value: Any, name: str, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    return float(value)


def sampling_args(
    vocab_size: int | None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> tuple[float, int | None, float | None]:
    """``(temperature, top_k, top_p)`` as plain Python numbers, after checking each.

    ``temperature`` is finite and >= 0 (0 means greedy); ``top_k`` is ``None`` (off) or an int in
    ``[1, vocab_size]``; ``top_p`` is ``None`` (off) or in ``(0, 1]``. With ``vocab_size=None``
    (not known yet) top_k's upper bound is not checked.
    """
    temperature = _number(temperature, "temperature", "a number")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 means greedy), got {temperature}")
    if top_k is not None:
        if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, numbers.Integral):
            raise TypeError(f"top_k must be an int or None, got {top_k!r} ({type(top_k).__name__})")
        top_k = int(top_k)  # a NumPy unsigned int would wrap around when negated
        high = "the vocabulary size" if vocab_size is None else f"the vocabulary size {vocab_size}"
        if top_k < 1 or (vocab_size is not None and top_k > vocab_size):
            raise ValueError(f"top_k must be between 1 and {high}, got {top_k}")
    if top_p is not None:
        top_p = _number(top_p, "top_p", "a number or None")
        if not 0 < top_p <= 1:  # NaN fails this too
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    return temperature, top_k, top_p
