# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       03_transformers_pytorch.ipynb: [lesson, torch, exercise]
#       03_transformers_tensorflow.ipynb: [lesson, tensorflow, exercise]
#       solutions/03_transformers.ipynb: [solution]
# ---

# %% [markdown] tags=["torch"]
# # Lesson 3 · Transformers (PyTorch)

# %% [markdown] tags=["tensorflow"]
# # Lesson 3 · Transformers (TensorFlow)

# %% [markdown]
# Lesson 2 added attention to a recurrent encoder-decoder. The transformer ("Attention is all
# you need", Vaswani et al., 2017) keeps the attention and drops the recurrence. In this lesson
# you will:
#
# - see why order must then be given explicitly, and plot the two ways of doing it
#   (sinusoidal and learned position embeddings);
# - compute self-attention by hand in NumPy, step by step, with every shape printed;
# - check that our multi-head attention, written from scratch, gives exactly what
#   the framework's own built-in layer gives;
# - watch encoder-decoder attention learn an alignment;
# - measure an RNN against an attention layer as sequences grow;
# - train a transformer text classifier that tells Shakespeare's comedies, histories and
#   tragedies apart, on plays it has never seen, and compare it with a classic baseline;
# - look inside it with an attention explorer.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson3", part="pre")

# %% [markdown]
# NumPy for the by-hand parts, matplotlib for figures, and the twin of the layers in this
# notebook's framework.

# %% tags=["torch"]
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lessonkit import data, diagrams, masks, plots, reference
from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.genre import encode_padded, genre_passages, genre_windows
from lessonkit.torch import transformer
from lessonkit.torch.train import train
from lessonkit.torch.weights import count_parameters, to_arrays
from lessonkit.widgets import AttentionExplorer

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"  # a Colab GPU is used when present

# %% tags=["tensorflow"]
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from lessonkit import data, diagrams, masks, plots, reference
from lessonkit.baselines import accuracy, tfidf_logistic_regression
from lessonkit.genre import encode_padded, genre_passages, genre_windows
from lessonkit.tensorflow import transformer
from lessonkit.tensorflow.train import train
from lessonkit.tensorflow.weights import count_parameters, to_arrays
from lessonkit.widgets import AttentionExplorer

keras.utils.set_random_seed(0)
device = None  # TensorFlow places ops on a GPU itself when one is present

# %% [markdown] tags=["solution"]
# # Lesson 3 · worked solutions
#
# One way to solve each exercise of the lesson, with the same self-check underneath.
# Try the exercise in the lesson notebook first: the check there says what is wrong.

# %% tags=["setup", "solution"]
# setup_cell.py's cell goes here: the builder puts it in

# %% tags=["solution"]
import numpy as np

from lessonkit import exercises

# %% [markdown]
# ## 1. Why drop recurrence?
#
# An RNN computes its state at step *t* from its state at step *t - 1*. However many cores a
# machine has, a sentence of 100 tokens costs 100 steps, one after another, in training as in
# use; and a word at the start reaches a word at the end only through all the states between
# them. Lesson 2's attention gave the decoder a shortcut to every encoder state, but the
# encoder and decoder were still RNNs.
#
# The transformer keeps only the shortcuts. Every position looks at every other position
# directly (**self-attention**), and all positions are computed at once, as a few large matrix
# products that spread over all the cores of a GPU. Two ideas make that work:
#
# 1. **Positional encoding**: attention by itself cannot see order, so positions are added to
#    the token vectors;
# 2. **Self-attention** (in several heads) instead of recurrence or convolution.
#
# ## 2. Attention alone cannot see order
#
# Shuffle the tokens of a sentence and self-attention returns the same vectors, shuffled the same
# way: to attention, "dog bites man" and "man bites dog" are the same bag of vectors. Here is the
# check with the NumPy reference of multi-head attention and random weights:

# %%
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
C = 8
params = {f"{name}.{kind}": rng.normal(size=(C, C) if kind == "weight" else C) / np.sqrt(C)
          for name in ("q_proj", "k_proj", "v_proj", "out_proj") for kind in ("weight", "bias")}
x = rng.normal(size=(1, 5, C))  # 5 token vectors
order = np.array([3, 0, 4, 1, 2])  # a shuffle
out, _ = reference.multi_head_attention(x, x, x, params, n_heads=2)
shuffled_out, _ = reference.multi_head_attention(x[:, order], x[:, order], x[:, order], params, n_heads=2)
print("attention(shuffled x) == shuffled attention(x):", np.allclose(shuffled_out, out[:, order]))

# %% [markdown]
# ### Sinusoidal positions
#
# The paper adds to the token vector at position *pos* a vector of the same width `d_model`,
# whose pairs of entries are a sine and a cosine at geometrically spaced frequencies:
#
# $PE_{(pos, 2i)} = \sin(pos / 10000^{2i/d_{model}}), \quad
# PE_{(pos, 2i+1)} = \cos(pos / 10000^{2i/d_{model}})$
#
# The first columns turn fast (one turn every 6 positions), the last very slowly, like the hands
# of a clock: together they give every position a unique pattern, and the dot product of two
# positions' vectors depends only on how far apart they are (right panel: nearby positions are
# similar, the similarity fades with distance).

