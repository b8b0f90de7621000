"""The shipped tiny BERT (data/checkpoints/bert_mlm_shakespeare.safetensors) and its tokenizer.

References are independent of our code: transformers' ``BertTokenizer`` on MiniLM's full
``vocab.txt`` (the cut vocabulary must tokenize the training text exactly as the full one does),
and the unigram frequencies of the text itself (the model must beat always guessing the most
frequent tokens). Both twins must load the file and give the same logits.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from lessonkit.data import data_dir, spoken_text, works
from lessonkit.models.bert import IGNORE_INDEX, mask_tokens
from lessonkit.pretrained import minilm_vocab_path

torch = pytest.importorskip("torch")
from lessonkit.torch import bert as torch_bert  # noqa: E402

CHECKPOINT = data_dir() / "checkpoints/bert_mlm_shakespeare.safetensors"


@pytest.fixture(scope="module")
def shipped():
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT} is missing: run scripts/train_bert_mlm.py")
    model, tokenizer, extras = torch_bert.load_checkpoint(CHECKPOINT)
    return model, extras, tokenizer


def test_extras_record_the_training_as_json_values(shipped):
    _, extras, _ = shipped
    assert isinstance(extras["training"], dict) and extras["training"]["seed"] == 0
    assert extras["validation_curve"][-1][0] == extras["training_steps"] > 0
    assert extras["validation_mlm_loss"] < extras["unigram_validation_loss"]  # floats, not text


def _training_text(n_chars: int) -> str:
    play = next(w.name for w in works("train") if w.genre != "poem")
    return spoken_text(play)[:n_chars]


def _validation_text(n_chars: int) -> str:
    play = next(w.name for w in works("validation") if w.genre != "poem")
    return spoken_text(play)[:n_chars]


def test_tokenizer_cuts_training_text_as_the_full_minilm_vocabulary(shipped):
    transformers = pytest.importorskip("transformers")
    try:
        vocab_path = minilm_vocab_path()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    model, _, tokenizer = shipped
    reference = transformers.BertTokenizer(str(vocab_path), do_lower_case=True)
    assert tokenizer.vocab_size == model.config.vocab_size
    text = _training_text(20_000)
    assert tokenizer.tokenize(text) == reference.tokenize(text)
    # New text may be cut into other pieces, but spells the same words and adds no [UNK].
    other = _validation_text(20_000)
    pieces = reference.tokenize(other)
    assert tokenizer.decode(tokenizer.encode(other)) == " ".join(pieces).replace(" ##", "")
    assert tokenizer.tokenize("to be or [MASK]") == ["to", "be", "or", "[MASK]"]


@torch.no_grad()
def test_model_beats_the_unigram_guess_on_masked_training_words(shipped):
    model, _, tokenizer = shipped
    ids = np.array(tokenizer.encode(_training_text(40_000)))
    counts = np.bincount(ids, minlength=tokenizer.vocab_size)
    counts[tokenizer.special_ids] = 0
    unigram_top5 = np.argsort(-counts)[:5]  # the text's own five most frequent tokens
    windows = ids[: 62 * 24].reshape(24, 62)
    framed = np.concatenate(
        [np.full((24, 1), tokenizer.cls_id), windows, np.full((24, 1), tokenizer.sep_id)], axis=1
    )
    inputs, labels = mask_tokens(
        framed, 0, tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids
    )
    logits, _ = model(torch.from_numpy(inputs))  # (B, T, V)
    selected = labels != IGNORE_INDEX
    targets = labels[selected]  # (N,)
    model_top5 = torch.topk(logits[torch.from_numpy(selected)], 5).indices.numpy()  # (N, 5)
    model_hits = (model_top5 == targets[:, None]).any(axis=1).mean()
    unigram_hits = np.isin(targets, unigram_top5).mean()
    assert selected.sum() > 150
    assert model_hits > unigram_hits + 0.08, (model_hits, unigram_hits)  # 0.26 vs 0.13


def test_both_twins_load_it_and_agree(shipped):
    pytest.importorskip("tensorflow")
    from lessonkit.tensorflow import bert as tf_bert

    model, extras, tokenizer = shipped
    tf_model, tf_tokenizer, tf_extras = tf_bert.load_checkpoint(CHECKPOINT)
    assert tf_tokenizer.vocab == tokenizer.vocab and tf_extras == extras
    batch = tokenizer.encode_batch(["my [MASK] is a king .", "o romeo , romeo !"], 16)
    with torch.no_grad():
        expected, _ = model(batch["input_ids"], attention_mask=batch["attention_mask"])
    got, _ = tf_model(batch["input_ids"], attention_mask=batch["attention_mask"], training=False)
    real = batch["attention_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(got)[real], expected.numpy()[real], atol=1e-4)
