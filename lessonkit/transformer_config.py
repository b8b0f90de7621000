"""The hyperparameters of Lesson 3's transformer, shared by the PyTorch and TensorFlow twins.

A separate file for now; it may move into :mod:`lessonkit.config` beside the other configs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config

POSITIONS = ("learned", "sinusoidal")


@dataclass(frozen=True)
class TransformerConfig(Config):
    """An encoder-only text classifier: embeddings + positions -> encoder blocks -> pooled head.

    ``d_model`` is split into ``n_heads`` heads of ``d_model // n_heads``; ``d_ff`` is the
    feed-forward width; ``max_len`` the longest input; ``positions`` picks a trained position
    table (``"learned"``) or the fixed sinusoids of the paper (``"sinusoidal"``). ``n_layers=0``
    is allowed: embeddings averaged with no attention at all, a bag-of-words baseline.
    """

    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    max_len: int = 128
    dropout: float = 0.1
    n_classes: int = 3
    positions: str = "learned"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("vocab_size", "d_model", "n_heads", "d_ff", "max_len", "n_classes"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"TransformerConfig.{name} must be at least 1, got {getattr(self, name)}"
                )
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads
