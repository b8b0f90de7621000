"""BERT's hyperparameters, weight keys, parameter count, input checks and masking recipe, without a
framework.

The config is shared by the PyTorch and TensorFlow twins (``lessonkit.{torch,tensorflow}.bert``).
The weight keys of both twins are those of Hugging Face's ``BertModel``
(``embeddings.word_embeddings.weight``, ``encoder.layer.0.attention.self.query.weight``, ...,
``pooler.dense.bias``) with torch's layouts (a linear weight is stored (out, in)), so a released
checkpoint loads by walking its keys. The masked-LM model adds ``bert.`` in front and Hugging
Face's head keys ``cls.predictions.*``. The real pretrained encoder of the course, MiniLM-L6-H384,
is found and read by :mod:`lessonkit.pretrained`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checkpoints import check_state_dict
from ..checks import token_ids
from ..config import Config

MINILM_PARAMETERS = 22_713_216  # BertModel with its pooler; the file's position_ids is a buffer
IGNORE_INDEX = -100  # label of positions the masked-LM loss skips (Hugging Face's convention)


@dataclass(frozen=True)
class BertConfig(Config):
    """An encoder-only transformer with BERT's exact architecture (post-norm blocks, GELU).

    Our glossary, with Hugging Face's name in brackets: ``d_model`` (hidden_size), split into
    ``n_heads`` (num_attention_heads) heads; ``n_layers`` (num_hidden_layers); ``d_ff``
    (intermediate_size); ``max_len`` (max_position_embeddings), the length of the position table;
    ``type_vocab_size`` segment ids (sentence A / B); ``dropout`` (hidden_dropout_prob) on the
    embeddings and both residual branches, ``attention_dropout`` (attention_probs_dropout_prob) on
    the attention weights. The defaults are BERT-base (110M parameters).
    """

    vocab_size: int = 30522
    d_model: int = 768
    n_heads: int = 12
    n_layers: int = 12
    d_ff: int = 3072
    max_len: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    attention_dropout: float = 0.1
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"BertConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.type_vocab_size < 1:
            raise ValueError(f"type_vocab_size must be at least 1, got {self.type_vocab_size}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")
        if not self.layer_norm_eps > 0:
            raise ValueError(f"layer_norm_eps must be positive, got {self.layer_norm_eps}")
        if self.pad_token_id >= self.vocab_size:
            raise ValueError(
                f"pad_token_id ({self.pad_token_id}) must be below vocab_size ({self.vocab_size})"
            )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_hf(cls, hf_config: Mapping[str, Any], **overrides: Any) -> BertConfig:
        """Our config from a Hugging Face BERT ``config.json`` (as a dict); ``overrides`` win
        (e.g. ``dropout=0.0``)."""
        activation = hf_config.get("hidden_act", "gelu")
        if activation != "gelu":
            raise ValueError(
                f"these twins use BERT's exact (erf) GELU; the config asks for {activation!r}"
            )
        position_type = hf_config.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ValueError(
                f"only absolute position embeddings are supported, got {position_type!r}"
            )
        values = {
            "vocab_size": int(hf_config["vocab_size"]),
            "d_model": int(hf_config["hidden_size"]),
            "n_heads": int(hf_config["num_attention_heads"]),
            "n_layers": int(hf_config["num_hidden_layers"]),
            "d_ff": int(hf_config["intermediate_size"]),
            "max_len": int(hf_config["max_position_embeddings"]),
            "type_vocab_size": int(hf_config.get("type_vocab_size", 2)),
            "layer_norm_eps": float(hf_config.get("layer_norm_eps", 1e-12)),
            "dropout": float(hf_config.get("hidden_dropout_prob", 0.1)),
            "attention_dropout": float(hf_config.get("attention_probs_dropout_prob", 0.1)),
            "pad_token_id": int(hf_config.get("pad_token_id") or 0),
        }
        return cls(**(values | overrides))

    def to_hf(self) -> dict[str, Any]:
        """The same hyperparameters under Hugging Face's names (``transformers.BertConfig(**...)``)."""
        return {
            "vocab_size": self.vocab_size,
            "hidden_size": self.d_model,
            "num_attention_heads": self.n_heads,
            "num_hidden_layers": self.n_layers,
            "intermediate_size": self.d_ff,
            "max_position_embeddings": self.max_len,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps,
            "hidden_dropout_prob": self.dropout,
            "attention_probs_dropout_prob": self.attention_dropout,
            "pad_token_id": self.pad_token_id,
            "hidden_act": "gelu",
        }


