"""Pictures of the models, computed from their configs: every arrow carries its tensor's shape.

Each model has a function that lists its steps, ``[(box, shape after it), ...]``, from a config
alone (no weights, no framework), and :func:`draw_flow` draws any such list as a column of boxes
joined by arrows labelled with the shapes, with the residual connections on the side. So the
diagram of GPT-2 small is drawn from ``GPT2Config()`` and that of the bundled model from its own
config, and a test checks the labels against the config. ``T`` stands for the sequence length,
``S`` for the source length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt


@dataclass
class Flow:
    """A model drawn as a column: ``steps`` are ``(box label, shape after the box)``; ``skips``
    are residual connections ``(from step, to step)``; ``repeat`` brackets steps shown once but
    run ``times`` times (a stack of blocks), as ``(first, last, times)``."""

    title: str
    steps: list[tuple[str, str]]
    skips: list[tuple[int, int]] = field(default_factory=list)
    repeat: tuple[int, int, int] | None = None

    def shapes(self) -> list[str]:
        return [shape for _, shape in self.steps]


def _shape(*dims: object) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _heads(n_heads: int, *dims: object) -> str:
    return f"{n_heads} × {_shape(*dims)}"


def gpt2_flow(config, title: str = "GPT-2") -> Flow:
    """GPT-2's stack for a :class:`lessonkit.models.gpt2.GPT2Config`: embeddings, one block
    (drawn once, run ``n_layers`` times), the final LayerNorm and the tied output."""
    C, H, D, F, V = config.d_model, config.n_heads, config.head_dim, config.d_ff, config.vocab_size
    steps = [
        ("token ids", _shape("T")),
        ("wte + wpe (token + position embedding)", _shape("T", C)),
        ("ln_1 (LayerNorm)", _shape("T", C)),
        ("attn.c_attn (queries, keys, values)", _shape("T", 3 * C)),
        ("split into heads", _heads(H, "T", D)),
        ("q·kᵀ / √d, causal mask, softmax", _heads(H, "T", "T")),
        ("weights · values", _heads(H, "T", D)),
        ("merge heads, attn.c_proj", _shape("T", C)),
        ("+ residual", _shape("T", C)),
        ("ln_2 (LayerNorm)", _shape("T", C)),
        ("mlp.c_fc, GELU", _shape("T", F)),
        ("mlp.c_proj", _shape("T", C)),
        ("+ residual", _shape("T", C)),
        ("ln_f (LayerNorm)", _shape("T", C)),
        ("· wteᵀ (tied output): logits", _shape("T", V)),
    ]
    return Flow(
        f"{title}: {config.n_layers} blocks, d_model {C}, {H} heads",
        steps,
        skips=[(1, 8), (8, 12)],
        repeat=(2, 12, config.n_layers),
    )


def transformer_block_flow(config, title: str = "Transformer encoder block") -> Flow:
    """One pre-norm encoder block of Lesson 3 for a
    :class:`lessonkit.models.transformer.TransformerConfig`."""
    C, H, F = config.d_model, config.n_heads, config.d_ff
    D = C // H
    steps = [
        ("input (embeddings + positions)", _shape("T", C)),
        ("norm1 (LayerNorm)", _shape("T", C)),
        ("q_proj, k_proj, v_proj", f"3 × {_shape('T', C)}"),
        ("split into heads", _heads(H, "T", D)),
        ("q·kᵀ / √d, mask, softmax", _heads(H, "T", "T")),
        ("weights · values", _heads(H, "T", D)),
        ("merge heads, out_proj", _shape("T", C)),
        ("+ residual", _shape("T", C)),
        ("norm2 (LayerNorm)", _shape("T", C)),
        ("feed_forward.linear1, ReLU", _shape("T", F)),
        ("feed_forward.linear2", _shape("T", C)),
        ("+ residual", _shape("T", C)),
    ]
    return Flow(f"{title}: d_model {C}, {H} heads, d_ff {F}", steps, skips=[(0, 7), (7, 11)])


def seq2seq_flow(config, title: str = "Encoder-decoder") -> Flow:
    """Lesson 2's encoder-decoder for a :class:`lessonkit.models.seq2seq.Seq2SeqConfig`: one
    decoder step, with attention or with the fixed summary."""
    E, C, Dc, V = config.d_embed, config.d_model, config.d_context, config.tgt_vocab_size
    encoder = "bidirectional GRU" if config.bidirectional else "one-way GRU"
    steps = [
        ("source characters", _shape("S")),
        ("encoder.embedding", _shape("S", E)),
        (f"encoder.rnn ({encoder}): states", _shape("S", Dc)),
    ]
    if config.attention:
        steps += [
            ("attention: v·tanh(W_s s + W_h h), softmax", _shape("S")),
            ("context c_t = weights · states", _shape(Dc)),
        ]
    else:
        steps += [("final state(s): the only context", _shape(Dc))]
    steps += [
        ("decoder.cell (GRU) on [previous character, context]", _shape(C)),
        ("decoder.head on [state, context]: next character", _shape(V)),
    ]
    kind = "with additive attention" if config.attention else "plain"
    return Flow(f"{title} ({kind}, {encoder}): one decoder step", steps)


def char_rnn_flow(config, title: str = "Character RNN") -> Flow:
    """Lesson 1's recurrent language model for a :class:`lessonkit.models.char_rnn.CharRNNConfig`,
    one time step (the same weights at every step; the state carries on)."""
    cell = config.cell.upper()
    steps = [
        ("character id x_t", _shape("B")),
        ("embedding", _shape("B", config.d_embed)),
    ]
    steps += [
        (f"rnn layer {k} ({cell}), with its state from step t-1", _shape("B", config.d_model))
        for k in range(config.n_layers)
    ]
    steps += [("head: scores for the next character", _shape("B", config.vocab_size))]
    return Flow(f"{title}: {config.n_layers} × {cell} {config.d_model}, one step", steps)


def draw_flow(flow: Flow, ax=None, width: float = 4.6):
    """Draw ``flow`` top to bottom: a box per step, the shape on each arrow, residual arrows on
    the right, and a bracket with "× n" beside repeated steps. Returns the figure."""
    n = len(flow.steps)
    if ax is None:
        _, ax = plt.subplots(figsize=(width + 2.6, 0.62 * n + 0.9))
    ax.set_xlim(-0.5, width + 2.0)
    ax.set_ylim(-n + 0.3, 1.2)
    ax.axis("off")
    ax.set_title(flow.title, fontsize=10)
    box = {"boxstyle": "round,pad=0.3", "facecolor": "#eef3fb", "edgecolor": "#4a6fa5"}
    for i, (label, shape) in enumerate(flow.steps):
        y = -i
        style = dict(box, facecolor="#fff4e0") if label.startswith("+") else box
        ax.text(width / 2, y, label, ha="center", va="center", fontsize=8.5, bbox=style)
        if i + 1 < n:
            ax.annotate("", xy=(width / 2, y - 0.72), xytext=(width / 2, y - 0.28),
                        arrowprops={"arrowstyle": "->", "color": "#333"})  # fmt: skip
        ax.text(width / 2 + 0.12, y - 0.5, shape, ha="left", va="center", fontsize=8,
                color="#a33", family="monospace")  # fmt: skip
    for start, end in flow.skips:
        ax.annotate("", xy=(width - 0.1, -end), xytext=(width - 0.1, -start - 0.2),
                    arrowprops={"arrowstyle": "->", "color": "#c77f00",
                                "connectionstyle": "bar,fraction=-0.15"})  # fmt: skip
    if flow.repeat is not None:
        first, last, times = flow.repeat
        ax.plot([-0.25, -0.35, -0.35, -0.25], [-first + 0.35, -first + 0.35, -last - 0.35,
                -last - 0.35], color="#555")  # fmt: skip
        ax.text(-0.42, -(first + last) / 2, f"× {times}", ha="right", va="center", fontsize=10)
    return ax.figure


def draw_unrolled_rnn(config, text: str = "ROMEO", ax=None):
    """Lesson 1's model unrolled over ``text``: one column per character, the layers stacked, the
    state (red) carried from each step to the next, and the shapes of one step on the left."""
    steps = char_rnn_flow(config).steps
    n_rows, n_cols = len(steps), len(text)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.0 + 1.5 * n_cols, 0.9 * n_rows + 0.8))
    box = {"boxstyle": "round,pad=0.25", "facecolor": "#eef3fb", "edgecolor": "#4a6fa5"}
    names = ["x", "emb"] + [f"{config.cell.upper()} {k}" for k in range(config.n_layers)] + ["head"]
    for row, ((_, shape), name) in enumerate(zip(steps, names, strict=True)):
        ax.text(-0.9, row, shape, ha="right", va="center", fontsize=8, color="#a33",
                family="monospace")  # fmt: skip
        for col, char in enumerate(text):
            label = repr(char)[1:-1] if row == 0 else name
            ax.text(col, row, label, ha="center", va="center", fontsize=8, bbox=box)
            if row + 1 < n_rows:
                ax.annotate("", xy=(col, row + 0.7), xytext=(col, row + 0.3),
                            arrowprops={"arrowstyle": "->", "color": "#333"})  # fmt: skip
            if 2 <= row < n_rows - 1 and col + 1 < n_cols:  # the recurrent state
                ax.annotate("", xy=(col + 0.62, row), xytext=(col + 0.38, row),
                            arrowprops={"arrowstyle": "->", "color": "tab:red"})  # fmt: skip
    for col, char in enumerate(text[1:] + "?"):
        ax.text(col, n_rows, f"→ {char!r}", ha="center", va="center", fontsize=8, weight="bold")
    ax.set_xlim(-2.4, n_cols - 0.4)
    ax.set_ylim(n_rows + 0.5, -0.6)
    ax.axis("off")
    ax.set_title(
        f"{char_rnn_flow(config).title.split(':')[0]} unrolled over {text!r}: the same weights at "
        "every step, the state (red) carried forward; each step predicts the next character",
        fontsize=9,
    )
    return ax.figure
