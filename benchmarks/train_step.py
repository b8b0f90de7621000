"""One training step of every model of the course, PyTorch twin beside TensorFlow twin, in one run.

    python benchmarks/train_step.py [--rounds 5] [--steps 5] [--threads 2] [--tf-intra-op 1] [--only char_rnn,bert]
    python benchmarks/train_step.py --quick          # 3 rounds of 3 steps: about three minutes

Each model trains with the configuration and batch shape of its lesson's in-notebook training,
through the course's one training loop of each twin (``lessonkit.{torch,tensorflow}.train``), so
what is timed is what a notebook pays per step: moving the batch in, forward, backward, clipping,
Adam and the loss read back. Both twins get the same batches. The first call of each twin is timed
on its own (TensorFlow traces and compiles its step there; PyTorch warms its allocator) and
reported as compile time; then rounds alternate between the twins, so a change in machine load
hits both, and each round times ``--steps`` steps. Printed: median milliseconds per step of each
twin, their ratio, the compile time, how many times TensorFlow traced its step (1 means no
retracing), and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from char_rnn import CONFIGS  # noqa: E402  (benchmarks/char_rnn.py: Lesson 1's configurations)

from lessonkit import checkpoints, data, dates  # noqa: E402
from lessonkit.genre import encode_padded, genre_windows  # noqa: E402
from lessonkit.models.bert import IGNORE_INDEX, mask_tokens  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.models.gpt2 import GPT2Config  # noqa: E402
from lessonkit.models.seq2seq import Seq2SeqConfig  # noqa: E402
from lessonkit.text import CharTokenizer  # noqa: E402

N_BATCHES = 8  # distinct batches, cycled: variable shapes (padding) show up as they do in training


def char_rnn_case(rng, name="demo"):
    """Lesson 1: the character LSTM of the notebook's demo (char_rnn.py's ``CONFIGS``)."""
    n_layers, d_model, batch, n_chars, lr, _ = CONFIGS[name]
    tokenizer = CharTokenizer.from_text(data.load_split("train"))
    ids = np.array(tokenizer.encode(data.load_split("validation")))
    config = CharRNNConfig(tokenizer.vocab_size, d_embed=64, d_model=d_model, n_layers=n_layers)
    batches = [data.random_batch(ids, n_chars, batch, rng) for _ in range(N_BATCHES)]
    return lambda twin: twin.char_rnn.CharRNN(config), batches, lr


def shipped_rnn_case(rng):
    """Lesson 1's shipped preset: 2-layer LSTM-384, batches of 64 x 128 (scripts/train_rnn.py)."""
    return char_rnn_case(rng, "shipped")


def word_rnn_case(rng):
    """Lesson 1's lab: the word LSTM (5,000 words, 2 x 256), 32 windows of 32 words."""
    config = CharRNNConfig(vocab_size=5000, d_embed=64, d_model=256, n_layers=2)
    windows = rng.integers(0, 5000, (N_BATCHES, 32, 33))
    batches = [(w[:, :-1], w[:, 1:]) for w in windows]
    return lambda twin: twin.char_rnn.CharRNN(config), batches, 3e-3


def seq2seq_case(rng):
    """Lesson 2: the attention model, 64 dates per batch, sources cut to the longest row."""
    src, tgt_in, tgt_out = dates.teacher_forcing_batch(dates.load_split("train", 2_000, seed=0))
    batches = []
    for _ in range(N_BATCHES):
        rows = rng.integers(0, len(src), size=64)
        longest = (src[rows] != dates.PAD_ID).sum(1).max()
        batches.append((src[rows, :longest], tgt_in[rows], {"targets": tgt_out[rows]}))
    config = Seq2SeqConfig(attention=True)
    return lambda twin: twin.seq2seq.Seq2Seq(config), batches, 3e-3


