# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       05b_gpt2_internals_pytorch.ipynb: [lesson, torch, exercise]
#       05b_gpt2_internals_tensorflow.ipynb: [lesson, tensorflow, exercise]
#       solutions/05b_gpt2_internals.ipynb: [solution]
# ---

# %% [markdown] tags=["torch"]
# # Lesson 5 · GPT-2 internals (PyTorch)

# %% [markdown] tags=["tensorflow"]
# # Lesson 5 · GPT-2 internals (TensorFlow)

# %% [markdown]
# GPT-2 is a stack of transformer *decoder* blocks that reads tokens and scores the next one.
# This notebook opens it up with real numbers, using a twin of GPT-2 written in
# this notebook's framework with exactly GPT-2's architecture and weight names (it loads OpenAI's weights and
# gives the same scores as Hugging Face's `transformers`, a fact the tests check). By the end you
# will have:
#
# - seen why a language model that reads left to right is called *auto-regressive*;
# - built GPT-2's input vectors from its token and position embeddings;
# - computed masked self-attention as matrices, and followed one token through one attention
#   layer of the 124M-parameter architecture with every shape printed;
# - counted all 124,439,808 parameters, and found where the paper's "117M" came from;
# - timed the KV cache that makes generation cheap;
# - generated text with and without a prompt, and played with an explorer of next tokens and
#   attention.
#
# **Which model?** With a network, `from_pretrained("gpt2")` downloads OpenAI's real GPT-2
# small. Offline it says so in one line and falls back to the course's own small GPT: GPT-2's
# exact architecture (6 blocks of width 256), trained on the Shakespeare training plays by
# `scripts/train_gpt_shakespeare.py`, with the tokenizer you can train yourself in
# `05a_tokenization.ipynb`: a byte-level BPE of 4,096 tokens learned by `train_bpe` from the
# training plays. GPT-2's own tokenizer is the same algorithm with 50,257 tokens learned from web
# text. Every figure says which model it used. Sections about *shapes* and *speed* use the
# full 124M architecture, with random weights when the real ones are not available: shapes and
# speed do not depend on the values of the weights.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson5", part="pre")

# %% [markdown]
# NumPy for the arithmetic we do by hand, matplotlib for figures, and the twin in this notebook's
# framework.
# `as_numpy` turns a framework tensor into a NumPy array, so the rest of the notebook reads the
# same in both frameworks.

# %% tags=["torch"]
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch

from lessonkit import diagrams, plots
from lessonkit.generation import generate
from lessonkit.masks import causal_mask
from lessonkit.models.gpt2 import GPT2Config, WithoutCache, parameter_table
from lessonkit.parallel_text import token_costs
from lessonkit.sampling import softmax
from lessonkit.torch import gpt2
from lessonkit.torch.weights import count_parameters

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"  # a Colab GPU is used when present
np.set_printoptions(precision=2, suppress=True, linewidth=110)


def as_numpy(tensor):
    return tensor.detach().cpu().numpy()


# %% tags=["tensorflow"]
import time
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np

from lessonkit import diagrams, plots
from lessonkit.generation import generate
from lessonkit.masks import causal_mask
from lessonkit.models.gpt2 import GPT2Config, WithoutCache, parameter_table
from lessonkit.parallel_text import token_costs
from lessonkit.sampling import softmax
from lessonkit.tensorflow import gpt2
from lessonkit.tensorflow.weights import count_parameters

keras.utils.set_random_seed(0)
device = None  # TensorFlow places ops on a GPU itself when one is present
np.set_printoptions(precision=2, suppress=True, linewidth=110)


def as_numpy(tensor):
    return np.asarray(tensor)


# %% [markdown] tags=["solution"]
# # Lesson 5 · worked solutions
#
# One way to solve each exercise of the lesson, with the same self-check underneath.
# Try the exercise in the lesson notebook first: the check there says what is wrong.

# %% tags=["setup", "solution"]
# setup_cell.py's cell goes here: the builder puts it in

# %% tags=["solution"]
import numpy as np

from lessonkit import exercises

# %% [markdown]
# Load a trained GPT-2 (the real one online, the Shakespeare one offline: the library warns when
# it falls back, and we print that notice as one line), and build the 124M architecture for the
# sections about shapes and speed.

# %%
with warnings.catch_warnings(record=True) as notices:
    warnings.simplefilter("always")
    lm, tokenizer = gpt2.from_pretrained("gpt2", device=device)
for notice in notices:
    print("note:", notice.message)
model_name = "OpenAI's GPT-2 small" if lm.config.n_layers == 12 else "the bundled Shakespeare GPT"
print("trained model:", lm.source)
print(lm.config)
print(f"tokenizer: {tokenizer.vocab_size:,} tokens")

# %% [markdown]
# The whole model as a picture, computed from its config (no weights needed): the shape of the
# tensor on every arrow, for one sequence of T tokens. First GPT-2 small, then the model we
# just loaded. The block in the bracket runs once per layer.

