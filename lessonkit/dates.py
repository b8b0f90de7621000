"""Lesson 2's task: dates written the way people write them, normalized to ISO ``YYYY-MM-DD``.

``"we finally met on the 3rd of March, 1998, just after lunch" -> "1998-03-03"``

A seeded generator draws real dates between 1900-01-01 and 2099-12-31, writes each in one of many
human formats (ordinals, month names and abbreviations in any case, numeric day-first dates, true
weekday names, two-digit years), and usually embeds it in a sentence, so inputs run up to 100
characters: long enough that a plain encoder-decoder forgets, short enough to train on a laptop.
Both sides are character-level: the source vocabulary is the characters the generator can emit,
the target vocabulary the ten digits and ``-``, plus start and end markers.

Two conventions keep every answer recoverable from its input:

- **numeric dates are day first** (``03/04/1998`` is the 3rd of April), as in most of the world;
  year-first numeric dates (``1998/04/03``) are year, month, day;
- **two-digit years** follow the POSIX rule of ``strptime("%y")``: ``69``-``99`` are 1969-1999,
  ``00``-``68`` are 2000-2068. The generator writes a two-digit year only for dates in 1969-2068.

Splits: the ``train``, ``validation`` and ``test`` examples come from distinct seeds, and each
split keeps only dates of its own hash bucket (of the ISO date: 80% train, 10% validation, 10%
test). No test date, hence no test sentence, ever appears in training.
"""

from __future__ import annotations

import calendar
import datetime
import random
import string
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FIRST_DATE = datetime.date(1900, 1, 1)
LAST_DATE = datetime.date(2099, 12, 31)
TWO_DIGIT_YEARS = (1969, 2068)  # the span strptime("%y") reads: 69-99 -> 19xx, 00-68 -> 20xx
MAX_SOURCE_LEN = 100  # characters; the generator never writes longer inputs
ISO_LEN = 10  # "YYYY-MM-DD"

# Source side: index 0 is padding, then every character the generator can emit.
SOURCE_CHARS = " !'(),-./0123456789:;?" + string.ascii_letters
PAD_ID = 0
SOURCE_VOCAB = ("<pad>", *SOURCE_CHARS)
_SOURCE_INDEX = {c: i for i, c in enumerate(SOURCE_VOCAB) if i != PAD_ID}

# Target side: start and end markers, then the characters of an ISO date. No padding is needed:
# every answer is 10 characters, plus the end marker.
START, END = "^", "$"
TARGET_VOCAB = (START, END, "-", *string.digits)
START_ID, END_ID = 0, 1
_TARGET_INDEX = {c: i for i, c in enumerate(TARGET_VOCAB)}

BARE_FRACTION = 0.1  # examples that are a date alone, as people type into a form
SPLITS = {"train": 0, "validation": 1, "test": 2}  # split -> seed offset