# %% lessonkit_figure="positional_encoding"
table = masks.sinusoidal_positions(max_len=100, d_model=64)  # (positions, d_model)
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
image = left.imshow(table, cmap="RdBu_r", aspect="auto", vmin=-1, vmax=1, interpolation="nearest")
left.set(title="Sinusoidal positional encoding", xlabel="dimension (sin, cos, sin, ...)", ylabel="position")
fig.colorbar(image, ax=left, label="value")
image = right.imshow(table @ table.T, cmap="viridis", aspect="auto", interpolation="nearest")
right.set(title="Dot product of two positions' encodings", xlabel="position", ylabel="position")
fig.colorbar(image, ax=right, label="PE[i] · PE[j]")
fig.tight_layout()

# %% [markdown]
# The other option, used by BERT and GPT-2, is a **learned position embedding**: a trainable
# table with one vector per position, summed with the token embedding exactly like the
# sinusoids. Both are layers of our `transformer` module; section 9 plots what learned tables
# look like after training.

# %%
# NBVAL_CHECK_OUTPUT
for layer in (transformer.SinusoidalPositionEmbedding(max_len=100, d_model=64),
              transformer.LearnedPositionEmbedding(max_len=100, d_model=64)):
    print(f"{type(layer).__name__}: {count_parameters(layer):,} trainable numbers")
print("PE[1, :4] =", table[1, :4].round(4), " (sin 1, cos 1, sin 0.75, cos 0.75)")

# %% [markdown]
# ## 3. Self-attention, step by step
#
# A sentence of 6 words, each a vector of width 8 (random here; in a model, the embeddings plus
# positions). Self-attention in three steps:
#
# 1. make a **query**, a **key** and a **value** for every position with three weight matrices;
# 2. **score** every key against every query (dot products, divided by sqrt of the width so the
#    softmax does not saturate) and turn each row into weights with a **softmax**;
# 3. the output at each position is the **weighted sum of the values**.
#
# The filing-cabinet picture: the query is the note saying what you look for, the keys are the
# labels on the folders, the values are what is inside them.

# %%
# NBVAL_CHECK_OUTPUT
words = ["the", "robot", "must", "obey", "the", "orders"]
rng = np.random.default_rng(1)
T, C, D = len(words), 8, 4
X = rng.normal(size=(T, C))  # one row per word
W_q, W_k, W_v = (rng.normal(size=(C, D)) for _ in range(3))
Q, K, V = X @ W_q, X @ W_k, X @ W_v
print("X", X.shape, " W_q", W_q.shape, " -> Q", Q.shape, " K", K.shape, " V", V.shape)
scores = Q @ K.T / np.sqrt(D)
print("scores = Q K^T / sqrt(D):", scores.shape, " (one row per query, one column per key)")
weights = np.exp(scores - scores.max(axis=1, keepdims=True))
weights /= weights.sum(axis=1, keepdims=True)  # softmax over each row
print("weights:", weights.shape, " every row sums to 1:", np.allclose(weights.sum(axis=1), 1))
output = weights @ V
print("output = weights V:", output.shape)

# %% [markdown]
# Each row of the weights says where one word looks. The library's NumPy reference agrees:

# %%
# NBVAL_CHECK_OUTPUT
ref_output, ref_weights = reference.scaled_dot_product_attention(Q, K, V)
print("same as reference.scaled_dot_product_attention:", np.allclose(output, ref_output), np.allclose(weights, ref_weights))

# %%
fig = plots.heatmap(weights, words, words, title="Self-attention weights (random projections)",
                    xlabel="key: the word attended to", ylabel="query: the word attending", annotate=True)

# %% [markdown]
# ## 4. Masks: who may attend to whom
#
# One convention everywhere in this course: a boolean mask with **True = may attend**. Where it
# is False the score is replaced by the most negative number before the softmax, so the weight
# there is 0.
#
# - A **causal mask** lets position *t* see only positions up to *t* (a decoder must not peek
#   at the words it is about to predict): a lower triangle.
# - A **padding mask** hides the padding that makes sentences of different lengths fit one
#   batch. `padding_mask` returns shape `(B, 1, S)`, so it broadcasts over the queries and
#   combines with the causal mask with `&`.

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 1: write the causal mask
#
# Write `causal_mask(T)`: a `(T, T)` boolean array, True where query position *t* may attend to
# key position *s*, that is where *s* ≤ *t*. Mind the convention (True = may attend) and the
# dtype (bool, not 0/1 integers): frameworks disagree here, and a flipped mask trains a model
# that cheats by reading the future.

# %% tags=["exercise"]
from lessonkit import exercises


def causal_mask(T):
    raise NotImplementedError  # TODO: your code here


