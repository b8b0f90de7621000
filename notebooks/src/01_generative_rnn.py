# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       01_generative_rnn_pytorch.ipynb: [lesson, torch, exercise]
#       01_generative_rnn_tensorflow.ipynb: [lesson, tensorflow, exercise]
#       solutions/01_generative_rnn.ipynb: [solution]
# ---

# %% [markdown] tags=["torch"]
# # Lesson 1 · Generative recurrent networks (PyTorch)

# %% [markdown] tags=["tensorflow"]
# # Lesson 1 · Generative recurrent networks (TensorFlow)

# %% [markdown]
# A language model reads text one token at a time and, at every position, guesses what comes
# next. In this lesson the tokens are single characters and the model is a recurrent network
# (an LSTM) trained on Shakespeare. By the end you will have:
#
# - seen the four shapes recurrent models come in;
# - trained a character model and watched its loss fall;
# - generated text one character at a time, carrying the network's state;
# - seen why always taking the most likely character loops, and how sampling with a
#   *temperature*, *top-k* and *top-p* fixes it, with sliders to play with.
#
# Every model here has a twin, in PyTorch and in TensorFlow: this notebook uses the one in its
# title, and the other notebook runs the same cells with the other framework.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson1", part="pre")

# %% [markdown]
# We use NumPy for data, matplotlib for figures, and the twin of the model in this notebook's
# framework.

# %% tags=["torch"]
import matplotlib.pyplot as plt
import numpy as np
import torch

from lessonkit import data, diagrams, plots
from lessonkit.generation import generate, generate_text
from lessonkit.models.char_rnn import CharRNNConfig
from lessonkit.sampling import next_token_probs
from lessonkit.torch.char_rnn import CharRNN, load_checkpoint
from lessonkit.torch.train import evaluate, train
from lessonkit.torch.weights import count_parameters

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"  # a Colab GPU is used when present

# %% tags=["tensorflow"]
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from lessonkit import data, diagrams, plots
from lessonkit.generation import generate, generate_text
from lessonkit.models.char_rnn import CharRNNConfig
from lessonkit.sampling import next_token_probs
from lessonkit.tensorflow.char_rnn import CharRNN, load_checkpoint
from lessonkit.tensorflow.train import evaluate, train
from lessonkit.tensorflow.weights import count_parameters

if tf.config.threading.get_intra_op_parallelism_threads() != 1:  # settable once, before any op
    # One thread per operation: the LSTM's small products run faster whole than split between
    # cores, and the model runs the two halves of each batch side by side instead.
    tf.config.threading.set_intra_op_parallelism_threads(1)
keras.utils.set_random_seed(0)  # TensorFlow places ops on a GPU itself when one is present

# %% [markdown] tags=["solution"]
# # Lesson 1 · worked solutions
#
# One way to solve each exercise of the lesson, with the same self-check underneath.
# Try the exercise in the lesson notebook first: the check there says what is wrong.

# %% tags=["setup", "solution"]
# setup_cell.py's cell goes here: the builder puts it in

# %% tags=["solution"]
import numpy as np

from lessonkit import exercises

# %% [markdown]
# ## 1. Four shapes of recurrent models
#
# A recurrent network applies the same cell at every step and passes a *state* from one step to
# the next. What goes in and what comes out at each step gives four shapes:
#
# - **one-to-one**: no recurrence at all, an ordinary network;
# - **one-to-many**: one input starts a chain that emits a sequence. In image captioning a
#   convolutional network turns the picture into a feature vector, which becomes the first
#   state, and the RNN writes the caption word by word;
# - **many-to-one**: read a whole sequence, answer once (is this review positive?);
# - **many-to-many / sequence-to-sequence**: one RNN *encodes* a sentence into its state, a
#   second RNN *decodes* that state into another sentence, as in translation.
#
# A character language model is many-to-many with input and output aligned: at every step it
# reads one character and predicts the next.

# %% lessonkit_figure="lesson1_rnn_shapes"
fig = plots.recurrent_shapes()

# %% [markdown]
# ## 2. Characters as tokens
#
# The corpus is 42 works of Shakespeare, split **by play**: the validation and test plays are
# never seen in training, so a low validation loss means the model learned English and
# Shakespeare's style, not the lines of one play. The vocabulary is every character that occurs.

