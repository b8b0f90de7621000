"""Moving a Keras model to and from the canonical arrays (PyTorch's keys and layouts), and its
checkpoints.

One walker serves every model. Each Keras model names its sublayers as the PyTorch twin's
attributes (``self.h = [Block(...), ...]``, ``self.attn.c_attn``), so walking the attributes gives
PyTorch's ``state_dict`` keys (a list becomes ``h.0``, ``h.1``, ...), as Hugging Face's TF models
do. Only the leaves differ, and each layer type has one converter:

- ``Dense``: ``kernel`` (in, out) is torch's ``weight`` (out, in) transposed; ``bias``.
- ``LayerNormalization``: ``gamma`` and ``beta`` are ``weight`` and ``bias``.
- ``Embedding``: ``embeddings`` is ``weight``.
- ``LSTM``/``GRU`` layers and cells: ``kernel`` (in, gates * C) and ``recurrent_kernel`` are the
  transposes of ``weight_ih`` and ``weight_hh``. LSTM gates are in the same order (i, f, g, o);
  GRU gates are (z, r, h) in Keras and (r, z, n) in torch, so the first two blocks swap. A Keras
  LSTM has one bias where torch has two that are only ever added: ``bias_ih`` carries it and
  ``bias_hh`` is zero (loading adds the two). A Keras GRU with ``reset_after=True`` keeps both, as
  the rows of a (2, 3C) array. A list of recurrent layers is torch's multi-layer RNN (keys
  ``weight_ih_l0``, ``weight_ih_l1``, ...); a ``Bidirectional`` layer adds ``_reverse`` keys.
- any other layer: its own variables under their attribute names (GPT-2's ``Conv1D.weight``),
  then its sublayers.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .. import checkpoints

_RNN_LAYERS = (keras.layers.LSTM, keras.layers.GRU)
_RNN_CELLS = (keras.layers.LSTMCell, keras.layers.GRUCell)
_GRU_ORDER = (1, 0, 2)  # torch (r, z, n) <-> Keras (z, r, h): swap the first two blocks


_WEIGHTS_FOLLOW = contextvars.ContextVar("weights_follow", default=False)


@contextlib.contextmanager
def weights_follow():
    """Build a model whose every weight is loaded right after: inside, ``random_normal``
    initializers write zeros. TensorFlow takes about a second to draw MiniLM's 22.7 million
    random numbers, which loading would overwrite at once (``from_arrays`` checks every key)."""
    token = _WEIGHTS_FOLLOW.set(True)
    try:
        yield
    finally:
        _WEIGHTS_FOLLOW.reset(token)


def random_normal(std: float) -> keras.initializers.Initializer | str:
    """``RandomNormal(stddev=std)``, or zeros inside ``weights_follow()``."""
    return "zeros" if _WEIGHTS_FOLLOW.get() else keras.initializers.RandomNormal(stddev=std)


@dataclass(frozen=True)
class Entry:
    """One canonical array: how to read it from Keras, write it back, and its torch shape."""

    read: Callable[[], np.ndarray]
    write: Callable[[np.ndarray], None]
    shape: tuple[int, ...]


def _plain(variable) -> Entry:
    def write(value):
        variable.assign(value)

    return Entry(lambda: np.asarray(variable), write, tuple(variable.shape))


def _transposed(variable) -> Entry:
    def write(value):
        variable.assign(np.asarray(value).T)

    return Entry(lambda: np.asarray(variable).T, write, tuple(variable.shape)[::-1])


def _swap_gru_blocks(array: np.ndarray, axis: int) -> np.ndarray:
    """Reorder the three gate blocks of a GRU weight along ``axis`` (its own inverse)."""
    blocks = np.split(np.asarray(array), 3, axis=axis)
    return np.concatenate([blocks[i] for i in _GRU_ORDER], axis=axis)


def _rnn_entries(cell, suffix: str) -> dict[str, Entry]:
    """torch's ``weight_ih{suffix}``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of one cell."""
    gru = isinstance(cell, keras.layers.GRUCell)
    order = _swap_gru_blocks if gru else (lambda array, axis: np.asarray(array))

    def kernel(variable) -> Entry:  # Keras (in, gates * C) <-> torch (gates * C, in)
        def write(value):
            variable.assign(order(np.asarray(value).T, 1))

        return Entry(lambda: order(variable, 1).T, write, tuple(variable.shape)[::-1])

    entries = {
        f"weight_ih{suffix}": kernel(cell.kernel),
        f"weight_hh{suffix}": kernel(cell.recurrent_kernel),
    }
    bias = cell.bias
    if gru:  # (2, 3C): the input and the recurrent bias

        def row(i: int) -> Entry:
            def write(value):
                both = np.array(bias)
                both[i] = _swap_gru_blocks(value, 0)
                bias.assign(both)

            return Entry(lambda: _swap_gru_blocks(np.asarray(bias)[i], 0), write, (bias.shape[1],))

        return entries | {f"bias_ih{suffix}": row(0), f"bias_hh{suffix}": row(1)}

    def write_hh(value):  # runs after bias_ih's write: the Keras bias is their sum
        bias.assign_add(value)

    shape = tuple(bias.shape)
    hh = Entry(lambda: np.zeros(shape, np.float32), write_hh, shape)
    return entries | {f"bias_ih{suffix}": _plain(bias), f"bias_hh{suffix}": hh}


