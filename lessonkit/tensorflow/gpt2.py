"""GPT-2, architecture-exact, in Keras 3 / TensorFlow (the twin of ``lessonkit.torch.gpt2``).

The same config, class names, sublayer names (``wte``, ``wpe``, ``h[i].ln_1``, ``attn.c_attn``,
``attn.c_proj``, ``ln_2``, ``mlp.c_fc``, ``mlp.c_proj``, ``ln_f``) and checkpoint keys as the
PyTorch twin, which are Hugging Face's ``GPT2Model`` keys. Three details matter for equal logits:
LayerNorm's epsilon is GPT-2's 1e-5 (Keras defaults to 1e-3), GELU is the tanh approximation, and
``Conv1D`` keeps GPT-2's (in, out) weight layout, which is also a Keras ``Dense`` kernel's.

The KV cache has the PyTorch twin's layout: per layer a ``(keys, values)`` pair, each
``(B, n_heads, S, head_dim)``. :meth:`GPT2.step` runs compiled (traced once for any batch, prompt
and cache length), so generating a token costs one call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..models.gpt2 import TRACE_KEYS, GPT2Config, check_cache, check_ids, check_length
from ..pretrained import pretrained_arrays, shakespeare_checkpoint
from ..text import GPT2Tokenizer
from .weights import (  # noqa: F401
    TorchLayout,
    from_arrays,
    load_checkpoint,
    random_normal,
    save_checkpoint,
    weight_of,
    weights_follow,
)


def _normal(std: float) -> keras.initializers.Initializer | str:
    return random_normal(std)


class Conv1D(keras.layers.Layer):
    """GPT-2's linear layer: ``x @ weight + bias`` with ``weight`` stored (in, out)."""

    def __init__(self, n_in: int, n_out: int, std: float = 0.02, **kwargs: Any):
        super().__init__(**kwargs)
        self.weight = self.add_weight(shape=(n_in, n_out), initializer=_normal(std), name="weight")
        self.bias = self.add_weight(shape=(n_out,), initializer="zeros", name="bias")

    def call(self, x):
        # One 2-D product (a batched one is slower) with the bias added by the same kernel
        rows = tf.reshape(x, (-1, self.weight.shape[0]))  # (N, n_in)
        out = tf.nn.bias_add(tf.matmul(rows, self.weight), self.bias)  # (N, n_out)
        return tf.reshape(out, tf.concat([tf.shape(x)[:-1], [-1]], 0))  # (..., n_out)


class CausalSelfAttention(keras.layers.Layer):
    """Masked multi-head self-attention: each position sees itself and the positions before it.

    ``c_attn`` makes queries, keys and values in one product (C -> 3C); ``c_proj`` mixes the heads.
    """

    def __init__(self, config: GPT2Config, **kwargs: Any):
        super().__init__(**kwargs)
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        C = config.d_model
        self.c_attn = Conv1D(C, 3 * C, name="c_attn")
        self.c_proj = Conv1D(C, C, std=0.02 / math.sqrt(2 * config.n_layers), name="c_proj")
        self.attn_dropout = keras.layers.Dropout(config.dropout)
        self.resid_dropout = keras.layers.Dropout(config.dropout)

    def call(self, x, past=None, training=None, trace=None, need_weights=True):
        """``x`` (B, T, C) and this layer's cached ``(keys, values)`` -> ``(output (B, T, C),
        attention weights (B, H, T, S), (keys, values) (B, H, S, D))`` with S = cached + T.
        ``trace``, when given, receives the last position's scores, mask, weights and weighted
        sum of values (see :meth:`GPT2.step`). With ``need_weights=False`` None is returned in
        the weights' place (a compiled graph then drops them)."""
        B, T, C = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        q, k, v = ops.split(self.c_attn(x), 3, axis=-1)  # (B, T, 3C) -> 3 x (B, T, C)

        def split_heads(t):
            t = ops.reshape(t, (B, T, self.n_heads, self.head_dim))  # (B, T, H, D)
            return ops.transpose(t, (0, 2, 1, 3))  # (B, H, T, D)

        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        if past is not None:
            k = ops.concatenate([past[0], k], axis=2)  # (B, H, S, D)
            v = ops.concatenate([past[1], v], axis=2)  # (B, H, S, D)
        S = tf.shape(k)[2]
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(self.head_dim)  # (B, H, T, S)
        # Query t sits at position S - T + t and may see keys 0 ... S - T + t.
        allowed = ops.arange(S)[None, :] <= ops.arange(T)[:, None] + (S - T)  # (T, S)
        scores = ops.where(allowed, scores, float("-inf"))
        weights = tf.nn.softmax(scores, axis=-1)  # (B, H, T, S); ops.softmax warns if S = 1
        y = ops.matmul(self.attn_dropout(weights, training=training), v)  # (B, H, T, D)
        if trace is not None:  # the last query's row, before and after the softmax
            trace["scores"].append(ops.where(allowed[-1], scores[:, :, -1], 0.0))  # (B, H, S)
            trace["mask"].append(ops.broadcast_to(allowed[-1], (B, S)))  # (B, S)
            trace["weights"].append(weights[:, :, -1])  # (B, H, S)
            trace["weighted_values"].append(y[:, :, -1])  # (B, H, D)
        y = ops.reshape(ops.transpose(y, (0, 2, 1, 3)), (B, T, C))  # merge heads: (B, T, C)
        weights = weights if need_weights or trace is not None else None
        return self.resid_dropout(self.c_proj(y), training=training), weights, (k, v)


