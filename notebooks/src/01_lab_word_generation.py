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
# ## Before you start: a short quiz
#
# A few questions on what this lab builds on. Guess if you must: each answer explains itself,
# and the lab comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson1_lab", part="pre")

# %% [markdown]
# Pick the framework here: both twins have the same names, so nothing else changes.

# %%
FRAMEWORK = "torch"  # or "tensorflow"

import importlib

import numpy as np

from lessonkit import data, exercises, plots
from lessonkit.models.char_rnn import CharRNNConfig
from lessonkit.sampling import sample
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
# scores thousands of words instead of under a hundred characters, so most of its parameters sit in the embedding
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
# the total loss of a stretch of validation text by its number of characters puts both on the
# same scale (nats per character), which is what "how surprised is the model by this text"
# really means.
#
# One more thing makes the raw word loss unfair: `<unk>`. When the next word is one the model
# never learned, it only has to predict "some rare word", one token, cheap and frequent; it never
# pays for *which* word. The character model pays for every letter of it. So we charge the word
# model fairly: for each `<unk>` target it pays what the character model pays to spell that
# word, letter by letter, in the same place of the text. (This is still generous to the word
# model: a real two-level model would also pay for predicting `<unk>` itself.)
#
# For that we need the loss at every position, not only the mean. `token_losses` reads all the
# windows side by side, one position per `step`, and keeps the loss of every target.

# %%
def token_losses(model, inputs, targets):
    """The loss (nats) of every target: ``(windows, T)``, one ``step`` per position."""
    state, losses, rows = None, [], np.arange(len(inputs))
    for t in range(inputs.shape[1]):
        logits, state = model.step(inputs[:, t : t + 1], state)  # (windows, V)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax
        losses.append(-log_probs[rows, targets[:, t]])
    return np.stack(losses, axis=1)


def spans(text, pieces):
    """Where each word piece sits in ``text``: a list of (start, end) character positions."""
    position, found = 0, []
    for piece in pieces:
        start = text.index(piece, position)
        position = start + len(piece)
        found.append((start, position))
    return found


sample_text = valid_text[:20_000]
char_x, char_y = data.windows(np.array(char_tokenizer.encode(sample_text)), 128)
char_loss = np.zeros(len(sample_text))  # the character model's loss for each character
char_loss[1 : 1 + char_y.size] = token_losses(char_model, char_x, char_y).ravel()

word_x, word_y = data.windows(np.array(word_tokenizer.encode(sample_text)), 32)
word_loss = token_losses(word_model, word_x, word_y).ravel()
word_spans = spans(sample_text, WordTokenizer.split(sample_text))[1 : 1 + word_y.size]
# The word targets whose characters the character model scored too, and the text they cover:
scored = [k for k, (_, end) in enumerate(word_spans) if end <= 1 + char_y.size]
first, last = word_spans[scored[0]][0], word_spans[scored[-1]][1]

# %%
# NBVAL_CHECK_OUTPUT
unknown = word_y.ravel()[scored] == word_tokenizer.unk_id
spelling = np.array([char_loss[start:end].sum() for start, end in word_spans])[scored]
characters = last - first
totals = {
    "character model": char_loss[first:last].sum(),
    "word model, <unk> as one cheap word": word_loss[scored].sum(),
    "word model, <unk> spelled": np.where(unknown, spelling, word_loss[scored]).sum(),
}
print(f"{characters:,} characters, {len(scored):,} word targets, "
      f"{unknown.mean():.1%} of them <unk>")
for name, total in totals.items():
    print(f"{name:>36}: {total / characters:.2f} nats per character")
gap = (totals["word model, <unk> spelled"] - totals["character model"]) / characters
charged = (totals["word model, <unk> spelled"] - totals["word model, <unk> as one cheap word"])
verdict = ("level with" if abs(gap) < 0.005 else
           f"{abs(gap):.2f} nats per character {'better' if gap < 0 else 'worse'} than")
print(f"Spelling its <unk> words costs the word model {charged / characters:.2f} nats per "
      f"character; charged fairly it is {verdict} the character model.")

