"""Lesson 3's transformer without a framework: its config and the input checks both twins share,
so the PyTorch and TensorFlow layers accept and refuse the same inputs with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config

POSITIONS = ("learned", "sinusoidal")
LAYER_NORM_EPS = 1e-5  # torch's default; Keras' LayerNormalization would use 1e-3


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
        check_heads(self.d_model, self.n_heads)
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model, got {self.d_model}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


def check_heads(d_model: int, n_heads: int) -> None:
    """``d_model`` must split into ``n_heads`` heads of equal width."""
    if d_model < 1 or n_heads < 1 or d_model % n_heads:
        raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")


def check_attention_inputs(query_shape, key_shape, value_shape, d_model: int) -> None:
    """Shapes ``query`` (B, T, C), ``key`` and ``value`` (B, S, C) with ``C == d_model`` (a size
    may be ``None`` while TensorFlow traces a graph)."""
    query, key, value = tuple(query_shape), tuple(key_shape), tuple(value_shape)
    if len(query) != 3 or len(key) != 3 or len(value) != 3:
        raise ValueError(f"query, key and value must be (B, T, C); got {query}, {key}, {value}")
    if key != value or key[0] != query[0]:
        raise ValueError(
            f"key and value must be (B, S, C) with the query's batch size; got query {query}, "
            f"key {key}, value {value}"
        )
    if query[-1] != d_model or key[-1] != d_model:
        raise ValueError(
            f"inputs must have d_model={d_model} features; got {query[-1]} and {key[-1]}"
        )


def check_length(length: int | None, max_len: int) -> None:
    """A sequence must fit the position table (``None``: unknown while a graph is traced)."""
    if length is not None and length > max_len:
        raise ValueError(f"sequence of length {length} is longer than max_len={max_len}")


def check_classifier_inputs(idx_shape, mask_shape=None) -> None:
    """``idx`` (B, T) and, when given, a ``mask`` of the same shape."""
    idx = tuple(idx_shape)
    if len(idx) != 2:
        raise ValueError(f"idx must be (B, T), got shape {idx}")
    if mask_shape is not None and tuple(mask_shape) != idx:
        raise ValueError(f"mask must be (B, T) like idx {idx}, got {tuple(mask_shape)}")


def weight_shapes(config: TransformerConfig) -> dict[str, tuple[int, ...]]:
    """Every weight of the classifier under the twins' (torch ``state_dict``) keys: embeddings,
    ``n_layers`` pre-norm encoder blocks, a final norm and the head (linear weights (out, in)).
    The sinusoidal position table is fixed, so it is no weight."""
    C, F = config.d_model, config.d_ff
    shapes: dict[str, tuple[int, ...]] = {"token_embedding.weight": (config.vocab_size, C)}
    if config.positions == "learned":
        shapes["position_embedding.weight"] = (config.max_len, C)
    for i in range(config.n_layers):
        block = f"blocks.{i}."
        shapes |= {f"{block}norm1.weight": (C,), f"{block}norm1.bias": (C,)}
        for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes |= {
                f"{block}self_attn.{projection}.weight": (C, C),
                f"{block}self_attn.{projection}.bias": (C,),
            }
        shapes |= {
            f"{block}norm2.weight": (C,),
            f"{block}norm2.bias": (C,),
            f"{block}feed_forward.linear1.weight": (F, C),
            f"{block}feed_forward.linear1.bias": (F,),
            f"{block}feed_forward.linear2.weight": (C, F),
            f"{block}feed_forward.linear2.bias": (C,),
        }
    return shapes | {
        "norm.weight": (C,),
        "norm.bias": (C,),
        "head.weight": (config.n_classes, C),
        "head.bias": (config.n_classes,),
    }


# The shapes a checkpoint of each class must hold (see lessonkit.checkpoints.read).
CHECKPOINT_SHAPES = {"TextClassifier": weight_shapes}