MONTHS = tuple(calendar.month_name[m] for m in range(1, 13))  # "January", ...
MONTH_ABBREVIATIONS = tuple(calendar.month_abbr[m] for m in range(1, 13))  # "Jan", ...
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(day: int) -> str:
    """``1 -> "1st"``, ``2 -> "2nd"``, ``3 -> "3rd"``, ``11 -> "11th"``, ``22 -> "22nd"``."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _case(word: str, rng: random.Random) -> str:
    """People write month and weekday names in any case: "March", "march", "MARCH"."""
    return rng.choice((word, word, word.lower(), word.upper()))


def _month(d: datetime.date, rng: random.Random) -> str:
    return _case(MONTHS[d.month - 1], rng)


def _mon(d: datetime.date, rng: random.Random) -> str:
    return _case(MONTH_ABBREVIATIONS[d.month - 1], rng)


def _weekday(d: datetime.date, rng: random.Random) -> str:
    return _case(WEEKDAYS[d.weekday()], rng)


def _wkd(d: datetime.date, rng: random.Random) -> str:
    return _case(WEEKDAYS[d.weekday()][:3], rng)


def _yy(d: datetime.date) -> str:
    return f"{d.year % 100:02d}"


# name -> (renderer, uses a two-digit year). Each renderer writes one date in one human format.
FORMATS: dict[str, tuple[Callable[[datetime.date, random.Random], str], bool]] = {
    "ordinal of month year": (lambda d, r: f"{ordinal(d.day)} of {_month(d, r)} {d.year}", False),
    "the ordinal of month, year": (
        lambda d, r: f"the {ordinal(d.day)} of {_month(d, r)}, {d.year}",
        False,
    ),
    "month day, year": (lambda d, r: f"{_month(d, r)} {d.day}, {d.year}", False),
    "month ordinal, year": (lambda d, r: f"{_month(d, r)} {ordinal(d.day)}, {d.year}", False),
    "day month year": (lambda d, r: f"{d.day} {_month(d, r)} {d.year}", False),
    "year mon day": (lambda d, r: f"{d.year} {_mon(d, r)} {d.day}", False),
    "mon day year": (lambda d, r: f"{_mon(d, r)} {d.day} {d.year}", False),
    "dd-mon-yyyy": (lambda d, r: f"{d.day:02d}-{_mon(d, r)}-{d.year}", False),
    "dd/mm/yyyy": (lambda d, r: f"{d.day:02d}/{d.month:02d}/{d.year}", False),
    "d.m.yyyy": (lambda d, r: f"{d.day}.{d.month}.{d.year}", False),
    "yyyy/mm/dd": (lambda d, r: f"{d.year}/{d.month:02d}/{d.day:02d}", False),
    "iso": (lambda d, r: d.isoformat(), False),
    "weekday, day month year": (
        lambda d, r: f"{_weekday(d, r)}, {d.day} {_month(d, r)} {d.year}",
        False,
    ),
    "weekday the ordinal of month year": (
        lambda d, r: f"{_weekday(d, r)} the {ordinal(d.day)} of {_month(d, r)} {d.year}",
        False,
    ),
    "wkd dd.mm.yy": (lambda d, r: f"{_wkd(d, r)} {d.day:02d}.{d.month:02d}.{_yy(d)}", True),
    "day mon 'yy": (lambda d, r: f"{d.day} {_mon(d, r)} '{_yy(d)}", True),
    "month ordinal, 'yy": (lambda d, r: f"{_month(d, r)} {ordinal(d.day)}, '{_yy(d)}", True),
    "dd/mm/yy": (lambda d, r: f"{d.day:02d}/{d.month:02d}/{_yy(d)}", True),
}

# Sentences around the date. Fillers contain no digits, month or weekday names (not even "may"),
# so the date is the only date-like thing in the input.
TEMPLATES = (
    "{}",
    "{}",
    "we finally met on {}, just after lunch",
    "{} is the day the package arrived",
    "the invoice dated {} is still unpaid",
    "please book the meeting room for {}",
    "my grandmother was born on {} in a small village",
    "Reminder: the exam is on {}, so start revising now!",
    "According to the letter, the contract was signed on {}.",
    "The concert ({}) was cancelled because of the storm.",
    "Deadline: {}",
    "born {}",
    "Date of birth: {}",
    "On {} we moved to a new flat",
    "The museum reopens on {} after the repairs.",
    "Can we move our call to {}? I am travelling until then.",
    "last payment received {}, thank you",
    "The ship left the harbour on {} and reached the island weeks later.",
    "I remember {} well: it was the first time I saw snow.",
    "delivery expected {}",
    "Our records show the account was opened on {}.",
    "he wrote '{}' at the top of the page",
)
PREFIXES = (
    "",
    "",
    "",
    "Hello again! ",
    "As far as I know, ",
    "Sorry for the late reply. ",
    "Just a quick note before the weekend: ",
    "After a long search through the old boxes in the attic, ",
    "Note from the office: ",
    "If I read the handwriting correctly, ",
)
SUFFIXES = (
    "",
    "",
    "",
    " Thanks!",
    " Let me know if that works.",
    " See you there.",
    " Nobody in the family has forgotten it since then.",
    " It was raining, as usual.",
    " Please confirm by email as soon as possible.",
    " The paperwork is in the blue folder on my desk.",
)


@dataclass(frozen=True)
class DateExample:
    """One example: the input ``sentence``, its ``iso`` answer, and how the date was written
    (``date_text``, the part of the sentence that is the date, in format ``format_name``)."""

    sentence: str
    iso: str
    date_text: str
    format_name: str


def random_date(rng: random.Random) -> datetime.date:
    """A uniformly drawn day between 1900-01-01 and 2099-12-31."""
    span = (LAST_DATE - FIRST_DATE).days
    return FIRST_DATE + datetime.timedelta(days=rng.randint(0, span))


def split_of(iso: str) -> str:
    """The split a date belongs to, by a hash of its ISO form: 80% train, 10% each other split."""
    bucket = zlib.crc32(iso.encode()) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def render(d: datetime.date, rng: random.Random) -> tuple[str, str]:
    """Write ``d`` in a random format: ``(date_text, format_name)``."""
    two_digit_ok = TWO_DIGIT_YEARS[0] <= d.year <= TWO_DIGIT_YEARS[1]
    names = [name for name, (_, two_digit) in FORMATS.items() if two_digit_ok or not two_digit]
    name = rng.choice(names)
    return FORMATS[name][0](d, rng), name


def make_example(rng: random.Random, split: str | None = None) -> DateExample:
    """One random example; with ``split``, only dates of that split are drawn."""
    while True:
        d = random_date(rng)
        if split is None or split_of(d.isoformat()) == split:
            break
    date_text, name = render(d, rng)
    if rng.random() < BARE_FRACTION:
        return DateExample(date_text, d.isoformat(), date_text, name)
    while True:
        sentence = rng.choice(PREFIXES) + rng.choice(TEMPLATES).format(date_text)
        sentence += rng.choice(SUFFIXES)
        if len(sentence) <= MAX_SOURCE_LEN:
            break
    if sentence[0].islower() and rng.random() < 0.3:
        if sentence.startswith(date_text):
            date_text = date_text[0].upper() + date_text[1:]
        sentence = sentence[0].upper() + sentence[1:]
    return DateExample(sentence, d.isoformat(), date_text, name)


def make_examples(n: int, seed: int = 0, split: str | None = None) -> list[DateExample]:
    """``n`` examples drawn with ``random.Random(seed)`` (the same list for the same seed)."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    rng = random.Random(seed)
    return [make_example(rng, split) for _ in range(n)]


