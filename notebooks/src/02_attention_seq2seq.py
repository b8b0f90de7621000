# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       02_attention_seq2seq_pytorch.ipynb: [lesson, torch, exercise]
#       02_attention_seq2seq_tensorflow.ipynb: [lesson, tensorflow, exercise]
#       solutions/02_attention_seq2seq.ipynb: [solution]
# ---

# %% [markdown] tags=["torch"]
# # Lesson 2 · Attention in sequence-to-sequence models (PyTorch)

# %% [markdown] tags=["tensorflow"]
# # Lesson 2 · Attention in sequence-to-sequence models (TensorFlow)

# %% [markdown]
# Lesson 1's RNN read text and continued it. Many tasks instead read one sequence and write
# *another*: translation, summaries, answers. The classic model is an **encoder-decoder**: one
# RNN reads the input, another writes the output. In this lesson you will:
#
# - meet a task whose alignment you can check by eye: dates written by people, normalized to ISO;
# - see the plain encoder-decoder's two problems, **measured**: its accuracy against input length;
# - add **additive attention** (Bahdanau et al., 2015) and watch what the decoder looks at while
#   it writes each character, as a heatmap;
# - type your own dates into a "Try it" panel;
# - count what attention costs, in parameters and in time, and see why it points to Lesson 3.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson2", part="pre")

# %% [markdown]
# NumPy, matplotlib, the framework-free date task, and the twin of the model in this notebook's
# framework.

# %% tags=["torch"]
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from lessonkit import dates, diagrams, plots
from lessonkit.data import data_dir
from lessonkit.models.seq2seq import Seq2SeqConfig, attention_parameter_count
from lessonkit.torch import seq2seq
from lessonkit.torch.train import train
from lessonkit.torch.weights import count_parameters, from_arrays, to_arrays
from lessonkit.widgets import TranslationPanel

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"  # a Colab GPU is used when present

# %% tags=["tensorflow"]
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

from lessonkit import dates, diagrams, plots
from lessonkit.data import data_dir
from lessonkit.models.seq2seq import Seq2SeqConfig, attention_parameter_count
from lessonkit.tensorflow import seq2seq
from lessonkit.tensorflow.train import train
from lessonkit.tensorflow.weights import count_parameters, from_arrays, to_arrays
from lessonkit.widgets import TranslationPanel

keras.utils.set_random_seed(0)
device = None  # TensorFlow places ops on a GPU itself when one is present

# %% [markdown] tags=["solution"]
# # Lesson 2 · worked solutions
#
# One way to solve each exercise of the lesson, with the same self-check underneath.
# Try the exercise in the lesson notebook first: the check there says what is wrong.

# %% tags=["setup", "solution"]
# setup_cell.py's cell goes here: the builder puts it in

# %% tags=["solution"]
import numpy as np

from lessonkit import exercises

# %% [markdown]
# ## 1. The task: dates as people write them
#
# Each input is a sentence with a date in it, written in one of 18 human formats ("3rd of March
# 1998", "Tue 03.03.98", "1998 mar 3", "03/03/1998", "3 Mar '98", ...); the output is the date
# in ISO form, `1998-03-03`. Both sides are characters. Two rules make every answer recoverable:
# numeric dates are **day first** (`03/04/1998` is the 3rd of April), and a two-digit year
# follows the POSIX rule (`'69`-`'99` are 1969-1999, `'00`-`'68` are 2000-2068). The train,
# validation and test splits come from different seeds *and different dates*: no test date was
# ever seen in training.

# %%
# NBVAL_CHECK_OUTPUT
for example in dates.load_split("validation", 8, seed=0):
    print(f"{len(example.sentence):3d} chars  {example.sentence!r:<90} -> {example.iso}")
print(f"source vocabulary: {len(dates.SOURCE_VOCAB)} (padding + {len(dates.SOURCE_CHARS)} characters)")
print(f"target vocabulary: {dates.TARGET_VOCAB}")

