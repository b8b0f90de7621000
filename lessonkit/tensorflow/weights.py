"""Moving weights between a Keras model and the canonical safetensors arrays.

Keras names and lays out its variables its own way, so every Keras model of the course implements
``state_dict()`` (NumPy arrays under the PyTorch twin's keys and layouts) and
``load_state_dict(arrays)`` (the inverse). The mapping lives with the model; this module checks and
moves the arrays.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

from ..checkpoints import check_state_dict


def to_arrays(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays under the canonical (PyTorch ``state_dict``) keys."""
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def from_arrays(
    model: keras.Model, arrays: Mapping[str, np.ndarray], what: str = "checkpoint"
) -> keras.Model:
    """Load canonical arrays into ``model`` after checking every key and shape."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check_state_dict(expected, arrays, what)
    model.load_state_dict({k: np.asarray(v) for k, v in arrays.items()})
    return model


def count_parameters(model: keras.Model) -> int:
    """Number of trainable scalars."""
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))
