"""Train Lesson 5's bundled GPT on the Shakespeare training plays: seeded, resumable, one thread.

    python scripts/train_gpt_shakespeare.py                    # a fresh run of 4,500 steps
    python scripts/train_gpt_shakespeare.py --hours 2          # or a schedule fitted to 2 hours
    python scripts/train_gpt_shakespeare.py --resume           # go on from build/gpt_shakespeare/
    python scripts/train_gpt_shakespeare.py --finish           # ship the best step so far

GPT-2's exact architecture (the PyTorch twin ``lessonkit.torch.gpt2.GPT2``) with the course's own
tokenizer: a 4,096-token byte-level BPE that ``train_bpe`` (Lesson 5a) learns from the training
plays with GPT-2's split pattern and ``<|endoftext|>``; GPT-2 is the same algorithm with 50,257
tokens. AdamW (weight decay on matrices only), a linear warm-up and a cosine decay fitted to the
step budget, dropout, gradients clipped at 1.0, random windows of 256 tokens.

Every ``--save-minutes`` the script writes its whole state (weights, AdamW moments, the step, both
random generators, the best weights so far) as safetensors files under ``--work`` (never pickle),
so ``--resume`` continues exactly where it stopped; run it in stretches of at most two hours. It
keeps the step with the best validation loss (every ``--eval-every`` steps, on every 4th window of
the validation plays) and, when done, writes that step in float16 to ``--out`` and prints the
figures ``data/README.md`` records: loss per token and **per character** on all validation and
test windows, beside a unigram baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from lessonkit.data import data_dir, load_split, random_batch, sha256_of, windows
from lessonkit.models.gpt2 import GPT2Config
from lessonkit.pretrained import SHAKESPEARE_CHECKPOINT
from lessonkit.text import ENDOFTEXT, GPT2_SPLIT_PATTERN, train_bpe
from lessonkit.torch.gpt2 import GPT2, load_checkpoint, save_checkpoint

VOCAB_SIZE = 4096
STEPS = 4500  # a fresh run's budget: about 2.5 hours on one idle core (18M tokens, 19 passes)
CONFIG = GPT2Config(
    vocab_size=VOCAB_SIZE, max_len=256, d_model=256, n_heads=4, n_layers=6, dropout=0.1
)
BATCH, CONTEXT = 16, 256
SOURCE = (
    "lessonkit's small GPT trained on the Shakespeare training plays "
    "(scripts/train_gpt_shakespeare.py)"
)


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up to ``lr``, then a cosine down to ``lr / 10`` at the last step."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup - 1, 1)
    return lr / 10 + 0.5 * (lr - lr / 10) * (1 + math.cos(math.pi * min(progress, 1.0)))


@torch.no_grad()
def loss_sums(model: GPT2, inputs: np.ndarray, targets: np.ndarray, batch: int = 16) -> float:
    """Summed cross-entropy (nats) of every target token, in eval mode."""
    model.eval()
    total = 0.0
    for i in range(0, len(inputs), batch):
        x = torch.as_tensor(inputs[i : i + batch])
        y = torch.as_tensor(targets[i : i + batch])
        logits, _ = model(x)
        total += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum"
        ).item()
    return total


def target_chars(tokenizer, targets: np.ndarray) -> int:
    """How many characters the target tokens spell (the corpus is ASCII: one byte each)."""
    lengths = np.array([len(tokenizer.token_bytes(i)) for i in range(tokenizer.vocab_size)])
    return int(lengths[targets].sum())


def build_tokenizer():
    return train_bpe(
        load_split("train"), VOCAB_SIZE, special_tokens=(ENDOFTEXT,), pattern=GPT2_SPLIT_PATTERN
    )


def encode_split(tokenizer, split: str) -> np.ndarray:
    return np.array(tokenizer.encode_ordinary(load_split(split)), dtype=np.int64)


def save_state(work: Path, model, optimizer, step: int, steps: int, rng, best: dict) -> None:
    """Weights, AdamW moments, the best weights and the counters, as safetensors (atomically)."""
    arrays = {f"model.{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    names = {p: n for n, p in model.named_parameters()}
    for param, state in optimizer.state.items():
        for key in ("exp_avg", "exp_avg_sq"):
            arrays[f"adam.{key}.{names[param]}"] = state[key].numpy()
    arrays["torch_rng"] = torch.get_rng_state().numpy()
    arrays |= {f"best.{k}": v for k, v in best["arrays"].items()}
    meta = {
        "step": step,
        "steps": steps,
        "adam_step": int(next(iter(optimizer.state.values()))["step"]) if optimizer.state else 0,
        "rng": rng.bit_generator.state,
        "best_loss": best["loss"],
        "best_step": best["step"],
        "history": best["history"],
    }
    tmp = work / "state.tmp"
    save_file(arrays, str(tmp), metadata={"meta": json.dumps(meta)})
    tmp.replace(work / "state.safetensors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, help="fit the step budget to this many hours")
    parser.add_argument(
        "--steps",
        type=int,
        default=0,
        help=f"step budget (0: {STEPS}, or from --hours; with "
        "--resume: keep the run's, and a new one refits the schedule from that step on)",
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--save-minutes", type=float, default=10.0)
    parser.add_argument("--stretch-hours", type=float, default=2.0, help="stop after this long")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--finish", action="store_true", help="only ship the best step so far")
    parser.add_argument("--work", type=Path, default=Path("build/gpt_shakespeare"))
    parser.add_argument("--out", type=Path, default=data_dir() / SHAKESPEARE_CHECKPOINT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    tokenizer = build_tokenizer()
    train_ids = encode_split(tokenizer, "train")
    val_x, val_y = windows(encode_split(tokenizer, "validation"), CONTEXT)
    probe = slice(None, None, 4)
    print(
        f"tokenizer: {tokenizer.vocab_size} tokens learned in {time.perf_counter() - start:.0f} s;"
        f" training tokens {len(train_ids):,}; validation windows {len(val_x)}",
        flush=True,
    )

    torch.manual_seed(0)
    model = GPT2(CONFIG)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.95),
    )
    rng = np.random.default_rng(0)
    step, steps = 0, args.steps or (0 if args.hours else STEPS)
    best = {"loss": float("inf"), "step": -1, "arrays": {}, "history": []}
    state_file = args.work / "state.safetensors"
    if args.resume or args.finish:
        arrays = load_file(str(state_file))
        meta = json.loads(
            __import__("safetensors").safe_open(str(state_file), "np").metadata()["meta"]
        )
        model.load_state_dict(
            {k[6:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model.")}
        )
        for name, param in model.named_parameters():
            if f"adam.exp_avg.{name}" in arrays:
                optimizer.state[param] = {
                    "step": torch.tensor(float(meta["adam_step"])),
                    "exp_avg": torch.from_numpy(arrays[f"adam.exp_avg.{name}"]),
                    "exp_avg_sq": torch.from_numpy(arrays[f"adam.exp_avg_sq.{name}"]),
                }
        torch.set_rng_state(torch.from_numpy(arrays["torch_rng"]))
        rng.bit_generator.state = meta["rng"]
        step, steps = meta["step"], args.steps or meta["steps"]  # --steps refits the schedule
        best = {
            "loss": meta["best_loss"],
            "step": meta["best_step"],
            "arrays": {k[5:]: v for k, v in arrays.items() if k.startswith("best.")},
            "history": meta["history"],
        }
        print(f"resumed at step {step} of {steps}; best validation {best['loss']:.4f}", flush=True)

    if not args.finish:
        if steps == 0:  # fit the schedule to the budget: time 10 steps, then fix the step count
            t0 = time.perf_counter()
            model.train()
            for _ in range(10):
                x, y = random_batch(train_ids, CONTEXT, BATCH, np.random.default_rng(123))
                _, loss = model(torch.as_tensor(x), torch.as_tensor(y))
                loss.backward()
            model.zero_grad(set_to_none=True)
            per_step = (time.perf_counter() - t0) / 10 * 1.08  # forward+backward, plus the update
            evals = 0.02  # evaluation takes about 2% of the time
            steps = int(args.hours * 3600 * (1 - evals) / per_step)
            print(f"{per_step:.2f} s per step -> a budget of {steps} steps", flush=True)
        stretch_end = time.perf_counter() + args.stretch_hours * 3600
        stop = []  # SIGTERM (a machine going down, `kill`): save, then stop like a stretch's end
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        last_save = time.perf_counter()
        val_tokens = val_y[probe].size
        while step < steps and time.perf_counter() < stretch_end and not stop:
            model.train()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, steps, args.lr, args.warmup)
            x, y = random_batch(train_ids, CONTEXT, BATCH, rng)
            _, loss = model(torch.as_tensor(x), torch.as_tensor(y))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if step % args.eval_every == 0 or step == steps:
                val = loss_sums(model, val_x[probe], val_y[probe]) / val_tokens
                best["history"].append([step, round(loss.item(), 4), round(val, 4)])
                if val < best["loss"]:
                    best.update(
                        loss=val,
                        step=step,
                        arrays={
                            k: v.detach().numpy().copy() for k, v in model.state_dict().items()
                        },
                    )
                print(
                    f"step {step}/{steps}: train {loss.item():.3f}, validation {val:.4f} "
                    f"(best {best['loss']:.4f} at {best['step']}), "
                    f"{(time.perf_counter() - start) / 60:.1f} min",
                    flush=True,
                )
            if time.perf_counter() - last_save > args.save_minutes * 60:
                save_state(args.work, model, optimizer, step, steps, rng, best)
                last_save = time.perf_counter()
        save_state(args.work, model, optimizer, step, steps, rng, best)
        if step < steps:
            print(f"stopped at step {step} of {steps}: run again with --resume", flush=True)
            raise SystemExit(75)  # EX_TEMPFAIL: `make checkpoints` resumes

    # Ship the best step in float16 and measure what we ship.
    model.load_state_dict({k: torch.from_numpy(v) for k, v in best["arrays"].items()})
    model.source = SOURCE
    save_checkpoint(model, args.out, tokenizer=tokenizer, dtype=np.float16)
    shipped, _, _ = load_checkpoint(args.out)
    counts = np.bincount(train_ids, minlength=VOCAB_SIZE) + 1.0
    unigram = -np.log(counts / counts.sum())
    for split in ("validation", "test"):
        x, y = windows(encode_split(tokenizer, split), CONTEXT)
        nats = loss_sums(shipped, x, y)
        chars = target_chars(tokenizer, y)
        print(
            f"{split}: {nats / y.size:.4f} nats/token, {nats / chars:.4f} nats/char "
            f"({len(x)} windows, {y.size:,} tokens, {chars:,} characters, "
            f"{y.size / chars:.3f} tokens/char); unigram {unigram[y].sum() / chars:.4f} nats/char"
        )
    print(f"best step {best['step']} of {steps} (every-4th-window validation {best['loss']:.4f})")
    print(f"history [step, train, validation]: {best['history']}")
    print(f"config: {CONFIG}; parameters {sum(p.numel() for p in model.parameters()):,}")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {sha256_of(args.out)}"
    )


if __name__ == "__main__":
    main()
