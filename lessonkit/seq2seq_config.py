"""The hyperparameters of Lesson 2's encoder-decoder, shared by the PyTorch and TensorFlow twins."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .dates import MAX_SOURCE_LEN, SOURCE_VOCAB, TARGET_VOCAB


@dataclass(frozen=True)
class Seq2SeqConfig(Config):
    """A bidirectional GRU encoder and a GRU decoder, with or without additive attention.

    ``d_embed`` is the width of both embeddings; ``d_model`` the width of each encoder direction
    and of the decoder state (encoder states are ``2 * d_model`` wide); ``d_attn`` the width of the
    additive-attention scores' hidden layer; ``max_len`` the longest source, in characters.
    ``attention=False`` gives the plain decoder, which sees the source only through the encoder's
    final states.
    """

    src_vocab_size: int = len(SOURCE_VOCAB)
    tgt_vocab_size: int = len(TARGET_VOCAB)
    d_embed: int = 32
    d_model: int = 64
    d_attn: int = 64
    max_len: int = MAX_SOURCE_LEN
    attention: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("src_vocab_size", "tgt_vocab_size", "d_embed", "d_model", "d_attn", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"Seq2SeqConfig.{name} must be at least 1, got {getattr(self, name)}"
                )
        if not isinstance(self.attention, bool):
            raise ValueError(f"attention must be True or False, got {self.attention!r}")


def attention_parameter_count(config: Seq2SeqConfig) -> int:
    """How many more parameters the attention model has than the plain one, by hand.

    Both decoders read a context 2 d_model wide (the plain one a fixed summary, the attention one
    ``c_t``), so the difference is the scoring network ``v^T tanh(W_s s + W_h h)`` alone: ``W_s``
    (d_attn, d_model), ``W_h`` (d_attn, 2 d_model) and ``v`` (d_attn).
    """
    C, A = config.d_model, config.d_attn
    return A * C + A * 2 * C + A