# %% lessonkit_figure="gpt2_stack"
fig, (left, right) = plt.subplots(1, 2, figsize=(15, 10))
diagrams.draw_flow(diagrams.gpt2_flow(GPT2Config.small(), "GPT-2 small (124M)"), ax=left)
diagrams.draw_flow(diagrams.gpt2_flow(lm.config, model_name), ax=right)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
real_small = (lm.config.d_model, lm.config.n_layers) == (768, 12)
big = lm if real_small else gpt2.GPT2(GPT2Config.small())
print(f"the 124M architecture: {big.config.n_layers} layers, d_model {big.config.d_model}, "
      f"{count_parameters(big):,} parameters")

# %% tags=["torch"]
big = big.to(device)  # the timings run on the GPU when there is one

# %% [markdown]
# ## 1. Auto-regressive: predict the next token from the ones before it
#
# GPT-2 is trained on one task: given the tokens so far, score every possible next token. Used
# for generation, it appends its choice and goes again, feeding its own output back in: that is
# what *auto-regressive* means. Your phone keyboard's three suggestions are the same idea:

# %%
def suggestions(prompt, k=3):
    logits, _ = lm.step(np.array([tokenizer.encode(prompt)]))
    probs = softmax(logits[0])
    return [(tokenizer.decode([i]), probs[i]) for i in np.argsort(-probs)[:k]]


for prompt in ["To be, or not to", "My lord, I", "O Romeo, Romeo, wherefore art"]:
    shown = "   ".join(f"{word!r} {p:.0%}" for word, p in suggestions(prompt))
    print(f"{prompt!r:>34} -> {shown}")

# %% [markdown]
# The price is that a token sees **only its left**. An *auto-encoding* model such as BERT
# (Lesson 4) hides some tokens and reconstructs them from both sides. The difference is one
# matrix: which positions each position may look at (1 = may attend).

# %%
# NBVAL_CHECK_OUTPUT
words = ["robot", "must", "obey", "orders"]
print("GPT-2 (auto-regressive, causal mask)   BERT (auto-encoding, full mask)")
for word, causal_row in zip(words, causal_mask(4).astype(int), strict=True):
    print(f"{word:>8} {causal_row}                     {np.ones(4, int)}")

# %% [markdown]
# Left-to-right is natural for writing text (a story, a summary, a translation); filling a gap
# or classifying a sentence benefits from both sides, which is where BERT is stronger.
#
# ## 2. A decoder-only transformer, in four sizes
#
# GPT-2 was trained on about 40 GB of web text (WebText: pages linked from Reddit posts with at
# least 3 karma). Its architecture is the "transformer-decoder" of *Generating Wikipedia by
# Summarizing Long Sequences* (Liu et al., 2018): the original transformer's decoder without
# the encoder and without the encoder-decoder attention. The encoder line of the family led to
# BERT, the decoder line to GPT-2. OpenAI released four sizes; all share the vocabulary of
# 50,257 tokens and the context of 1,024 tokens:

# %%
# NBVAL_CHECK_OUTPUT
sizes = {"small": GPT2Config.small(), "medium": GPT2Config.medium(),
         "large": GPT2Config.large(), "XL": GPT2Config.xl()}
print(f"{'size':<8}{'d_model':>8}{'layers':>8}{'heads':>7}{'context':>9}{'parameters':>16}")
for name, c in sizes.items():
    total = parameter_table(c)["total"]
    print(f"{name:<8}{c.d_model:>8}{c.n_layers:>8}{c.n_heads:>7}{c.max_len:>9}{total:>16,}")

# %% [markdown]
# ## 3. Input: token embedding + position embedding
#
# The tokenizer turns text into ids of byte-pair-encoding pieces (not words: see
# `05a_tokenization.ipynb`). Each id selects a row of the token embedding matrix `wte`
# (50,257 rows of width 768 in GPT-2 small), and each position a row of the position
# embedding matrix `wpe` (1,024 rows). The input vector of a token is their **sum**.

# %%
# NBVAL_CHECK_OUTPUT
sentence = "A robot must obey the orders given it"
ids = tokenizer.encode(sentence)
print("tokens:", [tokenizer.decode([i]) for i in ids])
print("ids:   ", ids)
wte, wpe = big.weight("wte.weight"), big.weight("wpe.weight")
x = wte[ids] + wpe[: len(ids)]  # one row per token: (T, C)
print("wte", wte.shape, "+ wpe", wpe.shape, "-> input vectors x", x.shape)

# %% [markdown]
# Because the position is added, the same token at two places enters the model as two different
# vectors. " orders" occurs twice in Asimov's First Law; in the trained model:

# %%
law = tokenizer.encode("A robot must obey the orders given it by human beings except where "
                       "such orders would conflict with the First Law")
first, second = [t for t, i in enumerate(law) if i == tokenizer.encode(" orders")[0]]
embed = lm.weight("wte.weight")[law] + lm.weight("wpe.weight")[: len(law)]
cosine = embed[first] @ embed[second] / np.linalg.norm(embed[first]) / np.linalg.norm(embed[second])
print(f"' orders' at positions {first} and {second}: same token row, "
      f"input vectors with cosine similarity {cosine:.2f}")

