"""The char-RNN twins: same weights, same logits; both match a NumPy reference of the equations."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from lessonkit import checkpoints, data  # noqa: E402
from lessonkit.generation import generate  # noqa: E402
from lessonkit.models.char_rnn import CharRNNConfig  # noqa: E402
from lessonkit.tensorflow import char_rnn as tf_char_rnn  # noqa: E402
from lessonkit.tensorflow import train as tf_train  # noqa: E402
from lessonkit.tensorflow import weights as tf_weights  # noqa: E402
from lessonkit.text import CharTokenizer, WordTokenizer  # noqa: E402
from lessonkit.torch import char_rnn as torch_char_rnn  # noqa: E402
from lessonkit.torch import train as torch_train  # noqa: E402
from lessonkit.torch import weights as torch_weights  # noqa: E402

ATOL = 1e-5
CELLS = ["lstm", "gru"]


def tiny_config(cell: str, n_layers: int = 2, dropout: float = 0.0) -> CharRNNConfig:
    return CharRNNConfig(
        vocab_size=11, d_embed=8, d_model=16, n_layers=n_layers, cell=cell, dropout=dropout
    )


def torch_model(config: CharRNNConfig, seed: int = 0):
    torch.manual_seed(seed)
    return torch_char_rnn.CharRNN(config).eval()


def torch_logits(model, idx: np.ndarray, targets: np.ndarray | None = None):
    with torch.no_grad():
        t = None if targets is None else torch.as_tensor(targets)
        logits, loss = model(torch.as_tensor(idx), t)
    return logits.numpy(), None if loss is None else loss.item()


def tf_logits(model, idx: np.ndarray, targets: np.ndarray | None = None):
    logits, loss = model(idx, targets, training=False)
    return np.asarray(logits), None if loss is None else float(loss)


def batch(seed: int = 1, shape=(3, 17)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 11, shape), rng.integers(0, 11, shape)


def twins(cell: str, n_layers: int = 2, dropout: float = 0.0):
    """A seeded torch model and a TF model holding its weights."""
    config = tiny_config(cell, n_layers, dropout)
    pt = torch_model(config)
    tf_model = tf_weights.from_arrays(tf_char_rnn.CharRNN(config), torch_weights.to_arrays(pt))
    return pt, tf_model


# (a) torch -> TF, and the twins agree on the keys and shapes of the canonical state dict.
@pytest.mark.parametrize("cell", CELLS)
def test_torch_weights_give_the_same_logits_and_loss_in_tf(cell):
    pt, tf_model = twins(cell)
    torch_shapes = {k: v.shape for k, v in torch_weights.to_arrays(pt).items()}
    tf_shapes = {k: v.shape for k, v in tf_weights.to_arrays(tf_model).items()}
    assert tf_shapes == torch_shapes
    idx, targets = batch()
    expected, expected_loss = torch_logits(pt, idx, targets)
    logits, loss = tf_logits(tf_model, idx, targets)
    assert logits.shape == (3, 17, 11)
    np.testing.assert_allclose(logits, expected, atol=ATOL, rtol=0)
    assert loss == pytest.approx(expected_loss, abs=ATOL)


# (b) TF -> torch.
@pytest.mark.parametrize("cell", CELLS)
def test_tf_weights_give_the_same_logits_in_torch(cell):
    config = tiny_config(cell)
    keras.utils.set_random_seed(0)
    tf_model = tf_char_rnn.CharRNN(config)
    pt = torch_weights.from_arrays(torch_char_rnn.CharRNN(config), tf_weights.to_arrays(tf_model))
    idx, _ = batch()
    np.testing.assert_allclose(
        tf_logits(tf_model, idx)[0], torch_logits(pt.eval(), idx)[0], atol=ATOL, rtol=0
    )


@pytest.mark.parametrize("cell", CELLS)
def test_state_dict_round_trip_keeps_the_function(cell):
    """torch -> TF -> torch moves the LSTM's two biases into one, and changes no logit."""
    pt, tf_model = twins(cell)
    back = torch_weights.from_arrays(
        torch_char_rnn.CharRNN(pt.config), tf_weights.to_arrays(tf_model)
    ).eval()
    arrays = tf_weights.to_arrays(tf_model)
    if cell == "lstm":
        assert not arrays["rnn.bias_hh_l0"].any()
    else:  # a GRU keeps both biases, so the round trip is exact
        original = torch_weights.to_arrays(pt)
        for key, value in arrays.items():
            np.testing.assert_array_equal(value, original[key], err_msg=key)
    idx, _ = batch()
    np.testing.assert_allclose(torch_logits(back, idx)[0], torch_logits(pt, idx)[0], atol=ATOL)


