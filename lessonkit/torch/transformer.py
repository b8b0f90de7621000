"""Transformer layers from scratch, and a text classifier built from them (PyTorch twin).

Everything follows "Attention is all you need" (Vaswani et al., 2017) except one choice: the blocks
are **pre-norm** (``x + sublayer(LayerNorm(x))``, as in GPT-2), where the paper is post-norm
(``LayerNorm(x + sublayer(x))``). Pre-norm trains stably without a learning-rate warm-up, which
matters for short runs in a notebook; a final LayerNorm then closes the stack. Dropout acts on
each sublayer's output before the residual sum (and on the embeddings), not on the attention
weights inside the blocks: the weights a lesson plots are then the weights the model used, and
training on a CPU is cheaper. (``MultiHeadAttention`` itself still offers attention dropout.)

Masks are boolean with **True = may attend** (see :mod:`lessonkit.masks`). Every attention module
returns ``(output, attention_weights)`` with weights ``(B, H, T, S)``, so lessons can plot them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..masks import attention_mask_shape, sinusoidal_positions
from ..models.transformer import (
    LAYER_NORM_EPS,
    TransformerConfig,
    check_attention_inputs,
    check_classifier_inputs,
    check_heads,
    check_length,
)
from .weights import load_checkpoint, save_checkpoint  # noqa: F401


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention in ``n_heads`` heads, with query/key/value/output projections.

    Self-attention: ``attn(x)``. Cross-attention: ``attn(x, memory)`` (keys and values from
    ``memory``). ``mask`` is boolean, True = may attend, of shape ``(T, S)``, ``(B, T, S)`` or
    ``(B, H, T, S)`` (1 allowed for B, H, T), e.g. ``lessonkit.masks.padding_mask`` or
    ``causal_mask``.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        check_heads(d_model, n_heads)
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query`` (B, T, C), ``key``/``value`` (B, S, C) -> ``(output (B, T, C), weights (B, H, T, S))``."""
        key = query if key is None else key
        value = key if value is None else value
        check_attention_inputs(query.shape, key.shape, value.shape, self.d_model)
        B, T, C = query.shape
        S = key.shape[1]
        H, D = self.n_heads, self.head_dim
        q = self.q_proj(query).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(key).view(B, S, H, D).transpose(1, 2)  # (B, H, S, D)
        v = self.v_proj(value).view(B, S, H, D).transpose(1, 2)  # (B, H, S, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, H, T, S)
        if mask is not None:
            mask = torch.as_tensor(mask, device=scores.device).bool()
            mask = mask.reshape(attention_mask_shape(mask.shape, B, H, T, S))  # (B|1, H|1, T|1, S)
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(dim=-1)  # (B, H, T, S)
        heads = self.dropout(weights) @ v  # (B, H, T, D)
        merged = heads.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.out_proj(merged), weights


class LearnedPositionEmbedding(nn.Module):
    """A trained vector per position 0 .. max_len - 1, added to the token embeddings.

    It starts small (normal, std 0.02, as in BERT and GPT-2), so the order it ends up encoding is
    what training put there rather than leftover random vectors.
    """

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(0.02 * torch.randn(max_len, d_model))  # (max_len, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T, C) token embeddings -> the same plus the vectors of positions 0 .. T - 1."""
        T = x.shape[1]
        check_length(T, self.max_len)
        return x + self.weight[:T]  # (B, T, C)


class SinusoidalPositionEmbedding(nn.Module):
    """The paper's fixed sin/cos table (:func:`lessonkit.masks.sinusoidal_positions`): no weights."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        table = torch.from_numpy(sinusoidal_positions(max_len, d_model))  # (max_len, C)
        self.register_buffer("table", table, persistent=False)  # not a weight: no checkpoint key

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T, C) token embeddings -> the same plus the encodings of positions 0 .. T - 1."""
        T = x.shape[1]
        check_length(T, self.max_len)
        return x + self.table[:T]  # (B, T, C)


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``linear2(relu(linear1(x)))``, C -> d_ff -> C."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.relu(self.linear1(x)))  # (B, T, d_ff) -> (B, T, C)


