"""No panel freezes: every control of every panel, driven to its extremes and to invalid values.

Small stand-in models (NumPy callables) replace the lessons' models. For each refused input the
panel shows the ``ValueError``'s own message, HTML-escaped, clears what the previous input drew,
and redraws on the next valid input; no exception escapes an observer, except errors that are
not ``ValueError`` (bugs), which must not be swallowed.
"""

from __future__ import annotations

import html
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonkit import dates  # noqa: E402
from lessonkit import widgets as panels  # noqa: E402
from lessonkit.generation import generate_text  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.quiz import Quiz  # noqa: E402
from lessonkit.text import BPETokenizer, CharTokenizer, GPT2Tokenizer  # noqa: E402
from lessonkit.widgets import (  # noqa: E402
    AttentionExplorer,
    FillInTheBlank,
    NextTokenExplorer,
    SamplingPanel,
    TokenizerPanel,
    TranslationPanel,
)

LONE = "\ud800"  # a lone surrogate: no browser or font can draw it
HUGE = "ab " * 7_000  # 21,000 characters


@pytest.fixture(autouse=True)
def drawn(monkeypatch):
    """Render every figure a panel shows, as a notebook's inline backend does (text is laid out
    only then, which is where a lone surrogate used to crash), and close them all afterwards."""

    def display(figure):
        figure.savefig(io.BytesIO(), format="png", dpi=20)

    monkeypatch.setattr(panels, "display", display)
    yield
    plt.close("all")


def shows_error(panel, *fragments: str) -> None:
    """The message area holds the error's own words, HTML-escaped."""
    message = panel.message.value
    assert message, "the refused input left no message"
    for fragment in fragments:
        assert html.escape(fragment) in message, (fragment, message)
    assert "<script>" not in message and "<b>" not in message  # escaped, never markup


def accepted(panel) -> None:
    assert panel.message.value == ""


# --- a stand-in character model: the next character after c is c + 1 (most likely) ----------------

VOCAB = list("abc <&>")  # HTML's special characters are tokens too
TOKENIZER = CharTokenizer(VOCAB)
V = len(VOCAB)


class NextCharModel:
    """``step`` as the twins have it: checked ids in, (B, V) logits of the last position out."""

    def step(self, ids, state=None):
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.size == 0:
            raise ValueError(f"ids must be a non-empty (B, T) array, got shape {ids.shape}")
        logits = np.zeros((ids.shape[0], V))  # (B, V)
        logits[np.arange(ids.shape[0]), (ids[:, -1] + 1) % V] = 3.0
        return logits, None


MODEL = NextCharModel()


def logits_of(prompt: str) -> np.ndarray:
    if prompt == "nan":
        return np.full(V, np.nan)  # a broken model: the sampler refuses NaN scores
    return MODEL.step(np.array([TOKENIZER.encode(prompt)], dtype=np.int64))[0][0]


def sampling_panel() -> SamplingPanel:
    return SamplingPanel(
        logits_fn=logits_of,
        sample_fn=lambda prompt, **kwargs: generate_text(MODEL, TOKENIZER, prompt, 8, **kwargs),
        labels=VOCAB,
        prompt="ab",
    )


def test_sampling_panel_survives_every_control_at_its_extremes():
    panel = sampling_panel()
    assert (panel.top_k.min, panel.top_k.max, panel.top_k.value) == (0, V, 0)  # 0: off
    for values in (
        {"temperature": 0.0},
        {"temperature": panel.temperature.max},
        {"temperature": 1e9},  # the slider keeps it at its maximum
        {"temperature": -5.0},
        {"top_k": 1},
        {"top_k": V},
        {"top_k": 10 * V},
        {"top_k": 0},
        {"top_p": 1e-12},  # tiny: the slider's minimum keeps one token or a few
        {"top_p": panel.top_p.min, "temperature": 0.0, "top_k": 1},
        {"top_p": 1.0},
        {"seed": -1},
        {"seed": panel.seed.max},
    ):
        panel.set(**values)
        accepted(panel)
        assert np.isclose(panel.probs.sum(), 1) and panel.chart.shown is not None
        assert panel.passage.value.startswith(panel.prompt.value)
    panel.resample.click()  # at the largest seed: wraps around to 0
    assert panel.seed.value == 0 and panel.message.value == ""


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("", "empty"),
        ("ab<script>", "characters not in the vocabulary: ['i', 'p', 'r', 's', 't']"),
        ("a" + LONE, "characters not in the vocabulary"),
        ("nan", "NaN"),
    ],
)
def test_sampling_panel_shows_a_refused_prompt_clears_and_recovers(prompt, words):
    panel = sampling_panel()
    panel.prompt.value = prompt  # what typing does: no exception may escape
    shows_error(panel, words)
    assert panel.probs is None and panel.chart.shown is None and panel.passage.value == ""
    panel.temperature.value = 0.5  # still refused: the message stays
    shows_error(panel, words)
    panel.prompt.value = "ab"
    accepted(panel)
    assert panel.chart.shown is not None and panel.passage.value.startswith("ab")


