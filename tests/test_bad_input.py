"""Bad input across the course: a ValueError (bad value) or TypeError (wrong Python type) that
names the problem, never NaN probabilities, a silent wrong answer or an error from deep inside a
framework. The sampler's promises are checked as properties over generated inputs (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest

from lessonkit.generation import generate
from lessonkit.sampling import next_token_probs, sample
from lessonkit.text import CharTokenizer, WordTokenizer

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


class Uniform:
    """A stand-in model whose ``step`` returns fixed logits (the sampler and loop are under test)."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, dtype=np.float64)

    def step(self, ids, state=None):
        return np.tile(self.logits, (np.shape(ids)[0], 1)), state


# --- the important defects: each test failed before the fix ------------------------------------


def test_a_tiny_top_p_keeps_the_most_likely_token_instead_of_nan():
    logits = np.array([[0.0, 2.0, 1.0]])
    for top_p in (1e-9, 1e-12, 5e-324):
        probs = next_token_probs(logits, top_p=top_p)
        assert np.isfinite(probs).all()
        np.testing.assert_array_equal(probs, [[0.0, 1.0, 0.0]])
    # Before: every row was NaN and `sample` mapped it to id 0, forever.
    tokens = generate(Uniform([0.0, 2.0, 1.0]), [0], 8, top_p=1e-12)
    assert tokens.tolist() == [1] * 8


@pytest.mark.parametrize("temperature", [1e-300, 1e-30, 5e-324])
def test_tiny_temperatures_and_huge_logits_give_probabilities_not_nan(temperature):
    for logits in ([[0.0, 1.0, 0.5]], [[1e308, -1e308, 0.0]], [[-1e308, 1e308, 1e308]]):
        probs = next_token_probs(np.array(logits), temperature=temperature)
        assert np.isfinite(probs).all() and np.allclose(probs.sum(-1), 1)
    probs = next_token_probs(np.array([[1e308, -1e308, 0.0]]), temperature=1.0)
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]])


def test_sample_refuses_a_three_dimensional_batch_and_a_wrong_rng():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\(B, V\).*logits\[:, -1\]"):
        sample(np.zeros((2, 3, 5)), rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample(np.zeros((1, 5)), 0)


def test_an_unsigned_numpy_top_k_works():
    probs = next_token_probs(np.array([[0.0, 3.0, 2.0, 1.0]]), top_k=np.uint64(2))
    np.testing.assert_array_equal(probs > 0, [[False, True, True, False]])


def test_generate_checks_its_arguments_even_when_asked_for_no_token():
    model = Uniform([0.0, 1.0])
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [0], 0, temperature=-1)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        generate(model, [0], True)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        generate(model, [0], 2.0)
    with pytest.raises(ValueError, match="prompt ids must be integers"):
        generate(model, [0.7, 1.2], 2)  # before: silently truncated to [0, 1]


@pytest.mark.parametrize("bad", ["12", [3.7], [True], [1, "2"]])
def test_every_tokenizer_decode_refuses_ids_that_are_not_ints(bad):
    for tokenizer in (CharTokenizer(list("abcdef")), WordTokenizer(["<unk>", "a", "b", "c"])):
        with pytest.raises(TypeError, match="ints"):
            tokenizer.decode(bad)


# --- the sampler's promises, as properties ----------------------------------------------------

finite_logits = st.integers(1, 40).flatmap(
    lambda V: arrays(
        np.float64,
        (st.integers(1, 3).map(lambda B: (B, V))),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    )
)


@settings(max_examples=150)
@given(
    logits=finite_logits,
    temperature=st.one_of(st.just(0.0), st.floats(1e-6, 100.0)),
    top_k=st.one_of(st.none(), st.integers(1, 40)),
    top_p=st.one_of(st.none(), st.floats(1e-12, 1.0, exclude_min=False)),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_valid_parameters_give_a_distribution_and_samples_inside_it(
    logits, temperature, top_k, top_p, seed
):
    V = logits.shape[-1]
    top_k = None if top_k is None else min(top_k, V)
    probs = next_token_probs(logits, temperature, top_k, top_p)
    assert probs.shape == logits.shape
    assert np.isfinite(probs).all() and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-9)
    if top_k is not None:  # never more than k tokens, ties at the k-th score aside
        # Scores as the sampler compares them: shifted by the best one and divided by the
        # temperature, where rounding can tie two that differ by less than a float's step
        # (with 1 the best, 2e-98 and 0 both become -1).
        scores = logits - logits.max(axis=-1, keepdims=True)
        if temperature > 0:  # (0 is greedy: one token)
            scores = scores / temperature
        kth = np.sort(scores, axis=-1)[:, -top_k][:, None]
        assert (probs[scores < kth] == 0).all()
    ids = sample(logits, np.random.default_rng(seed), temperature, top_k, top_p)
    assert ids.shape == (logits.shape[0],)
    assert (probs[np.arange(len(ids)), ids] > 0).all(), "sampled a token the distribution excludes"


