"""Interactive panels (ipywidgets) that take plain callables, so they work with any model.

A panel never imports a framework: it is given ``next_token_probs(prompt) -> logits (V,)`` style
callables and NumPy arrays, and it redraws with matplotlib.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from .plots import probability_bars
from .sampling import next_token_probs


def show_in(chart: widgets.Output, make_figure) -> None:
    """Replace what the ``chart`` output area shows with a new figure from ``make_figure()``.

    The figure is closed once shown, so it appears in the chart only, not again below the cell.
    """
    with chart:
        chart.clear_output(wait=True)
        figure = make_figure()
        display(figure)
        plt.close(figure)


def set_controls(panel, values: dict, allowed: Sequence[str]) -> None:
    """Give several of ``panel``'s widgets new values while its ``_hold`` flag mutes redraws."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"unknown controls {unknown}; this panel has {list(allowed)}")
    panel._hold = True
    try:
        for name, value in values.items():
            getattr(panel, name).value = value
    finally:
        panel._hold = False


class SamplingPanel:
    """Temperature, top-k and top-p sliders, a live bar chart of the next-token distribution,
    and a freshly sampled passage.

    ``logits_fn(prompt) -> (V,)`` scores the token after ``prompt``; ``sample_fn(prompt,
    temperature, top_k, top_p, seed) -> str`` continues it. ``labels`` name the V tokens.
    """

    def __init__(
        self,
        logits_fn: Callable[[str], np.ndarray],
        sample_fn: Callable[..., str],
        labels: Sequence[str],
        prompt: str = "play",
        top: int = 12,
    ):
        self.logits_fn, self.sample_fn, self.labels, self.top = (
            logits_fn,
            sample_fn,
            list(labels),
            top,
        )
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="380px")
        self.prompt = widgets.Text(value=prompt, description="prompt", style=style, layout=layout)
        self.temperature = widgets.FloatSlider(
            value=1.0,
            min=0.0,
            max=2.0,
            step=0.05,
            description="temperature",
            style=style,
            layout=layout,
        )
        self.top_k = widgets.IntSlider(
            value=len(self.labels),
            min=1,
            max=len(self.labels),
            description="top-k",
            style=style,
            layout=layout,
        )
        self.top_p = widgets.FloatSlider(
            value=1.0, min=0.05, max=1.0, step=0.05, description="top-p", style=style, layout=layout
        )
        self.seed = widgets.IntText(
            value=0, description="seed", style=style, layout=widgets.Layout(width="200px")
        )
        self.resample = widgets.Button(description="sample again")
        self.chart = widgets.Output()
        self.passage = widgets.Textarea(
            layout=widgets.Layout(width="640px", height="150px"), disabled=True
        )
        self.message = widgets.HTML()
        self._hold = False
        for control in (self.prompt, self.temperature, self.top_k, self.top_p, self.seed):
            control.observe(lambda _: self._hold or self.update(), names="value")
        self.resample.on_click(lambda _: self.bump_seed())
        controls = widgets.VBox(
            [
                self.prompt,
                self.temperature,
                self.top_k,
                self.top_p,
                widgets.HBox([self.seed, self.resample]),
                self.message,
            ]
        )
        self.widget = widgets.VBox([widgets.HBox([controls, self.chart]), self.passage])
        self.update()

    def set(self, **values) -> None:
        """Move several controls at once (``panel.set(temperature=0.7, top_k=5)``), redrawing once."""
        set_controls(self, values, ("prompt", "temperature", "top_k", "top_p", "seed"))
        self.update()

    def bump_seed(self) -> None:
        self.seed.value += 1  # triggers update()

    def settings(self) -> dict:
        return {
            "temperature": self.temperature.value,
            "top_k": self.top_k.value if self.top_k.value < len(self.labels) else None,
            "top_p": self.top_p.value if self.top_p.value < 1 else None,
        }

    def update(self) -> None:
        """Recompute the distribution and the passage from the current controls."""
        try:
            probs = next_token_probs(self.logits_fn(self.prompt.value), **self.settings())
            text = self.sample_fn(self.prompt.value, seed=self.seed.value, **self.settings())
        except ValueError as error:  # e.g. a character the model has never seen
            self.message.value = f"<span style='color:#b00'>{error}</span>"
            return
        self.message.value = ""
        self.probs, self.text = probs, text
        show_in(self.chart, self.figure)
        self.passage.value = self.prompt.value + text

    def figure(self) -> plt.Figure:
        """The current bar chart as a figure, titled with the settings that shaped it."""
        settings = ", ".join(f"{k}={v}" for k, v in self.settings().items() if v is not None)
        return probability_bars(
            self.probs,
            self.labels,
            top=self.top,
            title=f"Next token after {self.prompt.value[-20:]!r}\n({settings})",
        )

    def _ipython_display_(self) -> None:
        display(self.widget)


