"""Interactive panels (ipywidgets) that take plain callables, so they work with any model.

A panel never imports a framework: it is given ``next_token_probs(prompt) -> logits (V,)`` style
callables and NumPy arrays, and it redraws with matplotlib. Every panel is a :class:`Panel`: a bad
input (a ``ValueError`` from the model or the panel's own checks) is shown in the panel's message
area, the output drawn from the previous input is cleared, and the next valid input redraws it.
Displayed, a panel's output holds the live widget and, beside it in the same mime bundle, a static
view (HTML, and a PNG of its figure) that a viewer without widget JavaScript shows instead.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from traitlets import TraitError

from . import checks
from .plots import probability_bars
from .sampling import next_token_probs


def readable(text: str) -> str:
    """``text`` as a browser or matplotlib can draw it: surrogate pairs joined into one character,
    lone surrogates (``"\\ud800"``, which neither can encode) shown as U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _shortened(text: str, limit: int = 80) -> str:
    text = readable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ending(text: str, limit: int = 80) -> str:
    """The last ``limit`` characters of ``text``, readable (a prompt's end is what matters)."""
    text = readable(text)
    return text if len(text) <= limit else "…" + text[1 - limit :]


def _field(label: str, text: str) -> str:
    """One labelled line of a static view: the text escaped, in a code font."""
    return f"<div>{label}: <code>{html.escape(text)}</code></div>"


STATIC_PNG_BYTES = 100_000  # a static view's figure stays under this many bytes when it can


def error_html(error: Exception) -> str:
    """An error's own message, HTML-escaped, in red."""
    return f"<span style='color:#b00'>{html.escape(readable(str(error)))}</span>"


class Chart(widgets.Output):
    """An output area holding one matplotlib figure at a time; :attr:`shown` is that figure."""

    shown: plt.Figure | None = None

    def show(self, make_figure: Callable[[], plt.Figure]) -> None:
        """Replace the figure with a new one from ``make_figure()``.

        The figure is built before the area is touched (an error leaves it to the panel to clear)
        and closed once shown, so it appears in the chart only, not again below the cell.
        """
        figure = make_figure()
        try:
            with self:
                self.clear_output(wait=True)
                display(figure)
        finally:
            plt.close(figure)
        self.shown = figure

    def clear(self) -> None:
        """Remove the figure."""
        self.clear_output()
        self.shown = None