# %% [markdown]
# Why sentences, not bare dates? A bare date is under 30 characters, and a plain encoder-decoder
# copes with that. Real inputs are longer: here they run up to 100 characters, and the date can
# sit at the start, in the middle or at the end. Section 5 measures where the plain model starts
# to forget.
#
# ## 2. The plain encoder-decoder and its two problems
#
# The **encoder** is a bidirectional GRU: one GRU reads the characters left to right, another
# right to left, and each character *i* gets a state $h_i$ that joins the two (2 × 64 numbers).
# The **decoder** is a GRU that writes the answer one character at a time, each time reading the
# character it wrote last.
#
# In the plain model the decoder sees the input only through the encoder's two **final states**
# (the forward GRU's after the last character, the backward GRU's after the first): they make the
# decoder's first state and, as in Cho et al. (2014), are fed to it again at every step. Two
# problems follow, in principle:
#
# 1. **One vector for everything.** However long the sentence, all it says must squeeze through
#    the two final states (2 × 64 numbers); what lies far from both ends fades by the time the
#    encoders reach them.
# 2. **Every input character weighs the same on every output.** When writing the month, the
#    decoder cannot look back at the month; it only has what it remembered.

# %% [markdown]
# ## 3. Additive attention
#
# Bahdanau, Cho and Bengio (2015) let the decoder look back. Before writing output character
# *t*, the decoder scores every encoder state $h_i$ against its own previous state $s_{t-1}$
# with a small network, and turns the scores into weights with a softmax over the input:
#
# $$e_{t,i} = v^\top \tanh(W_s\, s_{t-1} + W_h\, h_i), \qquad
# \alpha_{t,i} = \frac{\exp e_{t,i}}{\sum_j \exp e_{t,j}}, \qquad
# c_t = \sum_i \alpha_{t,i}\, h_i$$
#
# The **context** $c_t$ enters the GRU's input and the output layer, where the plain model puts
# its fixed summary. Padding positions get
# $e_{t,i} = -\infty$, so weight 0. The weights $\alpha_{t,i}$ of all steps form the
# **alignment matrix**: one row per output character, one column per input character. Both
# models are one class here; `attention=True` adds the scoring network (`W_s`, `W_h`, `v`).

# %%
# NBVAL_CHECK_OUTPUT
plain_config, attention_config = Seq2SeqConfig(attention=False), Seq2SeqConfig(attention=True)
print(attention_config)

# %% [markdown]
# The two decoders side by side, drawn from the two configs: one decoder step each, with the
# tensor's shape on every arrow (S source characters). The plain one reads the same fixed summary
# at every step; the attention one computes a fresh context from all S encoder states.

# %% lessonkit_figure="seq2seq_diagrams"
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
diagrams.draw_flow(diagrams.seq2seq_flow(plain_config), ax=left)
diagrams.draw_flow(diagrams.seq2seq_flow(attention_config), ax=right)
plt.show()

# %% [markdown]
# Before the model does it, do it yourself, in NumPy: first the softmax that keeps padding out,
# then one whole step of additive attention.

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 1: a softmax that ignores padding
#
# Sentences in a batch are padded to one length, and the decoder must not attend to the padding.
# Write `masked_softmax(scores, mask)`: `mask` is True at real source characters and False at
# padding; return weights that are 0 on padding and sum to 1 over the real characters, along
# the last axis. Scores can be large: subtract the row maximum before `np.exp`.

# %% tags=["exercise"]
from lessonkit import exercises


def masked_softmax(scores, mask):
    raise NotImplementedError  # TODO: your code here


exercises.check_masked_softmax(masked_softmax)


# %% tags=["solution"]
def masked_softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)  # padding: exp(-inf) = 0
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))  # stable: largest is exp(0)
    return weights / weights.sum(axis=-1, keepdims=True)


