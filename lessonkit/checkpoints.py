"""The one checkpoint format of the course: a safetensors file, read and written without a framework.

A checkpoint holds

- **arrays** under the PyTorch twin's ``state_dict`` keys and layouts (canonical in both twins),
- the model's **config** as JSON (its ``"class"`` names the dataclass: :func:`config_from_json`),
- the **model**: the twin module and class that rebuild it (``"gpt2.GPT2"``: the same file and class
  name exist in ``lessonkit.torch`` and ``lessonkit.tensorflow``),
- the **tokenizer**, when the model reads text, as its ``to_json`` (:func:`tokenizer_from_json`),
- named **extras**: JSON values the lesson needs beside the weights (class labels, a measured
  accuracy, where the weights came from).

This is the only module that touches safetensors files and their metadata; both twins' ``save_checkpoint``
and ``load_checkpoint`` go through :func:`write` and :func:`read`. Nothing here uses pickle, and
every damaged or foreign file raises a ``ValueError`` that names it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from .config import Config, config_from_json

FORMAT = "lessonkit-checkpoint-1"
# The bytes a header may take before we refuse to read it (safetensors' own limit is 100 MB).
_MAX_HEADER = 100_000_000


@dataclass
class Checkpoint:
    """What a checkpoint file holds, framework-free: NumPy arrays and plain Python values."""

    arrays: dict[str, np.ndarray]
    config: Config
    model: str  # "module.Class", e.g. "gpt2.GPT2"
    tokenizer: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def write(
    path: str | Path,
    arrays: Mapping[str, np.ndarray],
    config: Config,
    model: str,
    tokenizer: Any = None,
    extras: Mapping[str, Any] | None = None,
    dtype: np.dtype | str | None = None,
) -> Path:
    """Write a checkpoint; floating arrays are cast to ``dtype`` when given (float16 halves a file).

    ``model`` is ``"module.Class"`` of the twins; ``tokenizer`` anything with ``to_json``;
    ``extras`` a dict of JSON values.
    """
    path = Path(path)
    if "." not in model:
        raise ValueError(f"model must be 'module.Class' (like 'gpt2.GPT2'), got {model!r}")
    metadata = {"format": FORMAT, "config": config.to_json(), "model": model}
    if tokenizer is not None:
        metadata["tokenizer"] = tokenizer.to_json()
    try:
        metadata["extras"] = json.dumps(dict(extras or {}))
    except TypeError as error:
        raise ValueError(f"extras must be JSON values: {error}") from error
    cast = {}
    for key, value in arrays.items():
        value = np.ascontiguousarray(value)
        if dtype is not None and np.issubdtype(value.dtype, np.floating):
            value = value.astype(dtype)
        cast[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(cast, str(path), metadata=metadata)
    return path


def _header(path: Path) -> tuple[dict[str, Any], int]:
    """The safetensors JSON header and the size of the data after it, checked for consistency."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path} is not a safetensors file: it is {size} bytes long")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise ValueError(
                f"{path} is not a safetensors file: its header length {n} is impossible"
            )
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} has a damaged safetensors header: {error}") from error
    if not isinstance(header, dict):
        raise ValueError(f"{path} has a damaged safetensors header: not a JSON object")
    return header, size - 8 - n


_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F16": 2, "BF16": 2, "I16": 2, "U16": 2, "F32": 4}
_ITEMSIZE |= {"I32": 4, "U32": 4, "F64": 8, "I64": 8, "U64": 8}


