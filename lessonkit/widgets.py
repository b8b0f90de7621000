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

from .plots import probability_bars
from .sampling import next_token_probs


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
        unknown = sorted(set(values) - {"prompt", "temperature", "top_k", "top_p", "seed"})
        if unknown:
            raise ValueError(f"unknown controls {unknown}")
        self._hold = True
        try:
            for name, value in values.items():
                getattr(self, name).value = value
        finally:
            self._hold = False
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
        with self.chart:
            self.chart.clear_output(wait=True)
            plt.show(self.figure())
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
        from IPython.display import display

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
        from IPython.display import display

        display(self.widget)