exercises.check_masked_softmax(masked_softmax)

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 2: one step of additive attention
#
# Write `additive_attention(s, H, W_s, W_h, v)` for one decoder step: `s` is the decoder state
# `(Cq,)`, `H` the encoder states `(S, Ck)`, `W_s` is `(A, Cq)`, `W_h` is `(A, Ck)` and `v` is
# `(A,)`. Score every source position with `v · tanh(W_s s + W_h h_i)`, softmax the scores over
# the source, and return `(context, weights)`: the weighted sum of the encoder states `(Ck,)`
# and the weights `(S,)`. A loop over `H` is fine; one matrix product is nicer.

# %% tags=["exercise"]
from lessonkit import exercises


def additive_attention(s, H, W_s, W_h, v):
    raise NotImplementedError  # TODO: your code here


exercises.check_additive_attention(additive_attention)


# %% tags=["solution"]
def additive_attention(s, H, W_s, W_h, v):
    energy = np.tanh(W_s @ s + H @ W_h.T)  # (A,) + (S, A) -> (S, A): one row per source position
    scores = energy @ v  # (S,)
    weights = np.exp(scores - scores.max())
    weights = weights / weights.sum()  # (S,), sums to 1
    return weights @ H, weights  # context (Ck,), weights (S,)


exercises.check_additive_attention(additive_attention)

# %% [markdown]
# ## 4. Training: a short run to watch it learn
#
# Training is teacher-forced: the decoder is given the true previous character at each step and
# scored (cross-entropy) on the next one. About 25 seconds of training on fresh random batches
# from the training split is enough to see the loss fall; the shipped models trained longer
# (`scripts/train_seq2seq.py`, a few minutes each).

# %% tags=["torch"]
train_src, train_tgt_in, train_tgt_out = dates.teacher_forcing_batch(
    dates.load_split("train", 20_000, seed=0))
rng = np.random.default_rng(0)

def get_batch(step, batch=64):
    rows = rng.integers(0, len(train_src), size=batch)
    src = train_src[rows]
    src = src[:, : (src != dates.PAD_ID).sum(1).max()]  # (B, longest row)
    return src, train_tgt_in[rows], {"targets": train_tgt_out[rows]}

model = seq2seq.Seq2Seq(attention_config).to(device)
history = train(model, get_batch, steps=2000, lr=3e-3, max_seconds=25)

# %% tags=["tensorflow"]
train_src, train_tgt_in, train_tgt_out = dates.teacher_forcing_batch(
    dates.load_split("train", 20_000, seed=0))
rng = np.random.default_rng(0)

def get_batch(step, batch=64):
    rows = rng.integers(0, len(train_src), size=batch)
    return train_src[rows], train_tgt_in[rows], {"targets": train_tgt_out[rows]}

model = seq2seq.Seq2Seq(attention_config)
history = train(model, get_batch, steps=2000, lr=3e-3, max_seconds=25)

# %% [markdown]
# The loss in nats per output character; 2.56 (= ln 13) would be a uniform guess.

# %%
fig = plots.loss_curves({"attention model, short run": (history["step"], history["loss"])},
                        title="Teacher-forced training loss (about 25 s)", smooth=10)

# %% [markdown]
# Now the shipped models: both trained with the same recipe, seeded, on one CPU thread (see
# `data/README.md`). Their metadata holds the exact match each got on 5,000 held-out test dates.

# %%
checkpoints = data_dir() / "checkpoints"
plain, _, plain_extras = seq2seq.load_checkpoint(checkpoints / "seq2seq_dates_plain.safetensors", device=device)
attentive, _, attentive_extras = seq2seq.load_checkpoint(
    checkpoints / "seq2seq_dates_attention.safetensors", device=device)
for name, extras in (("plain", plain_extras), ("attention", attentive_extras)):
    print(f"{name:>9}: test exact match {extras['test_exact_match']:.1%} (recorded by the training script)")

# %% [markdown]
# ## 5. Measured: accuracy against input length
#
# The claim of section 2, tested: 2,000 test sentences, never seen in training, answered greedily
# by both models, and the exact-match rate (all 10 characters right) per input length. Measure
# before you believe a story.

