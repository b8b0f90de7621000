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

# Every Config subclass by class name, so a checkpoint's JSON finds its class (config_from_json).
CONFIG_CLASSES: dict[str, type[Config]] = {}


@dataclass(frozen=True)
class Config:
    """Base class: validation, and a JSON round trip for checkpoint metadata."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        CONFIG_CLASSES[cls.__name__] = cls

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
        config = config_from_json(text)
        if not isinstance(config, cls):
            raise ValueError(f"the JSON holds a {type(config).__name__}, expected a {cls.__name__}")
        return config


def config_from_json(text: str) -> Config:
    """Rebuild any config from :meth:`Config.to_json`: its ``"class"`` names the dataclass.

    Raises ``ValueError`` naming the problem for text that is not such JSON, an unknown class or
    unknown fields (a ``TypeError`` for fields of the wrong type would come from the dataclass).
    """
    import lessonkit.models  # noqa: F401  (registers every model's config class)

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"the config is not valid JSON: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("class"), str):
        raise ValueError('the config must be a JSON object with a "class" field')
    name = data.pop("class")
    if name not in CONFIG_CLASSES:
        raise ValueError(f"unknown config class {name!r}; known: {sorted(CONFIG_CLASSES)}")
    cls = CONFIG_CLASSES[name]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {name} fields: {unknown}")
    try:
        return cls(**data)
    except TypeError as error:  # a missing required field, or a comparison with a wrong type
        raise ValueError(f"the {name} fields do not fit: {error}") from error