def stretch(example: DateExample, length: int, seed: int = 0) -> DateExample:
    """The same example with date-free sentences added around it until it is ``length`` long.

    The sentences are the generator's own openers and closers (``PREFIXES``, ``SUFFIXES``), put
    before or after at random, so the answer is unchanged and every character is one the model
    knows; only the distance between the date and the ends of the input grows. Lesson 2 uses it
    to ask what happens to inputs far longer than any seen in training (at most
    ``MAX_SOURCE_LEN``).
    """
    if length < 1:
        raise ValueError(f"length must be at least 1 character, got {length}")
    rng = random.Random(seed)
    openers, closers = [p for p in PREFIXES if p], [s for s in SUFFIXES if s]
    sentence = example.sentence
    while len(sentence) < length:
        if rng.random() < 0.5:
            sentence = rng.choice(openers) + sentence
        else:
            sentence = sentence + rng.choice(closers)
    return DateExample(sentence, example.iso, example.date_text, example.format_name)


def load_split(split: str, n: int, seed: int = 0) -> list[DateExample]:
    """``n`` examples of ``split`` ("train", "validation" or "test"), seeded by ``seed``.

    Each split draws from its own seed (``3 * seed + offset``) and its own dates, so the splits
    never share a date or a sentence.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return make_examples(n, seed=3 * seed + SPLITS[split], split=split)


# --- encoding --------------------------------------------------------------------------------


def encode_source(text: str, max_len: int = MAX_SOURCE_LEN) -> list[int]:
    """Character ids of ``text`` (no padding). Raises ``ValueError`` for an empty string, an
    unknown character, or a text longer than ``max_len``."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {type(text).__name__}")
    if not text:
        raise ValueError("the input is empty: type a date, e.g. '3rd of March 1998'")
    unknown = sorted({c for c in text if c not in _SOURCE_INDEX})
    if unknown:
        raise ValueError(
            f"characters outside the vocabulary: {''.join(unknown)!r}; use letters, digits, "
            f"spaces and {SOURCE_CHARS[1:22]!r}"
        )
    if len(text) > max_len:
        raise ValueError(f"the input has {len(text)} characters; the model reads at most {max_len}")
    return [_SOURCE_INDEX[c] for c in text]