class Panel:
    """What every panel shares: a message area, a slot for a static view, and the one wrapper that
    every observer runs through.

    A subclass builds its controls, registers them with :meth:`watch` (or a button with
    :meth:`on_click`), places :attr:`message` and :attr:`static` in its :attr:`widget`, draws in
    :meth:`render` and blanks that drawing in :meth:`clear`. :meth:`attempt` turns a
    ``ValueError`` (a bad input) into a message and a cleared panel, so no observer raises it;
    any other exception is a bug and propagates.
    """

    controls: tuple[str, ...] = ()  # the widgets :meth:`set` may move, by attribute name

    def __init__(self) -> None:
        self.message = widgets.HTML()
        self.static = widgets.Box()  # a static view: what a reader sees where widgets do not run
        self.static_view: str | bytes | None = None
        self._hold = False

    def attempt(self, action: Callable[..., None], *args) -> bool:
        """Run ``action(*args)``: on a ``ValueError`` clear the stale output and show the error's
        message instead. Returns whether the action succeeded.

        The message is cleared before the action runs, so an action that runs another one (a
        button that types into a watched box) keeps the inner action's message.
        """
        self.message.value = ""
        try:
            action(*args)
        except ValueError as error:
            self.clear()
            self.message.value = error_html(error)
            return False
        return True

    def watch(self, controls: Iterable[widgets.ValueWidget], action: Callable[[], None]) -> None:
        """Run ``action`` through :meth:`attempt` whenever a control changes value (not while
        :meth:`set` moves several)."""

        def observer(_change) -> None:
            if not self._hold:
                self.attempt(action)

        for control in controls:
            control.observe(observer, names="value")

    def on_click(self, button: widgets.Button, action: Callable[..., None], *args) -> None:
        """Run ``action(*args)`` through :meth:`attempt` when ``button`` is clicked."""
        button.on_click(lambda _button: self.attempt(action, *args))

    def update(self) -> bool:
        """Redraw everything from the current controls; returns whether the input was accepted."""
        return self.attempt(self.render)

    def set(self, **values) -> None:
        """Move several controls at once (``panel.set(temperature=0.7, top_k=5)``), redrawing once."""
        self._assign(values)
        self.attempt(self.refresh, set(values))

    def _check_names(self, values: dict) -> None:
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown controls {unknown}; this panel has {list(self.controls)}")

    def _assign(self, values: dict) -> None:
        """Give controls new values (by attribute name) without running their observers."""
        self._check_names(values)
        self._hold = True
        try:
            for name, value in values.items():
                try:
                    getattr(self, name).value = value
                except TraitError as error:  # a value of the wrong type, an unknown option
                    raise ValueError(f"{name}: {error}") from None
        finally:
            self._hold = False

    def refresh(self, changed: set[str]) -> None:
        """Redraw after :meth:`set` moved the ``changed`` controls (by default: :meth:`render`)."""
        self.render()

    def render(self) -> None:
        """Draw from the current controls, raising ``ValueError`` for an input it cannot show."""

    def clear(self) -> None:
        """Blank what the previous input drew (the figure, the text), after a refused input."""

    def set_static_view(self, view: str | bytes | None) -> None:
        """Show a static view in the panel's slot: HTML text, PNG bytes, or None for nothing."""
        if view is None:
            children = ()
        elif isinstance(view, str):
            children = (widgets.HTML(view),)
        elif isinstance(view, bytes):
            children = (widgets.Image(value=view, format="png"),)
        else:
            raise TypeError(f"view must be HTML text, PNG bytes or None, got {type(view).__name__}")
        self.static.children = children
        self.static_view = view

    def describe(self) -> str:
        """What the panel shows now, in a few words (the output's ``text/plain``)."""
        return ""

    def static_html(self) -> str:
        """The panel's current text as HTML, escaped (no figure): the static view's body."""
        return ""

    def static_png(self, dpi: int = 80) -> bytes | None:
        """The figure the panel shows now as PNG bytes, or None when it shows none. Drawn at
        ``dpi`` (lower for a big figure) in 256 colours, so that it stays under about 100 KB."""
        from PIL import Image  # matplotlib's own dependency

        figure = getattr(getattr(self, "chart", None), "shown", None)
        if figure is None:
            return None
        for scale in (1.0, 0.7, 0.5):
            drawn, buffer = io.BytesIO(), io.BytesIO()
            figure.savefig(drawn, format="png", dpi=round(dpi * scale), bbox_inches="tight")
            image = Image.open(drawn).convert("RGB")  # a figure is a few flat colours: a palette
            image.quantize(256, method=Image.Quantize.FASTOCTREE).save(buffer, "png", optimize=True)
            if buffer.tell() <= STATIC_PNG_BYTES:
                break
        return buffer.getvalue()

    def static_bundle(self) -> dict[str, str]:
        """The static view as mime entries: ``text/plain`` (what this is), ``text/html`` (the
        text, the error message if any, and the figure) and ``image/png`` (the figure, base64).
        A view given to :meth:`set_static_view` replaces the panel's own text or figure."""
        name = type(self).__name__
        about = self.describe()
        plain = f"{name}{': ' + about if about else ''} (interactive: run the notebook to use it)"
        body = self.static_view if isinstance(self.static_view, str) else self.static_html()
        png = self.static_view if isinstance(self.static_view, bytes) else self.static_png()
        parts = [
            f"<div style='color:#666;font-size:12px'>A snapshot of the interactive "
            f"<code>{name}</code>: run the notebook to use it.</div>",
            body,
            self.message.value,
        ]
        bundle = {"text/plain": plain}
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<img src='data:image/png;base64,{bundle['image/png']}' alt='{name} figure'>"
            )
        bundle["text/html"] = "<div class='lessonkit-static'>" + "".join(parts) + "</div>"
        return bundle

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live widget's view (``application/vnd.jupyter.widget-view+json``) and the static
        view beside it: a running kernel's frontend ranks the widget first and shows only it; a
        viewer without widget JavaScript (GitHub, an HTML export) shows the HTML or the PNG."""
        live = getattr(self.widget, "_repr_mimebundle_", None)  # None once the widget is closed
        bundle = dict(live() or {}) if callable(live) else {}
        bundle.update(self.static_bundle())
        return {
            kind: value
            for kind, value in bundle.items()
            if (not include or kind in include) and not (exclude and kind in exclude)
        }


class SamplingControls:
    """The temperature, top-k and top-p sliders of every panel that samples, with one meaning:
    temperature 0 is greedy, top-k 0 and top-p 1 are off, top-k reaches the vocabulary size."""

    def __init__(self, vocab_size: int, top_k: int = 0, style=None, layout=None):
        vocab_size = checks.count(vocab_size, "vocab_size", minimum=1)
        top_k = checks.count(top_k, "top_k")
        options = {"style": style or {}, "layout": layout or widgets.Layout()}
        self.temperature = widgets.FloatSlider(
            value=1.0, min=0.0, max=2.0, step=0.05, description="temperature", **options
        )
        self.top_k = widgets.IntSlider(
            value=min(top_k, vocab_size), min=0, max=vocab_size, description="top-k (0: off)",
            **options,
        )  # fmt: skip
        self.top_p = widgets.FloatSlider(
            value=1.0, min=0.05, max=1.0, step=0.05, description="top-p (1: off)", **options
        )

    @property
    def sliders(self) -> tuple[widgets.FloatSlider, widgets.IntSlider, widgets.FloatSlider]:
        return self.temperature, self.top_k, self.top_p

    def settings(self) -> dict:
        """The sampler's arguments: ``temperature``, ``top_k`` and ``top_p`` (None when off)."""
        return {
            "temperature": self.temperature.value,
            "top_k": self.top_k.value or None,
            "top_p": self.top_p.value if self.top_p.value < 1 else None,
        }

    def describe(self) -> str:
        """The settings that are on, for a figure's title: ``"temperature=0.7, top_k=5"``."""
        return ", ".join(f"{k}={v}" for k, v in self.settings().items() if v is not None)


