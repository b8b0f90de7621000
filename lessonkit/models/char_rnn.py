"""The character- (or word-) level recurrent language model without a framework: its config.

The twins are :mod:`lessonkit.torch.char_rnn` and :mod:`lessonkit.tensorflow.char_rnn`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config


@dataclass(frozen=True)
class CharRNNConfig(Config):
    """A recurrent language model: embedding -> LSTM or GRU layers -> linear head.

    ``d_embed`` is the embedding width, ``d_model`` the recurrent state width.
    """

    vocab_size: int
    d_embed: int = 64
    d_model: int = 384
    n_layers: int = 2
    cell: str = "lstm"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")
        if self.vocab_size < 1 or self.n_layers < 1 or self.d_model < 1 or self.d_embed < 1:
            raise ValueError(f"sizes must be at least 1: {self}")


def weight_shapes(config: CharRNNConfig) -> dict[str, tuple[int, ...]]:
    """Every weight under the twins' (torch ``state_dict``) keys: the embedding, ``n_layers``
    recurrent layers (4 gates for an LSTM, 3 for a GRU, stacked in ``gates * C`` rows), the head."""
    E, C, V = config.d_embed, config.d_model, config.vocab_size
    gates = 4 if config.cell == "lstm" else 3
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (V, E)}
    for k in range(config.n_layers):
        shapes |= {
            f"rnn.weight_ih_l{k}": (gates * C, E if k == 0 else C),
            f"rnn.weight_hh_l{k}": (gates * C, C),
            f"rnn.bias_ih_l{k}": (gates * C,),
            f"rnn.bias_hh_l{k}": (gates * C,),
        }
    return shapes | {"head.weight": (V, C), "head.bias": (V,)}


# The shapes a checkpoint of each class must hold (see lessonkit.checkpoints.read).
CHECKPOINT_SHAPES = {"CharRNN": weight_shapes}
