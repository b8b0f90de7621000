"""GPT-2, architecture-exact, in PyTorch (the twin of ``lessonkit.tensorflow.gpt2``).

Token embedding ``wte`` plus position embedding ``wpe``, then ``n_layers`` pre-norm blocks
``h.{i}`` (``ln_1`` -> masked self-attention ``attn`` -> residual, ``ln_2`` -> ``mlp`` ->
residual), a final ``ln_f``, and scores over the vocabulary from the token embedding again (tied
weights). Linear layers are GPT-2's ``Conv1D``: weights stored (in, out). The weight keys are Hugging
Face's ``GPT2Model`` keys (``h.0.attn.c_attn.weight``, ...), so released weights load by walking
their keys (see :mod:`lessonkit.models.gpt2`).

Generation goes through :func:`lessonkit.generation.generate` with :meth:`GPT2.step` and a KV cache:
per layer a ``(keys, values)`` pair, each ``(B, n_heads, S, head_dim)``, the same layout as the
TensorFlow twin. The prompt is read once; each new token then costs one position.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.gpt2 import TRACE_KEYS, GPT2Config, check_cache, check_ids, check_length
from ..pretrained import pretrained_arrays, shakespeare_checkpoint
from ..text import GPT2Tokenizer
from .weights import from_arrays, load_checkpoint, save_checkpoint  # noqa: F401  (the contract)

KVCache = tuple[tuple[torch.Tensor, torch.Tensor], ...]


def _product(owner: nn.Module, rows: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
    """``rows @ weight + bias``: ``rows`` (N, n_in), ``weight`` (n_in, n_out) (a view is fine).

    Training, and reading many rows at once: one matrix product on the weight as it is stored.
    Generating (no gradients, one row): a token costs one read of every weight, and one BLAS call
    reads a weight on one core, at about two thirds of the memory bandwidth two cores reach
    (benchmarks/README.md, GPT-2 generation). So here the weight's output columns are cut into
    one block per thread, and one batched product (``bmm``) reads the blocks side by side. The
    blocks are a copy kept on ``owner``, made again whenever the weight changes (an optimizer step,
    a load, another thread count); the checkpoint keeps its own layout, the copy is not in the
    state dict. (An inference tensor keeps no version count to check, so it is read as it is; a
    GPU reads each product with all its cores already.)
    """
    one_row = rows.size(0) == 1 and not torch.is_grad_enabled() and rows.device.type == "cpu"
    if not one_row or weight.is_inference():
        if bias is None:
            return rows @ weight  # (N, n_out)
        return torch.addmm(bias, rows, weight)  # (N, n_out), BLAS adds the bias as it multiplies
    blocks = _blocks(owner, weight)  # (k, n_in, width), k * width >= n_out
    k, n_in, _ = blocks.shape
    out = torch.bmm(rows.expand(k, 1, n_in), blocks)  # (k, 1, width): block j's columns
    out = out.view(1, -1)[:, : weight.size(1)]  # (1, n_out), the zero padding dropped
    return out if bias is None else out + bias


def _blocks(owner: nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """``weight`` (n_in, n_out) as ``k = torch.get_num_threads()`` column blocks, (k, n_in, width),
    zero-padded to ``k * width`` columns; cached on ``owner`` (see :func:`_product`)."""
    k = torch.get_num_threads()
    version = (weight.data_ptr(), weight._version, weight.dtype, k)
    if getattr(owner, "_blocks_copy", (None, None))[0] != version:
        n_in, n_out = weight.shape
        width = -(-n_out // k)  # ceil(n_out / k)
        padded = F.pad(weight.detach(), (0, k * width - n_out))  # (n_in, k * width)
        # block j holds columns j * width ... (j + 1) * width - 1, stored (n_in, width)
        blocks = padded.view(n_in, k, width).permute(1, 0, 2).contiguous()  # (k, n_in, width)
        owner._blocks_copy = (version, blocks)
    return owner._blocks_copy[1]


class Conv1D(nn.Module):
    """GPT-2's linear layer: ``x @ weight + bias`` with ``weight`` stored (in, out)."""

    def __init__(self, n_in: int, n_out: int, std: float = 0.02):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * std)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.size(-1))  # (N, n_in)
        out = _product(self, rows, self.weight, self.bias)  # (N, n_out)
        return out.view(*x.shape[:-1], -1)  # (..., n_in) -> (..., n_out)


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention: each position sees itself and the positions before it.

    ``c_attn`` makes queries, keys and values in one product (C -> 3C); ``c_proj`` mixes the heads.
    """

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        C = config.d_model
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C, std=0.02 / math.sqrt(2 * config.n_layers))
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
        trace: dict | None = None,
        need_weights: bool = True,
    ):
        """``x`` (B, T, C) and this layer's cached ``(keys, values)`` -> ``(output (B, T, C),
        attention weights (B, H, T, S), (keys, values) (B, H, S, D))`` with S = cached + T.
        ``trace``, when given, receives the last position's scores, mask, weights and weighted
        sum of values (see :meth:`GPT2.step`). With ``need_weights=False`` (and no trace) the
        weights are not formed: one fused call computes the same output, and None is returned
        in their place."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, 3C) -> 3 x (B, T, C)
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, H, S, D)
            v = torch.cat([past[1], v], dim=2)  # (B, H, S, D)
        S = k.size(2)
        # Query t sits at position S - T + t and may see keys 0 ... S - T + t.
        allowed = (
            None if T == 1 else torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
        )
        if not need_weights and trace is None:  # the same sums, fused: generation, training
            p = self.attn_dropout.p if self.training else 0.0
            mask = allowed  # None: one new query sees every cached key
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # (B, H, T, D)
            y = y.transpose(1, 2).reshape(B, T, C)  # merge heads: (B, T, C)
            return self.resid_dropout(self.c_proj(y)), None, (k, v)
        if allowed is None:
            allowed = torch.ones(T, S, dtype=torch.bool, device=x.device)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, T, S)
        scores = scores.masked_fill(~allowed, float("-inf"))
        weights = F.softmax(scores, dim=-1)  # (B, H, T, S)
        y = self.attn_dropout(weights) @ v  # (B, H, T, D)
        if trace is not None:  # the last query's row, before and after the softmax
            trace["scores"].append(scores[:, :, -1].masked_fill(~allowed[-1], 0.0))  # (B, H, S)
            trace["mask"].append(allowed[-1].expand(B, S))  # (B, S)
            trace["weights"].append(weights[:, :, -1])  # (B, H, S)
            trace["weighted_values"].append(y[:, :, -1])  # (B, H, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # merge heads: (B, T, C)
        return self.resid_dropout(self.c_proj(y)), weights, (k, v)