# --- Tokenizer panel ------------------------------------------------------------------------------

_TOKEN_COLOURS = ("#fde2a7", "#c9e4f5", "#d5f0c8", "#f7cfe0", "#e3d7f5", "#fbd3b8", "#cdeee9")


def _token_label(piece: bytes) -> tuple[str, bool]:
    """A readable label for a token's bytes, and whether they are whole UTF-8 characters."""
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError:  # part of a character: byte-level BPE splits inside UTF-8
        return " ".join(f"{b:02x}" for b in piece), False
    return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥"), True


def token_html(tokenizer, text: str, max_tokens: int = 300) -> str:
    """HTML of ``text`` cut into coloured tokens, each with its id and byte count underneath.

    ``tokenizer`` needs ``encode(text) -> list[int]`` and ``token_bytes(id) -> bytes`` (the BPE
    tokenizers of ``lessonkit.text``). Spaces show as ␣ and newlines as ↵; a token that holds only
    part of a UTF-8 character shows its bytes in hex, in grey.
    """
    ids = tokenizer.encode(text)
    n_bytes = len(text.encode("utf-8", "surrogatepass"))
    boxes = []
    for position, token_id in enumerate(ids[:max_tokens]):
        piece = tokenizer.token_bytes(token_id)
        label, whole = _token_label(piece)
        colour = _TOKEN_COLOURS[position % len(_TOKEN_COLOURS)]
        label_style = "font-size:15px" if whole else "font-size:12px;color:#666;font-style:italic"
        boxes.append(
            f"<span style='display:inline-block;margin:2px;padding:2px 5px;border-radius:4px;"
            f"background:{colour};text-align:center;font-family:monospace;vertical-align:top'>"
            f"<span style='{label_style};white-space:pre'>{html.escape(label)}</span><br>"
            f"<span style='font-size:10px;color:#333'>{token_id} · {len(piece)} B</span></span>"
        )
    if len(ids) > max_tokens:
        boxes.append(f"<span style='color:#666'> … {len(ids) - max_tokens} more tokens</span>")
    per_char = len(ids) / max(len(text), 1)
    summary = (
        f"<div style='margin-bottom:4px'>{len(text)} characters · {n_bytes} UTF-8 bytes · "
        f"<b>{len(ids)} tokens</b> ({per_char:.2f} per character)</div>"
    )
    return summary + "<div>" + "".join(boxes) + "</div>"


class TokenizerPanel:
    """Type text and watch it split into coloured tokens, with each token's id and byte count.

    ``tokenizers`` is one tokenizer or a ``{name: tokenizer}`` mapping (buttons switch between
    them); each needs ``encode`` and ``token_bytes``, as the BPE tokenizers of ``lessonkit.text``.
    """

    def __init__(self, tokenizers, text: str = "Tokenizers split text into pieces: ಕನ್ನಡ, æøå 🤖"):
        self.tokenizers = dict(tokenizers) if isinstance(tokenizers, Mapping) else {"": tokenizers}
        if not self.tokenizers:
            raise ValueError("give at least one tokenizer")
        self.text = widgets.Text(
            value=text,
            description="text",
            continuous_update=True,
            layout=widgets.Layout(width="700px"),
        )
        self.choice = widgets.ToggleButtons(options=list(self.tokenizers), description="tokenizer")
        self.output = widgets.HTML()
        self.text.observe(lambda _: self.update(), names="value")
        self.choice.observe(lambda _: self.update(), names="value")
        controls = [self.choice, self.text] if len(self.tokenizers) > 1 else [self.text]
        self.widget = widgets.VBox([*controls, self.output])
        self.update()

    def update(self) -> None:
        """Re-tokenize the current text with the chosen tokenizer."""
        tokenizer = self.tokenizers[self.choice.value]
        try:
            self.output.value = token_html(tokenizer, self.text.value)
        except ValueError as error:
            self.output.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"

    def _ipython_display_(self) -> None:
        display(self.widget)


