"""A character-level encoder-decoder with a bidirectional GRU encoder, with or without attention.

The Keras 3 twin of ``lessonkit.torch.seq2seq``: the same config, sublayer names, methods and
checkpoint keys, so a file written by either twin loads in the other and gives the same logits.

- The encoder is a ``Bidirectional(GRU)`` given the padding mask: the forward GRU keeps its state
  through the padding at the end, and the backward GRU starts on the last real character, as
  torch's packed sequences do.
- Keras GRU weights are the transposes of torch's, with the gate blocks (z, r, h) where torch has
  (r, z, n); with ``reset_after=True`` Keras keeps torch's two biases as the rows of a (2, 3C)
  array. Sublayers are named as the torch twin's attributes (``encoder.rnn``, ``decoder.cell``,
  ...), so the generic walker of ``lessonkit.tensorflow.weights`` gives torch's keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .. import dates
from ..models.seq2seq import Seq2SeqConfig, Translator, check_source
from .weights import TorchLayout, load_checkpoint, save_checkpoint  # noqa: F401  (the contract)


def _gru_kwargs(d_model: int) -> dict[str, Any]:
    """torch's GRU semantics (reset gate after the recurrent product) and initialization."""
    bound = 1 / d_model**0.5
    return {"reset_after": True} | {
        f"{name}_initializer": keras.initializers.RandomUniform(-bound, bound)
        for name in ("kernel", "recurrent", "bias")
    }


@keras.saving.register_keras_serializable(package="lessonkit")
class AdditiveAttention(keras.layers.Layer):
    """``score(s, h_i) = v^T tanh(W_s s + W_h h_i)``, softmax over the unmasked source positions."""

    def __init__(self, d_query: int, d_key: int, d_attn: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.d_query, self.d_key, self.d_attn = d_query, d_key, d_attn
        self.query_proj = keras.layers.Dense(d_attn, use_bias=False, name="query_proj")  # W_s
        self.key_proj = keras.layers.Dense(d_attn, use_bias=False, name="key_proj")  # W_h
        self.energy = keras.layers.Dense(1, use_bias=False, name="energy")  # v
        self.query_proj.build((None, d_query))
        self.key_proj.build((None, None, d_key))
        self.energy.build((None, None, d_attn))

    def call(self, query, keys, mask=None, projected_keys=None):
        """``query`` (B, C), ``keys`` (B, S, D), ``mask`` (B, S) True where real ->
        ``(context (B, D), weights (B, S))``. ``projected_keys`` is ``key_proj(keys)``, passed in
        when the same keys serve many steps."""
        if projected_keys is None:
            projected_keys = self.key_proj(keys)  # (B, S, A)
        hidden = ops.tanh(self.query_proj(query)[:, None, :] + projected_keys)  # (B, S, A)
        scores = ops.squeeze(self.energy(hidden), -1)  # (B, S)
        if mask is not None:
            scores = ops.where(mask, scores, np.finfo(np.float32).min)
        weights = ops.softmax(scores, axis=-1)  # (B, S)
        context = ops.einsum("bs,bsc->bc", weights, keys)  # (B, D)
        return context, weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "d_query": self.d_query, "d_key": self.d_key,
                "d_attn": self.d_attn}  # fmt: skip


def final_states(states, mask, bidirectional: bool = True):
    """The encoder's summary (B, D) from its states (B, S, D): the forward direction's state at
    the last real character, joined (bidirectional, D = 2C) with the backward direction's state
    at the first."""
    C = states.shape[-1] // 2 if bidirectional else states.shape[-1]
    last = ops.sum(ops.cast(mask, "int32"), axis=1) - 1  # (B,)
    forward = ops.take_along_axis(states[:, :, :C], last[:, None, None], axis=1)[:, 0]  # (B, C)
    return ops.concatenate([forward, states[:, 0, C:]], -1) if bidirectional else forward