@settings(max_examples=100)
@given(
    temperature=st.one_of(
        st.floats(max_value=-1e-300), st.just(float("nan")), st.just(float("inf"))
    ),
)
def test_an_invalid_temperature_is_a_value_error_naming_it(temperature):
    with pytest.raises(ValueError, match="temperature"):
        next_token_probs(np.zeros((1, 4)), temperature=temperature)


@settings(max_examples=100)
@given(
    top_k=st.one_of(st.integers(max_value=0), st.integers(min_value=5)),
    top_p=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True)),
)
def test_an_invalid_top_k_or_top_p_is_a_value_error_naming_it(top_k, top_p):
    with pytest.raises(ValueError, match="top_k"):
        next_token_probs(np.zeros((1, 4)), top_k=top_k)
    with pytest.raises(ValueError, match="top_p"):
        next_token_probs(np.zeros((1, 4)), top_p=top_p)


@settings(max_examples=60)
@given(value=st.one_of(st.text(max_size=3), st.lists(st.integers(), max_size=2), st.booleans()))
def test_a_parameter_of_the_wrong_type_is_a_type_error_naming_it(value):
    for name in ("temperature", "top_k", "top_p"):
        with pytest.raises(TypeError, match=name):
            next_token_probs(np.zeros((1, 4)), **{name: value})


# --- the date normalizer: a real calendar date, or it says it found none --------------------


def test_impossible_dates_are_not_answers():
    from lessonkit.dates import NO_DATE, checked_answer, is_calendar_date

    for bad in (
        "2001-02-31",
        "19999-09-09",
        "2001-13-01",
        "2001-00-10",
        "",
        "2001-2-3",
        "abcd-ef-gh",
    ):
        assert not is_calendar_date(bad) and checked_answer(bad) == NO_DATE
    assert checked_answer("2000-02-29") == "2000-02-29" and not is_calendar_date("1900-02-29")


@pytest.fixture(scope="module")
def untrained_dates_model():
    torch = pytest.importorskip("torch")
    from lessonkit.models.seq2seq import Seq2SeqConfig
    from lessonkit.torch.seq2seq import Seq2Seq

    torch.manual_seed(3)  # an untrained model writes digit soup: the check must catch it
    return Seq2Seq(Seq2SeqConfig(d_embed=8, d_model=16, d_attn=8))


@settings(max_examples=25)
@given(text=st.text(alphabet="0123456789 -/.,abcdefJanMarchMay", min_size=1, max_size=40))
def test_the_normalizer_answers_a_real_date_or_no_date(untrained_dates_model, text):
    from lessonkit.dates import NO_DATE, is_calendar_date

    answer = untrained_dates_model.translate(text)[0]
    assert answer == NO_DATE or is_calendar_date(answer)


# --- checkpoints: damage gives a ValueError naming the file, never another exception ---------


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from lessonkit.models.gpt2 import GPT2Config
    from lessonkit.text import train_bpe
    from lessonkit.torch import gpt2

    torch.manual_seed(0)
    model = gpt2.GPT2(GPT2Config(vocab_size=260, max_len=8, d_model=8, n_heads=2, n_layers=1))
    tokenizer = train_bpe("to be or not to be " * 10, 260)
    path = tmp_path_factory.mktemp("ckpt") / "small.safetensors"
    gpt2.save_checkpoint(model, path, tokenizer=tokenizer, extras={"note": "x"})
    return path.read_bytes()


def _header_length(blob: bytes) -> int:
    return 8 + int.from_bytes(blob[:8], "little")