class AttentionExplorer:
    """Layer and head sliders over a model's attention maps, drawn as a labelled heatmap.

    Give ``attention_fn(text) -> (tokens, attention (L, H, T, T))`` to type any sentence (the text
    box re-runs the model), or build one from fixed arrays with :meth:`from_arrays`. The
    "average heads" box shows the mean over heads of the chosen layer.
    """

    def __init__(
        self,
        attention_fn: Callable[[str], tuple[Sequence[str], np.ndarray]] | None = None,
        text: str = "",
        title: str = "Self-attention",
    ):
        self.attention_fn, self.title = attention_fn, title
        self._hold = False
        style = {"description_width": "60px"}
        self.text = widgets.Text(
            value=text, description="text", style=style, layout=widgets.Layout(width="700px")
        )
        self.layer = widgets.IntSlider(value=0, min=0, max=0, description="layer", style=style)
        self.head = widgets.IntSlider(value=0, min=0, max=0, description="head", style=style)
        self.average = widgets.Checkbox(value=False, description="average heads")
        self.chart = widgets.Output()
        self.message = widgets.HTML()
        for control in (self.layer, self.head, self.average):
            control.observe(lambda _: self.draw(), names="value")
        rows = [widgets.HBox([self.layer, self.head, self.average]), self.message, self.chart]
        if attention_fn is not None:
            self.text.observe(lambda _: None if self._hold else self.update(), names="value")
            rows.insert(0, self.text)
        self.widget = widgets.VBox(rows)
        self.tokens: list[str] = []
        self.attention = np.zeros((1, 1, 0, 0))
        if attention_fn is not None:
            self.update()

    @classmethod
    def from_arrays(
        cls, attention: np.ndarray, tokens: Sequence[str], title: str = "Self-attention"
    ) -> AttentionExplorer:
        """An explorer over fixed maps: ``attention`` (L, H, T, T) for the ``tokens`` (T,)."""
        explorer = cls(None, title=title)
        explorer.set_attention(tokens, attention)
        return explorer

    def set_attention(self, tokens: Sequence[str], attention: np.ndarray) -> None:
        """Show new maps; the sliders' ranges follow the number of layers and heads."""
        attention = np.asarray(attention, dtype=float)
        if attention.ndim != 4 or attention.shape[2:] != (len(tokens), len(tokens)):
            raise ValueError(
                f"attention must be (layers, heads, T, T) with T = {len(tokens)} tokens, "
                f"got shape {attention.shape}"
            )
        self.tokens, self.attention = list(tokens), attention
        with self.layer.hold_trait_notifications(), self.head.hold_trait_notifications():
            self.layer.max, self.head.max = attention.shape[0] - 1, attention.shape[1] - 1
        self.draw()

    def update(self) -> None:
        """Re-run ``attention_fn`` on the text box's sentence."""
        try:
            tokens, attention = self.attention_fn(self.text.value)
            self.message.value = ""
            self.set_attention(tokens, attention)
        except ValueError as error:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"

    def set(self, **values) -> None:
        """Move several controls at once (``explorer.set(layer=1, head=2)``), redrawing once."""
        set_controls(self, values, ("text", "layer", "head", "average"))
        if "text" in values and self.attention_fn is not None:
            self.update()
        else:
            self.draw()

    def current(self) -> np.ndarray:
        """The (T, T) map the sliders point at."""
        maps = self.attention[self.layer.value]  # (H, T, T)
        return maps.mean(axis=0) if self.average.value else maps[self.head.value]

    def figure(self) -> plt.Figure:
        """The heatmap of the current layer and head, as a matplotlib figure."""
        from .plots import heatmap

        which = "mean of heads" if self.average.value else f"head {self.head.value}"
        return heatmap(
            self.current(),
            self.tokens,
            self.tokens,
            title=f"{self.title}: layer {self.layer.value}, {which}",
            xlabel="key: the token attended to",
            ylabel="query: the token attending",
        )

    def draw(self) -> None:
        if not self.tokens or self._hold:
            return
        show_in(self.chart, self.figure)

    def _ipython_display_(self) -> None:
        display(self.widget)


