"""Character and word tokenizers: round trips, unknown input, vocabulary rules."""

import pytest

from lessonkit.data import load_work
from lessonkit.text import CharTokenizer, WordTokenizer


def test_char_round_trip_on_a_whole_play():
    text = load_work("hamlet")
    tokenizer = CharTokenizer.from_text(text)
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.vocab_size == len(set(text))


def test_char_ids_follow_sorted_characters():
    tokenizer = CharTokenizer.from_text("banana")
    assert tokenizer.chars == ["a", "b", "n"]
    assert tokenizer.encode("nab") == [2, 0, 1]


def test_char_unknown_characters_are_named():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"\['x', 'z'\]"):
        tokenizer.encode("abzx")


def test_char_decode_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        CharTokenizer.from_text("abc").decode([0, 3])


def test_char_json_round_trip():
    tokenizer = CharTokenizer.from_text("hello, world\n")
    assert CharTokenizer.from_json(tokenizer.to_json()).chars == tokenizer.chars


def test_word_split_keeps_apostrophes_and_splits_punctuation():
    assert WordTokenizer.split("'Tis now struck twelve. Get thee to bed,\nFrancisco.") == [
        "'Tis", "now", "struck", "twelve", ".", "Get", "thee", "to", "bed", ",", "\n", "Francisco", ".",
    ]  # fmt: skip


def test_word_vocabulary_is_most_frequent_first_with_unk():
    tokenizer = WordTokenizer.from_text("b a b c b a", max_size=3)
    assert tokenizer.words == ["<unk>", "b", "a"]
    assert tokenizer.encode("a b c d") == [2, 1, 0, 0]
    assert tokenizer.unknown_rate("a b c d") == 0.5


def test_word_decode_restores_words_with_english_spacing():
    text = "To be, or not to be: that is the question.\nWhether 'tis nobler"
    tokenizer = WordTokenizer.from_text(text)
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_word_tokenizer_rejects_a_vocabulary_without_room():
    with pytest.raises(ValueError, match="max_size"):
        WordTokenizer.from_text("a b", max_size=1)


def test_tokenizers_rebuild_from_checkpoint_metadata():
    from lessonkit.text import tokenizer_from_json

    assert isinstance(tokenizer_from_json(CharTokenizer.from_text("ab").to_json()), CharTokenizer)
    assert tokenizer_from_json(WordTokenizer.from_text("a b").to_json()).words == [
        "<unk>",
        "a",
        "b",
    ]
    with pytest.raises(ValueError, match="unknown tokenizer type"):
        tokenizer_from_json('{"merges": []}')
    with pytest.raises(ValueError, match="not valid JSON"):
        tokenizer_from_json("{")
    with pytest.raises(ValueError, match="lacks"):
        tokenizer_from_json('{"type": "word"}')


@pytest.mark.parametrize(
    ("pieces", "text"),
    [
        (["[", "Exeunt", ".", "]"], "[Exeunt.]"),
        (["it", ".", "-", "-", "Convey", "them"], "it.--Convey them"),
        (["an", "hour", "-", "glass", ";", "a", "(", "b", ")", "!"], "an hour-glass; a (b)!"),
        (["says", '"', "Do", "this", ",", '"', "it", "is"], 'says "Do this," it is'),
        (["Cry", '"', "Caesar", '"', "\n", "\n", '"', "No"], 'Cry "Caesar"\n\n"No'),
        (["Highness'", "claim", ".", "'", "so"], "Highness' claim.' so"),
    ],
)
def test_word_decode_joins_punctuation_and_brackets_as_the_plays_print_them(pieces, text):
    tokenizer = WordTokenizer(["<unk>", *dict.fromkeys(pieces)])
    ids = [tokenizer.stoi[p] for p in pieces]
    assert tokenizer.decode(ids) == text
    assert tokenizer.encode(text) == ids


def test_word_decode_never_glues_a_lone_apostrophe_onto_a_word():
    tokenizer = WordTokenizer(["<unk>", "'good", "'", "was"])
    assert tokenizer.decode([1, 2, 3]) == "'good ' was"  # "'good'" would re-encode as one word
    assert tokenizer.encode(tokenizer.decode([1, 2, 3])) == [1, 2, 3]
