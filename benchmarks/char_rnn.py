"""Training speed of the char-RNN twins, measured side by side in one run.

    python benchmarks/char_rnn.py [--rounds 5] [--steps 5]

Both twins train the Lesson 1 architecture (2-layer LSTM, d_model 384) on the same batches of
64 x 128 characters. Rounds alternate between the frameworks, so a change in machine load hits
both; each round times ``--steps`` optimizer steps after a warm-up. Prints characters per second
(median over rounds) for each twin and the ratio TensorFlow / PyTorch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from lessonkit.data import load_split, random_batch  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.text import CharTokenizer  # noqa: E402

N_CHARS, BATCH = 128, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    from lessonkit.tensorflow import char_rnn as tf_char_rnn
    from lessonkit.tensorflow import train as tf_train
    from lessonkit.torch import char_rnn as torch_char_rnn
    from lessonkit.torch import train as torch_train

    text = load_split("validation")
    tokenizer = CharTokenizer.from_text(text)
    ids = np.array(tokenizer.encode(text))
    config = CharRNNConfig(vocab_size=tokenizer.vocab_size, d_embed=64, d_model=384, n_layers=2)
    batches = [
        random_batch(ids, N_CHARS, BATCH, np.random.default_rng(i)) for i in range(args.steps)
    ]
    twins = {
        "PyTorch": (torch_char_rnn.CharRNN(config), torch_train.train),
        "TensorFlow": (tf_char_rnn.CharRNN(config), tf_train.train),
    }
    for model, train in twins.values():  # warm-up: graph tracing, allocator, first-step costs
        train(model, lambda step: batches[step], steps=2, progress=False)

    rates: dict[str, list[float]] = {name: [] for name in twins}
    for _ in range(args.rounds):
        for name, (model, train) in twins.items():
            start = time.perf_counter()
            train(model, lambda step: batches[step], steps=args.steps, progress=False)
            rates[name].append(args.steps * BATCH * N_CHARS / (time.perf_counter() - start))

    medians = {name: statistics.median(r) for name, r in rates.items()}
    for name, rate in medians.items():
        print(f"{name:>10}: {rate:,.0f} training characters/s (median of {args.rounds} rounds)")
    print(f"TensorFlow / PyTorch: {medians['TensorFlow'] / medians['PyTorch']:.2f}x")


if __name__ == "__main__":
    main()