# %%
test_examples = dates.load_split("test", 2000, seed=0)
sentences = [e.sentence for e in test_examples]
answers = {"plain": plain.translate_batch(sentences), "attention": attentive.translate_batch(sentences)}
lengths = np.array([len(s) for s in sentences])
bins = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 101)]
curves = {}
for name, predictions in answers.items():
    right = np.array([p == e.iso for p, e in zip(predictions, test_examples, strict=True)])
    curves[name] = ([f"{lo}-{hi - 1}" for lo, hi in bins],
                    [100 * right[(lengths >= lo) & (lengths < hi)].mean() for lo, hi in bins])
    print(f"{name:>9}: {right.mean():.1%} exact match overall;",
          "by length:", " ".join(f"{v:.0f}%" for v in curves[name][1]))

# %% [markdown]
# Compare the two rows above. A date is a small message (about 16 bits), and a trained
# bidirectional GRU with 64 numbers per direction can carry it across such sentences: with two directions, no character is more than half
# the sentence away from one of the final states.
#
# So make the sentences longer than anything in training. `dates.stretch` adds the generator's
# own date-free sentences ("Thanks!", "Sorry for the late reply.", ...) around each test
# sentence until it is 250, 500, 1,000 or 2,000 characters long. The answer stays the same and
# every character is familiar; only the distance between the date and the ends grows. The
# checkpoints refuse inputs over 100 characters (the longest they were trained on), so we load
# the same weights into readers that accept 2,100:

# %%
import dataclasses

readers = {}
for name, model in (("plain", plain), ("attention", attentive)):
    readers[name] = seq2seq.Seq2Seq(dataclasses.replace(model.config, max_len=2100))
    from_arrays(readers[name], to_arrays(model))  # the same weights, a longer limit

stretched_lengths = [250, 500, 1000, 2000]
base = dates.load_split("test", 96, seed=1)
stretched = {}
for length in stretched_lengths:
    texts = [dates.stretch(e, length, seed=i).sentence for i, e in enumerate(base)]
    for name, reader in readers.items():
        right = np.array([p == e.iso for p, e in zip(reader.translate_batch(texts), base, strict=True)])
        stretched.setdefault(name, []).append(100 * right.mean())
for name, values in stretched.items():
    print(f"{name:>9}:", "  ".join(f"{n} chars {v:.0f}%" for n, v in zip(stretched_lengths, values, strict=True)))

# %% [markdown]
# Both measurements in one figure, input length on a log scale; the shaded band is the range of
# lengths seen in training:

# %% lessonkit_figure="seq2seq_accuracy_by_length"
midpoints = [(lo + hi - 1) / 2 for lo, hi in bins]
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.axvspan(1, 100, color="0.92", label="lengths seen in training (at most 100)")
for (name, (_, within)), marker in zip(curves.items(), "os", strict=True):
    ax.plot(midpoints + stretched_lengths, within + stretched[name], marker=marker, label=name)
ax.set(xscale="log", ylim=(0, 102), xlim=(8, 2500), xlabel="input length (characters, log scale)",
       ylabel="exact match (%)", title="Held-out dates: exact match against input length")
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# What the stretched test says, printed from its numbers:

# %%
longest = stretched_lengths[-1]
plain_far, attention_far = stretched["plain"][-1], stretched["attention"][-1]
print(f"At {longest:,} characters the plain model gets {plain_far:.0f}% of the dates right and the attention "
      f"model {attention_far:.0f}%: "
      + ("the date fades from the plain model's final states, while attention looks it up wherever it is."
         if attention_far - plain_far > 10 else
         "no clear gap at this length; the plain model's final states still carry the date."))

