"""The learners' languages on the course site: summaries and glossaries from one data file.

``docs/glossary/terms.csv`` holds every glossary entry, one row per term and language:
``lessons, term_id, language, rendering, source``. ``lessons`` lists the lessons whose glossary
shows the term (``1 lab 5b``: a shared term is written once); a term's five rows list the same
lessons. ``language`` is ``en`` (the term as the notebooks write it) or one of ``ne`` (Nepali),
``hi`` (Hindi), ``kn`` (Kannada), ``nb`` (Norwegian Bokmål). A lesson's glossary shows its terms in
the file's order.
``source`` names the published translation in shared/seeds/ whose usage the rendering follows
(its file name only: the site is built without that folder), or says ``kept in English``: the
English term stays, followed by a short gloss in the language.

``docs/glossary/summaries/<language>.md`` holds each language's page texts: a ``#`` title, an
introduction, then one ``## <lesson>: <title>`` section per lesson with its summary.

`scripts/build_site.py` calls :func:`write_pages` to write the pages into the site's sources;
tests/test_site.py checks the data with :func:`read_terms` and :func:`read_summaries`.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary"
TERMS = GLOSSARY / "terms.csv"
COLUMNS = ["lessons", "term_id", "language", "rendering", "source"]
KEPT = "kept in English"

LESSONS = ["1", "lab", "2", "3", "4", "5a", "5b"]
LANGUAGES = {"ne": "नेपाली", "hi": "हिन्दी", "kn": "ಕನ್ನಡ", "nb": "Norsk (bokmål)"}
# The English notebooks of each lesson (paths under notebooks/).
NOTEBOOKS = {
    "1": ["01_generative_rnn_pytorch", "01_generative_rnn_tensorflow"],
    "lab": ["01_lab_word_generation"],
    "2": ["02_attention_seq2seq_pytorch", "02_attention_seq2seq_tensorflow"],
    "3": ["03_transformers_pytorch", "03_transformers_tensorflow"],
    "4": ["04_bert_pytorch", "04_bert_tensorflow"],
    "5a": ["05a_tokenization"],
    "5b": ["05b_gpt2_internals_pytorch", "05b_gpt2_internals_tensorflow"],
}
# The few words each generated page needs around the data, per language.
LABELS = {
    "ne": {"summary": "सारांश", "glossary": "शब्दावली", "english": "अंग्रेजी",
           "guide": "यो पृष्ठ अंग्रेजी नोटबुकहरूको मार्गदर्शक हो; पाठ आफैं यी नोटबुकमा छ:",
           "sources": "शब्दहरू यी प्रकाशित अनुवादको प्रयोग पछ्याउँछन्",
           "kept": "अनुवादमा नभेटिएका शब्द अंग्रेजीमै राखिएका छन्, छोटो व्याख्यासहित।"},
    "hi": {"summary": "सारांश", "glossary": "शब्दावली", "english": "अंग्रेज़ी",
           "guide": "यह पृष्ठ अंग्रेज़ी नोटबुक का मार्गदर्शक है; पाठ स्वयं इन नोटबुक में है:",
           "sources": "शब्द इस प्रकाशित अनुवाद के प्रयोग का पालन करते हैं",
           "kept": "जो शब्द अनुवाद में नहीं मिले, वे अंग्रेज़ी में ही रखे गए हैं, छोटी व्याख्या के साथ।"},
    "kn": {"summary": "ಸಾರಾಂಶ", "glossary": "ಪದಕೋಶ", "english": "ಇಂಗ್ಲಿಷ್",
           "guide": "ಈ ಪುಟ ಇಂಗ್ಲಿಷ್ ನೋಟ್‌ಬುಕ್‌ಗಳಿಗೆ ಮಾರ್ಗದರ್ಶಿ; ಪಾಠ ಸ್ವತಃ ಈ ನೋಟ್‌ಬುಕ್‌ಗಳಲ್ಲಿದೆ:",
           "sources": "ಪದಗಳು ಈ ಪ್ರಕಟಿತ ಅನುವಾದದ ಬಳಕೆಯನ್ನು ಅನುಸರಿಸುತ್ತವೆ",
           "kept": "ಅನುವಾದದಲ್ಲಿ ಸಿಗದ ಪದಗಳನ್ನು ಇಂಗ್ಲಿಷ್‌ನಲ್ಲೇ ಉಳಿಸಲಾಗಿದೆ, ಚಿಕ್ಕ ವಿವರಣೆಯೊಂದಿಗೆ."},
    "nb": {"summary": "Sammendrag", "glossary": "Ordliste", "english": "Engelsk",
           "guide": "Denne siden er en veiledning til de engelske notatbøkene; selve leksjonen står i dem:",
           "sources": "Begrepene følger bruken i denne publiserte oversettelsen",
           "kept": "Begreper som oversettelsen ikke har, står på engelsk med en kort forklaring på norsk."},
}  # fmt: skip
# The published translations the renderings follow (shared/seeds/, which the site does not need).
SOURCES = {
    "ne_generative_networks.md": "AI-For-Beginners, “Generative networks” (Nepali translation)",
    "ne_attention_transformers.md": "AI-For-Beginners, “Attention mechanisms and transformers” "
    "(Nepali translation)",
    "hi_illustrated_gpt2.md": "“The Illustrated GPT-2” (Hindi translation)",
    "kn_attention_transformers.md": "AI-For-Beginners, “Attention mechanisms and transformers” "
    "(Kannada translation)",
    "no_attention_transformers.md": "AI-For-Beginners, “Attention mechanisms and transformers” "
    "(Norwegian translation)",
}
TABLE_ESCAPES = str.maketrans({c: "\\" + c for c in "|<>[]*_`"})


# The site's fonts for a language's script (build_site.py copies them to _static/fonts/). Its pages
# preload them: fetched only when layout first needs them, a bold face could leave text that was
# laid out meanwhile drawn as empty boxes in Chromium.
FONT_FILES = {
    "ne": "noto-sans-devanagari-devanagari-{weight}-normal.woff2",
    "hi": "noto-sans-devanagari-devanagari-{weight}-normal.woff2",
    "kn": "noto-sans-kannada-kannada-{weight}-normal.woff2",
}


def preload_fonts(language: str) -> list[str]:
    """Raw HTML lines that preload ``language``'s fonts from a page in languages/<language>/."""
    if language not in FONT_FILES:
        return []
    return [
        f'<link rel="preload" href="../../_static/fonts/{FONT_FILES[language].format(weight=weight)}"'
        ' as="font" type="font/woff2" crossorigin>'
        for weight in (400, 700)
    ] + [""]