# ----------------------------------------------------------------------- weights and their count


def weight_shapes(
    config: BertConfig, pooler: bool = True, mlm_head: bool = False
) -> dict[str, tuple[int, ...]]:
    """The shape of every weight under Hugging Face's keys and torch's layouts.

    ``pooler`` adds ``pooler.dense`` (BertModel); ``mlm_head`` gives the masked-LM model's keys
    instead: ``bert.`` + the encoder's keys (no pooler, as in Hugging Face's ``BertForMaskedLM``)
    and ``cls.predictions.*``; its decoder is the word embedding again (tied), so it has no key of
    its own, only the bias ``cls.predictions.bias``.
    """
    C, F, V = config.d_model, config.d_ff, config.vocab_size
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (V, C),
        "embeddings.position_embeddings.weight": (config.max_len, C),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, C),
        "embeddings.LayerNorm.weight": (C,),
        "embeddings.LayerNorm.bias": (C,),
    }
    for i in range(config.n_layers):
        layer = f"encoder.layer.{i}"
        for name in ("query", "key", "value"):
            shapes |= {f"{layer}.attention.self.{name}.weight": (C, C)}
            shapes |= {f"{layer}.attention.self.{name}.bias": (C,)}
        shapes |= {
            f"{layer}.attention.output.dense.weight": (C, C),
            f"{layer}.attention.output.dense.bias": (C,),
            f"{layer}.attention.output.LayerNorm.weight": (C,),
            f"{layer}.attention.output.LayerNorm.bias": (C,),
            f"{layer}.intermediate.dense.weight": (F, C),
            f"{layer}.intermediate.dense.bias": (F,),
            f"{layer}.output.dense.weight": (C, F),
            f"{layer}.output.dense.bias": (C,),
            f"{layer}.output.LayerNorm.weight": (C,),
            f"{layer}.output.LayerNorm.bias": (C,),
        }
    if mlm_head:
        return {f"bert.{key}": shape for key, shape in shapes.items()} | {
            "cls.predictions.transform.dense.weight": (C, C),
            "cls.predictions.transform.dense.bias": (C,),
            "cls.predictions.transform.LayerNorm.weight": (C,),
            "cls.predictions.transform.LayerNorm.bias": (C,),
            "cls.predictions.bias": (V,),
        }
    if pooler:
        shapes |= {"pooler.dense.weight": (C, C), "pooler.dense.bias": (C,)}
    return shapes


def parameter_count(config: BertConfig, pooler: bool = True, mlm_head: bool = False) -> int:
    """Every parameter, counted by hand: 22,713,216 for MiniLM-L6-H384 (with its pooler).

    Embeddings: a row per token, per position and per segment type, plus a LayerNorm. Each layer:
    query, key, value and output projections (C x C + C each), two LayerNorms (2C each), and the
    feed-forward C -> d_ff -> C. The pooler is one C x C layer; the masked-LM head one C x C layer,
    a LayerNorm and a bias per token (its decoder is the tied word embedding).
    """
    C, F = config.d_model, config.d_ff
    embeddings = (config.vocab_size + config.max_len + config.type_vocab_size) * C + 2 * C
    attention = 4 * (C * C + C)
    feed_forward = (C * F + F) + (F * C + C)
    layer_norms = 2 * (2 * C)
    total = embeddings + config.n_layers * (attention + feed_forward + layer_norms)
    if mlm_head:
        return total + (C * C + C) + 2 * C + config.vocab_size
    return total + (C * C + C if pooler else 0)


def check_state_dict_shapes(
    arrays: Mapping[str, np.ndarray],
    config: BertConfig,
    pooler: bool = True,
    mlm_head: bool = False,
    what: str = "checkpoint",
) -> None:
    """Raise ``ValueError`` naming every missing, unexpected or misshaped key of a checkpoint."""
    check_state_dict(weight_shapes(config, pooler=pooler, mlm_head=mlm_head), arrays, what)


