"""A character-level recurrent language model: embedding -> LSTM/GRU layers -> linear head.

It reads ``idx`` (B, T) and scores the next character at every position. The recurrent state is
what lets generation be cheap: a prompt is read once, then each new character is one step.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..models.char_rnn import CharRNNConfig
from .weights import load_checkpoint, save_checkpoint  # noqa: F401  (the contract)


class CharRNN(nn.Module):
    def __init__(self, config: CharRNNConfig):
        super().__init__()
        self.config = config
        rnn_class = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.embedding = nn.Embedding(config.vocab_size, config.d_embed)
        self.rnn = rnn_class(
            config.d_embed,
            config.d_model,
            num_layers=config.n_layers,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.d_model, config.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, state=None):
        """``idx`` (B, T) -> ``(logits (B, T, V), loss or None)``; the mean loss is in nats."""
        logits, _ = self.run(idx, state)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def run(self, idx: torch.Tensor, state=None):
        """Logits for every position and the state after the last one."""
        if idx.dim() != 2:
            raise ValueError(f"idx must be (B, T), got shape {tuple(idx.shape)}")
        x = self.embedding(idx)  # (B, T, d_embed)
        h, state = self.rnn(x, state)  # (B, T, C); LSTM state (h, c), each (n_layers, B, C)
        return self.head(h), state  # (B, T, V)

    @torch.no_grad()
    def step(self, ids: np.ndarray, state=None):
        """Generation contract: NumPy ``ids`` (B, T) -> (NumPy logits (B, V) of the last position, state)."""
        ids = checks.token_ids(ids, self.config.vocab_size)
        was_training = self.training
        self.eval()  # no dropout while generating; the caller's mode is restored below
        idx = torch.as_tensor(ids, device=self.head.weight.device)
        logits, state = self.run(idx, state)
        self.train(was_training)
        return logits[:, -1].float().cpu().numpy(), state