class MLP(nn.Module):
    """Position-wise feed-forward: C -> d_ff (GELU, tanh approximation) -> C."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.c_fc = Conv1D(config.d_model, config.d_ff)
        self.c_proj = Conv1D(config.d_ff, config.d_model, std=0.02 / math.sqrt(2 * config.n_layers))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.c_fc(x), approximate="tanh")  # (B, T, d_ff)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class Block(nn.Module):
    """One decoder block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
        trace: dict | None = None,
        need_weights: bool = True,
    ):
        """``x`` (B, T, C) -> ``(x (B, T, C), attention (B, H, T, S) or None, (keys, values))``."""
        attended, weights, present = self.attn(self.ln_1(x), past, trace, need_weights)
        x = x + attended
        mlp = self.mlp(self.ln_2(x))  # (B, T, C)
        if trace is not None:
            trace["mlp"].append(mlp[:, -1])  # (B, C)
        return x + mlp, weights, present


class GPT2(nn.Module):
    """GPT-2: embeddings, ``n_layers`` blocks ``h``, ``ln_f``, output tied to ``wte``."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.max_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layers)])
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        nn.init.normal_(self.wte.weight, std=0.02)  # GPT-2's initialization
        nn.init.normal_(self.wpe.weight, std=0.02)
        self.source = "randomly initialized"  # where the weights came from, for notebooks

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        return_attention: bool = False,
    ):
        """``idx`` (B, T) -> ``(logits (B, T, V), mean loss in nats or None)``; with
        ``return_attention=True`` also the attention of every layer, a list of (B, H, T, T)."""
        logits, _, attention = self.run(idx, need_weights=return_attention)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return (logits, loss, attention) if return_attention else (logits, loss)

    def run(
        self,
        idx: torch.Tensor,
        state: KVCache | None = None,
        last_only: bool = False,
        trace: dict | None = None,
        need_weights: bool = True,
    ):
        """Read ``idx`` (B, T) after the cached positions of ``state``.

        Returns ``(logits (B, T, V), the cache extended by T positions, attention per layer
        [(B, H, T, S)])``. With ``last_only`` the logits are those of the last position only,
        (B, 1, V): generation needs no more, and a long prompt's (T, 50,257) scores are costly.
        With ``need_weights=False`` attention is computed fused and the list holds None.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must be (B, T), got shape {tuple(idx.shape)}")
        B, T = idx.shape
        past_length = check_cache(state, self.config, B)
        check_length(T, self.config, past_length)
        positions = torch.arange(past_length, past_length + T, device=idx.device)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(positions))  # (B, T, C)
        cache, attention = [], []
        for i, block in enumerate(self.h):
            past = None if state is None else state[i]
            x, weights, present = block(x, past, trace, need_weights)  # (B, T, C)
            cache.append(present)
            attention.append(weights)
        if last_only:
            x = x[:, -1:]  # (B, 1, C)
        x = self.ln_f(x)  # (B, T, C)
        # the tied output: (B, T, C) @ (C, V) -> (B, T, V)
        logits = _product(self, x.reshape(-1, x.size(-1)), self.wte.weight.T).view(B, x.size(1), -1)
        return logits, tuple(cache), attention

    def weight(self, key: str) -> np.ndarray:
        """One weight as NumPy, by its checkpoint key (``"h.0.attn.c_attn.weight"``)."""
        weights = self.state_dict()
        if key not in weights:
            raise ValueError(f"no weight {key!r}; keys look like 'wte.weight', 'h.0.ln_1.bias'")
        return weights[key].detach().cpu().numpy()

    @torch.inference_mode()
    def step(
        self,
        ids: np.ndarray,
        state: KVCache | None = None,
        return_attention: bool = False,
        return_trace: bool = False,
    ):
        """Generation contract: NumPy ``ids`` (B, T) after the cached ``state`` -> ``(NumPy logits
        (B, V) of the last position, new state)``; with ``return_attention=True`` also the NumPy
        attention of this step, (n_layers, B, H, T, S); with ``return_trace=True`` also what
        happened inside the step for the last token, as NumPy under :data:`TRACE_KEYS`."""
        past_length = check_cache(
            state, self.config, np.shape(ids)[0] if np.ndim(ids) == 2 else None
        )
        ids = check_ids(ids, self.config, past_length)
        was_training = self.training
        if was_training:
            self.eval()  # no dropout while generating; the caller's mode is restored below
        idx = torch.as_tensor(ids, device=self.wte.weight.device)
        trace = {key: [] for key in TRACE_KEYS if key != "logits"} if return_trace else None
        logits, state, attention = self.run(idx, state, True, trace, need_weights=return_attention)
        if was_training:
            self.train()
        last = logits[:, -1].float().cpu().numpy()  # (B, V)
        out = (last, state)
        if return_attention:
            out += (torch.stack(attention).float().cpu().numpy(),)
        if return_trace:
            traced = {k: torch.stack(v, 1).float().cpu().numpy() for k, v in trace.items()}
            out += (traced | {"logits": last},)
        return out


def from_pretrained(name_or_path: str | Path = "gpt2", device: str | torch.device | None = None):
    """Released GPT-2 weights (``"gpt2"``, ``"gpt2-medium"``, ...) from the Hugging Face hub, or a
    local folder in Hugging Face's layout, in this twin; with GPT-2's tokenizer.

    Offline (``HF_HUB_OFFLINE=1``, or no network and nothing cached) it warns in one line and
    returns the bundled small GPT trained on Shakespeare, with its own tokenizer, instead.
    ``model.source`` says which.
    """
    found = pretrained_arrays(name_or_path)
    if found is None:
        model, tokenizer, _ = load_checkpoint(shakespeare_checkpoint(), device)
        return model, tokenizer
    config, arrays, source = found
    model = GPT2(config).to(device)
    from_arrays(model, arrays, what=source)
    model.source = source
    return model.eval(), GPT2Tokenizer.from_data()