def transformer_case(rng):
    """Lesson 3: the genre classifier (the shipped checkpoint's config), 32 windows of 60 words."""
    checkpoint = checkpoints.read(data.data_dir() / "checkpoints" / "genre_transformer.safetensors")
    config, tokenizer = checkpoint.config, checkpoint.tokenizer
    batches = []
    for _ in range(N_BATCHES):
        texts, labels = genre_windows("train", 60, 32, rng)
        ids, mask = encode_padded(texts, tokenizer, config.max_len)
        longest = mask.sum(axis=1).max()
        batches.append((ids[:, :longest], labels, {"mask": mask[:, :longest]}))
    return lambda twin: twin.transformer.TextClassifier(config), batches, 3e-3


def bert_case(rng):
    """Lesson 4: the tiny BERT's masked-LM pretraining (shipped config), 32 windows, the head
    scoring only the selected positions, as the notebook's ``SelectedPositionsOnly`` does."""
    checkpoint = checkpoints.read(
        data.data_dir() / "checkpoints" / "bert_mlm_shakespeare.safetensors"
    )
    config, tokenizer = checkpoint.config, checkpoint.tokenizer
    specials = tokenizer.special_ids
    words = np.setdiff1d(np.arange(config.vocab_size), specials)
    batches = []
    for _ in range(N_BATCHES):
        ids = rng.choice(words, size=(32, config.max_len))
        ids[:, 0], ids[:, -1] = tokenizer.cls_id, tokenizer.sep_id
        batches.append(mask_tokens(ids, rng, config.vocab_size, tokenizer.mask_id, specials))
    return lambda twin: selected_positions_only(twin, config), batches, 1e-3


def selected_positions_only(twin, config):
    """Lesson 4's wrapper: a BertForMaskedLM whose head scores the labelled positions only."""
    mlm = twin.bert.BertForMaskedLM(config)
    if twin.__name__.endswith("torch"):
        import torch.nn.functional as F
        from torch import nn

        class SelectedPositionsOnly(nn.Module):
            def __init__(self):
                super().__init__()
                self.mlm = mlm

            def forward(self, idx, targets):
                hidden, _ = self.mlm.bert(idx)  # (B, T, C)
                selected = targets != IGNORE_INDEX  # (B, T)
                embeddings = self.mlm.bert.embeddings.word_embeddings.weight
                logits = self.mlm.cls(hidden[selected], embeddings)  # (N, V)
                return logits, F.cross_entropy(logits, targets[selected])

        return SelectedPositionsOnly()
    import keras
    import tensorflow as tf

    class SelectedPositionsOnly(keras.Model):  # noqa: F811  (the TensorFlow twin)
        def __init__(self):
            super().__init__()
            self.mlm = mlm

        def call(self, idx, targets, training=None):
            hidden, _ = self.mlm.bert(idx, training=training)  # (B, T, C)
            selected = targets != IGNORE_INDEX  # (B, T)
            embeddings = self.mlm.bert.embeddings.word_embeddings.embeddings  # (V, C)
            logits = self.mlm.cls(tf.boolean_mask(hidden, selected), embeddings)  # (N, V)
            labels = tf.boolean_mask(targets, selected)
            losses = keras.ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            return logits, tf.reduce_mean(losses)

    return SelectedPositionsOnly()


def gpt2_case(rng):
    """Lesson 5's small GPT (scripts/train_gpt_shakespeare.py's architecture: 6 x 256, 4,096
    tokens, dropout 0.1), 4 windows of 256 tokens. No notebook trains it; the script trains the
    PyTorch twin with its own loop, so this row shows what the shared loops would do."""
    config = GPT2Config(vocab_size=4096, max_len=256, d_model=256, n_heads=4, n_layers=6)
    windows = rng.integers(0, 4096, (N_BATCHES, 4, 257))
    batches = [(w[:, :-1], w[:, 1:]) for w in windows]
    return lambda twin: twin.gpt2.GPT2(config), batches, 3e-4


CASES = {
    "char_rnn": ("Lesson 1 char LSTM", char_rnn_case),
    "shipped_rnn": ("Lesson 1 shipped preset", shipped_rnn_case),
    "word_rnn": ("Lesson 1 lab word LSTM", word_rnn_case),
    "seq2seq": ("Lesson 2 seq2seq + attention", seq2seq_case),
    "transformer": ("Lesson 3 genre transformer", transformer_case),
    "bert": ("Lesson 4 tiny BERT MLM", bert_case),
    "gpt2": ("Lesson 5 small GPT", gpt2_case),
}


