"""Train the shipped recurrent language models, seeded (`make checkpoints`).

    python scripts/train_rnn.py --level char    # data/checkpoints/char_rnn.safetensors (Lesson 1)
    python scripts/train_rnn.py --level word    # data/checkpoints/word_rnn.safetensors (the lab)

`make checkpoints` runs both side by side, one thread each. Trains the PyTorch twin on the training plays, writes the checkpoint in float16 (the TensorFlow
twin loads the same file), and reports the validation loss of the shipped float16 weights on the
held-out validation plays. Prints the figures data/README.md records.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lessonkit.data import WORKS, data_dir, load_split, load_work, random_batch, windows
from lessonkit.models.char_rnn import CharRNNConfig
from lessonkit.text import CharTokenizer, WordTokenizer
from lessonkit.torch.char_rnn import CharRNN, load_checkpoint, save_checkpoint
from lessonkit.torch.train import evaluate, train

PRESETS = {
    # window length, batch, steps, embedding width, state width
    "char": {"n_tokens": 128, "batch": 64, "steps": 1200, "d_embed": 64, "d_model": 384},
    "word": {"n_tokens": 32, "batch": 64, "steps": 1000, "d_embed": 64, "d_model": 256},
}
WORD_VOCABULARY = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--level", choices=PRESETS, required=True)
    parser.add_argument("--steps", type=int, help="override the preset's number of steps")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads (1: the same float sums every run, and the two levels "
        "can train side by side on two cores)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    preset = PRESETS[args.level]
    steps = args.steps or preset["steps"]
    out = data_dir() / "checkpoints" / f"{args.level}_rnn.safetensors"
    torch.manual_seed(0)
    if args.level == "char":
        # The alphabet comes from every work (a character set, not content); weights from train only.
        tokenizer = CharTokenizer.from_text("".join(load_work(w.name) for w in WORKS))
    else:
        tokenizer = WordTokenizer.from_text(load_split("train"), max_size=WORD_VOCABULARY)
    train_ids = np.array(tokenizer.encode(load_split("train")))
    n = preset["n_tokens"]
    val_inputs, val_targets = windows(np.array(tokenizer.encode(load_split("validation"))), n)
    probe = slice(None, None, 8)  # every 8th window for the running estimate

    config = CharRNNConfig(
        tokenizer.vocab_size, d_embed=preset["d_embed"], d_model=preset["d_model"], n_layers=2
    )
    model = CharRNN(config)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    history = train(
        model,
        lambda step: random_batch(train_ids, n, preset["batch"], rng),
        steps=steps,
        lr=3e-3,
        final_lr=2e-4,
        eval_fn=lambda: evaluate(model, val_inputs[probe], val_targets[probe]),
        eval_every=250,
    )
    minutes = (time.perf_counter() - start) / 60
    for step, loss in zip(history["eval_step"], history["eval_loss"], strict=True):
        print(f"step {step + 1}: validation loss (subset) {loss:.3f}")
    save_checkpoint(model, out, tokenizer=tokenizer, dtype=np.float16)
    reloaded, _, _ = load_checkpoint(out)  # measure what we ship: float16 weights
    val_loss = evaluate(reloaded, val_inputs, val_targets)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}; vocabulary: {tokenizer.vocab_size} {args.level}s")
    print(f"trained {steps} steps of {preset['batch']}x{n} tokens in {minutes:.1f} min")
    print(
        f"validation loss of the shipped float16 checkpoint: {val_loss:.4f} nats/{args.level} "
        f"over {len(val_inputs)} windows"
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
