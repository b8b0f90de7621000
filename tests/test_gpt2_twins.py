"""The GPT-2 twins against Hugging Face's ``GPT2LMHeadModel`` on the same weights.

The reference is independent: transformers' own model, given seeded random weights (a tiny config,
and the real 124M configuration built from ``transformers.GPT2Config()``: nothing is downloaded),
saved in Hugging Face's safetensors layout and loaded into both twins by key. The TensorFlow twin
is compared with HF's torch outputs directly. Also: the KV cache changes no token, both twins
generate the same greedy tokens, the parameter count, and clear errors for bad input.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums

import numpy as np
import pytest
from safetensors.numpy import save_file

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")
transformers = pytest.importorskip("transformers")

from lessonkit import checkpoints  # noqa: E402
from lessonkit.generation import generate  # noqa: E402
from lessonkit.models.gpt2 import (  # noqa: E402
    GPT2Config,
    WithoutCache,
    hf_arrays_to_ours,
    parameter_table,
    weight_shapes,
)
from lessonkit.tensorflow import gpt2 as tf_gpt2  # noqa: E402
from lessonkit.tensorflow import weights as tf_weights  # noqa: E402
from lessonkit.text import GPT2Tokenizer  # noqa: E402
from lessonkit.torch import gpt2 as torch_gpt2  # noqa: E402
from lessonkit.torch import weights as torch_weights  # noqa: E402

ATOL_SMALL, ATOL_124M = 1e-5, 1e-4


def hf_model(seed: int = 0, initializer_range: float = 0.02, **sizes) -> torch.nn.Module:
    """A seeded ``GPT2LMHeadModel``: ``sizes`` override transformers' GPT2Config (124M without)."""
    torch.manual_seed(seed)
    config = transformers.GPT2Config(initializer_range=initializer_range, **sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = transformers.GPT2LMHeadModel(config)
    return model.eval()


def save_hf(model, folder) -> str:
    """Hugging Face's layout: ``config.json`` and ``model.safetensors``, as the hub stores them."""
    model.save_pretrained(folder, safe_serialization=True)
    return str(folder)


def hf_logits(model, idx: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(idx)).logits.numpy()


def torch_logits(model, idx: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(idx))[0].numpy()


def tf_logits(model, idx: np.ndarray) -> np.ndarray:
    return np.asarray(model(idx, training=False)[0])


TINY = {"n_layer": 2, "n_embd": 32, "n_head": 4, "vocab_size": 97, "n_positions": 24}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """HF's tiny GPT-2 (weights spread wider than GPT-2's init, so greedy text varies), saved in
    the HF layout and loaded by both twins through ``from_pretrained(folder)``."""
    hf = hf_model(initializer_range=0.3, **TINY)
    folder = save_hf(hf, tmp_path_factory.mktemp("tiny_gpt2"))
    pt, _ = torch_gpt2.from_pretrained(folder)
    tf_model, _ = tf_gpt2.from_pretrained(folder)
    return hf, pt, tf_model, folder


@pytest.fixture(scope="module")
def gpt2_124m(tmp_path_factory):
    """The real 124M configuration with seeded random weights, as a safetensors file on disk."""
    hf = hf_model(seed=1)
    folder = save_hf(hf, tmp_path_factory.mktemp("gpt2_124m"))
    pt, _ = torch_gpt2.from_pretrained(folder)
    tf_model, _ = tf_gpt2.from_pretrained(folder)
    return hf, pt, tf_model


def test_our_keys_are_hf_gpt2model_keys_and_loading_is_rename_free(tiny):
    hf, pt, tf_model, _ = tiny
    hf_keys = {k.removeprefix("transformer.") for k in hf.state_dict()} - {"lm_head.weight"}
    assert set(pt.state_dict()) == hf_keys
    assert set(tf_model.state_dict()) == hf_keys
    shapes = {k: tuple(v.shape) for k, v in hf.transformer.state_dict().items()}
    assert shapes == weight_shapes(pt.config)  # Conv1D weights stay (in, out)
    assert shapes["h.0.attn.c_attn.weight"] == (32, 96)
    # Old hub files also hold the causal-mask buffers; they are dropped, nothing else changes.
    arrays = {f"transformer.{k}": v.numpy() for k, v in hf.transformer.state_dict().items()}
    arrays["transformer.h.0.attn.bias"] = np.tril(np.ones((1, 1, 24, 24), dtype=bool))
    arrays["lm_head.weight"] = arrays["transformer.wte.weight"]
    assert set(hf_arrays_to_ours(arrays)) == hf_keys


def test_tiny_logits_and_loss_equal_hf_in_both_twins(tiny):
    hf, pt, tf_model, _ = tiny
    idx = np.random.default_rng(0).integers(0, 97, (3, 24))
    expected = hf_logits(hf, idx)
    np.testing.assert_allclose(torch_logits(pt, idx), expected, atol=ATOL_SMALL, rtol=0)
    np.testing.assert_allclose(tf_logits(tf_model, idx), expected, atol=ATOL_SMALL, rtol=0)
    with torch.no_grad():  # HF shifts the labels itself; our targets are already shifted
        hf_loss = hf(torch.as_tensor(idx), labels=torch.as_tensor(idx)).loss.item()
        pt_loss = pt(torch.as_tensor(idx[:, :-1]), torch.as_tensor(idx[:, 1:]))[1].item()
    tf_loss = float(tf_model(idx[:, :-1], idx[:, 1:], training=False)[1])
    assert pt_loss == pytest.approx(hf_loss, abs=ATOL_SMALL)
    assert tf_loss == pytest.approx(hf_loss, abs=ATOL_SMALL)


def test_attention_weights_equal_hf_and_are_causal(tmp_path):
    hf = hf_model(initializer_range=0.3, attn_implementation="eager", **TINY)
    folder = save_hf(hf, tmp_path)
    idx = np.random.default_rng(1).integers(0, 97, (2, 9))
    with torch.no_grad():
        expected = np.stack(
            [a.numpy() for a in hf(torch.as_tensor(idx), output_attentions=True).attentions]
        )
    pt, _ = torch_gpt2.from_pretrained(folder)
    tf_model, _ = tf_gpt2.from_pretrained(folder)
    with torch.no_grad():
        pt_attention = np.stack(
            [a.numpy() for a in pt(torch.as_tensor(idx), return_attention=True)[2]]
        )
    tf_attention = np.stack(
        [np.asarray(a) for a in tf_model(idx, return_attention=True, training=False)[2]]
    )
    assert expected.shape == (2, 2, 4, 9, 9)  # (layers, B, H, T, T)
    np.testing.assert_allclose(pt_attention, expected, atol=ATOL_SMALL, rtol=0)
    np.testing.assert_allclose(tf_attention, expected, atol=ATOL_SMALL, rtol=0)
    assert not np.triu(pt_attention, k=1).any()  # nothing above the diagonal: no peeking ahead
    # step() returns the same maps for the prompt, (layers, B, H, T, S)
    _, _, step_attention = pt.step(idx, return_attention=True)
    np.testing.assert_allclose(step_attention, expected, atol=ATOL_SMALL, rtol=0)


def test_124m_logits_equal_hf_within_1e4_in_both_twins(gpt2_124m):
    hf, pt, tf_model = gpt2_124m
    assert pt.config == GPT2Config(dropout=0.1)
    idx = np.random.default_rng(2).integers(0, 50257, (1, 12))
    expected = hf_logits(hf, idx)
    assert expected.shape == (1, 12, 50257)
    np.testing.assert_allclose(torch_logits(pt, idx), expected, atol=ATOL_124M, rtol=0)
    np.testing.assert_allclose(tf_logits(tf_model, idx), expected, atol=ATOL_124M, rtol=0)


def test_124m_parameter_count_is_computed_not_typed(gpt2_124m):
    hf, pt, tf_model = gpt2_124m
    table = parameter_table(GPT2Config())
    hf_count = sum(p.numel() for p in hf.parameters())  # HF counts the tied lm_head once
    assert table["total"] == hf_count == torch_weights.count_parameters(pt)
    assert tf_weights.count_parameters(tf_model) == hf_count
    assert table == {
        "wte": 50257 * 768,
        "wpe": 1024 * 768,
        "attention": 768 * 2304 + 2304 + 768 * 768 + 768,
        "mlp": 768 * 3072 + 3072 + 3072 * 768 + 768,
        "layer norms": 2 * 2 * 768,
        "blocks": 12 * 7_087_872,
        "ln_f": 2 * 768,
        "total": 124_439_808,
    }


def test_parameter_table_matches_the_released_sizes():
    # The counts of the four released checkpoints (Hugging Face's model pages).
    released = {"gpt2": 124_439_808, "gpt2-medium": 354_823_168, "gpt2-large": 774_030_080,
                "gpt2-xl": 1_557_611_200}  # fmt: skip
    for name, count in released.items():
        assert parameter_table(GPT2Config.from_name(name))["total"] == count, name
    assert GPT2Config.small() == GPT2Config.from_name("openai-community/gpt2")
    assert (GPT2Config.xl().d_model, GPT2Config.xl().d_ff) == (1600, 6400)


def test_124m_greedy_tokens_equal_hf_generate_with_and_without_cache(gpt2_124m):
    hf, pt, tf_model = gpt2_124m
    prompt = np.array([[464, 3290, 1276, 22389, 6266]])
    with torch.no_grad():
        expected = hf.generate(
            torch.as_tensor(prompt), max_new_tokens=6, do_sample=False, pad_token_id=50256
        )[0, 5:].numpy()
    np.testing.assert_array_equal(generate(pt, prompt, 6, temperature=0)[0], expected)
    np.testing.assert_array_equal(generate(WithoutCache(pt), prompt, 6, temperature=0)[0], expected)
    np.testing.assert_array_equal(generate(tf_model, prompt, 6, temperature=0)[0], expected)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_cached_steps_give_the_logits_of_one_full_run(tiny, framework):
    hf, pt, tf_model, _ = tiny
    model = pt if framework == "torch" else tf_model
    idx = np.random.default_rng(3).integers(0, 97, (2, 20))
    full = hf_logits(hf, idx)
    logits, state = model.step(idx[:, :7])
    np.testing.assert_allclose(logits, full[:, 6], atol=ATOL_SMALL, rtol=0)
    for t in range(7, 20):
        logits, state = model.step(idx[:, t : t + 1], state)
        np.testing.assert_allclose(logits, full[:, t], atol=ATOL_SMALL, rtol=0)
    assert [tuple(k.shape) for k, v in state] == [(2, 4, 20, 8)] * 2  # (B, H, T, D) per layer
    assert [tuple(v.shape) for k, v in state] == [(2, 4, 20, 8)] * 2


@pytest.mark.parametrize("threads", [1, 3])
def test_generation_reads_the_weights_as_they_are_now(tiny, threads):
    """Generating one row, the PyTorch twin reads every weight from a copy cut into one block of
    columns per thread (``_product``; 3 blocks pad 97 and 128 columns); a training step and a load
    must reach those copies. Reference: HF's model given the same new weights."""
    hf, _, _, folder = tiny
    pt, _ = torch_gpt2.from_pretrained(folder)
    idx = np.random.default_rng(4).integers(0, 97, (1, 12))

    def one_row_logits():  # the prompt, then the last token alone through the cache
        _, state = pt.step(idx[:, :-1])
        return pt.step(idx[:, -1:], state)[0]

    default = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        before = one_row_logits()  # makes the copies
        assert pt._blocks_copy[1].shape == (threads, 32, -(-97 // threads))  # (k, C, V / k)
        assert pt.h[0].mlp.c_fc._blocks_copy[1].shape[0] == threads
        np.testing.assert_allclose(before, hf_logits(hf, idx)[:, -1], atol=ATOL_SMALL, rtol=0)

        optimizer = torch.optim.SGD(pt.parameters(), lr=0.5)  # a training step, in place
        pt.train()
        pt(torch.as_tensor(idx[:, :-1]), torch.as_tensor(idx[:, 1:]))[1].backward()
        optimizer.step()
        pt.eval()
        changed = hf_model(initializer_range=0.3, **TINY)
        changed.transformer.load_state_dict(pt.state_dict(), strict=False)
        after = one_row_logits()
        assert np.abs(after - before).max() > 0.1
        np.testing.assert_allclose(after, hf_logits(changed, idx)[:, -1], atol=ATOL_SMALL, rtol=0)

        pt.load_state_dict(torch_gpt2.from_pretrained(folder)[0].state_dict())  # a load, in place
        np.testing.assert_allclose(one_row_logits(), before, atol=1e-6, rtol=0)
    finally:
        torch.set_num_threads(default)


def test_a_model_built_in_inference_mode_generates(tiny):
    """Its weights are inference tensors, which keep no version count: no copies, same logits."""
    hf, pt, _, _ = tiny
    with torch.inference_mode():
        built = torch_gpt2.GPT2(pt.config).eval()
        built.load_state_dict(pt.state_dict())
    idx = np.random.default_rng(5).integers(0, 97, (1, 9))
    _, state = built.step(idx[:, :-1])
    logits = built.step(idx[:, -1:], state)[0]  # one row: where ordinary weights are copied
    np.testing.assert_allclose(logits, hf_logits(hf, idx)[:, -1], atol=ATOL_SMALL, rtol=0)
    assert not hasattr(built, "_blocks_copy")


def test_cached_and_uncached_generation_and_both_twins_agree(tiny):
    _, pt, tf_model, _ = tiny
    prompt = [5, 17, 42, 8]
    runs = {
        "torch cached": generate(pt, prompt, 18, temperature=0),
        "torch uncached": generate(WithoutCache(pt), prompt, 18, temperature=0),
        "tensorflow cached": generate(tf_model, prompt, 18, temperature=0),
        "tensorflow uncached": generate(WithoutCache(tf_model), prompt, 18, temperature=0),
    }
    assert len(set(runs["torch cached"].tolist())) > 3  # a varied continuation, not one token
    for name, tokens in runs.items():
        np.testing.assert_array_equal(tokens, runs["torch cached"], err_msg=name)
    sampled = {  # sampling with GPT-2's top-k of 40 (the vocabulary here is 97)
        name: generate(model, prompt, 18, temperature=1.0, top_k=40, seed=3)
        for name, model in {
            "torch": pt,
            "tensorflow": tf_model,
            "uncached": WithoutCache(pt),
        }.items()
    }
    np.testing.assert_array_equal(sampled["tensorflow"], sampled["torch"])
    np.testing.assert_array_equal(sampled["uncached"], sampled["torch"])


@pytest.mark.parametrize("writer", ["torch", "tensorflow"])
def test_checkpoint_written_by_one_twin_loads_in_the_other(tiny, writer, tmp_path):
    hf, pt, tf_model, _ = tiny
    path = tmp_path / "gpt2.safetensors"
    gpt2_tokenizer = GPT2Tokenizer.from_data()
    if writer == "torch":
        torch_gpt2.save_checkpoint(pt, path, tokenizer=gpt2_tokenizer)
        loaded, tokenizer, _ = tf_gpt2.load_checkpoint(path)
        logits = tf_logits
    else:
        tf_gpt2.save_checkpoint(tf_model, path, tokenizer=gpt2_tokenizer)
        loaded, tokenizer, _ = torch_gpt2.load_checkpoint(path)
        logits = torch_logits
    assert loaded.config == pt.config and isinstance(tokenizer, GPT2Tokenizer)
    assert tokenizer.merges == gpt2_tokenizer.merges  # the tokenizer came from the file
    idx = np.random.default_rng(4).integers(0, 97, (2, 10))
    np.testing.assert_allclose(logits(loaded, idx), hf_logits(hf, idx), atol=ATOL_SMALL, rtol=0)


# --- bad input: a ValueError that names the problem --------------------------------------------


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_a_prompt_longer_than_the_context_is_refused(tiny, framework):
    model = tiny[1] if framework == "torch" else tiny[2]
    with pytest.raises(ValueError, match="max_len=24"):
        model.step(np.zeros((1, 25), dtype=np.int64))
    with pytest.raises(ValueError, match="exceed the context"):
        generate(model, list(range(20)), 10, temperature=0)  # fits, but the continuation does not
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 97\)"):
        model.step(np.array([[3, 97]]))


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_top_k_larger_than_the_vocabulary_is_refused(tiny, framework):
    model = tiny[1] if framework == "torch" else tiny[2]
    with pytest.raises(ValueError, match="top_k must be between 1 and the vocabulary size 97"):
        generate(model, [1, 2], 3, top_k=98)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize(
    "other, message",
    [
        ({"n_layers": 3}, "has 3 layers, this model has n_layers=2"),
        ({"n_heads": 2}, "n_heads=4"),
        ({"d_model": 64, "n_heads": 4}, "head_dim=8"),
    ],
)
def test_a_cache_from_another_model_is_refused(tiny, framework, other, message):
    model = tiny[1] if framework == "torch" else tiny[2]
    twin = torch_gpt2 if framework == "torch" else tf_gpt2
    sizes = {"vocab_size": 97, "max_len": 24, "d_model": 32, "n_heads": 4, "n_layers": 2} | other
    _, foreign_cache = twin.GPT2(GPT2Config(**sizes)).step(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match=message):
        model.step(np.array([[4]]), foreign_cache)
    _, own_cache = model.step(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match="B=2"):  # a cache for one sequence, ids for two
        model.step(np.array([[4], [5]]), own_cache)


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_a_checkpoint_with_a_missing_or_misshaped_key_is_refused(tiny, framework, tmp_path):
    _, _, _, folder = tiny
    arrays = checkpoints.read_arrays(f"{folder}/model.safetensors")
    load = torch_gpt2.from_pretrained if framework == "torch" else tf_gpt2.from_pretrained
    for name, change in {
        "missing": lambda a: a.pop("transformer.h.1.mlp.c_fc.bias"),
        "misshaped": lambda a: a.update({"transformer.h.0.attn.c_attn.weight": np.zeros((96, 32))}),
    }.items():
        broken = tmp_path / name
        broken.mkdir()
        (broken / "config.json").write_text((Path(folder) / "config.json").read_text())
        damaged = dict(arrays)
        change(damaged)
        save_file(damaged, str(broken / "model.safetensors"))
        expected = (
            "missing keys.*h.1.mlp.c_fc.bias"
            if name == "missing"
            else (r"h.0.attn.c_attn.weight has shape \(96, 32\), the model expects \(32, 96\)")
        )
        with pytest.raises(ValueError, match=expected):
            load(broken)


def test_offline_from_pretrained_warns_once_and_falls_back_to_the_bundled_model(
    monkeypatch, tmp_path
):
    import huggingface_hub

    from lessonkit.pretrained import shakespeare_checkpoint

    try:
        shakespeare_checkpoint()
    except FileNotFoundError:
        pytest.skip("the bundled checkpoint has not been trained yet")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached
    with pytest.warns(
        UserWarning, match=r"offline \(HF_HUB_OFFLINE is set\).*bundled Shakespeare GPT"
    ) as record:
        model, tokenizer = torch_gpt2.from_pretrained("gpt2")
    assert len(record) == 1
    assert "Shakespeare" in model.source and model.config.vocab_size == tokenizer.vocab_size
    with pytest.raises(ValueError, match="unknown GPT-2 size"):
        torch_gpt2.from_pretrained("gpt3")


def test_the_trace_of_a_step_is_the_same_in_both_twins_and_explains_its_logits(tiny):
    """``step(..., return_trace=True)``: the last token's scores, mask, weights, weighted values,
    MLP output and logits, equal in both twins; the logits are the plain step's, the weights the
    softmax of the masked scores, the weighted values the weights times the cached values."""
    from lessonkit.models.gpt2 import TRACE_KEYS

    _, pt, tf_model, _ = tiny
    ids = np.random.default_rng(5).integers(0, 97, (2, 6))
    plain_logits, cache = pt.step(ids)
    traces = {}
    for name, model in (("torch", pt), ("tensorflow", tf_model)):
        logits, state, trace = model.step(ids, return_trace=True)
        assert sorted(trace) == sorted(TRACE_KEYS)
        np.testing.assert_allclose(logits, plain_logits, atol=ATOL_SMALL, rtol=0)
        np.testing.assert_allclose(trace["logits"], plain_logits, atol=ATOL_SMALL, rtol=0)
        traces[name] = trace
    for key in TRACE_KEYS:
        np.testing.assert_allclose(traces["tensorflow"][key], traces["torch"][key], atol=ATOL_SMALL)
    trace, config = traces["torch"], pt.config
    L, H, S, D = config.n_layers, config.n_heads, ids.shape[1], config.head_dim
    assert trace["scores"].shape == trace["weights"].shape == (2, L, H, S)
    assert trace["weighted_values"].shape == (2, L, H, D) and trace["mlp"].shape == (
        2,
        L,
        config.d_model,
    )
    assert trace["mask"].all()  # the last token may read every position
    scores = trace["scores"] - trace["scores"].max(-1, keepdims=True)
    softmax = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(trace["weights"], softmax, atol=1e-5)
    values = np.stack([v.numpy() for _, v in cache], axis=1)  # (B, L, H, S, D)
    np.testing.assert_allclose(
        trace["weighted_values"], np.einsum("blhs,blhsd->blhd", trace["weights"], values), atol=1e-5
    )
    # After a cached prompt, the one new token's mask is still all True over S + 1 positions.
    _, _, later = pt.step(np.array([[1], [2]]), cache, return_trace=True)
    assert later["weights"].shape[-1] == S + 1 and later["mask"].all()
