"""Lesson 3's transformer twins against the built-in layers, the NumPy reference, and each other.

- our torch MultiHeadAttention == torch.nn.MultiheadAttention (copied weights);
- our TF MultiHeadAttention == keras.layers.MultiHeadAttention (copied weights);
- both == lessonkit.reference.multi_head_attention; encoder/decoder blocks == a NumPy pre-norm block;
- torch and TF TextClassifier give the same logits on the same weights (and through a checkpoint).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from lessonkit import masks, reference  # noqa: E402
from lessonkit.models.transformer import TransformerConfig  # noqa: E402
from lessonkit.sampling import softmax  # noqa: E402

ATOL = 1e-5
B, T, S, C, H = 2, 5, 7, 16, 4
D = C // H


@pytest.fixture(scope="module")
def pt():
    torch = pytest.importorskip("torch")
    from lessonkit.torch import transformer

    torch.manual_seed(0)
    return transformer


@pytest.fixture(scope="module")
def tfx():
    pytest.importorskip("tensorflow")
    from lessonkit.tensorflow import transformer

    return transformer


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, C)).astype(np.float32)
    memory = rng.normal(size=(B, S, C)).astype(np.float32)
    return x, memory


def _torch_params(module):
    return {k: v.detach().numpy().astype(np.float64) for k, v in module.state_dict().items()}


# Masks in our convention (True = may attend), and the shapes each test uses them at.
PAD_LENGTHS = np.array([S, 4])
KEY_PADDING = masks.padding_mask(PAD_LENGTHS)  # (B, 1, S)
CAUSAL = masks.causal_mask(T)  # (T, T)
SELF_PADDING = masks.padding_mask(np.array([T, 3]))  # (B, 1, T)


# ---------------------------------------------------------------- torch vs torch.nn.MultiheadAttention


def _torch_builtin_copy(torch, ours):
    builtin = torch.nn.MultiheadAttention(C, H, batch_first=True)
    with torch.no_grad():
        builtin.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
        )
        builtin.in_proj_bias.copy_(
            torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias])
        )
        builtin.out_proj.weight.copy_(ours.out_proj.weight)
        builtin.out_proj.bias.copy_(ours.out_proj.bias)
    return builtin.eval()


@pytest.mark.parametrize(
    "case", ["self", "self+causal", "self+padding+causal", "cross", "cross+padding"]
)
def test_torch_attention_equals_torch_builtin(pt, case):
    import torch

    ours = pt.MultiHeadAttention(C, H).eval()
    builtin = _torch_builtin_copy(torch, ours)
    x, memory = (torch.from_numpy(a) for a in _inputs())
    source = memory if case.startswith("cross") else x
    our_mask, key_padding_mask, attn_mask = None, None, None
    if "causal" in case:
        attn_mask = torch.from_numpy(~CAUSAL)  # torch: True = blocked
        our_mask = CAUSAL
    if case == "self+padding+causal":
        key_padding_mask = torch.from_numpy(~SELF_PADDING[:, 0])  # (B, T), True = padding
        our_mask = SELF_PADDING & CAUSAL
    if case == "cross+padding":
        key_padding_mask = torch.from_numpy(~KEY_PADDING[:, 0])  # (B, S)
        our_mask = KEY_PADDING
    with torch.no_grad():
        out, weights = ours(x, source, source, mask=our_mask)
        for average in (True, False):
            ref_out, ref_weights = builtin(
                x,
                source,
                source,
                key_padding_mask=key_padding_mask,
                attn_mask=attn_mask,
                need_weights=True,
                average_attn_weights=average,
            )
            np.testing.assert_allclose(out.numpy(), ref_out.numpy(), atol=ATOL)
            mine = weights.mean(dim=1) if average else weights  # (B, T, S) or (B, H, T, S)
            np.testing.assert_allclose(mine.numpy(), ref_weights.numpy(), atol=ATOL)


# ---------------------------------------------------------------- TF vs keras.layers.MultiHeadAttention


def _keras_builtin_copy(ours, x, source):
    import keras

    builtin = keras.layers.MultiHeadAttention(num_heads=H, key_dim=D)
    builtin(x, source)  # build
    arrays = ours.state_dict()
    for name, dense in (
        ("q_proj", builtin._query_dense),
        ("k_proj", builtin._key_dense),
        ("v_proj", builtin._value_dense),
    ):
        dense.kernel.assign(arrays[f"{name}.weight"].T.reshape(C, H, D))  # (C, H, D)
        dense.bias.assign(arrays[f"{name}.bias"].reshape(H, D))
    builtin._output_dense.kernel.assign(arrays["out_proj.weight"].T.reshape(H, D, C))  # (H, D, C)
    builtin._output_dense.bias.assign(arrays["out_proj.bias"])
    return builtin


@pytest.mark.parametrize(
    "case", ["self", "self+causal", "self+padding+causal", "cross", "cross+padding"]
)
def test_tensorflow_attention_equals_keras_builtin(tfx, case):
    x, memory = _inputs(1)
    source = memory if case.startswith("cross") else x
    ours = tfx.MultiHeadAttention(C, H)
    builtin = _keras_builtin_copy(ours, x, source)
    mask = {
        "self": None,
        "cross": None,
        "self+causal": CAUSAL,
        "self+padding+causal": SELF_PADDING & CAUSAL,
        "cross+padding": KEY_PADDING,
    }[case]
    out, weights = ours(x, source, source, mask=mask)
    keras_mask = (
        None if mask is None else np.broadcast_to(mask, (B, T, source.shape[1]))
    )  # Keras: (B, T, S), True = attend
    ref_out, ref_scores = builtin(
        x, source, source, attention_mask=keras_mask, return_attention_scores=True
    )
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), ref_scores.numpy(), atol=ATOL)
    if case == "self+causal":  # Keras' own causal switch agrees too
        ref_out, ref_scores = builtin(x, x, x, use_causal_mask=True, return_attention_scores=True)
        np.testing.assert_allclose(out.numpy(), ref_out.numpy(), atol=ATOL)
        np.testing.assert_allclose(weights.numpy(), ref_scores.numpy(), atol=ATOL)


# ---------------------------------------------------------------- both twins vs the NumPy reference


@pytest.mark.parametrize("mask", [None, CAUSAL, SELF_PADDING & CAUSAL, SELF_PADDING[:, None]])
def test_both_twins_equal_the_numpy_reference(pt, tfx, mask):
    import torch

    x, _ = _inputs(2)
    torch_attention = pt.MultiHeadAttention(C, H).eval()
    params = _torch_params(torch_attention)
    ref_out, ref_weights = reference.multi_head_attention(x, x, x, params, H, mask=mask)
    with torch.no_grad():
        out, weights = torch_attention(torch.from_numpy(x), mask=mask)
    np.testing.assert_allclose(out.numpy(), ref_out, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), ref_weights, atol=ATOL)
    tf_attention = tfx.MultiHeadAttention(C, H)
    tf_attention.load_state_dict({k: v.astype(np.float32) for k, v in params.items()})
    out, weights = tf_attention(x, mask=mask)
    np.testing.assert_allclose(out.numpy(), ref_out, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), ref_weights, atol=ATOL)


def test_cross_attention_twins_equal_the_reference(pt, tfx):
    import torch

    x, memory = _inputs(3)
    torch_attention = pt.MultiHeadAttention(C, H).eval()
    params = _torch_params(torch_attention)
    ref_out, ref_weights = reference.multi_head_attention(
        x, memory, memory, params, H, mask=KEY_PADDING
    )
    with torch.no_grad():
        out, weights = torch_attention(
            torch.from_numpy(x), torch.from_numpy(memory), mask=KEY_PADDING
        )
    np.testing.assert_allclose(out.numpy(), ref_out, atol=ATOL)
    tf_attention = tfx.MultiHeadAttention(C, H)
    tf_attention.load_state_dict({k: v.astype(np.float32) for k, v in params.items()})
    out, weights = tf_attention(x, memory, mask=KEY_PADDING)
    np.testing.assert_allclose(out.numpy(), ref_out, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), ref_weights, atol=ATOL)
    assert weights.shape == (B, H, T, S)
    np.testing.assert_allclose(weights.numpy()[1, :, :, 4:], 0.0)  # padded source positions


# ---------------------------------------------------------------- blocks vs a NumPy pre-norm block


def _layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _feed_forward(x, p, prefix):
    hidden = np.maximum(
        reference.linear(x, p[f"{prefix}.linear1.weight"], p[f"{prefix}.linear1.bias"]), 0
    )
    return reference.linear(hidden, p[f"{prefix}.linear2.weight"], p[f"{prefix}.linear2.bias"])


def _sub(p, prefix):
    return {k[len(prefix) + 1 :]: v for k, v in p.items() if k.startswith(prefix + ".")}


def _numpy_encoder_block(x, p, mask):
    h = _layer_norm(x, p["norm1.weight"], p["norm1.bias"])
    attended, weights = reference.multi_head_attention(h, h, h, _sub(p, "self_attn"), H, mask=mask)
    x = x + attended
    return x + _feed_forward(
        _layer_norm(x, p["norm2.weight"], p["norm2.bias"]), p, "feed_forward"
    ), weights


def _numpy_decoder_block(x, memory, p, memory_mask):
    h = _layer_norm(x, p["norm1.weight"], p["norm1.bias"])
    attended, self_weights = reference.multi_head_attention(
        h, h, h, _sub(p, "self_attn"), H, mask=CAUSAL
    )
    x = x + attended
    h = _layer_norm(x, p["norm2.weight"], p["norm2.bias"])
    attended, cross_weights = reference.multi_head_attention(
        h, memory, memory, _sub(p, "cross_attn"), H, memory_mask
    )
    x = x + attended
    x = x + _feed_forward(_layer_norm(x, p["norm3.weight"], p["norm3.bias"]), p, "feed_forward")
    return x, self_weights, cross_weights


def _randomize_norms(torch, module):
    """LayerNorm starts at weight 1, bias 0; random values make the copy of gamma/beta matter."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "norm" in name:
                parameter.copy_(torch.randn_like(parameter))