class EncoderBlock(nn.Module):
    """Pre-norm encoder block: ``x + attn(norm1(x))``, then ``x + feed_forward(norm2(x))``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.self_attn = MultiHeadAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.feed_forward = FeedForward(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, T, C) -> ``(x (B, T, C), self-attention weights (B, H, T, T))``."""
        attended, weights = self.self_attn(self.norm1(x), mask=mask)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.feed_forward(self.norm2(x)))
        return x, weights


class DecoderBlock(nn.Module):
    """Pre-norm decoder block: masked self-attention, encoder-decoder (cross) attention, feed-forward.

    The self-attention is always causal (a position sees itself and the past); ``mask`` may add
    target padding. The cross-attention's queries come from the decoder, its keys and values from
    the encoder output ``memory``; ``memory_mask`` (e.g. the source's padding mask) limits them.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.self_attn = MultiHeadAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.cross_attn = MultiHeadAttention(d_model, n_heads)
        self.norm3 = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.feed_forward = FeedForward(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, mask=None, memory_mask=None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x`` (B, T, C), ``memory`` (B, S, C) -> ``(x, (self weights (B, H, T, T), cross weights (B, H, T, S)))``."""
        T = x.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()  # (T, T)
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device).bool()
            mask = mask.reshape(
                attention_mask_shape(mask.shape, x.shape[0], self.self_attn.n_heads, T, T)
            )
            causal = causal & mask  # (B|1, H|1, T, T)
        attended, self_weights = self.self_attn(self.norm1(x), mask=causal)
        x = x + self.dropout(attended)
        attended, cross_weights = self.cross_attn(self.norm2(x), memory, memory, mask=memory_mask)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.feed_forward(self.norm3(x)))
        return x, (self_weights, cross_weights)


class TextClassifier(nn.Module):
    """Token embedding + positions -> encoder blocks -> LayerNorm -> masked mean -> linear head.

    The mean runs over the real tokens only (``mask``), so padding never dilutes the passage.
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        c = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.d_model)
        position_class = (
            LearnedPositionEmbedding if c.positions == "learned" else SinusoidalPositionEmbedding
        )
        self.position_embedding = position_class(c.max_len, c.d_model)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(c.d_model, c.n_heads, c.d_ff, c.dropout) for _ in range(c.n_layers)
        )
        self.norm = nn.LayerNorm(c.d_model, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(c.d_model, c.n_classes)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """``idx`` (B, T) ids, ``mask`` (B, T) True on real tokens -> ``(logits (B, n_classes), loss)``.

        With ``return_attention=True`` it returns ``(logits, loss, attention (B, n_layers, H, T, T))``.
        """
        check_classifier_inputs(idx.shape, None if mask is None else np.shape(mask))
        if mask is None:
            mask = torch.ones(idx.shape, dtype=torch.bool, device=idx.device)
        mask = torch.as_tensor(mask, device=idx.device).bool()  # (B, T)
        x = self.token_embedding(idx)  # (B, T, C)
        x = self.dropout(self.position_embedding(x))  # (B, T, C)
        attention_mask = mask[:, None, None, :]  # (B, 1, 1, T): every query sees the real keys
        attentions = []
        for block in self.blocks:
            x, weights = block(x, attention_mask)  # (B, T, C), (B, H, T, T)
            attentions.append(weights)
        x = self.norm(x)
        keep = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)  # (B, C)
        logits = self.head(pooled)  # (B, n_classes)
        loss = None if targets is None else F.cross_entropy(logits, targets.long())
        if return_attention:
            return logits, loss, torch.stack(attentions, dim=1)  # (B, n_layers, H, T, T)
        return logits, loss
