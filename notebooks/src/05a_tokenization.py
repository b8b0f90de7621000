# ---
# jupyter:
#   lessonkit:
#     notebooks:
#       05a_tokenization.ipynb: [lesson]
# ---

# %% [markdown]
# # Lesson 5a · Tokenization: how GPT-2 turns text into tokens
#
# A language model never sees letters. GPT-2 reads a sequence of integer *token ids*, each one
# a row of its embedding matrix, and predicts the next id. This notebook opens up the step
# before the model: GPT-2's byte-level **byte-pair encoding** (BPE), written from scratch in
# `lessonkit.text` and checked token for token against OpenAI's `tiktoken`. By the end you will
# have:
#
# - followed text through the four steps: UTF-8 bytes → printable stand-ins → pre-tokens → merges;
# - seen GPT-2's real vocabulary: 50,257 tokens built from 50,000 merges;
# - trained a small BPE of your own on Shakespeare and watched it compress text as it grows;
# - measured why the same sentence costs several times more tokens in Hindi, Nepali or Kannada
#   than in English;
# - typed your own text into a tokenizer and looked at the pieces.
#
# No deep-learning framework is needed here: tokenization is plain Python.

# %% tags=["setup"]
# setup_cell.py's cell goes here: the builder puts it in

# %% [markdown]
# ## Before you start: a short quiz
#
# A few questions on what this lesson builds on. Guess if you must: each answer explains itself,
# and the lesson comes back to every one of them.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson5a", part="pre")

# %% [markdown]
# We need GPT-2's tokenizer (loaded from `data/gpt2/`, fetched once by
# `scripts/fetch_gpt2_vocab.py`), the BPE trainer, the Shakespeare corpus, and a short parallel
# text in five languages.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from lessonkit.data import load_split
from lessonkit.parallel_text import token_costs
from lessonkit.text import BPETokenizer, GPT2Tokenizer, bytes_to_unicode, train_bpe
from lessonkit.widgets import TokenizerPanel

gpt2 = GPT2Tokenizer.from_data()

# %% [markdown]
# ## Step 1 · Text is bytes
#
# GPT-2 works on the **UTF-8 bytes** of the text, not on characters. That way there is no
# unknown character: any string, in any script, is some sequence of the 256 possible bytes.
# UTF-8 spends 1 byte on an ASCII letter, 2 on æ, ø or å, 3 on a Devanagari or Kannada letter
# and 4 on most emoji. Remember that difference: it comes back when we count tokens per
# language.

# %%
for char in ["a", "å", "क", "ಕ", "🤖"]:
    encoded = char.encode("utf-8")
    print(f"{char!r}: U+{ord(char):04X} -> {len(encoded)} byte(s): {encoded.hex(' ')}")

# %% [markdown]
# ## Step 2 · Bytes get printable stand-ins
#
# GPT-2's vocabulary files store tokens as text, and some bytes (space, newline, control bytes)
# would be invisible or break the file format. So GPT-2 maps each byte to a visible character:
# the printable ones stand for themselves, the 68 others borrow characters from U+0100 on. This
# is why GPT-2's files are full of `Ġ` (a space) and `Ċ` (a newline). It is only a display
# trick: the tokenizer itself works on bytes.

# %%
table = bytes_to_unicode()


def as_gpt2_text(piece: bytes) -> str:
    """How a token is written in GPT-2's vocab.bpe and encoder.json."""
    return "".join(table[b] for b in piece)


for byte in [ord("A"), ord(" "), ord("\n"), 0xE0]:
    print(f"byte {byte:3d} (0x{byte:02x}) -> {table[byte]!r}")
print(as_gpt2_text(b" Hello\nworld"))

# %% [markdown]
# ## Step 3 · Pre-tokenization
#
# Before any merging, a regular expression cuts the text into **pre-tokens**, and merges never
# cross their boundaries. GPT-2's pattern keeps together: the English contractions `'s 't 're
# 've 'm 'll 'd`; a run of letters (in any script) with at most one space in front; a run of
# digits; a run of other symbols; and whitespace, leaving the last space of a run to the next
# word. So `" world"` is one pre-token with its space, and the same word always starts the
# same way whatever came before it.

# %%
print(gpt2.pattern)
print(gpt2.pretokenize("Hello world! It's 2024...\n\n   Don't   panic"))