def load_twins(threads: int, tf_intra_op: int | None = None):
    """Both twins' modules, each framework pinned to ``threads`` threads before its first op
    (TensorFlow: ``tf_intra_op`` threads per op when given, as Lesson 1's notebook sets 1)."""
    import tensorflow as tf
    import torch

    torch.set_num_threads(threads)
    tf.config.threading.set_intra_op_parallelism_threads(tf_intra_op or threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from lessonkit import tensorflow as tf_twin
    from lessonkit import torch as torch_twin

    for twin in (torch_twin, tf_twin):
        for module in ("char_rnn", "seq2seq", "transformer", "bert", "gpt2", "train"):
            __import__(f"{twin.__name__}.{module}")
    return {"PyTorch": torch_twin, "TensorFlow": tf_twin}


def tracing_count(model) -> int | None:
    """How many times the TensorFlow loop traced this model's step (None for PyTorch)."""
    cached = getattr(model, "_lessonkit_train_step", None)  # (key, step, optimizer)
    return cached[1].experimental_get_tracing_count() if cached is not None else None


def measure(case, twins, rounds: int, steps: int, seed: int = 0) -> dict:
    """Median step time of each twin, from the moments the loop asks for consecutive batches.

    Each call's first step is left out of the median: it is where a loop that compiles per call
    would pay. The first call's first two steps, less two medians, are the compile time (a second
    batch shape makes TensorFlow trace once more, for any shape)."""
    make, batches, lr = case(np.random.default_rng(seed))
    stamps: list[float] = []

    def get_batch(step):
        stamps.append(time.perf_counter())
        return batches[step % len(batches)]

    def run(name, twin, n_steps):
        stamps.clear()
        twin.train.train(models[name], get_batch, steps=n_steps, lr=lr, progress=False)
        return np.diff(stamps).tolist()  # the time of each step but the last

    models, first = {}, {}
    for name, twin in twins.items():
        models[name] = make(twin)
        first[name] = sum(run(name, twin, 3))
    times: dict[str, list[float]] = {name: [] for name in twins}
    for _ in range(rounds):
        for name, twin in twins.items():
            times[name] += run(name, twin, steps + 2)[1:]
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    return {
        "ms": ms,
        "compile_s": {name: first[name] - 2 * ms[name] / 1e3 for name in twins},
        "traces": tracing_count(models["TensorFlow"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps timed per round")
    parser.add_argument("--threads", type=int, default=2, help="threads of each framework")
    parser.add_argument(
        "--tf-intra-op", type=int, help="TensorFlow's threads per op (default: --threads)"
    )
    parser.add_argument(
        "--only", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES)
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 steps")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps = 3, 3
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown or args.rounds < 1 or args.steps < 1:
        parser.error(f"unknown models {unknown} or rounds/steps below 1")

    load_before = os.getloadavg()
    twins = load_twins(args.threads, args.tf_intra_op)
    print(
        f"{args.threads} threads per framework (TensorFlow: {args.tf_intra_op or args.threads} per"
        f" op), median of {args.rounds} rounds of {args.steps} steps"
    )
    print(
        f"{'model':<30} {'PyTorch ms':>10} {'TF ms':>8} {'TF/PT':>6} "
        f"{'PT first s':>10} {'TF compile s':>12} {'TF traces':>9}"
    )
    for name in names:
        title, case = CASES[name]
        r = measure(case, twins, args.rounds, args.steps)
        pt, tf_ = r["ms"]["PyTorch"], r["ms"]["TensorFlow"]
        print(
            f"{title:<30} {pt:>10.1f} {tf_:>8.1f} {tf_ / pt:>5.2f}x "
            f"{r['compile_s']['PyTorch']:>10.1f} {r['compile_s']['TensorFlow']:>12.1f} "
            f"{r['traces'] if r['traces'] is not None else '-':>9}",
            flush=True,
        )
    load_after = os.getloadavg()
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; after "
        + ", ".join(f"{x:.2f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