def test_sampling_panel_reads_a_huge_prompt():
    panel = sampling_panel()
    panel.prompt.value = HUGE
    accepted(panel)
    assert repr(HUGE[-20:]) in panel.chart.shown.axes[0].get_title()  # the prompt's end


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_clearing_lesson1s_prompt_shows_why_instead_of_a_framework_error(framework):
    """Lesson 1's panel, wired as the lesson wires it, over a tiny twin of each framework."""
    twin = pytest.importorskip(f"lessonkit.{framework}.char_rnn")
    model = twin.CharRNN(CharRNNConfig(vocab_size=V, d_embed=4, d_model=8, n_layers=1))
    panel = SamplingPanel(
        logits_fn=lambda prompt: model.step(np.array([TOKENIZER.encode(prompt)]))[0][0],
        sample_fn=lambda prompt, **kwargs: generate_text(model, TOKENIZER, prompt, 5, **kwargs),
        labels=VOCAB,
        prompt="abc",
    )
    accepted(panel)
    panel.prompt.value = ""
    shows_error(panel, "ids")
    assert panel.chart.shown is None and panel.passage.value == ""
    panel.prompt.value = "cab"
    accepted(panel)
    assert panel.passage.value.startswith("cab") and len(panel.passage.value) == 3 + 5


# --- next-token explorer ---------------------------------------------------------------------


def predict(prompt: str):
    """A stand-in for Lesson 5's ``predict``: a 5-token vocabulary, 2 layers of 3 heads."""
    if len(prompt) > 64:
        raise ValueError(f"the prompt has {len(prompt)} tokens; the model reads at most 64 <ctx>")
    if prompt == "bad shape":
        return np.zeros(3), ["x"], np.ones((2, 3, 1))
    if prompt == "no layers":
        return np.zeros(5), ["x"], np.ones((0, 3, 1))
    if prompt == "nan":
        return np.full(5, np.nan), ["x"], np.ones((2, 3, 1))
    tokens = TOKENIZER.encode(prompt) and list(prompt)  # refuses characters it does not know
    if not tokens:
        raise ValueError("type a prompt")
    logits = np.arange(5.0) * (len(prompt) % 3)  # (V,)
    return logits, tokens, np.full((2, 3, len(tokens)), 1 / len(tokens))  # (L, H, T)


def test_next_token_explorer_with_a_tiny_vocabulary_and_every_slider_at_its_extremes():
    explorer = NextTokenExplorer(predict, list("abc <"), prompt="ab")  # default top_k=40 > V
    assert (explorer.top_k.min, explorer.top_k.max, explorer.top_k.value) == (0, 5, 5)
    assert (explorer.layer.max, explorer.head.max) == (1, 2)
    for values in (
        {"temperature": 0.0},
        {"temperature": 99.0},
        {"top_k": 0},
        {"top_k": 1},
        {"top_k": 500},
        {"top_p": 0.0},
        {"top_p": 1.0},
        {"layer": 1, "head": 2},
        {"layer": 9, "head": -3},
    ):
        explorer.set(**values)
        accepted(explorer)
        assert np.isclose(explorer.probs().sum(), 1) and explorer.buttons.children
    explorer.set(temperature=0.0)
    assert len(explorer.buttons.children) == 1  # greedy: one candidate
    explorer.buttons.children[0].click()  # appends "<": the model runs again
    assert explorer.prompt.value == "ab<" and explorer.prompt_tokens == list("ab<")
    with pytest.raises(ValueError, match="token_id"):
        explorer.append(5)


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("", "type a prompt"),
        ("x" * 20_000, "reads at most 64 <ctx>"),
        (LONE, "characters not in the vocabulary"),
        ("bad shape", "logits of shape (3,)"),
        ("no layers", "attention must be (layers, heads, T)"),
        ("nan", "NaN"),  # the sampler's error, raised while redrawing
    ],
)
def test_next_token_explorer_shows_a_refused_prompt_clears_and_recovers(prompt, words):
    explorer = NextTokenExplorer(predict, list("abc <"), prompt="ab")
    explorer.prompt.value = prompt
    shows_error(explorer, words)
    assert explorer.logits is None and not explorer.buttons.children
    assert explorer.chart.shown is None
    explorer.top_p.value = 0.5  # a slider while refused: the message stays
    shows_error(explorer, words)
    explorer.set(prompt="abc", layer=1)
    accepted(explorer)
    assert explorer.layer.value == 1 and explorer.chart.shown is not None


