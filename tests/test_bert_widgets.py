"""The fill-in-the-blank panel of Lesson 4 (framework-free: a fake model stands in for BERT)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lessonkit.widgets import FillInTheBlank, check_fill_predictions, fill_blanks  # noqa: E402


def fake_model(text: str):
    """A hand-written 'model': for each [MASK], guesses that name the blank's number."""
    if "forbidden" in text:
        raise ValueError("this model cannot read 'forbidden'")
    n = text.count("[MASK]")
    return [[(f"word{i}", 0.6), (f"##s{i}", 0.3), ("the", 0.1)] for i in range(1, n + 1)]


def test_fill_blanks_puts_the_best_guess_in_each_blank_in_order():
    text = "to [MASK] or not to [MASK] ."
    assert fill_blanks(text, fake_model(text)) == "to word1 or not to word2 ."
    # A WordPiece continuation (##) is glued to the word before it.
    assert fill_blanks("king [MASK] here", [[("##s", 0.9)]]) == "kings here"


@pytest.mark.parametrize(
    ("text", "predictions", "message"),
    [
        ("no blank here", [], "no blank"),
        ("one [MASK] two [MASK]", [[("a", 0.5)]], "2 \\[MASK\\] blank"),
        ("one [MASK]", [[]], "no guesses"),
        ("one [MASK]", [[("a", 1.5)]], "in \\[0, 1\\]"),
    ],
)
def test_bad_predictions_raise_a_value_error_naming_the_problem(text, predictions, message):
    with pytest.raises(ValueError, match=message):
        check_fill_predictions(text, predictions)


def test_panel_shows_one_bar_chart_per_blank_with_the_model_probabilities():
    panel = FillInTheBlank(fake_model, "good [MASK] , sweet [MASK] .", title="Fake")
    assert "good word1 , sweet word2 ." in panel.answer.value
    fig = panel.figure()
    assert [ax.get_title() for ax in fig.axes] == ["blank 1", "blank 2"]
    widths = sorted(bar.get_width() for bar in fig.axes[0].patches)
    assert widths == pytest.approx([0.1, 0.3, 0.6])
    assert "Fake" in fig.get_suptitle()
    plt.close("all")


def test_panel_reruns_the_model_on_new_text_and_reports_bad_input():
    calls = []

    def model(text):
        calls.append(text)
        return fake_model(text)

    panel = FillInTheBlank(model, "a [MASK] b")
    panel.set(text="[MASK] [MASK] [MASK]")
    assert calls == ["a [MASK] b", "[MASK] [MASK] [MASK]"]
    assert len(panel.predictions) == 3
    panel.text.value = "nothing missing"  # no blank: a message, the model is not asked
    assert "[MASK]" in panel.message.value and panel.predictions == []
    assert panel.answer.value == "" and panel.chart.shown is None  # the old guesses are gone
    assert len(calls) == 2
    panel.text.value = "a forbidden [MASK]"  # the model's own ValueError becomes the message
    assert "cannot read" in panel.message.value
    with pytest.raises(ValueError, match="nothing to draw"):
        panel.figure()
    with pytest.raises(ValueError, match="unknown controls"):
        panel.set(colour="red")
    plt.close("all")
