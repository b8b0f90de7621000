"""GPT-2 byte-level BPE against tiktoken, byte-level round trips, and the BPE trainer.

tiktoken's GPT-2 encoding is built offline from the same two files (data/gpt2/), with tiktoken's
own copy of GPT-2's split pattern, so both sides share only the data, not the code.
"""

import random
import unicodedata
from collections import Counter
from itertools import pairwise

import pytest

from lessonkit.parallel_text import PARALLEL_TEXT
from lessonkit.text import (
    ENDOFTEXT,
    BPETokenizer,
    GPT2Tokenizer,
    bytes_to_unicode,
    train_bpe,
)

tiktoken = pytest.importorskip("tiktoken")


WHITESPACE = [
    " ",
    "  ",
    "\n",
    "\n\n",
    "\n\n  \t",
    "\t",
    "\r\n",
    "   \n ",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\x0b",
]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'x", "’s", "'"]
WORDS = [
    "the",
    "The",
    "THE",
    "language",
    "Model",
    "tOKen",
    "GPT",
    "don't",
    "we'll",
    "I'm",
    "they've",
    "språkmodell",
    "lærer",
    "spørsmål",
    "ÆØÅ",
    "blåbærsyltetøy",
    "भाषा",
    "मॉडल",
    "प्रशिक्षित",
    "टोकनहरूको",
    "महत्त्वपूर्ण",
    "ज्ञान",
    "ಕನ್ನಡ",
    "ಭಾಷಾ",
    "ಪ್ರಶ್ನೆಗಳಿಗೆ",
    "ಟೋಕನ್‌ಗಳ",
]
SYMBOLS = [
    "🤖",
    "👍🏽",
    "👩‍💻",
    "🇳🇴",
    "😀😀",
    "—",
    "...",
    "!?",
    "<|",
    "|>",
    "$",
    "€",
    "°C",
    "#",
    "@",
    "\\",
    "\x00",
]


def random_assigned_char(rng: random.Random) -> str:
    """Any character assigned in Python's Unicode database (not a surrogate).

    Code points unassigned there (Unicode 14 for Python 3.11) are left out on purpose: the `regex`
    package and tiktoken's Rust regex carry different, newer Unicode tables, and some of those code
    points are letters for one and not for the other. Every assigned code point splits the same
    way in both (checked over all of them once: zero differences).
    """
    while True:
        char = chr(rng.randrange(0x110000))
        if unicodedata.category(char) not in ("Cn", "Cs"):
            return char


def random_fragment(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(WHITESPACE)
    if kind == 1:
        return rng.choice(CONTRACTIONS)
    if kind == 2:
        return rng.choice(WORDS)
    if kind == 3:
        return rng.choice(SYMBOLS)
    if kind == 4:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
    if kind == 5:  # mixed-case ASCII
        return "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            for _ in range(rng.randint(1, 9))
        )
    if kind == 6:
        return "".join(random_assigned_char(rng) for _ in range(rng.randint(1, 4)))
    block = rng.choice([(0x0900, 0x0980), (0x0C80, 0x0D00), (0x00C0, 0x0100), (0x1F300, 0x1FAFF)])
    return "".join(chr(rng.randrange(*block)) for _ in range(rng.randint(1, 6)))


def fuzz_corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    corpus = [
        "",
        " ",
        "\n\n  \t",
        "Hello world",
        "  leading and trailing  ",
        ENDOFTEXT,
        "a" * 300,
        " " * 257,
    ]
    while len(corpus) < n:
        corpus.append("".join(random_fragment(rng) for _ in range(rng.randint(1, 12))))
    return corpus


def test_vocabulary_sizes(gpt2):
    assert gpt2.vocab_size == 50_257
    assert len(gpt2.merges) == 50_000
    assert gpt2.eot_id == 50_256
    assert gpt2.merges[0] == (b" ", b"t")  # vocab.bpe's first line after the header: "Ġ t"


def test_bytes_to_unicode_is_gpt2s_table():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("A")] == "A"


def test_fixed_sentence_matches_tiktoken(gpt2, reference):
    sentence = "Language models read text as tokens, not words."
    assert gpt2.encode(sentence) == reference.encode_ordinary(sentence)
    assert gpt2.encode("Hello world") == [15496, 995]  # GPT-2's well-known ids