exercises.check_causal_mask(causal_mask)


# %% tags=["solution"]
def causal_mask(T):
    # row t (a query) is True in columns 0..t: itself and the positions before it
    return np.tril(np.ones((T, T), dtype=bool))  # (T, T)


exercises.check_causal_mask(causal_mask)

# %% [markdown]
# The library's masks, the padding mask beside the causal one, and what a causal mask does
# to the attention weights:

# %%
# NBVAL_CHECK_OUTPUT
print("causal_mask(4):\n", masks.causal_mask(4).astype(int))
lengths = np.array([4, 2])  # two sentences, padded to length 4
print("padding_mask([4, 2]):", masks.padding_mask(lengths).shape, "\n", masks.padding_mask(lengths).astype(int))
both = masks.padding_mask(lengths) & masks.causal_mask(4)
print("padding & causal for the short sentence:\n", both[1].astype(int))
_, masked_weights = reference.scaled_dot_product_attention(Q[:4], K[:4], V[:4], masks.causal_mask(4))
print("causal attention weights:\n", masked_weights.round(2))

# %% [markdown]
# ## 5. Multi-head attention, and proof that ours is right
#
# One attention compares tokens in one way. **Multi-head** attention splits `d_model` into
# `n_heads` slices of width `d_model / n_heads`, runs attention in each slice with its own
# projections (one head may follow the previous word, another the subject of the sentence),
# concatenates the heads and mixes them with an output projection. Our `MultiHeadAttention`
# is that, written from scratch (open `lessonkit/torch/transformer.py` or
# `lessonkit/tensorflow/transformer.py`: the shape of every tensor is in a comment). It returns the output and the weights `(B, H, T, S)`.
#
# Is it right? Copy its weights into the framework's own layer and compare, with a padding and a
# causal mask:

# %% tags=["torch"]
# NBVAL_CHECK_OUTPUT
ours = transformer.MultiHeadAttention(d_model=16, n_heads=4).eval()
builtin = nn.MultiheadAttention(16, 4, batch_first=True).eval()
with torch.no_grad():  # the built-in layer stores the q, k, v projections stacked
    builtin.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
    builtin.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
    builtin.out_proj.load_state_dict(ours.out_proj.state_dict())
    x = torch.randn(2, 5, 16)  # (B, T, C)
    lengths = np.array([5, 3])
    out, weights = ours(x, mask=masks.padding_mask(lengths) & masks.causal_mask(5))
    # torch's masks mean the opposite (True = blocked), hence the ~
    ref_out, ref_weights = builtin(x, x, x, key_padding_mask=torch.from_numpy(~masks.padding_mask(lengths)[:, 0]),
                                   attn_mask=torch.from_numpy(~masks.causal_mask(5)), average_attn_weights=False)
print("output", tuple(out.shape), " weights", tuple(weights.shape))
print("output equals torch.nn.MultiheadAttention's:", torch.allclose(out, ref_out, atol=1e-5))
print("weights equal:", torch.allclose(weights, ref_weights, atol=1e-5))

# %% tags=["tensorflow"]
# NBVAL_CHECK_OUTPUT
ours = transformer.MultiHeadAttention(d_model=16, n_heads=4)
builtin = keras.layers.MultiHeadAttention(num_heads=4, key_dim=4)
x = np.random.default_rng(0).normal(size=(2, 5, 16)).astype("float32")  # (B, T, C)
builtin(x, x)  # build it, then copy our weights in (Keras keeps them as (C, H, D) and (H, D, C))
w = ours.state_dict()  # torch layout: weight (out, in)
for name, dense in (("q_proj", builtin._query_dense), ("k_proj", builtin._key_dense), ("v_proj", builtin._value_dense)):
    dense.kernel.assign(w[f"{name}.weight"].T.reshape(16, 4, 4))
    dense.bias.assign(w[f"{name}.bias"].reshape(4, 4))
builtin._output_dense.kernel.assign(w["out_proj.weight"].T.reshape(4, 4, 16))
builtin._output_dense.bias.assign(w["out_proj.bias"])
lengths = np.array([5, 3])
mask = masks.padding_mask(lengths) & masks.causal_mask(5)  # (B, T, T); Keras also uses True = may attend
out, weights = ours(x, mask=mask)
ref_out, ref_weights = builtin(x, x, attention_mask=mask, return_attention_scores=True)
print("output", tuple(out.shape), " weights", tuple(weights.shape))
print("output equals keras.layers.MultiHeadAttention's:", np.allclose(out, ref_out, atol=1e-5))
print("weights equal:", np.allclose(weights, ref_weights, atol=1e-5))

# %% [markdown]
# The unit tests (`tests/test_transformer_twins.py`) check the same for self- and
# cross-attention, with and without masks, against both frameworks' built-in layers and the
# NumPy reference, and check that the PyTorch and TensorFlow twins give the same outputs.

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 2: attention in NumPy
#
# Write `attention(q, k, v)` for one sequence: `q` is `(T, D)`, `k` is `(S, D)`, `v` is
# `(S, Dv)`. Return `(output, weights)`: the weights are the softmax over the keys of
# `q @ k.T / sqrt(D)`, shape `(T, S)`, and the output is the weighted sum of the values, shape
# `(T, Dv)`. The check runs a 3-token example and names the usual slips.

