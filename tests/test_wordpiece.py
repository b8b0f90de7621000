"""WordPiece (BERT's tokenizer) against transformers.BertTokenizer on MiniLM's vocab.txt.

Both sides share only the vocabulary file: ``transformers.BertTokenizer`` runs the Rust
``tokenizers`` implementation, ours is plain Python. Beyond the alphabet fuzzed here the two can
differ only where Python's Unicode tables and the Rust crates' disagree on a character's category
(characters added in recent Unicode versions).
"""

import random

import numpy as np
import pytest

from lessonkit.pretrained import minilm_vocab_path
from lessonkit.text import WordPieceTokenizer

transformers = pytest.importorskip("transformers")

TRICKY = (
    "Café, naïve façade; Ångström's résumé — ÜBER coöperate! Crème brûlée?\n"
    "Punctuation runs: ?!... --- ((x)) \"quoted\" 'single' `back` $5 + 3^2 = 14 ~ #tag @name {a|b} _x_\n"
    "Digits: 3.14159, 1,000,000 and 2023-10-05 at 12:30pm; 0.5% of 10e-3.\n"
    "Devanagari: नमस्ते दुनिया, हिन्दी।  CJK: 日本語の文章と中文字符。 한국어 문장.\n"
    "Emoji: 😀 👍🏽 🇬🇧 ❤️ and a ZWJ family 👨‍👩‍👧.\n"
    "Tabs\tand\r\nnewlines\x0b vertical\x0c feed\x00nul\x07bell\u200bzero-width\u00adsoft-hyphen "
    "\u2028line sep\u3000ideographic space\ufffdreplacement.\n"
    "Greek ΟΔΟΣ, Turkish İstanbul, German Straße, ligature ﬁne, Kelvin \u212a, Ohm \u2126.\n"
    "Special tokens stay whole: to be or [MASK] to be, [CLS][SEP] but not [mask].\n"
    "A long made-up word: antidisestablishmentarianismhoodwinkeryflibbertigibbet.\n"
    + "Supercalifragilistic" * 6  # 120 characters: longer than 100, so one [UNK]
    + " and exactly one hundred: "
    + "a" * 100
)

# A mixed alphabet for the fuzz: ASCII, accents, controls, every kind of space, Devanagari
# (with combining marks), CJK, Hangul, emoji, special tokens and near-misses of them.
ALPHABET = [
    *"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789",
    *".,;:!?-'\"()[]{}$+^`~_#@%&*/\\|<>=",
    *" \t\n\r\x00\x07\x0b\x0c\x1c\x85\u00a0\u00ad\u200b\u2028\u2029\u3000\ufffd\ue000",
    *"àáâäåçèéêëìíîïñòóôöùúûüýÿÀÉÑÖÜßøæœ",
    *"\u0301\u0308\u0327",  # combining acute, diaeresis, cedilla
    *"नमस्तेहिंदीकखगघ़ा",
    *"日本語中文字符漢字。、",
    *"한국어",
    *"ΟΔΟΣσςİıK\u212aﬁ",
    "😀",
    "👍🏽",
    "\u200d",
    "[MASK]",
    "[CLS]",
    "[SEP]",
    "[PAD]",
    "[UNK]",
    "[mask]",
    "##",
    "un",
    "believ",
    "able",
    "the",
    "ing",
]


@pytest.fixture(scope="module")
def vocab_path():
    return minilm_vocab_path()


@pytest.fixture(scope="module")
def ours(vocab_path):
    return WordPieceTokenizer.from_file(vocab_path, lowercase=True)


@pytest.fixture(scope="module")
def reference(vocab_path):
    return transformers.BertTokenizer(str(vocab_path), do_lower_case=True)


def test_vocabulary_and_special_ids_match_the_reference(ours, reference):
    assert ours.vocab_size == reference.vocab_size == 30522
    assert (ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id) == (
        reference.pad_token_id,
        reference.unk_token_id,
        reference.cls_token_id,
        reference.sep_token_id,
        reference.mask_token_id,
    )


