# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       00_start_here.ipynb: [lesson]
# ---

# %% [markdown]
# # Start here: the lessonkit course
#
# A hands-on course from generative RNNs through attention, transformers and BERT to the
# internals of GPT-2. Every model is written twice, in PyTorch and in TensorFlow/Keras 3, and
# tested equal to the real thing (Hugging Face `transformers`, `tiktoken`, the frameworks' own
# attention layers). Every figure is computed in the notebook that shows it.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## What you need before you start
#
# The course builds every model from its parts, so it assumes the basics below. Each link is a
# short, free way to catch up:
#
# - **Python**: functions, classes, lists and dictionaries, comprehensions. The official
#   [Python tutorial](https://docs.python.org/3/tutorial/) covers all of it.
# - **NumPy**: arrays, shapes, indexing and broadcasting; every model's input and output is a
#   NumPy array. [NumPy: the absolute basics for
#   beginners](https://numpy.org/doc/stable/user/absolute_beginners.html).
# - **One framework's basics**, PyTorch or TensorFlow/Keras: tensors, a layer, a training loop.
#   PyTorch's [Learn the Basics](https://pytorch.org/tutorials/beginner/basics/intro.html), or
#   TensorFlow's [beginner quickstart](https://www.tensorflow.org/tutorials/quickstart/beginner)
#   with Keras' [introduction for engineers](https://keras.io/getting_started/intro_to_keras_for_engineers/).
# - **Softmax and cross-entropy**: how scores become probabilities, and why the loss is the
#   negative log-probability of the right answer (in nats here). Stanford's notes on
#   [linear classification](https://cs231n.github.io/linear-classify/#softmax) explain both in
#   their softmax section.
#
# Nothing else is assumed: recurrent networks, attention, transformers and tokenizers are all
# built here.

# %% [markdown]
# ## The lessons
#
# | lesson | what you build | notebooks (open in Colab) | to run on a laptop CPU |
# |---|---|---|---|
# | 1 · Generative RNNs | a character LSTM on Shakespeare; greedy loops; temperature, top-k, top-p with sliders | [`01_generative_rnn_pytorch.ipynb`](01_generative_rnn_pytorch.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/01_generative_rnn_pytorch.ipynb))<br>[`01_generative_rnn_tensorflow.ipynb`](01_generative_rnn_tensorflow.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/01_generative_rnn_tensorflow.ipynb))<br>[`01_lab_word_generation.ipynb`](01_lab_word_generation.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/01_lab_word_generation.ipynb)) | under a minute each |
# | 2 · Attention in seq2seq | dates in any format to ISO with a GRU encoder-decoder; Bahdanau attention and its heatmaps | [`02_attention_seq2seq_pytorch.ipynb`](02_attention_seq2seq_pytorch.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/02_attention_seq2seq_pytorch.ipynb))<br>[`02_attention_seq2seq_tensorflow.ipynb`](02_attention_seq2seq_tensorflow.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/02_attention_seq2seq_tensorflow.ipynb)) | under a minute each |
# | 3 · Transformers | positions, self-attention by hand, multi-head attention equal to the built-ins, a genre classifier | [`03_transformers_pytorch.ipynb`](03_transformers_pytorch.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/03_transformers_pytorch.ipynb))<br>[`03_transformers_tensorflow.ipynb`](03_transformers_tensorflow.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/03_transformers_tensorflow.ipynb)) | under a minute each |
# | 4 · BERT | WordPiece, a BERT twin loaded with real MiniLM weights, masked language modelling, transfer | [`04_bert_pytorch.ipynb`](04_bert_pytorch.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/04_bert_pytorch.ipynb))<br>[`04_bert_tensorflow.ipynb`](04_bert_tensorflow.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/04_bert_tensorflow.ipynb)) | about a minute each |
# | 5a · Tokenization (before 5b) | GPT-2's byte-level BPE from scratch, equal to tiktoken; train your own BPE; token costs by language | [`05a_tokenization.ipynb`](05a_tokenization.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/05a_tokenization.ipynb)) | under a minute |
# | 5b · GPT-2 internals | GPT-2 equal to Hugging Face's, every parameter counted, the KV cache, a next-token explorer | [`05b_gpt2_internals_pytorch.ipynb`](05b_gpt2_internals_pytorch.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/05b_gpt2_internals_pytorch.ipynb))<br>[`05b_gpt2_internals_tensorflow.ipynb`](05b_gpt2_internals_tensorflow.ipynb) ([Colab](https://colab.research.google.com/github/lessonkit/lessonkit/blob/main/notebooks/05b_gpt2_internals_tensorflow.ipynb)) | about a minute each |