# %% tags=["exercise"]
from lessonkit import exercises


def attention(q, k, v):
    raise NotImplementedError  # TODO: your code here


exercises.check_attention(attention)


# %% tags=["solution"]
def attention(q, k, v):
    scores = q @ k.T / np.sqrt(q.shape[-1])  # (T, S)
    scores = scores - scores.max(axis=-1, keepdims=True)  # for a stable exp
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)  # (T, S)
    return weights @ v, weights  # (T, Dv), (T, S)


exercises.check_attention(attention)

# %% [markdown]
# ## 6. Encoder-decoder attention
#
# In translation, a transformer **encoder** reads the source sentence with self-attention, and a
# **decoder** writes the target. Each `DecoderBlock` has three sublayers: masked (causal)
# self-attention over the words written so far, **encoder-decoder (cross) attention** whose
# queries come from the decoder and whose keys and values come from the encoder's output, and a
# feed-forward network; each with a residual connection and LayerNorm. (Our blocks put the
# LayerNorm *before* each sublayer, "pre-norm", as GPT-2 does; the paper put it after.
# Pre-norm trains without a warm-up, which suits short runs.)
#
# A tiny example that needs an alignment: *reverse* a sequence of 8 symbols. One encoder block,
# one decoder block, learned positions shared by both, a few seconds of training with teacher
# forcing (the decoder reads the true previous symbol):

# %% tags=["torch"]
VOCAB, LENGTH = 10, 8


class Reverser(nn.Module):
    def __init__(self, d_model=32, n_heads=2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB + 1, d_model)  # id VOCAB is the start symbol
        self.positions = transformer.LearnedPositionEmbedding(LENGTH, d_model)
        self.encoder = transformer.EncoderBlock(d_model, n_heads, d_ff=4 * d_model)
        self.decoder = transformer.DecoderBlock(d_model, n_heads, d_ff=4 * d_model)
        self.head = nn.Linear(d_model, VOCAB)

    def forward(self, source, targets, return_attention=False):
        memory, _ = self.encoder(self.positions(self.embed(source)))  # (B, S, C)
        start = torch.full_like(targets[:, :1], VOCAB)
        x = self.positions(self.embed(torch.cat([start, targets[:, :-1]], dim=1)))  # (B, T, C)
        x, (_, cross_weights) = self.decoder(x, memory)  # cross weights (B, H, T, S)
        logits = self.head(x)  # (B, T, VOCAB)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        return (logits, loss, cross_weights) if return_attention else (logits, loss)


rng = np.random.default_rng(0)
def reverse_batch(step, batch_size=64):
    source = rng.integers(0, VOCAB, size=(batch_size, LENGTH))
    return source, source[:, ::-1].copy()

reverser = Reverser().to(device)
history = train(reverser, reverse_batch, steps=150, lr=1e-2, progress=False)
print(f"loss {history['loss'][0]:.2f} -> {history['loss'][-1]:.4f}")

# %% tags=["tensorflow"]
VOCAB, LENGTH = 10, 8


class Reverser(keras.Model):
    def __init__(self, d_model=32, n_heads=2):
        super().__init__()
        self.embed = keras.layers.Embedding(VOCAB + 1, d_model)  # id VOCAB is the start symbol
        self.positions = transformer.LearnedPositionEmbedding(LENGTH, d_model)
        self.encoder = transformer.EncoderBlock(d_model, n_heads, d_ff=4 * d_model)
        self.decoder = transformer.DecoderBlock(d_model, n_heads, d_ff=4 * d_model)
        self.head = keras.layers.Dense(VOCAB)
        self(np.zeros((1, LENGTH), "int64"), np.zeros((1, LENGTH), "int64"))  # create the weights

    def call(self, source, targets, training=None, return_attention=False):
        memory, _ = self.encoder(self.positions(self.embed(source)), training=training)  # (B, S, C)
        start = tf.fill(tf.shape(targets[:, :1]), tf.constant(VOCAB, targets.dtype))
        x = self.positions(self.embed(tf.concat([start, targets[:, :-1]], axis=1)))  # (B, T, C)
        x, (_, cross_weights) = self.decoder(x, memory, training=training)  # cross weights (B, H, T, S)
        logits = self.head(x)  # (B, T, VOCAB)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
        return (logits, loss, cross_weights) if return_attention else (logits, loss)


rng = np.random.default_rng(0)
def reverse_batch(step, batch_size=64):
    source = rng.integers(0, VOCAB, size=(batch_size, LENGTH))
    return source, source[:, ::-1].copy()

reverser = Reverser()
history = train(reverser, reverse_batch, steps=150, lr=1e-2, progress=False)
print(f"loss {history['loss'][0]:.2f} -> {history['loss'][-1]:.4f}")