# %% [markdown]
# Beyond the lengths it was trained on, the plain model's date has to survive in the final states
# through hundreds of characters of other text. The attention model does not carry the date at
# all: at each output step it looks for it among all the encoder states. In translation the
# message grows with the sentence, and Bahdanau et al. saw the plain model's quality collapse on
# long sentences. `data/README.md` records both shipped runs' training losses at the same steps
# (same batches, same learning rate): compare them to see which architecture learns faster. And
# attention shows you what it does: the alignment below.
#
# ### The papers' baseline: a one-way encoder
#
# Bahdanau et al. compared attention with a plainer model still, Cho et al.'s RNNencdec: the
# encoder reads **left to right only**, and its last state, read after the last character, is
# the only context. Then the date has to be carried from where it stands to the end of the
# sentence. `seq2seq_dates_rnnencdec.safetensors` is that model, with the attention model's width
# and training steps. We measure all three on the same 2,000 test sentences, by how many
# characters follow the date:

# %%
rnnencdec, _, _ = seq2seq.load_checkpoint(checkpoints / "seq2seq_dates_rnnencdec.safetensors", device=device)
answers["one-way plain (RNNencdec)"] = rnnencdec.translate_batch(sentences)
after = np.array([len(e.sentence) - e.sentence.rfind(e.date_text) - len(e.date_text) for e in test_examples])
distance_bins = [(0, 1), (1, 20), (20, 40), (40, 60), (60, 101)]
by_distance = {}
for name, predictions in answers.items():
    right = np.array([p == e.iso for p, e in zip(predictions, test_examples, strict=True)])
    by_distance[name] = [100 * right[(after >= lo) & (after < hi)].mean() for lo, hi in distance_bins]
    print(f"{name:>26}: {right.mean():6.1%} overall;", "  ".join(f"{v:5.1f}%" for v in by_distance[name]))
print(f"{'characters after the date':>26}:", "  ".join(f"{lo}-{hi - 1}" for lo, hi in distance_bins))

# %% lessonkit_figure="seq2seq_rnnencdec_by_distance"
labels = [f"{lo}-{hi - 1}" if hi > lo + 1 else f"{lo}" for lo, hi in distance_bins]
fig, ax = plt.subplots(figsize=(8, 3.6))
for (name, values), marker in zip(by_distance.items(), "os^", strict=True):
    ax.plot(labels, values, marker=marker, label=name)
ax.set(ylim=(0, 102), xlabel="characters between the date and the end of the sentence",
       ylabel="exact match (%)", title="Held-out dates (8-100 characters): exact match by distance to the end")
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# What does the figure say about the one-way model? The sentence below is printed from the
# numbers above, so it stays true whatever a run measures:

# %%
one_way = by_distance["one-way plain (RNNencdec)"]
drop = one_way[0] - one_way[-1]
print(f"The one-way model is right {one_way[0]:.0f}% of the time when the date ends the sentence and "
      f"{one_way[-1]:.0f}% when 60 or more characters follow it: "
      + ("it forgets with distance, within the lengths it was trained on." if drop > 10 else
         "only a few points worse. At these lengths it is weaker everywhere rather than forgetful; "
         "the collapse with length comes beyond the training lengths, as the stretched test shows "
         "for the bidirectional plain model."))

# %% [markdown]
# And the plain models' mistakes on the ordinary test sentences, if any:

# %%
for name in ("plain", "one-way plain (RNNencdec)"):
    wrong = [(e.sentence, p, e.iso) for e, p in zip(test_examples, answers[name], strict=True) if p != e.iso]
    print(f"{name}: {len(wrong)} of {len(test_examples)} test dates wrong")
    for sentence, prediction, truth in wrong[:3]:
        print(f"    {sentence!r}\n        answer: {prediction}   true: {truth}")

# %% [markdown]
# ## 6. The alignment matrix
#
# For each character the attention model writes (rows), how much weight it put on each input
# character (columns). Bright cells should line up: year digits on the year, month digits on the
# month name or number, day digits on the day. The end marker often looks at the end of the date.

# %% lessonkit_figure="date_alignment"
examples = ["we finally met on the 3rd of March, 1998, just after lunch",
            "Tue 03.03.98",
            "Reminder: the exam is on 14/07/2031, so start revising now!",
            "1998 mar 3"]
