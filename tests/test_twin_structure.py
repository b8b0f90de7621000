"""The twin contract: lessonkit/torch and lessonkit/tensorflow mirror each other.

A file, class, public function, public method or weight key that exists in one twin only fails
here. Methods that are each framework's own idiom (``forward`` vs ``call``, Keras' ``build`` and
``get_config``, the weight-transfer methods torch modules inherit) are not compared.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lessonkit"
TORCH, TF = PACKAGE / "torch", PACKAGE / "tensorflow"
IDIOMS = {"forward", "call", "build", "get_config", "from_config", "compute_output_shape",
          "state_dict", "load_state_dict", "extra_repr"}  # fmt: skip


def public_api(path: Path) -> dict[str, set[str]]:
    """``{"": module functions, ClassName: its public methods}`` from the source, without importing."""
    tree = ast.parse(path.read_text())
    api: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            api[""].add(node.name)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            api[node.name] = {
                item.name for item in node.body
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_") and item.name not in IDIOMS
            }  # fmt: skip
    return api


def test_both_twins_have_the_same_files():
    assert sorted(p.name for p in TORCH.glob("*.py")) == sorted(p.name for p in TF.glob("*.py"))


@pytest.mark.parametrize(
    "name", sorted(p.name for p in TORCH.glob("*.py") if p.name != "__init__.py")
)
def test_same_classes_functions_and_methods(name):
    torch_api, tf_api = public_api(TORCH / name), public_api(TF / name)
    assert torch_api.keys() == tf_api.keys(), f"{name}: classes differ"
    for key in torch_api:
        assert torch_api[key] == tf_api[key], f"{name}: {key or 'module functions'} differ"


def tiny_char_rnn(cell):
    from lessonkit.config import CharRNNConfig

    return (
        "char_rnn",
        "CharRNN",
        CharRNNConfig(vocab_size=11, d_embed=8, d_model=16, n_layers=2, cell=cell),
    )


def tiny_classifier(positions):
    from lessonkit.transformer_config import TransformerConfig

    config = TransformerConfig(
        vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=16, max_len=8, positions=positions
    )
    return "transformer", "TextClassifier", config


def tiny_gpt2():
    from lessonkit.gpt2_config import GPT2Config

    return "gpt2", "GPT2", GPT2Config(vocab_size=11, max_len=8, d_model=8, n_heads=2, n_layers=2)


def tiny_bert(cls):
    from lessonkit.bert_config import BertConfig

    config = BertConfig(vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=16, max_len=8)
    return "bert", cls, config


def tiny_seq2seq(attention):
    from lessonkit.seq2seq_config import Seq2SeqConfig

    config = Seq2SeqConfig(d_embed=8, d_model=16, d_attn=12, attention=attention)
    return "seq2seq", "Seq2Seq", config


# (module, class, config) for every twin model: the weight keys and shapes must agree.
MODELS = [
    tiny_char_rnn("lstm"),
    tiny_char_rnn("gru"),
    tiny_classifier("learned"),
    tiny_classifier("sinusoidal"),
    tiny_gpt2(),
    *(tiny_bert(cls) for cls in ("BertModel", "BertForMaskedLM")),
    tiny_seq2seq(False),
    tiny_seq2seq(True),
]


@pytest.mark.parametrize(
    "module, cls, config",
    MODELS,
    ids=lambda v: v if isinstance(v, str) else getattr(v, "cell", getattr(v, "positions", "")),
)
def test_same_weight_keys_and_shapes(module, cls, config):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    import importlib

    torch_model = getattr(importlib.import_module(f"lessonkit.torch.{module}"), cls)(config)
    tf_model = getattr(importlib.import_module(f"lessonkit.tensorflow.{module}"), cls)(config)
    torch_shapes = {k: tuple(v.shape) for k, v in torch_model.state_dict().items()}
    tf_shapes = {k: np.shape(v) for k, v in tf_model.state_dict().items()}
    assert torch_shapes == tf_shapes