# %% [markdown]
# ## 4. Masked self-attention as matrices
#
# A block is masked self-attention followed by a feed-forward network, each with layer
# normalization before it and a residual connection around it. Training shows the model every
# prefix of a sequence at once, each with the next token as its label:

# %%
# NBVAL_CHECK_OUTPUT
robot = tokenizer.encode(" robot must obey orders")
pieces = [tokenizer.decode([i]) for i in robot]
for t in range(1, len(robot)):
    print(f"input {''.join(pieces[:t])!r:<22} label {pieces[t]!r}")


# %% [markdown]
# All prefixes are computed in one pass, and the mask makes that honest: position *t* must
# not see the tokens after it. Masking happens in the **scores**, not by replacing input tokens:
#
# 1. make a query, key and value for each position (one product with `c_attn`);
# 2. score every key with every query: `Q Kᵀ / √d_head`;
# 3. add the triangular mask: −∞ above the diagonal;
# 4. softmax each row, so the weights of a row sum to 1.
#
# Here is head 0 of the first layer of the trained model, computed by hand in NumPy from the
# model's weights:

# %%
def layer_norm(x, model, name):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + model.config.layer_norm_eps) * model.weight(
        f"{name}.weight") + model.weight(f"{name}.bias")


def inputs(model, ids):
    return model.weight("wte.weight")[ids] + model.weight("wpe.weight")[: len(ids)]  # (T, C)


D = lm.config.head_dim
h = layer_norm(inputs(lm, robot), lm, "h.0.ln_1")  # (T, C)
qkv = h @ lm.weight("h.0.attn.c_attn.weight") + lm.weight("h.0.attn.c_attn.bias")  # (T, 3C)
q, k, v = np.split(qkv, 3, axis=-1)  # each (T, C)
q0, k0, v0 = q[:, :D], k[:, :D], v[:, :D]  # head 0: (T, D)
scores = q0 @ k0.T / np.sqrt(D)  # (T, T)
mask = np.where(causal_mask(len(robot)), 0.0, -np.inf)
weights = softmax(scores + mask)
print("scores Q Kᵀ/√d:\n", scores, "\n\nmask:\n", mask, "\n\nsoftmax of each row:\n", weights)

# %% [markdown]
# The model's own attention (`return_attention=True`) is the same matrix:

# %%
_, _, attention = lm.step(np.array([robot]), return_attention=True)  # (layers, B, H, T, T)
print("largest difference from the model's layer 0, head 0:",
      f"{np.abs(attention[0, 0, 0] - weights).max():.1e}")

# %% lessonkit_figure="lesson5_masked_attention"
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
finite = np.where(np.isinf(scores + mask), np.nan, scores + mask)
for ax, matrix, title in zip(axes, [scores, finite, weights],
                             ["1-2. scores Q Kᵀ/√d", "3. + mask (blank = −∞)", "4. softmax per row"], strict=True):
    plots.heatmap(matrix, pieces, pieces, title=title, xlabel="key", ylabel="query", ax=ax,
                  annotate=True)
    middle = np.nanmin(matrix) + (np.nanmax(matrix) - np.nanmin(matrix)) / 2
    for label in ax.texts:  # masked cells: write −∞ instead of nan; readable colours
        value = float(label.get_text())
        label.set_text("−∞" if np.isnan(value) else label.get_text())
        label.set_color("gray" if np.isnan(value) else "white" if value < middle else "black")
fig.suptitle(f"Masked self-attention, layer 0 head 0 of {model_name}", fontsize=10)
fig.tight_layout()

# %% [markdown]
# The first row puts all its weight on the first token: it has nothing else to look at. The
# second splits its weight between the first two tokens, and so on: every row spreads its weight
# over itself and its left, and the masked cells get none.
#
# ## 5. Query, key, value: a filing cabinet
#
# Think of a filing cabinet. The **query** is a sticky note saying what this token is looking
# for; each **key** is the label on a folder; each **value** is what is inside the folder.
# The score is how well the note matches each label (a dot product); the softmax turns the
# scores into shares; the output is the folders' contents mixed in those shares. For the last
# token, " orders":

# %%
query = q0[-1]  # the sticky note of " orders": (D,)
share = softmax(k0 @ query / np.sqrt(D))  # one score per folder label: (T,)
for piece, score, s in zip(pieces, k0 @ query / np.sqrt(D), share, strict=True):
    print(f"folder {piece!r:>9}: label score {score:6.2f} -> share {s:.0%}")
output = share @ v0  # the contents mixed in those shares: (D,)
print("output = weighted sum of values:", output.shape,
      "| equals the last row of weights @ V:", np.allclose(output, (weights @ v0)[-1], atol=1e-5))

# %% [markdown]
# In the illustration of Asimov's First Law, the output for "it" is mostly "robot", with some
# "a" and "it": the model has worked out what "it" refers to. What does our model do?
# Below, each row is one layer, averaged over its heads, for the query " it".

