"""A character-level recurrent language model: embedding -> LSTM/GRU layers -> linear head.

The Keras 3 twin of ``lessonkit.torch.char_rnn``: the same config, sublayer names, methods and
checkpoint keys, so a file written by either twin loads in the other and gives the same logits.

The weights map to PyTorch's by the generic walker of :mod:`lessonkit.tensorflow.weights`: the
recurrent layers are the list ``rnn``, so they read as torch's multi-layer ``rnn`` (keys
``rnn.weight_ih_l0``, ...). A Keras LSTM has one bias where torch has two that are only ever added,
so training differs slightly: torch's Adam moves each of the two, so their sum can move twice as
far per step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .. import checks
from ..models.char_rnn import CharRNNConfig
from .weights import TorchLayout, load_checkpoint, save_checkpoint  # noqa: F401  (the contract)


def _uniform(bound: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomUniform(-bound, bound)


def _sum_of_two_uniforms(bound: float):
    """torch draws ``bias_ih`` and ``bias_hh`` from U(-bound, bound); Keras keeps their sum."""
    first, second = _uniform(bound), _uniform(bound)
    return lambda shape, dtype=None: first(shape, dtype) + second(shape, dtype)


@keras.saving.register_keras_serializable(package="lessonkit")
class CharRNN(TorchLayout, keras.Model):
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
            losses = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            loss = ops.mean(losses)  # (B, T) -> ()
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
            state = (ops.stack(h), ops.stack(c))  # each (n_layers, B, C)
        else:
            state = ops.stack([f[0] for f in finals])  # (n_layers, B, C)
        return self.head(x), state  # (B, T, V)

    def step(self, ids: np.ndarray, state=None):
        """Generation contract: NumPy ``ids`` (B, T) -> (NumPy logits (B, V) of the last position,
        state); the prompt is read once, then each new token is one compiled call."""
        ids = checks.token_ids(ids, self.config.vocab_size)
        if state is None:
            zeros = ops.zeros((self.config.n_layers, ids.shape[0], self.config.d_model))
            state = (zeros, zeros) if self.config.cell == "lstm" else zeros
        logits, state = self._step_fn(ops.convert_to_tensor(ids, "int32"), state)
        return logits.numpy(), state

    def _last_logits(self, idx, state):
        logits, state = self.run(idx, state, training=False)
        return logits[:, -1], state  # (B, V)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CharRNN:
        config = dict(config)
        return cls(CharRNNConfig(**config.pop("config")), **config)
