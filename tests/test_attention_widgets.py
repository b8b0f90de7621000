"""AttentionExplorer and the Lesson 3 plot helpers (framework-free)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonkit import plots  # noqa: E402
from lessonkit.widgets import AttentionExplorer  # noqa: E402


def _maps(L=2, H=3, T=4, seed=0):
    scores = np.random.default_rng(seed).normal(size=(L, H, T, T))
    return np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)


def test_explorer_follows_the_sliders():
    attention = _maps()
    explorer = AttentionExplorer.from_arrays(attention, ["a", "b", "c", "d"], title="Test")
    assert (explorer.layer.max, explorer.head.max) == (1, 2)
    explorer.set(layer=1, head=2)
    np.testing.assert_array_equal(explorer.current(), attention[1, 2])
    fig = explorer.figure()
    assert fig.axes[0].get_title() == "Test: layer 1, head 2"
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), attention[1, 2])
    explorer.set(average=True)
    np.testing.assert_allclose(explorer.current(), attention[1].mean(0))
    assert "mean of heads" in explorer.figure().axes[0].get_title()
    plt.close("all")
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(colour="red")
    with pytest.raises(ValueError, match="tokens"):
        explorer.set_attention(["a", "b"], attention)


def test_explorer_reruns_the_callable_on_new_text():
    calls = []

    def attention_fn(text):
        tokens = text.split()
        calls.append(text)
        if not tokens:
            raise ValueError("type a sentence")
        return tokens, _maps(T=len(tokens))

    explorer = AttentionExplorer(attention_fn, "to be or not")
    assert explorer.tokens == ["to", "be", "or", "not"]
    explorer.set(text="that is the question", layer=1)
    assert (
        explorer.tokens == ["that", "is", "the", "question"] and calls[-1] == "that is the question"
    )
    assert len(calls) == 2  # one run per change of text, not one per control
    explorer.text.value = ""
    assert "type a sentence" in explorer.message.value
    assert explorer.tokens == [] and explorer.chart.shown is None  # the old heatmap is gone
    explorer.text.value = "to be"
    assert explorer.message.value == "" and explorer.chart.shown is not None
    plt.close("all")


def test_plot_helpers_label_their_figures_and_reject_bad_shapes():
    fig = plots.attention_grid(_maps(), ["a", "b", "c", "d"], title="All heads")
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "layer 0, head 0"
    fig = plots.matrix_image(np.eye(3), "Identity", "column", "row")
    assert fig.axes[0].get_xlabel() == "column"
    fig = plots.line_plot({"a": ([1, 2], [3, 4])}, "Lines", "x", "y", logx=True, logy=True)
    assert fig.axes[0].get_title() == "Lines"
    with pytest.raises(ValueError, match="layers, heads"):
        plots.attention_grid(np.zeros((2, 2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="labels"):
        plots.attention_grid(_maps(), ["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        plots.matrix_image(np.zeros(3), "t", "x", "y")
    plt.close("all")
