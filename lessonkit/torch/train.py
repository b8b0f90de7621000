"""An explicit PyTorch training loop, shared by every model of the course.

``get_batch(step)`` returns NumPy ``(inputs, targets)``; any extra keyword inputs a model needs can
be returned as a third item, a dict. The loop shows a tqdm progress bar (``progress=False`` hides it)
and returns the loss history, so a notebook can plot it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..progress import end_bar, training_bar
from ..schedules import cosine_lr

READ_EVERY = 10  # steps between reads of the training losses (each read waits for the device)


def _to_tensors(batch, device):
    inputs, targets, *rest = batch
    kwargs = rest[0] if rest else {}
    to = lambda a: torch.as_tensor(np.asarray(a), device=device)  # noqa: E731
    return to(inputs), to(targets), {k: to(v) for k, v in kwargs.items()}


def _done(step: int, steps: int, start: float, max_seconds: float | None) -> float:
    """How far the run is, as a step of the schedule: ``step``, or further when the time budget
    is running out faster (then the cosine ends when the time does)."""
    if max_seconds is None:
        return step
    return max(step, min((time.perf_counter() - start) / max_seconds, 1.0) * max(steps - 1, 1))


def train(
    model: nn.Module,
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
    at the last step or, with ``max_seconds``, when the time runs out, whichever comes first. The
    losses stay on the device until a read every few steps.

    Returns ``{"step": [...], "loss": [...], "eval_step": [...], "eval_loss": [...]}``: the
    training loss of every step and, every ``eval_every`` steps, ``eval_fn()``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    torch.manual_seed(seed)  # nn.LSTM's dropout draws from torch's global generator
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "eval_loss": []}
    bar = training_bar(steps, progress)
    pending: list[torch.Tensor] = []  # losses not read yet

    def read_losses():
        if pending:
            losses = torch.stack(pending).tolist()  # one wait for the device, not one a step
            history["loss"].extend(losses)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            bar.update(len(losses))
            pending.clear()

    start = last_read = time.perf_counter()
    for step in range(steps):
        model.train()
        if final_lr is not None:
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(_done(step, steps, start, max_seconds), steps, lr, final_lr)
        inputs, targets, kwargs = _to_tensors(get_batch(step), device)
        _, loss = model(inputs, targets, **kwargs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        pending.append(loss.detach())
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
    model.eval()
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module, inputs: np.ndarray, targets: np.ndarray, batch_size: int = 64, **kwargs: Any
) -> float:
    """Mean loss of ``model`` over all windows (nats per token), in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(inputs), batch_size):
        x, y, kw = _to_tensors(
            (
                inputs[i : i + batch_size],
                targets[i : i + batch_size],
                {k: v[i : i + batch_size] for k, v in kwargs.items()},
            ),
            device,
        )
        _, loss = model(x, y, **kw)
        total += loss.item() * len(x)
        count += len(x)
    if count == 0:
        raise ValueError("evaluate needs at least one window")
    return total / count if math.isfinite(total) else float("nan")