class SamplingPanel(Panel):
    """Temperature, top-k and top-p sliders, a live bar chart of the next-token distribution,
    and a freshly sampled passage.

    ``logits_fn(prompt) -> (V,)`` scores the token after ``prompt``; ``sample_fn(prompt,
    temperature, top_k, top_p, seed) -> str`` continues it. ``labels`` name the V tokens.
    """

    controls = ("prompt", "temperature", "top_k", "top_p", "seed")

    def __init__(
        self,
        logits_fn: Callable[[str], np.ndarray],
        sample_fn: Callable[..., str],
        labels: Sequence[str],
        prompt: str = "play",
        top: int = 12,
    ):
        super().__init__()
        self.logits_fn, self.sample_fn, self.labels = logits_fn, sample_fn, list(labels)
        self.top = checks.count(top, "top", minimum=1)
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="380px")
        self.prompt = widgets.Text(value=prompt, description="prompt", style=style, layout=layout)
        self.sampling = SamplingControls(len(self.labels), style=style, layout=layout)
        self.temperature, self.top_k, self.top_p = self.sampling.sliders
        self.seed = widgets.BoundedIntText(
            value=0, min=0, max=2**32 - 1, description="seed", style=style,
            layout=widgets.Layout(width="200px"),
        )  # fmt: skip
        self.resample = widgets.Button(description="sample again")
        self.chart = Chart()
        self.passage = widgets.Textarea(
            layout=widgets.Layout(width="640px", height="150px"), disabled=True
        )
        self.probs: np.ndarray | None = None
        self.text = ""
        self.watch((self.prompt, *self.sampling.sliders, self.seed), self.render)
        self.on_click(self.resample, self.bump_seed)
        controls = widgets.VBox(
            [self.prompt, *self.sampling.sliders, widgets.HBox([self.seed, self.resample]),
             self.message]
        )  # fmt: skip
        self.widget = widgets.VBox(
            [widgets.HBox([controls, self.chart]), self.passage, self.static]
        )
        self.update()

    def bump_seed(self) -> None:
        """A new passage with the same settings (the seed wraps around at its maximum)."""
        self.seed.value = (self.seed.value + 1) % (self.seed.max + 1)  # triggers render()

    def settings(self) -> dict:
        return self.sampling.settings()

    def render(self) -> None:
        """Recompute the distribution and the passage from the current controls."""
        settings = self.settings()
        probs = next_token_probs(self.logits_fn(self.prompt.value), **settings)
        if probs.shape != (len(self.labels),):
            raise ValueError(
                f"logits_fn gave scores of shape {probs.shape} for {len(self.labels)} labels"
            )
        text = self.sample_fn(self.prompt.value, seed=self.seed.value, **settings)
        self.probs, self.text = probs, text
        self.chart.show(self.figure)
        self.passage.value = readable(self.prompt.value + text)

    def clear(self) -> None:
        self.probs, self.text = None, ""
        self.chart.clear()
        self.passage.value = ""

    def describe(self) -> str:
        return f"sampling after {_ending(self.prompt.value, 40)!r} ({self.sampling.describe()})"

    def static_html(self) -> str:
        passage = _ending(self.prompt.value, 200) + readable(self.text)
        return (
            _field("prompt", _ending(self.prompt.value))
            + _field("settings", self.sampling.describe())
            + f"<pre style='white-space:pre-wrap'>{html.escape(passage)}</pre>"
        )

    def figure(self) -> plt.Figure:
        """The current bar chart as a figure, titled with the settings that shaped it."""
        if self.probs is None:
            raise ValueError("nothing to draw: the prompt was not accepted")
        return probability_bars(
            self.probs,
            [readable(label) for label in self.labels],
            top=self.top,
            title=f"Next token after {readable(self.prompt.value[-20:])!r}\n"
            f"({self.sampling.describe()})",
        )


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


