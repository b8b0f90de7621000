"""Lesson 2's encoder-decoder twins against the NumPy reference, a hand count, and each other.

- both twins' AdditiveAttention == lessonkit.reference.additive_attention (same weights);
- attention weights sum to 1 over the source and are exactly 0 on padding;
- padding changes nothing: a padded row gives the logits it gives alone;
- torch and TF Seq2Seq (plain and attention) give the same logits and greedy answers on the same
  safetensors weights; the shipped torch checkpoint loads in TF;
- parameter counts == a formula written out by hand; bad input raises ValueError naming it;
- decoding leaves a torch model in the mode the caller had it in;
- the shipped attention checkpoint gets >= 99% of a sample of held-out test dates exactly right.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from lessonkit import dates, reference  # noqa: E402
from lessonkit.data import data_dir  # noqa: E402
from lessonkit.models.seq2seq import Seq2SeqConfig, attention_parameter_count  # noqa: E402

ATOL = 1e-5
TINY = {"d_embed": 8, "d_model": 16, "d_attn": 12}
SHIPPED = data_dir() / "checkpoints" / "seq2seq_dates_{}.safetensors"


@pytest.fixture(scope="module")
def pt():
    torch = pytest.importorskip("torch")
    from lessonkit.torch import seq2seq

    torch.manual_seed(0)
    return seq2seq


@pytest.fixture(scope="module")
def tfx():
    pytest.importorskip("tensorflow")
    from lessonkit.tensorflow import seq2seq

    return seq2seq


def _attention_inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(3, 16)).astype(np.float32)  # (B, C)
    keys = rng.normal(size=(3, 7, 32)).astype(np.float32)  # (B, S, 2C)
    mask = np.arange(7)[None, :] < np.array([7, 4, 1])[:, None]  # (B, S): lengths 7, 4, 1
    params = {
        "query_proj.weight": rng.normal(size=(12, 16)).astype(np.float32) / 4,
        "key_proj.weight": rng.normal(size=(12, 32)).astype(np.float32) / 6,
        "energy.weight": rng.normal(size=(1, 12)).astype(np.float32),
    }
    return query, keys, mask, params


def _check_against_reference(context, weights):
    query, keys, mask, params = _attention_inputs()
    want_context, want_weights = reference.additive_attention(
        query.astype(np.float64), keys.astype(np.float64), params, mask
    )
    np.testing.assert_allclose(np.asarray(weights), want_weights, atol=ATOL)
    np.testing.assert_allclose(np.asarray(context), want_context, atol=ATOL)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=ATOL)
    assert (np.asarray(weights)[~mask] == 0).all()  # exactly 0 on padding


def test_reference_by_hand():
    """One query, two keys, 1-wide projections: the scores are computable on paper."""
    params = {"query_proj.weight": np.array([[1.0]]), "key_proj.weight": np.array([[1.0]]),
              "energy.weight": np.array([[2.0]])}  # fmt: skip
    keys = np.array([[[0.0], [1.0]]])
    context, weights = reference.additive_attention(np.array([[0.5]]), keys, params)
    scores = 2 * np.tanh(np.array([0.5, 1.5]))
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(weights[0], expected)
    np.testing.assert_allclose(context[0], [expected[1]])


def test_torch_attention_matches_reference(pt):
    import torch

    query, keys, mask, params = _attention_inputs()
    layer = pt.AdditiveAttention(16, 32, 12)
    layer.load_state_dict({k: torch.as_tensor(v) for k, v in params.items()})
    context, weights = layer(torch.as_tensor(query), torch.as_tensor(keys), torch.as_tensor(mask))
    _check_against_reference(context.detach(), weights.detach())


def test_tf_attention_matches_reference(tfx):
    query, keys, mask, params = _attention_inputs()
    layer = tfx.AdditiveAttention(16, 32, 12)
    for name in ("query_proj", "key_proj", "energy"):
        getattr(layer, name).kernel.assign(params[f"{name}.weight"].T)
    context, weights = layer(query, keys, mask)
    _check_against_reference(context, weights)


def _batch(n=5, seed=0):
    return dates.teacher_forcing_batch(dates.load_split("validation", n, seed=seed))


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_twins_same_logits_and_greedy_answers(pt, tfx, attention, tmp_path):
    import torch

    config = Seq2SeqConfig(attention=attention, **TINY)
    torch_model = pt.Seq2Seq(config).eval()
    path = pt.save_checkpoint(torch_model, tmp_path / "tiny.safetensors")
    tf_model, _, _ = tfx.load_checkpoint(path)
    src, tgt_in, tgt_out = _batch()
    with torch.no_grad():
        want, want_loss = torch_model(
            torch.as_tensor(src), torch.as_tensor(tgt_in), torch.as_tensor(tgt_out)
        )
    got, got_loss = tf_model(src, tgt_in, tgt_out)
    np.testing.assert_allclose(np.asarray(got), want.numpy(), atol=ATOL)
    assert abs(float(got_loss) - float(want_loss)) < ATOL
    torch_ids, torch_alignment = torch_model.greedy_decode(src)
    tf_ids, tf_alignment = tf_model.greedy_decode(src)
    np.testing.assert_array_equal(tf_ids, torch_ids)
    np.testing.assert_allclose(tf_alignment, torch_alignment, atol=ATOL)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_padding_changes_nothing(pt, tfx, framework):
    """A row padded to a longer batch gives the logits it gives alone, and its attention is 0 on
    the padding and sums to 1 over its own characters."""
    import torch

    config = Seq2SeqConfig(attention=True, **TINY)
    torch_model = pt.Seq2Seq(config).eval()
    model = torch_model
    if framework == "tensorflow":
        model = tfx.Seq2Seq(config)
        model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})
    src, tgt_in, _ = _batch(4, seed=1)
    lengths = (src != dates.PAD_ID).sum(1)
    assert lengths.min() < src.shape[1]  # the batch has padding

    def run(s, t):
        if framework == "torch":
            with torch.no_grad():
                logits, attention = model.run(torch.as_tensor(s), torch.as_tensor(t))
            return logits.numpy(), attention.numpy()
        logits, attention = model.run(s, t)
        return np.asarray(logits), np.asarray(attention)

    logits, attention = run(src, tgt_in)
    for i, n in enumerate(lengths):
        alone_logits, alone_attention = run(src[i : i + 1, :n], tgt_in[i : i + 1])
        np.testing.assert_allclose(logits[i], alone_logits[0], atol=ATOL)
        np.testing.assert_allclose(attention[i, :, :n], alone_attention[0], atol=ATOL)
        assert (attention[i, :, n:] == 0).all()
        np.testing.assert_allclose(attention[i].sum(-1), 1.0, atol=ATOL)


def hand_count(config: Seq2SeqConfig) -> int:
    """Parameters written out layer by layer (torch's GRU has two biases per gate)."""
    E, C, A = config.d_embed, config.d_model, config.d_attn
    Vs, Vt = config.src_vocab_size, config.tgt_vocab_size
    context = 2 * C  # attention's c_t, or the plain model's fixed summary
    encoder = Vs * E + 2 * (3 * C * E + 3 * C * C + 2 * 3 * C)
    bridge = 2 * C * C + C
    decoder = Vt * E + (3 * C * (E + context) + 3 * C * C + 2 * 3 * C) + (Vt * (C + context) + Vt)
    attention = (A * C + A * 2 * C + A) if config.attention else 0
    return encoder + bridge + decoder + attention


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_parameter_counts(pt, tfx, framework):
    if framework == "torch":
        from lessonkit.torch.weights import count_parameters

        module = pt
    else:
        from lessonkit.tensorflow.weights import count_parameters

        module = tfx
    plain, attention = Seq2SeqConfig(attention=False), Seq2SeqConfig(attention=True)
    n_plain = count_parameters(module.Seq2Seq(plain))
    n_attention = count_parameters(module.Seq2Seq(attention))
    assert n_plain == hand_count(plain)
    assert n_attention == hand_count(attention)
    assert n_attention - n_plain == attention_parameter_count(attention)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("le 3 mars 1998 à midi", "outside the vocabulary"),
        ("1" * 101, "at most 100"),
    ],
)
def test_bad_input_raises(pt, tfx, framework, text, message):
    module = pt if framework == "torch" else tfx
    model = module.Seq2Seq(Seq2SeqConfig(**TINY))
    with pytest.raises(ValueError, match=message):
        model.translate(text)


