"""No measured number in the lessons' prose.

Both frameworks' notebooks are built from one source and share every markdown cell, so a number
a run measures (a loss, an accuracy, a step count reached in a time budget, a timing, a speed
ratio, a parameter count that differs between PyTorch and Keras) is true in one notebook and
false in the other, or false on the next run. Such numbers, and sentences comparing them, are
printed by code. Markdown may only hold numbers that are the same in every run and in both
frameworks.

The rule, applied to every number (digits, with ``,`` or ``.`` inside) in every markdown cell of
every source in ``notebooks/src``:

1. Not read at all: link targets and bare URLs (arXiv ids, blog dates), file names
   (``05a_tokenization.ipynb``), and LaTeX math between ``$`` (formulas, not measurements).
2. Allowed without listing: integers 0 to 12 (section, exercise and step numbers, and small
   counts of things fixed by the code, such as heads, layers or genres) and years 1000 to 2099
   (citations, and the date examples of Lesson 2).
3. Allowed when listed in ``ALLOWED`` below, each group with its reason: architecture constants
   (GPT-2, BERT and MiniLM sizes and parameter counts), facts of the fixed data and tokenizers,
   settings written in the code (time budgets, batch and window sizes, lengths tried), and
   definitions (15% / 80% / 10%, ln 13).

Anything else fails: print it from code instead.
"""

import re
from pathlib import Path

import jupytext
import pytest

SOURCES = sorted(
    p
    for p in (Path(__file__).parents[1] / "notebooks" / "src").glob("*.py")
    if p.name != "setup_cell.py"
)

ALLOWED = {
    # GPT-2: vocabulary, context, widths, parameter counts (paper and corrected), GPT-1's vocabulary
    "768",
    "1024",
    "1,024",
    "2304",
    "2,304",
    "3,072",
    "50257",
    "50,257",
    "50256",
    "50,000",
    "124",
    "124,439,808",
    "117",
    "345",
    "355",
    "762",
    "774",
    "1542",
    "1558",
    "40,478",
    "40",
    "300",  # nanoGPT's model.py is about 300 lines
    # bytes and UTF-8: 256 byte values, 68 remapped bytes, U+0100
    "256",
    "68",
    "0100",
    # BERT, MiniLM and their relatives (layers, widths, heads, sizes, vocabulary, contexts)
    "24",
    "16",
    "110",
    "340",
    "384",
    "23",
    "30,522",
    "11.7",
    "22.7",
    "22,713,216",
    "512",
    "4,096",
    "8,192",  # Lesson 3: the timing slices of at most 8,192 tokens (a setting in the code)
    "3.3",
    "60",
    "3.1",  # 3.3 billion words; DistilBERT 40% smaller, 60% faster; paper section 3.1
    # definitions: BERT's masking recipe, ln 13 for a uniform guess over 13 symbols, cosine 1.00
    "15",
    "80",
    "2.56",
    "13",
    "1.00",
    "100",
    # the course's fixed data, tokenizers and models (the same in every run and both frameworks)
    "42",
    "18",
    "30",
    "2,000",
    "5,000",
    "2,100",
    "250",
    "500",
    "1,000",
    "10,000",
    "84",
    "128",
    "64",
    "780,000",
    "7,400",
    "13,343",
    "62",
    "4,000",
    "315",
    "180",
    "20",
    "25",
    "35",
    "45",
    "65",
    "388",
    "32",
    "1234567",
    "3.11",
    "0.5",
    # the date formats' examples in Lesson 2
    "03.03.98",
    "98",
    "99",
    "69",
    "00",
    "03",
    "04",  # and 68, listed above
}


def _prose(text):
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]+\$", "", text, flags=re.S)  # LaTeX math
    return re.sub(r"[\w./-]+\.(?:ipynb|py|safetensors|json|md|txt)\b", "", text)  # file names


def _allowed(number):
    if number in ALLOWED:
        return True
    if re.fullmatch(r"\d+", number):
        value = int(number)
        return value <= 12 or (len(number) == 4 and 1000 <= value <= 2099)
    return False


def markdown_numbers(path):
    for index, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "markdown":
            for line in _prose(cell.source).splitlines():
                for number in re.findall(r"\d+(?:[.,]\d+)*", line):
                    yield index, number, line.strip()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_markdown_holds_no_measured_numbers(path):
    bad = [
        f"cell {i}: {n!r} in {line!r}" for i, n, line in markdown_numbers(path) if not _allowed(n)
    ]
    assert not bad, "numbers outside the allowlist (print them from code):\n" + "\n".join(bad)


def test_the_rule_catches_measurements():
    assert not _allowed("1.48") and not _allowed("1,911,636") and not _allowed("0.36")
    assert _allowed("50,257") and _allowed("2015") and _allowed("7")
    assert not re.search(
        r"\d",
        _prose("[paper](https://arxiv.org/abs/1409.0473) $10000^{2i}$ `05a_tokenization.ipynb`"),
    )
