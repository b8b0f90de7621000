"""Matplotlib figures for the lessons. They take NumPy arrays and return the Figure.

Every figure is titled and has labelled axes; none calls ``plt.show()`` (Jupyter shows a returned
figure), so a notebook can also save it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def show_char(c: str) -> str:
    """A printable label for a character (newline and space would be invisible on an axis)."""
    return {"\n": "\\n", " ": "␣", "\t": "\\t"}.get(c, c)


def loss_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "Training loss",
    ylabel: str = "cross-entropy (nats per token)",
    smooth: int = 1,
) -> plt.Figure:
    """One line per ``name -> (steps, losses)``; ``smooth`` > 1 draws a running mean."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, (steps, losses) in curves.items():
        steps, losses = np.asarray(steps), np.asarray(losses, dtype=float)
        if smooth > 1 and len(losses) >= smooth:
            losses = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
            steps = steps[smooth - 1 :]
        ax.plot(steps, losses, label=name)
    ax.set(title=title, xlabel="training step", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def probability_bars(
    probs: np.ndarray,
    labels: Sequence[str],
    top: int = 15,
    title: str = "Next-token probabilities",
    ax=None,
):
    """Horizontal bars of the ``top`` most likely entries of ``probs`` (V,), best on top."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 1 or len(probs) != len(labels):
        raise ValueError(
            f"probs must be (V,) with one label each; got {probs.shape} and {len(labels)} labels"
        )
    order = np.argsort(-probs, kind="stable")[:top][::-1]
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 0.28 * len(order) + 1))
    ax.barh(
        [repr(labels[i])[1:-1] if labels[i] != " " else "␣ (space)" for i in order],
        probs[order],
        color="tab:blue",
    )
    ax.set(title=title, xlabel="probability", xlim=(0, 1))
    for y, i in enumerate(order):
        ax.text(min(probs[i] + 0.01, 0.85), y, f"{probs[i]:.1%}", va="center", fontsize=8)
    if fig is not None:
        fig.tight_layout()
        return fig
    return ax.figure


def heatmap(
    matrix: np.ndarray,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    ax=None,
    annotate: bool = False,
    cmap: str = "viridis",
):
    """A labelled heatmap of ``matrix`` (rows = ``y_labels``, columns = ``x_labels``)."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (len(y_labels), len(x_labels)):
        raise ValueError(
            f"matrix is {matrix.shape}, labels give ({len(y_labels)}, {len(x_labels)})"
        )
    fig = None
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(max(4, 0.35 * len(x_labels) + 2), max(3, 0.35 * len(y_labels) + 1.5))
        )
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(x_labels)), list(x_labels), rotation=90)
    ax.set_yticks(range(len(y_labels)), list(y_labels))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if annotate:
        for (r, c), value in np.ndenumerate(matrix):
            ax.text(
                c,
                r,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < matrix.max() / 2 else "black",
            )
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if fig is not None:
        fig.tight_layout()
        return fig
    return ax.figure


def recurrent_shapes() -> plt.Figure:
    """The four shapes of recurrent models, drawn as chains of cells (inputs below, outputs above)."""
    panels = [
        ("one-to-one", "a plain network: one input, one output", [("x", "y")], None),
        (
            "one-to-many",
            "image captioning: CNN features start the chain",
            [("img", "a"), ("", "dog"), ("", "runs")],
            None,
        ),
        (
            "many-to-one",
            "classification: read everything, answer once",
            [("great", ""), ("fun", ""), ("film", "+")],
            None,
        ),
        (
            "many-to-many",
            "translation: an encoder RNN, then a decoder RNN",
            [("le", ""), ("chat", ""), ("", "the"), ("", "cat")],
            2,
        ),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    for ax, (name, caption, steps, decoder_from) in zip(axes, panels, strict=True):
        for t, (x, y) in enumerate(steps):
            colour = "#9ecae1" if decoder_from is None or t < decoder_from else "#fdae6b"
            ax.add_patch(plt.Rectangle((t - 0.3, 0.8), 0.6, 0.6, color=colour, ec="k"))
            if x:
                ax.annotate("", (t, 0.8), (t, 0.35), arrowprops={"arrowstyle": "->"})
                ax.text(t, 0.2, x, ha="center", va="center", fontsize=9)
            if y:
                ax.annotate("", (t, 1.85), (t, 1.4), arrowprops={"arrowstyle": "->"})
                ax.text(t, 2.0, y, ha="center", va="center", fontsize=9, weight="bold")
            if t:
                ax.annotate(
                    "",
                    (t - 0.3, 1.1),
                    (t - 0.7, 1.1),
                    arrowprops={"arrowstyle": "->", "color": "tab:red"},
                )
        ax.set_xlim(-0.7, max(len(steps), 2) - 0.3)
        ax.set_ylim(0, 2.3)
        ax.set_title(f"{name}\n{caption}", fontsize=9)
        ax.axis("off")
    fig.suptitle(
        "Four shapes of recurrent models (boxes: RNN cells; red arrows: the state carried forward)"
    )
    fig.tight_layout()
    return fig
