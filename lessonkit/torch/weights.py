"""Moving a PyTorch model to and from the canonical arrays, and its checkpoints.

The canonical keys and layouts are the model's own ``state_dict``: nothing to rename here. Every
PyTorch model of the course saves and loads through :func:`save_checkpoint` and
:func:`load_checkpoint` (the file format is :mod:`lessonkit.checkpoints`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import checkpoints


def to_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays under their ``state_dict`` keys."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def from_arrays(
    model: nn.Module, arrays: Mapping[str, np.ndarray], what: str = "checkpoint"
) -> nn.Module:
    """Load canonical arrays into ``model`` after checking every key and shape."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    checkpoints.check_state_dict(expected, arrays, what)
    device = next(model.parameters()).device
    model.load_state_dict(
        {k: torch.as_tensor(np.array(v), device=device) for k, v in arrays.items()}
    )
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_checkpoint(
    model: nn.Module,
    path: str | Path,
    tokenizer: Any = None,
    extras: Mapping[str, Any] | None = None,
    dtype: Any = None,
) -> Path:
    """Weights, config, tokenizer and ``extras`` (JSON values) in one checkpoint file that either
    twin loads; ``dtype=np.float16`` halves it. A model's ``source`` travels in the extras."""
    extras = dict(extras or {})
    if getattr(model, "source", None) is not None:
        extras.setdefault("source", model.source)
    return checkpoints.write(
        path,
        to_arrays(model),
        model.config,
        checkpoints.model_name(model),
        tokenizer,
        extras,
        dtype,
    )


def load_checkpoint(
    path: str | Path, device: str | torch.device | None = None
) -> tuple[nn.Module, Any, dict[str, Any]]:
    """``(model in eval mode on device, tokenizer or None, extras)`` from a file of either twin."""
    found = checkpoints.read(path)
    model = checkpoints.twin_class(found.model, "torch")(found.config)
    if device is not None:
        model.to(device)
    from_arrays(model, found.arrays, what=str(path))
    if "source" in found.extras:
        model.source = found.extras["source"]
    return model.eval(), found.tokenizer, found.extras