# (c) a checkpoint file written by one twin loads in the other.
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("writer", ["torch", "tensorflow"])
def test_checkpoint_written_by_one_twin_loads_in_the_other(cell, writer, tmp_path):
    tokenizer = CharTokenizer.from_text("hello world")
    pt, tf_model = twins(cell)
    path = tmp_path / "char_rnn.safetensors"
    if writer == "torch":
        torch_char_rnn.save_checkpoint(pt, path, tokenizer=tokenizer, dtype=np.float32)
        loaded, loaded_tokenizer, extras = tf_char_rnn.load_checkpoint(path)
        other = tf_logits
    else:
        tf_char_rnn.save_checkpoint(tf_model, path, tokenizer=tokenizer, dtype=np.float32)
        loaded, loaded_tokenizer, extras = torch_char_rnn.load_checkpoint(path)
        other = torch_logits
    assert extras == {}
    assert loaded.config == pt.config
    assert loaded_tokenizer.to_json() == tokenizer.to_json()
    idx, _ = batch()
    np.testing.assert_allclose(other(loaded, idx)[0], torch_logits(pt, idx)[0], atol=ATOL, rtol=0)


# (d) the generation contract: a prompt, then one token per step, equals one full run.
@pytest.mark.parametrize("cell", CELLS)
def test_step_by_step_equals_one_run_in_both_twins(cell):
    pt, tf_model = twins(cell)
    idx, _ = batch(shape=(2, 12))
    full = {"torch": torch_logits(pt, idx)[0], "tensorflow": tf_logits(tf_model, idx)[0]}
    for name, model in [("torch", pt), ("tensorflow", tf_model)]:
        logits, state = model.step(idx[:, :5])
        assert logits.shape == (2, 11)
        np.testing.assert_allclose(logits, full[name][:, 4], atol=ATOL, rtol=0, err_msg=name)
        for t in range(5, 12):
            logits, state = model.step(idx[:, t : t + 1], state)
            np.testing.assert_allclose(logits, full[name][:, t], atol=ATOL, rtol=0, err_msg=name)
    if cell == "lstm":
        assert [tuple(s.shape) for s in state] == [(2, 2, 16), (2, 2, 16)]  # (h, c), torch layout
    else:
        assert tuple(state.shape) == (2, 2, 16)


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_generation_gives_the_same_tokens_in_both_twins(cell):
    pt, tf_model = twins(cell)
    prompt = [1, 2, 3, 4, 5]
    from_torch = generate(pt, prompt, 40, temperature=0)
    from_tf = generate(tf_model, prompt, 40, temperature=0)
    assert from_torch.shape == (40,)
    np.testing.assert_array_equal(from_tf, from_torch)


# (e) an independent reference: the LSTM and GRU equations of the PyTorch docs, in NumPy.
def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def numpy_char_rnn(arrays: dict[str, np.ndarray], cell: str, idx: np.ndarray) -> np.ndarray:
    """Logits (B, T, V) of a one-layer char-RNN, computed in float64 from torch-layout weights."""
    w = {k: v.astype(np.float64) for k, v in arrays.items()}
    x = w["embedding.weight"][idx]  # (B, T, d_embed)
    hidden = w["rnn.weight_hh_l0"].shape[1]
    h = np.zeros((idx.shape[0], hidden))
    c = np.zeros_like(h)
    outputs = []
    for t in range(idx.shape[1]):
        gi = x[:, t] @ w["rnn.weight_ih_l0"].T + w["rnn.bias_ih_l0"]  # (B, gates * C)
        gh = h @ w["rnn.weight_hh_l0"].T + w["rnn.bias_hh_l0"]  # (B, gates * C)
        if cell == "lstm":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:
            i_r, i_z, i_n = np.split(gi, 3, axis=1)
            h_r, h_z, h_n = np.split(gh, 3, axis=1)
            r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
            n = np.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
        outputs.append(h)
    hs = np.stack(outputs, axis=1)  # (B, T, C)
    return hs @ w["head.weight"].T + w["head.bias"]  # (B, T, V)


