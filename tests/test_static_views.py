"""Every panel and the quiz, displayed, give ONE output whose mime bundle holds the live widget's
view and a static view beside it (HTML, and a PNG of the figure), so a viewer without widget
JavaScript (GitHub, an HTML export) shows the quiz's questions or the panel's text and figure.

Small stand-in models (NumPy callables) replace the lessons' models; the last test executes a
tiny notebook and exports it to HTML with and without the widget state.
"""

from __future__ import annotations

import base64
import html
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonkit import widgets as panels  # noqa: E402
from lessonkit.quiz import Quiz  # noqa: E402
from lessonkit.text import BPETokenizer  # noqa: E402
from lessonkit.widgets import (  # noqa: E402
    AttentionExplorer,
    FillInTheBlank,
    NextTokenExplorer,
    SamplingPanel,
    TokenizerPanel,
    TranslationPanel,
)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VOCAB = list("abc <&>")


@pytest.fixture(autouse=True)
def drawn(monkeypatch):
    """Figures are drawn into the chart without a notebook, and closed afterwards."""
    monkeypatch.setattr(panels, "display", lambda figure: None)
    yield
    plt.close("all")


def logits_of(prompt: str) -> np.ndarray:
    logits = np.zeros(len(VOCAB))
    logits[(VOCAB.index(prompt[-1]) + 1) % len(VOCAB)] = 3.0  # the next character, most likely
    return logits


def predict(prompt: str):
    """Lesson 5's ``predict``: logits (V,), the prompt's tokens, attention (L, H, T)."""
    if not prompt:
        raise ValueError("type a prompt")
    tokens = list(prompt)
    return logits_of(prompt), tokens, np.full((2, 3, len(tokens)), 1 / len(tokens))


def translate(text: str):
    output = list("1998-03-03")
    return "1998-03-03", np.full((len(output), len(text)), 1 / len(text)), list(text), output


def fill(text: str):
    return [[("word", 0.6), ("<b>", 0.4)]] * text.count("[MASK]")


def attention_of(text: str):
    tokens = text.split()
    return tokens, np.full((2, 3, len(tokens), len(tokens)), 1 / len(tokens))  # (L, H, T, T)


QUESTIONS = [
    {"question": "Which <tag> is <b>bold</b>?", "options": ["<i>", "<b>"], "answer": 1,
     "explanations": ["Italic & slanted.", "Right: b is for bold."]},
    {"question": "How many bytes hold 'å' in UTF-8?", "answer": 2,
     "explanation": "Two: 0xC3 0xA5."},
]  # fmt: skip


def every_panel():
    """Each panel class and the quiz, built on the stand-ins, with the words its static view must
    hold (as the HTML shows them: escaped) and whether it draws a figure."""
    return {
        "sampling": (
            SamplingPanel(logits_of, lambda prompt, **k: "<&>", VOCAB, prompt="ab"),
            ["ab&lt;&amp;&gt;", "temperature=1.0"],
            True,
        ),
        "next token": (NextTokenExplorer(predict, VOCAB, prompt="a<b"), ["a&lt;b"], True),
        "tokenizer": (
            TokenizerPanel(BPETokenizer([]), text="x <b>y</b>"),
            ["<b>10 tokens</b>", "&lt;"],
            False,
        ),
        "translation": (
            TranslationPanel(translate, text="3 May <1998>"),
            ["3 May &lt;1998&gt;", "1998-03-03"],
            True,
        ),
        "fill": (FillInTheBlank(fill, "a [MASK] <b>"), ["a word &lt;b&gt;"], True),
        "attention": (AttentionExplorer(attention_of, "to be <or>"), ["to be &lt;or&gt;"], True),
        "quiz": (Quiz(QUESTIONS, title="Quiz <1>"), ["Quiz &lt;1&gt;"], False),
    }