class TokenizerPanel(Panel):
    """Type text and watch it split into coloured tokens, with each token's id and byte count.

    ``tokenizers`` is one tokenizer or a ``{name: tokenizer}`` mapping (buttons switch between
    them); each needs ``encode`` and ``token_bytes``, as the BPE tokenizers of ``lessonkit.text``.
    """

    controls = ("text", "choice")

    def __init__(self, tokenizers, text: str = "Tokenizers split text into pieces: ಕನ್ನಡ, æøå 🤖"):
        super().__init__()
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
        self.watch((self.text, self.choice), self.render)
        controls = [self.choice, self.text] if len(self.tokenizers) > 1 else [self.text]
        self.widget = widgets.VBox([*controls, self.message, self.output, self.static])
        self.update()

    def render(self) -> None:
        """Re-tokenize the current text with the chosen tokenizer."""
        self.output.value = token_html(self.tokenizers[self.choice.value], self.text.value)

    def clear(self) -> None:
        self.output.value = ""

    def describe(self) -> str:
        which = f" with {self.choice.value}" if self.choice.value else ""
        return f"{_shortened(self.text.value, 40)!r} split into tokens{which}"

    def static_html(self) -> str:
        which = _field("tokenizer", self.choice.value) if len(self.tokenizers) > 1 else ""
        return which + self.output.value  # token_html escapes the text


