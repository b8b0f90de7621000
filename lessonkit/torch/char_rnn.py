"""A character-level recurrent language model: embedding -> LSTM/GRU layers -> linear head.

It reads ``idx`` (B, T) and scores the next character at every position. The recurrent state is
what lets generation be cheap: a prompt is read once, then each new character is one step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoints
from ..config import CharRNNConfig
from ..text import CharTokenizer, WordTokenizer, tokenizer_from_json
from .weights import from_arrays, to_arrays


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
        was_training = self.training
        self.eval()  # no dropout while generating; the caller's mode is restored below
        idx = torch.as_tensor(np.asarray(ids), dtype=torch.long, device=self.head.weight.device)
        logits, state = self.run(idx, state)
        self.train(was_training)
        return logits[:, -1].float().cpu().numpy(), state


def save_checkpoint(
    model: CharRNN, tokenizer: CharTokenizer | WordTokenizer, path: str | Path, dtype=None
) -> Path:
    """Weights, config and vocabulary in one safetensors file (``dtype=np.float16`` halves it)."""
    metadata = {"config": model.config.to_json(), "tokenizer": tokenizer.to_json()}
    return checkpoints.save(path, to_arrays(model), metadata, dtype=dtype)


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[CharRNN, CharTokenizer | WordTokenizer]:
    """Rebuild the model and its tokenizer (characters or words) from a file written by either twin."""
    arrays, metadata = checkpoints.load(path)
    config = CharRNNConfig.from_json(checkpoints.metadata_field(metadata, "config", path))
    tokenizer = tokenizer_from_json(checkpoints.metadata_field(metadata, "tokenizer", path))
    model = CharRNN(config).to(device)
    from_arrays(model, arrays, what=str(path))
    return model.eval(), tokenizer