# %% [markdown]
# Take the lessons in order, 5a before 5b. Each takes one to two hours to study. The run times
# above are for executing the whole notebook top to bottom: heavy training was done once by the
# scripts in `scripts/`, and the notebooks train for half a minute or so to show learning, then
# load the shipped weights.

# %% [markdown]
# ## Which notebook should I open?
#
# Every lesson has a **PyTorch** and a **TensorFlow** notebook with the same sections, the same
# prose and the same figures; only the code cells differ. Pick the framework you use (or want to
# learn). The weights move between them: a model trained in one loads in the other and gives the
# same outputs, and the tests check that. The Lesson 1 lab works with either (one line picks
# the framework), and Lesson 5a's tokenization needs no framework at all.
#
# Every lesson notebook follows the same plan:
#
# - a **quiz before** you start (what the lesson builds on) and one **after** (what it taught);
# - **exercises** with a self-check underneath that runs your function on our cases and names
#   the first one it gets wrong (until you write your code it says "not done yet", and the rest
#   of the notebook still runs);
# - a **challenge**, open-ended, and **further reading**: the primary sources, with a sentence on
#   why each is worth your time;
# - worked solutions in `solutions/`, one notebook per lesson.

# %% [markdown]
# ## How to run it
#
# - **On your machine**: `make lab` in the repository installs everything into `.venv` and opens
#   JupyterLab here (Python 3.11; a CPU is enough). `make test` runs every test, including all
#   notebooks.
# - **On Colab**: the Colab links above open a notebook directly; its first cell installs the
#   course. A GPU runtime is used when you pick one, and nothing needs it.
# - **On Binder**: [this link](https://mybinder.org/v2/gh/lessonkit/lessonkit/main?urlpath=lab/tree/notebooks) builds the course and opens JupyterLab (it takes
#   a few minutes the first time).
#
# Nothing downloads data or weights at run time: the Shakespeare texts, GPT-2's vocabulary and
# our trained checkpoints are in `data/`, and MiniLM's pretrained weights come with a pip
# package. The one exception is optional: Lesson 5b uses OpenAI's real GPT-2 weights when a
# network is there, and our small GPT otherwise.

# %% [markdown]
# ## Read it online, and in your language
#
# The whole course can also be read as a website, with every notebook's saved figures and outputs
# and a search box: [lessonkit.github.io/lessonkit](https://lessonkit.github.io/lessonkit/).
# Nothing runs there; open a notebook here to move the sliders.
#
# For every lesson the site has a one-page summary and a glossary of its key terms in four more
# languages, as guides to these English notebooks. The terms follow the published translations
# of the material this course grew from.
#
# - [नेपाली (Nepali)](https://lessonkit.github.io/lessonkit/languages/ne/)
# - [हिन्दी (Hindi)](https://lessonkit.github.io/lessonkit/languages/hi/)
# - [ಕನ್ನಡ (Kannada)](https://lessonkit.github.io/lessonkit/languages/kn/)
# - [Norsk (Norwegian)](https://lessonkit.github.io/lessonkit/languages/nb/)

# %% [markdown]
# ## Check your installation
#
# The versions of what the course uses (the course is tested with those in
# `requirements.txt`; nearby versions usually work):

# %%
import platform
from importlib import metadata


def version(*distributions):  # the first of these pip distributions that is installed
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return "not installed"


print(f"{'python':<14}{platform.python_version()}")
for name in ("lessonkit", "numpy", "torch", "keras", "transformers", "tiktoken", "safetensors",
             "matplotlib", "ipywidgets"):
    print(f"{name:<14}{version(name)}")
print(f"{'tensorflow':<14}{version('tensorflow-cpu', 'tensorflow')}")

# %% [markdown]
# And whether the bundled data and checkpoints are all there and unchanged: every file in
# `data/` is listed with its sha256 in `data/SHA256SUMS`, and the check below hashes each one.
# An altered file is reported here rather than as a puzzling result in a lesson; `git checkout
# data/` restores it.

# %%
# NBVAL_CHECK_OUTPUT
from collections import Counter

from lessonkit import data

report = data.check_bundle()
counts = Counter(item.status for item in report)
print(f"data/: {len(report)} files, {counts['intact']} intact")
for item in report:
    if item.status != "intact":
        print(f"  {item.status}: {item.path}")
print("all present and intact" if counts["intact"] == len(report) else "some files need attention")

# %% [markdown]
# If that says *all present and intact*, start with Lesson 1:
# [`01_generative_rnn_pytorch.ipynb`](01_generative_rnn_pytorch.ipynb) or
# [`01_generative_rnn_tensorflow.ipynb`](01_generative_rnn_tensorflow.ipynb).