fig, axes = plt.subplots(len(examples), 1, figsize=(12, 4.2 * len(examples)))
for text, ax in zip(examples, axes, strict=True):
    answer, alignment, source_chars, output_chars = attentive.translate(text)
    plots.alignment_heatmap(alignment, source_chars, output_chars, title=f"{text!r} -> {answer}", ax=ax)
fig.suptitle("Attention of the decoder over the input (shipped attention model)", y=1.0)
fig.tight_layout()

# %% [markdown]
# In "Tue 03.03.98" the month and day are both `03`: the model must use *position* (day first)
# to tell them apart, and the heatmap shows it reading the second `03` for the month. The
# weekday is ignored: it is redundant.
#
# ## 7. Try it
#
# Type a date in any format (the panel runs the model on every change; press Enter). Characters
# outside the vocabulary, an empty box or more than 100 characters give a message instead.

# %%
from IPython.display import display

panel = TranslationPanel(attentive.translate, text="I was born on the 29th of February, 2000.")
display(panel)

# %% [markdown]
# The same model from code; print a few tricky ones.

# %%
for text in ["1st jan '70", "christmas eve is not a date: 24/12/2024", "JULY 4TH, 1776", "2099/12/31"]:
    try:
        print(f"{text!r:45} -> {attentive.translate(text)[0]}")
    except ValueError as error:
        print(f"{text!r:45} -> ValueError: {error}")

# %% [markdown]
# (1776 is outside the training range, 1900-2099: a model only knows the years it has seen.)
#
# ## 8. The cost of attention
#
# **Parameters.** Both decoders read a 128-wide context (the plain one a fixed summary), so
# attention adds only the scoring network: $W_s$ (64 × 64), $W_h$ (64 × 128) and $v$ (64).
# `attention_parameter_count` writes that out by hand; the count of the real models must agree.

# %%
# NBVAL_CHECK_OUTPUT
n_plain, n_attention = count_parameters(plain), count_parameters(attentive)
print(f"plain model:     {n_plain:,} parameters")
print(f"attention model: {n_attention:,} parameters")
print(f"attention adds   {n_attention - n_plain:,} (+{(n_attention - n_plain) / n_plain:.0%}); "
      f"by hand: {attention_parameter_count(attention_config):,}")


# %% [markdown]
# **Time.** Each output step of the attention decoder scores *all* input characters, so its cost
# grows with the input length; the plain decoder's does not. And the encoder is an RNN: state *i*
# needs state *i - 1*, so reading S characters takes S steps one after another, however many
# cores the machine has. Short timings on batches of 64 random inputs:

# %% tags=["torch"]
def timings(model, length, repeats=5, batch=64):
    src = np.random.default_rng(0).integers(1, len(dates.SOURCE_VOCAB), size=(batch, length))
    encode, step = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        state = model.initial_state(src)
        encode.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.step(np.full((batch, 1), dates.START_ID), state)
        step.append(time.perf_counter() - start)
    return 1000 * min(encode), 1000 * min(step)


# %% tags=["tensorflow"]
def timings(model, length, repeats=5, batch=64):
    src = np.random.default_rng(0).integers(1, len(dates.SOURCE_VOCAB), size=(batch, length))
    model.step(np.full((batch, 1), dates.START_ID), model.initial_state(src))  # trace once
    encode, step = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        state = model.initial_state(src)
        _ = np.asarray(state[1])  # wait for the result
        encode.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.step(np.full((batch, 1), dates.START_ID), state)
        step.append(time.perf_counter() - start)
    return 1000 * min(encode), 1000 * min(step)


# %% lessonkit_figure="seq2seq_time_by_length"
input_lengths = [10, 25, 50, 75, 100]
measured = {name: [timings(m, n) for n in input_lengths] for name, m in (("plain", plain), ("attention", attentive))}
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
left.plot(input_lengths, [e for e, _ in measured["attention"]], marker="o")
left.set(title="Encoder: reading the input (bidirectional GRU)", xlabel="input length (characters)",
         ylabel="time for a batch of 64 (ms)", ylim=(0, None))
for name, values in measured.items():
    right.plot(input_lengths, [s for _, s in values], marker="o", label=f"{name} decoder")
