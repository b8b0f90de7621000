# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       01_lab_word_generation.ipynb: [lesson, exercise]
#       solutions/01_lab_word_generation.ipynb: [lesson, solution]
# ---

# %% [markdown]
# # Lesson 1 lab · Word-level text generation
#
# In the lesson the tokens were characters. Here you build a language model whose tokens are
# **words**, then compare the two: how big the vocabulary gets, how often a new play uses a word
# the model has never seen, and how the samples read side by side.
#
# Each exercise has a check cell underneath that runs your function on our own cases and tells
# you exactly what is wrong. Until you fill in a TODO the check says "not done yet", and the rest
# of the notebook still runs using lessonkit's own version, so you can read ahead.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# Pick the framework here: both twins have the same names, so nothing else changes.

# %%
FRAMEWORK = "torch"  # or "tensorflow"

import importlib

import numpy as np

from lessonkit import data, exercises, plots
from lessonkit.generation import generate_text
from lessonkit.models.char_rnn import CharRNNConfig
from lessonkit.text import WordTokenizer

char_rnn = importlib.import_module(f"lessonkit.{FRAMEWORK}.char_rnn")
training = importlib.import_module(f"lessonkit.{FRAMEWORK}.train")
train_text, valid_text = data.load_split("train"), data.load_split("validation")

# %% [markdown]
# ## Exercise 1: a word vocabulary
#
# Word pieces come from `WordTokenizer.split`, which keeps apostrophes inside words ("'tis",
# "o'er") and makes each punctuation mark and newline a token of its own:

# %%
print(WordTokenizer.split("'Tis now struck twelve. Get thee to bed,\nFrancisco."))


# %% [markdown]
# Write `build_vocab(text, max_size)`: a list of at most `max_size` entries, `"<unk>"` first
# (id 0, standing for every word left out), then the most frequent pieces, most frequent first,
# ties in alphabetical order. Hint: `collections.Counter`.

# %% tags=["exercise"]
def build_vocab(text, max_size):
    # the pieces to count: WordTokenizer.split(text)
    raise NotImplementedError  # TODO: your code here


exercises.check_build_vocab(build_vocab)

# %% tags=["solution"]
from collections import Counter


def build_vocab(text, max_size):
    pieces = WordTokenizer.split(text)
    counts = Counter(pieces)
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return ["<unk>"] + ranked[: max_size - 1]


exercises.check_build_vocab(build_vocab)


# %% [markdown]
# ## Exercise 2: words to ids
#
# Write `encode_words(text, vocab)`: the id (position in `vocab`) of every piece of `text`, and
# 0 for a piece that is not in the vocabulary. A dictionary from word to id makes it fast.

# %% tags=["exercise"]
def encode_words(text, vocab):
    raise NotImplementedError  # TODO: your code here


exercises.check_encode_words(encode_words)


# %% tags=["solution"]
def encode_words(text, vocab):
    index = {word: i for i, word in enumerate(vocab)}
    return [index.get(piece, 0) for piece in WordTokenizer.split(text)]


exercises.check_encode_words(encode_words)


# %% [markdown]
# ## Exercise 3: training windows
#
# Write `make_windows(ids, n)`: cut `ids` into non-overlapping windows of `n` tokens and return
# `(inputs, targets)`, two arrays of shape `(number of windows, n)` where each target row is its
# input row shifted by one token. Use every window that has a next token for its last position.

# %% tags=["exercise"]
def make_windows(ids, n):
    ids = np.asarray(ids)
    raise NotImplementedError  # TODO: your code here


exercises.check_make_windows(make_windows)


# %% tags=["solution"]
def make_windows(ids, n):
    ids = np.asarray(ids)
    count = (len(ids) - 1) // n
    inputs = ids[: count * n].reshape(count, n)
    targets = ids[1 : count * n + 1].reshape(count, n)
    return inputs, targets


exercises.check_make_windows(make_windows)


# %% [markdown]
# ## Vocabulary size and unknown words: characters against words
#
# The next cells use your functions when they pass their checks, and lessonkit's own otherwise.
# A character model needs under a hundred symbols and never meets an unknown one; a word model
# needs thousands, and a new play still brings words it has never seen (names above all).

# %%
def passes(check, function):
    return check(function).passed

vocab_fn = build_vocab if passes(exercises.check_build_vocab, build_vocab) else (
    lambda text, size: WordTokenizer.from_text(text, max_size=size).words)
encode_fn = encode_words if passes(exercises.check_encode_words, encode_words) else (
    lambda text, vocab: WordTokenizer(vocab).encode(text))
windows_fn = make_windows if passes(exercises.check_make_windows, make_windows) else data.windows

