"""A character-level encoder-decoder with a bidirectional GRU encoder, with or without attention.

The Keras 3 twin of ``lessonkit.torch.seq2seq``: the same config, sublayer names, methods and
checkpoint keys, so a file written by either twin loads in the other and gives the same logits.

- The encoder is a ``Bidirectional(GRU)`` given the padding mask: the forward GRU keeps its state
  through the padding at the end, and the backward GRU starts on the last real character, as
  torch's packed sequences do.
- Keras GRU weights are the transposes of torch's, with the gate blocks (z, r, h) where torch has
  (r, z, n); with ``reset_after=True`` Keras keeps torch's two biases as the rows of a (2, 3C)
  array (see ``lessonkit.tensorflow.char_rnn``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .. import checkpoints, dates
from ..generation import generate
from ..seq2seq_config import Seq2SeqConfig
from .char_rnn import _swap_gru_blocks, _uniform
from .weights import from_arrays, to_arrays


def _gru_to_torch(cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A Keras GRU cell's variables as torch's ``(weight_ih, weight_hh, bias_ih, bias_hh)``."""
    kernel = _swap_gru_blocks(np.asarray(cell.kernel), 1)  # (in, 3C)
    recurrent = _swap_gru_blocks(np.asarray(cell.recurrent_kernel), 1)  # (C, 3C)
    bias_ih, bias_hh = _swap_gru_blocks(np.asarray(cell.bias), 1)  # each (3C,)
    return kernel.T, recurrent.T, bias_ih, bias_hh


def _gru_from_torch(cell, weight_ih, weight_hh, bias_ih, bias_hh) -> None:
    cell.kernel.assign(_swap_gru_blocks(np.asarray(weight_ih).T, 1))  # (in, 3C)
    cell.recurrent_kernel.assign(_swap_gru_blocks(np.asarray(weight_hh).T, 1))  # (C, 3C)
    cell.bias.assign(_swap_gru_blocks(np.stack([bias_ih, bias_hh]), 1))  # (2, 3C)


def _gru_kwargs(d_model: int) -> dict[str, Any]:
    """torch's GRU semantics (reset gate after the recurrent product) and initialization."""
    bound = 1 / d_model**0.5
    return {
        "reset_after": True,
        "kernel_initializer": _uniform(bound),
        "recurrent_initializer": _uniform(bound),
        "bias_initializer": _uniform(bound),
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
        """``query`` (B, C), ``keys`` (B, S, 2C), ``mask`` (B, S) True where real ->
        ``(context (B, 2C), weights (B, S))``. ``projected_keys`` is ``key_proj(keys)``, passed in
        when the same keys serve many steps."""
        if projected_keys is None:
            projected_keys = self.key_proj(keys)  # (B, S, A)
        hidden = keras.ops.tanh(self.query_proj(query)[:, None, :] + projected_keys)  # (B, S, A)
        scores = keras.ops.squeeze(self.energy(hidden), -1)  # (B, S)
        if mask is not None:
            scores = keras.ops.where(mask, scores, np.finfo(np.float32).min)
        weights = keras.ops.softmax(scores, axis=-1)  # (B, S)
        context = keras.ops.einsum("bs,bsc->bc", weights, keys)  # (B, 2C)
        return context, weights

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "d_query": self.d_query, "d_key": self.d_key,
                "d_attn": self.d_attn}  # fmt: skip


def final_states(states, mask):
    """The encoder's summary (B, 2C) from its states (B, S, 2C): the forward direction's state at
    the last real character joined with the backward direction's state at the first."""
    C = states.shape[-1] // 2
    last = keras.ops.sum(keras.ops.cast(mask, "int32"), axis=1) - 1  # (B,)
    forward = tf.gather(states[:, :, :C], last, batch_dims=1)  # (B, C)
    return keras.ops.concatenate([forward, states[:, 0, C:]], -1)  # (B, 2C)


class Encoder(keras.layers.Layer):
    """Embedding -> bidirectional GRU over the real characters of each row (padding skipped)."""

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
        self.rnn = keras.layers.Bidirectional(gru, merge_mode="concat", name="rnn")

    def call(self, src, training=None):
        """``src`` (B, S) right-padded -> ``(states (B, S, 2C), final (B, 2C), mask (B, S))``.

        ``final`` joins the forward direction's state after the last real character and the
        backward direction's state after the first; ``states`` are zero at padding."""
        mask = keras.ops.not_equal(src, dates.PAD_ID)  # (B, S)
        x = self.embedding(src)  # (B, S, E)
        states, forward_final, backward_final = self.rnn(x, mask=mask, training=training)
        states = states * keras.ops.cast(mask, states.dtype)[:, :, None]  # (B, S, 2C)
        return states, keras.ops.concatenate([forward_final, backward_final], -1), mask