# %% [markdown]
# The word model pays nothing to spell the words it knows, but it cannot spell at all: every
# rare word and most names become `<unk>`, which we cannot read. So compare samples too.
#
# A sample reads best as one speech: we sample until a **blank line**. In these plays a new
# speaker's name always comes after a blank line, so stopping there also stops at a speaker
# change. `generate` stops at one token (`stop_id`); a blank line is two newline tokens in a row,
# so here is the generation loop written out, with the model's `step` and the lesson's `sample`.
# The word tokenizer's `decode` joins punctuation the way the plays print it ("[Exeunt.]", "--").

# %%
def speech(model, tokenizer, prompt, max_new_tokens, temperature=0.8, seed=3):
    """Sample after ``prompt`` until a blank line (two newlines in a row) ends the speech."""
    rng = np.random.default_rng(seed)
    newline = tokenizer.encode("\n")[0]
    ids, state, new = np.array([tokenizer.encode(prompt)]), None, []  # ids: (1, T)
    while len(new) < max_new_tokens:
        logits, state = model.step(ids, state)  # (1, V): scores for the next token
        token = int(sample(logits, rng, temperature)[0])
        if token == newline and new[-1:] == [newline]:
            break  # a blank line: the speech is over
        new.append(token)
        ids = np.array([[token]])  # (1, 1): from now on, one new token per step
    return tokenizer.decode(new)


prompt = "KING.\nWhat say you, my lords"
for name, model_, tokenizer_ in (("character", char_model, char_tokenizer), ("word", word_model, word_tokenizer)):
    text = speech(model_, tokenizer_, prompt, 600 if name == "character" else 150)
    print(f"=== {name}-level sample ===\n{prompt}{text.rstrip()}\n")

# %% [markdown]
# ## What to take away
#
# | | characters | words |
# |---|---|---|
# | vocabulary | under 100 symbols | thousands, and still incomplete |
# | unknown tokens | none | every name or rare word not in the vocabulary |
# | what the model must learn | spelling, then words, then style | word order and style |
# | sequence length for the same text | long (several characters per word) | short |
#
# Subword tokenizers (byte-pair encoding, Lesson 5; WordPiece, Lesson 4) sit in between: a
# vocabulary of tens of thousands of pieces, frequent words whole, rare words spelled from
# pieces, and no unknown tokens at all.
#
# ## Challenge
#
# Make the word model fairer still. Train it with a 10,000-word vocabulary (copy the training
# cell above, or run `scripts/train_rnn.py --level word` with a larger `WORD_VOCABULARY`) and
# measure again: the `<unk>` share falls, but the output layer grows. Then build the two-level
# model the fair comparison hints at: when the word model predicts `<unk>`, let the character
# model spell the word, and charge both costs. Does it beat the character model per character?
# What do its samples look like once every `<unk>` is spelled out?
#
# ## Further reading
#
# - Yoshua Bengio et al., [*A Neural Probabilistic Language
#   Model*](https://www.jmlr.org/papers/volume3/bengio03a/bengio03a.pdf) (2003): the first
#   neural word-level language model, with word embeddings and a softmax over the vocabulary;
#   read its introduction for why words as atoms make the curse of dimensionality bite.
# - Rico Sennrich, Barry Haddow and Alexandra Birch, [*Neural Machine Translation of Rare Words
#   with Subword Units*](https://arxiv.org/abs/1508.07909) (2016): the paper that replaced
#   `<unk>` with byte-pair encoding, the tokenizer of Lesson 5a.
# - Dan Jurafsky and James H. Martin, [*Speech and Language Processing*](https://web.stanford.edu/~jurafsky/slp3/),
#   the chapter on n-gram language models: perplexity, unknown words and why a fixed vocabulary
#   makes losses hard to compare.
# - Andrej Karpathy, [*The Unreasonable Effectiveness of Recurrent Neural
#   Networks*](https://karpathy.github.io/2015/05/21/rnn-effectiveness/) (2015): the case for
#   characters, with samples to compare against your word model's.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lab quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson1_lab", part="post")
