"""Every tokenizer, property-tested (hypothesis), and the GPT-2 BPE on adversarial input.

GPT-2's BPE must equal tiktoken on any text, round-trip any bytes, and stay O(n log n) on one
huge pre-token (counted in heap operations, not timed); WordPiece must equal ``transformers``.
"""

from __future__ import annotations

import math

import pytest

from lessonkit.text import (
    CharTokenizer,
    GPT2Tokenizer,
    WordTokenizer,
    tokenizer_from_json,
    train_bpe,
)

hypothesis = pytest.importorskip("hypothesis")
tiktoken = pytest.importorskip("tiktoken")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Text from a mixed alphabet: letters, digits, spaces of every kind, punctuation, Devanagari,
# Kannada, CJK, emoji (with joiners), and any other code point now and then.
MIXED = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("aAbzZ09 \t\n\r.,;'!?-—\u00a0\u3000éñ")),
        st.sampled_from(list("नमस्तेದುನಿಯಾ日本語中文😀👍🏽\u200d❤️")),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)


@settings(max_examples=200)
@given(text=MIXED)
def test_gpt2_bpe_equals_tiktoken_on_any_text(gpt2, reference, text):
    assert gpt2.encode_ordinary(text) == reference.encode_ordinary(text)


@settings(max_examples=200)
@given(data=st.binary(max_size=80))
def test_any_bytes_round_trip_through_the_byte_level_layer(gpt2, data):
    assert gpt2.decode_bytes(gpt2.encode_bytes(data)) == data


@pytest.fixture(scope="module")
def trained():
    from lessonkit.data import load_work

    return train_bpe(load_work("sonnets")[:40_000], 400)


@settings(max_examples=100)
@given(text=MIXED)
def test_a_trained_bpe_round_trips_and_survives_its_json(trained, text):
    clean = text.encode("utf-8", "replace").decode("utf-8")
    assert trained.decode(trained.encode_ordinary(clean)) == clean
    again = tokenizer_from_json(trained.to_json())
    assert again.encode_ordinary(clean) == trained.encode_ordinary(clean)


@settings(max_examples=100)
@given(
    text=st.text(alphabet="abc \n", min_size=1, max_size=40),
    words_in=st.lists(st.sampled_from(["a", "b", "cab", "\n", ",", "."]), min_size=1, max_size=20),
)
def test_char_and_word_tokenizers_round_trip(text, words_in):
    chars = CharTokenizer.from_text("abc \n")
    assert chars.decode(chars.encode(text)) == text
    words = WordTokenizer(["<unk>", "a", "b", "cab", "\n", ",", "."])
    ids = words.encode(" ".join(words_in))  # the words are kept, the spacing is normalized
    assert [words.words[i] for i in ids] == words_in
    assert words.encode(words.decode(ids)) == ids


@pytest.fixture(scope="module")
def wordpiece_pair():
    transformers = pytest.importorskip("transformers")
    from lessonkit.pretrained import minilm_vocab_path
    from lessonkit.text import WordPieceTokenizer

    path = minilm_vocab_path()
    return WordPieceTokenizer.from_file(path), transformers.BertTokenizer(str(path))


@settings(max_examples=100)
@given(
    text=st.text(alphabet=st.sampled_from(list("abcXYZ019 ,.!'-éÜß日本\t\n[]MASK")), max_size=50)
)
def test_wordpiece_equals_transformers(wordpiece_pair, text):
    ours, theirs = wordpiece_pair
    assert ours.tokenize(text) == theirs.tokenize(text)


# --- adversarial input: one huge pre-token -----------------------------------------------------


@pytest.mark.parametrize("text", ["a" * 1_000_000, "中" * 20_000], ids=["1M letters", "20k CJK"])
def test_one_huge_pre_token_encodes_equal_to_tiktoken(gpt2, reference, text):
    assert gpt2.encode_ordinary(text) == reference.encode_ordinary(text)


def test_merging_one_long_pre_token_grows_no_worse_than_n_log_n(gpt2):
    """Heap operations for n letters without a space, n = 16k ... 256k (deterministic counts)."""
    counts = {}
    for n in (16_000, 64_000, 256_000):
        stats: dict[str, int] = {}
        gpt2._merge(b"a" * n, stats)
        counts[n] = stats["pushes"] + stats["pops"]
    for n in counts:
        assert counts[n] <= 4 * n * math.log2(n), (n, counts[n])
    growth = counts[256_000] / counts[16_000]
    assert growth <= 16 * math.log2(256_000) / math.log2(16_000), growth  # quadratic: 256x


def test_only_short_pre_tokens_are_cached():
    tokenizer = GPT2Tokenizer.from_data()
    tokenizer.encode_ordinary("x" * 2_000 + " short words")
    info = tokenizer.cache_info()
    assert info.currsize == 2  # " short" and " words"; the 2,000-letter piece was not kept