# %%
# NBVAL_CHECK_OUTPUT
train_text = data.load_split("train")
valid_text = data.load_split("validation")
shipped_model, tokenizer, _ = load_checkpoint(data.data_dir() / "checkpoints" / "char_rnn.safetensors")
print(f"training plays: {len(data.works('train'))}, {len(train_text):,} characters")
print(f"validation plays: {len(data.works('validation'))}, {len(valid_text):,} characters")
print(f"vocabulary: {tokenizer.vocab_size} characters")
print("".join(tokenizer.chars[1:]))

# %% [markdown]
# The tokenizer maps each character to an integer id and back. A character it has never seen is
# an error that names it, rather than a silent wrong answer.

# %%
# NBVAL_CHECK_OUTPUT
ids = tokenizer.encode("To play")
print(ids, "->", repr(tokenizer.decode(ids)))
try:
    tokenizer.encode("café")
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 3. Training windows: targets are the inputs shifted by one
#
# We cut the text into windows of `n_chars` characters. The target at each position is the
# character that follows it, so one window gives `n_chars` training examples at once.

# %%
# NBVAL_CHECK_OUTPUT
n_chars = 16
train_ids = np.array(tokenizer.encode(train_text))
inputs, targets = data.windows(train_ids[:1000], n_chars)
print("inputs:", inputs.shape, " targets:", targets.shape)
print("input  :", repr(tokenizer.decode(inputs[3])))
print("target :", repr(tokenizer.decode(targets[3])))

# %% [markdown]
# ## 4. The model: embedding → LSTM → linear
#
# Each character id becomes a vector (the embedding); two stacked LSTM layers read the vectors
# in order and carry a state; a linear layer turns the top state at each position into one score
# (a *logit*) per character. The loss is the cross-entropy of the true next character, in nats:
# a model that guesses uniformly scores `ln(vocab_size)`.

# %%
# NBVAL_CHECK_OUTPUT
config = CharRNNConfig(vocab_size=tokenizer.vocab_size, d_embed=64, d_model=384, n_layers=2, cell="lstm")
model = CharRNN(config)
print(config)
print(f"parameters: {count_parameters(model):,}")
print(f"uniform guessing: {np.log(tokenizer.vocab_size):.3f} nats per character")

# %% [markdown]
# The same model unrolled over five characters, drawn from its config: one column per time step,
# the same weights in every column, the state carried to the right, and on the left the shape of
# the tensor after each layer for a batch of B sequences.

# %% lessonkit_figure="char_rnn_unrolled"
fig = diagrams.draw_unrolled_rnn(config, "ROMEO")
plt.show()

# %% [markdown]
# PyTorch's LSTM keeps two bias vectors per layer and Keras' one (their sum), so the TensorFlow
# count is `4 × d_model` smaller per layer for exactly the same function.
#
# ## 5. Train briefly and watch the loss fall
#
# This model is the one we ship, trained for about an hour. In a budget of 20 seconds a smaller
# model of the same class learns more: each of its steps is quicker, so it takes many more of
# them. For the demo we train one LSTM layer of width 256 on batches of 32 random windows of 32
# characters. The network reads a window one character after another, but all the windows of a
# batch at once, so 32 windows of 32 characters take half the sequential steps of 16 windows of
# 64, for the same 1,024 characters. A high learning rate follows a cosine down to a tenth of
# itself as the 20 seconds run out (`benchmarks/char_rnn.py` measures what each model and batch
# size reach in a budget). The progress bar shows the loss of the latest batch, and the line
# below it says how many steps this machine fitted in the time.

# %%
# NBVAL_CHECK_OUTPUT
demo_config = CharRNNConfig(vocab_size=tokenizer.vocab_size, d_embed=64, d_model=256, n_layers=1, cell="lstm")
demo_model = CharRNN(demo_config)
print(demo_config)
print(f"parameters: {count_parameters(demo_model):,} ({count_parameters(demo_model) / count_parameters(model):.0%} of the model above)")

# %% tags=["torch"]
demo_model = demo_model.to(device)  # train on the GPU when there is one

