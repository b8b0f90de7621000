"""A character-level recurrent language model: embedding -> LSTM/GRU layers -> linear head.

The Keras 3 twin of ``lessonkit.torch.char_rnn``: the same config, sublayer names, methods and
checkpoint keys, so a file written by either twin loads in the other and gives the same logits.

The weights map to PyTorch's by the generic walker of :mod:`lessonkit.tensorflow.weights`: the
recurrent layers are the list ``rnn``, so they read as torch's multi-layer ``rnn`` (keys
``rnn.weight_ih_l0``, ...). A Keras LSTM has one bias where torch has two that are only ever added,
so training differs slightly: torch's Adam moves each of the two, so their sum can move twice as
far per step.

An LSTM's layers keep Keras's weights but run through :func:`_lstm_sequence`, the recurrence
written out with its own gradient: on a CPU, Keras runs the cell one step at a time with automatic
differentiation through the loop, two to three times as slow to train as the hand-written backward
pass (``benchmarks/train_step.py``).
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


@tf.custom_gradient
def _lstm_recurrence(z, recurrent_kernel, h0, c0):
    """The time loop of an LSTM whose input products ``z`` (T, B, 4C) are already made.

    Forward, step t computes ``z[t] + h @ recurrent_kernel`` (one product per gate, each with
    its own (C, C) block of the kernel), the gates i, f, g, o (Keras's order, torch's too),
    ``c = f * c + i * g`` and ``h = o * tanh(c)``. The backward pass is written out
    (backpropagation through time): one loop carries dh and dc back through the gates the
    forward loop kept, and the weight gradient is made at the end from all steps at once (again
    one product per gate), instead of one product per step.
    """
    T = tf.shape(z)[0]
    z_t = tf.TensorArray(z.dtype, size=T).unstack(z)
    # Index 0 holds the initial state, index t + 1 the state after step t.
    h_t = tf.TensorArray(z.dtype, size=T + 1, clear_after_read=False).write(0, h0)
    c_t = tf.TensorArray(z.dtype, size=T + 1, clear_after_read=False).write(0, c0)
    gates_t = tf.TensorArray(z.dtype, size=T, clear_after_read=False)
    # Each gate's own recurrent weights, (C, C): TensorFlow's CPU kernels make four products of
    # (B, C) by (C, C) in a third less time than one by (C, 4C) (benchmarks/README.md).
    u_i, u_f, u_g, u_o = tf.split(recurrent_kernel, 4, -1)

    def forward(t, h, c, h_t, c_t, gates_t):
        z_i, z_f, z_g, z_o = tf.split(z_t.read(t), 4, -1)  # each (B, C)
        i = tf.sigmoid(z_i + tf.matmul(h, u_i))
        f = tf.sigmoid(z_f + tf.matmul(h, u_f))
        g = tf.tanh(z_g + tf.matmul(h, u_g))
        o = tf.sigmoid(z_o + tf.matmul(h, u_o))
        c = f * c + i * g
        h = o * tf.tanh(c)
        gates_t = gates_t.write(t, tf.concat([i, f, g, o], -1))  # (B, 4C)
        return t + 1, h, c, h_t.write(t + 1, h), c_t.write(t + 1, c), gates_t

    # One iteration at a time: each depends on the last, and the scheduler then does less work.
    _, h, c, h_t, c_t, gates_t = tf.while_loop(
        lambda t, *_: t < T, forward, (0, h0, c0, h_t, c_t, gates_t), parallel_iterations=1
    )
    states = h_t.stack()  # (T + 1, B, C)

    def backward(dhs, dh_last, dc_last):
        dh_t = tf.TensorArray(z.dtype, size=T).unstack(dhs)
        dz_t = tf.TensorArray(z.dtype, size=T)
        transposed = tf.transpose(recurrent_kernel)  # (4C, C)

        def step(t, dh_next, dc_next, dz_t):
            i, f, g, o = tf.split(gates_t.read(t), 4, -1)  # each (B, C)
            tanh_c = tf.tanh(c_t.read(t + 1))
            dh = dh_t.read(t) + dh_next
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            dz = tf.concat(
                [dc * g * i * (1 - i), dc * c_t.read(t) * f * (1 - f), dc * i * (1 - g * g),
                 dh * tanh_c * o * (1 - o)], -1)  # (B, 4C)  # fmt: skip
            return t - 1, tf.matmul(dz, transposed), dc * f, dz_t.write(t, dz)

        _, dh0, dc0, dz_t = tf.while_loop(
            lambda t, *_: t >= 0, step, (T - 1, dh_last, dc_last, dz_t), parallel_iterations=1
        )
        dz = dz_t.stack()  # (T, B, 4C)
        C = tf.shape(h0)[-1]
        # (C, 4C): the products of every step at once, one gate at a time (a quarter less time)
        inputs = tf.reshape(states[:-1], [-1, C])  # (T * B, C)
        d_kernel = tf.concat(
            [tf.matmul(inputs, dz_gate, transpose_a=True)
             for dz_gate in tf.split(tf.reshape(dz, [-1, 4 * C]), 4, -1)], -1)  # fmt: skip
        return dz, d_kernel, dh0, dc0

    return (states[1:], h, c), backward


def _lstm_sequence(layer: keras.layers.LSTM, x, initial=None):
    """Run a built Keras ``LSTM`` layer over ``x`` (T, B, D), time-major, from ``initial``
    ``[h, c]`` (zeros when None) -> ``(outputs (T, B, C), h (B, C), c (B, C))``, as
    ``layer(x, initial_state=initial)`` would give (with ``return_sequences`` and
    ``return_state``), faster.

    On a CPU, when the batch size is known as the step is traced (training batches), the two
    halves of the batch run as two independent loops: TensorFlow's executor runs them side by
    side, one per core. Each step's products (32 x 256 by 256 x 1,024 in Lesson 1) are too small
    to split between threads with a gain; the two halves made Lesson 1's training step 1.5x
    faster on 2 cores with one thread per op (as its notebook sets), and the larger LSTMs' 1.2x
    with TensorFlow's default threads (``benchmarks/README.md``, training step).
    """
    B = x.shape[1]
    if B is None or B < 2 or tf.config.list_physical_devices("GPU"):
        return _lstm_layer(layer, x, initial)
    if initial is None:
        initial = [tf.zeros([B, layer.cell.units], x.dtype)] * 2
    half = B // 2
    out_a, h_a, c_a = _lstm_layer(layer, x[:, :half], [s[:half] for s in initial])
    out_b, h_b, c_b = _lstm_layer(layer, x[:, half:], [s[half:] for s in initial])
    return tf.concat([out_a, out_b], 1), tf.concat([h_a, h_b], 0), tf.concat([c_a, c_b], 0)


def _lstm_layer(layer: keras.layers.LSTM, x, initial=None):
    """:func:`_lstm_sequence` in one loop: the input products of every step are one matrix
    product, then the recurrence."""
    cell = layer.cell
    T, B = tf.shape(x)[0], tf.shape(x)[1]
    z = tf.nn.bias_add(tf.matmul(tf.reshape(x, [T * B, -1]), cell.kernel.value), cell.bias.value)
    z = tf.reshape(z, [T, B, 4 * cell.units])  # (T, B, 4C)
    if initial is None:
        initial = [tf.zeros([B, cell.units], x.dtype)] * 2
    return _lstm_recurrence(z, cell.recurrent_kernel.value, *initial)


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
        for k, layer in enumerate(self.rnn):  # an LSTM's layers are run by _lstm_sequence
            layer.build((None, None, config.d_embed if k == 0 else config.d_model))
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
        if lstm:
            x = tf.transpose(x, [1, 0, 2])  # time-major (T, B, d_embed) for _lstm_sequence
        finals = []
        for k, layer in enumerate(self.rnn):
            initial = None
            if state is not None:
                initial = [state[0][k], state[1][k]] if lstm else [state[k]]  # each (B, C)
            if lstm:
                x, *final = _lstm_sequence(layer, x, initial)  # (T, B, C)
            else:
                x, *final = layer(x, initial_state=initial, training=training)  # (B, T, C)
            finals.append(final)
            if self.dropout is not None and k < len(self.rnn) - 1:
                x = self.dropout(x, training=training)
        if lstm:
            x = tf.transpose(x, [1, 0, 2])  # (B, T, C)
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
