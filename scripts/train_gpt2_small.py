"""Train the bundled small GPT-2 on Shakespeare, seeded (Lesson 5's offline model).

    python scripts/train_gpt2_small.py            # data/checkpoints/gpt2_shakespeare.safetensors

GPT-2's exact architecture and real tokenizer (50,257 tokens, tied output), scaled down to
d_model 192, 4 layers of 4 heads and a context of 256 tokens (about 11.5M parameters, three
quarters of them the token embedding). The PyTorch twin trains on the training plays with one CPU
thread, so the run is reproducible and leaves the other core free; the checkpoint is written in
float16 (the TensorFlow twin loads the same file). Prints the figures data/README.md records: the
validation loss of the shipped float16 weights on the held-out validation plays, in nats per GPT-2
token, beside a unigram baseline (token frequencies of the training plays, add-one smoothed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lessonkit.data import data_dir, load_split, random_batch, sha256_of, windows  # noqa: E402
from lessonkit.gpt2_config import SHAKESPEARE_CHECKPOINT, GPT2Config  # noqa: E402
from lessonkit.text import GPT2Tokenizer  # noqa: E402
from lessonkit.torch.gpt2 import GPT2, load_checkpoint, save_checkpoint  # noqa: E402
from lessonkit.torch.train import evaluate, train  # noqa: E402

CONFIG = GPT2Config(max_len=256, d_model=192, n_heads=4, n_layers=4, dropout=0.0)
BATCH, CONTEXT = 4, 256


def unigram_loss(train_ids: np.ndarray, targets: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats per token) of add-one-smoothed training-token frequencies."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    log_probs = np.log(counts / counts.sum())
    return float(-log_probs[targets.ravel()].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=data_dir() / SHAKESPEARE_CHECKPOINT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    tokenizer = GPT2Tokenizer.from_data()
    train_ids = np.array(tokenizer.encode(load_split("train")), dtype=np.int64)
    valid_ids = np.array(tokenizer.encode(load_split("validation")), dtype=np.int64)
    val_inputs, val_targets = windows(valid_ids, CONTEXT)
    probe = slice(None, None, 16)  # every 16th window for the running estimate
    print(f"training tokens: {len(train_ids):,}; validation tokens: {len(valid_ids):,}")

    model = GPT2(CONFIG)
    model.source = "lessonkit's small GPT-2 trained on Shakespeare (scripts/train_gpt2_small.py)"
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    history = train(
        model,
        lambda step: random_batch(train_ids, CONTEXT, BATCH, rng),
        steps=args.steps,
        lr=args.lr,
        final_lr=args.lr / 20,
        eval_fn=lambda: evaluate(model, val_inputs[probe], val_targets[probe], batch_size=8),
        eval_every=200,
    )
    minutes = (time.perf_counter() - start) / 60
    for step, loss in zip(history["eval_step"], history["eval_loss"], strict=True):
        print(f"step {step + 1}: validation loss (every 16th window) {loss:.3f}")
    save_checkpoint(model, args.out, dtype=np.float16)
    reloaded, _ = load_checkpoint(args.out)  # measure what we ship: float16 weights
    val_loss = evaluate(reloaded, val_inputs, val_targets, batch_size=8)
    baseline = unigram_loss(train_ids, val_targets, CONFIG.vocab_size)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config: {CONFIG}")
    print(f"parameters: {n_params:,}")
    print(
        f"trained {len(history['loss'])} steps of {BATCH}x{CONTEXT} tokens in {minutes:.1f} min "
        f"({args.threads} thread)"
    )
    print(
        f"validation loss of the shipped float16 checkpoint: {val_loss:.4f} nats/token over "
        f"{len(val_inputs)} windows ({val_targets.size:,} tokens)"
    )
    print(f"unigram baseline (training-token frequencies): {baseline:.4f} nats/token")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {sha256_of(args.out)}"
    )


if __name__ == "__main__":
    main()
