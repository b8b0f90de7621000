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

READ_EVERY = 10  # steps between reads of the training losses (each read waits for the device)


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


class _Adam:
    """Adam with torch's defaults, each weight updated by TensorFlow's fused kernel.

    ``ResourceApplyAdam`` updates a weight and both its moments in one operation; Keras's ``Adam``
    traces some 35 operations per weight into the step, which TensorFlow must then prepare before
    the first step runs, inside a lesson's time budget (preparing Lesson 4's BERT step took 2.7 s
    with the fused kernel instead of 5.5, Lesson 3's transformer 4.1 s instead of 7.4-8.9;
    ``benchmarks/README.md``). The formula is Keras's: the step
    ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``.
    """

    def __init__(self, variables, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.learning_rate = tf.Variable(1e-3, trainable=False, dtype="float32")
        self.iterations = tf.Variable(0.0, trainable=False, dtype="float32")
        zeros = lambda v: tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False)  # noqa: E731
        self.moments = [(zeros(v), zeros(v)) for v in variables]  # (first, second) of each weight

    def reset(self) -> None:
        """Back to the state of a new optimizer: no steps taken, both moments zero."""
        self.iterations.assign(0.0)
        for moments in self.moments:
            for moment in moments:
                moment.assign(tf.zeros_like(moment))

    def apply(self, grads, variables) -> None:
        """One Adam step of every weight (inside the compiled training step)."""
        t = self.iterations.assign_add(1.0)
        beta_1_power, beta_2_power = self.beta_1**t, self.beta_2**t  # the bias corrections
        for (m, v), variable, grad in zip(self.moments, variables, grads, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=beta_1_power,
                beta2_power=beta_2_power,
                lr=self.learning_rate,
                beta1=self.beta_1,
                beta2=self.beta_2,
                epsilon=self.epsilon,
                grad=grad,
            )


def _compiled_step(model: keras.Model, grad_clip: float | None) -> tuple[Callable, _Adam]:
    """The model's training step as one ``tf.function`` (forward, gradients, clipping, Adam) and
    its optimizer, kept on the model: a second ``train`` call reuses the traced step, with the
    optimizer's state zeroed, so it starts as fresh as a new optimizer would."""
    variables = model.trainable_variables
    key = (grad_clip, tuple(id(v) for v in variables))
    cached = getattr(model, "_lessonkit_train_step", None)
    if cached is not None and cached[0] == key:
        _, step, optimizer = cached
        optimizer.reset()
        return step, optimizer
    optimizer = _Adam(variables)  # its moments exist before the step is traced

    # Not jit_compile=True: on a CPU, XLA took 3-9 s to compile each model's step, again for each
    # new batch shape, and made no step faster by more than that costs in a lesson's 20 seconds
    # (benchmarks/README.md).
    # autograph=False: the step has no Python control flow over tensors to convert, and
    # converting its source took about 0.3 s of the first step (a lesson's 20 s include it).
    @tf.function(reduce_retracing=True, autograph=False)
    def train_step(inputs, targets, kwargs):
        with tf.GradientTape() as tape:
            _, loss = model(inputs, targets, training=True, **kwargs)
        # An embedding's gradient arrives as IndexedSlices, one row per token occurrence; summed
        # into a dense tensor, each row's Adam step is torch's.
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        if grad_clip:
            grads, _ = tf.clip_by_global_norm(grads, grad_clip)
        optimizer.apply(grads, variables)
        return loss

    model._lessonkit_train_step = (key, train_step, optimizer)
    return train_step, optimizer


def _done(step: int, steps: int, start: float, max_seconds: float | None) -> float:
    """How far the run is, as a step of the schedule: ``step``, or further when the time budget
    is running out faster (then the cosine ends when the time does)."""
    if max_seconds is None:
        return step
    return max(step, min((time.perf_counter() - start) / max_seconds, 1.0) * max(steps - 1, 1))


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

    With ``final_lr`` the learning rate follows a cosine from ``lr`` down to ``final_lr``, reached
    at the last step or, with ``max_seconds``, when the time runs out, whichever comes first.
    Adam's settings are torch's defaults (epsilon 1e-8, betas 0.9 and 0.999), and gradients are
    clipped by their global norm, as ``torch.nn.utils.clip_grad_norm_`` does. One difference
    remains: TensorFlow's Adam (as Keras's) adds epsilon before the bias correction, so in the
    first few hundred steps a weight whose gradient is below about 1e-6 moves less than in torch.

    The step is traced once per model (the learning rate is a variable, so a schedule does not
    retrace it), and the losses stay on the device until a read every few steps.

    Returns ``{"step": [...], "loss": [...], "eval_step": [...], "eval_loss": [...]}``: the
    training loss of every step and, every ``eval_every`` steps, ``eval_fn()``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    _reseed(model, seed)
    train_step, optimizer = _compiled_step(model, grad_clip)
    optimizer.learning_rate.assign(lr)
    history: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "eval_loss": []}
    bar = training_bar(steps, progress)
    pending: list[tf.Tensor] = []  # losses not read yet

    def read_losses():
        if pending:
            losses = tf.stack(pending).numpy().tolist()  # one wait for the device, not one a step
            history["loss"].extend(losses)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            bar.update(len(losses))
            pending.clear()

    start = last_read = time.perf_counter()
    for step in range(steps):
        if final_lr is not None:
            optimizer.learning_rate.assign(
                cosine_lr(_done(step, steps, start, max_seconds), steps, lr, final_lr)
            )
        inputs, targets, kwargs = _to_tensors(get_batch(step))
        pending.append(train_step(inputs, targets, kwargs))
        history["step"].append(step)
        now = time.perf_counter()
        if len(pending) == READ_EVERY or now - last_read > 1.0:
            read_losses()
            last_read = now
        if eval_fn is not None and eval_every and (step + 1) % eval_every == 0:
            read_losses()
            history["eval_step"].append(step)
            history["eval_loss"].append(eval_fn())
        if max_seconds is not None and now - start > max_seconds:
            break  # the time budget: the bar ends full, with the steps that ran
    read_losses()
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