class AttentionExplorer(Panel):
    """Layer and head sliders over a model's attention maps, drawn as a labelled heatmap.

    Give ``attention_fn(text) -> (tokens, attention (L, H, T, T))`` to type any sentence (the text
    box re-runs the model), or build one from fixed arrays with :meth:`from_arrays`. The
    "average heads" box shows the mean over heads of the chosen layer.
    """

    controls = ("text", "layer", "head", "average")

    def __init__(
        self,
        attention_fn: Callable[[str], tuple[Sequence[str], np.ndarray]] | None = None,
        text: str = "",
        title: str = "Self-attention",
    ):
        super().__init__()
        self.attention_fn, self.title = attention_fn, title
        style = {"description_width": "60px"}
        self.text = widgets.Text(
            value=text, description="text", style=style, layout=widgets.Layout(width="700px")
        )
        self.layer = widgets.IntSlider(value=0, min=0, max=0, description="layer", style=style)
        self.head = widgets.IntSlider(value=0, min=0, max=0, description="head", style=style)
        self.average = widgets.Checkbox(value=False, description="average heads")
        self.chart = Chart()
        self.watch((self.layer, self.head, self.average), self.draw)
        rows = [widgets.HBox([self.layer, self.head, self.average]), self.message, self.chart]
        if attention_fn is not None:
            self.watch((self.text,), self.render)
            rows.insert(0, self.text)
        self.widget = widgets.VBox([*rows, self.static])
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
        self._store(tokens, attention)
        self.draw()

    def _store(self, tokens: Sequence[str], attention: np.ndarray) -> None:
        attention = np.asarray(attention, dtype=float)
        if (
            attention.ndim != 4
            or attention.shape[2:] != (len(tokens), len(tokens))
            or 0 in attention.shape
        ):
            raise ValueError(
                f"attention must be (layers, heads, T, T) with T = {len(tokens)} tokens and at "
                f"least one of each, got shape {attention.shape}"
            )
        self.tokens, self.attention = [readable(str(t)) for t in tokens], attention
        hold, self._hold = self._hold, True  # the new ranges may move the sliders: draw once
        try:
            self.layer.max, self.head.max = attention.shape[0] - 1, attention.shape[1] - 1
        finally:
            self._hold = hold

    def predict(self) -> None:
        """Run ``attention_fn`` on the text box's sentence and keep its maps (no drawing)."""
        if self.attention_fn is not None:
            self._store(*self.attention_fn(self.text.value))

    def render(self) -> None:
        """Re-run ``attention_fn`` on the text box's sentence and draw."""
        self.predict()
        self.draw()

    def set(self, **values) -> None:
        """Move several controls at once (``explorer.set(text="...", layer=1)``), redrawing once;
        a new text is read first, so the layer and head sliders span the new maps."""
        self._check_names(values)
        if "text" in values and self.attention_fn is not None:
            self._assign({"text": values.pop("text")})
            self.attempt(self.predict)
        super().set(**values)

    def refresh(self, changed: set[str]) -> None:
        self.draw()

    def clear(self) -> None:
        self.tokens, self.attention = [], np.zeros((1, 1, 0, 0))
        self.chart.clear()

    def describe(self) -> str:
        which = "mean of heads" if self.average.value else f"head {self.head.value}"
        return f"attention of {len(self.tokens)} tokens, layer {self.layer.value}, {which}"

    def static_html(self) -> str:
        return _field("text", _shortened(self.text.value, 200)) if self.attention_fn else ""

    def current(self) -> np.ndarray:
        """The (T, T) map the sliders point at."""
        maps = self.attention[self.layer.value]  # (H, T, T)
        return maps.mean(axis=0) if self.average.value else maps[self.head.value]

    def figure(self) -> plt.Figure:
        """The heatmap of the current layer and head, as a matplotlib figure."""
        from .plots import heatmap

        if not self.tokens:
            raise ValueError("nothing to draw: no attention maps yet")
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
        """Redraw the chosen map from the stored attention; no model call, unless the last text
        was refused (then the model runs again and says why)."""
        if self._hold:
            return
        if self.tokens:
            self.chart.show(self.figure)
        elif self.attention_fn is not None:
            self.render()


# --- Next-token explorer (Lesson 5) -------------------------------------------------------------


def _shown(token: str) -> str:
    """A token as a readable label: spaces as ␣, newlines as ↵."""
    return readable(token).replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