# %% lessonkit_figure="lesson5_it_attention"
_, _, law_attention = lm.step(np.array([law]), return_attention=True)  # (L, 1, H, T, T)
it = [tokenizer.decode([i]) for i in law].index(" it")
from_it = law_attention[:, 0, :, it, : it + 1].mean(axis=1)  # (L, positions up to "it")
labels = [tokenizer.decode([i]) for i in law[: it + 1]]
fig = plots.heatmap(from_it, labels, [f"layer {i}" for i in range(len(from_it))], annotate=True,
                    title=f"Attention of ' it' (mean of heads), {model_name}",
                    xlabel="key: the token attended to", ylabel="layer")
plt.show()
print("the token ' it' draws on most, per layer:", [labels[j] for j in from_it.argmax(axis=1)])

# %% [markdown]
# Read the rows: which earlier tokens does " it" draw on, and in which layers? The line printed
# above names, for each layer, the token that gets the most weight. Heads of the real GPT-2
# (online) link " it" to " robot" sharply; a small model trained on Shakespeare has hardly seen
# a robot. The mechanism is the same either way: a weighted sum of values.
#
# ## 6. One token through one attention layer of GPT-2 small
#
# Now the real sizes. We follow " it", the last token of "A robot must obey the orders given
# it", through the first attention layer of the 124M architecture (with random weights offline:
# the shapes are what matter here). The tokens before it are already in the **KV cache**.

# %%
# NBVAL_CHECK_OUTPUT
C, H, D = big.config.d_model, big.config.n_heads, big.config.head_dim
x = layer_norm(inputs(big, ids), big, "h.0.ln_1")  # (T, C)
W, b = big.weight("h.0.attn.c_attn.weight"), big.weight("h.0.attn.c_attn.bias")
qkv = x @ W + b  # (T, 3C)
q, k, v = np.split(qkv, 3, axis=-1)  # each (T, C)
q_it = q[-1].reshape(H, D)  # (H, D)
keys = k.reshape(len(ids), H, D).transpose(1, 0, 2)  # (H, T, D): T - 1 cached + 1 new
values = v.reshape(len(ids), H, D).transpose(1, 0, 2)  # (H, T, D)
scores = np.einsum("hd,htd->ht", q_it, keys) / np.sqrt(D)  # (H, T)
weights = softmax(scores)  # (H, T): no mask needed, " it" is the last token
heads = np.einsum("ht,htd->hd", weights, values)  # (H, D)
merged = heads.reshape(C)  # (C,)
out = merged @ big.weight("h.0.attn.c_proj.weight") + big.weight("h.0.attn.c_proj.bias")
for name, array in [("x of ' it' (after ln_1)", x[-1]), ("c_attn weight", W), ("c_attn bias", b),
                    ("q, k, v of ' it' concatenated", qkv[-1]), ("query of ' it' in heads", q_it),
                    (f"keys: {len(ids) - 1} cached + 1 new", keys), ("values", values),
                    ("scores against every key", scores), ("softmax weights", weights),
                    ("weighted sum per head", heads), ("heads merged", merged),
                    ("c_proj weight", big.weight("h.0.attn.c_proj.weight")), ("output", out)]:
    print(f"{name:<32} {array.shape}")

# %% [markdown]
# 768 → 2304 (q, k and v at once) → 12 heads of 64 → scores over the cached keys → weighted sum
# → merged back to 768 → `c_proj` (768 × 768). The model's own cache has exactly our keys, in
# the layout both twins share, `(B, n_heads, T, head_dim)`:

# %%
# NBVAL_CHECK_OUTPUT
_, cache, step_attention = big.step(np.array([ids]), return_attention=True)
cached_keys = as_numpy(cache[0][0])  # layer 0's keys: (B, H, T, D)
print("cache: one (keys, values) pair per layer:", len(cache), "layers, keys", cached_keys.shape)
print("our keys equal the model's cached keys:", np.allclose(cached_keys[0], keys, atol=1e-4))
print("our weights equal the model's attention:", np.allclose(step_attention[0, 0, :, -1], weights, atol=1e-5))


# %% [markdown]
# ## 7. The feed-forward network
#
# After attention, each position goes through the same two-layer network on its own. (Every
# token flows along its own path through all the blocks; attention is the only place where
# positions exchange information.) The network:
# 768 → 3,072 units (4 × d_model) with GELU → back to 768. GPT-2 uses the tanh approximation
# of GELU, a smooth ReLU that lets a little negative signal through.

# %%
# NBVAL_CHECK_OUTPUT
def gelu(z):
    return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))


after_attention = inputs(big, ids)[-1] + out  # residual connection: (C,)
hidden = layer_norm(after_attention, big, "h.0.ln_2") @ big.weight("h.0.mlp.c_fc.weight")  # (4C,)
hidden = gelu(hidden + big.weight("h.0.mlp.c_fc.bias"))
block_out = after_attention + hidden @ big.weight("h.0.mlp.c_proj.weight") + big.weight("h.0.mlp.c_proj.bias")
print("c_fc", big.weight("h.0.mlp.c_fc.weight").shape, "-> hidden", hidden.shape)
print("c_proj", big.weight("h.0.mlp.c_proj.weight").shape, "-> block output", block_out.shape)

# %%
z = np.linspace(-4, 3, 200)
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(z, gelu(z), label="GELU (tanh approximation)")
ax.plot(z, np.maximum(z, 0), "--", label="ReLU")
ax.set(title="The MLP's activation", xlabel="input", ylabel="output")
ax.legend()
ax.grid(alpha=0.3)