# %% [markdown]
# ## Step 4 · Merges
#
# Each pre-token starts as single bytes. GPT-2 learned 50,000 **merges** from its training
# text, each one "these two adjacent tokens become one"; they are ranked in the order they were
# learned. Encoding repeats one rule: merge the adjacent pair whose result has the lowest
# rank, until no pair is in the vocabulary. Here are GPT-2's first merges, written the way its
# `vocab.bpe` file writes them (`Ġ` is a space):

# %%
print([f"{as_gpt2_text(left)} + {as_gpt2_text(right)}" for left, right in gpt2.merges[:12]])

# %% [markdown]
# Now watch one pre-token being merged, one step per line: from 13 single bytes to the final
# tokens.

# %%
for step, parts in enumerate(gpt2.merge_steps(" tokenization")):
    print(f"{step:2d}: " + " | ".join(as_gpt2_text(part) for part in parts))

# %% [markdown]
# The vocabulary is the 256 bytes, one token per merge, and one special token, `<|endoftext|>`,
# which GPT-2 put between documents. A token's id is its rank. These are the ids GPT-2 sees
# for a sentence (the unit tests check them against `tiktoken`):

# %%
# NBVAL_CHECK_OUTPUT
print(f"{gpt2.vocab_size:,} tokens = 256 bytes + {len(gpt2.merges):,} merges + 1 special")
print(f"<|endoftext|> has id {gpt2.eot_id}")
sentence = "Language models read text as tokens, not words."
ids = gpt2.encode(sentence)
print(ids)
print([gpt2.decode([i]) for i in ids])

# %% [markdown]
# ## Decoding, and bytes that are not text
#
# Decoding joins the tokens' bytes and reads them as UTF-8. Because tokens are bytes, a token
# can hold *part* of a character: GPT-2 cuts the Kannada letter ಕ into three one-byte tokens.
# Decoding only some of them gives an invalid UTF-8 sequence, shown as the replacement
# character `�` (as `tiktoken` does). At the byte level nothing is lost:
# `encode_bytes`/`decode_bytes` round-trip any bytes, even ones that are not UTF-8 at all.

# %%
ids = gpt2.encode("ಕನ್ನಡ")
print(len("ಕನ್ನಡ"), "characters ->", len(ids), "tokens:", ids)
print("first two tokens decode to", repr(gpt2.decode(ids[:2])))
raw = b"\xff\xfe not UTF-8 \x80"
print(gpt2.decode_bytes(gpt2.encode_bytes(raw)) == raw)

# %% [markdown]
# The special token only appears when you allow it. By default `<|endoftext|>` in a string is
# ordinary text (seven tokens), so text typed by a user cannot sneak in a document boundary;
# `allowed_special` turns it into the single id 50256.

# %%
text = "The end.<|endoftext|>Once upon a time"
print(gpt2.encode(text))
print(gpt2.encode(text, allowed_special={"<|endoftext|>"}))

# %% [markdown]
# ## Training our own BPE on Shakespeare
#
# Where do the merges come from? A BPE trainer starts from the bytes of a corpus, counts every
# adjacent pair inside pre-tokens, merges the most frequent pair into a new token, and
# repeats. `train_bpe` does that on our Shakespeare training plays (3 MB) for 1,000 merges;
# ties go to the pair whose bytes sort first, so the result never changes. Counting over
# *unique* pre-tokens with their counts, and updating only the counts a merge touches, keeps
# it to a few seconds.

# %%
train_text = load_split("train")
start = time.perf_counter()
shakespeare_bpe = train_bpe(train_text, vocab_size=256 + 1000 + 1)
print(f"learned {len(shakespeare_bpe.merges)} merges from {len(train_text):,} characters "
      f"in {time.perf_counter() - start:.1f} s")
learned = [as_gpt2_text(left + right) for left, right in shakespeare_bpe.merges]
print("first merges:", learned[:16])
print("last merges: ", learned[-8:])

# %% [markdown]
# The first merges are the commonest pairs of English: a space before *t*, *a*, *s*, then
# *he*, *ou*, *in* and soon `Ġthe`. Later merges make longer pieces, and whole words such as
# `Ġgold` and `Ġanswer`.
#
# Each merge makes text shorter in tokens. We measure that on two held-out plays (the
# validation split), encoding them with the first *k* merges only, and compare with GPT-2's
# 50,000 merges learned from web text.

# %%
held_out = load_split("validation")[:200_000]
n_merges = [0, 25, 50, 100, 200, 300, 500, 750, 1000]
per_char = [len(BPETokenizer(shakespeare_bpe.merges[:k]).encode(held_out)) / len(held_out)
            for k in n_merges]