# %%
rng = np.random.default_rng(0)
history = train(
    demo_model,
    lambda step: data.random_batch(train_ids, n_chars=32, batch_size=32, rng=rng),
    steps=5000,  # a ceiling: on a CPU the 20 seconds end the run first
    lr=1e-2,
    final_lr=1e-3,  # the cosine ends with the time budget
    max_seconds=20,
)
steps_run = len(history["loss"])
print(f"{steps_run} steps in at most 20 seconds: loss {history['loss'][0]:.2f} -> {history['loss'][-1]:.2f} "
      f"nats per character ({'it fell' if history['loss'][-1] < history['loss'][0] else 'not yet falling'})")

# %% lessonkit_figure="lesson1_loss"
fig = plots.loss_curves({"training batches": (history["step"], history["loss"])},
                        title="Character LSTM: the first seconds of training", smooth=3)
fig.axes[0].axhline(np.log(tokenizer.vocab_size), color="gray", ls="--", label="uniform guess")
fig.axes[0].legend()
plt.show()

# %% [markdown]
# It learns fast at first (which characters are common, then which follow which), and would
# keep improving for many minutes. Instead of waiting, we load the two-layer model of section 4,
# trained for about an hour by `scripts/train_rnn.py` (the command and its results are in
# `data/README.md`). Both validation losses are measured on plays neither model saw:

# %%
valid_inputs, valid_targets = data.windows(np.array(tokenizer.encode(valid_text)), 128)
every_40th = slice(None, None, 40)  # a sample of the windows keeps this cell quick
brief_loss = evaluate(demo_model, valid_inputs[every_40th], valid_targets[every_40th])
print(f"demo model after {steps_run} steps: validation loss {brief_loss:.2f} nats per character")

# %%
# NBVAL_CHECK_OUTPUT
shipped_loss = evaluate(shipped_model, valid_inputs[every_40th], valid_targets[every_40th])
print(f"shipped model: validation loss {shipped_loss:.2f} nats per character")
model = shipped_model

# %%
gap = brief_loss - shipped_loss
print(f"the demo model, after at most 20 seconds, is {abs(gap):.2f} nats per character "
      + ("behind the shipped model's hour of training" if gap > 0 else "ahead of the shipped model"))

# %% [markdown]
# ## 6. Inference: build the state from a prompt, then one character at a time
#
# Generation reuses the state. The prompt runs through the cells once; the state that comes out
# summarises it. Then each step feeds only the newest character plus the state and gets the
# scores for the next one. `model.step(ids, state)` is exactly that, and the course's one
# `generate` loop calls it for every model, whatever the framework.

# %%
prompt = "ROMEO.\nBut soft, what light"
logits, state = model.step(np.array([tokenizer.encode(prompt)]))  # the whole prompt, once
print("logits for the next character:", logits.shape)
text = ""
for _ in range(12):
    next_id = int(logits[0].argmax())  # take the most likely character
    text += tokenizer.decode([next_id])
    logits, state = model.step(np.array([[next_id]]), state)  # one character + the state
print(repr(prompt + text))

# %% [markdown]
# ## 7. Greedy decoding loops
#
# Always taking the most likely character (greedy decoding, `temperature=0`) is deterministic:
# the same state gives the same choice, and once the text comes back to a state it has seen, it
# repeats forever.

# %%
greedy_text = generate_text(model, tokenizer, "KING.\n", 300, temperature=0)
print(greedy_text)


# %%
# Which phrase does the greedy text waste most characters repeating?
def most_repeated(text, sizes=range(6, 40)):
    candidates = {text[i:i + n] for n in sizes for i in range(len(text) - n)}
    return max(candidates, key=lambda phrase: ((text.count(phrase) - 1) * len(phrase), len(phrase)))

loop = most_repeated(greedy_text)
print(f"{loop!r} occurs {greedy_text.count(loop)} times in {len(greedy_text)} characters")

# %% [markdown]
# ## 8. The next-character distribution: candidates are often close
#
# Greedy decoding throws away how close the runners-up were. After "the play", a space ("the
# play is done") and an "e" ("the player") are both plausible, and the model says so:

