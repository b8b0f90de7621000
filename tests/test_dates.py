"""Lesson 2's date task: deterministic, true answers, disjoint splits, strict encoding.

Every rendered date is parsed back with ``datetime.strptime`` (an independent reader of dates) and
must be the date of the ISO answer; weekday names are checked against ``datetime``'s own.
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest

from lessonkit import dates

# format name -> strptime pattern of the date text once ordinals, "the", "of", commas and
# apostrophes are removed (see normalize).
PATTERNS = {
    "ordinal of month year": "%d %B %Y",
    "the ordinal of month, year": "%d %B %Y",
    "month day, year": "%B %d %Y",
    "month ordinal, year": "%B %d %Y",
    "day month year": "%d %B %Y",
    "year mon day": "%Y %b %d",
    "mon day year": "%b %d %Y",
    "dd-mon-yyyy": "%d-%b-%Y",
    "dd/mm/yyyy": "%d/%m/%Y",
    "d.m.yyyy": "%d.%m.%Y",
    "yyyy/mm/dd": "%Y/%m/%d",
    "iso": "%Y-%m-%d",
    "weekday, day month year": "%A %d %B %Y",
    "weekday the ordinal of month year": "%A %d %B %Y",
    "wkd dd.mm.yy": "%a %d.%m.%y",
    "day mon 'yy": "%d %b %y",
    "month ordinal, 'yy": "%B %d %y",
    "dd/mm/yy": "%d/%m/%y",
}
WEEKDAY_FORMATS = {"weekday, day month year": "%A", "weekday the ordinal of month year": "%A",
                   "wkd dd.mm.yy": "%a"}  # fmt: skip


def normalize(text: str) -> str:
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\b(?:the|of) ", "", text, flags=re.IGNORECASE)
    return " ".join(text.replace(",", "").replace("'", "").split())


@pytest.fixture(scope="module")
def examples():
    return dates.load_split("train", 3000, seed=0)


def test_every_format_is_checked():
    assert set(PATTERNS) == set(dates.FORMATS)


def test_deterministic_per_seed():
    first = dates.load_split("test", 200, seed=5)
    assert first == dates.load_split("test", 200, seed=5)
    assert first != dates.load_split("test", 200, seed=6)
    assert dates.make_examples(50, seed=1) == dates.make_examples(50, seed=1)


def test_answers_are_the_dates_written(examples):
    seen = set()
    for e in examples:
        day = datetime.date.fromisoformat(e.iso)
        assert dates.FIRST_DATE <= day <= dates.LAST_DATE
        assert e.date_text in e.sentence
        parsed = datetime.datetime.strptime(normalize(e.date_text), PATTERNS[e.format_name])
        assert parsed.date() == day, (e.date_text, e.iso)
        if e.format_name in WEEKDAY_FORMATS:
            weekday = e.date_text.split()[0].rstrip(",")
            assert weekday.lower() == day.strftime(WEEKDAY_FORMATS[e.format_name]).lower()
        seen.add(e.format_name)
    assert seen == set(dates.FORMATS)  # every format occurs


def test_ordinals():
    assert [dates.ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"
    ]  # fmt: skip


def test_lengths(examples):
    lengths = np.array([len(e.sentence) for e in examples])
    assert lengths.max() <= dates.MAX_SOURCE_LEN
    assert ((lengths >= 40) & (lengths <= 100)).mean() > 0.6  # mostly long sentences
    assert (lengths < 30).mean() > 0.05  # and some bare dates


def test_splits_share_no_date_or_sentence(examples):
    test = dates.load_split("test", 1000, seed=0)
    validation = dates.load_split("validation", 1000, seed=0)
    for other in (test, validation):
        assert not {e.iso for e in examples} & {e.iso for e in other}
        assert not {e.sentence for e in examples} & {e.sentence for e in other}
    assert all(dates.split_of(e.iso) == "test" for e in test)
    with pytest.raises(ValueError, match="split must be one of"):
        dates.load_split("dev", 3)


def test_encoding_round_trips(examples):
    src, tgt_in, tgt_out = dates.teacher_forcing_batch(examples[:20])
    assert src.shape[0] == 20 and tgt_in.shape == tgt_out.shape == (20, dates.ISO_LEN + 1)
    for row, e in zip(src, examples[:20], strict=True):
        assert dates.decode_source(row) == e.sentence
    assert (tgt_in[:, 0] == dates.START_ID).all() and (tgt_out[:, -1] == dates.END_ID).all()
    assert (tgt_in[:, 1:] == tgt_out[:, :-1]).all()
    assert dates.decode_target(tgt_out[0]) == examples[0].iso
    assert (
        dates.decode_target([dates.START_ID, *dates.encode_target("2001-02-03"), dates.END_ID, 5])
        == "2001-02-03"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("3 März 1998", "outside the vocabulary: 'ä'"),
        ("x" * (dates.MAX_SOURCE_LEN + 1), "101 characters; the model reads at most 100"),
        (12, "expected a string"),
    ],
)
def test_bad_input_raises(text, message):
    with pytest.raises(ValueError, match=message):
        dates.encode_source(text)


def test_exact_match():
    assert dates.exact_match(["a", "b"], ["a", "c"]) == 0.5
    with pytest.raises(ValueError):
        dates.exact_match([], [])


def test_stretch_keeps_the_sentence_and_answer_and_adds_only_date_free_text(examples):
    for example in examples[:50]:
        long = dates.stretch(example, 500, seed=1)
        assert len(long.sentence) >= 500 and long.iso == example.iso
        start = long.sentence.index(example.sentence)
        added = long.sentence[:start] + long.sentence[start + len(example.sentence) :]
        assert not re.search(r"\d", added), "the filler must hold no digits: one date per input"
        dates.encode_source(long.sentence, max_len=len(long.sentence))  # every character known
        assert long == dates.stretch(example, 500, seed=1)  # deterministic per seed
    assert dates.stretch(examples[0], 1).sentence == examples[0].sentence
    with pytest.raises(ValueError, match="at least 1"):
        dates.stretch(examples[0], 0)