class MLP(keras.layers.Layer):
    """Position-wise feed-forward: C -> d_ff (GELU, tanh approximation) -> C."""

    def __init__(self, config: GPT2Config, **kwargs: Any):
        super().__init__(**kwargs)
        self.c_fc = Conv1D(config.d_model, config.d_ff, name="c_fc")
        self.c_proj = Conv1D(
            config.d_ff, config.d_model, std=0.02 / math.sqrt(2 * config.n_layers), name="c_proj"
        )
        self.dropout = keras.layers.Dropout(config.dropout)

    def call(self, x, training=None):
        h = keras.activations.gelu(self.c_fc(x), approximate=True)  # (B, T, d_ff)
        return self.dropout(self.c_proj(h), training=training)  # (B, T, C)


class Block(keras.layers.Layer):
    """One decoder block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPT2Config, **kwargs: Any):
        super().__init__(**kwargs)
        eps = config.layer_norm_eps
        self.ln_1 = keras.layers.LayerNormalization(epsilon=eps, name="ln_1")
        self.attn = CausalSelfAttention(config, name="attn")
        self.ln_2 = keras.layers.LayerNormalization(epsilon=eps, name="ln_2")
        self.mlp = MLP(config, name="mlp")

    def call(self, x, past=None, training=None, trace=None, need_weights=True):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention (B, H, T, S) or None, (keys, values))``."""
        # Keras' __call__ copies its arguments, so a trace is passed to `call` directly.
        attention = self.attn if trace is None else self.attn.call
        attended, weights, present = attention(
            self.ln_1(x), past, training=training, trace=trace, need_weights=need_weights
        )
        x = x + attended
        mlp = self.mlp(self.ln_2(x), training=training)  # (B, T, C)
        if trace is not None:
            trace["mlp"].append(mlp[:, -1])  # (B, C)
        return x + mlp, weights, present


