"""A character-level encoder-decoder with a bidirectional GRU encoder, with or without attention.

Lesson 2's model (Bahdanau, Cho and Bengio, 2015). The encoder reads the source both ways and
gives one state ``h_i`` (2 * d_model wide) per character. The decoder is a GRU cell that writes the
answer one character at a time:

- **plain** (``config.attention=False``): the decoder sees the source only through the encoder's
  final states (the forward GRU's after the last character, the backward GRU's after the first):
  they make its first state and, as a fixed context, enter every step (Cho et al., 2014);
  everything must squeeze through that one vector;
- **attention**: before each step the decoder scores every encoder state against its own previous
  state, ``e_{t,i} = v^T tanh(W_s s_{t-1} + W_h h_i)``, takes ``alpha_t = softmax(e_t)`` over the
  real (non-padding) source characters, and reads the context ``c_t = sum_i alpha_{t,i} h_i``.
  The matrix of all ``alpha_{t,i}`` is the alignment the lesson plots.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import dates
from ..models.seq2seq import Seq2SeqConfig, Translator, check_source
from .weights import load_checkpoint, save_checkpoint  # noqa: F401  (the contract)


class AdditiveAttention(nn.Module):
    """``score(s, h_i) = v^T tanh(W_s s + W_h h_i)``, softmax over the unmasked source positions."""

    def __init__(self, d_query: int, d_key: int, d_attn: int):
        super().__init__()
        self.query_proj = nn.Linear(d_query, d_attn, bias=False)  # W_s
        self.key_proj = nn.Linear(d_key, d_attn, bias=False)  # W_h
        self.energy = nn.Linear(d_attn, 1, bias=False)  # v

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor | None = None,
        projected_keys: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query`` (B, C), ``keys`` (B, S, D), ``mask`` (B, S) True where real ->
        ``(context (B, D), weights (B, S))``. ``projected_keys`` is ``key_proj(keys)``, passed in
        when the same keys serve many steps."""
        if projected_keys is None:
            projected_keys = self.key_proj(keys)  # (B, S, A)
        hidden = torch.tanh(self.query_proj(query)[:, None, :] + projected_keys)  # (B, S, A)
        scores = self.energy(hidden).squeeze(-1)  # (B, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        context = torch.bmm(weights[:, None, :], keys).squeeze(1)  # (B, D)
        return context, weights


def final_states(
    states: torch.Tensor, mask: torch.Tensor, bidirectional: bool = True
) -> torch.Tensor:
    """The encoder's summary (B, D) from its states (B, S, D): the forward direction's state at
    the last real character, joined (bidirectional, D = 2C) with the backward direction's state
    at the first."""
    C = states.size(-1) // 2 if bidirectional else states.size(-1)
    last = mask.sum(dim=1) - 1  # (B,)
    forward = states[torch.arange(states.size(0), device=states.device), last, :C]  # (B, C)
    return torch.cat([forward, states[:, 0, C:]], dim=-1) if bidirectional else forward


class Encoder(nn.Module):
    """Embedding -> GRU (bidirectional or one-way) over the real characters of each row (padding
    skipped)."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.embedding = nn.Embedding(config.src_vocab_size, config.d_embed)
        self.rnn = nn.GRU(
            config.d_embed, config.d_model, batch_first=True, bidirectional=config.bidirectional
        )

    def forward(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``src`` (B, S) right-padded -> ``(states (B, S, D), final (B, D), mask (B, S))``.

        ``final`` is the forward direction's state after the last real character, joined with the
        backward direction's state after the first when bidirectional; ``states`` are zero at
        padding."""
        mask = src != dates.PAD_ID  # (B, S)
        lengths = mask.sum(dim=1)  # (B,)
        if bool((lengths == 0).any()):
            raise ValueError("every source row needs at least one character")
        x = self.embedding(src)  # (B, S, E)
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        states, final = self.rnn(packed)  # final (directions, B, C)
        states, _ = nn.utils.rnn.pad_packed_sequence(
            states, batch_first=True, total_length=src.size(1)
        )  # (B, S, D)
        return states, torch.cat(list(final), dim=-1), mask  # (B, D)