gpt2_per_char = len(gpt2.encode(held_out)) / len(held_out)

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(n_merges, per_char, marker="o", label="BPE trained on Shakespeare")
ax.axhline(gpt2_per_char, color="tab:red", linestyle="--", label="GPT-2 (50,000 merges)")
ax.set(title="Compression grows with the vocabulary (held-out plays)",
       xlabel="number of merges learned", ylabel="tokens per character", ylim=(0, 1.05))
ax.grid(alpha=0.3)
ax.legend()
plt.show()
print(f"0 merges: {per_char[0]:.2f} tokens/char (bytes) -> 1,000 merges: {per_char[-1]:.2f}; "
      f"GPT-2: {gpt2_per_char:.2f}")

# %% [markdown]
# ## Token cost across languages
#
# The same four sentences about language models, in English, Norwegian (bokmål), Hindi,
# Nepali and Kannada (`lessonkit/parallel_text.py`). How many tokens does each cost?

# %%
tokenizers = {"GPT-2": gpt2, "Shakespeare BPE": shakespeare_bpe}
rows = token_costs(tokenizers)
print(f"{'':35} |{'GPT-2':^29} |{'Shakespeare BPE':^29}")
print(f"{'language':<10}{'chars':>6}{'words':>6}{'bytes':>6}{'b/char':>7}"
      + f" |{'tokens':>8}{'/char':>7}{'/word':>7}{'vs En':>7}" * 2)
english = rows[0]["tokens"]
for row in rows:
    line = (f"{row['language']:<10}{row['chars']:>6}{row['words']:>6}{row['bytes']:>6}"
            f"{row['bytes'] / row['chars']:>7.2f}")
    for name in tokenizers:
        line += (f" |{row['tokens'][name]:>8}{row['per_char'][name]:>7.2f}"
                 f"{row['per_word'][name]:>7.2f}{row['tokens'][name] / english[name]:>6.1f}x")
    print(line)

# %% [markdown]
# The same numbers as bars: tokens per character and per word, for each tokenizer.

# %% lessonkit_figure="tokens_per_language"
languages = [row["language"] for row in rows]
x = np.arange(len(languages))
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, measure, unit in [(axes[0], "per_char", "chars"), (axes[1], "per_word", "words")]:
    for offset, name in zip((-0.2, 0.2), tokenizers, strict=True):
        ax.bar(x + offset, [row[measure][name] for row in rows], width=0.4, label=name)
    ax.scatter(x, [row["bytes"] / row[unit] for row in rows], marker="_", s=900, color="black",
               label="UTF-8 bytes (no merges)", zorder=3)
    label = f"tokens per {unit[:-1].replace('char', 'character')}"
    ax.set_xticks(x, languages)
    ax.set(title=label.capitalize(), xlabel="language", ylabel=label)
    ax.grid(axis="y", alpha=0.3)
axes[1].legend(loc="upper left")
fig.suptitle("The same four sentences cost more tokens in some languages")
fig.tight_layout()
plt.show()

# %% [markdown]
# Why such a spread? Two reasons add up.
#
# 1. **Bytes.** Byte-level BPE starts from UTF-8 bytes, and a Devanagari or Kannada character
#    takes 3 bytes where an English letter takes 1 (the `b/char` column, a little less than 3
#    once spaces and punctuation are counted; the black marks in the chart). Before any merge,
#    these texts are already nearly three times longer.
# 2. **Merges.** Merges are learned where pairs are frequent. GPT-2's web text was mostly
#    English, so it has many merges for English words, fewer for Norwegian ones (æ, ø, å and
#    less common words split into pieces), a few for Devanagari byte sequences, and almost
#    none for Kannada: there GPT-2 spends nearly **one token per byte**. Our Shakespeare BPE
#    saw only ASCII, so every non-English byte stays a token of its own.
#
# Tokens are what a model pays for: context length, compute and API prices are counted in
# tokens. The `vs En` column says how many times as many tokens GPT-2 spends on the same
# sentences as in English, leaving less room in the 1,024-token context and more steps to
# generate:

# %%
# NBVAL_CHECK_OUTPUT
gpt2_tokens = {row["language"]: row["tokens"]["GPT-2"] for row in rows}
print("The same sentences cost GPT-2 " + ", ".join(
    f"{count / gpt2_tokens['English']:.1f}x as many tokens in {language}"
    for language, count in gpt2_tokens.items() if language != "English") + " as in English.")