# %% [markdown]
# ## 8. Output: one score per vocabulary token, from the tied embedding
#
# After the last block and `ln_f`, the vector of the last position is multiplied by the token
# embedding matrix itself (transposed): 768 numbers become 50,257 scores, one per token, and a
# softmax turns them into probabilities. GPT-2 has no separate output matrix: input and output
# share `wte` (*tied weights*). One consequence we can check: the 50,257 scores are exactly
# `wte` times *some* d_model-long vector, so a least-squares fit through `wte` reproduces them.

# %%
prompt = "ROMEO.\nBut soft, what light through yonder window"
logits, _ = lm.step(np.array([tokenizer.encode(prompt)]))  # (B, V)
wte_lm = lm.weight("wte.weight")  # (V, C)
top_vector, *_ = np.linalg.lstsq(wte_lm.astype(np.float64), logits[0].astype(np.float64), rcond=None)
print("scores", logits[0].shape, "= wte", wte_lm.shape, "@ a vector", top_vector.shape)
print(f"largest error of that fit: {np.abs(wte_lm @ top_vector - logits[0]).max():.1e}")

# %% lessonkit_figure="lesson5_next_token"
token_labels = [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)]
fig = plots.probability_bars(softmax(logits[0]), token_labels, top=10,
                             title=f"Next token after '...{prompt[-24:]}'\n({model_name})")

# %% [markdown]
# ## 9. Count every parameter
#
# Each block has its own weights; the model has one token embedding and one position embedding.
# The table is computed from the weight shapes (`parameter_table`), and the last line checks it
# against the model's own parameters:

# %%
# NBVAL_CHECK_OUTPUT
table = parameter_table(big.config)
L = big.config.n_layers
rows = [("token embedding wte (50,257 x 768)", table["wte"]),
        ("position embedding wpe (1,024 x 768)", table["wpe"]),
        ("per block: attention (c_attn + c_proj)", table["attention"]),
        ("per block: MLP (c_fc + c_proj)", table["mlp"]),
        ("per block: two LayerNorms", table["layer norms"]),
        (f"all {L} blocks", table["blocks"]),
        ("final LayerNorm ln_f", table["ln_f"]),
        ("output layer (tied to wte)", 0)]
for name, count in rows:
    print(f"{name:<40}{count:>14,}")
print(f"{'total':<40}{table['total']:>14,}")
print("equals the model's own count:", table["total"] == count_parameters(big))

# %% [markdown]
# **Why does the paper say 117M?** The GPT-2 paper (Radford et al., 2019) lists 117M, 345M,
# 762M and 1542M parameters. OpenAI's `gpt-2` repository later renamed the models 124M, 355M,
# 774M and 1558M, noting that the original counts "were wrong due to an error", without saying
# which. What is *known*: the released checkpoints hold the counts in our table. What is
# *conjecture*: a common explanation is that the embeddings were counted with the wrong
# vocabulary. Arithmetic supports it: recount every size with GPT-1's vocabulary of 40,478
# tokens instead of 50,257, and all four of the paper's numbers come out.

# %%
# NBVAL_CHECK_OUTPUT
import dataclasses

paper = {"small": 117, "medium": 345, "large": 762, "XL": 1542}
for name, c in sizes.items():
    actual = parameter_table(c)["total"]
    with_gpt1_vocab = parameter_table(dataclasses.replace(c, vocab_size=40478))["total"]
    print(f"{name:<7} released {actual / 1e6:7.1f}M   paper {paper[name]:>5}M   "
          f"recounted with 40,478 tokens {with_gpt1_vocab / 1e6:7.1f}M")

# %% lessonkit_figure="lesson5_parameters"
parts = {"wte": table["wte"], "wpe": table["wpe"], "attention (12 blocks)": L * table["attention"],
         "MLP (12 blocks)": L * table["mlp"], "LayerNorms": L * table["layer norms"] + table["ln_f"]}
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.barh(list(parts)[::-1], [v / 1e6 for v in parts.values()][::-1], color="tab:green")
for y, value in enumerate(list(parts.values())[::-1]):
    ax.text(value / 1e6 + 0.5, y, f"{value / table['total']:.1%}", va="center", fontsize=8)
ax.set(title="Where GPT-2 small's 124,439,808 parameters live", xlabel="millions of parameters")
plt.show()

# %% [markdown]
# A third of the small model is the token embedding: the vocabulary is expensive. In the bigger
# models the blocks dominate.

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 1: count one block by hand
#
# Write `block_parameters(d_model)`: the parameters of one GPT-2 block of width `C = d_model`,
# biases included. The attention has `c_attn` (C → 3C) and `c_proj` (C → C); the MLP has `c_fc`
# (C → 4C) and `c_proj` (4C → C); each LayerNorm has a scale and a shift of width C. The number
# of heads does not appear: why not? The check tries GPT-2 small, XL and a width you can count
# on paper.

# %% tags=["exercise"]
from lessonkit import exercises