class NextTokenExplorer(Panel):
    """Type a prompt, see the most likely next tokens as bars, click one to append it, repeat.

    ``predict_fn(prompt) -> (logits (V,), prompt_tokens (T,), attention (L, H, T))`` runs the model
    once: the scores of the next token, the prompt's tokens as text, and what the last token
    attended to in every layer and head. It may return a fourth item, the step's trace for the
    last token (a GPT-2 twin's ``step(..., return_trace=True)`` for one row: ``scores`` and
    ``weights`` (L, H, T), ``weighted_values`` (L, H, D), ``mlp`` (L, C)); the figure then shows
    inside the step too: the chosen head's q·k scores before the softmax, its weighted sum of the
    values and the layer's MLP output. ``tokens`` are the V tokens as text (what a click
    appends); ``title`` names the model in the figure.
    The temperature, top-k and top-p sliders re-shape the bars without re-running the model (top-k
    0 is off; its slider reaches V); the layer and head sliders choose the attention drawn beside
    them.
    """

    controls = ("prompt", "temperature", "top_k", "top_p", "layer", "head")

    def __init__(
        self,
        predict_fn: Callable[[str], tuple[np.ndarray, Sequence[str], np.ndarray]],
        tokens: Sequence[str],
        prompt: str = "",
        top: int = 10,
        top_k: int = 40,
        title: str = "",
    ):
        super().__init__()
        self.predict_fn, self.tokens, self.title = predict_fn, list(tokens), title
        self.top = checks.count(top, "top", minimum=1)
        style = {"description_width": "90px"}
        self.prompt = widgets.Textarea(
            value=prompt, description="prompt", style=style, layout=widgets.Layout(width="720px")
        )
        self.sampling = SamplingControls(
            len(self.tokens), top_k, style=style, layout=widgets.Layout(width="360px")
        )
        self.temperature, self.top_k, self.top_p = self.sampling.sliders
        self.layer = widgets.IntSlider(value=0, min=0, max=0, description="layer", style=style)
        self.head = widgets.IntSlider(value=0, min=0, max=0, description="head", style=style)
        self.buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", width="900px"))
        self.chart = Chart()
        self.logits: np.ndarray | None = None
        self.prompt_tokens: list[str] = []
        self.attention = np.zeros((1, 1, 0))
        self.trace: dict[str, np.ndarray] | None = None
        self.watch((self.prompt,), self.render)
        self.watch((*self.sampling.sliders, self.layer, self.head), self.draw)
        sliders = widgets.HBox(
            [widgets.VBox(list(self.sampling.sliders)), widgets.VBox([self.layer, self.head])]
        )
        hint = widgets.HTML("<i>click a token to append it to the prompt</i>")
        self.widget = widgets.VBox(
            [self.prompt, sliders, self.message, hint, self.buttons, self.chart, self.static]
        )
        self.update()

    def settings(self) -> dict:
        return self.sampling.settings()

    def set(self, **values) -> None:
        """Move several controls at once (``explorer.set(temperature=0.7, layer=2)``), redrawing
        once; a new prompt is read first, so the layer and head sliders span the model."""
        self._check_names(values)
        if "prompt" in values:
            self._assign({"prompt": values.pop("prompt")})
            self.attempt(self.predict)
        super().set(**values)

    def refresh(self, changed: set[str]) -> None:
        self.draw()

    def render(self) -> None:
        """Run the model on the prompt and redraw."""
        self.predict()
        self.draw()

    def predict(self) -> None:
        """Run the model on the prompt (the only step that calls ``predict_fn``); no drawing."""
        logits, prompt_tokens, attention, *rest = self.predict_fn(self.prompt.value)
        logits = np.asarray(logits)
        if logits.shape != (len(self.tokens),):
            raise ValueError(
                f"predict_fn gave logits of shape {logits.shape}, expected ({len(self.tokens)},): "
                "one score per token"
            )
        attention = np.asarray(attention, dtype=float)
        if (
            attention.ndim != 3
            or attention.shape[2] != len(prompt_tokens)
            or 0 in attention.shape[:2]
        ):
            raise ValueError(
                f"attention must be (layers, heads, T) with T = {len(prompt_tokens)} prompt tokens, "
                f"got shape {attention.shape}"
            )
        trace = _check_trace(rest[0], attention.shape) if rest else None
        self.logits, self.prompt_tokens, self.attention = logits, list(prompt_tokens), attention
        self.trace = trace
        hold, self._hold = self._hold, True  # the new ranges may move the sliders: draw once
        try:
            self.layer.max, self.head.max = attention.shape[0] - 1, attention.shape[1] - 1
        finally:
            self._hold = hold

    def clear(self) -> None:
        self.logits, self.prompt_tokens, self.attention = None, [], np.zeros((1, 1, 0))
        self.trace = None
        self.buttons.children = ()
        self.chart.clear()

    def describe(self) -> str:
        return f"the next token after {_ending(self.prompt.value, 40)!r}"

    def static_html(self) -> str:
        return _field("prompt", _ending(self.prompt.value, 300)) + _field(
            "settings", self.sampling.describe()
        )

    def probs(self) -> np.ndarray:
        """The distribution the sliders give, (V,)."""
        if self.logits is None:
            raise ValueError("no scores yet: the prompt was not accepted")
        return next_token_probs(self.logits, **self.settings())

    def append(self, token_id: int) -> None:
        """Add one token to the prompt (what clicking its button does); the model runs again."""
        token_id = checks.count(token_id, "token_id")
        if token_id >= len(self.tokens):
            raise ValueError(f"token_id must be below the vocabulary size {len(self.tokens)}")
        self.prompt.value += self.tokens[token_id]

    def draw(self) -> None:
        """New buttons and figure from the stored scores: no model call, unless the last prompt
        was refused (then the model runs again and says why)."""
        if self._hold:
            return
        if self.logits is None:
            self.render()
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
        self.chart.show(self.figure)

    def figure(self) -> plt.Figure:
        """The bars of the next token beside the attention of the last prompt token; with a
        trace, below them what happened inside the step for the chosen layer and head."""
        probs = self.probs()
        height = 0.3 * min(self.top, len(probs)) + 1.8
        if self.trace is None:
            fig, (bars, attention) = plt.subplots(1, 2, figsize=(11, height))
        else:
            fig, axes = plt.subplots(2, 2, figsize=(11, height + 3.4),
                                     gridspec_kw={"height_ratios": [height, 3.4]})  # fmt: skip
            (bars, attention), (scores, inside) = axes
            self._draw_trace(scores, inside)
        last = _shown(self.prompt_tokens[-1]) if self.prompt_tokens else ""
        probability_bars(
            probs,
            [_shown(t) for t in self.tokens],
            top=self.top,
            title=f"Next token after '…{last}' ({self.sampling.describe()})",
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
            fig.suptitle(readable(self.title))
        fig.tight_layout()
        return fig

    def _draw_trace(self, scores_ax, inside_ax) -> None:
        """The chosen head's scaled q·k scores of the last token (what the softmax turns into
        the attention weights), its weighted sum of the values, and the layer's MLP output."""
        layer, head = self.layer.value, self.head.value
        scores = self.trace["scores"][layer, head]  # (T,)
        recent = slice(max(0, len(scores) - 20), None)
        labels = [f"{i}: {_shown(t)}" for i, t in enumerate(self.prompt_tokens)][recent]
        scores_ax.barh(range(len(labels)), scores[recent], color="tab:purple")
        scores_ax.set_yticks(range(len(labels)), labels)
        scores_ax.invert_yaxis()
        scores_ax.set(
            title=f"Scores q·k/√d before the softmax: layer {layer}, head {head}",
            xlabel="score",
            ylabel="prompt token",
        )
        scores_ax.title.set_fontsize(9)
        values = self.trace["weighted_values"][layer, head]  # (D,)
        mlp = self.trace["mlp"][layer]  # (C,)
        inside_ax.plot(values, label=f"head {head}: weights · values ({len(values)} numbers)")
        inside_ax.plot(
            mlp[: len(values)],
            label=f"layer {layer}: MLP output (first {len(values)} of {len(mlp)})",
        )
        inside_ax.set(title="What the head passes on, what the MLP adds",
                      xlabel="dimension", ylabel="value")  # fmt: skip
        inside_ax.title.set_fontsize(9)
        inside_ax.legend(fontsize=8)


def _check_trace(trace, attention_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """A one-row step trace as float arrays, checked against the attention's (L, H, T)."""
    if not isinstance(trace, dict):
        raise ValueError(f"the trace must be a dict of arrays, got {type(trace).__name__}")
    L, H, T = attention_shape
    found = {}
    for key, expected in (("scores", (L, H, T)), ("weights", (L, H, T))):
        found[key] = np.asarray(trace.get(key), dtype=float)
        if found[key].shape != expected:
            raise ValueError(f"trace[{key!r}] must be {expected}, got {found[key].shape}")
    for key, leading in (("weighted_values", (L, H)), ("mlp", (L,))):
        found[key] = np.asarray(trace.get(key), dtype=float)
        if found[key].shape[: len(leading)] != leading or found[key].ndim != len(leading) + 1:
            raise ValueError(f"trace[{key!r}] must start with {leading}, got {found[key].shape}")
    return found


# --- Seq2seq "Try it" panel (Lesson 2) ----------------------------------------------------------


class TranslationPanel(Panel):
    """Type a text, see a seq2seq model's answer and its alignment heatmap update.

    ``translate_fn(text) -> (answer, alignment (T_out, S), source_chars, output_chars)``: any model,
    any framework (Lesson 2 passes ``model.translate``). Bad input (a ``ValueError``) is shown as a
    message instead of an answer.
    """

    controls = ("text",)

    def __init__(
        self,
        translate_fn: Callable[[str], tuple[str, np.ndarray, Sequence[str], Sequence[str]]],
        text: str = "we finally met on the 3rd of March, 1998, just after lunch",
        title: str = "Where the decoder looked",
    ):
        super().__init__()
        self.translate_fn, self.title = translate_fn, title
        self.text = widgets.Text(
            value=text,
            description="input",
            continuous_update=False,
            style={"description_width": "50px"},
            layout=widgets.Layout(width="700px"),
        )
        self.answer = widgets.HTML()
        self.chart = Chart()
        self.watch((self.text,), self.render)
        self.widget = widgets.VBox([self.text, self.message, self.answer, self.chart, self.static])
        self.result: tuple[str, np.ndarray, list[str], list[str]] | None = None
        self.update()

    def render(self) -> None:
        """Re-run ``translate_fn`` on the box's text and redraw."""
        answer, alignment, source, output = self.translate_fn(self.text.value)
        alignment, source, output = np.asarray(alignment, dtype=float), list(source), list(output)
        if alignment.shape != (len(output), len(source)):
            raise ValueError(
                f"the alignment must be (output characters, input characters) = "
                f"({len(output)}, {len(source)}), got shape {alignment.shape}"
            )
        self.result = (str(answer), alignment, source, output)
        self.answer.value = f"answer: <b><code>{html.escape(readable(str(answer)))}</code></b>"
        self.chart.show(self.figure)

    def clear(self) -> None:
        self.result = None
        self.answer.value = ""
        self.chart.clear()

    def describe(self) -> str:
        answer = f" -> {_shortened(self.result[0], 40)!r}" if self.result else ""
        return f"{_shortened(self.text.value, 40)!r}{answer}"

    def static_html(self) -> str:
        return _field("input", _shortened(self.text.value, 200)) + self.answer.value

    def figure(self) -> plt.Figure:
        """The current alignment heatmap."""
        from .plots import alignment_heatmap

        if self.result is None:
            raise ValueError("no answer to draw: the input was not accepted")
        answer, alignment, source, output = self.result
        return alignment_heatmap(
            alignment,
            [readable(c) for c in source],
            [readable(c) for c in output],
            title=f"{readable(self.title)}: {_shortened(answer)}",
        )


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


class FillInTheBlank(Panel):
    """Type a sentence with ``[MASK]`` blanks; see a masked language model's best guesses for each.

    ``fill_fn(text) -> [[(token, probability), ...] per [MASK], in order]``, best guess first: any
    model, any framework (Lesson 4 wraps its tiny BERT). The panel shows the sentence with every
    blank filled by the best guess and one bar chart per blank; bad input (no blank, a text the
    model cannot read: a ``ValueError``) is shown as a message.
    """

    controls = ("text",)

    def __init__(
        self,
        fill_fn: Callable[[str], Sequence[Sequence[tuple[str, float]]]],
        text: str = "to be , or not to [MASK] : that is the question .",
        title: str = "Masked language model",
        mask_token: str = MASK_TOKEN,
    ):
        super().__init__()
        self.fill_fn, self.title, self.mask_token = fill_fn, title, mask_token
        self.text = widgets.Text(
            value=text,
            description="text",
            continuous_update=False,
            style={"description_width": "50px"},
            layout=widgets.Layout(width="700px"),
        )
        hint = widgets.HTML(f"<i>write {html.escape(mask_token)} where a word is missing</i>")
        self.answer = widgets.HTML()
        self.chart = Chart()
        self.watch((self.text,), self.render)
        self.widget = widgets.VBox(
            [self.text, hint, self.message, self.answer, self.chart, self.static]
        )
        self.predictions: list[list[tuple[str, float]]] = []
        self.update()

    def render(self) -> None:
        """Ask the model about the box's text and redraw."""
        text = self.text.value
        if self.mask_token not in text:  # the model is not asked
            raise ValueError(f"write {self.mask_token} where a word is missing")
        self.predictions = check_fill_predictions(text, self.fill_fn(text), self.mask_token)
        filled = html.escape(readable(fill_blanks(text, self.predictions, self.mask_token)))
        self.answer.value = f"best guesses: <b>{filled}</b>"
        self.chart.show(self.figure)

    def clear(self) -> None:
        self.predictions = []
        self.answer.value = ""
        self.chart.clear()

    def describe(self) -> str:
        return f"guesses for the blanks of {_shortened(self.text.value, 40)!r}"

    def static_html(self) -> str:
        return _field("text", _shortened(self.text.value, 200)) + self.answer.value

    def figure(self, max_blanks: int = 6, max_guesses: int = 15) -> plt.Figure:
        """One bar chart per blank (the first ``max_blanks``): the best ``max_guesses`` guesses
        and their probabilities."""
        if not self.predictions:
            raise ValueError("nothing to draw: the text was not accepted")
        shown = self.predictions[:max_blanks]
        n = len(shown)
        top = min(max(len(guesses) for guesses in shown), max_guesses)
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 0.35 * top + 1.4), squeeze=False)
        for number, (ax, guesses) in enumerate(zip(axes[0], shown, strict=True), start=1):
            tokens = [readable(token) for token, _ in guesses]
            probs = np.array([p for _, p in guesses])
            probability_bars(probs, tokens, top=top, title=f"blank {number}", ax=ax)
            ax.set_ylabel("guess" if number == 1 else "")
        fig.suptitle(f"{readable(self.title)}: {_shortened(self.text.value, 120)}", fontsize=10)
        fig.tight_layout()
        return fig