@pytest.mark.parametrize("cell", CELLS)
def test_both_twins_match_the_numpy_equations(cell):
    pt, tf_model = twins(cell, n_layers=1)
    idx, _ = batch()
    expected = numpy_char_rnn(torch_weights.to_arrays(pt), cell, idx)
    np.testing.assert_allclose(torch_logits(pt, idx)[0], expected, atol=ATOL, rtol=0)
    np.testing.assert_allclose(tf_logits(tf_model, idx)[0], expected, atol=ATOL, rtol=0)


def test_dropout_acts_in_training_only():
    pt, tf_model = twins("lstm", dropout=0.5)
    assert tf_model.dropout is not None
    idx, _ = batch()
    inference = tf_logits(tf_model, idx)[0]
    np.testing.assert_allclose(inference, torch_logits(pt, idx)[0], atol=ATOL, rtol=0)
    training = np.asarray(tf_model(idx, training=True)[0])
    assert np.abs(training - inference).max() > 1e-3


@pytest.mark.parametrize("cell", CELLS)
def test_both_twins_start_from_the_same_distributions(cell):
    """Fresh weights: the same spread under every key, so both twins start training alike."""
    config = CharRNNConfig(vocab_size=64, d_embed=32, d_model=64, n_layers=1, cell=cell)
    keras.utils.set_random_seed(0)
    from_torch = torch_weights.to_arrays(torch_model(config))
    from_tf = tf_weights.to_arrays(tf_char_rnn.CharRNN(config))
    if cell == "lstm":  # Keras keeps one bias: compare the sums
        for arrays in (from_torch, from_tf):
            arrays["rnn.bias_ih_l0"] = arrays["rnn.bias_ih_l0"] + arrays.pop("rnn.bias_hh_l0")
    for key, expected in from_torch.items():
        assert from_tf[key].std() == pytest.approx(expected.std(), rel=0.25), key
        assert np.abs(from_tf[key]).max() <= 1.25 * np.abs(expected).max(), key


# (f) bad input.
@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_checkpoint_with_missing_key_or_wrong_shape_names_it(framework, tmp_path):
    tokenizer = CharTokenizer.from_text("abcdefghijk")
    pt, _ = twins("lstm")
    arrays = torch_weights.to_arrays(pt)
    load = {"torch": torch_char_rnn, "tensorflow": tf_char_rnn}[framework].load_checkpoint

    def write(name, arrays):
        checkpoints.write(tmp_path / name, arrays, pt.config, "char_rnn.CharRNN", tokenizer)

    missing = {k: v for k, v in arrays.items() if k != "rnn.weight_hh_l1"}
    write("missing.safetensors", missing)
    with pytest.raises(ValueError, match=r"missing keys \['rnn.weight_hh_l1'\]"):
        load(tmp_path / "missing.safetensors")

    wrong = {**arrays, "head.bias": np.zeros(12, np.float32)}
    write("wrong.safetensors", wrong)
    with pytest.raises(ValueError, match=r"head.bias has shape \(12,\)"):
        load(tmp_path / "wrong.safetensors")


def test_from_arrays_rejects_an_unexpected_key():
    pt, tf_model = twins("gru")
    arrays = {**torch_weights.to_arrays(pt), "rnn.weight_ih_l2": np.zeros((48, 16), np.float32)}
    with pytest.raises(ValueError, match=r"unexpected keys \['rnn.weight_ih_l2'\]"):
        tf_weights.from_arrays(tf_model, arrays)


def test_idx_must_be_two_dimensional():
    pt, tf_model = twins("lstm")
    with pytest.raises(ValueError, match="idx must be"):
        pt(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="idx must be"):
        tf_model(np.zeros(5, dtype=np.int64))
    for model in (pt, tf_model):
        with pytest.raises(ValueError, match=r"ids must be \(B, T\)"):
            model.step(np.zeros((1, 2, 3), dtype=np.int64))


@pytest.mark.parametrize("bad", [-1, 11])
def test_step_refuses_ids_outside_the_vocabulary_in_both_twins(bad):
    """Before either framework sees them: no IndexError in torch, no graph error in TensorFlow,
    and no -1 silently read as the last id."""
    pt, tf_model = twins("lstm")
    for model in (pt, tf_model):
        with pytest.raises(ValueError, match=r"ids must be in \[0, 11\)"):
            model.step(np.array([[1, bad, 2]]))


