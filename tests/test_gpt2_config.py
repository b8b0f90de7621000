"""GPT-2's config, parameter count, checkpoint-key walk, cache checks and next-token explorer,
without a framework (the twins are tested against Hugging Face in test_gpt2_twins.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lessonkit.models.gpt2 import (
    GPT2Config,
    WithoutCache,
    check_cache,
    check_ids,
    config_from_hf,
    hf_arrays_to_ours,
    parameter_table,
    weight_shapes,
)


def test_small_config_is_gpt2_small_and_d_ff_defaults_to_four_times_d_model():
    config = GPT2Config.small()
    assert (config.vocab_size, config.max_len, config.d_model, config.n_heads) == (
        50257,
        1024,
        768,
        12,
    )
    assert (config.n_layers, config.d_ff, config.head_dim, config.layer_norm_eps) == (
        12,
        3072,
        64,
        1e-5,
    )
    assert GPT2Config.from_json(config.to_json()) == config
    assert GPT2Config(d_model=64, n_heads=4, d_ff=100).d_ff == 100


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"d_model": 100, "n_heads": 12}, "divisible by n_heads"),
        ({"n_layers": 0}, "n_layers must be at least 1"),
        ({"dropout": 1.0}, "dropout"),
        ({"layer_norm_eps": 0.0}, "layer_norm_eps"),
    ],
)
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GPT2Config(**kwargs)


def test_parameter_table_by_hand_for_the_124m_model():
    # Every number from the shapes of the published architecture, written out by hand.
    C, V, P, L = 768, 50257, 1024, 12
    table = parameter_table(GPT2Config.small())
    assert table["wte"] == V * C == 38_597_376
    assert table["wpe"] == P * C == 786_432
    assert table["attention"] == (C * 3 * C + 3 * C) + (C * C + C) == 2_362_368
    assert table["mlp"] == (C * 4 * C + 4 * C) + (4 * C * C + C) == 4_722_432
    assert table["layer norms"] == 4 * C == 3_072
    assert table["blocks"] == L * (2_362_368 + 4_722_432 + 3_072)
    assert table["ln_f"] == 1_536
    assert table["total"] == 124_439_808


def test_the_papers_counts_match_a_recount_with_gpt1s_vocabulary():
    """117M, 345M, 762M, 1542M (the GPT-2 paper) are the released sizes with 40,478 tokens."""
    paper = {"gpt2": 117, "gpt2-medium": 345, "gpt2-large": 762, "gpt2-xl": 1542}
    for name, millions in paper.items():
        recount = parameter_table(dataclasses.replace(GPT2Config.from_name(name), vocab_size=40478))
        assert round(recount["total"] / 1e6) == millions, name


def test_hf_keys_map_to_ours_by_dropping_prefix_buffers_and_the_tied_head():
    shapes = weight_shapes(GPT2Config(vocab_size=11, max_len=8, d_model=8, n_heads=2, n_layers=1))
    arrays = {f"transformer.{k}": np.ones(s, np.float32) for k, s in shapes.items()}
    arrays["transformer.h.0.attn.bias"] = np.ones((1, 1, 8, 8), bool)
    arrays["transformer.h.0.attn.masked_bias"] = np.array(-1e4, np.float32)
    arrays["lm_head.weight"] = arrays["transformer.wte.weight"]
    assert set(hf_arrays_to_ours(arrays)) == set(shapes)
    arrays["lm_head.weight"] = arrays["lm_head.weight"] * 2
    with pytest.raises(ValueError, match="lm_head.weight differs from wte.weight"):
        hf_arrays_to_ours(arrays)


def test_config_from_an_hf_config_json():
    hf = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12,
          "n_inner": None, "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.1,
          "activation_function": "gelu_new"}  # fmt: skip
    assert config_from_hf(hf) == GPT2Config.small()
    with pytest.raises(ValueError, match="tanh approximation"):
        config_from_hf(hf | {"activation_function": "relu"})


def test_check_ids_and_check_cache_name_the_problem():
    config = GPT2Config(vocab_size=10, max_len=6, d_model=8, n_heads=2, n_layers=2)
    with pytest.raises(ValueError, match="max_len=6"):
        check_ids(np.zeros((1, 7), int), config)
    with pytest.raises(ValueError, match="after 4 cached tokens"):
        check_ids(np.zeros((1, 3), int), config, past_length=4)
    with pytest.raises(ValueError, match=r"must be in \[0, 10\)"):
        check_ids(np.array([[10]]), config)
    good = tuple((np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 4))) for _ in range(2))
    assert check_cache(good, config, 1) == 3
    with pytest.raises(ValueError, match="has 1 layers"):
        check_cache(good[:1], config)
    with pytest.raises(ValueError, match="n_heads=2"):
        check_cache(tuple((np.zeros((1, 3, 3, 4)),) * 2 for _ in range(2)), config)


def test_without_cache_re_reads_the_whole_sequence():
    class Recorder:
        def __init__(self):
            self.seen = []

        def step(self, ids, state=None, return_attention=False):
            assert state is None
            self.seen.append(ids.shape[1])
            return np.zeros((1, 5)), "ignored"

    recorder = Recorder()
    model = WithoutCache(recorder)
    _, state = model.step(np.array([[1, 2, 3]]))
    _, state = model.step(np.array([[4]]), state)
    _, state = model.step(np.array([[0]]), state)
    assert recorder.seen == [3, 4, 5]
    np.testing.assert_array_equal(state, [[1, 2, 3, 4, 0]])


def test_next_token_explorer_reshapes_bars_appends_and_draws():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from lessonkit.sampling import next_token_probs
    from lessonkit.widgets import NextTokenExplorer

    vocabulary = ["a", " b", "c", "\n", "e"]
    calls = []

    def predict(prompt):
        calls.append(prompt)
        tokens = list(prompt) or ["a"]
        logits = np.arange(5.0) + len(prompt) % 2  # (V,)
        attention = np.full((3, 2, len(tokens)), 1 / len(tokens))  # (L, H, T)
        return logits, tokens, attention

    explorer = NextTokenExplorer(predict, vocabulary, prompt="ab", top=3, top_k=2)
    assert (explorer.layer.max, explorer.head.max) == (2, 1)
    np.testing.assert_allclose(explorer.probs(), next_token_probs(np.arange(5.0), top_k=2))
    n_calls = len(calls)
    explorer.set(temperature=0.5, top_k=0, layer=1)  # sliders: no model call
    assert len(calls) == n_calls
    np.testing.assert_allclose(explorer.probs(), next_token_probs(np.arange(5.0), 0.5))
    assert len(explorer.buttons.children) == 3
    explorer.buttons.children[0].click()  # the most likely token, "e", is appended
    assert explorer.prompt.value == "abe" and calls[-1] == "abe"
    figure = explorer.figure()
    assert len(figure.axes) == 2 and "layer 1, head 0" in figure.axes[1].get_title()
    with pytest.raises(ValueError, match="unknown controls"):
        explorer.set(colour="red")