class Decoder(nn.Module):
    """A GRU cell that writes one character per step; with attention, it reads a context each step."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = config
        d_context = config.d_context  # attention's c_t, or the plain model's fixed summary
        self.embedding = nn.Embedding(config.tgt_vocab_size, config.d_embed)
        if config.attention:
            self.attention = AdditiveAttention(config.d_model, d_context, config.d_attn)
        self.cell = nn.GRUCell(config.d_embed + d_context, config.d_model)
        self.head = nn.Linear(config.d_model + d_context, config.tgt_vocab_size)

    def forward(
        self,
        tgt_in: torch.Tensor,
        hidden: torch.Tensor,
        states: torch.Tensor,
        mask: torch.Tensor,
        projected_keys: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Run ``tgt_in`` (B, T) from ``hidden`` (B, C) ->
        ``(logits (B, T, V), hidden (B, C), attention (B, T, S) or None)``."""
        x = self.embedding(tgt_in)  # (B, T, E)
        all_logits, all_weights = [], []
        if self.config.attention and projected_keys is None:
            projected_keys = self.attention.key_proj(states)  # (B, S, A)
        if not self.config.attention:
            context = final_states(states, mask, self.config.bidirectional)  # (B, D), every step
        for t in range(tgt_in.size(1)):
            if self.config.attention:
                context, weights = self.attention(hidden, states, mask, projected_keys)  # (B, D)
                all_weights.append(weights)  # (B, S)
            hidden = self.cell(torch.cat([x[:, t], context], dim=-1), hidden)  # (B, C)
            all_logits.append(self.head(torch.cat([hidden, context], dim=-1)))  # (B, V)
        logits = torch.stack(all_logits, dim=1)  # (B, T, V)
        attention = torch.stack(all_weights, dim=1) if all_weights else None  # (B, T, S)
        return logits, hidden, attention


class Seq2Seq(Translator, nn.Module):
    """Encoder -> bridge (the decoder's first state) -> decoder, plain or with attention;
    ``greedy_decode``, ``translate`` and ``translate_batch`` come from :class:`Translator`."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.bridge = nn.Linear(config.d_context, config.d_model)
        self.decoder = Decoder(config)

    def forward(
        self, src: torch.Tensor, tgt_in: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced: ``src`` (B, S), ``tgt_in`` (B, T) -> ``(logits (B, T, V), loss or None)``;
        the loss is the mean cross-entropy (nats per output character) against ``targets`` (B, T)."""
        logits, _ = self.run(src, tgt_in)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def run(
        self, src: torch.Tensor, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced logits (B, T, V) and the attention weights (B, T, S) (None when plain)."""
        for name, ids in (("src", src), ("tgt_in", tgt_in)):
            if ids.dim() != 2:
                raise ValueError(f"{name} must be (B, length), got shape {tuple(ids.shape)}")
        states, hidden, mask = self.start(src)
        logits, _, attention = self.decoder(tgt_in, hidden, states, mask)
        return logits, attention

    def start(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode ``src`` (B, S): ``(states (B, S, D), first decoder state (B, C), mask (B, S))``."""
        if src.size(1) > self.config.max_len:
            raise ValueError(
                f"the source has {src.size(1)} characters; the model reads at most {self.config.max_len}"
            )
        states, final, mask = self.encoder(src)
        return states, torch.tanh(self.bridge(final)), mask  # (B, C)

    @torch.no_grad()
    def initial_state(self, src: np.ndarray) -> tuple:
        """The state the generation loop starts from: ``(hidden, states, mask, projected_keys)``."""
        was_training = self.training
        self.eval()  # the caller's mode is restored below
        src = torch.as_tensor(check_source(src, self.config), device=self.bridge.weight.device)
        states, hidden, mask = self.start(src)
        projected = self.decoder.attention.key_proj(states) if self.config.attention else None
        self.train(was_training)
        return hidden, states, mask, projected

    @torch.no_grad()
    def step(self, ids: np.ndarray, state: tuple, return_attention: bool = False):
        """Generation contract: NumPy ``ids`` (B, T) and ``state`` from :meth:`initial_state` ->
        ``(NumPy logits (B, V) of the last position, state)``, plus the last step's attention
        (B, S) (zeros for the plain model) with ``return_attention=True``."""
        if state is None:
            raise ValueError("a seq2seq model needs state=model.initial_state(src) to start from")
        was_training = self.training
        self.eval()  # the caller's mode is restored below
        hidden, states, mask, projected = state
        idx = torch.as_tensor(np.asarray(ids), dtype=torch.long, device=hidden.device)
        logits, hidden, attention = self.decoder(idx, hidden, states, mask, projected)
        self.train(was_training)
        state = (hidden, states, mask, projected)
        out = logits[:, -1].float().cpu().numpy()  # (B, V)
        if not return_attention:
            return out, state
        weights = (
            attention[:, -1].float().cpu().numpy()  # (B, S)
            if attention is not None
            else np.zeros(tuple(mask.shape), np.float32)
        )
        return out, state, weights