def test_shipped_word_model_loads_in_tensorflow_with_its_word_tokenizer():
    """The lab's word-level checkpoint: the TF twin rebuilds whatever tokenizer the file holds."""
    model, tokenizer, _ = tf_char_rnn.load_checkpoint(
        data.data_dir() / "checkpoints" / "word_rnn.safetensors"
    )
    assert isinstance(tokenizer, WordTokenizer)
    assert model.config.vocab_size == tokenizer.vocab_size
    logits, _ = model.step(np.array([tokenizer.encode("to be or not")]))
    assert logits.shape == (1, tokenizer.vocab_size) and np.isfinite(logits).all()


def test_tf_state_dict_swaps_the_gru_gate_blocks_and_loads_back():
    """Keras orders a GRU's gates (z, r, h), torch (r, z, n): the TF model's torch-layout
    ``state_dict()`` swaps the first two blocks, and ``load_state_dict`` swaps them back."""
    pt, tf_model = twins("gru", n_layers=1)
    C = pt.config.d_model
    torch_ih = torch_weights.to_arrays(pt)["rnn.weight_ih_l0"]  # (3C, in): r, z, n
    keras_kernel = np.asarray(tf_model.rnn[0].cell.kernel)  # (in, 3C): z, r, h
    np.testing.assert_array_equal(keras_kernel[:, :C], torch_ih[C : 2 * C].T)  # z
    np.testing.assert_array_equal(keras_kernel[:, C : 2 * C], torch_ih[:C].T)  # r
    np.testing.assert_array_equal(keras_kernel[:, 2 * C :], torch_ih[2 * C :].T)  # n = h
    state = tf_model.state_dict()
    np.testing.assert_array_equal(state["rnn.weight_ih_l0"], torch_ih)
    fresh = tf_char_rnn.CharRNN(pt.config)
    fresh.load_state_dict(state)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_tf_model_rebuilds_from_its_keras_config():
    _, tf_model = twins("gru")
    clone = tf_char_rnn.CharRNN.from_config(tf_model.get_config())
    assert clone.config == tf_model.config
    assert set(clone.state_dict()) == set(tf_model.state_dict())


# The training loop: same history keys and schedule as the torch twin, and it learns.
def test_tf_training_learns_and_reports_like_the_torch_loop():
    keras.utils.set_random_seed(0)
    model = tf_char_rnn.CharRNN(tiny_config("gru", n_layers=1))
    text = np.tile(np.arange(11), 8)
    inputs = np.stack([text[i : i + 16] for i in range(0, 48, 6)])  # (8, 16)
    targets = np.stack([text[i + 1 : i + 17] for i in range(0, 48, 6)])
    before = tf_train.evaluate(model, inputs, targets, batch_size=3)
    history = tf_train.train(
        model,
        lambda step: (inputs, targets),
        steps=40,
        lr=3e-2,
        final_lr=1e-3,
        progress=False,
        eval_fn=lambda: tf_train.evaluate(model, inputs, targets, batch_size=3),
        eval_every=20,
    )
    assert set(history) == {"step", "loss", "eval_step", "eval_loss"}
    assert history["step"] == list(range(40))
    assert history["eval_step"] == [19, 39]
    assert history["eval_loss"][-1] < 0.5 * before
    assert history["eval_loss"][-1] == pytest.approx(tf_logits(model, inputs, targets)[1], rel=1e-4)
    for step in (0, 7, 39):
        assert tf_train.cosine_lr(step, 40, 3e-2, 1e-3) == torch_train.cosine_lr(
            step, 40, 3e-2, 1e-3
        )


def test_both_training_loops_follow_the_same_path():
    """Same weights, same batches: Adam, clipping and the cosine schedule agree across twins.

    Tokens repeat within a batch, so this also checks that the embedding's sparse gradient reaches
    Adam summed per row (Keras's Adam on raw IndexedSlices drifted by about 2e-4 in 10 steps).

    A GRU, because its weights are the same parameters in both twins. An LSTM's are not: torch
    trains ``bias_ih`` and ``bias_hh`` as two parameters whose Adam steps add up, Keras trains their
    sum as one, so the LSTM twins drift apart from the first update (about 1e-3 in the loss).
    """
    pt, tf_model = twins("gru", n_layers=1)
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 11, (10, 8, 17))
    get_batch = lambda step: (windows[step, :, :-1], windows[step, :, 1:])  # noqa: E731
    kwargs = dict(steps=10, lr=1e-2, final_lr=1e-3, grad_clip=0.5, progress=False)
    from_torch = torch_train.train(pt, get_batch, **kwargs)
    from_tf = tf_train.train(tf_model, get_batch, **kwargs)
    np.testing.assert_allclose(from_tf["loss"], from_torch["loss"], atol=2e-5, rtol=0)