def png_of(bundle: dict) -> np.ndarray:
    """The bundle's PNG, checked: a base64 PNG under 100 KB, the same one the HTML shows."""
    data = bundle["image/png"]
    png = base64.b64decode(data, validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 100_000
    assert f"<img src='data:image/png;base64,{data}'" in bundle["text/html"]
    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("name", list(every_panel()))
def test_a_displayed_panel_is_one_output_with_the_widget_and_a_static_view(name):
    from IPython.core.formatters import DisplayFormatter

    panel, words, draws = every_panel()[name]
    data, _ = DisplayFormatter().format(panel)  # what display(panel) or a last expression sends
    assert data[WIDGET_VIEW]["model_id"] == panel.widget.model_id
    plain = data["text/plain"]
    assert "VBox" not in plain and type(panel).__name__ in plain and len(plain) < 200
    page = data["text/html"]
    for word in words:
        assert word in page, (word, page[:500])
    assert "<script" not in page and "<b>y</b>" not in page  # the input, escaped
    if draws:
        image = png_of(data)
        assert image.ndim == 3 and 100 < image.shape[1] < 1500
    else:
        assert "image/png" not in data


def test_the_quiz_shows_every_question_and_folds_the_answers_away():
    page = Quiz(QUESTIONS, title="Quiz <1>")._repr_mimebundle_()["text/html"]
    questions = page.split("<details>", 1)[0]
    assert "Which &lt;tag&gt; is &lt;b&gt;bold&lt;/b&gt;?" in questions
    assert "&lt;i&gt;</li><li>&lt;b&gt;</li>" in questions  # the choices, in order
    assert "Right" not in questions and "Italic" not in questions  # no answer before <details>
    assert page.count("<details>") == page.count("</details>") == 2
    folded = [part.split("</details>")[0] for part in page.split("<details>")[1:]]
    assert "<b>&lt;b&gt;</b>" in folded[0] and "Italic &amp; slanted." in folded[0]
    assert "How many bytes" in page.split("<details>")[1]  # the second question, unfolded
    assert "<b>2</b>" in folded[1] and "0xC3 0xA5" in folded[1]
    lesson = Quiz.from_file("lesson1", part="pre")
    page = lesson._repr_mimebundle_()["text/html"]
    for question in lesson.questions:
        assert html.escape(question["question"]) in page
    assert page.count("<details>") == len(lesson.questions)


def test_the_static_view_follows_set_and_shows_a_refused_input():
    explorer = NextTokenExplorer(predict, VOCAB, prompt="ab")
    before = png_of(explorer._repr_mimebundle_())
    explorer.set(prompt="ab<", temperature=0.0)
    bundle = explorer._repr_mimebundle_()
    assert "ab&lt;" in bundle["text/html"] and "temperature=0.0" in bundle["text/html"]
    assert png_of(bundle).shape != before.shape or not np.array_equal(png_of(bundle), before)
    explorer.set(prompt="")
    bundle = explorer._repr_mimebundle_()
    assert "type a prompt" in bundle["text/html"] and "image/png" not in bundle


def test_a_view_given_to_set_static_view_replaces_the_panels_own():
    panel = TranslationPanel(translate, text="3 May 1998")
    panel.set_static_view("<p>saved by hand</p>")
    bundle = panel._repr_mimebundle_()
    assert "<p>saved by hand</p>" in bundle["text/html"] and "answer:" not in bundle["text/html"]
    png = panel.static_png()
    panel.set_static_view(png)
    assert base64.b64decode(panel._repr_mimebundle_()["image/png"]) == png
    panel.set_static_view(None)
    assert "1998-03-03" in panel._repr_mimebundle_()["text/html"]
    only = panel._repr_mimebundle_(include={"text/plain", WIDGET_VIEW})
    assert set(only) == {"text/plain", WIDGET_VIEW}


NOTEBOOK_CELLS = [
    """\
from lessonkit.quiz import Quiz
Quiz([{"question": "Is this <question> in the export?", "options": ["yes", "no"], "answer": 0,
       "explanations": ["Right: the static view holds it.", "It should be."]}], title="Export")""",
    """\
from lessonkit.text import BPETokenizer
from lessonkit.widgets import TokenizerPanel
TokenizerPanel(BPETokenizer([]), text="tokens <here>")""",
    """\
import numpy as np
from lessonkit.widgets import TranslationPanel
panel = TranslationPanel(
    lambda t: ("1998-03-03", np.full((10, len(t)), 1 / len(t)), list(t), list("1998-03-03")),
    text="3 May 1998",
)
panel.set(text="4 May 1998")
display(panel)""",
]


def test_an_html_export_without_widget_javascript_shows_the_static_views(tmp_path):
    """Executed by a kernel, then exported: with the widget state, nbconvert renders the widget
    (its view needs JavaScript); without it, as on GitHub, the static HTML shows instead."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    for cell in nb.cells:
        (output,) = cell.outputs  # one output per panel: widget view and static view together
        assert output.output_type in ("execute_result", "display_data"), output
        assert WIDGET_VIEW in output.data and "text/html" in output.data
    assert "image/png" in nb.cells[2].outputs[0].data
    assert nb.metadata["widgets"]  # nbclient saved the widget state, as the lessons' notebooks do

    exporter = nbconvert.HTMLExporter()
    live, _ = exporter.from_notebook_node(nb)
    assert WIDGET_VIEW in live and "A snapshot of the interactive" not in live

    del nb.metadata["widgets"]  # no widget state: nothing can draw the widgets
    static, _ = exporter.from_notebook_node(nb)
    assert "A snapshot of the interactive" in static and "VBox(children" not in static
    assert "Is this &lt;question&gt; in the export?" in static and "<details>" in static
    assert "tokens</b>" in static and "&lt;here&gt;" in static
    assert "4 May 1998" in static and re.search(r"<img[^>]+src=.data:image/png;base64,", static)