# --- tokenizer panel ----------------------------------------------------------------------------


class AsciiTokenizer:
    """One token per byte; refuses anything but ASCII, as a narrow tokenizer would."""

    def encode(self, text: str) -> list[int]:
        if not text.isascii():
            raise ValueError(f"only ASCII here <ascii>, got {sorted(set(text) - set(VOCAB))[:3]}")
        return list(text.encode())

    def token_bytes(self, token_id: int) -> bytes:
        return bytes([token_id])


@pytest.fixture(scope="module")
def gpt2():
    return GPT2Tokenizer.from_data()


def test_tokenizer_panel_handles_empty_huge_and_unencodable_text(gpt2):
    panel = TokenizerPanel({"GPT-2": gpt2, "bytes": BPETokenizer([]), "ascii": AsciiTokenizer()})
    word = "a" * 20_000  # one pre-token: the O(n log n) BPE takes it in a fraction of a second
    panel.text.value = word
    assert f"<b>{len(gpt2.encode(word))} tokens</b>" in panel.output.value
    assert "more tokens" in panel.output.value  # only the first 300 are drawn
    for choice in ("bytes", "ascii", "GPT-2"):
        for text in ("", word, "<b>bold</b> & 🤖", "x" + LONE):
            panel.set(choice=choice, text=text)
            if choice == "ascii" and not text.isascii():
                shows_error(panel, "only ASCII here <ascii>")
                assert panel.output.value == ""
            else:
                accepted(panel)
                assert "tokens</b>" in panel.output.value
    panel.choice.value = "ascii"
    panel.text.value = "é"
    shows_error(panel, "<ascii>")
    panel.text.value = "e"
    accepted(panel)
    assert "<b>1 tokens</b>" in panel.output.value
    with pytest.raises(ValueError, match="choice"):
        panel.set(choice="no such tokenizer")


# --- translation panel --------------------------------------------------------------------------


def translate(text: str):
    """A stand-in for Lesson 2's model: validates like it, answers a fixed date."""
    dates.encode_source(text)
    if text == "misshapen":
        return "1998-03-03", np.zeros((2, 2)), list(text), list("1998")
    output = list("1998-03-03") + ["$"]
    return "1998-03-03", np.full((len(output), len(text)), 1 / len(text)), list(text), output


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "the input is empty"),
        ("3" * 20_000, "the model reads at most 100"),
        ("<script>alert(1)</script>", "characters outside the vocabulary"),
        ("3 may " + LONE, "characters outside the vocabulary"),
        ("misshapen", "(4, 9)"),
    ],
)
def test_translation_panel_shows_refused_text_clears_and_recovers(text, words):
    panel = TranslationPanel(translate, text="3rd of March 1998")
    panel.text.value = text
    shows_error(panel, words)
    assert panel.result is None and panel.answer.value == "" and panel.chart.shown is None
    panel.text.value = "3 May 1998"
    accepted(panel)
    assert "1998-03-03" in panel.answer.value and panel.chart.shown is not None


# --- fill in the blank --------------------------------------------------------------------------


def fill(text: str):
    """A stand-in masked language model; it reads at most 4,000 characters."""
    if len(text) > 4_000:
        raise ValueError(f"the text has {len(text)} characters; the model reads 4000 <max>")
    guesses = [("word", 0.5), ("##s", 0.3), (LONE + "x", 0.1), ("<b>", 0.1)]
    if "certainty" in text:
        guesses = [("sure", 1.5)]
    return [guesses] * text.count("[MASK]")