@settings(max_examples=60)
@given(data=st.data())
def test_a_damaged_checkpoint_is_refused_by_name_or_loads_as_declared(
    small_checkpoint, data, tmp_path_factory
):
    from lessonkit.torch.weights import load_checkpoint

    blob = bytearray(small_checkpoint)
    n_header = _header_length(small_checkpoint)
    where = data.draw(st.sampled_from(["length", "header", "tensors", "truncate"]))
    if where == "length":
        blob[:8] = data.draw(st.binary(min_size=8, max_size=8))
    elif where == "header":
        at = data.draw(st.integers(8, n_header - 1))
        blob[at] = data.draw(st.integers(0, 255).filter(lambda b: b != blob[at]))
    elif where == "tensors":
        at = data.draw(st.integers(n_header, len(blob) - 1))
        blob[at] = data.draw(st.integers(0, 255))
    else:
        del blob[data.draw(st.integers(0, len(blob) - 1)) :]
    path = tmp_path_factory.mktemp("damaged") / "damaged.safetensors"
    path.write_bytes(bytes(blob))
    try:
        model, _, _ = load_checkpoint(path)
    except ValueError as error:
        assert str(path) in str(error), error
        return
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["wte.weight"] == (260, 8)  # what the file declares


def test_a_config_that_does_not_fit_the_arrays_is_refused_before_building_the_model(tmp_path):
    """A checkpoint whose config asks for a huge vocabulary must not allocate it."""
    pytest.importorskip("torch")
    import json

    from lessonkit import checkpoints
    from lessonkit.models.gpt2 import GPT2Config
    from lessonkit.torch.weights import load_checkpoint

    config = GPT2Config(vocab_size=10, max_len=8, d_model=8, n_heads=2, n_layers=1)
    arrays = {"wte.weight": np.zeros((10, 8), np.float32)}
    path = checkpoints.write(tmp_path / "huge.safetensors", arrays, config, "gpt2.GPT2")
    blob = path.read_bytes()
    n = _header_length(blob)
    header = json.loads(blob[8:n])
    huge = json.loads(header["__metadata__"]["config"]) | {"vocab_size": 10**12}
    header["__metadata__"]["config"] = json.dumps(huge)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + blob[n:])
    with pytest.raises(ValueError, match=rf"{path.name}.*wte.weight"):
        load_checkpoint(path)


# --- generate in both twins: ids in range, the same tokens at temperature 0 ------------------


@pytest.fixture(scope="module")
def tiny_twins():
    """A tiny GPT-2 and a tiny char-RNN, each in both frameworks with the same weights."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    from lessonkit.models.char_rnn import CharRNNConfig
    from lessonkit.models.gpt2 import GPT2Config
    from lessonkit.tensorflow import char_rnn as tf_rnn
    from lessonkit.tensorflow import gpt2 as tf_gpt2
    from lessonkit.torch import char_rnn as pt_rnn
    from lessonkit.torch import gpt2 as pt_gpt2

    torch.manual_seed(0)
    pairs = {}
    for name, (pt, tf, config) in {
        "gpt2": (pt_gpt2.GPT2, tf_gpt2.GPT2, GPT2Config(vocab_size=23, max_len=16, d_model=8,
                                                        n_heads=2, n_layers=2)),
        "char_rnn": (pt_rnn.CharRNN, tf_rnn.CharRNN, CharRNNConfig(vocab_size=23, d_embed=4,
                                                                    d_model=8, n_layers=2)),
    }.items():  # fmt: skip
        torch_model = pt(config).eval()
        tf_model = tf(config)
        tf_model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})
        pairs[name] = (torch_model, tf_model)
    return pairs


@settings(max_examples=25)
@given(
    name=st.sampled_from(["gpt2", "char_rnn"]),
    prompt=st.lists(st.integers(0, 22), min_size=1, max_size=5),
    n=st.integers(0, 6),
    temperature=st.sampled_from([0.0, 0.7, 1.5]),
    seed=st.integers(0, 1000),
)
def test_generate_in_both_twins_stays_in_the_vocabulary_and_agrees_when_greedy(
    tiny_twins, name, prompt, n, temperature, seed
):
    torch_model, tf_model = tiny_twins[name]
    outputs = [
        generate(m, prompt, n, temperature=temperature, seed=seed) for m in (torch_model, tf_model)
    ]
    for tokens in outputs:
        assert tokens.shape == (n,) and tokens.dtype == np.int64
        assert ((tokens >= 0) & (tokens < 23)).all()
    if temperature == 0:
        np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("name", ["gpt2", "char_rnn"])
@pytest.mark.parametrize("bad", [[-1], [23], [[1, 2], [3]]], ids=["negative", "too big", "ragged"])
def test_both_twins_refuse_out_of_vocabulary_prompts_the_same_way(tiny_twins, name, bad):
    for model in tiny_twins[name]:
        with pytest.raises(ValueError):
            generate(model, bad, 2)
