"""The twin contract: lessonkit/torch and lessonkit/tensorflow mirror each other.

A file, class, public function, public method, signature (argument names and defaults) or weight
key that exists in one twin only fails here; a checkpoint written by either twin must load in the
other with the same logits, for every model class, and every shipped checkpoint must load in both.
Methods that are each framework's own idiom (``forward`` vs ``call``, Keras' ``build`` and
``get_config``, the weight-transfer methods torch modules inherit) are not compared; ``weights.py``
is compared by its contract functions only (the Keras walker's helpers have no torch counterpart).
"""

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lessonkit"
TORCH, TF = PACKAGE / "torch", PACKAGE / "tensorflow"
IDIOMS = {"forward", "call", "build", "get_config", "from_config", "compute_output_shape",
          "state_dict", "load_state_dict", "extra_repr"}  # fmt: skip


WEIGHTS_CONTRACT = (
    "to_arrays",
    "from_arrays",
    "count_parameters",
    "save_checkpoint",
    "load_checkpoint",
)


def signature(node: ast.FunctionDef) -> str:
    """Argument names and defaults (not annotations): ``"ids, state=None, *, seed=0"``. Keras'
    ``training`` argument is the framework's idiom (torch has the module's mode) and is skipped."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    keep = [a.arg != "training" for a in positional]
    positional = [a for a, k in zip(positional, keep, strict=True) if k]
    defaults = [d for d, k in zip(defaults, keep, strict=True) if k]
    parts = [
        a.arg + ("" if d is None else "=" + ast.unparse(d))
        for a, d in zip(positional, defaults, strict=True)
    ]
    if args.vararg:
        parts.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        parts.append("*")
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(a.arg + ("" if d is None else "=" + ast.unparse(d)))
    if args.kwarg:
        parts.append("**" + args.kwarg.arg)
    return ", ".join(parts)


def public_api(path: Path) -> dict[str, dict[str, str]]:
    """``{"": module functions, ClassName: its public methods}``, each name -> its signature, from
    the source without importing."""
    tree = ast.parse(path.read_text())
    api: dict[str, dict[str, str]] = {"": {}}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            api[""][node.name] = signature(node)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            api[node.name] = {
                item.name: signature(item) for item in node.body
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_") and item.name not in IDIOMS
            }  # fmt: skip
    if path.name == "weights.py":  # the contract; the Keras walker's helpers are TF's own
        return {"": {name: api[""].get(name) for name in WEIGHTS_CONTRACT}}
    return api


def test_both_twins_have_the_same_files():
    assert sorted(p.name for p in TORCH.glob("*.py")) == sorted(p.name for p in TF.glob("*.py"))


@pytest.mark.parametrize(
    "name", sorted(p.name for p in TORCH.glob("*.py") if p.name != "__init__.py")
)
def test_same_classes_functions_methods_and_signatures(name):
    torch_api, tf_api = public_api(TORCH / name), public_api(TF / name)
    assert torch_api.keys() == tf_api.keys(), f"{name}: classes differ"
    for key in torch_api:
        assert torch_api[key] == tf_api[key], f"{name}: {key or 'module functions'} differ"


def test_no_twin_file_touches_safetensors_or_checkpoint_metadata():
    """lessonkit/checkpoints.py is the one reader and writer of the file format."""
    for path in [*TORCH.glob("*.py"), *TF.glob("*.py")]:
        text = path.read_text()
        assert "safetensors" not in text, f"{path.name} mentions safetensors"
        assert "metadata" not in text, f"{path.name} handles checkpoint metadata"


def tiny_char_rnn(cell):
    from lessonkit.models.char_rnn import CharRNNConfig

    return (
        "char_rnn",
        "CharRNN",
        CharRNNConfig(vocab_size=11, d_embed=8, d_model=16, n_layers=2, cell=cell),
    )


def tiny_classifier(positions):
    from lessonkit.models.transformer import TransformerConfig

    config = TransformerConfig(
        vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=16, max_len=8, positions=positions
    )
    return "transformer", "TextClassifier", config


def tiny_gpt2():
    from lessonkit.models.gpt2 import GPT2Config

    return "gpt2", "GPT2", GPT2Config(vocab_size=11, max_len=8, d_model=8, n_heads=2, n_layers=2)


def tiny_bert(cls):
    from lessonkit.models.bert import BertConfig

    config = BertConfig(vocab_size=11, d_model=8, n_heads=2, n_layers=2, d_ff=16, max_len=8)
    return "bert", cls, config


def tiny_seq2seq(attention, bidirectional=True):
    from lessonkit.models.seq2seq import Seq2SeqConfig

    config = Seq2SeqConfig(
        d_embed=8, d_model=16, d_attn=12, attention=attention, bidirectional=bidirectional
    )
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
    tiny_seq2seq(False, bidirectional=False),  # Bahdanau et al.'s RNNencdec baseline
    tiny_seq2seq(True, bidirectional=False),
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


def _inputs(module: str, config) -> list[np.ndarray]:
    """A fixed small input for a model of ``module``: the positional arguments of its call."""
    rng = np.random.default_rng(0)
    if module == "seq2seq":
        src = rng.integers(1, config.src_vocab_size, size=(2, 7))
        return [src, rng.integers(1, config.tgt_vocab_size, size=(2, 5))]
    return [rng.integers(0, config.vocab_size, size=(2, 6))]


def _logits(model, framework: str, inputs: list[np.ndarray]) -> np.ndarray:
    """The first output of the model's call (logits, or BERT's hidden states), as NumPy."""
    if framework == "torch":
        import torch

        with torch.no_grad():
            out = model.eval()(*(torch.as_tensor(v) for v in inputs))
        first = out[0] if isinstance(out, (tuple, list)) else out
        return first.detach().cpu().numpy()
    out = model(*(np.asarray(v, dtype="int32") for v in inputs), training=False)
    first = out[0] if isinstance(out, (tuple, list)) else out
    return np.asarray(first)


def _tokenizer_for(module: str, config):
    """A tokenizer of the model's vocabulary size, so it travels in the checkpoint too."""
    from lessonkit.text import CharTokenizer, WordTokenizer

    if module == "char_rnn" and config.cell == "gru":  # a word-level model, as in the lab
        return WordTokenizer(["<unk>", *(f"w{i}" for i in range(config.vocab_size - 1))])
    if module == "char_rnn":
        return CharTokenizer([chr(97 + i) for i in range(config.vocab_size)])
    return None