def cell(text: str) -> str:
    """``text`` as a markdown table cell, shown as written (``<unk>``, ``[MASK]``, ``<|endoftext|>``)."""
    return text.translate(TABLE_ESCAPES)


@dataclass(frozen=True)
class Entry:
    lesson: str
    term_id: str
    language: str
    rendering: str
    source: str


@dataclass(frozen=True)
class Summaries:
    title: str
    intro: str
    lessons: dict[str, tuple[str, str]]  # lesson -> (title, summary)


def read_terms(path: Path = TERMS) -> list[Entry]:
    """Every entry of the glossary file, one per lesson that shows it; a malformed file raises
    ``ValueError`` naming the row."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header != COLUMNS:
            raise ValueError(f"{path.name}: the header must be {COLUMNS}, got {header}")
        entries = []
        for number, row in enumerate(reader, start=2):
            if len(row) != len(COLUMNS) or not all(cell.strip() for cell in row):
                raise ValueError(f"{path.name}, row {number}: five non-empty cells, got {row}")
            lessons, *cells = (cell.strip() for cell in row)
            for lesson in lessons.split():
                entry = Entry(lesson, *cells)
                if entry.lesson not in LESSONS:
                    raise ValueError(f"{path.name}, row {number}: unknown lesson {lesson!r}")
                if entry.language != "en" and entry.language not in LANGUAGES:
                    raise ValueError(
                        f"{path.name}, row {number}: unknown language {entry.language!r}"
                    )
                entries.append(entry)
    return entries


def glossary(entries: list[Entry]) -> dict[str, dict[str, dict[str, Entry]]]:
    """lesson -> term id -> language -> entry, in the file's order."""
    table: dict[str, dict[str, dict[str, Entry]]] = defaultdict(dict)
    for entry in entries:
        table[entry.lesson].setdefault(entry.term_id, {})[entry.language] = entry
    return table