# %%
# NBVAL_CHECK_OUTPUT
all_words = vocab_fn(train_text, 10**7)
print(f"distinct characters in the training plays: {len(set(train_text))}")
print(f"distinct word pieces in the training plays: {len(all_words) - 1:,}")
print(f"{'vocabulary size':>16} | unknown share of validation tokens")
for size in (1000, 2000, 5000, 10000, 20000):
    valid_ids = np.array(encode_fn(valid_text, all_words[:size]))
    print(f"{size:>16,} | {np.mean(valid_ids == 0):.1%}")

# %% lessonkit_figure="lab_unknown_words"
import matplotlib.pyplot as plt

sizes = np.unique(np.geomspace(100, len(all_words), 25).astype(int))
# Validation occurrences of each training word, most frequent training word first (id 0: unseen).
counts = np.bincount(encode_fn(valid_text, all_words), minlength=len(all_words))
covered = np.cumsum(counts[1:]) / counts.sum()  # share covered by the (s - 1) most frequent words
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(sizes, [1 - covered[min(s - 1, len(covered)) - 1] for s in sizes], marker=".")
ax.set(title="Word vocabulary size against unknown validation words",
       xlabel="vocabulary size (most frequent training words)", ylabel="share of <unk> tokens")
ax.grid(alpha=0.3)

# %% [markdown]
# ## A word-level model
#
# The network is the one from the lesson: only `vocab_size` changes. Its output layer now
# scores 5,000 words instead of 84 characters, so most of its parameters sit in the embedding
# and the output layer. We train it briefly to see the loss move, then load the version trained
# for longer by `scripts/train_rnn.py --level word`.

# %%
# NBVAL_CHECK_OUTPUT
word_model, word_tokenizer, _ = char_rnn.load_checkpoint(data.data_dir() / "checkpoints" / "word_rnn.safetensors")
char_model, char_tokenizer, _ = char_rnn.load_checkpoint(data.data_dir() / "checkpoints" / "char_rnn.safetensors")
print("word model:", word_model.config)
print("char model:", char_model.config)

# %%
vocab = vocab_fn(train_text, 5000)
train_ids = np.array(encode_fn(train_text, vocab))
inputs, targets = windows_fn(train_ids, 32)
print("training windows:", inputs.shape)
model = char_rnn.CharRNN(CharRNNConfig(vocab_size=len(vocab), d_embed=64, d_model=256, n_layers=2))
rng = np.random.default_rng(0)


def random_windows(step):
    rows = rng.integers(0, len(inputs), size=32)
    return inputs[rows], targets[rows]


history = training.train(model, random_windows, steps=80, max_seconds=20)
fig = plots.loss_curves({"word model, first steps": (history["step"], history["loss"])},
                        title="Word-level LSTM: the first seconds of training", ylabel="nats per word")

# %% [markdown]
# ## Loss per word or per character?
#
# The two losses are not comparable as they stand: one is per word, one per character. Dividing
# the total loss of the validation text by its number of characters puts both on the same scale
# (nats per character), which is what "how surprised is the model by this text" really means.

# %%
# NBVAL_CHECK_OUTPUT
sample = valid_text[:20_000]
for name, model_, tokenizer_ in (("characters", char_model, char_tokenizer), ("words", word_model, word_tokenizer)):
    ids = np.array(tokenizer_.encode(sample))
    x, y = data.windows(ids, 32 if name == "words" else 128)
    per_token = training.evaluate(model_, x, y)
    characters_covered = len(sample) * y.size / len(ids)  # the windows cover this share of the text
    per_character = per_token * y.size / characters_covered
    print(f"{name:>10}: {per_token:.2f} nats per token over {y.size:,} tokens "
          f"= {per_character:.2f} nats per character")

# %% [markdown]
# The word model pays nothing to spell, but it cannot spell at all: every rare word and most names
# become `<unk>`, which it predicts cheaply and we cannot read. So compare samples too.

# %%
prompt = "KING.\nWhat say you, my lords"
for name, model_, tokenizer_ in (("character", char_model, char_tokenizer), ("word", word_model, word_tokenizer)):
    text = generate_text(model_, tokenizer_, prompt, 300 if name == "character" else 60, temperature=0.8, seed=3)
    print(f"=== {name}-level sample ===\n{prompt}{text}\n")

# %% [markdown]
# ## What to take away
#
# | | characters | words |
# |---|---|---|
# | vocabulary | under 100 symbols | thousands, and still incomplete |
# | unknown tokens | none | every name or rare word not in the vocabulary |
# | what the model must learn | spelling, then words, then style | word order and style |
# | sequence length for the same text | long (about 4× the words) | short |
#
# Subword tokenizers (byte-pair encoding, Lesson 5; WordPiece, Lesson 4) sit in between: a
# vocabulary of tens of thousands of pieces, frequent words whole, rare words spelled from
# pieces, and no unknown tokens at all.
#
# **Challenge**: train the word model with a 10,000-word vocabulary, or on another author's
# text of your own, and see how the unknown share and the samples change.