def block_parameters(d_model):  # C = d_model
    raise NotImplementedError  # TODO: your code here


exercises.check_block_parameters(block_parameters)


# %% tags=["solution"]
def block_parameters(d_model):
    C = d_model
    attention = (C * 3 * C + 3 * C) + (C * C + C)  # c_attn and c_proj, weights + biases
    mlp = (C * 4 * C + 4 * C) + (4 * C * C + C)  # c_fc and c_proj
    layer_norms = 2 * (C + C)  # ln_1 and ln_2: a scale and a shift each
    # Heads split the C columns of q, k and v into groups: same weights, no new ones.
    return attention + mlp + layer_norms  # = 12 C^2 + 13 C


exercises.check_block_parameters(block_parameters)


# %% [markdown]
# ## 10. Generation and the KV cache
#
# To generate, the model reads the prompt, scores the next token, appends the chosen one, and
# repeats. Naively each step re-reads the whole sequence. But the keys and values of earlier
# tokens never change (a token cannot see its future), so each layer can keep them: the **KV
# cache**. Then each new token costs one position instead of the whole sequence.
# `model.step(ids, cache)` does exactly that; `WithoutCache(model)` re-reads everything, for
# comparison. Both give the same tokens. Timed on the 124M architecture (short runs):

# %%
def timed_greedy(model, ids, n_new):  # the generation loop written out, with a stopwatch
    elapsed, tokens, state, step_ids = [], [], None, np.array([ids])
    began = time.perf_counter()
    for _ in range(n_new):
        logits, state = model.step(step_ids, state)  # the whole prompt once, then one token
        step_ids = logits.argmax(axis=-1)[:, None]  # greedy: (B, 1)
        tokens.append(int(step_ids[0, 0]))
        elapsed.append(time.perf_counter() - began)
    return np.array(elapsed), tokens


start_ids = tokenizer.encode("A robot must obey the orders given it by")
# Two untimed steps, the prompt and then one token: the first call of each kind pays one-off
# costs (TensorFlow traces its graph; PyTorch lays its weights out for one-row steps).
logits, state = big.step(np.array([start_ids]))
big.step(logits.argmax(axis=-1)[:, None], state)
n_new = 32
cached_time, cached_tokens = timed_greedy(big, start_ids, n_new)
plain_time, plain_tokens = timed_greedy(WithoutCache(big), start_ids, n_new)
print("same tokens with and without the cache:", cached_tokens == plain_tokens)
generated = np.arange(1, n_new + 1)
speed = {"with KV cache": generated / cached_time, "without cache": generated / plain_time}
print(f"after {n_new} tokens: {speed['with KV cache'][-1]:.1f} tokens/s with the cache, "
      f"{speed['without cache'][-1]:.1f} without ({plain_time[-1] / cached_time[-1]:.1f}x)")

# %% lessonkit_figure="lesson5_kv_cache"
fig = plots.line_plot({name: (generated, values) for name, values in speed.items()},
                      title="Generating with GPT-2 small's architecture (124M), greedy",
                      xlabel=f"new tokens generated after a {len(start_ids)}-token prompt",
                      ylabel="tokens per second so far")
fig.axes[0].set_ylim(bottom=0)
plt.show()

# %% [markdown]
# Without the cache, every step re-reads a longer sequence, so the speed falls as the text
# grows; with it, once the prompt has been read, every new token costs about the same, so the
# speed levels off. The gap widens with length (`benchmarks/gpt2_generate.py` measures it at
# 256 new tokens, beside `transformers`). (On a CPU a cached step is mostly one read of every
# weight, the 768 × 50,257 output product the largest, and the cache cannot save that.)
#
# **Unconditional generation** starts from the start token `<|endoftext|>` alone;
# **conditional generation** starts from a prompt. Each step scores every token; `top_k=1`
# takes the best one (greedy), GPT-2's published samples drew from the best `k = 40`, and a
# temperature below 1 sharpens the distribution (fewer invented words, less variety).

# %%
print(f"model: {lm.source}\n")
unconditional = generate(lm, [tokenizer.eot_id], 100, temperature=0.8, top_k=40, seed=1)
print("--- from <|endoftext|> alone (temperature 0.8, top-k 40) ---")
print(tokenizer.decode(unconditional))
prompt = "KING HENRY.\nOnce more unto the breach,"
sampled = generate(lm, tokenizer.encode(prompt), 100, temperature=0.8, top_k=40, seed=1)
print(f"\n--- from a prompt (temperature 0.8, top-k 40) ---\n{prompt}{tokenizer.decode(sampled)}")

# %% [markdown]
# Greedy decoding has a known failure: once the best continuation of a line leads back to the
# same line, it repeats forever. Sampling is one cure; another keeps greedy but makes every token
# already in the text less likely, CTRL's **repetition penalty** (Keskar et al., 2019: divide a
# seen token's positive score by the penalty, multiply a negative one), which `generate` offers
# as `repetition_penalty`. Both from the same prompt, a few hundred tokens each:

# %%
import re