def test_encoder_block_twins_equal_numpy(pt, tfx):
    import torch

    x, _ = _inputs(4)
    block = pt.EncoderBlock(C, H, d_ff=24).eval()
    _randomize_norms(torch, block)
    p = _torch_params(block)
    mask = SELF_PADDING & CAUSAL
    expected, expected_weights = _numpy_encoder_block(x.astype(np.float64), p, mask)
    with torch.no_grad():
        out, weights = block(torch.from_numpy(x), mask)
    np.testing.assert_allclose(out.numpy(), expected, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=ATOL)
    tf_block = tfx.EncoderBlock(C, H, d_ff=24)
    assert sorted(tf_block.state_dict()) == sorted(p)
    tf_block.load_state_dict({k: v.astype(np.float32) for k, v in p.items()})
    out, weights = tf_block(x, mask=mask)
    np.testing.assert_allclose(out.numpy(), expected, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=ATOL)


def test_decoder_block_twins_equal_numpy(pt, tfx):
    import torch

    x, memory = _inputs(5)
    block = pt.DecoderBlock(C, H, d_ff=24).eval()
    _randomize_norms(torch, block)
    p = _torch_params(block)
    expected, expected_self, expected_cross = _numpy_decoder_block(
        x.astype(np.float64), memory, p, KEY_PADDING
    )
    with torch.no_grad():
        out, (self_weights, cross_weights) = block(
            torch.from_numpy(x), torch.from_numpy(memory), memory_mask=KEY_PADDING
        )
    np.testing.assert_allclose(out.numpy(), expected, atol=ATOL)
    np.testing.assert_allclose(self_weights.numpy(), expected_self, atol=ATOL)
    np.testing.assert_allclose(cross_weights.numpy(), expected_cross, atol=ATOL)
    assert np.all(np.triu(self_weights.numpy()[0, 0], k=1) == 0)  # causal: nothing from the future
    tf_block = tfx.DecoderBlock(C, H, d_ff=24)
    assert sorted(tf_block.state_dict()) == sorted(p)
    tf_block.load_state_dict({k: v.astype(np.float32) for k, v in p.items()})
    out, (self_weights, cross_weights) = tf_block(x, memory, memory_mask=KEY_PADDING)
    np.testing.assert_allclose(out.numpy(), expected, atol=ATOL)
    np.testing.assert_allclose(cross_weights.numpy(), expected_cross, atol=ATOL)


