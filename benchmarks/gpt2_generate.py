"""Greedy generation speed on GPT-2 small's architecture (124M), side by side in one run.

    python benchmarks/gpt2_generate.py [--new-tokens 256] [--rounds 3] [--uncached-rounds 1]
    python benchmarks/gpt2_generate.py --floor    # where one cached token's time goes

One seeded ``transformers.GPT2LMHeadModel`` (random weights from ``GPT2Config()``, nothing
downloaded) gives its weights to our PyTorch and TensorFlow twins. Each contender continues the
same prompt greedily by ``--new-tokens`` tokens:

- our PyTorch twin through ``lessonkit.generation.generate`` with the KV cache, and without it
  (``WithoutCache``: every step re-reads the whole sequence; slow, so fewer rounds);
- our TensorFlow twin with the KV cache (compiled step);
- transformers' own ``generate()`` (greedy, its KV cache).

All PyTorch contenders share one process, so one OpenMP setting (``--omp-wait-policy``). Rounds
alternate between contenders, so a change in machine load hits all of them; each
contender's median over its rounds is reported as tokens per second, with ratios, after checking
that all produced the same tokens.

``--floor`` times our PyTorch twin alone, per token: through ``generate``, through its ``run``
called directly (no NumPy, no sampler), and its weight products alone (one row through every
block's four products and the tied output): what no change to the code around them can undercut.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

PROMPT = "A robot must obey the orders given it by human beings except where such orders"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uncached-rounds", type=int, default=1)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="instead: milliseconds per token of our PyTorch twin through generate(), through its "
        "run() called directly, and of its weight products alone (the memory-bandwidth floor)",
    )
    parser.add_argument(
        "--omp-wait-policy",
        default="",
        help="OpenMP's OMP_WAIT_POLICY for PyTorch (default: not set, OpenMP's own default, the "
        "fastest on an idle machine; PASSIVE: idle threads sleep at once, which a busy machine "
        "needs: there spinning threads make each small step many times slower)",
    )
    args = parser.parse_args()
    if args.omp_wait_policy:  # before torch starts; empty: OpenMP's default
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy

    import torch
    import transformers

    from lessonkit.generation import generate
    from lessonkit.models.gpt2 import GPT2Config, WithoutCache, hf_arrays_to_ours
    from lessonkit.tensorflow import gpt2 as tf_gpt2
    from lessonkit.tensorflow.weights import from_arrays as tf_from_arrays
    from lessonkit.text import GPT2Tokenizer
    from lessonkit.torch import gpt2 as torch_gpt2
    from lessonkit.torch.weights import from_arrays as torch_from_arrays

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config()).eval()
    arrays = hf_arrays_to_ours({k: v.numpy() for k, v in hf.state_dict().items()})
    config = GPT2Config.small()
    ours_torch = torch_from_arrays(torch_gpt2.GPT2(config), arrays).eval()
    ours_tf = tf_from_arrays(tf_gpt2.GPT2(config), arrays)
    prompt = GPT2Tokenizer.from_data().encode(PROMPT)
    n = args.new_tokens
    if args.floor:
        floor(ours_torch, prompt, n, args.rounds)
        return

    @torch.inference_mode()
    def hf_generate(n_new: int) -> np.ndarray:
        out = hf.generate(
            torch.tensor([prompt]),
            max_new_tokens=n_new,
            min_new_tokens=n_new,
            do_sample=False,
            pad_token_id=50256,
        )
        return out[0, len(prompt) :].numpy()

    contenders = {
        "ours, PyTorch, KV cache": lambda k: generate(ours_torch, prompt, k, temperature=0),
        "ours, TensorFlow, KV cache": lambda k: generate(ours_tf, prompt, k, temperature=0),
        "transformers generate()": hf_generate,
        "ours, PyTorch, no cache": lambda k: generate(
            WithoutCache(ours_torch), prompt, k, temperature=0
        ),
    }
    if args.rounds < 1 or args.uncached_rounds < 0:
        raise SystemExit("--rounds must be at least 1 and --uncached-rounds at least 0")
    if args.uncached_rounds == 0:  # no data for it: leave the uncached contender out
        del contenders["ours, PyTorch, no cache"]
    rounds = {name: args.rounds for name in contenders}
    if "ours, PyTorch, no cache" in rounds:
        rounds["ours, PyTorch, no cache"] = args.uncached_rounds
    for run in contenders.values():  # warm-up: tracing, allocator, first-call costs
        run(4)

    rates: dict[str, list[float]] = {name: [] for name in contenders}
    tokens: dict[str, np.ndarray] = {}
    for r in range(max(rounds.values())):
        for name, run in contenders.items():
            if r >= rounds[name]:
                continue
            start = time.perf_counter()
            tokens[name] = np.asarray(run(n))
            rates[name].append(n / (time.perf_counter() - start))
            print(f"round {r + 1}: {name}: {rates[name][-1]:.1f} tokens/s", flush=True)

    reference = tokens["transformers generate()"]
    for name, generated in tokens.items():
        same = np.array_equal(generated, reference)
        print(f"{name}: same {n} tokens as transformers: {same}")
    medians = {name: statistics.median(r) for name, r in rates.items()}
    print(f"\nGPT-2 124M architecture, greedy, {len(prompt)}-token prompt + {n} new tokens")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(not set)')}; transformers {transformers.__version__}")  # fmt: skip
    base = medians["ours, PyTorch, KV cache"]
    for name, rate in medians.items():
        print(
            f"{name:>28}: {rate:6.1f} tokens/s (median of {len(rates[name])}), "
            f"{rate / base:.2f}x ours with cache"
        )
    if "ours, PyTorch, no cache" in medians:
        speed_up = base / medians["ours, PyTorch, no cache"]
        print(f"KV cache speed-up (ours, PyTorch): {speed_up:.1f}x")
    print(f"ours / transformers generate(): {base / medians['transformers generate()']:.2f}x")


def floor(model, prompt: list[int], n: int, rounds: int) -> None:
    """Where a cached token's time goes: the whole loop, the model alone, its weight reads alone."""
    import torch

    from lessonkit.generation import generate
    from lessonkit.torch.gpt2 import _product

    @torch.inference_mode()
    def model_only() -> None:  # run() with the cache, argmax in torch: no NumPy, no sampler
        idx, state = torch.tensor([prompt]), None
        for _ in range(n):
            logits, state, _ = model.run(idx, state, last_only=True, need_weights=False)
            idx = logits[:, -1].argmax(-1, keepdim=True)  # (1, 1)

    @torch.inference_mode()
    def weight_products() -> None:  # the 4 products of every block and the tied output, 1 row
        x = torch.randn(1, model.config.d_model)
        for _ in range(n):
            for block in model.h:
                for layer in (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc):
                    out = layer(x)  # (1, n_out), each in the layout generation reads
                block.mlp.c_proj(out)
            _product(model, x, model.wte.weight.T)  # the tied output, (1, C) -> (1, V)

    loops = {
        "generate() with the KV cache": lambda: generate(model, prompt, n, temperature=0),
        "run() called directly": model_only,
        "the weight products alone": weight_products,
    }
    times: dict[str, list[float]] = {name: [] for name in loops}
    for loop in loops.values():  # warm-up
        loop()
    for _ in range(rounds):
        for name, loop in loops.items():
            start = time.perf_counter()
            loop()
            times[name].append((time.perf_counter() - start) / n * 1000)
    print(f"our PyTorch twin, {n} new tokens, median of {rounds} interleaved rounds:")
    for name, values in times.items():
        print(f"{name:>30}: {statistics.median(values):5.1f} ms per token")


if __name__ == "__main__":
    main()
