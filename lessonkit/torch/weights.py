"""Moving weights between a PyTorch model and the canonical safetensors arrays.

The canonical keys and layouts are the model's own ``state_dict``: nothing to rename here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..checkpoints import check_state_dict


def to_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays under their ``state_dict`` keys."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def from_arrays(
    model: nn.Module, arrays: Mapping[str, np.ndarray], what: str = "checkpoint"
) -> nn.Module:
    """Load canonical arrays into ``model`` after checking every key and shape."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check_state_dict(expected, arrays, what)
    device = next(model.parameters()).device
    model.load_state_dict(
        {k: torch.as_tensor(np.asarray(v), device=device) for k, v in arrays.items()}
    )
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
