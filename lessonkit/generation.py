"""The one generation loop, for every model and both frameworks.

A model takes part by exposing ``step(ids, state) -> (logits, state)``:

- ``ids``: NumPy int array ``(B, T)``: the whole prompt on the first call, then one new token;
- ``state``: ``None`` at first, then whatever the model returned: an RNN's hidden state or a
  transformer's KV cache. The prompt is read once; each new token costs one step;
- ``logits``: NumPy ``(B, V)``, the scores for the token after the last one in ``ids``.

Models that show attention accept ``return_attention=True`` and return a third value, the attention
of this step, which :func:`generate` collects when asked.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from . import checks
from .sampling import penalize_repeats, sample


class Steppable(Protocol):
    def step(self, ids: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]: ...


def generate(
    model: Steppable,
    ids: np.ndarray | list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = 0,
    stop_id: int | None = None,
    state: Any = None,
    return_attention: bool = False,
    step_kwargs: dict[str, Any] | None = None,
    repetition_penalty: float = 1.0,
) -> np.ndarray | tuple[np.ndarray, list[Any]]:
    """Continue ``ids`` (``(T,)`` or ``(B, T)``) by ``max_new_tokens`` sampled tokens.

    Returns the new tokens only, ``(N,)`` or ``(B, N)``, with ``N <= max_new_tokens`` (fewer when
    every row has produced ``stop_id``). ``state`` starts the chain from a given state instead of
    an empty one: a feature vector, or another text's state. With ``return_attention=True`` also returns the list of
    per-step attention values the model gave. ``step_kwargs`` go to every ``step`` call (a
    seq2seq model's encoder output, for example). ``repetition_penalty`` above 1 makes every token
    already in the prompt or the output less likely (:func:`lessonkit.sampling.penalize_repeats`).
    """
    ids = np.asarray(ids)
    squeeze = ids.ndim == 1
    ids = ids[None, :] if squeeze else ids
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(
            f"prompt ids must be a non-empty (T,) or (B, T) array, got shape {ids.shape}"
        )
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"prompt ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    max_new_tokens = checks.count(max_new_tokens, "max_new_tokens")
    checks.sampling_args(None, temperature, top_k, top_p)  # even when no token is asked for
    penalize_repeats(np.zeros(1), np.zeros(1, bool), repetition_penalty)  # checks the penalty
    rng = np.random.default_rng(seed)
    extra = dict(step_kwargs or {})
    if return_attention:
        extra["return_attention"] = True

    new_tokens: list[np.ndarray] = []
    attention: list[Any] = []
    finished = np.zeros(ids.shape[0], dtype=bool)
    seen = None  # (B, V): the tokens so far, for the repetition penalty
    step_input = ids
    for _ in range(max_new_tokens):
        out = model.step(step_input, state, **extra)
        logits, state = out[0], out[1]
        if return_attention:
            attention.append(out[2])
        if not new_tokens:  # validate once, against the real vocabulary size
            checks.sampling_args(logits.shape[-1], temperature, top_k, top_p)
        if repetition_penalty != 1:
            if seen is None:
                seen = np.zeros(np.shape(logits), dtype=bool)
                np.put_along_axis(seen, ids, True, axis=-1)
            logits = penalize_repeats(logits, seen, repetition_penalty)
        token = sample(logits, rng, temperature, top_k, top_p)  # (B,)
        if seen is not None:
            seen[np.arange(len(token)), token] = True
        new_tokens.append(token)
        step_input = token[:, None]  # (B, 1)
        if stop_id is not None:
            finished |= token == stop_id
            if finished.all():
                break
    result = np.stack(new_tokens, axis=1) if new_tokens else np.zeros((ids.shape[0], 0), np.int64)
    result = result[0] if squeeze else result
    return (result, attention) if return_attention else result


def generate_text(
    model: Steppable, tokenizer: Any, prompt: str, max_new_tokens: int, **kwargs: Any
) -> str:
    """Encode ``prompt``, :func:`generate`, and decode the new tokens (the prompt is not repeated)."""
    ids = tokenizer.encode(prompt)
    if not ids:
        raise ValueError("the prompt is empty: give at least one token to start from")
    return tokenizer.decode(generate(model, ids, max_new_tokens, **kwargs).tolist())
