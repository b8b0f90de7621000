"""GPT-2's hyperparameters, its parameter count, and its checkpoint files, without a framework.

The config is shared by the PyTorch and TensorFlow twins (``lessonkit.{torch,tensorflow}.gpt2``).
The weight keys of both twins are those of Hugging Face's ``GPT2Model`` (``wte.weight``,
``h.0.attn.c_attn.weight``, ..., ``ln_f.bias``): the layout of the hub's ``gpt2`` safetensors
file, so real weights load by walking their keys. :func:`hf_arrays_to_ours` only drops what is not
a parameter (the causal-mask buffers ``attn.bias``/``attn.masked_bias`` of old files), strips the
``transformer.`` prefix of a ``GPT2LMHeadModel`` file, and drops its ``lm_head.weight``, which is
the token embedding again (tied weights).

A separate file for now; it may move into :mod:`lessonkit.config` beside the other configs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import checks
from ..config import Config

# The four released sizes: name -> (d_model, n_heads, n_layers). All have 50,257 tokens and 1,024
# positions.
GPT2_SIZES = {
    "gpt2": (768, 12, 12),
    "gpt2-medium": (1024, 16, 24),
    "gpt2-large": (1280, 20, 36),
    "gpt2-xl": (1600, 25, 48),
}
GPT2_VOCAB_SIZE = 50257
GPT2_CONTEXT = 1024


@dataclass(frozen=True)
class GPT2Config(Config):
    """A decoder-only transformer with GPT-2's exact architecture.

    ``max_len`` is GPT-2's ``n_positions`` (the context), ``d_model`` its ``n_embd``, split into
    ``n_heads`` heads of ``d_model // n_heads``; ``d_ff`` is the MLP width (0 means GPT-2's
    ``4 * d_model``). ``dropout`` is used for the embeddings, the attention weights and both
    residual branches, as GPT-2's three equal ``*_pdrop`` values. The defaults are GPT-2 small.
    """

    vocab_size: int = GPT2_VOCAB_SIZE
    max_len: int = GPT2_CONTEXT
    d_model: int = 768
    n_heads: int = 12
    n_layers: int = 12
    d_ff: int = 0
    dropout: float = 0.1
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d_ff == 0:
            object.__setattr__(self, "d_ff", 4 * self.d_model)  # frozen dataclass
        for name in ("vocab_size", "max_len", "d_model", "n_heads", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"GPT2Config.{name} must be at least 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if not self.layer_norm_eps > 0:
            raise ValueError(f"layer_norm_eps must be positive, got {self.layer_norm_eps}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_name(cls, name: str, dropout: float = 0.1) -> GPT2Config:
        """One of the released sizes: ``"gpt2"``, ``"gpt2-medium"``, ``"gpt2-large"``, ``"gpt2-xl"``
        (the hub's ``openai-community/`` prefix is accepted)."""
        key = name.removeprefix("openai-community/")
        if key not in GPT2_SIZES:
            raise ValueError(f"unknown GPT-2 size {name!r}; known: {sorted(GPT2_SIZES)}")
        d_model, n_heads, n_layers = GPT2_SIZES[key]
        return cls(d_model=d_model, n_heads=n_heads, n_layers=n_layers, dropout=dropout)

    @classmethod
    def small(cls) -> GPT2Config:
        """124M parameters: 12 layers of width 768, 12 heads."""
        return cls.from_name("gpt2")

    @classmethod
    def medium(cls) -> GPT2Config:
        """355M parameters: 24 layers of width 1024, 16 heads."""
        return cls.from_name("gpt2-medium")

    @classmethod
    def large(cls) -> GPT2Config:
        """774M parameters: 36 layers of width 1280, 20 heads."""
        return cls.from_name("gpt2-large")

    @classmethod
    def xl(cls) -> GPT2Config:
        """1.56B parameters: 48 layers of width 1600, 25 heads."""
        return cls.from_name("gpt2-xl")


# ----------------------------------------------------------------------- parameter count


def parameter_table(config: GPT2Config) -> dict[str, int]:
    """Every parameter of the model, counted from the weight shapes of :func:`weight_shapes`.

    Rows: ``wte``, ``wpe``, one block's ``attention`` (c_attn and c_proj, weights and biases),
    ``mlp`` (c_fc and c_proj) and ``layer norms`` (ln_1 and ln_2), ``blocks`` (all
    ``n_layers`` of them), ``ln_f`` and ``total``. The output projection is ``wte`` again (tied),
    so it is counted once.
    """
    shapes = weight_shapes(config)
    size = {key: int(np.prod(shape)) for key, shape in shapes.items()}

    def block_part(*names: str) -> int:
        return sum(v for k, v in size.items() if k.startswith("h.0.") and k.split(".")[2] in names)

    table = {
        "wte": size["wte.weight"],
        "wpe": size["wpe.weight"],
        "attention": block_part("attn"),
        "mlp": block_part("mlp"),
        "layer norms": block_part("ln_1", "ln_2"),
    }
    table["blocks"] = sum(v for k, v in size.items() if k.startswith("h."))
    table["ln_f"] = size["ln_f.weight"] + size["ln_f.bias"]
    table["total"] = sum(size.values())
    return table


def weight_shapes(config: GPT2Config) -> dict[str, tuple[int, ...]]:
    """The shape of every weight, under the twins' (Hugging Face ``GPT2Model``) keys.

    Linear layers are GPT-2's ``Conv1D``: the weight is stored (in, out), so ``x @ weight``.
    """
    C, V, F = config.d_model, config.vocab_size, config.d_ff
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (V, C), "wpe.weight": (config.max_len, C)}
    for i in range(config.n_layers):
        shapes |= {
            f"h.{i}.ln_1.weight": (C,),
            f"h.{i}.ln_1.bias": (C,),
            f"h.{i}.attn.c_attn.weight": (C, 3 * C),
            f"h.{i}.attn.c_attn.bias": (3 * C,),
            f"h.{i}.attn.c_proj.weight": (C, C),
            f"h.{i}.attn.c_proj.bias": (C,),
            f"h.{i}.ln_2.weight": (C,),
            f"h.{i}.ln_2.bias": (C,),
            f"h.{i}.mlp.c_fc.weight": (C, F),
            f"h.{i}.mlp.c_fc.bias": (F,),
            f"h.{i}.mlp.c_proj.weight": (F, C),
            f"h.{i}.mlp.c_proj.bias": (C,),
        }
    shapes |= {"ln_f.weight": (C,), "ln_f.bias": (C,)}
    return shapes


