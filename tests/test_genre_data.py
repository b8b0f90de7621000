"""The genre task of Lessons 3 and 4 (data.spoken_text; genre.genre_passages, genre_windows,
encode_padded) and the TF-IDF baseline, against hand-checked facts of the play files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lessonkit import data, genre
from lessonkit.text import WordTokenizer


def test_spoken_text_drops_names_directions_and_headings():
    # Checked by hand in data/shakespeare/: the first speeches, after the list of persons.
    macbeth = data.spoken_text("macbeth")
    assert macbeth.startswith(
        "When shall we three meet again? In thunder, lightning, or in rain?\n"
    )
    hamlet = data.spoken_text("hamlet")  # abbreviated speaker names ("Ber.", "Fran.")
    assert hamlet.startswith("Who's there?\nNay, answer me: stand, and unfold yourself.\n")
    romeo = data.spoken_text(
        "romeo_and_juliet"
    )  # "Chorus." in the list of persons is not the start
    assert romeo.startswith("Two households, both alike in dignity,")
    dream = data.spoken_text("midsummer_nights_dream")  # speaker names without a full stop
    assert dream.startswith("Now, fair Hippolyta, our nuptial hour")
    for work in data.works():
        if work.genre not in data.GENRES:
            continue
        text = data.spoken_text(work.name)
        assert not re.search(r"[\[\]{}]", text), work.name  # e.g. Henry V's nested directions
        assert not re.search(r"^(ACT|SCENE|Scene) ", text, re.M)
    assert "\nFIRST WITCH.\n" not in macbeth and "MACBETH." not in macbeth
    assert not re.search(r"^(Ham|Ber|Fran|Hor)\.$", hamlet, re.M)
    assert "MRS. PAGE." not in data.spoken_text("merry_wives_of_windsor")
    assert "So, now they come" in data.spoken_text(
        "alls_well_that_ends_well"
    )  # "WIDOW. So, now ..."
    assert "WIDOW. So" not in data.spoken_text("alls_well_that_ends_well")
    assert "scaling-ladders" not in data.spoken_text("henry_v")
    with pytest.raises(ValueError, match="play"):
        data.spoken_text("sonnets")


def test_genre_passages_counts_and_split():
    # NBVAL-checked in 03_transformers_*.ipynb; each count is floor(spoken words / 60) per play.
    sizes = {}
    for split in data.SPLITS:
        passages = genre.genre_passages(split)
        assert len(passages.texts) == len(passages.labels) == len(passages.plays)
        assert all(len(text.split()) == 60 for text in passages.texts)
        expected = sum(
            len(data.spoken_text(w.name).split()) // 60
            for w in data.works(split)
            if w.genre in data.GENRES
        )
        assert len(passages.texts) == expected
        for play, label in zip(passages.plays, passages.labels, strict=True):
            assert data.WORKS_BY_NAME[play].genre == data.GENRES[label]
            assert data.WORKS_BY_NAME[play].split == split
        sizes[split] = (
            len(passages.texts),
            np.bincount(passages.labels, minlength=3).tolist(),
            len(set(passages.plays)),
        )
    assert sizes == {
        "train": (7378, [2828, 1949, 2601], 21),
        "validation": (2302, [748, 813, 741], 6),
        "test": (3288, [1007, 1181, 1100], 9),
    }
    test_plays = set(genre.genre_passages("test").plays)
    assert "pericles" not in set(genre.genre_passages("train").plays)  # no Folio genre
    assert test_plays.isdisjoint(genre.genre_passages("train").plays)


def test_genre_passages_are_consecutive_words_of_the_play():
    passages = genre.genre_passages("validation", words=25)
    words = data.spoken_text(passages.plays[0]).split()
    assert passages.texts[0] == " ".join(words[:25])
    assert passages.texts[1] == " ".join(words[25:50])


def test_max_per_play_is_a_seeded_subset():
    full = genre.genre_passages("test")
    few = genre.genre_passages("test", max_per_play=5, seed=3)
    assert len(few.texts) == 5 * 9
    assert set(few.texts) <= set(full.texts)
    assert few.texts == genre.genre_passages("test", max_per_play=5, seed=3).texts
    assert few.texts != genre.genre_passages("test", max_per_play=5, seed=4).texts
    with pytest.raises(ValueError, match="words"):
        genre.genre_passages("test", words=0)


def test_genre_windows_come_from_plays_of_their_genre():
    rng = np.random.default_rng(0)
    texts, labels = genre.genre_windows("train", 12, 60, rng)
    assert len(texts) == len(labels) == 60 and labels.dtype == np.int64
    assert set(labels.tolist()) == {0, 1, 2}
    for text, label in zip(texts, labels, strict=True):
        assert len(text.split()) == 12
        sources = [
            " ".join(data.spoken_text(w.name).split())
            for w in data.works("train", data.GENRES[label])
        ]
        assert any(text in source for source in sources)
    with pytest.raises(ValueError, match="batch_size"):
        genre.genre_windows("train", 12, 0, rng)


def test_encode_padded_by_hand():
    tokenizer = WordTokenizer(["<unk>", "to", "be", "or", "not", ","])
    ids, mask = genre.encode_padded(["To be, or not", "be"], tokenizer, max_len=4)
    np.testing.assert_array_equal(ids, [[1, 2, 5, 3], [2, 0, 0, 0]])  # cut at 4; padded with 0
    np.testing.assert_array_equal(mask, [[True, True, True, True], [True, False, False, False]])
    ids, _ = genre.encode_padded(["To"], tokenizer, max_len=2, lowercase=False)
    assert ids.tolist() == [[0, 0]]  # "To" is unknown without lowercasing
    with pytest.raises(ValueError, match="max_len"):
        genre.encode_padded(["be"], tokenizer, max_len=0)


def test_tfidf_baseline_learns_a_separable_toy_task():
    pytest.importorskip("sklearn")
    from lessonkit.baselines import accuracy, tfidf_logistic_regression

    texts = [f"the king {w} crown battle" for w in "abcdefghij"] + [
        f"sweet love {w} jest wedding" for w in "abcdefghij"
    ]
    labels = [1] * 10 + [0] * 10
    model = tfidf_logistic_regression(texts, labels, min_df=1)
    assert model.predict(["a battle for the crown", "a wedding jest"]).tolist() == [1, 0]
    assert accuracy([1, 0, 1, 1], [1, 0, 0, 1]) == 0.75
    with pytest.raises(ValueError, match="labels"):
        tfidf_logistic_regression(texts, labels[:-1])
    with pytest.raises(ValueError, match="match"):
        accuracy([1, 0], [1])