# %% lessonkit_figure="lesson1_next_char_play"
logits, _ = model.step(np.array([tokenizer.encode("the play")]))
probs = next_token_probs(logits[0])
fig = plots.probability_bars(probs, tokenizer.chars, top=10, title="Next character after 'the play'")

# %%
for i in np.argsort(-probs)[:5]:
    print(f"{tokenizer.chars[i]!r:>6}: {probs[i]:.1%}")

# %% [markdown]
# Context decides how close they are. After "We will play", *play* is a verb, and the model puts
# almost all its mass on the space:

# %%
verb_probs = next_token_probs(model.step(np.array([tokenizer.encode("We will play")]))[0][0])
for i in np.argsort(-verb_probs)[:3]:
    print(f"{tokenizer.chars[i]!r:>6}: {verb_probs[i]:.1%}")

# %% [markdown]
# **Sampling** draws the next character from this distribution instead of taking the top one:
# likely characters still come most often, but the text no longer locks into a loop.

# %%
print(generate_text(model, tokenizer, "KING.\n", 300, temperature=1.0, seed=1))

# %% [markdown]
# ## 9. Temperature and top-k
#
# **Temperature** divides the logits before the softmax. Below 1 it sharpens the distribution
# (safer, more repetitive text; 0 is greedy); above 1 it flattens it (more surprising, more
# mistakes). **Top-k** keeps only the k most likely characters and renormalises; **top-p**
# keeps the smallest set whose probabilities add up to p.

# %% lessonkit_figure="lesson1_temperature"
settings = [{"temperature": 0.5}, {"temperature": 1.0}, {"temperature": 2.0}, {"temperature": 1.0, "top_k": 3}]
fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
for ax, kwargs in zip(axes, settings, strict=True):
    label = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    plots.probability_bars(next_token_probs(logits[0], **kwargs), tokenizer.chars, top=8, title=label, ax=ax)
fig.suptitle("Next character after 'the play' under four sampling settings")
fig.tight_layout()

# %%
for temperature in (0.3, 0.8, 1.5):
    text = generate_text(model, tokenizer, "HAMLET.\n", 120, temperature=temperature, seed=0)
    print(f"--- temperature {temperature} ---\n{text}\n")

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 1: temperature by hand
#
# Write `temperature_probs(logits, temperature)`: the softmax of `logits / temperature`, and for
# temperature 0 the greedy choice as a one-hot vector (dividing by 0 is not an option).
# Subtract the largest logit before `np.exp`, or large logits overflow.

# %% tags=["exercise"]
from lessonkit import exercises


def temperature_probs(logits, temperature):
    logits = np.asarray(logits, dtype=float)
    raise NotImplementedError  # TODO: your code here


exercises.check_temperature_probs(temperature_probs)


# %% tags=["solution"]
def temperature_probs(logits, temperature):
    logits = np.asarray(logits, dtype=float)
    if temperature == 0:  # the limit of a shrinking temperature: all mass on the argmax
        return np.eye(len(logits))[np.argmax(logits)]
    scaled = logits / temperature
    weights = np.exp(scaled - scaled.max())  # shifting changes nothing but avoids overflow
    return weights / weights.sum()


exercises.check_temperature_probs(temperature_probs)

# %% [markdown] tags=["exercise", "solution"]
# ### Exercise 2: top-k by hand
#
# Write `top_k_probs(logits, k)`: keep the `k` largest logits, give every other token
# probability 0, and softmax the kept ones so they sum to 1. (`np.argsort` sorts from smallest
# to largest; assume no ties at the k-th place.)

# %% tags=["exercise"]
from lessonkit import exercises


def top_k_probs(logits, k):
    logits = np.asarray(logits, dtype=float)
    raise NotImplementedError  # TODO: your code here


exercises.check_top_k_probs(top_k_probs)


# %% tags=["solution"]
def top_k_probs(logits, k):
    logits = np.asarray(logits, dtype=float)
    keep = np.argsort(logits)[-k:]  # the indices of the k largest logits
    scores = np.full_like(logits, -np.inf)  # exp(-inf) = 0: the rest get nothing
    scores[keep] = logits[keep]
    weights = np.exp(scores - scores.max())
    return weights / weights.sum()


