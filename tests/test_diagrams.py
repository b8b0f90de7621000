"""The model pictures are computed from the config: their labels must follow it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from lessonkit import diagrams  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.models.gpt2 import GPT2Config  # noqa: E402
from lessonkit.models.seq2seq import Seq2SeqConfig  # noqa: E402
from lessonkit.models.transformer import TransformerConfig  # noqa: E402


def test_gpt2_small_stack_has_the_published_shapes():
    flow = diagrams.gpt2_flow(GPT2Config())
    shapes = flow.shapes()
    assert shapes[1] == "(T, 768)"  # after wte + wpe
    assert dict(flow.steps)["attn.c_attn (queries, keys, values)"] == "(T, 2304)"
    assert "12 × (T, 64)" in shapes and "12 × (T, T)" in shapes
    assert dict(flow.steps)["mlp.c_fc, GELU"] == "(T, 3072)"
    assert shapes[-1] == "(T, 50257)"
    assert flow.repeat[2] == 12 and "12 blocks" in flow.title


def test_the_labels_follow_any_config():
    config = GPT2Config(vocab_size=4096, max_len=256, d_model=256, n_heads=4, n_layers=6)
    flow = diagrams.gpt2_flow(config)
    assert "(T, 768)" in flow.shapes()  # c_attn: 3 x 256
    assert "4 × (T, 64)" in flow.shapes() and flow.shapes()[-1] == "(T, 4096)"
    assert flow.repeat[2] == 6
    block = diagrams.transformer_block_flow(
        TransformerConfig(vocab_size=9, d_model=64, n_heads=4, d_ff=256)
    )
    assert "4 × (T, 16)" in block.shapes() and "(T, 256)" in block.shapes()
    plain = diagrams.seq2seq_flow(Seq2SeqConfig(attention=False, bidirectional=False, d_model=32))
    assert "(32)" in plain.shapes() and "one-way GRU" in plain.title
    attention = diagrams.seq2seq_flow(Seq2SeqConfig(d_model=64))
    assert "(S, 128)" in attention.shapes() and "(S)" in attention.shapes()
    rnn = diagrams.char_rnn_flow(CharRNNConfig(vocab_size=84, d_embed=64, d_model=384, n_layers=2))
    assert rnn.shapes() == ["(B)", "(B, 64)", "(B, 384)", "(B, 384)", "(B, 84)"]


def test_every_diagram_draws():
    for flow in (
        diagrams.gpt2_flow(GPT2Config()),
        diagrams.transformer_block_flow(TransformerConfig(vocab_size=9)),
        diagrams.seq2seq_flow(Seq2SeqConfig()),
    ):
        fig = diagrams.draw_flow(flow)
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert all(shape in texts for shape in flow.shapes())
        matplotlib.pyplot.close(fig)
    fig = diagrams.draw_unrolled_rnn(CharRNNConfig(vocab_size=84), "ab")
    assert "(B, 384)" in [t.get_text() for t in fig.axes[0].texts]
    matplotlib.pyplot.close(fig)