def _check_tensor_table(path: Path, header: Mapping[str, Any], data_size: int) -> None:
    """Every tensor must fill exactly its bytes of the file: no allocation larger than the file."""
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            start, end = (int(x) for x in entry["data_offsets"])
            shape = [int(d) for d in entry["shape"]]
            itemsize = _ITEMSIZE[entry["dtype"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: tensor {key!r} has a damaged header entry") from error
        n_bytes = (
            itemsize * int(np.prod(shape, dtype=np.int64)) if min(shape, default=0) >= 0 else -1
        )
        if not 0 <= start <= end <= data_size or end - start != n_bytes:
            raise ValueError(f"{path}: tensor {key!r} does not fit the file's data")


def read(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`write` (by either twin), floating arrays as float32.

    A checkpoint whose extras name a ``"base"`` (``"minilm"``) holds only the arrays that were
    trained; the others come from that released model
    (:func:`lessonkit.pretrained.base_arrays`), before the shapes are checked as usual.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    header, data_size = _header(path)
    _check_tensor_table(path, header, data_size)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a lessonkit checkpoint (its metadata has no format {FORMAT!r}); "
            "weights in Hugging Face's layout load through the twins' from_pretrained"
        )
    for name in ("config", "model", "extras"):
        if not isinstance(metadata.get(name), str):
            raise ValueError(f"{path} has no {name!r} in its metadata")
    try:
        config = config_from_json(metadata["config"])
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    tokenizer = None
    if "tokenizer" in metadata:
        from .text import tokenizer_from_json

        try:
            tokenizer = tokenizer_from_json(metadata["tokenizer"])
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
    try:
        extras = json.loads(metadata["extras"])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its extras are not JSON: {error}") from error
    if not isinstance(extras, dict):
        raise ValueError(f"{path}: its extras must be a JSON object")
    try:
        with safe_open(str(path), framework="numpy") as f:
            arrays = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from error
    arrays = {
        k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v
        for k, v in arrays.items()
    }
    base = extras.get("base")
    if base is not None:  # the file holds what was trained; the released base fills in the rest
        from .pretrained import base_arrays

        try:
            arrays = base_arrays(base, metadata["model"]) | arrays
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
    expected = expected_shapes(metadata["model"], config)
    if expected is not None:  # before any model is built: the config is not trusted to allocate
        check_state_dict(expected, arrays, str(path))
    return Checkpoint(arrays, config, metadata["model"], tokenizer, extras)


def expected_shapes(model: str, config: Config) -> dict[str, tuple[int, ...]] | None:
    """The weight shapes a ``"module.Class"`` with ``config`` has, from ``lessonkit.models``
    (framework-free: no model is built), or ``None`` where the module does not list them."""
    import importlib

    module, _, name = model.partition(".")
    if module not in TWIN_MODULES:
        raise ValueError(
            f"unknown model {model!r}: expected 'module.Class' with a module of {TWIN_MODULES}"
        )
    shapes = getattr(importlib.import_module(f"lessonkit.models.{module}"), "CHECKPOINT_SHAPES", {})
    if name not in shapes:
        return None
    try:
        return shapes[name](config)
    except (AttributeError, TypeError) as error:  # a config of another model's class
        raise ValueError(f"{model} cannot be built from a {type(config).__name__}") from error


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


TWIN_MODULES = ("char_rnn", "seq2seq", "transformer", "bert", "gpt2")


def twin_class(model: str, framework: str) -> type:
    """The class ``"module.Class"`` of one framework's twin (``"torch"`` or ``"tensorflow"``)."""
    import importlib

    module, _, name = model.partition(".")
    if module not in TWIN_MODULES or not name.isidentifier():
        raise ValueError(
            f"unknown model {model!r}: expected 'module.Class' with a module of {TWIN_MODULES}"
        )
    cls = getattr(importlib.import_module(f"lessonkit.{framework}.{module}"), name, None)
    if not isinstance(cls, type):
        raise ValueError(f"lessonkit.{framework}.{module} has no model class {name!r}")
    return cls


def model_name(model: Any) -> str:
    """``"module.Class"`` of a twin's model, the same in both frameworks (``"gpt2.GPT2"``)."""
    return f"{type(model).__module__.rsplit('.', 1)[-1]}.{type(model).__name__}"


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of any safetensors file (a Hugging Face ``model.safetensors``), as stored.

    For weights in another project's layout; a ``ValueError`` names the file when it is damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors file at {path}")
    header, data_size = _header(path)
    _check_tensor_table(path, header, data_size)
    try:
        with safe_open(str(path), framework="numpy") as f:
            return {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from error
