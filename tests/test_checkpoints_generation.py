"""safetensors checkpoints (no pickle) and the one generation loop, with a NumPy toy model."""

import numpy as np
import pytest

from lessonkit import checkpoints
from lessonkit.generation import generate, generate_text
from lessonkit.text import CharTokenizer


def test_write_read_round_trip_with_config_tokenizer_extras_and_float16(tmp_path):
    from lessonkit.models.char_rnn import CharRNNConfig

    arrays = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2])}
    config = CharRNNConfig(vocab_size=3, d_embed=2, d_model=4, n_layers=1)
    tokenizer = CharTokenizer(["a", "b", "c"])
    path = checkpoints.write(
        tmp_path / "m.safetensors", arrays, config, "char_rnn.Unlisted", tokenizer,
        {"labels": ["x", "y"], "accuracy": 0.5}, dtype=np.float16,
    )  # fmt: skip
    found = checkpoints.read(path)
    assert found.config == config and found.model == "char_rnn.Unlisted"
    assert found.tokenizer.chars == ["a", "b", "c"]
    assert found.extras == {"labels": ["x", "y"], "accuracy": 0.5}
    loaded = found.arrays
    assert (
        loaded["a.weight"].dtype == np.float32 and (loaded["a.weight"] == arrays["a.weight"]).all()
    )
    assert loaded["b"].dtype == arrays["b"].dtype


def test_a_file_of_another_project_or_without_our_fields_is_refused_by_name(tmp_path):
    from safetensors.numpy import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"foreign.safetensors is not a lessonkit checkpoint"):
        checkpoints.read(foreign)
    partial = tmp_path / "partial.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(partial), metadata={"format": checkpoints.FORMAT})
    with pytest.raises(ValueError, match=r"partial.safetensors has no 'config'"):
        checkpoints.read(partial)
    bad_config = tmp_path / "bad_config.safetensors"
    metadata = {"format": checkpoints.FORMAT, "config": '{"class": "Nope"}', "model": "gpt2.GPT2",
                "extras": "{}"}  # fmt: skip
    save_file({"w": np.zeros(2, np.float32)}, str(bad_config), metadata=metadata)
    with pytest.raises(ValueError, match=r"bad_config.safetensors: unknown config class 'Nope'"):
        checkpoints.read(bad_config)


def test_check_state_dict_names_every_problem():
    expected = {"w": (2, 3), "b": (3,), "u": (1,)}
    got = {"w": np.zeros((3, 2)), "b": np.zeros(3), "extra": np.zeros(1)}
    with pytest.raises(ValueError) as error:
        checkpoints.check_state_dict(expected, got)
    message = str(error.value)
    assert "missing keys ['u']" in message and "unexpected keys ['extra']" in message
    assert "w has shape (3, 2), the model expects (2, 3)" in message


def test_a_file_that_is_not_safetensors_is_rejected(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(ValueError, match="model.safetensors is not a safetensors file"):
        checkpoints.read(path)


class BigramModel:
    """A toy model: the next token depends on the last one only; it records how it was called."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)  # (V, V) logits
        self.calls = []

    def step(self, ids, state=None):
        self.calls.append(ids.shape)
        count = 0 if state is None else state
        return self.table[ids[:, -1]], count + ids.shape[1]


TABLE = np.log(np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]]))


def test_greedy_generation_follows_the_argmax_chain_and_reads_the_prompt_once():
    model = BigramModel(TABLE)
    out = generate(model, [2, 0, 0], max_new_tokens=4, temperature=0)
    assert out.tolist() == [1, 2, 0, 1]
    assert model.calls == [(1, 3), (1, 1), (1, 1), (1, 1)]


def test_generation_stops_at_stop_id_and_batches():
    out = generate(BigramModel(TABLE), [[0], [1]], max_new_tokens=5, temperature=0, stop_id=0)
    assert out.shape[0] == 2 and out[1].tolist()[:2] == [2, 0]


def test_sampled_generation_is_seeded():
    a = generate(BigramModel(TABLE), [0], 20, seed=5)
    b = generate(BigramModel(TABLE), [0], 20, seed=5)
    assert (a == b).all()


def test_generate_text_and_bad_arguments():
    tokenizer = CharTokenizer(["a", "b", "c"])
    assert generate_text(BigramModel(TABLE), tokenizer, "ca", 3, temperature=0) == "bca"
    with pytest.raises(ValueError, match="top_k"):
        generate(BigramModel(TABLE), [0], 3, top_k=4)
    with pytest.raises(ValueError, match="characters not in the vocabulary"):
        generate_text(BigramModel(TABLE), tokenizer, "abz", 3)
    with pytest.raises(ValueError, match="non-empty"):
        generate(BigramModel(TABLE), [], 3)
