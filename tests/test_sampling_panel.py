"""The Lesson 1 sampling panel: sliders map to sampler arguments, and the bars follow them."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonkit.sampling import next_token_probs  # noqa: E402
from lessonkit.widgets import SamplingPanel  # noqa: E402

LOGITS = np.array([2.0, 1.0, 0.0, -1.0])


def make_panel():
    calls = []

    def sample(prompt, **kwargs):
        calls.append(kwargs)
        return f"<{kwargs['temperature']}>"

    panel = SamplingPanel(lambda prompt: LOGITS, sample, list("abcd"), prompt="x")
    return panel, calls


def test_sliders_reshape_the_bars_and_resample():
    panel, calls = make_panel()
    np.testing.assert_allclose(panel.probs, next_token_probs(LOGITS))
    panel.set(temperature=0.5, top_k=2)
    assert len(calls) == 2  # one redraw for two controls
    assert calls[-1] == {"temperature": 0.5, "top_k": 2, "top_p": None, "seed": 0}
    np.testing.assert_allclose(panel.probs, next_token_probs(LOGITS, temperature=0.5, top_k=2))
    assert panel.passage.value == "x<0.5>"
    panel.top_p.value = 0.5
    assert panel.settings()["top_p"] == 0.5 and panel.probs[0] == 1.0


def test_top_k_zero_is_off_and_errors_are_shown_escaped_not_raised():
    panel, calls = make_panel()
    assert (panel.top_k.value, panel.top_k.min, panel.top_k.max) == (0, 0, 4)  # 4 = vocabulary
    assert panel.settings()["top_k"] is None
    panel.top_k.value = 4  # the whole vocabulary: allowed, and no cut either
    np.testing.assert_allclose(panel.probs, next_token_probs(LOGITS))
    panel.logits_fn = lambda prompt: (_ for _ in ()).throw(
        ValueError("characters not in the vocabulary: ['<', 'é']")
    )
    panel.prompt.value = "<é"
    assert "not in the vocabulary: [&#x27;&lt;&#x27;, &#x27;é&#x27;]" in panel.message.value
    assert panel.probs is None and panel.passage.value == ""  # the old passage is gone
    panel.logits_fn = lambda prompt: LOGITS
    panel.prompt.value = "y"
    assert panel.message.value == "" and panel.passage.value == "y<1.0>"


def test_unknown_controls_are_rejected():
    panel, _ = make_panel()
    with pytest.raises(ValueError, match="unknown controls"):
        panel.set(temprature=1.0)