right.set(title="Decoder: one output step", xlabel="input length (characters)",
          ylabel="time for a batch of 64 (ms)", ylim=(0, None))
right.legend()
for ax in (left, right):
    ax.grid(alpha=0.3)
fig.tight_layout()
print("attention decoder step (ms):", [round(s, 2) for _, s in measured["attention"]])

# %% [markdown]
# How to read it. The encoder's time grows with the input length: an RNN must take its steps
# one after another, so extra cores cannot help. The attention decoder scores every input
# character at each step, the plain decoder reads a fixed summary; what that costs here:

# %%
def growth(name, which):
    values = [pair[which] for pair in measured[name]]
    return values[-1] / values[0]


for label, name, which in (("encoder", "attention", 0), ("attention decoder step", "attention", 1),
                           ("plain decoder step", "plain", 1)):
    ratio = growth(name, which)
    print(f"{label:>22}: {ratio:.1f}x the time at {input_lengths[-1]} characters as at {input_lengths[0]} "
          f"({'grows with the input' if ratio > 1.5 else 'about flat'})")

# %% [markdown]
# Attention fixed the *quality* problem of the plain encoder-decoder, but the model is still an
# RNN, sequential over time. Lesson 3's transformer keeps the attention and drops the recurrence,
# so every position is computed at once.
#
# ## Summary
#
# - A plain encoder-decoder squeezes the input into one vector. On dates up to 100 characters a
#   bidirectional one copes (a date is a small message); on inputs far longer than its training
#   sentences the date has to survive many more steps in its final states, and section 5
#   measured how well it does against the attention model.
# - Additive attention lets each output step weigh every input state,
#   $c_t = \sum_i \alpha_{t,i} h_i$; the weights form an alignment you can read.
# - It costs parameters (section 8 counts them) and time that grows with the input, and the
#   RNN underneath still cannot be parallelized over time: on to transformers.
#
# ## Challenge
#
# Make the date model read Norwegian dates ("3. mars 1998", "tirsdag 3. mars", "03.03.98").
# Add the Norwegian month and weekday names to a copy of `lessonkit/dates.py` (mind the
# characters æ, ø and å: the source vocabulary must grow), train a fresh attention model with
# `scripts/train_seq2seq.py`'s recipe on a mix of English and Norwegian sentences, and check
# exact match on held-out dates in each language. Then look at the heatmaps: does "mars" get the
# same attention pattern as "March"? For a harder version, fine-tune the shipped English model
# instead of starting from scratch, and compare how many steps each needs.
#
# ## Further reading
#
# - Dzmitry Bahdanau, Kyunghyun Cho and Yoshua Bengio, [*Neural Machine Translation by Jointly
#   Learning to Align and Translate*](https://arxiv.org/abs/1409.0473) (2015): the paper of this
#   lesson; figure 2 is the quality-against-length plot we repeated, figure 3 the alignments.
# - Ilya Sutskever, Oriol Vinyals and Quoc Le, [*Sequence to Sequence Learning with Neural
#   Networks*](https://arxiv.org/abs/1409.3215) (2014): the plain encoder-decoder at scale, and
#   the trick of reading the source backwards to shorten the distances.
# - Kyunghyun Cho et al., [*Learning Phrase Representations using RNN Encoder-Decoder for
#   Statistical Machine Translation*](https://arxiv.org/abs/1406.1078) (2014): the GRU and the
#   decoder that is fed the summary at every step, as our plain model is.
# - Minh-Thang Luong, Hieu Pham and Christopher Manning, [*Effective Approaches to
#   Attention-based Neural Machine Translation*](https://arxiv.org/abs/1508.04025) (2015):
#   multiplicative (dot-product) scores, the step from here towards Lesson 3.
# - Chris Olah and Shan Carter, [*Attention and Augmented Recurrent Neural
#   Networks*](https://distill.pub/2016/augmented-rnns/) (2016): attention and its relatives,
#   drawn and animated.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson2", part="post")