# ----------------------------------------------------------------------- checkpoint files

_NOT_PARAMETERS = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers in old HF files


def hf_arrays_to_ours(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Hugging Face GPT-2 weights (``GPT2Model`` or ``GPT2LMHeadModel`` keys) under our keys.

    No key is renamed: the ``transformer.`` prefix of an LM-head file is stripped, mask buffers
    (``h.{i}.attn.bias``, ``h.{i}.attn.masked_bias``) are dropped, and ``lm_head.weight`` is
    dropped after checking that it is the token embedding (GPT-2 ties them). Shapes are checked
    later, by the model that loads the arrays.
    """
    ours: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        key = key.removeprefix("transformer.")
        if key.endswith(_NOT_PARAMETERS):
            continue
        ours[key] = np.asarray(value)
    head = ours.pop("lm_head.weight", None)
    if head is not None and "wte.weight" in ours and not np.array_equal(head, ours["wte.weight"]):
        raise ValueError(
            "lm_head.weight differs from wte.weight: GPT-2 ties its output layer to the token "
            "embedding, and these twins assume it"
        )
    return ours


def config_from_hf(hf_config: Mapping[str, object], dropout: float | None = None) -> GPT2Config:
    """Our config from a Hugging Face GPT-2 ``config.json`` (as a dict)."""
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(
            f"GPT-2 uses GELU's tanh approximation; this config asks for {activation!r}"
        )
    d_model = int(hf_config["n_embd"])
    return GPT2Config(
        vocab_size=int(hf_config["vocab_size"]),
        max_len=int(hf_config["n_positions"]),
        d_model=d_model,
        n_heads=int(hf_config["n_head"]),
        n_layers=int(hf_config["n_layer"]),
        d_ff=int(hf_config.get("n_inner") or 4 * d_model),
        dropout=float(hf_config.get("resid_pdrop", 0.1) if dropout is None else dropout),
        layer_norm_eps=float(hf_config.get("layer_norm_epsilon", 1e-5)),
    )


# ----------------------------------------------------------------------- input checks


def check_ids(ids: np.ndarray, config: GPT2Config, past_length: int = 0) -> np.ndarray:
    """Token ids as an int64 ``(B, T)`` array, after checking they fit the vocabulary and context."""
    ids = checks.token_ids(ids, config.vocab_size)
    check_length(ids.shape[1], config, past_length)
    return ids


def check_length(n_new: int, config: GPT2Config, past_length: int = 0) -> None:
    """Raise when ``past_length + n_new`` tokens do not fit the context of ``max_len`` positions."""
    if past_length + n_new > config.max_len:
        cached = f" after {past_length} cached tokens" if past_length else ""
        raise ValueError(
            f"{n_new} tokens{cached} exceed the context: this model has max_len={config.max_len} "
            "positions (shorten the prompt or generate fewer tokens)"
        )


def check_cache(state, config: GPT2Config, batch_size: int | None = None) -> int:
    """The number of cached positions of a KV cache, after checking it fits this model.

    A cache is one ``(keys, values)`` pair per layer, each ``(B, n_heads, S, head_dim)`` (any
    array type with a ``shape``; ``None`` dimensions of a traced graph are not checked).
    """
    if state is None:
        return 0
    if not isinstance(state, (tuple, list)) or len(state) != config.n_layers:
        n = len(state) if isinstance(state, (tuple, list)) else type(state).__name__
        raise ValueError(
            f"the KV cache has {n} layers, this model has n_layers={config.n_layers}: "
            "was it made by another model?"
        )
    length = None
    for i, pair in enumerate(state):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"layer {i} of the KV cache must be a (keys, values) pair")
        for name, tensor in zip(("keys", "values"), pair, strict=True):
            shape = tuple(None if d is None else int(d) for d in tensor.shape)
            expected = (batch_size, config.n_heads, shape[2] if len(shape) == 4 else None,
                        config.head_dim)  # fmt: skip
            if len(shape) != 4 or any(
                a is not None and b is not None and a != b
                for a, b in zip(shape, expected, strict=True)
            ):
                raise ValueError(
                    f"the KV cache's layer {i} {name} have shape {shape}, this model expects "
                    f"(B={batch_size or 'B'}, n_heads={config.n_heads}, S, head_dim={config.head_dim}): "
                    "was it made by another model?"
                )
            if length is not None and shape[2] is not None and shape[2] != length:
                raise ValueError(
                    f"the KV cache's layers hold different lengths ({length}, {shape[2]})"
                )
            length = shape[2] if shape[2] is not None else length
    return length or 0


# What ``step(..., return_trace=True)`` returns for the last token of each row, in both twins:
# per layer (axis 1) the scaled q·k scores of each head over the S positions read so far (0 where
# masked), the causal mask (True: may attend), the softmax weights, each head's weighted sum of the
# values, the MLP block's output; and the logits.
TRACE_KEYS = ("scores", "mask", "weights", "weighted_values", "mlp", "logits")
TRACE_SHAPES = {
    "scores": "(B, n_layers, H, S)",
    "mask": "(B, n_layers, S)",
    "weights": "(B, n_layers, H, S)",
    "weighted_values": "(B, n_layers, H, D)",
    "mlp": "(B, n_layers, C)",
    "logits": "(B, V)",
}


class WithoutCache:
    """A model's ``step`` without the KV cache: every step re-reads the whole sequence so far.

    For comparison only (timing, and proving the cache changes nothing): wrap a twin and pass it to
    :func:`lessonkit.generation.generate`; its state is the token ids read so far, ``(B, T)``.
    """

    def __init__(self, model):
        self.model = model

    def step(
        self, ids: np.ndarray, state: np.ndarray | None = None, return_attention: bool = False
    ):
        sequence = np.asarray(ids) if state is None else np.concatenate([state, ids], axis=1)
        out = self.model.step(sequence, None, return_attention=return_attention)
        return (out[0], sequence, *out[2:])


# The shapes a checkpoint of each class must hold (see lessonkit.checkpoints.read).
CHECKPOINT_SHAPES = {"GPT2": weight_shapes}