TOLERANCE = 1e-5


@pytest.mark.parametrize("direction", ["torch->tensorflow", "tensorflow->torch"])
@pytest.mark.parametrize(
    "module, cls, config",
    MODELS,
    ids=lambda v: v if isinstance(v, str) else getattr(v, "cell", getattr(v, "positions", "")),
)
def test_a_checkpoint_written_by_one_twin_loads_in_the_other(
    module, cls, config, direction, tmp_path
):
    """Written by twin A (its own save_checkpoint), read by twin B (its own load_checkpoint):
    the same class, config, tokenizer and extras, and the same logits."""
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    writer, reader = direction.split("->")
    if writer == "torch":
        import torch

        torch.manual_seed(0)
    else:
        import keras

        keras.utils.set_random_seed(0)
    twin_a = importlib.import_module(f"lessonkit.{writer}.{module}")
    twin_b = importlib.import_module(f"lessonkit.{reader}.{module}")
    model = getattr(twin_a, cls)(config)
    tokenizer = _tokenizer_for(module, config)
    path = twin_a.save_checkpoint(model, tmp_path / "m.safetensors", tokenizer=tokenizer,
                                  extras={"note": "hello", "labels": ["a", "b"]})  # fmt: skip
    loaded, loaded_tokenizer, extras = twin_b.load_checkpoint(path)
    assert type(loaded).__name__ == cls and loaded.config == config
    assert extras["note"] == "hello" and extras["labels"] == ["a", "b"]
    if tokenizer is None:
        assert loaded_tokenizer is None
    else:
        assert type(loaded_tokenizer) is type(tokenizer)
        assert loaded_tokenizer.to_json() == tokenizer.to_json()
    inputs = _inputs(module, config)
    expected = _logits(model, writer, inputs)
    np.testing.assert_allclose(_logits(loaded, reader, inputs), expected, atol=TOLERANCE)


SHIPPED = sorted((PACKAGE.parent / "data" / "checkpoints").glob("*.safetensors"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_checkpoint_loads_in_both_twins_with_the_same_logits(path):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    from lessonkit.tensorflow.weights import load_checkpoint as load_tf
    from lessonkit.torch.weights import load_checkpoint as load_torch

    torch_model, torch_tokenizer, torch_extras = load_torch(path)
    tf_model, tf_tokenizer, tf_extras = load_tf(path)
    assert torch_extras == tf_extras
    assert (torch_tokenizer is None) == (tf_tokenizer is None)
    module = type(torch_model).__module__.rsplit(".", 1)[-1]
    inputs = _inputs(module, torch_model.config)
    np.testing.assert_allclose(
        _logits(tf_model, "tensorflow", inputs), _logits(torch_model, "torch", inputs), atol=1e-4
    )


@pytest.mark.parametrize(
    "module, cls, config",
    MODELS,
    ids=lambda v: v if isinstance(v, str) else getattr(v, "cell", getattr(v, "positions", "")),
)
def test_the_framework_free_shapes_are_the_twins_shapes(module, cls, config):
    """``lessonkit.models.<module>.CHECKPOINT_SHAPES`` (what a checkpoint is checked against
    before a model is built) lists exactly the torch twin's weights."""
    pytest.importorskip("torch")
    shapes = importlib.import_module(f"lessonkit.models.{module}").CHECKPOINT_SHAPES[cls](config)
    torch_model = getattr(importlib.import_module(f"lessonkit.torch.{module}"), cls)(config)
    assert shapes == {k: tuple(v.shape) for k, v in torch_model.state_dict().items()}