class Decoder(keras.layers.Layer):
    """A GRU cell that writes one character per step; with attention, it reads a context each step."""

    def __init__(self, config: Seq2SeqConfig, **kwargs: Any):
        super().__init__(**kwargs)
        self.config = config
        d_context = 2 * config.d_model  # attention's c_t, or the plain model's fixed summary
        self.embedding = keras.layers.Embedding(
            config.tgt_vocab_size,
            config.d_embed,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="embedding",
        )
        if config.attention:
            self.attention = AdditiveAttention(
                config.d_model, 2 * config.d_model, config.d_attn, name="attention"
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
            context = final_states(states, mask)  # (B, 2C), the same at every step
        for t in range(tgt_in.shape[1]):
            if self.config.attention:
                context, weights = self.attention(hidden, states, mask, projected_keys)  # (B, 2C)
                all_weights.append(weights)  # (B, S)
            inputs = keras.ops.concatenate([x[:, t], context], -1)
            hidden, _ = self.cell(inputs, [hidden], training=training)  # (B, C)
            all_logits.append(self.head(keras.ops.concatenate([hidden, context], -1)))  # (B, V)
        logits = keras.ops.stack(all_logits, axis=1)  # (B, T, V)
        attention = keras.ops.stack(all_weights, axis=1) if all_weights else None  # (B, T, S)
        return logits, hidden, attention


@keras.saving.register_keras_serializable(package="lessonkit")
class Seq2Seq(keras.Model):
    """Encoder -> bridge (the decoder's first state) -> decoder, plain or with attention."""

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
            losses = keras.ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            loss = keras.ops.mean(losses)  # (B, T) -> ()
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
        """Encode ``src`` (B, S): ``(states (B, S, 2C), first decoder state (B, C), mask (B, S))``."""
        if src.shape[1] is not None and src.shape[1] > self.config.max_len:
            raise ValueError(
                f"the source has {src.shape[1]} characters; the model reads at most {self.config.max_len}"
            )
        states, final, mask = self.encoder(src, training=training)
        return states, keras.ops.tanh(self.bridge(final)), mask  # (B, C)

    def initial_state(self, src: np.ndarray) -> tuple:
        """The state the generation loop starts from: ``(hidden, states, mask, projected_keys)``."""
        src = np.asarray(src)
        if src.ndim != 2 or bool(((src != dates.PAD_ID).sum(1) == 0).any()):
            raise ValueError("src must be (B, S) with at least one character in every row")
        if src.shape[1] > self.config.max_len:
            raise ValueError(
                f"the source has {src.shape[1]} characters; the model reads at most {self.config.max_len}"
            )
        states, hidden, mask = self._start_fn(tf.constant(src, tf.int32))
        projected = self.decoder.attention.key_proj(states) if self.config.attention else None
        return hidden, states, mask, projected

    def _decode(self, idx, hidden, states, mask, projected):
        logits, hidden, attention = self.decoder(
            idx, hidden, states, mask, projected, training=False
        )
        last = attention[:, -1] if attention is not None else tf.zeros(tf.shape(mask))  # (B, S)
        return logits[:, -1], hidden, last  # (B, V), (B, C)

    def step(self, ids: np.ndarray, state: tuple, return_attention: bool = False):
        """Generation contract: NumPy ``ids`` (B, T) and ``state`` from :meth:`initial_state` ->
        ``(NumPy logits (B, V) of the last position, state)``, plus the last step's attention
        (B, S) (zeros for the plain model) with ``return_attention=True``. Compiled, so each
        step is one call."""
        if state is None:
            raise ValueError("a seq2seq model needs state=model.initial_state(src) to start from")
        hidden, states, mask, projected = state
        idx = tf.constant(np.asarray(ids), tf.int32)
        logits, hidden, weights = self._decode_fn(idx, hidden, states, mask, projected)
        state = (hidden, states, mask, projected)
        if not return_attention:
            return logits.numpy(), state
        return logits.numpy(), state, weights.numpy()

    def greedy_decode(
        self, src: np.ndarray, max_new_tokens: int = dates.ISO_LEN + 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Greedy answers for ``src`` (B, S): ``(ids (B, T_out), alignment (B, T_out, S))``,
        through the course's one generation loop; rows are cut after their end marker by
        :func:`lessonkit.dates.decode_target`."""
        src = np.asarray(src)
        start = np.full((src.shape[0], 1), dates.START_ID, dtype=np.int64)
        ids, attention = generate(
            self,
            start,
            max_new_tokens,
            top_k=1,
            stop_id=dates.END_ID,
            state=self.initial_state(src),
            return_attention=True,
        )
        return ids, np.stack(attention, axis=1)  # (B, T_out), (B, T_out, S)

    def translate(self, text: str) -> tuple[str, np.ndarray, list[str], list[str]]:
        """One text -> ``(answer, alignment (T_out, S), source chars, output chars)``, the
        alignment cut to the characters written (end marker included) and the real source."""
        src = np.array([dates.encode_source(text, self.config.max_len)])  # (1, S)
        ids, attention = self.greedy_decode(src)
        ids = ids[0].tolist()
        n = ids.index(dates.END_ID) + 1 if dates.END_ID in ids else len(ids)
        out_chars = [dates.TARGET_VOCAB[i] for i in ids[:n]]
        return dates.decode_target(ids), attention[0, :n], list(text), out_chars

    def translate_batch(self, texts: list[str], batch_size: int = 256) -> list[str]:
        """Greedy answers for many texts, ``batch_size`` at a time."""
        answers = []
        for i in range(0, len(texts), batch_size):
            src = dates.encode_sources(texts[i : i + batch_size], self.config.max_len)
            ids, _ = self.greedy_decode(src)
            answers += [dates.decode_target(row) for row in ids]
        return answers

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights as NumPy arrays under torch's ``state_dict`` keys and layouts."""
        encoder, decoder = self.encoder, self.decoder
        arrays = {"encoder.embedding.weight": np.asarray(encoder.embedding.embeddings)}
        for suffix, layer in (
            ("", encoder.rnn.forward_layer),
            ("_reverse", encoder.rnn.backward_layer),
        ):
            names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            for name, array in zip(names, _gru_to_torch(layer.cell), strict=True):
                arrays[f"encoder.rnn.{name}{suffix}"] = array
        arrays["bridge.weight"] = np.asarray(self.bridge.kernel).T  # (C, 2C)
        arrays["bridge.bias"] = np.asarray(self.bridge.bias)
        arrays["decoder.embedding.weight"] = np.asarray(decoder.embedding.embeddings)
        if self.config.attention:
            for name in ("query_proj", "key_proj", "energy"):
                kernel = getattr(decoder.attention, name).kernel
                arrays[f"decoder.attention.{name}.weight"] = np.asarray(kernel).T  # (out, in)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        for name, array in zip(names, _gru_to_torch(decoder.cell), strict=True):
            arrays[f"decoder.cell.{name}"] = array
        arrays["decoder.head.weight"] = np.asarray(decoder.head.kernel).T  # (V, C or 3C)
        arrays["decoder.head.bias"] = np.asarray(decoder.head.bias)
        return arrays

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        """Assign torch-layout arrays (the keys of :meth:`state_dict`) to the Keras variables."""
        expected = {key: value.shape for key, value in self.state_dict().items()}
        checkpoints.check_state_dict(expected, arrays, "state dict")
        a = {key: np.asarray(value, dtype=np.float32) for key, value in arrays.items()}
        encoder, decoder = self.encoder, self.decoder
        encoder.embedding.embeddings.assign(a["encoder.embedding.weight"])
        for suffix, layer in (
            ("", encoder.rnn.forward_layer),
            ("_reverse", encoder.rnn.backward_layer),
        ):
            names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            _gru_from_torch(layer.cell, *(a[f"encoder.rnn.{n}{suffix}"] for n in names))
        self.bridge.kernel.assign(a["bridge.weight"].T)  # (2C, C)
        self.bridge.bias.assign(a["bridge.bias"])
        decoder.embedding.embeddings.assign(a["decoder.embedding.weight"])
        if self.config.attention:
            for name in ("query_proj", "key_proj", "energy"):
                getattr(decoder.attention, name).kernel.assign(
                    a[f"decoder.attention.{name}.weight"].T
                )
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        _gru_from_torch(decoder.cell, *(a[f"decoder.cell.{n}"] for n in names))
        decoder.head.kernel.assign(a["decoder.head.weight"].T)  # (C or 3C, V)
        decoder.head.bias.assign(a["decoder.head.bias"])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Seq2Seq:
        config = dict(config)
        return cls(Seq2SeqConfig(**config.pop("config")), **config)


def save_checkpoint(
    model: Seq2Seq, path: str | Path, dtype=None, metadata: dict[str, str] | None = None
) -> Path:
    """Weights and config in one safetensors file (``dtype=np.float16`` halves it); extra
    ``metadata`` strings (a measured accuracy, say) travel with it."""
    return checkpoints.save(
        path, to_arrays(model), {"config": model.config.to_json(), **(metadata or {})}, dtype=dtype
    )


def load_checkpoint(path: str | Path) -> tuple[Seq2Seq, dict[str, str]]:
    """Rebuild the model from a file written by either twin: ``(model, metadata)``."""
    arrays, metadata = checkpoints.load(path)
    config = Seq2SeqConfig.from_json(checkpoints.metadata_field(metadata, "config", path))
    model = Seq2Seq(config)
    from_arrays(model, arrays, what=str(path))
    return model, metadata