SECTION = re.compile(r"^## (?P<lesson>[0-9a-z]+): (?P<title>.+)$", re.MULTILINE)


def read_summaries(language: str) -> Summaries:
    """A language's page texts from docs/glossary/summaries/<language>.md."""
    path = GLOSSARY / "summaries" / f"{language}.md"
    text = path.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n## ")
    title_line, _, intro = head.partition("\n")
    if not title_line.startswith("# "):
        raise ValueError(f"{path.name} must start with a '# ' title line")
    matches = list(SECTION.finditer(text))
    lessons = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        lessons[match["lesson"]] = (match["title"].strip(), text[match.end() : end].strip())
    return Summaries(title_line[2:].strip(), intro.strip(), lessons)


def lesson_page(language: str, lesson: str, summaries: Summaries, terms: dict) -> str:
    labels = LABELS[language]
    title, summary = summaries.lessons[lesson]
    links = " · ".join(f"[`{name}`](../../notebooks/{name}.ipynb)" for name in NOTEBOOKS[lesson])
    rows = [f"| {labels['english']} | {LANGUAGES[language]} |", "|---|---|"]
    sources = []
    for entries in terms.values():
        english, local = entries["en"], entries[language]
        rows.append(f"| {cell(english.rendering)} | {cell(local.rendering)} |")
        if local.source != KEPT and local.source not in sources:
            sources.append(local.source)
    notes = [f"{labels['sources']}: " + "; ".join(SOURCES[name] for name in sources) + "."]
    if any(entries[language].source == KEPT for entries in terms.values()):
        notes.append(labels["kept"])
    return "\n".join(
        [
            *preload_fonts(language),
            f"# {title}",
            "",
            f"{labels['guide']} {links}",
            "",
            f"## {labels['summary']}",
            "",
            summary,
            "",
            f"## {labels['glossary']}",
            "",
            *rows,
            "",
            *[f"{note}\n" for note in notes],
        ]
    )


def write_pages(target: Path) -> list[Path]:
    """Write languages/index.md and every language's pages under ``target``; returns them."""
    table = glossary(read_terms())
    written = []
    languages = target / "languages"
    # The site's navigation lists the language pages (docs/index.md); this page links them too.
    index = [
        "---",
        "orphan: true",
        "---",
        "# In your language",
        "",
        "Summaries and glossaries of every lesson, as guides to the English notebooks.",
        "",
    ]
    for language in LANGUAGES:
        summaries = read_summaries(language)
        folder = languages / language
        folder.mkdir(parents=True, exist_ok=True)
        pages = []
        for lesson in LESSONS:
            page = folder / f"lesson-{lesson}.md"
            page.write_text(
                lesson_page(language, lesson, summaries, table[lesson]), encoding="utf-8"
            )
            pages.append(page.stem)
            written.append(page)
        home = folder / "index.md"
        home.write_text(
            "\n".join(
                [
                    *preload_fonts(language),
                    f"# {summaries.title}",
                    "",
                    summaries.intro,
                    "",
                    ":::{toctree}",
                    ":maxdepth: 1",
                    "",
                ]
                + pages
                + [":::", ""]
            ),
            encoding="utf-8",
        )
        written.append(home)
        index.append(f"- [{summaries.title}]({language}/index.md)")
    index.append("")
    (languages / "index.md").write_text("\n".join(index), encoding="utf-8")
    written.append(languages / "index.md")
    return written