def _layer_entries(layer, rnn_suffix: str = "_l0") -> dict[str, Entry]:
    """The entries of one layer, keys relative to it."""
    if isinstance(layer, keras.layers.Dense):
        found = {"weight": _transposed(layer.kernel)}
        return found | ({"bias": _plain(layer.bias)} if layer.bias is not None else {})
    if isinstance(layer, keras.layers.LayerNormalization):
        found = {"weight": _plain(layer.gamma)} if layer.gamma is not None else {}
        return found | ({"bias": _plain(layer.beta)} if layer.beta is not None else {})
    if isinstance(layer, keras.layers.Embedding):
        return {"weight": _plain(layer.embeddings)}
    if isinstance(layer, _RNN_CELLS):
        return _rnn_entries(layer, "")
    if isinstance(layer, _RNN_LAYERS):
        return _rnn_entries(layer.cell, rnn_suffix)
    if isinstance(layer, keras.layers.Bidirectional):
        return _rnn_entries(layer.forward_layer.cell, rnn_suffix) | _rnn_entries(
            layer.backward_layer.cell, f"{rnn_suffix}_reverse"
        )
    found: dict[str, Entry] = {}
    for name, value in vars(layer).items():
        if name.startswith("_"):
            continue
        if isinstance(value, keras.Variable):
            found[name] = _plain(value)
        elif isinstance(value, keras.layers.Layer):
            found |= {f"{name}.{k}": e for k, e in _layer_entries(value).items()}
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(item, keras.layers.Layer) for item in value)
        ):
            for i, item in enumerate(value):
                if isinstance(item, (*_RNN_LAYERS, keras.layers.Bidirectional)):
                    found |= {f"{name}.{k}": e for k, e in _layer_entries(item, f"_l{i}").items()}
                else:
                    found |= {f"{name}.{i}.{k}": e for k, e in _layer_entries(item).items()}
    return found


def torch_entries(model: keras.layers.Layer) -> dict[str, Entry]:
    """Every canonical array of ``model`` under its PyTorch ``state_dict`` key."""
    return _layer_entries(model)


def to_arrays(model: keras.layers.Layer) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays under the canonical (PyTorch ``state_dict``) keys."""
    return {key: entry.read() for key, entry in torch_entries(model).items()}


def from_arrays(
    model: keras.layers.Layer, arrays: Mapping[str, np.ndarray], what: str = "checkpoint"
) -> keras.layers.Layer:
    """Load canonical arrays into ``model`` after checking every key and shape."""
    entries = torch_entries(model)
    checkpoints.check_state_dict({k: e.shape for k, e in entries.items()}, arrays, what)
    for key, entry in entries.items():
        entry.write(np.asarray(arrays[key], dtype=np.float32))
    return model


def count_parameters(model: keras.layers.Layer) -> int:
    """Number of trainable scalars."""
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


class TorchLayout:
    """``state_dict()`` and ``load_state_dict(arrays)`` for a Keras model, under the PyTorch
    twin's keys and layouts (NumPy arrays), as a torch module has them."""

    def state_dict(self) -> dict[str, np.ndarray]:
        return to_arrays(self)

    def load_state_dict(self, arrays: Mapping[str, np.ndarray]) -> None:
        from_arrays(self, arrays, what="state dict")


def weight_of(model: keras.layers.Layer, key: str) -> np.ndarray:
    """One weight as NumPy (torch layout), by its checkpoint key (``"h.0.attn.c_attn.weight"``)."""
    entries = torch_entries(model)
    if key not in entries:
        raise ValueError(f"no weight {key!r}; keys look like {next(iter(entries))!r}")
    return entries[key].read()


def save_checkpoint(
    model: keras.layers.Layer,
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
    path: str | Path, device: str | None = None
) -> tuple[keras.layers.Layer, Any, dict[str, Any]]:
    """``(model, tokenizer or None, extras)`` from a file of either twin; built under
    ``tf.device(device)`` when one is given."""
    found = checkpoints.read(path)
    cls = checkpoints.twin_class(found.model, "tensorflow")
    with tf.device(device) if device is not None else contextlib.nullcontext(), weights_follow():
        model = cls(found.config)
        from_arrays(model, found.arrays, what=str(path))
    if "source" in found.extras:
        model.source = found.extras["source"]
    return model, found.tokenizer, found.extras
