"""Which thread settings make the training notebooks fastest, on an idle and on a busy machine?

    python benchmarks/threads.py [--rounds 3] [--load] [names ...]

Each PyTorch notebook that trains (Lessons 1-5 and the word lab; or those whose path contains one
of ``names``) is executed from a fresh kernel, as ``benchmarks/notebooks.py`` does, under each
thread setting below; rounds are interleaved (every setting once, then again). Printed: the
median of each, with its ratio to today's setting, for the wall time and for the training steps
the notebook's loops ran (most train for a fixed time, so more steps is what a faster setting
buys). ``--load`` starts one competing CPU-bound process for the whole run (a shared CI
machine); the load average is printed before and after.

Settings (OpenMP's threads are PyTorch's; TensorFlow keeps its own pool):

- ``PASSIVE``: ``OMP_WAIT_POLICY=PASSIVE``, idle threads sleep at once (the setting until now);
- ``default``: no OpenMP variable: the runtime's default (threads spin a while before sleeping);
- ``1 thread``: ``OMP_NUM_THREADS=1``, no waiting policy needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebooks import NOTEBOOKS, measure  # noqa: E402  (benchmarks/notebooks.py)

TRAINING = [
    "01_generative_rnn_pytorch",
    "01_lab_word_generation",
    "02_attention_seq2seq_pytorch",
    "03_transformers_pytorch",
    "04_bert_pytorch",
    "05b_gpt2_internals_pytorch",
]
SETTINGS = {
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "default": {},
    "1 thread": {"OMP_NUM_THREADS": "1"},
}
BASE = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "HF_HUB_OFFLINE": "1",
    "PYTHONHASHSEED": "0",
}


def environment(setting: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_", "OPENBLAS_"))}
    return env | BASE | setting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="only notebooks whose path contains one of these")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", action="store_true", help="one competing CPU-bound process")
    args = parser.parse_args()
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    names = [n for n in TRAINING if not args.names or any(a in n for a in args.names)]
    paths = [NOTEBOOKS / f"{name}.ipynb" for name in names]
    burner = None
    if args.load:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    before = os.getloadavg()
    seconds: dict[tuple[str, str], list[float]] = {}
    steps: dict[tuple[str, str], list[int]] = {}
    try:
        for r in range(args.rounds):
            for path in paths:
                for label, setting in SETTINGS.items():
                    row = measure(path, environment(setting))
                    if row.get("error"):
                        raise SystemExit(f"{path.name} failed under {label}: {row['error']}")
                    seconds.setdefault((path.stem, label), []).append(row["seconds"])
                    steps.setdefault((path.stem, label), []).append(row["training_steps"])
                    print(
                        f"round {r + 1}: {path.stem}, {label}: {row['seconds']:.1f} s, "
                        f"{row['training_steps']} training steps",
                        flush=True,
                    )
    finally:
        if burner is not None:
            burner.kill()
    after = os.getloadavg()
    context = "one competing CPU-bound process" if args.load else "no other job"
    print(f"\n{context}; load average {before[0]:.2f} before, {after[0]:.2f} after; "
          f"median of {args.rounds} interleaved runs, seconds (ratio to PASSIVE)")  # fmt: skip
    print("| notebook | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---:|" * len(SETTINGS))
    totals = dict.fromkeys(SETTINGS, 0.0)
    for path in paths:
        medians = {label: statistics.median(seconds[(path.stem, label)]) for label in SETTINGS}
        base = medians["PASSIVE"]
        cells = [f"{m:.1f} ({m / base:.2f})" for m in medians.values()]
        print(f"| `{path.stem}` | " + " | ".join(cells) + " |")
        for label, m in medians.items():
            totals[label] += m
    cells = [f"**{t:.0f} ({t / totals['PASSIVE']:.2f})**" for t in totals.values()]
    print("| all | " + " | ".join(cells) + " |")
    print("\ntraining steps the notebook's loops ran (their time budgets are fixed), median "
          "(ratio to PASSIVE)")  # fmt: skip
    print("| notebook | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---:|" * len(SETTINGS))
    for path in paths:
        medians = {label: statistics.median(steps[(path.stem, label)]) for label in SETTINGS}
        if not medians["PASSIVE"]:
            continue  # no training loop in this notebook
        cells = [f"{m:,.0f} ({m / medians['PASSIVE']:.2f})" for m in medians.values()]
        print(f"| `{path.stem}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
