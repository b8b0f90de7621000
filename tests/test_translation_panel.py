"""Lesson 2's Try-it panel: typing updates the answer and the heatmap; bad input shows a message."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from lessonkit import dates  # noqa: E402
from lessonkit.widgets import TranslationPanel  # noqa: E402


def fake_translate(text):
    """A stand-in model: validates like the real one, answers a fixed date, looks at the digits."""
    dates.encode_source(text)
    digits = np.array([c.isdigit() for c in text], dtype=float)
    row = digits / digits.sum() if digits.any() else np.full(len(text), 1 / len(text))
    output = list("1998-03-03") + ["$"]
    return "1998-03-03", np.tile(row, (len(output), 1)), list(text), output


def test_typing_updates_the_answer_and_the_heatmap_and_bad_input_shows_why():
    panel = TranslationPanel(fake_translate, text="3rd of March 1998")
    assert "1998-03-03" in panel.answer.value
    assert panel.result[1].shape == (11, len("3rd of March 1998"))
    panel.text.value = "Tue 03.03.98"  # what typing in the box does
    assert panel.result[2] == list("Tue 03.03.98")
    figure = panel.figure()
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][:4] == ["1", "9", "9", "8"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    panel.set(text="café on 3 May")  # a character outside the vocabulary
    assert panel.result is None and "outside the vocabulary" in panel.message.value
    assert panel.answer.value == "" and panel.chart.shown is None  # the old answer is gone
    panel.set(text="")
    assert "empty" in panel.message.value
