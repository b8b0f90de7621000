"""Throughput of our GPT-2 tokenizer (pure Python, pre-token cache) against tiktoken (Rust).

Both encode the same few hundred KB of Shakespeare with GPT-2's vocabulary, built offline from
data/gpt2/; repeats are interleaved (ours, tiktoken, ours, ...) so both see the same machine load,
and the median of each is compared. The first, cold-cache pass of ours is reported separately.
Then the adversarial cases, one huge pre-token each (no cache helps): a million letters without a
space and 20,000 CJK characters, reported as seconds beside tiktoken's and as a ratio.

    python benchmarks/bpe.py [--chars 400000] [--repeats 7] [--adversarial-repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tiktoken_ext.openai_public import r50k_pat_str

from lessonkit.data import data_dir, load_split
from lessonkit.text import ENDOFTEXT, GPT2Tokenizer


def seconds(fn, text: str) -> float:
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--chars", type=int, default=400_000, help="characters of Shakespeare to encode"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats of each tokenizer")
    parser.add_argument("--adversarial-repeats", type=int, default=3)
    args = parser.parse_args()

    text = load_split("validation")[: args.chars]
    ours = GPT2Tokenizer.from_data()
    ranks = data_gym_to_mergeable_bpe_ranks(
        str(data_dir() / "gpt2" / "vocab.bpe"), str(data_dir() / "gpt2" / "encoder.json")
    )
    reference = tiktoken.Encoding(
        name="gpt2_local",
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: 50256},
    )
    if ours.encode(text) != reference.encode_ordinary(text):
        raise SystemExit("the two tokenizers disagree on the benchmark text")

    fresh = GPT2Tokenizer.from_data()
    cold = seconds(fresh.encode, text)
    ours_times, tiktoken_times = [], []
    for _ in range(args.repeats):
        ours_times.append(seconds(ours.encode, text))
        tiktoken_times.append(seconds(reference.encode_ordinary, text))
    ours_median, tiktoken_median = statistics.median(ours_times), statistics.median(tiktoken_times)
    size = len(text.encode("utf-8"))
    n_tokens = len(reference.encode_ordinary(text))
    print(f"text: {size:,} bytes of Shakespeare (validation split), {n_tokens:,} GPT-2 tokens")
    median = f"(median of {args.repeats})"
    print(f"tiktoken encode_ordinary: {size / tiktoken_median / 1e6:6.2f} MB/s {median}")
    print(f"ours, warm cache:         {size / ours_median / 1e6:6.2f} MB/s {median}")
    print(f"ours, cold cache:         {size / cold / 1e6:6.2f} MB/s (first pass)")
    print(
        f"ratio: ours is {ours_median / tiktoken_median:.1f}x slower than tiktoken with the cache, "
        f"{cold / tiktoken_median:.1f}x on a cold cache"
    )
    for name, hard in {"1 MB pre-token ('a' * 1,000,000)": "a" * 1_000_000,
                       "20,000 CJK characters ('中' * 20,000)": "中" * 20_000}.items():  # fmt: skip
        if ours.encode_ordinary(hard) != reference.encode_ordinary(hard):
            raise SystemExit(f"the two tokenizers disagree on {name}")
        ours_times, tiktoken_times = [], []
        for _ in range(max(args.adversarial_repeats, 1)):
            ours_times.append(seconds(ours.encode_ordinary, hard))
            tiktoken_times.append(seconds(reference.encode_ordinary, hard))
        a, b = statistics.median(ours_times), statistics.median(tiktoken_times)
        print(f"{name}: ours {a:.2f} s, tiktoken {b:.2f} s, ratio {a / b:.1f}x (median of "
              f"{len(ours_times)})")  # fmt: skip


if __name__ == "__main__":
    main()