def repeated_lines(text):
    """How many lines of ``text`` repeat an earlier line: blank lines and speaker headings such
    as "GLOSTER." do not count (a dialogue repeats its speakers' names by design)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    spoken = [line for line in lines if not re.fullmatch(r"[A-Z][A-Z .'-]*\.", line)]
    return len(spoken) - len(set(spoken))


n_greedy = 200
plain_greedy = tokenizer.decode(generate(lm, tokenizer.encode(prompt), n_greedy, temperature=0))
penalized = tokenizer.decode(generate(lm, tokenizer.encode(prompt), n_greedy, temperature=0, repetition_penalty=1.3))
print(f"greedy, {n_greedy} tokens: {repeated_lines(plain_greedy)} repeated lines; "
      f"with repetition penalty 1.3: {repeated_lines(penalized)}")
loop = "\n".join(plain_greedy.rstrip().split("\n")[-5:])
print(f"\n--- plain greedy, its last lines ---\n{loop}")
print(f"\n--- greedy with repetition penalty 1.3 ---\n{prompt}{penalized}")

# %% [markdown]
# Does the model write Shakespeare's words or invent its own? BPE pieces can spell words that
# never occur in the plays (mostly new names for speakers). The share of the generated words that
# occur in the training plays, and the longest run of blank lines (the plays often put three
# before a new scene), for the samples above:

# %%
from lessonkit import data

training_words = set(re.findall(r"[A-Za-z']+", data.load_split("train")))
samples = {"unconditional": tokenizer.decode(unconditional), "from the prompt": tokenizer.decode(sampled),
           "greedy + penalty": penalized}
for name, text in samples.items():
    words = re.findall(r"[A-Za-z']+", text)
    known = np.mean([word in training_words for word in words])
    blank_run = max((len(run) - 1 for run in re.findall(r"\n{2,}", text)), default=0)
    print(f"{name:<16} {len(words):>4} words, {known:.0%} in the training plays; longest blank-line run {blank_run}")

# %% [markdown]
# Honest simplifications of the pictures you may have seen: tokens are BPE pieces, not words;
# training uses long sequences (1,024 tokens) and big batches; row and column vectors are
# written either way round; and layer normalization, easy to leave out of a diagram, matters
# for training to work at all.
#
# ## 11. Tokens cost differently across languages
#
# A BPE learned mostly on English (GPT-2's, from web text; ours, from Shakespeare) makes the same
# sentence cost more tokens in other languages (the whole story is in `05a_tokenization.ipynb`).
# Context length and generation time are counted in tokens; here for this notebook's tokenizer:

# %%
# NBVAL_CHECK_OUTPUT
name = f"{tokenizer.vocab_size}-token BPE"
print(f"tokens per sentence with the {name}:")
for row in token_costs({name: tokenizer}):
    print(f"{row['language']:<10} {row['chars']:>4} characters -> {row['tokens'][name]:>4} "
          f"tokens ({row['per_word'][name]:.1f} per word)")

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 2: apply one BPE merge
#
# Byte-pair encoding learns a list of merges and applies them in order. Write
# `merge(ids, pair, new_id)`: scan `ids` left to right and replace every occurrence of the pair
# by `new_id`. Occurrences must not overlap: in `[1, 1, 1]` the pair `(1, 1)` is replaced once,
# on the left. The check also tries an absent pair and the pair reversed.

# %% tags=["exercise"]
from lessonkit import exercises


def merge(ids, pair, new_id):
    raise NotImplementedError  # TODO: your code here


exercises.check_bpe_merge(merge)


# %% tags=["solution"]
def merge(ids, pair, new_id):
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)  # the pair becomes one token...
            i += 2  # ...and both of its ids are used up, so pairs never overlap
        else:
            merged.append(ids[i])
            i += 1
    return merged


exercises.check_bpe_merge(merge)

# %% [markdown]
# ## 12. One sequence, many tasks
#
# A decoder-only model only continues sequences, so other tasks are written *as* sequences.
#
# - **Translation**: source, a separator, target. Training on such sequences (often with the loss
#   on the target part only) teaches the model to continue a source with its translation.
# - **Summarization**: the article, then a marker, then the summary. GPT-2's paper added
#   "TL;DR:" after an article; *Generating Wikipedia* generated a Wikipedia lead from the
#   article's sources. **Transfer learning**: pretrain as a language model, then fine-tune on
#   such sequences.

# %%
# NBVAL_CHECK_OUTPUT
examples = {
    "translation": ("english: Good night, sweet prince. ", "= norsk: God natt, søte prins."),
    "summarization": ("To be, or not to be, that is the question: whether 'tis nobler in the "
                      "mind to suffer the slings and arrows of outrageous fortune... ",
                      "TL;DR: Hamlet wonders whether to live."),
}
for task, (source, target) in examples.items():
    source_ids, target_ids = tokenizer.encode(source), tokenizer.encode(target)
    print(f"{task}: {len(source_ids)} source tokens + {len(target_ids)} target tokens, one sequence")
    print("  loss on:", "".join("_" * len(source_ids)) + "^" * len(target_ids))
    print("  target tokens:", [tokenizer.decode([i]) for i in target_ids])


# %% [markdown]
# **Music** works the same way. The Music Transformer (Huang et al., 2018) writes a piano
# performance as a sequence of one-hot *events* from a vocabulary of 388: 128 NOTE_ON and 128
# NOTE_OFF (one per MIDI pitch), 100 TIME_SHIFTs of 10 ms to 1 s, and 32 SET_VELOCITY levels.
# The opening of "Twinkle, Twinkle, Little Star", each note 0.5 s long:

# %%
# NBVAL_CHECK_OUTPUT
def performance_events(notes, velocity=80, seconds=0.5):
    events = [("SET_VELOCITY", velocity // 4)]  # 32 velocity bins
    for pitch in notes:
        steps = round(seconds * 100)  # time shifts of 10 ms, at most 100 per event
        events += [("NOTE_ON", pitch), ("TIME_SHIFT", steps), ("NOTE_OFF", pitch)]
    return events


OFFSETS = {"NOTE_ON": 0, "NOTE_OFF": 128, "TIME_SHIFT": 256 - 1, "SET_VELOCITY": 356}
melody = [60, 60, 67, 67, 69, 69, 67]  # C C G G A A G
events = performance_events(melody)
print(events[:7], "...")
print("token ids:", [OFFSETS[kind] + value for kind, value in events])
print(f"{len(melody)} notes -> {len(events)} tokens from a vocabulary of 388")

# %% [markdown]
# ## Try it: the next-token explorer
#
# Type a prompt and see the most likely next tokens; click one to append it, and the model runs
# again. Temperature, top-k and top-p re-shape the bars without re-running the model; the
# layer and head sliders show, beside the bars, what the last token attended to, and below
# them what happened inside that step: the head's q·k scores before the softmax, its weighted
# sum of the values, and the layer's MLP output (`step(..., return_trace=True)`). The explorer
# takes plain functions, so it works with either twin (and any model).

# %%
from IPython.display import display

from lessonkit.widgets import NextTokenExplorer


def predict(prompt):
    ids = tokenizer.encode(prompt)[-lm.config.max_len :] or [tokenizer.eot_id]
    logits, _, attention, trace = lm.step(np.array([ids]), return_attention=True, return_trace=True)
    last_token_attention = attention[:, 0, :, -1, :]  # (layers, heads, T)
    inside = {key: value[0] for key, value in trace.items()}  # the one row: (layers, ...)
    return logits[0], [token_labels[i] for i in ids], last_token_attention, inside


explorer = NextTokenExplorer(predict, token_labels, prompt="ROMEO.\nBut soft, what light", title=model_name)
display(explorer)

# %% [markdown]
# The explorer is live only in a running notebook; here is its view after setting it from code:

# %% lessonkit_figure="gpt2_explorer"
explorer.set(prompt="ROMEO.\nBut soft, what light", temperature=0.8, top_k=40, layer=lm.config.n_layers - 1, head=1)
explorer.append(int(np.argmax(explorer.probs())))  # what clicking the top token does
fig = explorer.figure()

# %% [markdown]
# ## Summary
#
# - GPT-2 is auto-regressive: a decoder-only transformer that predicts each token from the ones
#   before it, with a causal mask in the attention scores.
# - Input = token embedding + position embedding; each block = masked self-attention and an
#   MLP, each behind a LayerNorm and inside a residual connection; output = the top vector
#   times the tied token embedding, one score per token of the vocabulary (50,257 in GPT-2).
# - Attention is a filing cabinet: queries match keys, values are mixed by the softmaxed scores.
#   One layer of GPT-2 small maps 768 → 2,304 → 12 heads of 64 → 768 → 768.
# - GPT-2 small has 124,439,808 parameters; the paper's 117M matches a recount with GPT-1's
#   40,478-token vocabulary (a conjecture: OpenAI only said the count was wrong).
# - The KV cache keeps each layer's keys and values, so a new token costs one position.
#
# ## Challenge
#
# Draw a small scaling law. `scripts/train_gpt_shakespeare.py` trains our Shakespeare GPT
# (`--steps` sets the budget; copy the script to change its width); train it at three widths
# (say `d_model` 128, 256 and 384) for the same number of tokens,
# and plot validation loss against parameter count (log axis). Does the loss fall along a
# straight line, as Kaplan et al. found for much bigger models? Then fix the width and vary the
# steps instead. Which pays more on a laptop: a wider model or a longer run?
#
# ## Further reading
#
# - Alec Radford et al., [*Language Models are Unsupervised Multitask
#   Learners*](https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf)
#   (2019): the GPT-2 paper; section 2 shows how tasks are written as text to continue.
# - Jay Alammar, [*The Illustrated GPT-2*](https://jalammar.github.io/illustrated-gpt2/) (2019):
#   the robot sentence, the filing cabinet and the token's path through the blocks, drawn.
# - Andrej Karpathy, [nanoGPT](https://github.com/karpathy/nanoGPT) `model.py`: GPT-2 in about
#   300 readable lines with the same weight names as ours; compare it with our twins.
# - Jared Kaplan et al., [*Scaling Laws for Neural Language Models*](https://arxiv.org/abs/2001.08361)
#   (2020): how loss falls with parameters, data and compute; the background to the challenge.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson5", part="post")
