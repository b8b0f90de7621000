"""A character-level recurrent language model: embedding -> LSTM/GRU layers -> linear head.

The Keras 3 twin of ``lessonkit.torch.char_rnn``: the same config, sublayer names, methods and
checkpoint keys, so a file written by either twin loads in the other and gives the same logits.

Two facts of the mapping to PyTorch's weights (see :meth:`CharRNN.state_dict`):

- Keras stores ``kernel`` (in, gates * C) and ``recurrent_kernel`` (C, gates * C), the transposes
  of torch's ``weight_ih`` and ``weight_hh``. LSTM gates are in the same order (i, f, g, o) in both;
  GRU gates are (z, r, h) in Keras and (r, z, n) in torch, so the blocks are reordered.
- A Keras LSTM has one bias where torch has two that are only ever added: ``state_dict()`` writes
  their sum as ``bias_ih`` and zeros as ``bias_hh`` (the same function, another split). Training
  differs slightly: torch's Adam moves each of the two biases, so their sum can move twice as far
  per step. A Keras GRU (``reset_after=True``, as torch computes it) keeps both biases, as the rows
  of a (2, 3C) array.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .. import checkpoints
from ..config import CharRNNConfig
from ..text import CharTokenizer
from .weights import from_arrays, to_arrays

_GRU_ORDER = (1, 0, 2)  # torch (r, z, n) <-> Keras (z, r, h): swapping the first two blocks


def _uniform(bound: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomUniform(-bound, bound)


def _sum_of_two_uniforms(bound: float):
    """torch draws ``bias_ih`` and ``bias_hh`` from U(-bound, bound); Keras keeps their sum."""
    first, second = _uniform(bound), _uniform(bound)
    return lambda shape, dtype=None: first(shape, dtype) + second(shape, dtype)


def _swap_gru_blocks(array: np.ndarray, axis: int) -> np.ndarray:
    """Reorder the three gate blocks of a GRU weight along ``axis`` (its own inverse)."""
    blocks = np.split(array, 3, axis=axis)
    return np.concatenate([blocks[i] for i in _GRU_ORDER], axis=axis)


@keras.saving.register_keras_serializable(package="lessonkit")
class CharRNN(keras.Model):
    """Embedding -> ``n_layers`` LSTM or GRU layers -> Dense head over the vocabulary.

    The recurrent state has torch's layout: an LSTM's is a tuple ``(h, c)``, each
    ``(n_layers, B, C)``; a GRU's is ``h`` ``(n_layers, B, C)``. Dropout, when the config asks for
    it, acts between recurrent layers in training, as in ``torch.nn.LSTM``.
    """

    def __init__(self, config: CharRNNConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        # Initialized from torch's distributions, so both twins start training alike: N(0, 1)
        # embeddings, U(-1/sqrt(C), 1/sqrt(C)) recurrent weights and biases, and a head uniform in
        # +-1/sqrt(fan_in). (Keras would start from glorot, orthogonal and a forget bias of 1.)
        bound = 1 / config.d_model**0.5
        if config.cell == "lstm":
            rnn_class = keras.layers.LSTM
            extra = {"unit_forget_bias": False, "bias_initializer": _sum_of_two_uniforms(bound)}
        else:
            rnn_class = keras.layers.GRU
            extra = {"reset_after": True, "bias_initializer": _uniform(bound)}
        self.embedding = keras.layers.Embedding(
            config.vocab_size,
            config.d_embed,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="embedding",
        )
        self.rnn = [
            rnn_class(
                config.d_model,
                return_sequences=True,
                return_state=True,
                kernel_initializer=_uniform(bound),
                recurrent_initializer=_uniform(bound),
                name=f"rnn_l{k}",
                **extra,
            )
            for k in range(config.n_layers)
        ]
        use_dropout = config.dropout > 0 and config.n_layers > 1
        self.dropout = keras.layers.Dropout(config.dropout) if use_dropout else None
        self.head = keras.layers.Dense(
            config.vocab_size,
            kernel_initializer=_uniform(bound),
            bias_initializer=_uniform(bound),
            name="head",
        )
        self(np.zeros((1, 1), dtype="int32"))  # create the variables, so weights load right away
        # Eager Keras RNNs are slow per token, so `step` runs compiled, traced once for any (B, T).
        states = tf.TensorSpec((config.n_layers, None, config.d_model), tf.float32)
        signature = [
            tf.TensorSpec((None, None), tf.int32),
            (states, states) if config.cell == "lstm" else states,
        ]
        self._step_fn = tf.function(self._last_logits, input_signature=signature)

    def call(self, idx, targets=None, state=None, training=None):
        """``idx`` (B, T) -> ``(logits (B, T, V), loss or None)``; the mean loss is in nats."""
        logits, _ = self.run(idx, state, training=training)
        loss = None
        if targets is not None:
            losses = keras.ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            loss = keras.ops.mean(losses)  # (B, T) -> ()
        return logits, loss

    def run(self, idx, state=None, training=None):
        """Logits for every position and the state after the last one."""
        if len(idx.shape) != 2:
            raise ValueError(f"idx must be (B, T), got shape {tuple(idx.shape)}")
        x = self.embedding(idx)  # (B, T, d_embed)
        lstm = self.config.cell == "lstm"
        finals = []
        for k, layer in enumerate(self.rnn):
            initial = None
            if state is not None:
                initial = [state[0][k], state[1][k]] if lstm else [state[k]]  # each (B, C)
            x, *final = layer(x, initial_state=initial, training=training)  # (B, T, C)
            finals.append(final)
            if self.dropout is not None and k < len(self.rnn) - 1:
                x = self.dropout(x, training=training)
        if lstm:
            h, c = zip(*finals, strict=True)
            state = (keras.ops.stack(h), keras.ops.stack(c))  # each (n_layers, B, C)
        else:
            state = keras.ops.stack([f[0] for f in finals])  # (n_layers, B, C)
        return self.head(x), state  # (B, T, V)

    def step(self, ids: np.ndarray, state=None):
        """Generation contract: NumPy ``ids`` (B, T) -> (NumPy logits (B, V) of the last position,
        state); the prompt is read once, then each new token is one compiled call."""
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"idx must be (B, T), got shape {ids.shape}")
        if state is None:
            zeros = tf.zeros((self.config.n_layers, ids.shape[0], self.config.d_model))
            state = (zeros, zeros) if self.config.cell == "lstm" else zeros
        logits, state = self._step_fn(tf.constant(ids, dtype=tf.int32), state)
        return logits.numpy(), state

    def _last_logits(self, idx, state):
        logits, state = self.run(idx, state, training=False)
        return logits[:, -1], state  # (B, V)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights as NumPy arrays under torch's ``state_dict`` keys and layouts."""
        lstm = self.config.cell == "lstm"
        arrays = {"embedding.weight": np.asarray(self.embedding.embeddings)}
        for k, layer in enumerate(self.rnn):
            kernel = np.asarray(layer.cell.kernel)  # (in, gates * C)
            recurrent = np.asarray(layer.cell.recurrent_kernel)  # (C, gates * C)
            bias = np.asarray(layer.cell.bias)  # LSTM (4C,); GRU (2, 3C)
            if lstm:
                bias_ih, bias_hh = bias, np.zeros_like(bias)
            else:
                kernel, recurrent = _swap_gru_blocks(kernel, 1), _swap_gru_blocks(recurrent, 1)
                bias_ih, bias_hh = _swap_gru_blocks(bias, 1)
            arrays[f"rnn.weight_ih_l{k}"] = kernel.T  # (gates * C, in)
            arrays[f"rnn.weight_hh_l{k}"] = recurrent.T  # (gates * C, C)
            arrays[f"rnn.bias_ih_l{k}"] = bias_ih
            arrays[f"rnn.bias_hh_l{k}"] = bias_hh
        arrays["head.weight"] = np.asarray(self.head.kernel).T  # (V, C)
        arrays["head.bias"] = np.asarray(self.head.bias)
        return arrays

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        """Assign torch-layout arrays (the keys of :meth:`state_dict`) to the Keras variables."""
        expected = {key: value.shape for key, value in self.state_dict().items()}
        checkpoints.check_state_dict(expected, arrays, "state dict")
        lstm = self.config.cell == "lstm"
        self.embedding.embeddings.assign(arrays["embedding.weight"])
        for k, layer in enumerate(self.rnn):
            kernel = np.asarray(arrays[f"rnn.weight_ih_l{k}"]).T  # (in, gates * C)
            recurrent = np.asarray(arrays[f"rnn.weight_hh_l{k}"]).T  # (C, gates * C)
            bias_ih = np.asarray(arrays[f"rnn.bias_ih_l{k}"])
            bias_hh = np.asarray(arrays[f"rnn.bias_hh_l{k}"])
            if lstm:
                bias = bias_ih + bias_hh  # (4C,)
            else:
                kernel, recurrent = _swap_gru_blocks(kernel, 1), _swap_gru_blocks(recurrent, 1)
                bias = _swap_gru_blocks(np.stack([bias_ih, bias_hh]), 1)  # (2, 3C)
            layer.cell.kernel.assign(kernel)
            layer.cell.recurrent_kernel.assign(recurrent)
            layer.cell.bias.assign(bias)
        self.head.kernel.assign(np.asarray(arrays["head.weight"]).T)  # (C, V)
        self.head.bias.assign(arrays["head.bias"])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CharRNN:
        config = dict(config)
        return cls(CharRNNConfig(**config.pop("config")), **config)


def save_checkpoint(model: CharRNN, tokenizer: CharTokenizer, path: str | Path, dtype=None) -> Path:
    """Weights, config and vocabulary in one safetensors file (``dtype=np.float16`` halves it)."""
    metadata = {"config": model.config.to_json(), "tokenizer": tokenizer.to_json()}
    return checkpoints.save(path, to_arrays(model), metadata, dtype=dtype)


def load_checkpoint(path: str | Path) -> tuple[CharRNN, CharTokenizer]:
    """Rebuild the model and its tokenizer from a file written by either twin."""
    arrays, metadata = checkpoints.load(path)
    config = CharRNNConfig.from_json(checkpoints.metadata_field(metadata, "config", path))
    tokenizer = CharTokenizer.from_json(checkpoints.metadata_field(metadata, "tokenizer", path))
    model = CharRNN(config)
    from_arrays(model, arrays, what=str(path))
    return model, tokenizer
