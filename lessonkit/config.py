"""Hyperparameters shared by both frameworks.

One glossary for every model in the course: ``vocab_size``, ``d_model``, ``n_heads``, ``n_layers``,
``d_ff``, ``max_len``, ``dropout``. A config is a plain dataclass, so the same object builds the
PyTorch twin and the TensorFlow twin, and it travels inside a checkpoint as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, TypeVar

C = TypeVar("C", bound="Config")


@dataclass(frozen=True)
class Config:
    """Base class: validation, and a JSON round trip for checkpoint metadata."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", int) and (not isinstance(value, int) or value < 0):
                raise ValueError(
                    f"{type(self).__name__}.{field.name} must be a non-negative int, got {value!r}"
                )
        if hasattr(self, "dropout") and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_json(self) -> str:
        return json.dumps(
            {"class": type(self).__name__, **dataclasses.asdict(self)}, sort_keys=True
        )

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        data: dict[str, Any] = json.loads(text)
        name = data.pop("class", cls.__name__)
        if name != cls.__name__:
            raise ValueError(f"checkpoint holds a {name}, expected a {cls.__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields in checkpoint: {unknown}")
        return cls(**data)


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