def test_fill_in_the_blank_draws_a_lone_surrogate_and_many_blanks():
    panel = FillInTheBlank(fill, "to be " + LONE + " or [MASK] to be")
    accepted(panel)
    assert "\ufffd" in panel.chart.shown.get_suptitle()
    assert "&lt;b&gt;" not in panel.answer.value  # the best guess is "word"
    panel.text.value = "[MASK] " * 300  # 300 blanks: the figure shows the first few
    accepted(panel)
    assert len(panel.predictions) == 300 and len(panel.chart.shown.axes) == 6


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "write [MASK] where a word is missing"),
        ("no blank here " + LONE, "write [MASK]"),
        ("[MASK] " * 2_000, "reads 4000 <max>"),
        ("[MASK] of certainty", "probabilities must be in [0, 1]"),
    ],
)
def test_fill_in_the_blank_shows_refused_text_clears_and_recovers(text, words):
    panel = FillInTheBlank(fill, "good [MASK] , sweet prince .")
    panel.text.value = text
    shows_error(panel, words)
    assert panel.predictions == [] and panel.answer.value == "" and panel.chart.shown is None
    panel.text.value = "a [MASK] b"
    accepted(panel)
    assert "a word b" in panel.answer.value and panel.chart.shown is not None


# --- attention explorer -------------------------------------------------------------------------


def attention_of(text: str):
    """A stand-in encoder: one token per word, at most 16, 2 layers of 3 heads."""
    tokens = text.split()
    if not tokens:
        raise ValueError("type a sentence")
    if len(tokens) > 16:
        raise ValueError(f"{len(tokens)} tokens; the model reads at most 16 <max>")
    if tokens == ["no", "heads"]:
        return tokens, np.ones((2, 0, 2, 2))
    T = len(tokens)
    return tokens, np.full((2, 3, T, T), 1 / T)  # (L, H, T, T)


def test_attention_explorer_sliders_at_their_extremes():
    explorer = AttentionExplorer(attention_of, "to be or not " + LONE)
    assert explorer.tokens[-1] == "\ufffd"  # drawable
    for values in (
        {"layer": 1, "head": 2},
        {"layer": 99, "head": -1},
        {"average": True},
        {"text": "one", "layer": 1, "head": 2, "average": False},
    ):
        explorer.set(**values)
        accepted(explorer)
        assert explorer.chart.shown is not None
    assert (explorer.layer.value, explorer.head.value) == (1, 2)
    fixed = AttentionExplorer.from_arrays(np.full((1, 1, 2, 2), 0.5), ["<a>", "&"])
    fixed.set(layer=5, head=5, average=True)
    accepted(fixed)
    assert fixed.chart.shown is not None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "type a sentence"),
        ("x " * 10_000, "the model reads at most 16 <max>"),
        ("no heads", "at least one of each"),
    ],
)
def test_emptying_the_attention_text_clears_the_old_heatmap(text, words):
    explorer = AttentionExplorer(attention_of, "to be or not")
    explorer.text.value = text
    shows_error(explorer, words)
    assert explorer.tokens == [] and explorer.chart.shown is None
    explorer.head.value = 1  # a slider while refused: the message stays
    shows_error(explorer, words)
    explorer.text.value = "that is the question"
    accepted(explorer)
    assert explorer.tokens == ["that", "is", "the", "question"]
    assert explorer.chart.shown is not None


# --- the quiz widget ----------------------------------------------------------------------------


def test_quiz_checks_any_answer_without_raising():
    quiz = Quiz(
        [
            {"question": "<b>2 + 2?</b>", "options": ["3", "4"], "answer": 1,
             "explanations": ["One short.", "Yes."]},
            {"question": "pi?", "answer": 3.14, "tolerance": 0.01, "explanation": "A circle."},
        ]
    )  # fmt: skip
    widget = quiz.widget
    assert "&lt;b&gt;2 + 2?" in widget.children[1].children[0].value
    (choice, button, feedback), (number, check, verdict) = (
        box.children[1:] for box in widget.children[1:3]
    )
    for value in (None, 0, 1):
        choice.value = value
        button.click()
        accepted(quiz)
        assert feedback.value
    for value in (float("nan"), float("inf"), -1e308, 3.14):
        number.value = value
        check.click()
        accepted(quiz)
        assert verdict.value
    assert "Score: 2 / 2" in quiz.score.value