def test_fuzz_equals_tiktoken_and_round_trips(gpt2, reference):
    corpus = fuzz_corpus(10_000)
    mismatches = [s for s in corpus if gpt2.encode(s) != reference.encode_ordinary(s)]
    assert mismatches == [], f"{len(mismatches)} mismatches, e.g. {mismatches[:3]!r}"
    broken = [s for s in corpus if gpt2.decode(gpt2.encode(s)) != s]
    assert broken == []
    allowed = {ENDOFTEXT}
    with_special = [s + ENDOFTEXT + s for s in corpus[:500]]
    assert all(
        gpt2.encode(s, allowed_special=allowed) == reference.encode(s, allowed_special=allowed)
        for s in with_special
    )


def test_parallel_text_matches_tiktoken(gpt2, reference):
    for language, text in PARALLEL_TEXT.items():
        assert gpt2.encode(text) == reference.encode_ordinary(text), language


def test_decode_replaces_invalid_utf8_like_tiktoken(gpt2, reference):
    ids = gpt2.encode("ಕನ್ನಡ")
    for cut in range(1, len(ids)):
        assert gpt2.decode(ids[:cut]) == reference.decode(ids[:cut])


def test_lone_surrogates_are_handled_like_tiktoken(gpt2, reference):
    for text in ["a\ud800b", "\udc00", "x\ud83e\udd16y"]:
        assert gpt2.encode(text) == reference.encode_ordinary(text)


def test_arbitrary_bytes_round_trip(gpt2):
    rng = random.Random(1)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))) for _ in range(2_000)]
    samples += [
        b"\xff\xfe",
        b"\xe0\xa4",
        b"abc\x80def",
        b"\xed\xa0\x80",
        "ಕನ್ನಡ".encode()[:-1],
        b"\xc3\x28 \xa0\xa1",
    ]
    invalid = 0
    for data in samples:
        assert gpt2.decode_bytes(gpt2.encode_bytes(data)) == data
        try:
            assert gpt2.encode_bytes(data) == gpt2.encode(data.decode("utf-8"))
        except UnicodeDecodeError:
            invalid += 1
    assert invalid > 1_000  # most random byte strings are not UTF-8: the test exercised that path


def test_special_tokens(gpt2, reference):
    text = f"one{ENDOFTEXT}two"
    assert gpt2.encode(text) == reference.encode_ordinary(text)
    assert ENDOFTEXT not in [gpt2.decode([i]) for i in gpt2.encode(text)]
    assert gpt2.encode(text, allowed_special={ENDOFTEXT}) == reference.encode(
        text, allowed_special={ENDOFTEXT}
    )
    assert gpt2.encode(text, allowed_special="all").count(50_256) == 1
    assert gpt2.decode([50_256]) == ENDOFTEXT
    with pytest.raises(ValueError, match="<|fim_prefix|>"):
        gpt2.encode(text, allowed_special={"<|fim_prefix|>"})


def test_bad_input_raises_value_error(gpt2):
    with pytest.raises(ValueError, match="str"):
        gpt2.encode(b"bytes")
    with pytest.raises(ValueError, match="bytes"):
        gpt2.encode_bytes("text")
    with pytest.raises(ValueError, match="50257"):
        gpt2.decode([50_257])
    with pytest.raises(ValueError, match=r"\[-1\]"):
        gpt2.decode([1, -1])


def test_missing_or_altered_files_say_how_to_fetch(tmp_path, monkeypatch):
    from lessonkit.data import MANIFEST, data_dir

    (tmp_path / MANIFEST).write_bytes((data_dir() / MANIFEST).read_bytes())
    monkeypatch.setenv("LESSONKIT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fetch_gpt2_vocab.py"):
        GPT2Tokenizer.from_data()
    (tmp_path / "gpt2").mkdir()
    for name in ("encoder.json", "vocab.bpe"):
        (tmp_path / "gpt2" / name).write_text("{}")
    with pytest.raises(ValueError, match="fetch_gpt2_vocab.py"):
        GPT2Tokenizer.from_data()


# --- The trainer -------------------------------------------------------------------------------


