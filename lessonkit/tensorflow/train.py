"""A TensorFlow training loop, shared by every Keras model of the course.

The twin of ``lessonkit.torch.train``: ``get_batch(step)`` returns NumPy ``(inputs, targets)``; any
extra keyword inputs a model needs can be returned as a third item, a dict. The step (forward,
gradients, clipping, Adam update) is one compiled ``tf.function``; the loop shows a tqdm progress
bar (``progress=False`` hides it) and returns the loss history, so a notebook can plot it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..progress import end_bar, training_bar
from ..schedules import cosine_lr


def _to_tensors(batch):
    inputs, targets, *rest = batch
    kwargs = rest[0] if rest else {}
    to = lambda a: ops.convert_to_tensor(np.asarray(a))  # noqa: E731
    return to(inputs), to(targets), {k: to(v) for k, v in kwargs.items()}


def _reseed(model: keras.Model, seed: int) -> None:
    """Restart the model's own random streams (dropout masks) from ``seed``.

    Keras layers draw dropout masks from ``SeedGenerator`` variables fixed when the layer was built,
    so a global seed would not reach them. This is the twin of the torch loop's
    ``torch.manual_seed(seed)``, and it touches only this model's variables.
    """
    states = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=len(states))
    for variable, value in zip(states, seeds, strict=True):
        variable.assign(np.array([value, 0], dtype=variable.dtype))


def _compiled_loss(model: keras.Model) -> Callable:
    """The model's inference loss as a ``tf.function``, kept on the model so that evaluating every
    few hundred steps does not trace it again each time."""
    if getattr(model, "_lessonkit_loss_fn", None) is None:

        @tf.function(reduce_retracing=True)
        def batch_loss(inputs, targets, kwargs):
            return model(inputs, targets, training=False, **kwargs)[1]

        model._lessonkit_loss_fn = batch_loss
    return model._lessonkit_loss_fn


def train(
    model: keras.Model,
    get_batch: Callable[[int], tuple],
    steps: int,
    lr: float = 3e-3,
    final_lr: float | None = None,
    grad_clip: float | None = 1.0,
    eval_fn: Callable[[], float] | None = None,
    eval_every: int = 0,
    max_seconds: float | None = None,
    progress: bool = True,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Adam on the model's own loss for ``steps`` steps (or until ``max_seconds`` pass).

    With ``final_lr`` the learning rate follows a cosine from ``lr`` down to ``final_lr``.
    Adam's settings are torch's defaults (epsilon 1e-8, betas 0.9 and 0.999), and gradients are
    clipped by their global norm, as ``torch.nn.utils.clip_grad_norm_`` does. One difference
    remains: Keras adds epsilon before the bias correction, so in the first few hundred steps a
    weight whose gradient is below about 1e-6 moves less than in torch.

    Returns ``{"step": [...], "loss": [...], "eval_step": [...], "eval_loss": [...]}``: the
    training loss of every step and, every ``eval_every`` steps, ``eval_fn()``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    _reseed(model, seed)
    optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    variables = model.trainable_variables
    optimizer.build(variables)  # its slots must exist before the step is traced

    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets, kwargs):
        with tf.GradientTape() as tape:
            _, loss = model(inputs, targets, training=True, **kwargs)
        # An embedding's gradient arrives as IndexedSlices, one row per token occurrence; Keras's
        # Adam would square those rows one by one. Summed into a dense tensor it is torch's Adam.
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        if grad_clip:
            grads, _ = tf.clip_by_global_norm(grads, grad_clip)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    history: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "eval_loss": []}
    start = time.perf_counter()
    bar = training_bar(steps, progress)
    for step in range(steps):
        if final_lr is not None:
            optimizer.learning_rate = cosine_lr(step, steps, lr, final_lr)
        inputs, targets, kwargs = _to_tensors(get_batch(step))
        loss = float(train_step(inputs, targets, kwargs))
        history["step"].append(step)
        history["loss"].append(loss)
        if eval_fn is not None and eval_every and (step + 1) % eval_every == 0:
            history["eval_step"].append(step)
            history["eval_loss"].append(eval_fn())
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.update(1)
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break  # the time budget: the bar ends full, with the steps that ran
    end_bar(bar)
    return history


def evaluate(
    model: keras.Model,
    inputs: np.ndarray,
    targets: np.ndarray,
    batch_size: int = 64,
    **kwargs: Any,
) -> float:
    """Mean loss of ``model`` over all windows (nats per token), in inference mode."""
    batch_loss = _compiled_loss(model)
    total, count = 0.0, 0
    for i in range(0, len(inputs), batch_size):
        x, y, kw = _to_tensors(
            (
                inputs[i : i + batch_size],
                targets[i : i + batch_size],
                {k: v[i : i + batch_size] for k, v in kwargs.items()},
            )
        )
        total += float(batch_loss(x, y, kw)) * len(x)
        count += len(x)
    if count == 0:
        raise ValueError("evaluate needs at least one window")
    return total / count if math.isfinite(total) else float("nan")