# ---------------------------------------------------------------- whole classifier, torch vs TF


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_text_classifier_twins_give_equal_logits(pt, tfx, positions, tmp_path):
    import torch

    from lessonkit.tensorflow.transformer import load_checkpoint as tf_load
    from lessonkit.text import WordTokenizer

    config = TransformerConfig(
        vocab_size=40,
        d_model=C,
        n_heads=H,
        n_layers=2,
        d_ff=24,
        max_len=12,
        dropout=0.1,
        n_classes=3,
        positions=positions,
    )
    torch_model = pt.TextClassifier(config).eval()
    _randomize_norms(torch, torch_model)
    tf_model = tfx.TextClassifier(config)
    arrays = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    assert sorted(tf_model.state_dict()) == sorted(arrays)
    assert ("position_embedding.weight" in arrays) == (positions == "learned")
    tf_model.load_state_dict(arrays)
    rng = np.random.default_rng(6)
    idx = rng.integers(0, 40, size=(3, 10))
    mask = masks.padding_mask(np.array([10, 6, 1]), length=10)[:, 0]  # (B, T)
    targets = np.array([0, 2, 1])
    with torch.no_grad():
        torch_logits, torch_loss, torch_attention = torch_model(
            torch.from_numpy(idx),
            torch.from_numpy(targets),
            mask=torch.from_numpy(mask),
            return_attention=True,
        )
    tf_logits, tf_loss, tf_attention = tf_model(idx, targets, mask=mask, return_attention=True)
    np.testing.assert_allclose(tf_logits.numpy(), torch_logits.numpy(), atol=ATOL)
    np.testing.assert_allclose(float(tf_loss), float(torch_loss), atol=ATOL)
    assert tf_attention.shape == torch_attention.shape == (3, 2, H, 10, 10)
    np.testing.assert_allclose(tf_attention.numpy(), torch_attention.numpy(), atol=ATOL)
    # Padding must not change the prediction: the padded tail is neither attended nor pooled.
    with torch.no_grad():
        short, _ = torch_model(torch.from_numpy(idx[2:, :1]))
    np.testing.assert_allclose(short.numpy()[0], torch_logits.numpy()[2], atol=ATOL)
    # A checkpoint written by the torch twin loads in TF and gives the same logits.
    tokenizer = WordTokenizer(["<unk>", *[f"w{i}" for i in range(39)]])
    path = pt.save_checkpoint(
        torch_model,
        tmp_path / "c.safetensors",
        tokenizer=tokenizer,
        extras={"labels": ["a", "b", "c"]},
    )
    reloaded, reloaded_tokenizer, extras = tf_load(path)
    assert extras["labels"] == ["a", "b", "c"] and reloaded_tokenizer.words == tokenizer.words
    np.testing.assert_allclose(reloaded(idx, mask=mask)[0].numpy(), torch_logits.numpy(), atol=ATOL)