def reference_train(text: str, n_merges: int) -> list[tuple[bytes, bytes]]:
    """Textbook BPE: recount every pair after every merge (slow, obviously right)."""
    import regex

    from lessonkit.text import GPT2_SPLIT_PATTERN

    words = Counter(
        tuple(bytes([b]) for b in piece.encode())
        for piece in regex.findall(GPT2_SPLIT_PATTERN, text)
    )
    merges = []
    while len(merges) < n_merges:
        pairs = Counter()
        for word, count in words.items():
            for pair in pairwise(word):
                pairs[pair] += count
        candidates = [
            (-n, pair)
            for pair, n in pairs.items()
            if pair[0] + pair[1] not in {a + b for a, b in merges}
        ]
        if not candidates:
            break
        _, (left, right) = min(candidates)
        merges.append((left, right))
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == (left, right):
                    out.append(left + right)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges


def test_training_merges_the_most_frequent_pair_first():
    # Pre-tokens: "hug", " hug" x 2, " pug".
    # Pairs: (u, g) 4, (h, u) 3, (" ", h) 2, (" ", p) 1, (p, u) 1: merge (u, g) first.
    tokenizer = train_bpe("hug hug hug pug", 256 + 3 + 1)
    assert tokenizer.merges == [(b"u", b"g"), (b"h", b"ug"), (b" ", b"hug")]
    assert tokenizer.encode(" hug") == [258]
    assert tokenizer.vocab_size == 260 and tokenizer.eot_id == 259


def test_training_ties_go_to_the_smallest_bytes():
    assert train_bpe("cd ab", 256 + 1, special_tokens=()).merges == [(b" ", b"a")]
    assert train_bpe("cdab", 256 + 1, special_tokens=()).merges == [(b"a", b"b")]


def test_trainer_matches_the_textbook_algorithm_and_is_deterministic():
    from lessonkit.data import load_work

    text = load_work("sonnets")[:20_000]
    merges = train_bpe(text, 256 + 120, special_tokens=()).merges
    assert merges == reference_train(text, 120)
    assert train_bpe(text, 256 + 120, special_tokens=()).merges == merges


def test_trained_tokenizer_round_trips_and_compresses():
    from lessonkit.data import load_work

    tokenizer = train_bpe(load_work("sonnets"), 512)
    held_out = load_work("lovers_complaint")
    ids = tokenizer.encode(held_out)
    assert tokenizer.decode(ids) == held_out
    assert len(ids) < 0.6 * len(held_out.encode())
    assert isinstance(tokenizer, BPETokenizer) and tokenizer.vocab_size == 512


def test_trainer_bad_input():
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe("abc", 200)
    with pytest.raises(ValueError, match="str"):
        train_bpe(b"abc", 300)
    with pytest.warns(UserWarning, match="only"):
        assert train_bpe("abab", 300, special_tokens=()).vocab_size < 300


def test_bpe_tokenizer_rejects_bad_merges():
    with pytest.raises(ValueError, match="no earlier merge"):
        BPETokenizer([(b"ab", b"c")])
    with pytest.raises(ValueError, match="already a token"):
        BPETokenizer([(b"a", b"b"), (b"a", b"b")])


def test_merge_steps_end_in_the_encoded_tokens(gpt2, reference):
    for pre_token in [" tokenization", " ಕನ್ನಡ", "Hello", "'s", " 12345"]:
        steps = gpt2.merge_steps(pre_token)
        assert steps[0] == [bytes([b]) for b in pre_token.encode()]
        assert all(len(after) == len(before) - 1 for before, after in pairwise(steps))
        expected = [
            reference.decode_single_token_bytes(i) for i in reference.encode_ordinary(pre_token)
        ]
        assert steps[-1] == expected


def test_token_panel_shows_every_token(gpt2):
    pytest.importorskip("ipywidgets")
    from lessonkit.widgets import TokenizerPanel, token_html

    text = "Hi ಕ!"
    ids = gpt2.encode(text)
    page = token_html(gpt2, text)
    assert all(f">{i} · {len(gpt2.token_bytes(i))} B<" in page for i in ids)
    assert f"<b>{len(ids)} tokens</b>" in page
    assert ">e0<" in page and ">95<" in page  # GPT-2 splits ಕ (e0 b2 95) into bytes, shown in hex
    panel = TokenizerPanel({"GPT-2": gpt2, "bytes": BPETokenizer([])}, text="ab")
    panel.choice.value = "bytes"
    assert "<b>2 tokens</b>" in panel.output.value
    panel.text.value = "abc"
    assert "<b>3 tokens</b>" in panel.output.value
