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
                color="white" if value < np.nanmax(matrix) / 2 else "black",
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


def matrix_image(
    matrix: np.ndarray,
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str = "value",
    cmap: str = "RdBu_r",
    symmetric: bool = True,
    figsize: tuple[float, float] = (7, 4),
) -> plt.Figure:
    """A large matrix as an image (no per-cell tick labels), e.g. a positional-encoding table.

    ``symmetric`` centres the colour scale on 0, so positive and negative values read alike.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    limit = np.abs(matrix).max() if symmetric else None
    fig, ax = plt.subplots(figsize=figsize)
    image = ax.imshow(
        matrix,
        cmap=cmap,
        aspect="auto",
        interpolation="nearest",
        vmin=-limit if symmetric else None,
        vmax=limit,
    )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(image, ax=ax, label=colorbar_label)
    fig.tight_layout()
    return fig


def attention_grid(
    attention: np.ndarray,
    x_labels: Sequence[str],
    y_labels: Sequence[str] | None = None,
    title: str = "Attention weights",
    max_labels: int = 40,
) -> plt.Figure:
    """Small multiples of attention maps: ``attention`` (L, H, T, S), one panel per layer and head.

    Rows are query positions (``y_labels``, default ``x_labels``), columns key positions. Tick
    labels are drawn when there are at most ``max_labels`` of them.
    """
    attention = np.asarray(attention, dtype=float)
    if attention.ndim != 4:
        raise ValueError(f"attention must be (layers, heads, T, S), got shape {attention.shape}")
    y_labels = list(x_labels) if y_labels is None else list(y_labels)
    n_layers, n_heads, T, S = attention.shape
    if (T, S) != (len(y_labels), len(x_labels)):
        raise ValueError(f"attention is {T}x{S}, labels give {len(y_labels)}x{len(x_labels)}")
    size = 2.6 if max(T, S) <= 20 else 3.4
    fig, axes = plt.subplots(
        n_layers, n_heads, figsize=(size * n_heads, size * n_layers + 0.6), squeeze=False
    )
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            ax.imshow(attention[layer, head], cmap="viridis", vmin=0, aspect="auto")
            ax.set_title(f"layer {layer}, head {head}", fontsize=9)
            if S <= max_labels:
                ax.set_xticks(range(S), list(x_labels), rotation=90, fontsize=6)
            else:
                ax.set_xticks([])
            if T <= max_labels and head == 0:
                ax.set_yticks(range(T), y_labels, fontsize=6)
            else:
                ax.set_yticks([])
            if layer == n_layers - 1:
                ax.set_xlabel("key (attended to)", fontsize=8)
            if head == 0:
                ax.set_ylabel("query (attending)", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def line_plot(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
) -> plt.Figure:
    """One marked line per ``name -> (x, y)``, e.g. time against sequence length."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, (x, y) in curves.items():
        ax.plot(x, y, marker="o", label=name)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def alignment_heatmap(
    alignment: np.ndarray,
    source_chars: Sequence[str],
    output_chars: Sequence[str],
    title: str = "Attention of the decoder over the input",
    ax=None,
):
    """A seq2seq alignment matrix ``alignment`` (T_out, S) as a heatmap: input characters along
    the x axis, the characters written along the y axis (as in Bahdanau et al.'s figure)."""
    alignment = np.asarray(alignment, dtype=float)
    width = min(16.0, 0.14 * len(source_chars) + 2.5)
    if ax is None:
        _, ax = plt.subplots(figsize=(width, 0.3 * len(output_chars) + 1.6))
    output_labels = [{"$": "<end>", "^": "<start>"}.get(c, c) for c in output_chars]
    heatmap(
        alignment,
        [show_char(c) for c in source_chars],
        output_labels,
        title=title,
        xlabel="input character",
        ylabel="output character",
        ax=ax,
    )
    ax.tick_params(axis="x", labelsize=8 if len(source_chars) <= 60 else 7)
    ax.images[-1].set_clim(0, 1)
    ax.figure.tight_layout()
    return ax.figure


def learning_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    levels: Mapping[str, float] | None = None,
) -> plt.Figure:
    """Accuracy against the amount of labelled data, with error bars: one line per
    ``name -> (counts, means, stds)`` on a log x axis ticked at the counts, and one horizontal
    line per ``levels`` entry ``name -> value`` (a model that does not vary with the count)."""
    fig, ax = plt.subplots(figsize=(11, 4.6))
    ticks = set()
    for name, (counts, means, stds) in curves.items():
        if not len(counts) == len(means) == len(stds):
            raise ValueError(f"{name!r}: counts, means and stds differ in length")
        ax.errorbar(counts, means, yerr=stds, marker="o", capsize=3, label=name)
        ticks.update(counts)
    for (name, value), style in zip((levels or {}).items(), ("--", "-.", ":", "-"), strict=False):
        ax.axhline(value, color="gray" if style != "-" else "black", ls=style, lw=1, label=name)
    ax.set_xscale("log")
    ax.set_xticks(sorted(ticks), [str(n) for n in sorted(ticks)])
    ax.minorticks_off()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
