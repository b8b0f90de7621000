"""scripts/finetune_minilm_genre.py's shortcut: the frozen bottom layers run once, cached, and
only the top layers and the head run at each step. The reference is the whole pretrained MiniLM
run in one piece (our torch twin, itself checked against Hugging Face's BertModel): cached states
through the top layers must give its last layer, so the classifier sees exactly what fine-tuning
the whole model with its bottom layers frozen would show it.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TEXTS = [
    "Now is the winter of our discontent made glorious summer by this sun of York",
    "If music be the food of love, play on",
    "Friends, Romans, countrymen, lend me your ears; I come to bury Caesar, not to praise him.",
]


@pytest.fixture(scope="module")
def setup():
    from lessonkit.pretrained import minilm_dir, minilm_vocab_path
    from lessonkit.text import WordPieceTokenizer
    from lessonkit.torch.bert import from_pretrained

    try:
        minilm_dir()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(SCRIPTS))  # the script imports bert_transfer, beside it
        script = importlib.import_module("finetune_minilm_genre")
    tokenizer = WordPieceTokenizer.from_file(minilm_vocab_path())
    return script, from_pretrained(), tokenizer


@pytest.mark.parametrize("frozen", [4, 5])
def test_cached_bottom_layers_then_the_top_give_the_whole_model(setup, frozen):
    script, model, tokenizer = setup
    states, mask = script.frozen_states(model, tokenizer, TEXTS, frozen, batch_size=2)
    assert states.shape == (len(TEXTS), script.MAX_TOKENS, model.config.d_model)
    assert not states[~mask].any()  # padding holds zeros
    classifier = script.TopClassifier(model, frozen).eval()
    assert len(classifier.layers) == model.config.n_layers - frozen
    with torch.no_grad():
        logits, loss = classifier(torch.from_numpy(states), torch.from_numpy(mask))
        batch = tokenizer.encode_batch(TEXTS, script.MAX_TOKENS)
        keys = ("input_ids", "token_type_ids", "attention_mask")
        hidden, _ = model(*(torch.from_numpy(batch[k]) for k in keys))  # (B, T, C)
        real = torch.from_numpy(batch["attention_mask"])[:, :, None].float()
        expected = classifier.head((hidden * real).sum(1) / real.sum(1))  # (B, genres)
    assert loss is None and logits.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), atol=1e-5)


def test_fine_tuning_trains_the_top_layers_and_the_head_only(setup):
    script, model, tokenizer = setup
    data = script.frozen_states(model, tokenizer, TEXTS, 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tuned = script.fine_tune(
        model, 4, data, np.array([0, 1, 2]), lr=1e-3, head_lr=1e-2, epochs=2, batch_size=2, seed=0
    )
    for key, value in model.state_dict().items():  # the pretrained model is left as it was
        assert torch.equal(value, before[key]), key
    top = model.encoder.layer[4].attention.self.query.weight
    assert not torch.equal(tuned.layers[0].attention.self.query.weight, top)
    with pytest.raises(ValueError):
        script.fine_tune(model, 4, data, np.array([0, 1]), 1e-3, 1e-2, 1, 2, 0)


def test_the_learning_curve_figure_draws_every_row_with_error_bars():
    import matplotlib

    matplotlib.use("Agg")
    from lessonkit import plots

    rows = {"a": ([30, 100], [0.4, 0.5], [0.02, 0.01]), "b": ([30, 100], [0.5, 0.6], [0.03, 0.0])}
    fig = plots.learning_curves(rows, "Title", "labels", "accuracy", levels={"majority": 1 / 3})
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["a", "b"]  # one errorbar container a row
    assert [t.get_text() for t in ax.get_xticklabels()] == ["30", "100"]
    assert ax.get_title() == "Title" and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="'a'"):
        plots.learning_curves({"a": ([30], [0.4, 0.5], [0.1])}, "T", "x", "y")