exercises.check_top_k_probs(top_k_probs)

# %% [markdown]
# ## Try it: sampling sliders
#
# Move the sliders: the bars show the distribution the sampler draws from after your prompt,
# and the box below shows a passage sampled with those settings. Try temperature near 0 (greedy
# loops come back), temperature 2 (gibberish), and top-k 1 (greedy again, whatever the
# temperature).

# %%
from IPython.display import display

from lessonkit.widgets import SamplingPanel

panel = SamplingPanel(
    logits_fn=lambda prompt: model.step(np.array([tokenizer.encode(prompt)]))[0][0],
    sample_fn=lambda prompt, **kwargs: generate_text(model, tokenizer, prompt, 150, **kwargs),
    labels=tokenizer.chars,
    prompt="the play",
)
display(panel)

# %% [markdown]
# The panel is live only in a running notebook; here is its chart after setting the sliders from code:

# %% lessonkit_figure="lesson1_sampling_panel"
panel.set(temperature=0.7, top_k=5)
fig = panel.figure()

# %% [markdown]
# ## 10. Generating from a feature vector
#
# The state that a prompt leaves behind is a vector, and the model continues from whatever
# vector it is given. That is the whole idea behind translation with an encoder-decoder (the
# decoder starts from the encoder's final state) and image captioning (the decoder starts from
# a CNN's features of the picture). Here we build two states from two very different passages
# and let the model continue from each, with no visible prompt:

# %%
contexts = {
    "a sonnet": data.load_work("sonnets")[2000:2600],
    "a battle scene": data.load_work("henry_vi_part_1")[30000:30600],
}
for name, context in contexts.items():
    _, state = model.step(np.array([tokenizer.encode(context)]))  # the feature vector
    new_ids = generate(model, tokenizer.encode("\n"), 150, temperature=0.7, seed=0, state=state)
    print(f"--- continued from the state of {name} ---\n{tokenizer.decode(new_ids)}\n")

# %% [markdown]
# ## Summary
#
# - A character RNN reads text and predicts the next character at every position; training
#   windows pair each input with the same text shifted by one.
# - Generation builds a state from the prompt once, then feeds one character and the state per
#   step. The same loop serves every model of the course.
# - Greedy decoding loops; sampling with temperature, top-k or top-p trades safety for variety.
# - Starting the chain from a feature vector instead of a prompt is how encoder-decoders
#   translate and how captioning models describe images: Lesson 2 builds one.
#
# Next: the word-level lab, `01_lab_word_generation.ipynb`.
#
# ## Challenge
#
# Train the character model on another author. Put a plain-text book from Project Gutenberg
# (say, Jane Austen or Mark Twain) in a folder, encode it with a `CharTokenizer` built from its
# own characters, and train it as section 5 does, for a few thousand steps (copy
# `scripts/train_rnn.py` and point it at your text for a longer run).
# Compare its validation loss with the shipped model's (printed in section 5), then sample from both models at
# the same temperature: which habits of each author does the model pick up first (line length,
# punctuation, names), and which never appear?
#
# ## Further reading
#
# - Andrej Karpathy, [*The Unreasonable Effectiveness of Recurrent Neural
#   Networks*](https://karpathy.github.io/2015/05/21/rnn-effectiveness/) (2015): the blog post
#   behind character models of Shakespeare; read it for its samples and for what single neurons
#   learn to track.
# - Christopher Olah, [*Understanding LSTM Networks*](https://colah.github.io/posts/2015-08-Understanding-LSTMs/)
#   (2015): the clearest pictures of the gates inside the cells we used.
# - Sepp Hochreiter and Jürgen Schmidhuber, [*Long Short-Term
#   Memory*](https://www.bioinf.jku.at/publications/older/2604.pdf) (1997): the original paper;
#   read section 4 for why the constant error carousel lets gradients survive long gaps.
# - Ari Holtzman et al., [*The Curious Case of Neural Text
#   Degeneration*](https://arxiv.org/abs/1904.09751) (2020): why greedy and pure sampling both
#   go wrong, and where top-p (nucleus) sampling comes from.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson1", part="post")