def test_bad_source_ids_raise_naming_src(pt, tfx):
    config = Seq2SeqConfig(**TINY)
    for model in (pt.Seq2Seq(config), tfx.Seq2Seq(config)):
        for src, message in [
            (np.zeros((1, 3), np.int64), "every row"),  # padding only
            (np.array([1, 2, 3]), "src must be"),  # not (B, S)
            (np.full((1, 3), config.src_vocab_size), "src must be in"),
            (np.ones((1, 101), np.int64), "at most 100"),
        ]:
            with pytest.raises(ValueError, match=message):
                model.greedy_decode(src)


def test_translating_keeps_the_torch_models_mode(pt):
    """Decoding switches to eval mode for its own steps and gives the caller's mode back."""
    model = pt.Seq2Seq(Seq2SeqConfig(**TINY)).train()
    model.translate("3rd of March 1998")
    assert model.training
    model.eval().translate("3rd of March 1998")
    assert not model.training


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="d_model"):
        Seq2SeqConfig(d_model=0)
    with pytest.raises(ValueError, match="attention"):
        Seq2SeqConfig(attention="yes")


@pytest.fixture(scope="module")
def test_sample():
    return dates.load_split("test", 300, seed=0)


def test_shipped_attention_model_gets_held_out_dates_right(pt, tfx, test_sample):
    path = str(SHIPPED).format("attention")
    model, tokenizer, extras = pt.load_checkpoint(path)
    assert tokenizer is None and extras["test_exact_match"] >= 0.99
    sentences = [e.sentence for e in test_sample]
    predictions = model.translate_batch(sentences)
    accuracy = dates.exact_match(predictions, [e.iso for e in test_sample])
    assert accuracy >= 0.99, f"exact match {accuracy:.3f} on {len(test_sample)} test dates"
    # The same file in TensorFlow: the same answers.
    tf_model, _, _ = tfx.load_checkpoint(path)
    assert tf_model.translate_batch(sentences[:64]) == predictions[:64]


def test_shipped_plain_model_loads_in_both(pt, tfx, test_sample):
    import torch

    path = str(SHIPPED).format("plain")
    torch_model, _, extras = pt.load_checkpoint(path)
    tf_model, _, tf_extras = tfx.load_checkpoint(path)
    assert not torch_model.config.attention and tf_extras == extras
    assert isinstance(extras["test_exact_match"], float) and extras["trained"]
    assert [row[0] for row in extras["test_exact_match_by_length"]][0] == "0-19"
    src, tgt_in, _ = dates.teacher_forcing_batch(test_sample[:8])
    with torch.no_grad():
        want, _ = torch_model(torch.as_tensor(src), torch.as_tensor(tgt_in))
    got, _ = tf_model(src, tgt_in)
    np.testing.assert_allclose(np.asarray(got), want.numpy(), atol=1e-4)