# --- Next-token explorer (Lesson 5) -------------------------------------------------------------


def _shown(token: str) -> str:
    """A token as a readable label: spaces as ␣, newlines as ↵."""
    return token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


class NextTokenExplorer:
    """Type a prompt, see the most likely next tokens as bars, click one to append it, repeat.

    ``predict_fn(prompt) -> (logits (V,), prompt_tokens (T,), attention (L, H, T))`` runs the model
    once: the scores of the next token, the prompt's tokens as text, and what the last token
    attended to in every layer and head. ``tokens`` are the V tokens as text (what a click appends);
    ``title`` names the model in the figure.
    The temperature, top-k and top-p sliders re-shape the bars without re-running the model; the
    layer and head sliders choose the attention drawn beside them.
    """

    def __init__(
        self,
        predict_fn: Callable[[str], tuple[np.ndarray, Sequence[str], np.ndarray]],
        tokens: Sequence[str],
        prompt: str = "",
        top: int = 10,
        top_k: int = 40,
        title: str = "",
    ):
        self.predict_fn, self.tokens, self.top, self.title = predict_fn, list(tokens), top, title
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="360px")
        self.prompt = widgets.Textarea(
            value=prompt, description="prompt", style=style, layout=widgets.Layout(width="720px")
        )
        self.temperature = widgets.FloatSlider(
            value=1.0, min=0.0, max=2.0, step=0.05, description="temperature", style=style,
            layout=layout,
        )  # fmt: skip
        self.top_k = widgets.IntSlider(
            value=top_k, min=0, max=200, description="top-k (0: off)", style=style, layout=layout
        )
        self.top_p = widgets.FloatSlider(
            value=1.0, min=0.05, max=1.0, step=0.05, description="top-p", style=style, layout=layout
        )
        self.layer = widgets.IntSlider(value=0, min=0, max=0, description="layer", style=style)
        self.head = widgets.IntSlider(value=0, min=0, max=0, description="head", style=style)
        self.buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", width="900px"))
        self.chart = widgets.Output()
        self.message = widgets.HTML()
        self._hold = False
        self.prompt.observe(lambda _: self._hold or self.update(), names="value")
        for control in (self.temperature, self.top_k, self.top_p, self.layer, self.head):
            control.observe(lambda _: self._hold or self.redraw(), names="value")
        sliders = widgets.HBox(
            [widgets.VBox([self.temperature, self.top_k, self.top_p]),
             widgets.VBox([self.layer, self.head])]
        )  # fmt: skip
        hint = widgets.HTML("<i>click a token to append it to the prompt</i>")
        self.widget = widgets.VBox(
            [self.prompt, sliders, self.message, hint, self.buttons, self.chart]
        )
        self.update()

    def settings(self) -> dict:
        return {
            "temperature": self.temperature.value,
            "top_k": self.top_k.value or None,
            "top_p": self.top_p.value if self.top_p.value < 1 else None,
        }

    def set(self, **values) -> None:
        """Move several controls at once (``explorer.set(temperature=0.7, layer=2)``), redrawing once."""
        names = {"prompt", "temperature", "top_k", "top_p", "layer", "head"}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown controls {unknown}; known: {sorted(names)}")
        self._hold = True
        try:
            if "prompt" in values:
                self.prompt.value = values.pop("prompt")
                self.update(draw=False)
            for name, value in values.items():
                getattr(self, name).value = value
        finally:
            self._hold = False
        self.redraw()

    def update(self, draw: bool = True) -> None:
        """Run the model on the prompt (the only step that calls ``predict_fn``)."""
        try:
            logits, prompt_tokens, attention = self.predict_fn(self.prompt.value)
        except ValueError as error:  # e.g. a prompt longer than the model's context
            self.message.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"
            return
        attention = np.asarray(attention, dtype=float)
        if attention.ndim != 3 or attention.shape[2] != len(prompt_tokens):
            raise ValueError(
                f"attention must be (layers, heads, T) with T = {len(prompt_tokens)} prompt tokens, "
                f"got shape {attention.shape}"
            )
        self.message.value = ""
        self.logits, self.prompt_tokens, self.attention = logits, list(prompt_tokens), attention
        with self.layer.hold_trait_notifications(), self.head.hold_trait_notifications():
            self.layer.max, self.head.max = attention.shape[0] - 1, attention.shape[1] - 1
        if draw:
            self.redraw()

    def probs(self) -> np.ndarray:
        """The distribution the sliders give, (V,)."""
        return next_token_probs(self.logits, **self.settings())

    def append(self, token_id: int) -> None:
        """Add one token to the prompt (what clicking its button does); the model runs again."""
        self.prompt.value += self.tokens[token_id]

    def redraw(self) -> None:
        """New buttons and figure from the stored scores: no model call."""
        if not hasattr(self, "logits"):
            return
        probs = self.probs()
        best = [int(i) for i in np.argsort(-probs, kind="stable")[: self.top] if probs[i] > 0]
        buttons = []
        for token_id in best:
            button = widgets.Button(
                description=f"{_shown(self.tokens[token_id])} {probs[token_id]:.0%}",
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(lambda _, t=token_id: self.append(t))
            buttons.append(button)
        self.buttons.children = buttons
        show_in(self.chart, self.figure)

    def figure(self) -> plt.Figure:
        """The bars of the next token beside the attention of the last prompt token."""
        probs = self.probs()
        fig, (bars, attention) = plt.subplots(
            1, 2, figsize=(11, 0.3 * self.top + 1.8), gridspec_kw={"width_ratios": [1, 1]}
        )
        shown = ", ".join(f"{k}={v}" for k, v in self.settings().items() if v is not None)
        last = _shown(self.prompt_tokens[-1]) if self.prompt_tokens else ""
        probability_bars(
            probs,
            [_shown(t) for t in self.tokens],
            top=self.top,
            title=f"Next token after '…{last}' ({shown})",
            ax=bars,
        )
        bars.set_ylabel("candidate next token")
        weights = self.attention[self.layer.value, self.head.value]  # (T,)
        recent = slice(max(0, len(weights) - 20), None)  # the last 20 prompt tokens at most
        labels = [f"{i}: {_shown(t)}" for i, t in enumerate(self.prompt_tokens)][recent]
        attention.barh(range(len(labels)), weights[recent], color="tab:orange")
        attention.set_yticks(range(len(labels)), labels)
        attention.invert_yaxis()
        attention.set(
            title=f"Attention of '{last}': layer {self.layer.value}, head {self.head.value}",
            xlabel="attention weight",
            ylabel="prompt token (position: text)",
            xlim=(0, 1),
        )
        if self.title:
            fig.suptitle(self.title)
        fig.tight_layout()
        return fig

    def _ipython_display_(self) -> None:
        display(self.widget)


# ----------------------------------------------------------------------- quizzes


def _check_quiz_question(number: int, item: object) -> dict:
    """Validate one quiz question; raise ValueError naming it (1-based) and what is wrong."""
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise ValueError(f"quiz question {number}: needs a 'question' text, got {item!r}")
    name = f"quiz question {number} ({item['question'][:60]!r})"
    if "options" in item:
        options, explanations = item["options"], item.get("explanations")
        if not isinstance(options, list) or len(options) < 2:
            raise ValueError(f"{name}: needs at least two options")
        if not isinstance(explanations, list) or len(explanations) != len(options):
            raise ValueError(
                f"{name}: needs one explanation per option ({len(options)}), "
                f"got {0 if not isinstance(explanations, list) else len(explanations)}"
            )
        missing = [
            i for i, text in enumerate(explanations) if not isinstance(text, str) or not text
        ]
        if missing:
            raise ValueError(f"{name}: the explanation of option(s) {missing} is missing")
        answer = item.get("answer")
        if (
            not isinstance(answer, int)
            or isinstance(answer, bool)
            or not 0 <= answer < len(options)
        ):
            raise ValueError(
                f"{name}: answer must be an option index 0..{len(options) - 1}, got {answer!r}"
            )
    else:
        answer, tolerance = item.get("answer"), item.get("tolerance", 0)
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            raise ValueError(f"{name}: a numeric question needs a number 'answer', got {answer!r}")
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise ValueError(f"{name}: tolerance must be a number >= 0, got {tolerance!r}")
        if not isinstance(item.get("explanation"), str) or not item["explanation"]:
            raise ValueError(f"{name}: the explanation is missing")
    return item


def _without_right_prefix(explanation: str) -> str:
    """``"Right: it is ..."`` -> ``"It is ..."``: the feedback already says "is right"."""
    if explanation.startswith("Right: "):
        rest = explanation.removeprefix("Right: ")
        return rest[:1].upper() + rest[1:]
    return explanation


class Quiz:
    """A short quiz: multiple-choice and numeric questions with a Check button and a score.

    ``questions`` is plain data: a multiple-choice question is ``{"question", "options",
    "answer" (index), "explanations" (one line per option, saying why it is right or wrong)}``;
    a numeric one is ``{"question", "answer", "tolerance", "explanation"}``. :meth:`grade`
    works without widgets; :attr:`widget` shows radio buttons or a number box per question.
    """

    def __init__(self, questions: Sequence[Mapping], title: str = "Quiz"):
        if not questions:
            raise ValueError("a quiz needs at least one question")
        self.questions = [_check_quiz_question(i + 1, dict(q)) for i, q in enumerate(questions)]
        self.title = title
        self._widget = None

    @classmethod
    def from_file(cls, path_or_lesson_name: str, part: str | None = None) -> Quiz:
        """Load a JSON quiz: a path, or a lesson name such as ``"lesson1"`` shipped in
        ``lessonkit/quizzes/``. A file holding ``{"pre": [...], "post": [...]}`` needs ``part``."""
        import json
        from pathlib import Path

        path = Path(path_or_lesson_name)
        if not path.suffix:
            path = Path(__file__).parent / "quizzes" / f"{path_or_lesson_name}.json"
        if not path.is_file():
            raise ValueError(f"no quiz file {path}")
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            if part not in data:
                raise ValueError(
                    f"{path.name} holds the parts {sorted(data)}; pass part=one of them"
                )
            lesson = path.stem.removeprefix("lesson")
            name = f"Lesson {lesson}" if lesson.isdigit() else path.stem
            data, title = data[part], f"{name} · {part}-quiz"
        else:
            title = path.stem
        try:
            return cls(data, title=title)
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from None

    def grade_one(self, index: int, answer: float | int | None):
        """Feedback on one answer: passed/failed with the explanation, or "not done" if None."""
        from .exercises import Feedback

        q = self.questions[index]
        label = f"Q{index + 1}"
        if answer is None:
            return Feedback("not done", f"{label}: not answered yet")
        if "options" in q:
            if not isinstance(answer, (int, np.integer)) or not 0 <= answer < len(q["options"]):
                return Feedback("failed", f"{label}: {answer!r} is not one of the options")
            right = int(answer) == q["answer"]
            verdict = (
                "right" if right else f"not quite (the answer is {q['options'][q['answer']]!r})"
            )
            why = _without_right_prefix(q["explanations"][answer])
            text = f"{label}: {q['options'][answer]!r} is {verdict}. {why}"
        else:
            right = abs(float(answer) - q["answer"]) <= q.get("tolerance", 0)
            verdict = "right" if right else f"not quite (the answer is {q['answer']:,})"
            why = _without_right_prefix(q["explanation"])
            text = f"{label}: {answer:,} is {verdict}. {why}"
        return Feedback("passed" if right else "failed", text)

    def grade(self, answers: Sequence[float | int | None]) -> list:
        """One :class:`lessonkit.exercises.Feedback` per question (None = not answered)."""
        if len(answers) != len(self.questions):
            raise ValueError(f"got {len(answers)} answers for {len(self.questions)} questions")
        return [self.grade_one(i, a) for i, a in enumerate(answers)]

    @property
    def widget(self) -> widgets.VBox:
        """Built on first use: each question with its inputs, a Check button and its feedback."""
        if self._widget is None:
            self._widget = self._build()
        return self._widget

    def _build(self) -> widgets.VBox:
        self.results: list = [None] * len(self.questions)
        self.score = widgets.HTML(self._score_text())
        boxes = []
        self.inputs = []
        for i, q in enumerate(self.questions):
            if "options" in q:
                choice = widgets.RadioButtons(
                    options=[(text, k) for k, text in enumerate(q["options"])],
                    value=None,
                    layout=widgets.Layout(width="auto"),
                )
            else:
                choice = widgets.FloatText(description="answer")
            feedback = widgets.HTML("")
            button = widgets.Button(description="Check")
            button.on_click(lambda _, i=i, choice=choice, out=feedback: self._check(i, choice, out))
            self.inputs.append(choice)
            question = widgets.HTML(f"<b>{i + 1}. {html.escape(q['question'])}</b>")
            boxes.append(widgets.VBox([question, choice, button, feedback]))
        header = widgets.HTML(f"<h4>{html.escape(self.title)}</h4>")
        return widgets.VBox([header, *boxes, self.score])

    def _check(self, index: int, choice, out: widgets.HTML) -> None:
        value = choice.value
        result = self.grade_one(index, value)
        self.results[index] = result
        out.value = result._repr_html_()
        self.score.value = self._score_text()

    def _score_text(self) -> str:
        right = sum(1 for r in getattr(self, "results", []) if r is not None and r.passed)
        checked = sum(1 for r in getattr(self, "results", []) if r is not None)
        return f"<b>Score: {right} / {len(self.questions)}</b> ({checked} checked)"

    def _ipython_display_(self) -> None:
        display(self.widget)


# --- Seq2seq "Try it" panel (Lesson 2) ----------------------------------------------------------


class TranslationPanel:
    """Type a text, see a seq2seq model's answer and its alignment heatmap update.

    ``translate_fn(text) -> (answer, alignment (T_out, S), source_chars, output_chars)``: any model,
    any framework (Lesson 2 passes ``model.translate``). Bad input (a ``ValueError``) is shown as a
    message instead of an answer.
    """

    def __init__(
        self,
        translate_fn: Callable[[str], tuple[str, np.ndarray, Sequence[str], Sequence[str]]],
        text: str = "we finally met on the 3rd of March, 1998, just after lunch",
        title: str = "Where the decoder looked",
    ):
        self.translate_fn, self.title = translate_fn, title
        self._hold = False
        self.text = widgets.Text(
            value=text,
            description="input",
            continuous_update=False,
            style={"description_width": "50px"},
            layout=widgets.Layout(width="700px"),
        )
        self.answer = widgets.HTML()
        self.chart = widgets.Output()
        self.text.observe(lambda _: None if self._hold else self.update(), names="value")
        self.widget = widgets.VBox([self.text, self.answer, self.chart])
        self.result: tuple[str, np.ndarray, list[str], list[str]] | None = None
        self.update()

    def set(self, **values) -> None:
        """Type into the box from code (``panel.set(text="1998 mar 3")``), redrawing once."""
        set_controls(self, values, ("text",))
        self.update()

    def update(self) -> None:
        """Re-run ``translate_fn`` on the box's text and redraw."""
        try:
            answer, alignment, source, output = self.translate_fn(self.text.value)
        except ValueError as error:
            self.result = None
            self.answer.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"
            self.chart.clear_output()
            return
        self.result = (answer, np.asarray(alignment), list(source), list(output))
        self.answer.value = f"answer: <b><code>{html.escape(answer)}</code></b>"
        show_in(self.chart, self.figure)

    def figure(self) -> plt.Figure:
        """The current alignment heatmap."""
        from .plots import alignment_heatmap

        if self.result is None:
            raise ValueError("no answer to draw: the input was not accepted")
        answer, alignment, source, output = self.result
        return alignment_heatmap(alignment, source, output, title=f"{self.title}: {answer}")

    def _ipython_display_(self) -> None:
        display(self.widget)


# --- Fill-in-the-blank panel (Lesson 4) ---------------------------------------------------------

MASK_TOKEN = "[MASK]"


def check_fill_predictions(
    text: str, predictions: Sequence[Sequence[tuple[str, float]]], mask_token: str = MASK_TOKEN
) -> list[list[tuple[str, float]]]:
    """Validate a masked language model's guesses: one list of ``(token, probability)`` per
    ``mask_token`` in ``text``, in order, best first. Returns them as lists of (str, float).

    Raises ``ValueError`` naming the problem: a text without a blank, a different number of
    guess lists than blanks, an empty list, or a probability outside [0, 1].
    """
    n_blanks = text.count(mask_token)
    if n_blanks == 0:
        raise ValueError(f"write {mask_token} where a word is missing: the text has no blank")
    predictions = [list(guesses) for guesses in predictions]
    if len(predictions) != n_blanks:
        raise ValueError(
            f"the text has {n_blanks} {mask_token} blank(s) but the model gave guesses for "
            f"{len(predictions)}"
        )
    checked = []
    for number, guesses in enumerate(predictions, start=1):
        if not guesses:
            raise ValueError(f"blank {number}: the model gave no guesses")
        pairs = [(str(token), float(p)) for token, p in guesses]
        bad = [p for _, p in pairs if not 0.0 <= p <= 1.0]
        if bad:
            raise ValueError(f"blank {number}: probabilities must be in [0, 1], got {bad[:3]}")
        checked.append(pairs)
    return checked


def fill_blanks(
    text: str, predictions: Sequence[Sequence[tuple[str, float]]], mask_token: str = MASK_TOKEN
) -> str:
    """``text`` with each ``mask_token`` replaced by its best guess (WordPiece ``##`` pieces are
    glued to the word before them)."""
    parts = text.split(mask_token)
    predictions = check_fill_predictions(text, predictions, mask_token)
    filled = parts[0]
    for guesses, rest in zip(predictions, parts[1:], strict=True):
        best = guesses[0][0]
        if best.startswith("##"):
            filled = filled.rstrip() + best[2:]
        else:
            filled += best
        filled += rest
    return filled


class FillInTheBlank:
    """Type a sentence with ``[MASK]`` blanks; see a masked language model's best guesses for each.

    ``fill_fn(text) -> [[(token, probability), ...] per [MASK], in order]``, best guess first: any
    model, any framework (Lesson 4 wraps its tiny BERT). The panel shows the sentence with every
    blank filled by the best guess and one bar chart per blank; bad input (no blank, a text the
    model cannot read: a ``ValueError``) is shown as a message.
    """

    def __init__(
        self,
        fill_fn: Callable[[str], Sequence[Sequence[tuple[str, float]]]],
        text: str = "to be , or not to [MASK] : that is the question .",
        title: str = "Masked language model",
        mask_token: str = MASK_TOKEN,
    ):
        self.fill_fn, self.title, self.mask_token = fill_fn, title, mask_token
        self._hold = False
        self.text = widgets.Text(
            value=text,
            description="text",
            continuous_update=False,
            style={"description_width": "50px"},
            layout=widgets.Layout(width="700px"),
        )
        hint = widgets.HTML(f"<i>write {html.escape(mask_token)} where a word is missing</i>")
        self.answer = widgets.HTML()
        self.chart = widgets.Output()
        self.text.observe(lambda _: None if self._hold else self.update(), names="value")
        self.widget = widgets.VBox([self.text, hint, self.answer, self.chart])
        self.predictions: list[list[tuple[str, float]]] = []
        self.update()

    def set(self, **values) -> None:
        """Type into the box from code (``panel.set(text="good [MASK] , sweet prince .")``)."""
        set_controls(self, values, ("text",))
        self.update()

    def update(self) -> None:
        """Ask the model about the box's text and redraw."""
        text = self.text.value
        try:
            if self.mask_token not in text:
                raise ValueError(f"write {self.mask_token} where a word is missing")
            self.predictions = check_fill_predictions(text, self.fill_fn(text), self.mask_token)
        except ValueError as error:
            self.predictions = []
            self.answer.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"
            self.chart.clear_output()
            return
        filled = html.escape(fill_blanks(text, self.predictions, self.mask_token))
        self.answer.value = f"best guesses: <b>{filled}</b>"
        show_in(self.chart, self.figure)

    def figure(self) -> plt.Figure:
        """One bar chart per blank: the guesses and their probabilities."""
        if not self.predictions:
            raise ValueError("nothing to draw: the text was not accepted")
        n = len(self.predictions)
        top = max(len(guesses) for guesses in self.predictions)
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 0.35 * top + 1.4), squeeze=False)
        for number, (ax, guesses) in enumerate(
            zip(axes[0], self.predictions, strict=True), start=1
        ):
            tokens = [token for token, _ in guesses]
            probs = np.array([p for _, p in guesses])
            probability_bars(probs, tokens, top=len(tokens), title=f"blank {number}", ax=ax)
            ax.set_ylabel("guess" if number == 1 else "")
        fig.suptitle(f"{self.title}: {self.text.value}", fontsize=10)
        fig.tight_layout()
        return fig

    def _ipython_display_(self) -> None:
        display(self.widget)