# %% [markdown]
# Now feed it one sequence and plot the cross-attention: for each output position (row), which
# source position (column) did the decoder read? Reversal needs output *t* to read input
# *7 - t*: the anti-diagonal.

# %% tags=["torch"]
source, target = reverse_batch(0, batch_size=1)
with torch.no_grad():
    logits, _, cross_weights = reverser(torch.as_tensor(source, device=device),
                                        torch.as_tensor(target, device=device), return_attention=True)
cross = cross_weights[0].mean(dim=0).cpu().numpy()  # (T, S), averaged over heads
print("source  :", source[0], "\npredicted:", logits.argmax(-1)[0].cpu().numpy())
fig = plots.heatmap(cross, [str(s) for s in source[0]], [f"out {t}" for t in range(LENGTH)],
                    title="Encoder-decoder attention of the reverser (mean of heads)",
                    xlabel="source symbol (key)", ylabel="output position (query)", annotate=True)

# %% tags=["tensorflow"]
source, target = reverse_batch(0, batch_size=1)
logits, _, cross_weights = reverser(source, target, return_attention=True)
cross = tf.reduce_mean(cross_weights[0], axis=0).numpy()  # (T, S), averaged over heads
print("source  :", source[0], "\npredicted:", logits.numpy().argmax(-1)[0])
fig = plots.heatmap(cross, [str(s) for s in source[0]], [f"out {t}" for t in range(LENGTH)],
                    title="Encoder-decoder attention of the reverser (mean of heads)",
                    xlabel="source symbol (key)", ylabel="output position (query)", annotate=True)

# %%
found = int((cross.argmax(axis=1) == LENGTH - 1 - np.arange(LENGTH)).sum())
print(f"{found} of {LENGTH} output positions look hardest at their mirror input position: "
      + ("every one found it on its own." if found == LENGTH else
         "most found it on their own." if found > LENGTH // 2 else
         "this short run has not found the alignment yet; the loss above says how far it got."))

# %% [markdown]
# Nobody told the model where to look, only what to output. In a translation model the same
# matrix is the word alignment of Lesson 2, without any RNN.
#
# ## 7. Measured: an RNN layer against an attention layer as sequences grow
#
# The parallelism argument, measured on this machine. The sizes are fixed before measuring:
# width `d_model` 256, a batch of 32 sequences, lengths from 16 to 1,024 tokens. For each length
# we time one training step (forward and backward) of the framework's own LSTM layer and its own
# multi-head attention layer (4 heads). At 1,024 tokens the attention weights alone are
# 32 × 4 × 1,024 × 1,024 numbers, half a gigabyte: the T² cost shows up in memory before time, so
# long batches are processed in slices of at most 8,192 tokens, their gradients summed (the same
# work, in slices a laptop's memory holds).

# %% tags=["torch"]
lengths, d_model, batch = [16, 64, 256, 1024], 256, 32
layers = {"LSTM (one step per token)": nn.LSTM(d_model, d_model, batch_first=True).to(device),
          "multi-head attention (all tokens at once)": nn.MultiheadAttention(d_model, 4, batch_first=True).to(device)}


def forward(layer, x):
    if isinstance(layer, nn.LSTM):
        return layer(x)[0]  # (B, T, C)
    return layer(x, x, x, need_weights=False)[0]  # self-attention: (B, T, C)