def encode_sources(texts: Sequence[str], max_len: int = MAX_SOURCE_LEN) -> np.ndarray:
    """A batch of texts as ``(B, S)`` int64 ids, right-padded with ``PAD_ID`` to the longest."""
    rows = [encode_source(t, max_len) for t in texts]
    if not rows:
        raise ValueError("encode_sources needs at least one text")
    ids = np.full((len(rows), max(map(len, rows))), PAD_ID, dtype=np.int64)  # (B, S)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def decode_source(ids: Sequence[int]) -> str:
    """The text of source ids, padding dropped."""
    return "".join(SOURCE_VOCAB[i] for i in ids if i != PAD_ID)


def encode_target(iso: str) -> list[int]:
    """Ids of an answer such as ``"1998-03-03"`` (no start or end marker)."""
    unknown = sorted({c for c in iso if c not in _TARGET_INDEX or c in (START, END)})
    if unknown:
        raise ValueError(f"an answer holds only digits and '-', got {unknown} in {iso!r}")
    return [_TARGET_INDEX[c] for c in iso]


def decode_target(ids: Sequence[int]) -> str:
    """The answer text of output ids, up to (not including) the first end marker."""
    out = []
    for i in ids:
        if int(i) == END_ID:
            break
        if int(i) != START_ID:
            out.append(TARGET_VOCAB[int(i)])
    return "".join(out)


NO_DATE = "no date found"  # what the normalizer answers when its output is no calendar date


def is_calendar_date(answer: str) -> bool:
    """Whether ``answer`` is a real date written ``YYYY-MM-DD`` (``2001-02-31`` is not)."""
    if not isinstance(answer, str) or len(answer) != ISO_LEN:
        return False
    try:
        return datetime.date.fromisoformat(answer).isoformat() == answer
    except ValueError:
        return False


def checked_answer(answer: str) -> str:
    """``answer`` if it is a real calendar date, else :data:`NO_DATE`: a model's output that is
    no date (``2001-02-31``, ``19999-09-09``) is not passed off as an answer."""
    return answer if is_calendar_date(answer) else NO_DATE


def teacher_forcing_batch(
    examples: Sequence[DateExample],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src (B, S), tgt_in (B, 11), tgt_out (B, 11))``: ``tgt_in`` is the start marker then the
    answer, ``tgt_out`` the answer then the end marker (what each decoder step must predict)."""
    src = encode_sources([e.sentence for e in examples])  # (B, S)
    answers = np.array([encode_target(e.iso) for e in examples], dtype=np.int64)  # (B, 10)
    start = np.full((len(examples), 1), START_ID, dtype=np.int64)
    end = np.full((len(examples), 1), END_ID, dtype=np.int64)
    return src, np.concatenate([start, answers], 1), np.concatenate([answers, end], 1)


def exact_match(predictions: Sequence[str], answers: Sequence[str]) -> float:
    """The fraction of predictions that equal their answer exactly."""
    if len(predictions) != len(answers) or not answers:
        raise ValueError(
            f"need as many predictions as answers (at least one): {len(predictions)} vs {len(answers)}"
        )
    return float(np.mean([p == a for p, a in zip(predictions, answers, strict=True)]))
