"""Transformer layers from scratch, and a text classifier built from them (TensorFlow/Keras 3 twin).

The twin of ``lessonkit.torch.transformer``: the same classes, sublayer names, call arguments and
checkpoint keys. Like the torch twin the blocks are **pre-norm** (``x + sublayer(LayerNorm(x))``,
as in GPT-2; the paper is post-norm), and LayerNorm uses epsilon 1e-5 (torch's default; Keras'
default is 1e-3, which would make the twins differ). Dropout acts on each sublayer's output and on
the embeddings, not on the attention weights inside the blocks, as in the torch twin.

Masks are boolean with **True = may attend** (see :mod:`lessonkit.masks`). Every attention layer
returns ``(output, attention_weights)`` with weights ``(B, H, T, S)``.

Weights: the sublayers are named as the torch twin's attributes, so the walker of
:mod:`lessonkit.tensorflow.weights` gives the torch twin's ``state_dict`` keys and layouts;
``MultiHeadAttention``, the blocks and ``TextClassifier`` have ``state_dict()`` and
``load_state_dict(arrays)`` (NumPy) as torch modules do.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..masks import attention_mask_shape, sinusoidal_positions
from ..models.transformer import (
    LAYER_NORM_EPS,
    TransformerConfig,
    check_attention_inputs,
    check_classifier_inputs,
    check_heads,
    check_length,
)
from .weights import TorchLayout, load_checkpoint, save_checkpoint  # noqa: F401


class _ExplicitMaskMixin:
    """For layers whose ``call`` takes an attention ``mask``: Keras would otherwise read that
    argument as its own padding-mask propagation and warn that the layer "destroys" it. Our masks
    are plain inputs; nothing is propagated to the outputs."""

    def compute_mask(self, inputs, previous_mask=None):
        return None


def _as_mask(mask, batch: int, n_heads: int, T: int, S: int):
    """A boolean tensor of the 4-D shape ``(B|1, H|1, T|1, S)`` after checking its shape."""
    mask = ops.cast(mask, "bool")
    attention_mask_shape(mask.shape, batch, n_heads, T, S)  # raises ValueError on a wrong shape
    if len(mask.shape) == 2:
        return mask[None, None]  # (1, 1, T|1, S)
    if len(mask.shape) == 3:
        return mask[:, None]  # (B|1, 1, T|1, S)
    return mask


@keras.saving.register_keras_serializable(package="lessonkit")
class MultiHeadAttention(_ExplicitMaskMixin, TorchLayout, keras.layers.Layer):
    """Scaled dot-product attention in ``n_heads`` heads, with query/key/value/output projections.

    Self-attention: ``attn(x)``. Cross-attention: ``attn(x, memory)`` (keys and values from
    ``memory``). ``mask`` is boolean, True = may attend, of shape ``(T, S)``, ``(B, T, S)`` or
    ``(B, H, T, S)`` (1 allowed for B, H, T).
    """

    def __init__(
        self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True, **kwargs: Any
    ):
        super().__init__(**kwargs)
        check_heads(d_model, n_heads)
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.dropout_rate, self.use_bias = dropout, bias
        self.q_proj = keras.layers.Dense(d_model, use_bias=bias, name="q_proj")
        self.k_proj = keras.layers.Dense(d_model, use_bias=bias, name="k_proj")
        self.v_proj = keras.layers.Dense(d_model, use_bias=bias, name="v_proj")
        self.out_proj = keras.layers.Dense(d_model, use_bias=bias, name="out_proj")
        self.dropout = keras.layers.Dropout(dropout)
        for projection in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            projection.build((None, d_model))  # every size is known: create the weights now
        self.built = True

    def call(self, query, key=None, value=None, mask=None, training=None):
        """``query`` (B, T, C), ``key``/``value`` (B, S, C) -> ``(output (B, T, C), weights (B, H, T, S))``."""
        key = query if key is None else key
        value = key if value is None else value
        check_attention_inputs(query.shape, key.shape, value.shape, self.d_model)
        B, T, S = tf.shape(query)[0], tf.shape(query)[1], tf.shape(key)[1]
        H, D = self.n_heads, self.head_dim
        q = ops.swapaxes(ops.reshape(self.q_proj(query), (B, T, H, D)), 1, 2)  # (B, H, T, D)
        k = ops.swapaxes(ops.reshape(self.k_proj(key), (B, S, H, D)), 1, 2)  # (B, H, S, D)
        v = ops.swapaxes(ops.reshape(self.v_proj(value), (B, S, H, D)), 1, 2)  # (B, H, S, D)
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(D)  # (B, H, T, S)
        if mask is not None:
            mask = _as_mask(
                mask, query.shape[0], H, query.shape[1], key.shape[1]
            )  # (B|1, H|1, T|1, S)
            scores = ops.where(mask, scores, scores.dtype.min)
        weights = tf.nn.softmax(scores, axis=-1)  # (B, H, T, S); ops.softmax warns if S = 1
        heads = ops.matmul(self.dropout(weights, training=training), v)  # (B, H, T, D)
        merged = ops.reshape(ops.transpose(heads, (0, 2, 1, 3)), (B, T, H * D))  # (B, T, C)
        return self.out_proj(merged), weights

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "n_heads": self.n_heads,
            "dropout": self.dropout_rate,
            "bias": self.use_bias,
        }


@keras.saving.register_keras_serializable(package="lessonkit")
class LearnedPositionEmbedding(keras.layers.Layer):
    """A trained vector per position 0 .. max_len - 1, added to the token embeddings.

    It starts small (normal, std 0.02, as in BERT, GPT-2 and the torch twin), so the order it ends
    up encoding is what training put there rather than leftover random vectors.
    """

    def __init__(self, max_len: int, d_model: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_len, self.d_model = max_len, d_model
        self.weight = self.add_weight(
            shape=(max_len, d_model),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="weight",
        )  # (max_len, C)
        self.built = True

    def call(self, x):
        """``x`` (B, T, C) token embeddings -> the same plus the vectors of positions 0 .. T - 1."""
        check_length(x.shape[1], self.max_len)
        return x + self.weight[: tf.shape(x)[1]]  # (B, T, C)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_len": self.max_len, "d_model": self.d_model}


@keras.saving.register_keras_serializable(package="lessonkit")
class SinusoidalPositionEmbedding(keras.layers.Layer):
    """The paper's fixed sin/cos table (:func:`lessonkit.masks.sinusoidal_positions`): no weights."""

    def __init__(self, max_len: int, d_model: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_len, self.d_model = max_len, d_model
        # A constant, not a Variable: no weight, no checkpoint key (torch: a non-persistent buffer).
        self.table = ops.convert_to_tensor(sinusoidal_positions(max_len, d_model))  # (max_len, C)
        self.built = True

    def call(self, x):
        """``x`` (B, T, C) token embeddings -> the same plus the encodings of positions 0 .. T - 1."""
        check_length(x.shape[1], self.max_len)
        return x + self.table[: tf.shape(x)[1]]  # (B, T, C)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_len": self.max_len, "d_model": self.d_model}


@keras.saving.register_keras_serializable(package="lessonkit")
class FeedForward(keras.layers.Layer):
    """Position-wise feed-forward network: ``linear2(relu(linear1(x)))``, C -> d_ff -> C."""

    def __init__(self, d_model: int, d_ff: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.d_model, self.d_ff = d_model, d_ff
        self.linear1 = keras.layers.Dense(d_ff, name="linear1")
        self.linear2 = keras.layers.Dense(d_model, name="linear2")
        self.linear1.build((None, d_model))
        self.linear2.build((None, d_ff))
        self.built = True

    def call(self, x):
        return self.linear2(ops.relu(self.linear1(x)))  # (B, T, d_ff) -> (B, T, C)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "d_model": self.d_model, "d_ff": self.d_ff}


def _layer_norm(d_model: int, name: str) -> keras.layers.LayerNormalization:
    norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPS, name=name)
    norm.build((None, d_model))
    return norm


@keras.saving.register_keras_serializable(package="lessonkit")
class EncoderBlock(_ExplicitMaskMixin, TorchLayout, keras.layers.Layer):
    """Pre-norm encoder block: ``x + attn(norm1(x))``, then ``x + feed_forward(norm2(x))``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.sizes = {"d_model": d_model, "n_heads": n_heads, "d_ff": d_ff, "dropout": dropout}
        self.norm1 = _layer_norm(d_model, "norm1")
        self.self_attn = MultiHeadAttention(d_model, n_heads, name="self_attn")
        self.norm2 = _layer_norm(d_model, "norm2")
        self.feed_forward = FeedForward(d_model, d_ff, name="feed_forward")
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True

    def call(self, x, mask=None, training=None):
        """``x`` (B, T, C) -> ``(x (B, T, C), self-attention weights (B, H, T, T))``."""
        attended, weights = self.self_attn(self.norm1(x), mask=mask, training=training)
        x = x + self.dropout(attended, training=training)
        x = x + self.dropout(self.feed_forward(self.norm2(x)), training=training)
        return x, weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.sizes}


@keras.saving.register_keras_serializable(package="lessonkit")
class DecoderBlock(_ExplicitMaskMixin, TorchLayout, keras.layers.Layer):
    """Pre-norm decoder block: masked self-attention, encoder-decoder (cross) attention, feed-forward.

    The self-attention is always causal (a position sees itself and the past); ``mask`` may add
    target padding. The cross-attention's queries come from the decoder, its keys and values from
    the encoder output ``memory``; ``memory_mask`` (e.g. the source's padding mask) limits them.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.sizes = {"d_model": d_model, "n_heads": n_heads, "d_ff": d_ff, "dropout": dropout}
        self.norm1 = _layer_norm(d_model, "norm1")
        self.self_attn = MultiHeadAttention(d_model, n_heads, name="self_attn")
        self.norm2 = _layer_norm(d_model, "norm2")
        self.cross_attn = MultiHeadAttention(d_model, n_heads, name="cross_attn")
        self.norm3 = _layer_norm(d_model, "norm3")
        self.feed_forward = FeedForward(d_model, d_ff, name="feed_forward")
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True

    def call(self, x, memory, mask=None, memory_mask=None, training=None):
        """``x`` (B, T, C), ``memory`` (B, S, C) -> ``(x, (self weights (B, H, T, T), cross weights (B, H, T, S)))``."""
        T = tf.shape(x)[1]
        causal = ops.tril(ops.ones((T, T), dtype="bool"))  # (T, T)
        if mask is not None:
            mask = _as_mask(
                mask, x.shape[0], self.self_attn.n_heads, x.shape[1], x.shape[1]
            )  # (B|1, H|1, T|1, T)
            causal = ops.logical_and(causal, mask)  # (B|1, H|1, T, T)
        attended, self_weights = self.self_attn(self.norm1(x), mask=causal, training=training)
        x = x + self.dropout(attended, training=training)
        attended, cross_weights = self.cross_attn(
            self.norm2(x), memory, memory, mask=memory_mask, training=training
        )
        x = x + self.dropout(attended, training=training)
        x = x + self.dropout(self.feed_forward(self.norm3(x)), training=training)
        return x, (self_weights, cross_weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.sizes}


@keras.saving.register_keras_serializable(package="lessonkit")
class TextClassifier(_ExplicitMaskMixin, TorchLayout, keras.Model):
    """Token embedding + positions -> encoder blocks -> LayerNorm -> masked mean -> linear head.

    The mean runs over the real tokens only (``mask``), so padding never dilutes the passage.
    """

    def __init__(self, config: TransformerConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = c = config
        # N(0, 1) like torch's nn.Embedding (Keras would start from uniform(-0.05, 0.05)).
        self.token_embedding = keras.layers.Embedding(
            c.vocab_size,
            c.d_model,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="token_embedding",
        )
        position_class = (
            LearnedPositionEmbedding if c.positions == "learned" else SinusoidalPositionEmbedding
        )
        self.position_embedding = position_class(c.max_len, c.d_model, name="position_embedding")
        self.dropout = keras.layers.Dropout(c.dropout)
        self.blocks = [
            EncoderBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, name=f"blocks_{i}")
            for i in range(c.n_layers)
        ]
        self.norm = _layer_norm(c.d_model, "norm")
        self.head = keras.layers.Dense(c.n_classes, name="head")
        self.token_embedding.build((None, None))
        self.head.build((None, c.d_model))
        self.built = True

    def call(self, idx, targets=None, mask=None, training=None, return_attention=False):
        """``idx`` (B, T) ids, ``mask`` (B, T) True on real tokens -> ``(logits (B, n_classes), loss)``.

        With ``return_attention=True`` it returns ``(logits, loss, attention (B, n_layers, H, T, T))``.
        """
        idx = ops.convert_to_tensor(idx)
        check_classifier_inputs(idx.shape, None if mask is None else np.shape(mask))
        if mask is None:
            mask = ops.ones(tf.shape(idx), dtype="bool")
        mask = ops.cast(mask, "bool")  # (B, T)
        x = self.token_embedding(idx)  # (B, T, C)
        x = self.dropout(self.position_embedding(x), training=training)  # (B, T, C)
        attention_mask = mask[:, None, None, :]  # (B, 1, 1, T): every query sees the real keys
        attentions = []
        for block in self.blocks:
            x, weights = block(x, mask=attention_mask, training=training)  # (B, T, C), (B, H, T, T)
            attentions.append(weights)
        x = self.norm(x)
        keep = ops.cast(mask, x.dtype)[:, :, None]  # (B, T, 1)
        pooled = ops.sum(x * keep, axis=1) / ops.maximum(ops.sum(keep, axis=1), 1.0)  # (B, C)
        logits = self.head(pooled)  # (B, n_classes)
        loss = None
        if targets is not None:
            losses = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)  # (B,)
            loss = ops.mean(losses)
        if return_attention:
            return logits, loss, ops.stack(attentions, axis=1)  # (B, n_layers, H, T, T)
        return logits, loss

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextClassifier:
        config = dict(config)
        return cls(TransformerConfig(**config.pop("config")), **config)