def test_classifier_mean_pooling_and_loss_by_hand(pt):
    """With no blocks, the logits are head(norm(mean of the real tokens' embeddings + positions))."""
    import torch

    config = TransformerConfig(
        vocab_size=10, d_model=8, n_heads=2, n_layers=0, d_ff=8, max_len=6, dropout=0.0
    )
    model = pt.TextClassifier(config).eval()
    p = _torch_params(model)
    idx = np.array([[3, 1, 4, 0]])
    with torch.no_grad():
        logits, loss = model(
            torch.from_numpy(idx), torch.tensor([2]), mask=torch.tensor([[True, True, True, False]])
        )
    x = p["token_embedding.weight"][idx[0]] + p["position_embedding.weight"][:4]
    pooled = _layer_norm(x, p["norm.weight"], p["norm.bias"])[:3].mean(0)
    expected = reference.linear(pooled, p["head.weight"], p["head.bias"])
    np.testing.assert_allclose(logits.numpy()[0], expected, atol=ATOL)
    expected_loss = -np.log(softmax(expected)[2])
    assert float(loss) == pytest.approx(expected_loss, abs=ATOL)


def test_position_embeddings(pt, tfx):
    import torch

    sinusoidal = pt.SinusoidalPositionEmbedding(20, 8)
    zeros = torch.zeros(1, 20, 8)
    np.testing.assert_allclose(sinusoidal(zeros)[0].numpy(), masks.sinusoidal_positions(20, 8))
    np.testing.assert_allclose(
        tfx.SinusoidalPositionEmbedding(20, 8)(np.zeros((1, 20, 8), np.float32))[0].numpy(),
        masks.sinusoidal_positions(20, 8),
    )
    assert list(sinusoidal.state_dict()) == []  # a fixed table is not a weight
    learned = pt.LearnedPositionEmbedding(6, 8)
    np.testing.assert_allclose(
        learned(torch.zeros(2, 4, 8))[1].detach().numpy(), learned.weight[:4].detach().numpy()
    )
    for layer, x in (
        (learned, torch.zeros(1, 7, 8)),
        (tfx.LearnedPositionEmbedding(6, 8), np.zeros((1, 7, 8), np.float32)),
    ):
        with pytest.raises(ValueError, match="max_len"):
            layer(x)