_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")  # in some files; not weights
_ANCHOR = "embeddings.word_embeddings.weight"


def hf_arrays_to_ours(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Hugging Face BERT weights under our keys: floats as float32, no renaming.

    Whatever prefix the file puts before the encoder's keys (``bert.``, ``0.auto_model.``, none)
    is stripped, keys without it (a masked-LM head ``cls.*``) are kept as they are; the integer
    buffers ``embeddings.position_ids``/``token_type_ids`` are dropped, and so is the head's
    ``cls.predictions.decoder.*``, after checking it is the tied word embedding and bias.
    """
    anchors = [key for key in arrays if key.endswith(_ANCHOR)]
    if len(anchors) != 1:
        raise ValueError(
            f"expected one '{_ANCHOR}' key in a BERT checkpoint, found {len(anchors)}: {anchors[:3]}"
        )
    prefix = anchors[0][: -len(_ANCHOR)]
    ours: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        key = key.removeprefix(prefix)
        if key.endswith(_BUFFERS):
            continue
        value = np.asarray(value)
        ours[key] = value.astype(np.float32) if value.dtype != np.float32 else value
    decoder_weight = ours.pop("cls.predictions.decoder.weight", None)
    if decoder_weight is not None and not np.array_equal(decoder_weight, ours[_ANCHOR]):
        raise ValueError(
            "cls.predictions.decoder.weight differs from the word embedding: these twins tie them"
        )
    decoder_bias = ours.pop("cls.predictions.decoder.bias", None)
    if decoder_bias is not None and "cls.predictions.bias" not in ours:
        ours["cls.predictions.bias"] = decoder_bias
    if "cls.predictions.bias" in ours:  # a masked-LM file: the encoder goes under bert.
        ours = {(k if k.startswith("cls.") else f"bert.{k}"): v for k, v in ours.items()}
    return ours


# ----------------------------------------------------------------------- input checks


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in np.shape(x))


def check_inputs(
    config: BertConfig,
    input_ids: Any,
    token_type_ids: Any = None,
    attention_mask: Any = None,
) -> None:
    """Raise ``ValueError`` naming the problem when inputs do not fit the model.

    ``input_ids`` must be integer ``(B, T)`` with ``0 < T <= max_len`` and ids in
    ``[0, vocab_size)``; ``token_type_ids`` the same shape with values in
    ``[0, type_vocab_size)``; ``attention_mask`` the same shape, 1 on real tokens and 0 on padding.
    Arrays, lists and CPU tensors of either framework are accepted (read through NumPy).
    """
    ids = token_ids(input_ids, config.vocab_size, "input_ids")
    if ids.shape[1] > config.max_len:
        raise ValueError(
            f"sequence of length {ids.shape[1]} is longer than the position table: this model has "
            f"max_len={config.max_len} positions (max_position_embeddings); truncate the input"
        )
    if token_type_ids is not None:
        types = np.asarray(token_type_ids)
        if types.shape != ids.shape:
            raise ValueError(
                f"token_type_ids have shape {types.shape}, input_ids {ids.shape}: they must match"
            )
        if types.min() < 0 or types.max() >= config.type_vocab_size:
            raise ValueError(
                f"token_type_ids must be in [0, {config.type_vocab_size}) "
                f"(type_vocab_size={config.type_vocab_size}), got {types.min()}..{types.max()}"
            )
    if attention_mask is not None:
        mask = np.asarray(attention_mask)
        if mask.shape != ids.shape:
            raise ValueError(
                f"attention_mask has shape {mask.shape}, input_ids {ids.shape}: they must match "
                "(1 on real tokens, 0 on padding)"
            )
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("attention_mask must hold only 1 (real token) and 0 (padding)")


def check_labels(config: BertConfig, labels: Any, input_shape: tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless masked-LM ``labels`` are ``(B, T)`` token ids or -100 (skip)."""
    labels = np.asarray(labels)
    if _shape(labels) != tuple(input_shape):
        raise ValueError(f"labels have shape {labels.shape}, input_ids {tuple(input_shape)}")
    kept = labels[labels != IGNORE_INDEX]
    if kept.size and (kept.min() < 0 or kept.max() >= config.vocab_size):
        raise ValueError(
            f"labels must be token ids in [0, {config.vocab_size}) or {IGNORE_INDEX} (ignored), "
            f"got {kept.min()}..{kept.max()}"
        )


# ----------------------------------------------------------------------- masked language modelling


def mask_tokens(
    ids: np.ndarray,
    rng: np.random.Generator | int,
    vocab_size: int,
    mask_id: int,
    special_ids: Sequence[int],
    mask_prob: float = 0.15,
    random_prob: float = 0.1,
    keep_prob: float = 0.1,
    random_ids: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking recipe: hide tokens for a masked language model to predict.

    Each position whose id is not in ``special_ids`` (pass ``[CLS]``, ``[SEP]``, ``[PAD]``, ...:
    they are never selected) is selected with probability ``mask_prob``. A selected token becomes
    ``[MASK]`` (``mask_id``) with probability ``1 - random_prob - keep_prob`` (80%), a random
    token with probability ``random_prob`` (10%), and stays itself with probability ``keep_prob``
    (10%): since ``[MASK]`` never appears at fine-tuning, the model must also predict tokens it
    can see, and cannot trust every token it sees. Random tokens are drawn uniformly from
    ``random_ids`` (default: every id below ``vocab_size`` that is not special).

    ``rng`` is a NumPy generator or a seed. Returns ``(inputs, labels)``, both shaped like ``ids``
    (int64): ``labels`` holds the original id at selected positions and ``IGNORE_INDEX`` (-100)
    everywhere else, so the loss counts the selected positions only.
    """
    ids = np.asarray(ids)
    if ids.ndim == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be an integer array of token ids, got {ids.dtype} {ids.shape}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
        raise ValueError(f"vocab_size must be an int, got {vocab_size!r}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"ids must be in [0, vocab_size={vocab_size}), got {ids.min()}..{ids.max()}"
        )
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id must be in [0, vocab_size={vocab_size}), got {mask_id}")
    special = np.asarray(list(special_ids), dtype=np.int64)
    if special.size and (special.min() < 0 or special.max() >= vocab_size):
        raise ValueError(f"special_ids must be in [0, vocab_size={vocab_size}), got {special}")
    probabilities = {"mask_prob": mask_prob, "random_prob": random_prob, "keep_prob": keep_prob}
    for name, p in probabilities.items():
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if random_prob + keep_prob > 1:
        raise ValueError(
            f"random_prob + keep_prob must be at most 1 (the rest become [MASK]), "
            f"got {random_prob} + {keep_prob}"
        )
    if random_ids is None:
        candidates = np.setdiff1d(np.arange(vocab_size), special)
    else:
        candidates = np.asarray(list(random_ids), dtype=np.int64)
        if candidates.size and (candidates.min() < 0 or candidates.max() >= vocab_size):
            raise ValueError(f"random_ids must be in [0, vocab_size={vocab_size})")
    if candidates.size == 0 and random_prob > 0:
        raise ValueError("no ids to draw random replacements from: every id is special")
    rng = np.random.default_rng(rng)

    eligible = ~np.isin(ids, special)  # (...) never a special token or padding
    selected = eligible & (rng.random(ids.shape) < mask_prob)
    fate = rng.random(ids.shape)  # where a selected token lands: [MASK] | random | kept
    to_mask = selected & (fate < 1 - random_prob - keep_prob)
    to_random = selected & (fate >= 1 - random_prob - keep_prob) & (fate < 1 - keep_prob)
    replacements = candidates[rng.integers(0, max(candidates.size, 1), size=ids.shape)]

    inputs = ids.astype(np.int64)  # a copy
    inputs[to_mask] = mask_id
    inputs[to_random] = replacements[to_random]
    labels = np.where(selected, ids, IGNORE_INDEX).astype(np.int64)
    return inputs, labels


# The shapes a checkpoint of each class must hold (see lessonkit.checkpoints.read).
CHECKPOINT_SHAPES = {
    "BertModel": weight_shapes,
    "BertForMaskedLM": lambda config: weight_shapes(config, pooler=False, mlm_head=True),
}