def test_a_second_tf_training_run_starts_from_a_fresh_optimizer():
    """The TF loop keeps its traced step and Adam on the model; a second ``train`` call must zero
    Adam's moments and step count, so from the same weights it repeats the first run exactly."""
    _, model = twins("gru", n_layers=1)
    start = [v.numpy() for v in model.trainable_variables]
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 11, (6, 8, 17))
    get_batch = lambda step: (windows[step, :, :-1], windows[step, :, 1:])  # noqa: E731
    kwargs = dict(steps=6, lr=1e-2, final_lr=1e-3, progress=False)
    first = tf_train.train(model, get_batch, **kwargs)["loss"]
    for variable, value in zip(model.trainable_variables, start, strict=True):
        variable.assign(value)
    again = tf_train.train(model, get_batch, **kwargs)["loss"]
    assert first[1] != first[0]  # the weights moved between steps
    np.testing.assert_allclose(again, first, rtol=1e-6)


def test_parameter_counts_match_the_lstm_formula():
    """The Lesson 1 notebooks print these counts; here they are derived by hand."""
    torch_weights = pytest.importorskip("lessonkit.torch.weights")
    tf_weights = pytest.importorskip("lessonkit.tensorflow.weights")
    from lessonkit.tensorflow.char_rnn import CharRNN as TFCharRNN
    from lessonkit.torch.char_rnn import CharRNN as TorchCharRNN

    V, E, H = 84, 64, 384
    config = CharRNNConfig(vocab_size=V, d_embed=E, d_model=H, n_layers=2)
    # Per LSTM layer: 4 gates, each with input weights, recurrent weights and a bias.
    layer_1 = 4 * H * (E + H)
    layer_2 = 4 * H * (H + H)
    torch_count = V * E + layer_1 + layer_2 + 2 * (4 * H * 2) + H * V + V  # torch: two biases
    assert torch_weights.count_parameters(TorchCharRNN(config)) == torch_count == 1_911_636
    assert tf_weights.count_parameters(TFCharRNN(config)) == torch_count - 2 * 4 * H  # Keras: one


def test_tf_lstm_gradients_equal_the_keras_layers_autodiff():
    """The TF twin runs its LSTM layers through a hand-written backward pass (for speed); the
    reference is the same Keras LSTM layers run as Keras runs them, differentiated by TensorFlow:
    the same loss, the same gradients for every weight and for the initial state."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    config = CharRNNConfig(vocab_size=11, d_embed=8, d_model=16, n_layers=2, dropout=0.0)
    model = tf_char_rnn.CharRNN(config)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 11, (3, 17)), rng.integers(0, 11, (3, 17))
    h0 = tf.constant(rng.normal(size=(2, 3, 16)).astype("float32"))
    c0 = tf.constant(rng.normal(size=(2, 3, 16)).astype("float32"))

    def keras_run():
        h, finals = model.embedding(x), []
        for k, layer in enumerate(model.rnn):
            h, hk, ck = layer(h, initial_state=[h0[k], c0[k]])
            finals.append((hk, ck))
        return model.head(h), [f[0] for f in finals], [f[1] for f in finals]

    def ours():
        logits, (hs, cs) = model.run(x, (h0, c0))
        return logits, list(hs), list(cs)

    results = []
    for run in (keras_run, ours):
        with tf.GradientTape() as tape:
            tape.watch([h0, c0])
            logits, hs, cs = run()
            losses = keras.ops.sparse_categorical_crossentropy(y, logits, from_logits=True)
            # the final states enter the loss too, so their gradients are checked
            loss = tf.reduce_mean(losses) + 0.3 * tf.reduce_sum(tf.stack(hs) ** 2)
            loss += 0.2 * tf.reduce_sum(tf.stack(cs))
        grads = tape.gradient(loss, [*model.trainable_variables, h0, c0])
        results.append((float(loss), [tf.convert_to_tensor(g).numpy() for g in grads]))
    (expected_loss, expected), (loss, got) = results
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=2e-6, rtol=1e-4)
