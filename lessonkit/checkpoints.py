"""Checkpoints as safetensors files, shared by both frameworks.

The canonical layout is PyTorch's ``state_dict``: the same keys and shapes in a file whichever twin
wrote it. A checkpoint also carries, as string metadata, the model's config (JSON) and anything the
model needs to be used (its tokenizer), so one file is enough to rebuild the model. Nothing here
uses pickle, and nothing imports a framework: arrays are NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file


def save(
    path: str | Path,
    arrays: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
    dtype: np.dtype | str | None = None,
) -> Path:
    """Write ``arrays`` (optionally cast to ``dtype``, e.g. float16 to halve the size)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cast = {}
    for key, value in arrays.items():
        value = np.ascontiguousarray(value)
        if dtype is not None and np.issubdtype(value.dtype, np.floating):
            value = value.astype(dtype)
        cast[key] = value
    save_file(cast, str(path), metadata=dict(metadata or {}))
    return path


def load(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: ``(arrays as float32 where floating, metadata)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        arrays = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            metadata = dict(f.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from error
    arrays = {
        k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v
        for k, v in arrays.items()
    }
    return arrays, metadata


def check_state_dict(
    expected: Mapping[str, tuple[int, ...]],
    arrays: Mapping[str, np.ndarray],
    what: str = "checkpoint",
) -> None:
    """Raise ``ValueError`` listing missing keys, unexpected keys and shape mismatches."""
    problems = []
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    for key in sorted(set(expected) & set(arrays)):
        if tuple(arrays[key].shape) != tuple(expected[key]):
            problems.append(
                f"{key} has shape {tuple(arrays[key].shape)}, the model expects {tuple(expected[key])}"
            )
    if problems:
        raise ValueError(f"{what} does not match the model: " + "; ".join(problems))


def metadata_field(metadata: Mapping[str, str], key: str, path: str | Path) -> str:
    if key not in metadata:
        raise ValueError(f"{path} has no {key!r} metadata; was it written by lessonkit?")
    return metadata[key]