@keras.saving.register_keras_serializable(package="lessonkit")
class GPT2(TorchLayout, keras.Model):
    """GPT-2: embeddings, ``n_layers`` blocks ``h``, ``ln_f``, output tied to ``wte``."""

    def __init__(self, config: GPT2Config, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        self.wte = keras.layers.Embedding(
            config.vocab_size, config.d_model, embeddings_initializer=_normal(0.02), name="wte"
        )
        self.wpe = keras.layers.Embedding(
            config.max_len, config.d_model, embeddings_initializer=_normal(0.02), name="wpe"
        )
        self.drop = keras.layers.Dropout(config.dropout)
        self.h = [Block(config, name=f"h_{i}") for i in range(config.n_layers)]
        self.ln_f = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="ln_f")
        self.source = "randomly initialized"  # where the weights came from, for notebooks
        self(np.zeros((1, 1), dtype="int32"))  # create the variables, so weights load right away
        ids = tf.TensorSpec((None, None), tf.int32)
        layer = tf.TensorSpec((None, config.n_heads, None, config.head_dim), tf.float32)
        cache = tuple((layer, layer) for _ in range(config.n_layers))
        self._step_fn = tf.function(self._last_logits, input_signature=[ids, cache])
        self._step_attention_fn = tf.function(
            self._last_logits_and_attention, input_signature=[ids, cache]
        )

    def call(self, idx, targets=None, return_attention=False, training=None):
        """``idx`` (B, T) -> ``(logits (B, T, V), mean loss in nats or None)``; with
        ``return_attention=True`` also the attention of every layer, a list of (B, H, T, T)."""
        logits, _, attention = self.run(idx, training=training, need_weights=return_attention)
        loss = None
        if targets is not None:
            losses = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            loss = ops.mean(losses)  # (B, T) -> ()
        return (logits, loss, attention) if return_attention else (logits, loss)

    def run(
        self,
        idx,
        state=None,
        training=None,
        last_only: bool = False,
        trace=None,
        need_weights: bool = True,
    ):
        """Read ``idx`` (B, T) after the cached positions of ``state``.

        Returns ``(logits (B, T, V), the cache extended by T positions, attention per layer
        [(B, H, T, S)])``. With ``last_only`` the logits are those of the last position only,
        (B, 1, V): generation needs no more, and a long prompt's (T, 50,257) scores are costly.
        With ``need_weights=False`` the list holds None.
        """
        if len(idx.shape) != 2:
            raise ValueError(f"idx must be (B, T), got shape {tuple(idx.shape)}")
        known_past = check_cache(state, self.config, idx.shape[0])  # 0 while tracing a graph
        if tf.executing_eagerly():  # inside the compiled step, `step` has checked the length
            check_length(idx.shape[1], self.config, known_past)
        past_length = 0 if state is None else tf.shape(state[0][0])[2]
        T = tf.shape(idx)[1]
        positions = ops.arange(past_length, past_length + T)  # (T,)
        x = self.wte(idx) + self.wpe(positions)  # (B, T, C)
        x = self.drop(x, training=training)
        cache, attention = [], []
        for i, block in enumerate(self.h):
            past = None if state is None else state[i]
            call = block if trace is None else block.call  # see Block.call
            x, weights, present = call(
                x, past, training=training, trace=trace, need_weights=need_weights
            )  # (B, T, C)
            cache.append(present)
            attention.append(weights)
        if last_only:
            x = x[:, -1:]  # (B, 1, C)
        x = self.ln_f(x)  # (B, T, C)
        logits = tf.matmul(x, self.wte.embeddings, transpose_b=True)  # tied, not copied: (B, T, V)
        return logits, tuple(cache), attention

    def step(
        self,
        ids: np.ndarray,
        state=None,
        return_attention: bool = False,
        return_trace: bool = False,
    ):
        """Generation contract: NumPy ``ids`` (B, T) after the cached ``state`` -> ``(NumPy logits
        (B, V) of the last position, new state)``; with ``return_attention=True`` also the NumPy
        attention of this step, (n_layers, B, H, T, S); with ``return_trace=True`` also what
        happened inside the step for the last token, as NumPy under :data:`TRACE_KEYS` (run
        eagerly: a view for learners, not the fast path)."""
        past_length = check_cache(
            state, self.config, np.shape(ids)[0] if np.ndim(ids) == 2 else None
        )
        ids = check_ids(ids, self.config, past_length)
        if state is None:  # an empty cache, so one compiled function serves every step
            empty = ops.zeros((ids.shape[0], self.config.n_heads, 0, self.config.head_dim))
            state = tuple((empty, empty) for _ in range(self.config.n_layers))
        ids = ops.convert_to_tensor(ids, "int32")
        if return_trace:
            trace = {key: [] for key in TRACE_KEYS if key != "logits"}
            logits, state, attention = self.run(ids, state, training=False, last_only=True,
                                                trace=trace)  # fmt: skip
            last = logits[:, -1].numpy()  # (B, V)
            out = (last, state)
            if return_attention:
                out += (ops.stack(attention).numpy(),)
            traced = {k: ops.stack(v, 1).numpy() for k, v in trace.items()}
            return (*out, traced | {"logits": last})
        if return_attention:
            logits, state, attention = self._step_attention_fn(ids, state)
            return logits.numpy(), state, attention.numpy()
        logits, state = self._step_fn(ids, state)
        return logits.numpy(), state

    def _last_logits(self, idx, state):
        logits, state, _ = self.run(idx, state, False, last_only=True, need_weights=False)
        return logits[:, -1], state  # (B, V)

    def _last_logits_and_attention(self, idx, state):
        logits, state, attention = self.run(idx, state, training=False, last_only=True)
        return logits[:, -1], state, ops.stack(attention)  # (B, V), cache, (L, B, H, T, S)

    def weight(self, key: str) -> np.ndarray:
        """One weight as NumPy, by its checkpoint key (``"h.0.attn.c_attn.weight"``)."""
        return weight_of(self, key)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GPT2:
        config = dict(config)
        return cls(GPT2Config(**config.pop("config")), **config)


def from_pretrained(name_or_path: str | Path = "gpt2", device: str | None = None):
    """Released GPT-2 weights (``"gpt2"``, ``"gpt2-medium"``, ...) from the Hugging Face hub, or a
    local folder in Hugging Face's layout, in this twin; with GPT-2's tokenizer.

    Offline (``HF_HUB_OFFLINE=1``, or no network and nothing cached) it warns in one line and
    returns the bundled small GPT trained on Shakespeare, with its own tokenizer, instead.
    ``model.source`` says which.
    """
    found = pretrained_arrays(name_or_path)
    if found is None:
        model, tokenizer, _ = load_checkpoint(shakespeare_checkpoint(), device)
        return model, tokenizer
    config, arrays, source = found
    with tf.device(device) if device is not None else contextlib.nullcontext(), weights_follow():
        model = GPT2(config)
        from_arrays(model, arrays, what=source)
    model.source = source
    return model, GPT2Tokenizer.from_data()