# --- every panel: the message area, the static view, bugs not swallowed ------------------------


def every_panel(gpt2):
    return {
        "sampling": sampling_panel(),
        "next token": NextTokenExplorer(predict, list("abc <"), prompt="ab"),
        "tokenizer": TokenizerPanel(gpt2),
        "translation": TranslationPanel(translate, text="3 May 1998"),
        "fill": FillInTheBlank(fill, "a [MASK] b"),
        "attention": AttentionExplorer(attention_of, "to be"),
        "quiz": Quiz.from_file("lesson1", part="pre"),
    }


def descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


def test_every_panel_shows_its_message_area_and_a_static_view_slot(gpt2):
    for name, panel in every_panel(gpt2).items():
        shown = [id(w) for w in descendants(panel.widget)]
        assert id(panel.message) in shown and id(panel.static) in shown, name
        panel.set_static_view("<img alt='the static view'>")
        assert panel.static.children[0].value == "<img alt='the static view'>"
        panel.set_static_view(b"\x89PNG\r\n\x1a\n")
        assert panel.static.children[0].format == "png"
        panel.set_static_view(None)
        assert panel.static.children == () and panel.static_view is None
        with pytest.raises(TypeError, match="HTML text, PNG bytes or None"):
            panel.set_static_view(3)


def buggy(model):
    """``model`` with a bug that shows on the input "bug [MASK]": an error other than
    ``ValueError``, which must reach the caller."""

    def call(text: str):
        if text == "bug [MASK]":
            raise RuntimeError("a bug, not a bad input")
        return model(text)

    return call


@pytest.mark.parametrize(
    ("make", "control"),
    [
        (lambda: SamplingPanel(buggy(logits_of), lambda p, **k: "", VOCAB, prompt="a"), "prompt"),
        (lambda: NextTokenExplorer(buggy(predict), list("abc <"), prompt="ab"), "prompt"),
        (lambda: TranslationPanel(buggy(translate), text="3 May 1998"), "text"),
        (lambda: FillInTheBlank(buggy(fill), "a [MASK]"), "text"),
        (lambda: AttentionExplorer(buggy(attention_of), "to be"), "text"),
    ],
)  # fmt: skip
def test_errors_other_than_value_errors_are_not_swallowed(make, control):
    panel = make()
    accepted(panel)
    with pytest.raises(RuntimeError, match="a bug"):
        getattr(panel, control).value = "bug [MASK]"


def test_a_tokenizer_bug_is_not_swallowed():
    class Broken(AsciiTokenizer):
        def token_bytes(self, token_id: int) -> bytes:
            raise IndexError(token_id)

    panel = TokenizerPanel({"ascii": AsciiTokenizer(), "broken": Broken()}, text="a")
    with pytest.raises(IndexError):
        panel.choice.value = "broken"


def test_the_explorer_shows_the_inside_of_the_step_from_a_trace():
    """A predict_fn that also returns the step's trace adds the scores and values panels; a trace
    of the wrong shape is a message, not a crash."""
    import matplotlib.pyplot as plt

    from lessonkit.widgets import NextTokenExplorer

    L, H, D, C = 2, 3, 4, 8
    tokens = ["a", "b", "c"]

    def predict(prompt):
        T = len(prompt)
        trace = {"scores": np.zeros((L, H, T)), "weights": np.full((L, H, T), 1 / T),
                 "weighted_values": np.ones((L, H, D)), "mlp": np.ones((L, C))}  # fmt: skip
        if prompt == "bad":
            trace["scores"] = np.zeros((1, 1, 1))
        return np.zeros(3), list(prompt), np.full((L, H, T), 1 / T), trace

    explorer = NextTokenExplorer(predict, tokens, prompt="ab")
    explorer.set(layer=1, head=2)
    fig = explorer.figure()
    titles = [ax.get_title() for ax in fig.axes]
    assert any("Scores q·k" in t and "layer 1, head 2" in t for t in titles)
    plt.close("all")
    explorer.set(prompt="bad")
    assert "trace['scores'] must be (2, 3, 3)" in explorer.message.value.replace("&#x27;", "'")
    explorer.set(prompt="abc")
    assert explorer.message.value == "" and explorer.trace is not None