class Encoder(keras.layers.Layer):
    """Embedding -> GRU (bidirectional or one-way) over the real characters of each row (padding
    skipped)."""

    def __init__(self, config: Seq2SeqConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(
            config.src_vocab_size,
            config.d_embed,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="embedding",
        )
        gru = keras.layers.GRU(
            config.d_model, return_sequences=True, return_state=True, **_gru_kwargs(config.d_model)
        )
        if config.bidirectional:
            self.rnn = keras.layers.Bidirectional(gru, merge_mode="concat", name="rnn")
        else:
            self.rnn = gru

    def call(self, src, training=None):
        """``src`` (B, S) right-padded -> ``(states (B, S, D), final (B, D), mask (B, S))``.

        ``final`` is the forward direction's state after the last real character, joined with the
        backward direction's state after the first when bidirectional; ``states`` are zero at
        padding."""
        mask = ops.not_equal(src, dates.PAD_ID)  # (B, S)
        x = self.embedding(src)  # (B, S, E)
        states, *finals = self.rnn(x, mask=mask, training=training)  # finals: one per direction
        states = states * ops.cast(mask, states.dtype)[:, :, None]  # (B, S, D)
        return states, ops.concatenate(finals, -1), mask  # (B, D)


class Decoder(keras.layers.Layer):
    """A GRU cell that writes one character per step; with attention, it reads a context each step."""

    def __init__(self, config: Seq2SeqConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        d_context = config.d_context  # attention's c_t, or the plain model's fixed summary
        self.embedding = keras.layers.Embedding(
            config.tgt_vocab_size,
            config.d_embed,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="embedding",
        )
        if config.attention:
            self.attention = AdditiveAttention(
                config.d_model, d_context, config.d_attn, name="attention"
            )
        self.cell = keras.layers.GRUCell(config.d_model, name="cell", **_gru_kwargs(config.d_model))
        self.cell.build((None, config.d_embed + d_context))
        self.head = keras.layers.Dense(config.tgt_vocab_size, name="head")
        self.head.build((None, config.d_model + d_context))

    def call(self, tgt_in, hidden, states, mask, projected_keys=None, training=None):
        """Run ``tgt_in`` (B, T) from ``hidden`` (B, C) ->
        ``(logits (B, T, V), hidden (B, C), attention (B, T, S) or None)``."""
        x = self.embedding(tgt_in)  # (B, T, E)
        all_logits, all_weights = [], []
        if self.config.attention and projected_keys is None:
            projected_keys = self.attention.key_proj(states)  # (B, S, A)
        if not self.config.attention:
            context = final_states(states, mask, self.config.bidirectional)  # (B, D), every step
        for t in range(tgt_in.shape[1]):
            if self.config.attention:
                context, weights = self.attention(hidden, states, mask, projected_keys)  # (B, D)
                all_weights.append(weights)  # (B, S)
            inputs = ops.concatenate([x[:, t], context], -1)
            hidden, _ = self.cell(inputs, [hidden], training=training)  # (B, C)
            all_logits.append(self.head(ops.concatenate([hidden, context], -1)))  # (B, V)
        logits = ops.stack(all_logits, axis=1)  # (B, T, V)
        attention = ops.stack(all_weights, axis=1) if all_weights else None  # (B, T, S)
        return logits, hidden, attention


@keras.saving.register_keras_serializable(package="lessonkit")
class Seq2Seq(Translator, TorchLayout, keras.Model):
    """Encoder -> bridge (the decoder's first state) -> decoder, plain or with attention;
    ``greedy_decode``, ``translate`` and ``translate_batch`` come from :class:`Translator`."""

    def __init__(self, config: Seq2SeqConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = Encoder(config, name="encoder")
        self.bridge = keras.layers.Dense(config.d_model, name="bridge")
        self.decoder = Decoder(config, name="decoder")
        self(np.ones((1, 2), "int32"), np.zeros((1, 1), "int32"))  # create every variable now
        self._decode_fn = tf.function(self._decode, reduce_retracing=True)
        # The encoder compiled too: eager, Keras runs the masked GRU one Python step at a time.
        self._start_fn = tf.function(
            lambda src: self.start(src, training=False),
            input_signature=[tf.TensorSpec([None, None], tf.int32)],  # one trace for every shape
        )

    def call(self, src, tgt_in, targets=None, training=None):
        """Teacher-forced: ``src`` (B, S), ``tgt_in`` (B, T) -> ``(logits (B, T, V), loss or None)``;
        the loss is the mean cross-entropy (nats per output character) against ``targets`` (B, T)."""
        logits, _ = self.run(src, tgt_in, training=training)
        loss = None
        if targets is not None:
            losses = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            loss = ops.mean(losses)  # (B, T) -> ()
        return logits, loss

    def run(self, src, tgt_in, training=None):
        """Teacher-forced logits (B, T, V) and the attention weights (B, T, S) (None when plain)."""
        for name, ids in (("src", src), ("tgt_in", tgt_in)):
            if len(ids.shape) != 2:
                raise ValueError(f"{name} must be (B, length), got shape {tuple(ids.shape)}")
        states, hidden, mask = self.start(src, training=training)
        logits, _, attention = self.decoder(tgt_in, hidden, states, mask, training=training)
        return logits, attention

    def start(self, src, training=None):
        """Encode ``src`` (B, S): ``(states (B, S, D), first decoder state (B, C), mask (B, S))``."""
        if src.shape[1] is not None and src.shape[1] > self.config.max_len:
            raise ValueError(
                f"the source has {src.shape[1]} characters; the model reads at most {self.config.max_len}"
            )
        states, final, mask = self.encoder(src, training=training)
        return states, ops.tanh(self.bridge(final)), mask  # (B, C)

    def initial_state(self, src: np.ndarray) -> tuple:
        """The state the generation loop starts from: ``(hidden, states, mask, projected_keys)``."""
        src = check_source(src, self.config)
        states, hidden, mask = self._start_fn(ops.convert_to_tensor(src, "int32"))
        projected = self.decoder.attention.key_proj(states) if self.config.attention else None
        return hidden, states, mask, projected

    def _decode(self, idx, hidden, states, mask, projected):
        logits, hidden, attention = self.decoder(
            idx, hidden, states, mask, projected, training=False
        )
        last = attention[:, -1] if attention is not None else ops.zeros(tf.shape(mask))  # (B, S)
        return logits[:, -1], hidden, last  # (B, V), (B, C)

    def step(self, ids: np.ndarray, state: tuple, return_attention: bool = False):
        """Generation contract: NumPy ``ids`` (B, T) and ``state`` from :meth:`initial_state` ->
        ``(NumPy logits (B, V) of the last position, state)``, plus the last step's attention
        (B, S) (zeros for the plain model) with ``return_attention=True``. Compiled, so each
        step is one call."""
        if state is None:
            raise ValueError("a seq2seq model needs state=model.initial_state(src) to start from")
        hidden, states, mask, projected = state
        idx = ops.convert_to_tensor(np.asarray(ids), "int32")
        logits, hidden, weights = self._decode_fn(idx, hidden, states, mask, projected)
        state = (hidden, states, mask, projected)
        if not return_attention:
            return logits.numpy(), state
        return logits.numpy(), state, weights.numpy()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Seq2Seq:
        config = dict(config)
        return cls(Seq2SeqConfig(**config.pop("config")), **config)
