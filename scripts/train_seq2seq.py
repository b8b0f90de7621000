"""Train Lesson 2's shipped date-normalization models, seeded (`make checkpoints`).

    python scripts/train_seq2seq.py                   # both models
    python scripts/train_seq2seq.py --only attention  # data/checkpoints/seq2seq_dates_attention.safetensors
    python scripts/train_seq2seq.py --only plain      # data/checkpoints/seq2seq_dates_plain.safetensors
    python scripts/train_seq2seq.py --only rnnencdec  # data/checkpoints/seq2seq_dates_rnnencdec.safetensors

Trains the PyTorch twin (one CPU thread) on fresh batches of the training split of
``lessonkit.dates``, writes float16 checkpoints (the TensorFlow twin loads the same files), and
measures the shipped float16 weights on the held-out test split: exact match overall and by input
length and by the number of characters between the date and the end of the sentence (what a
one-way encoder must carry to its last state). Prints the figures data/README.md records.

The three models: ``attention`` (bidirectional encoder, additive attention), ``plain`` (the same
bidirectional encoder, its two final states as the only context) and ``rnnencdec``, the baseline
of Bahdanau et al. (2015), Cho et al.'s RNNencdec: a one-way encoder whose last state is the only
context, with the attention model's width and training steps.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from lessonkit import dates
from lessonkit.data import data_dir
from lessonkit.models.seq2seq import Seq2SeqConfig
from lessonkit.torch.seq2seq import Seq2Seq, load_checkpoint, save_checkpoint
from lessonkit.torch.train import train

N_TRAIN = 200_000  # distinct training examples, cycled through in fresh random batches
N_TEST = 5_000
LENGTH_BINS = (0, 20, 40, 60, 80, 101)  # characters: [0, 20), [20, 40), ...
DISTANCE_BINS = (0, 1, 10, 20, 30, 40, 50, 60, 80, 101)  # characters after the date: [0, 1), ...
MODELS = {
    # steps, batch, learning rate, encoder and decoder
    "plain": {"steps": 3000, "batch": 64, "lr": 3e-3, "attention": False, "bidirectional": True},
    "attention": {"steps": 1500, "batch": 64, "lr": 3e-3, "attention": True, "bidirectional": True},
    "rnnencdec": {
        "steps": 1500,
        "batch": 64,
        "lr": 3e-3,
        "attention": False,
        "bidirectional": False,
    },
}


def chars_after_date(example: dates.DateExample) -> int:
    """How many characters follow the date in the sentence."""
    end = example.sentence.rfind(example.date_text)
    if end < 0:
        raise ValueError(f"the date {example.date_text!r} is not in {example.sentence!r}")
    return len(example.sentence) - end - len(example.date_text)


def accuracy_by_distance(
    examples: list[dates.DateExample], predictions: list[str]
) -> list[tuple[str, int, float]]:
    """``(bin label, examples, exact match)`` per bin of characters after the date."""
    after = np.array([chars_after_date(e) for e in examples])
    right = np.array([p == e.iso for p, e in zip(predictions, examples, strict=True)])
    rows = []
    for lo, hi in zip(DISTANCE_BINS[:-1], DISTANCE_BINS[1:], strict=True):
        inside = (after >= lo) & (after < hi)
        if inside.any():
            label = str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"
            rows.append((label, int(inside.sum()), float(right[inside].mean())))
    return rows


def accuracy_by_length(
    examples: list[dates.DateExample], predictions: list[str]
) -> list[tuple[str, int, float]]:
    """``(bin label, examples, exact match)`` per input-length bin."""
    lengths = np.array([len(e.sentence) for e in examples])
    right = np.array([p == e.iso for p, e in zip(predictions, examples, strict=True)])
    rows = []
    for lo, hi in zip(LENGTH_BINS[:-1], LENGTH_BINS[1:], strict=True):
        inside = (lengths >= lo) & (lengths < hi)
        if inside.any():
            rows.append((f"{lo}-{hi - 1}", int(inside.sum()), float(right[inside].mean())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=MODELS, help="train one model only")
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--d-model", type=int, default=Seq2SeqConfig.d_model)
    parser.add_argument("--d-attn", type=int, default=Seq2SeqConfig.d_attn)
    parser.add_argument("--out", type=Path, default=data_dir() / "checkpoints")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train_examples = dates.load_split("train", N_TRAIN, seed=0)
    test_examples = dates.load_split("test", N_TEST, seed=0)
    src_train, tgt_in_train, tgt_out_train = dates.teacher_forcing_batch(train_examples)

    for name in [args.only] if args.only else list(MODELS):
        preset = MODELS[name]
        steps = args.steps or preset["steps"]
        torch.manual_seed(0)
        config = Seq2SeqConfig(
            d_model=args.d_model,
            d_attn=args.d_attn,
            attention=preset["attention"],
            bidirectional=preset["bidirectional"],
        )
        model = Seq2Seq(config)
        rng = np.random.default_rng(0)

        def get_batch(step: int, batch: int = preset["batch"], rng=rng):
            rows = rng.integers(0, N_TRAIN, size=batch)
            src = src_train[rows]
            src = src[:, : int((src != dates.PAD_ID).sum(1).max())]  # (B, longest row)
            return src, tgt_in_train[rows], {"targets": tgt_out_train[rows]}

        start = time.perf_counter()
        history = train(
            model, get_batch, steps=steps, lr=preset["lr"], final_lr=preset["lr"] / 20, seed=0
        )
        minutes = (time.perf_counter() - start) / 60

        path = args.out / f"seq2seq_dates_{name}.safetensors"
        save_checkpoint(model, path, dtype=np.float16)
        shipped, _, _ = load_checkpoint(path)  # measure what we ship: float16 weights
        predictions = shipped.translate_batch([e.sentence for e in test_examples])
        accuracy = dates.exact_match(predictions, [e.iso for e in test_examples])
        by_length = accuracy_by_length(test_examples, predictions)
        by_distance = accuracy_by_distance(test_examples, predictions)
        extras = {
            "test_exact_match": round(accuracy, 4),
            "test_exact_match_by_length": [list(row) for row in by_length],
            "test_exact_match_by_chars_after_date": [list(row) for row in by_distance],
            "trained": f"{steps} steps of {preset['batch']} examples, seed 0",
        }
        save_checkpoint(shipped, path, extras=extras, dtype=np.float16)
        n_params = sum(p.numel() for p in model.parameters())
        last = float(np.mean(history["loss"][-100:]))
        print(f"== {name}: {config}")
        print(f"parameters: {n_params:,}")
        print(
            f"trained {steps} steps of {preset['batch']} in {minutes:.1f} min; last loss {last:.4f}"
        )
        print(f"test exact match ({N_TEST} held-out dates): {accuracy:.4f}")
        for label, count, value in by_length:
            print(f"  length {label:>6}: {value:.3f} ({count} examples)")
        for label, count, value in by_distance:
            print(f"  characters after the date {label:>6}: {value:.3f} ({count} examples)")
        wrong = [
            (e.sentence, p) for e, p in zip(test_examples, predictions, strict=True) if p != e.iso
        ]
        for sentence, prediction in wrong[:5]:
            print(f"  wrong: {sentence!r} -> {prediction}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"wrote {path} ({path.stat().st_size:,} bytes, sha256 {digest})", flush=True)


if __name__ == "__main__":
    main()