def ms_per_training_step(layer, T):
    x = torch.randn(batch, T, d_model, device=device)
    start = time.perf_counter()
    for part in x.split(max(1, 8192 // T)):  # slices of at most 8,192 tokens
        forward(layer, part).square().mean().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return 1000 * (time.perf_counter() - start)


for layer in layers.values():
    ms_per_training_step(layer, 16)  # warm-up: first-call costs


# %% tags=["tensorflow"]
lengths, d_model, batch = [16, 64, 256, 1024], 256, 32
layers = {"LSTM (one step per token)": keras.layers.LSTM(d_model, return_sequences=True),
          "multi-head attention (all tokens at once)": keras.layers.MultiHeadAttention(4, d_model // 4)}


def forward(layer, x):
    return layer(x) if isinstance(layer, keras.layers.LSTM) else layer(x, x)  # (B, T, C)


def compiled_step(layer):
    """Forward and backward of one slice as one compiled graph: Python overhead must not hide the work."""
    @tf.function(input_signature=[tf.TensorSpec((None, None, d_model), tf.float32)])  # any B and T: one graph
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(forward(layer, x)))
        return tape.gradient(loss, layer.trainable_variables)
    return step


steps = {name: compiled_step(layer) for name, layer in layers.items()}


def ms_per_training_step(step, T):
    x = tf.random.normal((batch, T, d_model))
    start = time.perf_counter()
    for part in tf.split(x, max(1, batch * T // 8192)):  # slices of at most 8,192 tokens
        _ = [np.asarray(g) for g in step(part)]  # wait for the gradients
    return 1000 * (time.perf_counter() - start)


for name, layer in layers.items():
    forward(layer, tf.zeros((1, 4, d_model)))  # create the weights
    ms_per_training_step(steps[name], 16)  # warm-up: tracing, first-call costs
layers = steps


# %% lessonkit_figure="rnn_vs_attention_time"
timings = {name: [ms_per_training_step(layer, T) for T in lengths] for name, layer in layers.items()}
plots.line_plot({name: (lengths, ms) for name, ms in timings.items()},
                title=f"One training step (forward + backward), batch {batch}, d_model {d_model}: LSTM vs attention",
                xlabel="sequence length T (tokens)", ylabel="milliseconds per training step", logx=True, logy=True)
for T, *ms in zip(lengths, *timings.values(), strict=True):
    print(f"T = {T:>4}: LSTM {ms[0]:8.1f} ms, attention {ms[1]:8.1f} ms")

# %% [markdown]
# How to read it. The LSTM's time grows in proportion to T: it must take T steps one after
# another, and no hardware can run step 10 before step 9. The attention layer has no such chain:
# its work (every query against every key) grows like T², but it is a handful of large matrix
# products in which all positions are computed at once. Which layer wins at a given length
# depends on the machine and the library (PyTorch's LSTM is one fused C++ loop, Keras' runs its
# steps in a graph loop); on this machine:

# %%
lstm_ms, attention_ms = timings.values()
faster = [T for T, a, b in zip(lengths, lstm_ms, attention_ms, strict=True) if b < a]
growth = {name: ms[-1] / ms[0] for name, ms in timings.items()}
print(f"from T = {lengths[0]} to T = {lengths[-1]} ({lengths[-1] // lengths[0]}x longer) the LSTM's step grew "
      f"{growth['LSTM (one step per token)']:.0f}x and attention's {growth['multi-head attention (all tokens at once)']:.0f}x.")
if not faster:
    print("The LSTM was faster at every length measured here.")
elif len(faster) == len(lengths):
    print("Attention was faster at every length measured here.")
else:
    print(f"Attention was faster at T = {faster}, the LSTM at the other lengths.")

# %% [markdown]
# On a GPU, with
# thousands of cores, the attention curve stays nearly flat much longer, while the RNN's chain
# of steps cannot get shorter. That, more than the arithmetic, is why transformers train faster
# on the same data: in training every position of every sequence is computed at once. (The T²
# cost is also why transformers have a maximum context length.)
#
# ## 8. A transformer text classifier: comedy, history or tragedy?
#
# A real task. Passages of 60 words from Shakespeare's plays, labelled with the play's genre in
# the First Folio. The split is by play: the 9 test plays (3 per genre) are never seen in
# training, so the model must learn what comedies *sound like*, not the names of their
# characters. Speaker names, stage directions and act/scene headings are stripped, so only the
# spoken words remain (`data.spoken_text`; `data/README.md` describes the set).

# %%
# NBVAL_CHECK_OUTPUT
splits = {split: genre_passages(split) for split in data.SPLITS}
for split, part in splits.items():
    counts = ", ".join(f"{genre} {n}" for genre, n in zip(data.GENRES, np.bincount(part.labels, minlength=3), strict=True))
    print(f"{split:>10}: {len(set(part.plays)):>2} plays, {len(part.texts):>4} passages ({counts})")
test = splits["test"]
print(f"\na test passage from {test.plays[0]} ({data.GENRES[test.labels[0]]}):\n{test.texts[0]}")

# %% [markdown]
# **The baseline first.** A transformer's accuracy means little on its own: TF-IDF features of
# words and word pairs with a logistic regression is the classic text classifier, and it takes
# a few seconds.

# %%
baseline = tfidf_logistic_regression(splits["train"].texts, splits["train"].labels)
baseline_accuracy = accuracy(baseline.predict(test.texts), test.labels)
majority = np.bincount(test.labels).max() / len(test.labels)
print(f"majority class: {majority:.3f}   TF-IDF + logistic regression: {baseline_accuracy:.3f} on the test plays")

# %% [markdown]
# **The model**: `TextClassifier` = token embedding + learned positions → 2 encoder blocks
# (self-attention + feed-forward, residuals, LayerNorm) → a final LayerNorm → the mean of the
# vectors of the real (non-padding) tokens → a linear layer scoring the 3 genres. Words are
# lowercased; the vocabulary is every word seen at least twice in the training plays. The
# shipped checkpoint carries that vocabulary, so we load it first and train a fresh model of the
# same shape.

# %%
# NBVAL_CHECK_OUTPUT
shipped, tokenizer, extras = transformer.load_checkpoint(data.data_dir() / "checkpoints" / "genre_transformer.safetensors", device=device)
labels = extras["labels"]
config = shipped.config
print(config)
print(f"parameters: {count_parameters(shipped):,} ({config.vocab_size * config.d_model:,} of them in the token embedding)")
print("labels:", labels)

# %% [markdown]
# One of its encoder blocks, drawn from the config: the shape of the tensor on every arrow for
# one passage of T tokens, and the two residual connections (orange) that add each sub-layer's
# output back to its input.

# %% lessonkit_figure="transformer_block"
fig = diagrams.draw_flow(diagrams.transformer_block_flow(config))
plt.show()

# %% [markdown]
# Each training step draws 32 fresh random 60-word windows from the training plays (genres
# drawn evenly), pads them to the longest and passes the padding `mask`. About 20 seconds:

# %%
rng = np.random.default_rng(0)
def genre_batch(step, batch_size=32):
    texts, labels = genre_windows("train", 60, batch_size, rng)
    ids, mask = encode_padded(texts, tokenizer, config.max_len)
    longest = mask.sum(axis=1).max()
    return ids[:, :longest], labels, {"mask": mask[:, :longest]}


# %%
model = transformer.TextClassifier(config)

# %% tags=["torch"]
model = model.to(device)  # train on the GPU when there is one

# %%
history = train(model, genre_batch, steps=1000, lr=3e-3, max_seconds=20)
last = np.mean(history["loss"][-10:])
print(f"{len(history['loss'])} steps; loss of the last batches {last:.2f}, uniform guess ln 3 = {np.log(3):.2f}: "
      + ("below it, the model is picking up genre words." if last < np.log(3) else "not below it yet."))

# %%
fig = plots.loss_curves({"training batches": (history["step"], history["loss"])},
                        title="Genre classifier: the first seconds of training",
                        ylabel="cross-entropy (nats per passage)", smooth=10)
fig.axes[0].axhline(np.log(3), color="gray", ls="--", label="uniform guess (ln 3)")
fig.axes[0].legend()
plt.show()

# %% [markdown]
# The shipped checkpoint is the same model trained for 4,000 steps of 64 windows by
# `scripts/train_genre_classifier.py`, keeping the step with the best accuracy on the validation
# plays (seeded; the command, its time and results are in `data/README.md`). Both are scored on
# the 9 test plays:

# %% tags=["torch"]
test_ids, test_mask = encode_padded(test.texts, tokenizer, config.max_len)


@torch.no_grad()
def predict(model, ids, mask, batch_size=64):
    model.eval()
    predicted = []
    for i in range(0, len(ids), batch_size):
        longest = mask[i:i + batch_size].sum(axis=1).max()  # skip columns of padding only
        logits, _ = model(torch.as_tensor(ids[i:i + batch_size, :longest], device=device),
                          mask=torch.as_tensor(mask[i:i + batch_size, :longest], device=device))
        predicted.append(logits.argmax(-1).cpu().numpy())
    return np.concatenate(predicted)


# %% tags=["tensorflow"]
test_ids, test_mask = encode_padded(test.texts, tokenizer, config.max_len)


def predict(model, ids, mask, batch_size=64):
    predicted = []
    for i in range(0, len(ids), batch_size):
        longest = mask[i:i + batch_size].sum(axis=1).max()  # skip columns of padding only
        logits, _ = model(ids[i:i + batch_size, :longest], mask=mask[i:i + batch_size, :longest])
        predicted.append(logits.numpy().argmax(-1))
    return np.concatenate(predicted)


# %%
predictions = {"transformer, 20 s here": predict(model, test_ids, test_mask),
               "transformer, shipped": predict(shipped, test_ids, test_mask),
               "TF-IDF + logistic regression": baseline.predict(test.texts)}
print(f"{'test accuracy (9 unseen plays)':<32}{'all':>6}" + "".join(f"{g:>9}" for g in data.GENRES))
print(f"{'majority class':<32}{majority:>6.3f}")
for name, predicted in predictions.items():
    per_genre = [accuracy(predicted[test.labels == g], test.labels[test.labels == g]) for g in range(3)]
    print(f"{name:<32}{accuracy(predicted, test.labels):>6.3f}" + "".join(f"{a:>9.3f}" for a in per_genre))


# %% [markdown]
# Read the table honestly, against the majority class and against the bag of words:

# %%
scores = {name: accuracy(predicted, test.labels) for name, predicted in predictions.items()}
short_run, shipped_score, tfidf = scores.values()
print(f"The short run is {short_run - majority:+.3f} from the majority class on plays it never saw: "
      + ("it has learned something real." if short_run > majority + 0.05 else "it has barely started."))
print(f"The shipped transformer is {shipped_score - tfidf:+.3f} from TF-IDF: "
      + ("level with it, not better." if abs(shipped_score - tfidf) < 0.02 else
         "better." if shipped_score > tfidf else "behind it."))

# %% [markdown]
# A transformer trained from scratch on about 780,000 words has little to learn from: knowing
# *which words* occur (what a bag of words captures) carries much of the signal, and the
# transformer has to learn even its word vectors from nothing. The per-genre columns show where
# each makes its mistakes. This is where pretraining pays: Lesson 4 starts from a model that has
# already read a great deal of English.
#
# ## 9. Inside the classifier: attention explorer and learned positions
#
# Pick a layer and a head with the sliders, or type your own sentence: each row shows where one
# token looked. (The panel is live in a running notebook.)

# %% tags=["torch"]
@torch.no_grad()
def attention_of(text):
    ids, mask = encode_padded([text], tokenizer, config.max_len)
    ids = ids[:, :mask.sum()]
    _, _, attention = shipped(torch.as_tensor(ids, device=device), return_attention=True)
    return [tokenizer.words[i] for i in ids[0]], attention[0].cpu().numpy()  # (L, H, T, T)


# %% tags=["tensorflow"]
def attention_of(text):
    ids, mask = encode_padded([text], tokenizer, config.max_len)
    ids = ids[:, :mask.sum()]
    _, _, attention = shipped(ids, return_attention=True)
    return [tokenizer.words[i] for i in ids[0]], attention[0].numpy()  # (L, H, T, T)


# %%
from IPython.display import display

explorer = AttentionExplorer(attention_of, "Is this a dagger which I see before me, the handle toward my hand?",
                             title="Genre classifier self-attention")
display(explorer)

# %% [markdown]
# A static view of one map, set from code:

# %% lessonkit_figure="attention_explorer"
explorer.set(layer=0, head=0)
fig = explorer.figure()

# %% [markdown]
# In maps like this one, many queries look at the same one or two words. A classifier's heads
# need not follow grammar: they gather whatever helps to tell the genres apart before the mean.
#
# Finally, **learned position embeddings**. Compare every pair of positions by the cosine
# similarity of their trained vectors: for the reverser of section 6, where order is the whole
# task, for the genre classifier, and for the fixed sinusoids. Both learned tables started as
# small random vectors (similar only to themselves: the diagonal).

# %%
learned = {"learned: reverser": to_arrays(reverser)["positions.weight"],
           "learned: genre classifier": to_arrays(shipped)["position_embedding.weight"]}  # (max_len, C)


# %%
def cosine_similarity(table):
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    return unit @ unit.T

tables = {**learned, "sinusoidal (fixed)": masks.sinusoidal_positions(config.max_len, config.d_model)}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
for ax, (name, table) in zip(axes, tables.items(), strict=True):
    image = ax.imshow(cosine_similarity(table), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set(title=name, xlabel="position", ylabel="position")
fig.suptitle("Cosine similarity between the vectors of two positions")
fig.colorbar(image, ax=axes, label="cosine similarity")
plt.show()

# %% [markdown]
# The reverser's positions came out ordered: each position is most similar to its neighbours
# (the dark red cells beside the diagonal) and unlike positions far away, as with the sinusoids,
# learned from nothing but the task. The classifier's table is different. Every passage reaches
# the first positions, and for genre their order barely matters: they stay close to their random
# start. The last positions are reached only by long passages (punctuation makes a 60-word
# passage longer than 60 tokens), and they moved together, into one shared direction: the model learned "late in a long passage",
# not a fine-grained position code. A learned table encodes what its task needs, no more.
#
# ## Summary
#
# - A transformer replaces recurrence with attention: every position reads every other
#   position directly, and all positions are computed at once.
# - Attention ignores order, so positions are added: fixed sinusoids or a learned table.
# - Self-attention is three matrix products and a softmax: queries against keys give weights,
#   weights average the values. Masks (True = may attend) hide padding and the future.
# - Multi-head attention runs several attentions side by side; ours matches the
#   framework's built-in layer to 1e-5.
# - Encoder-decoder attention learns alignments by itself.
# - On a small labelled set, a transformer trained from scratch is about as good as TF-IDF:
#   the motivation for pretraining (Lesson 4, BERT).
#
# ## Challenge
#
# Make the classifier's attention matter. Replace the mean over positions with a learned
# `[CLS]`-style token prepended to every passage (classify from its final vector), or with
# attention pooling (one learned query attending over the passage). Does the test accuracy
# move? Then open the attention explorer on a comedy and a tragedy: do the heads of the pooled
# model look at different words from the mean-pooled one? Report accuracies with the spread over
# three seeds, not one run.
#
# ## Further reading
#
# - Ashish Vaswani et al., [*Attention Is All You Need*](https://arxiv.org/abs/1706.03762)
#   (2017): the transformer paper; section 3 is the whole architecture in three pages.
# - Jay Alammar, [*The Illustrated Transformer*](https://jalammar.github.io/illustrated-transformer/)
#   (2018): the same architecture drawn step by step, with the shapes this lesson printed.
# - Alexander Rush et al., [*The Annotated Transformer*](https://nlp.seas.harvard.edu/annotated-transformer/)
#   (2018, updated 2022): the paper interleaved with runnable PyTorch, line by line.
# - Ruibin Xiong et al., [*On Layer Normalization in the Transformer
#   Architecture*](https://arxiv.org/abs/2002.04745) (2020): why the pre-norm blocks we use
#   train without a learning-rate warm-up.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson3", part="post")
