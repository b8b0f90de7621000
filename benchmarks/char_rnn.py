"""Lesson 1's character LSTM in both twins: training speed, and what a time budget buys.

    python benchmarks/char_rnn.py            # speed, then 20 s and 135 s of training: ~12 minutes
    python benchmarks/char_rnn.py --quick    # speed, then 20 s only: about 3 minutes
    python benchmarks/char_rnn.py --budgets 20 --grid 32x32,16x64 --seeds 7   # batch sizes

Two configurations of the same ``CharRNN`` class:

- **demo**: what Lesson 1's notebook trains in its 20-second demo (notebooks/src/01_generative_rnn.py;
  keep the two in step), chosen for the lowest validation loss within 20 seconds;
- **shipped**: the preset of the shipped checkpoint (2-layer LSTM-384, batches of 64 x 128, Adam
  3e-3 with a cosine to 2e-4, as ``scripts/train_rnn.py`` trains it for an hour).

**Speed**: both twins train on the same batches; rounds alternate between the frameworks, so a
change in machine load hits both; each round times ``--steps`` steps after a warm-up. Prints
training characters per second (median over rounds) and the ratio TensorFlow / PyTorch.

**Learning per second**: each twin trains each configuration from the same seed for ``--budgets``
seconds of wall-clock time, compilation included (the loop's ``max_seconds``; the learning rate's
cosine ends when the time does), then scores the validation plays (every 10th window of 128
characters, nats per character). Prints the steps that fitted and the validation loss.
The machine's load average is printed before and after: read the numbers beside it.

Threads: PyTorch gets ``--threads``; TensorFlow gets ``--threads`` inter-op threads and
``--tf-intra-op`` threads per op (default 1), the setting of Lesson 1's TensorFlow notebook.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from lessonkit.data import load_split, random_batch, windows  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.text import CharTokenizer  # noqa: E402

# name: (layers, d_model, batch, characters per window, lr, final lr)
CONFIGS = {
    "demo": (1, 256, 32, 32, 1e-2, 1e-3),
    "shipped": (2, 384, 64, 128, 3e-3, 2e-4),
}
MAX_STEPS = 100_000  # the time budget ends every run long before this


def make_config(name: str, vocab_size: int) -> CharRNNConfig:
    n_layers, d_model, *_ = CONFIGS[name]
    return CharRNNConfig(vocab_size=vocab_size, d_embed=64, d_model=d_model, n_layers=n_layers)


def load_twins(threads: int, tf_intra_op: int) -> dict:
    """``{framework: (char_rnn module, train module)}``: PyTorch on ``threads`` threads, TensorFlow
    on ``tf_intra_op`` threads per op and ``threads`` ops at once."""
    import tensorflow as tf
    import torch

    torch.set_num_threads(threads)
    tf.config.threading.set_intra_op_parallelism_threads(tf_intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from lessonkit.tensorflow import char_rnn as tf_char_rnn
    from lessonkit.tensorflow import train as tf_train
    from lessonkit.torch import char_rnn as torch_char_rnn
    from lessonkit.torch import train as torch_train

    return {"PyTorch": (torch_char_rnn, torch_train), "TensorFlow": (tf_char_rnn, tf_train)}


def speed(twins, name: str, ids: np.ndarray, vocab_size: int, rounds: int, steps: int) -> None:
    _, _, batch, n_chars, lr, _ = CONFIGS[name]
    config = make_config(name, vocab_size)
    batches = [random_batch(ids, n_chars, batch, np.random.default_rng(i)) for i in range(steps)]
    models = {fw: char_rnn.CharRNN(config) for fw, (char_rnn, _) in twins.items()}
    for fw, (_, train) in twins.items():  # warm-up: tracing, allocator, first-step costs
        train.train(models[fw], lambda step: batches[step], steps=2, lr=lr, progress=False)
    rates: dict[str, list[float]] = {fw: [] for fw in twins}
    for _ in range(rounds):
        for fw, (_, train) in twins.items():
            start = time.perf_counter()
            train.train(models[fw], lambda step: batches[step], steps=steps, lr=lr, progress=False)
            rates[fw].append(steps * batch * n_chars / (time.perf_counter() - start))
    pt, tf_ = (statistics.median(rates[fw]) for fw in ("PyTorch", "TensorFlow"))
    print(
        f"{name:>8}: PyTorch {pt:,.0f}, TensorFlow {tf_:,.0f} training characters/s "
        f"(median of {rounds} rounds of {steps} steps); TensorFlow / PyTorch {tf_ / pt:.2f}x"
    )


def learning(
    twins, name: str, budget: float, ids, valid_inputs, valid_targets, vocab_size, seed: int = 0
) -> dict[str, tuple[int, float]]:
    """Train each twin for ``budget`` seconds from the same seed: steps run, validation loss."""
    _, _, batch, n_chars, lr, final_lr = CONFIGS[name]
    results = {}
    for fw, (char_rnn, train) in twins.items():
        if fw == "PyTorch":
            import torch

            torch.manual_seed(seed)
        else:
            import keras

            keras.utils.set_random_seed(seed)
        model = char_rnn.CharRNN(make_config(name, vocab_size))
        rng = np.random.default_rng(seed)
        history = train.train(
            model,
            lambda step: random_batch(ids, n_chars, batch, rng),  # noqa: B023
            steps=MAX_STEPS,
            lr=lr,
            final_lr=final_lr,
            max_seconds=budget,
            progress=False,
        )
        loss = train.evaluate(model, valid_inputs, valid_targets)
        results[fw] = (len(history["loss"]), loss)
    (pt_steps, pt_loss), (tf_steps, tf_loss) = results["PyTorch"], results["TensorFlow"]
    print(
        f"{name:>8}, {budget:>4.0f} s: PyTorch {pt_steps:>5} steps, validation {pt_loss:.3f}; "
        f"TensorFlow {tf_steps:>5} steps ({tf_steps / pt_steps:.2f}x), validation {tf_loss:.3f} "
        "nats/char",
        flush=True,
    )
    return results


def grid(twins, sizes: str, seeds: int, budget: float, ids, valid_inputs, valid_targets, vocab):
    """The demo's model (1 x 256) trained for ``budget`` seconds on each ``batch x window`` of
    ``sizes`` (``batch x window @ width`` for another LSTM width), ``seeds`` seeds each: which size
    learns most in the demo's time, in both twins."""
    rows = {}
    for size in sizes.split(","):
        shape, _, width = size.lower().partition("@")
        try:
            batch, n_chars = (int(n) for n in shape.split("x"))
            d_model = int(width) if width else CONFIGS["demo"][1]
        except ValueError:
            raise ValueError(f"--grid sizes look like 16x64 or 16x64@384, got {size!r}") from None
        CONFIGS[size] = (CONFIGS["demo"][0], d_model, batch, n_chars, *CONFIGS["demo"][4:])
    for seed in range(seeds):  # seeds outermost: a drift in machine load hits every size
        for size in sizes.split(","):
            runs = learning(twins, size, budget, ids, valid_inputs, valid_targets, vocab, seed)
            for fw, result in runs.items():
                rows.setdefault((size, fw), []).append(result)
    print(f"\n{budget:.0f} s, median of {seeds} seeds (steps, validation nats/char):")
    for size in sizes.split(","):
        pt, tf_ = (rows[size, fw] for fw in ("PyTorch", "TensorFlow"))
        pt_steps, tf_steps = (statistics.median(s for s, _ in r) for r in (pt, tf_))
        pt_loss, tf_loss = (statistics.median(v for _, v in r) for r in (pt, tf_))
        print(
            f"{size:>6}: PyTorch {pt_steps:>6.0f} steps, {pt_loss:.3f}; TensorFlow "
            f"{tf_steps:>6.0f} steps, {tf_loss:.3f}; TF / PT steps {tf_steps / pt_steps:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="threads of each framework")
    parser.add_argument(
        "--tf-intra-op",
        type=int,
        default=1,
        help="TensorFlow's threads per op (1, as Lesson 1's TensorFlow notebook sets it)",
    )
    parser.add_argument("--budgets", default="20,135", help="seconds of training, comma-separated")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 steps; 20 s only")
    parser.add_argument(
        "--grid",
        default="",
        help="instead: the demo's model on these batch x window sizes, e.g. 16x64,32x64 (16x64@384: "
        "an LSTM 384 wide), for the first budget, --seeds seeds each",
    )
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps, args.budgets = 3, 3, "20"
    budgets = [float(b) for b in args.budgets.split(",") if b.strip()]

    load_before = os.getloadavg()
    text = load_split("train")
    tokenizer = CharTokenizer.from_text(text)
    ids = np.array(tokenizer.encode(text))
    valid_inputs, valid_targets = windows(np.array(tokenizer.encode(load_split("validation"))), 128)
    valid_inputs, valid_targets = valid_inputs[::10], valid_targets[::10]
    twins = load_twins(args.threads, args.tf_intra_op)
    print(f"{args.threads} threads per framework (TensorFlow: {args.tf_intra_op} per op)")
    if args.grid:
        valid = (valid_inputs, valid_targets)
        grid(twins, args.grid, args.seeds, budgets[0], ids, *valid, tokenizer.vocab_size)
    for name in [] if args.grid else CONFIGS:
        speed(twins, name, ids, tokenizer.vocab_size, args.rounds, args.steps)
    for budget in [] if args.grid else budgets:
        for name in CONFIGS:
            learning(twins, name, budget, ids, valid_inputs, valid_targets, tokenizer.vocab_size)
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; after "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