def test_tricky_text_gives_the_same_tokens_and_ids(ours, reference):
    tokens = ours.tokenize(TRICKY)
    assert tokens == reference.tokenize(TRICKY)
    assert ours.encode(TRICKY) == reference(TRICKY, add_special_tokens=False)["input_ids"]
    # The test text exercises what it claims to: accents stripped, pieces, unknowns, specials.
    for token in ("cafe", "naive", "ang", "##strom", "[MASK]", "日", "न", "[UNK]", "##"):
        assert any(t.startswith(token) for t in tokens), token
    assert tokens.count("[MASK]") == 1  # "[mask]" is ordinary text: "[", "mask", "]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café naïve", ["cafe", "naive"]),  # accents stripped, lower-cased
        ("unaffable", ["una", "##ffa", "##ble"]),  # greedy longest match first, ## continuations
        ("3.14", ["3", ".", "14"]),  # every punctuation mark is a word of its own
        ("$5+x", ["$", "5", "+", "x"]),  # so are ASCII symbols (not Unicode punctuation)
        ("中文", ["中", "文"]),  # each CJK ideograph is a word
        ("ΟΔΟΣ", ["ο", "##δ", "##ο", "##σ"]),  # one character at a time: no final sigma
        ("a" * 101, ["[UNK]"]),  # longer than max_input_chars_per_word
        ("to [MASK]!", ["to", "[MASK]", "!"]),
    ],
)
def test_hand_checked_examples(ours, reference, text, expected):
    assert ours.tokenize(text) == expected == reference.tokenize(text)


def test_fuzz_over_a_mixed_alphabet(ours, reference):
    rng = random.Random(1234)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    for text in texts:
        assert ours.tokenize(text) == reference.tokenize(text), repr(text)
        assert ours.encode(text) == reference(text, add_special_tokens=False)["input_ids"]


def test_a_whole_speech_matches(ours, reference):
    from lessonkit.data import load_work

    text = load_work("hamlet")[20_000:40_000]
    assert ours.encode(text) == reference(text, add_special_tokens=False)["input_ids"]


def test_decode_glues_pieces_and_keeps_specials(ours):
    ids = ours.encode("Unaffable, Ångström!")
    assert ours.tokens_of(ids) == ["una", "##ffa", "##ble", ",", "ang", "##strom", "!"]
    assert ours.decode(ids) == "unaffable , angstrom !"
    assert ours.decode([ours.cls_id, *ids, ours.sep_id]) == "[CLS] unaffable , angstrom ! [SEP]"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ours.decode([ours.vocab_size])


@pytest.mark.parametrize("max_length", [2, 3, 5, 8, 16, 40])
def test_encode_batch_of_single_texts_matches_the_reference(ours, reference, max_length):
    texts = ["To be, or not to be: that is the question.", "", "Ay.", TRICKY[:200]]
    got = ours.encode_batch(texts, max_length)
    expected = reference(texts, padding="max_length", truncation=True, max_length=max_length)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert got[key].shape == (len(texts), max_length)
        assert got[key].dtype == np.int64
        assert got[key].tolist() == expected[key], key


@pytest.mark.parametrize("max_length", [3, 4, 7, 10, 13, 20, 64])
def test_encode_batch_of_pairs_matches_the_reference(ours, reference, max_length):
    words = "whether tis nobler in the mind to suffer the slings and arrows".split()
    rng = random.Random(max_length)
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 14))) for _ in range(12)]
    pairs = [" ".join(rng.choices(words, k=rng.randint(0, 14))) for _ in range(12)]
    texts += ["a b c d e", "a b c d e f g h i j k l"]  # equal lengths, and the longer first
    pairs += ["v w x y z", "z"]
    got = ours.encode_batch(texts, max_length, text_pairs=pairs)
    expected = reference(texts, pairs, padding="max_length", truncation=True, max_length=max_length)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert got[key].tolist() == expected[key], key


def test_bad_input_raises_a_value_error_saying_why(ours, vocab_path):
    with pytest.raises(ValueError, match="expects a str"):
        ours.tokenize(b"bytes")
    with pytest.raises(ValueError, match="expects a str"):
        ours.encode(None)
    with pytest.raises(ValueError, match="not one str"):
        ours.encode_batch("one text", 8)
    with pytest.raises(ValueError, match="at least 2"):
        ours.encode_batch(["a"], 1)
    with pytest.raises(ValueError, match="at least 3"):
        ours.encode_batch(["a"], 2, text_pairs=["b"])
    with pytest.raises(ValueError, match="must be an int"):
        ours.encode_batch(["a"], 8.0)
    with pytest.raises(ValueError, match="in pairs"):
        ours.encode_batch(["a", "b"], 8, text_pairs=["c"])
    with pytest.raises(ValueError, match="sequence of str"):
        ours.encode_batch(["a", 3], 8)
    with pytest.raises(ValueError, match="lacks the special tokens"):
        WordPieceTokenizer(["a", "b", "[UNK]"])
    with pytest.raises(ValueError, match="more than once"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "a"])


def test_cache_serves_repeated_words(vocab_path):
    tokenizer = WordPieceTokenizer.from_file(vocab_path)
    tokenizer.encode("the the the")
    assert tokenizer.cache_info().hits == 2