def test_torch_classifier_learns_a_toy_task(pt):
    """Label = whether token 1 occurs: a few dozen Adam steps must fit it (the model can learn)."""
    import torch

    from lessonkit.torch.train import train

    rng = np.random.default_rng(0)
    config = TransformerConfig(
        vocab_size=8,
        d_model=16,
        n_heads=2,
        n_layers=1,
        d_ff=32,
        max_len=8,
        dropout=0.0,
        n_classes=2,
    )
    model = pt.TextClassifier(config)

    def batch(step):
        idx = rng.integers(2, 8, size=(32, 8))
        labels = rng.integers(0, 2, size=32)
        idx[labels == 1, rng.integers(0, 8)] = 1
        return idx, labels

    threads = torch.get_num_threads()
    # Tiny matrices: one thread is faster, above all beside TensorFlow's thread pool.
    torch.set_num_threads(1)
    try:
        history = train(model, batch, steps=60, lr=1e-2, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert np.mean(history["loss"][-10:]) < 0.3 < history["loss"][0]
    idx, labels = batch(0)
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(idx))
    assert (logits.argmax(-1).numpy() == labels).mean() > 0.9


# ---------------------------------------------------------------- bad input, both twins


def test_bad_input_raises_value_error_in_both_twins(pt, tfx):
    import torch

    for twin in (pt, tfx):
        with pytest.raises(ValueError, match="divisible"):
            twin.MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(vocab_size=10, d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="positions"):
        TransformerConfig(vocab_size=10, positions="rotary")
    x, memory = _inputs(7)
    torch_attention, tf_attention = pt.MultiHeadAttention(C, H), tfx.MultiHeadAttention(C, H)
    cases = [
        (lambda a, f: a(f(x[:, :, :8])), "d_model"),  # wrong feature size
        (lambda a, f: a(f(x), f(memory), f(memory[:, :3])), "key and value"),  # key/value mismatch
        (lambda a, f: a(f(x), f(memory[:1])), "batch"),  # batch sizes differ
        (lambda a, f: a(f(x[0])), r"\(B, T, C\)"),  # not 3-D
        (lambda a, f: a(f(x), mask=np.ones((T, T + 1), bool)), "mask"),  # mask of the wrong shape
        (
            lambda a, f: a(f(x), f(memory), mask=CAUSAL),
            "mask",
        ),  # causal (T, T) mask on a (T, S) attention
        (lambda a, f: a(f(x), mask=np.ones((3, T, T), bool)), "mask"),  # wrong batch
    ]
    for attention, convert in ((torch_attention, torch.from_numpy), (tf_attention, lambda a: a)):
        for call, message in cases:
            with pytest.raises(ValueError, match=message):
                call(attention, convert)
    config = TransformerConfig(vocab_size=10, d_model=8, n_heads=2, n_layers=1, d_ff=8, max_len=4)
    for model, convert in (
        (pt.TextClassifier(config), torch.from_numpy),
        (tfx.TextClassifier(config), lambda a: a),
    ):
        with pytest.raises(ValueError, match="max_len"):
            model(convert(np.zeros((1, 5), dtype=np.int64)))
        with pytest.raises(ValueError, match="mask"):
            model(convert(np.zeros((2, 3), dtype=np.int64)), mask=convert(np.ones((2, 4), bool)))
        with pytest.raises(ValueError, match=r"\(B, T\)"):
            model(convert(np.zeros(3, dtype=np.int64)))


def test_wrong_checkpoint_keys_are_named(pt, tfx):
    config = TransformerConfig(vocab_size=10, d_model=8, n_heads=2, n_layers=1, d_ff=8, max_len=4)
    arrays = {k: v.detach().numpy() for k, v in pt.TextClassifier(config).state_dict().items()}
    arrays["head.weight"] = arrays["head.weight"][:2]
    del arrays["norm.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['norm.bias'\].*head.weight has shape"):
        tfx.TextClassifier(config).load_state_dict(arrays)
