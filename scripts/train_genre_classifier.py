"""Train the shipped genre classifier (data/checkpoints/genre_transformer.safetensors), seeded.

    python scripts/train_genre_classifier.py [--steps 4000]

A small transformer encoder (lessonkit.torch.transformer.TextClassifier) learns to tell comedy,
history and tragedy from passages of about 60 words. It trains on random windows of the training
plays' spoken text (a fresh crop every step, so it cannot memorise fixed passages), picks the
checkpoint with the best validation accuracy, and reports accuracy on the test plays, which it
never saw, beside the TF-IDF + logistic-regression baseline. The TensorFlow twin loads the same
file. Prints the figures data/README.md records.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch

from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.data import GENRES, data_dir, sha256_of
from lessonkit.genre import encode_padded, genre_passages, genre_windows
from lessonkit.models.transformer import TransformerConfig
from lessonkit.text import WordTokenizer
from lessonkit.torch.train import train
from lessonkit.torch.transformer import TextClassifier, load_checkpoint, save_checkpoint

MAX_LEN = 128  # a 60-word passage is 64-110 tokens (words and punctuation)
WINDOW_WORDS = 60


@torch.no_grad()
def predict(
    model: TextClassifier, ids: np.ndarray, mask: np.ndarray, batch_size: int = 256
) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(ids), batch_size):
        logits, _ = model(
            torch.from_numpy(ids[i : i + batch_size]),
            mask=torch.from_numpy(mask[i : i + batch_size]),
        )
        out.append(logits.argmax(-1).numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--positions", default="learned", choices=["learned", "sinusoidal"])
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=data_dir() / "checkpoints" / "genre_transformer.safetensors"
    )
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # one thread: deterministic, and faster than two on a shared machine
    start = time.perf_counter()

    train_set, val_set, test_set = (
        genre_passages(split) for split in ("train", "validation", "test")
    )
    # Vocabulary from the training plays only: words seen at least twice, lowercased.
    tokenizer = WordTokenizer.from_text(
        "\n".join(t.lower() for t in train_set.texts), max_size=100_000, min_count=2
    )
    val_ids, val_mask = encode_padded(val_set.texts, tokenizer, MAX_LEN)
    test_ids, test_mask = encode_padded(test_set.texts, tokenizer, MAX_LEN)

    config = TransformerConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=args.d_model,
        n_heads=args.n_heads,
        n_layers=args.n_layers,
        d_ff=args.d_ff,
        max_len=MAX_LEN,
        dropout=args.dropout,
        n_classes=len(GENRES),
        positions=args.positions,
    )
    model = TextClassifier(config)
    rng = np.random.default_rng(args.seed)

    def get_batch(step: int):
        texts, labels = genre_windows("train", WINDOW_WORDS, args.batch_size, rng)
        ids, mask = encode_padded(texts, tokenizer, MAX_LEN)
        longest = int(mask.sum(1).max())  # no column of padding only: less work per step
        return ids[:, :longest], labels, {"mask": mask[:, :longest]}

    best = {"accuracy": -1.0, "state": None, "step": 0, "evaluations": 0}

    def validate() -> float:
        best["evaluations"] += 1
        val_accuracy = accuracy(predict(model, val_ids, val_mask), val_set.labels)
        if val_accuracy > best["accuracy"]:
            step = best["evaluations"] * args.eval_every
            best.update(accuracy=val_accuracy, state=copy.deepcopy(model.state_dict()), step=step)
        return val_accuracy

    history = train(
        model,
        get_batch,
        steps=args.steps,
        lr=args.lr,
        final_lr=args.lr / 10,
        eval_fn=validate,
        eval_every=args.eval_every,
        seed=args.seed,
    )
    for step, val_accuracy in zip(history["eval_step"], history["eval_loss"], strict=True):
        print(f"step {step + 1}: validation accuracy {val_accuracy:.3f}")
    model.load_state_dict(best["state"])
    save_checkpoint(
        model, args.out, tokenizer=tokenizer, extras={"labels": list(GENRES)}, dtype=np.float16
    )
    minutes = (time.perf_counter() - start) / 60

    shipped, tokenizer, _ = load_checkpoint(args.out)  # measure what we ship: float16 weights
    val_accuracy = accuracy(predict(shipped, val_ids, val_mask), val_set.labels)
    test_accuracy = accuracy(predict(shipped, test_ids, test_mask), test_set.labels)
    baseline = tfidf_logistic_regression(train_set.texts, train_set.labels, seed=args.seed)
    baseline_val = accuracy(baseline.predict(val_set.texts), val_set.labels)
    baseline_test = accuracy(baseline.predict(test_set.texts), test_set.labels)
    n_params = sum(p.numel() for p in shipped.parameters())
    print(f"config: {config.to_json()}")
    print(f"parameters: {n_params:,}; vocabulary: {tokenizer.vocab_size:,} words")
    print(
        f"passages: train {len(train_set.texts)}, validation {len(val_set.texts)}, test {len(test_set.texts)}"
    )
    print(
        f"trained {args.steps} steps of {args.batch_size} random {WINDOW_WORDS}-word windows in {minutes:.1f} min; "
        f"kept step {best['step']}"
    )
    print(
        f"transformer (float16 checkpoint): validation {val_accuracy:.3f}, test {test_accuracy:.3f}"
    )
    print(
        f"TF-IDF + logistic regression:     validation {baseline_val:.3f}, test {baseline_test:.3f}"
    )
    print(
        f"majority class of test:           {np.bincount(test_set.labels).max() / len(test_set.labels):.3f}"
    )
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, sha256 {sha256_of(args.out)})"
    )


if __name__ == "__main__":
    main()