# %% [markdown]
# Newer tokenizers are trained on more languages to even this out.

# %% [markdown]
# ## Try it
#
# Type anything: each coloured box is one token, with its id and its size in bytes
# underneath (`␣` is a space; grey hex means a token holds only part of a character). Switch
# between GPT-2 and the Shakespeare BPE. Try a long English word, a number like 1234567, your
# name, and a sentence in another script.

# %%
TokenizerPanel(tokenizers, text="Shall I compare thee to a summer's day? ನಮಸ್ಕಾರ, hei på deg!")

# %% [markdown]
# ### Exercise
#
# Guess how many GPT-2 tokens the Hindi greeting `"नमस्ते दुनिया"` ("hello world") takes:
# count its characters, think about bytes per character and how few Devanagari merges GPT-2
# has. Put your guess in `guess` and run the cell; it tells you how close you were and why.

# %%
guess = None  # your guess, an integer

greeting = "नमस्ते दुनिया"
answer = len(gpt2.encode(greeting))
if guess is None:
    print("Set `guess` to a number first.")
elif guess == answer:
    print(f"Right: {answer} tokens.")
else:
    print(f"{'Too low' if guess < answer else 'Too high'}: GPT-2 uses {answer} tokens for "
          f"{len(greeting)} characters ({len(greeting.encode())} UTF-8 bytes), while "
          f"'hello world' takes {len(gpt2.encode('hello world'))}.")

# %% [markdown]
# ## Summary
#
# - GPT-2 reads **bytes**: UTF-8 turns any text into bytes, so nothing is ever unknown.
#   Printable stand-ins (`Ġ` for a space) exist only to write tokens into text files.
# - A regular expression cuts text into **pre-tokens** (words with their leading space,
#   numbers, symbols, whitespace); merges stay inside them.
# - **Merges**, applied lowest rank first, glue bytes into tokens: 256 bytes + 50,000 merges +
#   `<|endoftext|>` = 50,257 tokens, the size of GPT-2's output layer.
# - A BPE **trainer** learns merges by repeatedly merging the most frequent pair; more merges
#   mean fewer tokens per character on text like the training text.
# - Token counts depend on the **language**: scripts that need 3 bytes per character, and that
#   were rare in the training text, cost several times more tokens for the same meaning.
#
# Next, in Lesson 5b, these ids go into GPT-2's embedding matrix `wte`.
#
# ## Challenge
#
# Train a BPE for another language. Take a plain-text book in a language other than English
# (Project Gutenberg has many), train `train_bpe` on it with the same number of merges as our
# Shakespeare BPE, and rerun the token-cost table with three tokenizers. How much does a
# tokenizer trained on the language itself close the gap to English? Then ask a question that
# tokens make hard: for some words, compare the number of letters with the number of GPT-2
# tokens, and look at how GPT-2 splits a number such as 1234567 and the next one up.
#
# ## Further reading
#
# - Andrej Karpathy, [*minbpe*](https://github.com/karpathy/minbpe) and its lecture *Let's build
#   the GPT Tokenizer* (2024): GPT-2's tokenizer built from scratch in a few hundred lines; its
#   last part explains why models struggle to spell, reverse strings and do arithmetic: they see
#   tokens, never the letters or digits inside them.
# - Rico Sennrich, Barry Haddow and Alexandra Birch, [*Neural Machine Translation of Rare Words
#   with Subword Units*](https://arxiv.org/abs/1508.07909) (2016): where BPE for language
#   models comes from.
# - Alec Radford et al., [*Language Models are Unsupervised Multitask
#   Learners*](https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf)
#   (2019): the GPT-2 paper; its section on input representation explains byte-level BPE and
#   its pre-tokenization.
# - Aleksandar Petrov et al., [*Language Model Tokenizers Introduce Unfairness Between
#   Languages*](https://arxiv.org/abs/2305.15425) (2023): the token-cost gap between languages
#   measured across many tokenizers, and what it costs their speakers.
# - Hugging Face course, [*Byte-Pair Encoding tokenization*](https://huggingface.co/learn/llm-course/chapter6/5):
#   the training and encoding algorithms step by step, beside WordPiece and Unigram.

# %% [markdown]
# ## Check your understanding
#
# The end-of-lesson quiz: pick an answer, press Check, and read why it is right or wrong.

# %%
from lessonkit.quiz import Quiz

Quiz.from_file("lesson5a", part="post")
