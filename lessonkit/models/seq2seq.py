"""Lesson 2's encoder-decoder without a framework: its hyperparameters, its source check, and
greedy decoding and translation, written once for the PyTorch and TensorFlow twins.

Each twin exposes ``initial_state(src)`` and ``step(ids, state, return_attention)`` (NumPy in,
NumPy out); :class:`Translator`, which both twins' ``Seq2Seq`` inherit, builds ``greedy_decode``,
``translate`` and ``translate_batch`` on them through the course's one generation loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import checks, dates
from ..config import Config
from ..dates import MAX_SOURCE_LEN, SOURCE_VOCAB, TARGET_VOCAB
from ..generation import generate


@dataclass(frozen=True)
class Seq2SeqConfig(Config):
    """A GRU encoder and a GRU decoder, with or without additive attention.

    ``d_embed`` is the width of both embeddings; ``d_model`` the width of each encoder direction
    and of the decoder state (encoder states are ``d_context`` wide: ``2 * d_model`` when
    ``bidirectional``); ``d_attn`` the width of the additive-attention scores' hidden layer;
    ``max_len`` the longest source, in characters. ``attention=False`` gives the plain decoder,
    which sees the source only through the encoder's final states; with ``bidirectional=False``
    as well it is Bahdanau et al.'s baseline (Cho et al.'s RNNencdec): a one-way encoder whose
    last state, after the last character, is the only context.
    """

    src_vocab_size: int = len(SOURCE_VOCAB)
    tgt_vocab_size: int = len(TARGET_VOCAB)
    d_embed: int = 32
    d_model: int = 64
    d_attn: int = 64
    max_len: int = MAX_SOURCE_LEN
    attention: bool = True
    bidirectional: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("src_vocab_size", "tgt_vocab_size", "d_embed", "d_model", "d_attn", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"Seq2SeqConfig.{name} must be at least 1, got {getattr(self, name)}"
                )
        for name in ("attention", "bidirectional"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def d_context(self) -> int:
        """The width of the encoder's states, and so of every context the decoder reads: 2C for
        a bidirectional encoder (both directions side by side), C for a one-way one."""
        return (2 if self.bidirectional else 1) * self.d_model


def attention_parameter_count(config: Seq2SeqConfig) -> int:
    """How many more parameters the attention model has than the plain one, by hand.

    Both decoders read a context 2 d_model wide (the plain one a fixed summary, the attention one
    ``c_t``), so the difference is the scoring network ``v^T tanh(W_s s + W_h h)`` alone: ``W_s``
    (d_attn, d_model), ``W_h`` (d_attn, 2 d_model) and ``v`` (d_attn).
    """
    C, A = config.d_model, config.d_attn
    return A * C + A * config.d_context + A


def check_source(src: Any, config: Seq2SeqConfig) -> np.ndarray:
    """Source ids (B, S) as int64, each row holding at least one character and none longer than
    ``config.max_len``; ``ValueError`` naming ``src`` otherwise."""
    src = checks.token_ids(src, config.src_vocab_size, "src")
    if src.shape[1] > config.max_len:
        raise ValueError(
            f"src has {src.shape[1]} characters; the model reads at most {config.max_len}"
        )
    if bool(((src != dates.PAD_ID).sum(1) == 0).any()):
        raise ValueError("src: every row needs at least one character")
    return src


class Translator:
    """Greedy answers, written once over a twin's ``initial_state(src)`` and
    ``step(ids, state, return_attention=True)``; both twins' ``Seq2Seq`` inherit it."""

    config: Seq2SeqConfig

    def greedy_decode(
        self, src: np.ndarray, max_new_tokens: int = dates.ISO_LEN + 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Greedy answers for ``src`` (B, S): ``(ids (B, T_out), alignment (B, T_out, S))``,
        through the course's one generation loop; rows are cut after their end marker by
        :func:`lessonkit.dates.decode_target`."""
        state = self.initial_state(src)  # checks src
        start = np.full((np.shape(src)[0], 1), dates.START_ID, dtype=np.int64)  # (B, 1)
        ids, attention = generate(
            self,
            start,
            max_new_tokens,
            top_k=1,
            stop_id=dates.END_ID,
            state=state,
            return_attention=True,
        )
        return ids, np.stack(attention, axis=1)  # (B, T_out), (B, T_out, S)

    def translate(self, text: str) -> tuple[str, np.ndarray, list[str], list[str]]:
        """One text -> ``(answer, alignment (T_out, S), source chars, output chars)``, the
        alignment cut to the characters written (end marker included) and the real source. The
        answer is a real calendar date or :data:`lessonkit.dates.NO_DATE`; the output characters
        show what the model wrote either way."""
        src = np.array([dates.encode_source(text, self.config.max_len)])  # (1, S)
        ids, attention = self.greedy_decode(src)
        ids = ids[0].tolist()
        n = ids.index(dates.END_ID) + 1 if dates.END_ID in ids else len(ids)
        out_chars = [dates.TARGET_VOCAB[i] for i in ids[:n]]
        answer = dates.checked_answer(dates.decode_target(ids))
        return answer, attention[0, :n], list(text), out_chars

    def translate_batch(self, texts: list[str], batch_size: int = 256) -> list[str]:
        """Greedy answers for many texts, ``batch_size`` at a time (real dates or ``NO_DATE``)."""
        answers = []
        for i in range(0, len(texts), batch_size):
            src = dates.encode_sources(texts[i : i + batch_size], self.config.max_len)
            ids, _ = self.greedy_decode(src)
            answers += [dates.checked_answer(dates.decode_target(row)) for row in ids]
        return answers


def weight_shapes(config: Seq2SeqConfig) -> dict[str, tuple[int, ...]]:
    """Every weight's shape under the twins' (torch ``state_dict``) keys, without building a model.

    The encoder is a GRU (3 gates, so ``3C`` rows), bidirectional or one-way; the bridge maps its
    final state(s) (``d_context``: 2C or C) to the decoder's start (C); the decoder's GRU cell
    reads the embedded previous character and the context; its head reads the state and the
    context.
    """
    E, C, A, D = config.d_embed, config.d_model, config.d_attn, config.d_context
    shapes: dict[str, tuple[int, ...]] = {"encoder.embedding.weight": (config.src_vocab_size, E)}
    for suffix in ("_l0", "_l0_reverse") if config.bidirectional else ("_l0",):
        shapes |= {
            f"encoder.rnn.weight_ih{suffix}": (3 * C, E),
            f"encoder.rnn.weight_hh{suffix}": (3 * C, C),
            f"encoder.rnn.bias_ih{suffix}": (3 * C,),
            f"encoder.rnn.bias_hh{suffix}": (3 * C,),
        }
    shapes |= {"bridge.weight": (C, D), "bridge.bias": (C,)}
    shapes["decoder.embedding.weight"] = (config.tgt_vocab_size, E)
    if config.attention:
        shapes |= {
            "decoder.attention.query_proj.weight": (A, C),
            "decoder.attention.key_proj.weight": (A, D),
            "decoder.attention.energy.weight": (1, A),
        }
    return shapes | {
        "decoder.cell.weight_ih": (3 * C, E + D),
        "decoder.cell.weight_hh": (3 * C, C),
        "decoder.cell.bias_ih": (3 * C,),
        "decoder.cell.bias_hh": (3 * C,),
        "decoder.head.weight": (config.tgt_vocab_size, C + D),
        "decoder.head.bias": (config.tgt_vocab_size,),
    }


# The shapes a checkpoint of each class must hold (lessonkit.checkpoints checks them before a
# model is built, so a damaged config cannot make a twin allocate more than the file holds).
CHECKPOINT_SHAPES = {"Seq2Seq": weight_shapes}
