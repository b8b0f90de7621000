"""Self-checks for the exercises: run the learner's function on our cases and say what is wrong.

Each ``check_*`` returns a :class:`Feedback` that a notebook displays: a pass, the first failing
case with the expected and actual values, or "not done yet" while the function still raises
``NotImplementedError`` (so a notebook runs top to bottom with the TODOs unfilled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import windows
from .models.bert import IGNORE_INDEX
from .sampling import next_token_probs
from .text import WordTokenizer


@dataclass(frozen=True)
class Feedback:
    status: str  # "passed", "failed" or "not done"
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __repr__(self) -> str:
        mark = {"passed": "✅", "failed": "❌", "not done": "⏳"}[self.status]
        return f"{mark} {self.message}"

    def _repr_html_(self) -> str:
        colour = {"passed": "#1a7f37", "failed": "#b00020", "not done": "#8a6d00"}[self.status]
        body = self.message.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        return f"<div style='color:{colour};font-family:monospace'>{repr(self)[:2]}{body}</div>"


@dataclass(frozen=True)
class Case:
    args: tuple
    expected: Any
    description: str


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        try:
            return np.shape(actual) == np.shape(expected) and np.allclose(
                actual, expected, atol=1e-6
            )
        except (TypeError, ValueError):
            return False
    if isinstance(expected, tuple) and isinstance(actual, tuple) and len(actual) == len(expected):
        return all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


def _short(value: Any, limit: int = 300) -> str:
    text = np.array2string(value, threshold=20) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def run_cases(
    function: Callable,
    cases: Sequence[Case],
    name: str,
    compare: Callable[[Any, Any], bool] = _same,
    hint: Callable[[Any, Case], str | None] | None = None,
) -> Feedback:
    """Call ``function(*case.args)`` for every case; report the first one that goes wrong.

    ``hint(actual, case)`` may name the likely mistake behind a wrong answer (or return None).
    """
    for case in cases:
        try:
            actual = function(*case.args)
        except NotImplementedError:
            return Feedback(
                "not done", f"{name}: not done yet (it still raises NotImplementedError)"
            )
        except Exception as error:  # noqa: BLE001  the learner's own code failed: say how, as a check
            return Feedback(
                "failed",
                f"{name} raised {type(error).__name__}: {error}\n  case: {case.description}",
            )
        if not compare(actual, case.expected):
            likely = hint(actual, case) if hint else None
            return Feedback(
                "failed",
                f"{name} gives a wrong answer for {case.description}\n"
                f"  expected: {_short(case.expected)}\n  got:      {_short(actual)}"
                + (f"\n  hint: {likely}" if likely else ""),
            )
    return Feedback("passed", f"{name}: all {len(cases)} cases pass")


# --- Lesson 1: generating text with an RNN --------------------------------------------------------


def check_temperature_probs(
    temperature_probs: Callable[[np.ndarray, float], np.ndarray],
) -> Feedback:
    """``temperature_probs(logits, temperature)``: softmax of logits / temperature (0: one-hot argmax)."""
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    cases = [
        Case(
            (logits, t),
            next_token_probs(logits, temperature=t),
            f"temperature_probs({logits.tolist()}, {t})",
        )
        for t in (1.0, 0.5, 2.0, 0.0)
    ]
    return run_cases(temperature_probs, cases, "temperature_probs")


def check_top_k_probs(top_k_probs: Callable[[np.ndarray, int], np.ndarray]) -> Feedback:
    """``top_k_probs(logits, k)``: the softmax over the ``k`` largest logits, 0 for the rest."""

    def likely_mistake(actual: Any, case: Case) -> str | None:
        logits, k = case.args
        actual = np.asarray(actual, dtype=float)
        if actual.shape != logits.shape:
            return f"return one probability per logit: shape {logits.shape}"
        if not np.isfinite(actual).all():
            return "exp of a large logit overflows: subtract the largest logit first"
        if (actual > 0).sum() != k:
            return f"exactly k = {k} entries should stay above 0"
        if not np.isclose(actual.sum(), 1.0):
            return "renormalize: the kept probabilities must sum to 1"
        if set(np.flatnonzero(actual)) != set(np.flatnonzero(case.expected)):
            return "keep the k LARGEST logits (np.argsort sorts from smallest to largest)"
        return None

    logits = np.array([1.5, -0.5, 3.0, 0.2, 2.1, -2.0])
    cases = [
        Case(
            (logits, k), next_token_probs(logits, top_k=k), f"top_k_probs({logits.tolist()}, k={k})"
        )
        for k in (1, 3, 6)
    ]
    cases.append(
        Case((logits + 1000.0, 2), next_token_probs(logits, top_k=2),
             "top_k_probs(logits + 1000, k=2) (large logits: subtract the maximum before exp)")
    )  # fmt: skip
    return run_cases(top_k_probs, cases, "top_k_probs", hint=likely_mistake)


# --- Lesson 1 lab: word-level generation ----------------------------------------------------------

_VOCAB_TEXTS = [
    ("the cat and the hat", 10, "a short text with a repeated word"),
    ("b a b c b a", 3, "max_size=3: room for <unk> and the two most frequent words"),
    ("c b a", 10, "three words seen once each: ties go in alphabetical order"),
    ("To be, or not to be", 5, "case-sensitive words and punctuation"),
]


def check_build_vocab(build_vocab: Callable[[str, int], list[str]]) -> Feedback:
    """``build_vocab(text, max_size)``: ``<unk>`` first, then words by falling count, ties A-Z."""
    cases = [
        Case((text, size), WordTokenizer.from_text(text, max_size=size).words,
             f"build_vocab({text!r}, max_size={size}) ({why})")
        for text, size, why in _VOCAB_TEXTS
    ]  # fmt: skip
    return run_cases(build_vocab, cases, "build_vocab")


def check_encode_words(encode_words: Callable[[str, list[str]], list[int]]) -> Feedback:
    """``encode_words(text, vocab)``: the id of each word piece, 0 (``<unk>``) for unknown words."""
    vocab = ["<unk>", "the", "cat", ",", "sat"]
    cases = [
        Case(
            ("the cat sat", vocab),
            [1, 2, 4],
            "encode_words('the cat sat', vocab) (all words known)",
        ),
        Case(
            ("the dog sat", vocab),
            [1, 0, 4],
            "encode_words('the dog sat', vocab) ('dog' is unknown: id 0)",
        ),
        Case(
            ("cat, the cat", vocab),
            [2, 3, 1, 2],
            "encode_words('cat, the cat', vocab) (',' is a token)",
        ),
        Case(("", vocab), [], "encode_words('', vocab) (empty text)"),
    ]
    return run_cases(encode_words, cases, "encode_words")


def check_make_windows(
    make_windows: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
) -> Feedback:
    """``make_windows(ids, n)``: non-overlapping inputs of n tokens and targets shifted by one."""
    cases = [
        Case((np.arange(10), 4), windows(np.arange(10), 4), "make_windows(np.arange(10), 4)"),
        Case((np.arange(9), 4), windows(np.arange(9), 4), "make_windows(np.arange(9), 4) (the last target is 8)"),
        Case((np.array([5, 3, 8, 1, 9, 2, 7]), 3), windows(np.array([5, 3, 8, 1, 9, 2, 7]), 3),
             "make_windows([5, 3, 8, 1, 9, 2, 7], 3)"),
    ]  # fmt: skip
    return run_cases(make_windows, cases, "make_windows")


# --- Lesson 2: attention in sequence-to-sequence models -------------------------------------------


def check_masked_softmax(
    masked_softmax: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> Feedback:
    """``masked_softmax(scores, mask)``: softmax over the source where ``mask`` is True, 0 on padding."""
    from .sampling import softmax

    def expected(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return softmax(np.where(mask, scores, -np.inf), axis=-1)

    def likely_mistake(actual: Any, case: Case) -> str | None:
        scores, mask = case.args
        actual = np.asarray(actual, dtype=float)
        if actual.shape != scores.shape:
            return f"return one weight per score: shape {scores.shape}"
        if np.isnan(actual).any():
            return "exp of a large score overflows: subtract the row maximum first"
        if np.allclose(actual, softmax(scores, axis=-1)):
            return "the padding got weight: set masked scores to -inf (or drop them) before the softmax"
        if np.allclose(np.where(mask, softmax(scores, axis=-1), 0.0), actual):
            return "zeroing the padding after the softmax leaves rows that do not sum to 1"
        return None

    padded = np.array([True, True, True, False, False])
    cases = [
        Case((np.array([1.0, 2.0, 3.0]), np.array([True, True, True])),
             expected(np.array([1.0, 2.0, 3.0]), np.array([True, True, True])),
             "masked_softmax([1, 2, 3], mask all True) (no padding: a plain softmax)"),
        Case((np.array([1.0, 2.0, 3.0, 9.0, 9.0]), padded),
             expected(np.array([1.0, 2.0, 3.0, 9.0, 9.0]), padded),
             "masked_softmax([1, 2, 3, 9, 9], mask [T, T, T, F, F]) (the two padding scores are high)"),
        Case((np.array([[0.5, 0.5, 0.5, 0.0, 7.0], [1000.0, 999.0, 0.0, 5.0, 5.0]]), np.stack([padded, padded])),
             expected(np.array([[0.5, 0.5, 0.5, 0.0, 7.0], [1000.0, 999.0, 0.0, 5.0, 5.0]]), np.stack([padded, padded])),
             "two decoder steps at once, one with scores near 1000 (softmax over the last axis)"),
    ]  # fmt: skip
    return run_cases(masked_softmax, cases, "masked_softmax", hint=likely_mistake)


def check_additive_attention(
    additive_attention: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> Feedback:
    """``additive_attention(s, H, W_s, W_h, v)`` for one decoder step: ``(context (Ck,),
    weights (S,))`` with ``score_i = v . tanh(W_s s + W_h H[i])`` and a softmax over i."""
    from .reference import additive_attention as reference
    from .sampling import softmax

    def expected(s, H, W_s, W_h, v):
        params = {"query_proj.weight": W_s, "key_proj.weight": W_h, "energy.weight": v[None]}
        context, weights = reference(s[None], H[None], params)
        return context[0], weights[0]

    def likely_mistake(actual: Any, case: Case) -> str | None:
        s, H, W_s, W_h, v = case.args
        if not (isinstance(actual, tuple) and len(actual) == 2):
            return "return a pair: (context, weights)"
        context, weights = (np.asarray(a, dtype=float) for a in actual)
        if weights.shape != (len(H),) or context.shape != (H.shape[1],):
            return f"weights should have shape (S,) = {(len(H),)} and the context (Ck,) = {(H.shape[1],)}"
        if not np.isclose(weights.sum(), 1.0):
            return "the weights should sum to 1: a softmax over the source positions"
        no_tanh = W_h @ H.T + (W_s @ s)[:, None]  # (A, S), the same sum without the squashing
        if np.allclose(weights, softmax(v @ no_tanh)):
            return "apply tanh to W_s s + W_h h_i before the dot product with v"
        if np.allclose(weights, case.expected[1]):
            return "the weights are right; the context is the weighted sum of the encoder states: weights @ H"
        return None

    rng = np.random.default_rng(2)
    S, Cq, Ck, A = 5, 3, 4, 6
    s, H = rng.normal(size=Cq), rng.normal(size=(S, Ck))
    W_s, W_h, v = rng.normal(size=(A, Cq)), rng.normal(size=(A, Ck)), rng.normal(size=A)
    one_state = H[:1]
    cases = [
        Case((s, H, W_s, W_h, v), expected(s, H, W_s, W_h, v),
             "additive_attention(s, H, W_s, W_h, v) with S=5 source states of width 4, A=6"),
        Case((s, one_state, W_s, W_h, v), expected(s, one_state, W_s, W_h, v),
             "one source state only (its weight must be 1)"),
        Case((s, H, W_s, W_h, 3 * v), expected(s, H, W_s, W_h, 3 * v),
             "v scaled by 3 (sharper weights, same argmax)"),
    ]  # fmt: skip
    return run_cases(additive_attention, cases, "additive_attention", hint=likely_mistake)


# --- Lesson 3: masks and attention ----------------------------------------------------------------


def check_causal_mask(causal_mask_fn: Callable[[int], np.ndarray]) -> Feedback:
    """``causal_mask(T)``: ``(T, T)`` boolean, True where query t may attend key s (s <= t)."""
    from .masks import causal_mask

    def compare(actual: Any, expected: np.ndarray) -> bool:
        actual = np.asarray(actual)
        return (
            actual.dtype == bool
            and actual.shape == expected.shape
            and bool((actual == expected).all())
        )

    cases = [
        Case((T,), causal_mask(T), f"causal_mask({T}) (True = may attend; row t sees 0..t)")
        for T in (1, 3, 5)
    ]
    return run_cases(causal_mask_fn, cases, "causal_mask", compare=compare)


def check_attention(
    attention_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> Feedback:
    """``attention(q, k, v)``: ``(softmax(q k^T / sqrt(D)) v, weights)`` for a 3-token example."""
    from .reference import scaled_dot_product_attention

    q = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])  # (T, D)
    k = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 1.0], [1.0, 0.0, 0.0, 3.0]])  # (S, D)
    v = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # (S, Dv)
    one_hot_keys = np.eye(3, 4) * 4.0  # a query matching one key much better than the others

    def likely_mistake(actual: Any, case: Case) -> str | None:
        """Name the usual slips: wrong shapes, softmax over the wrong axis, no 1/sqrt(D)."""
        q, k, v = case.args
        _, expected_weights = case.expected
        if not (isinstance(actual, tuple) and len(actual) == 2):
            return "return a pair: (output, weights)"
        output, weights = (np.asarray(a) for a in actual)
        if weights.shape != expected_weights.shape or output.shape != case.expected[0].shape:
            return "weights should be (T, S) and the output (T, Dv): scores are q @ k.T"
        if not np.allclose(weights.sum(axis=-1), 1.0):
            return "each row of the weights should sum to 1: softmax over the last axis (the keys)"
        if np.allclose(weights, scaled_dot_product_attention(q * np.sqrt(q.shape[-1]), k, v)[1]):
            return "divide the scores by sqrt(D) before the softmax"
        if np.allclose(weights, expected_weights, atol=1e-6):
            return "the weights are right; the output should be weights @ v"
        return None

    cases = [
        Case((q, k, v), scaled_dot_product_attention(q, k, v),
             "attention(q, k, v) for 3 tokens of width D=4 (output (3, 2), weights (3, 3))"),
        Case((one_hot_keys, one_hot_keys, v), scaled_dot_product_attention(one_hot_keys, one_hot_keys, v),
             "attention(q, q, v) with q = 4 * eye(3, 4): each token mostly attends to itself"),
    ]  # fmt: skip
    return run_cases(attention_fn, cases, "attention", hint=likely_mistake)


# --- Lesson 4: BERT -------------------------------------------------------------------------------

_WORDPIECE_VOCAB = ["[UNK]", "un", "##aff", "##able", "play", "pla", "##y", "##ing", "##s", "a", "##b"]  # fmt: skip


def check_wordpiece(wordpiece: Callable[[str, set[str]], list[str]]) -> Feedback:
    """``wordpiece(word, vocab)``: greedy longest-match-first pieces, ``##`` inside a word,
    ``["[UNK]"]`` for a word that cannot be pieced."""
    vocab = set(_WORDPIECE_VOCAB)
    cases = [
        Case(("unaffable", vocab), ["un", "##aff", "##able"], "wordpiece('unaffable', vocab) (BERT's own example)"),
        Case(("playing", vocab), ["play", "##ing"], "wordpiece('playing', vocab) (longest first: 'play', not 'pla')"),
        Case(("plays", vocab), ["play", "##s"], "wordpiece('plays', vocab) (a continuation piece starts with ##)"),
        Case(("a", vocab), ["a"], "wordpiece('a', vocab) (a whole word in the vocabulary)"),
        Case(("ab", vocab), ["a", "##b"], "wordpiece('ab', vocab)"),
        Case(("playx", vocab), ["[UNK]"], "wordpiece('playx', vocab) (no piece for 'x': the WHOLE word is [UNK])"),
        Case(("b", vocab), ["[UNK]"], "wordpiece('b', vocab) ('##b' only continues a word; 'b' alone is unknown)"),
    ]  # fmt: skip
    return run_cases(wordpiece, cases, "wordpiece")


def check_masked_lm_loss(masked_lm_loss: Callable[[np.ndarray, np.ndarray], float]) -> Feedback:
    """``masked_lm_loss(logits (T, V), labels (T,))``: mean cross-entropy in nats over the
    positions whose label is not -100 (the tokens chosen for prediction)."""

    def expected(logits: np.ndarray, labels: np.ndarray) -> float:
        chosen = labels != IGNORE_INDEX
        shifted = logits[chosen] - logits[chosen].max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return float(-log_probs[np.arange(chosen.sum()), labels[chosen]].mean())

    def compare(actual: Any, expected_loss: float) -> bool:
        try:
            return bool(abs(float(actual) - expected_loss) < 1e-6)
        except (TypeError, ValueError):
            return False

    def likely_mistake(actual: Any, case: Case) -> str | None:
        logits, labels = case.args
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            return "return one number: the mean loss"
        chosen = (labels != IGNORE_INDEX).sum()
        if np.isnan(actual) or np.isinf(actual):
            return "exp of a large logit overflows: subtract each row's maximum first"
        if chosen and abs(actual * len(labels) / chosen - case.expected) < 1e-6:
            return "average over the chosen positions only, not over every position"
        if chosen > 1 and abs(actual - case.expected * chosen) < 1e-6:
            return "the loss is the mean over chosen positions, not the sum"
        return None

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 5))
    all_chosen = np.array([0, 3, 1, 4, 2, 2])
    some_chosen = np.where([0, 1, 0, 0, 1, 0], all_chosen, IGNORE_INDEX)  # [-100, 3, -100, ...]
    big = logits * 500.0
    cases = [
        Case((logits, all_chosen), expected(logits, all_chosen),
             "6 positions, every one chosen (a plain mean cross-entropy)"),
        Case((logits, some_chosen), expected(logits, some_chosen),
             "6 positions, 2 chosen (labels -100 elsewhere: those positions do not count)"),
        Case((big, some_chosen), expected(big, some_chosen),
             "the same with logits of size ~500 (a naive exp overflows)"),
    ]  # fmt: skip
    return run_cases(masked_lm_loss, cases, "masked_lm_loss", compare=compare, hint=likely_mistake)


# --- Lesson 5: GPT-2 internals --------------------------------------------------------------------


def check_block_parameters(block_parameters: Callable[[int], int]) -> Feedback:
    """``block_parameters(d_model)``: parameters of one GPT-2 block (attention + MLP + 2 norms)."""
    from .models.gpt2 import GPT2Config, parameter_table

    def one_block(d_model: int, n_heads: int) -> int:
        table = parameter_table(
            GPT2Config(vocab_size=1, max_len=1, d_model=d_model, n_heads=n_heads, n_layers=1)
        )
        return table["attention"] + table["mlp"] + table["layer norms"]

    cases = [
        Case((d,), one_block(d, h), f"block_parameters({d}) ({why})")
        for d, h, why in [
            (768, 12, "GPT-2 small: 2,362,368 attention + 4,722,432 MLP + 3,072 layer norms"),
            (4, 1, "a tiny width you can count by hand"),
            (1600, 25, "GPT-2 XL"),
        ]
    ]
    return run_cases(block_parameters, cases, "block_parameters")


def check_bpe_merge(merge: Callable[[list[int], tuple[int, int], int], list[int]]) -> Feedback:
    """``merge(ids, pair, new_id)``: replace every non-overlapping ``pair``, left to right."""

    def compare(actual: Any, expected: list[int]) -> bool:
        return [int(i) for i in actual] == expected if isinstance(actual, (list, tuple)) else False

    cases = [
        Case(([5, 6, 7, 5, 6], (5, 6), 99), [99, 7, 99], "merge([5, 6, 7, 5, 6], (5, 6), 99) (two separate pairs)"),
        Case(([1, 1, 1], (1, 1), 9), [9, 1], "merge([1, 1, 1], (1, 1), 9) (overlapping: the left pair wins)"),
        Case(([1, 1, 1, 1], (1, 1), 9), [9, 9], "merge([1, 1, 1, 1], (1, 1), 9) (two pairs, not three)"),
        Case(([3, 4, 3], (4, 5), 7), [3, 4, 3], "merge([3, 4, 3], (4, 5), 7) (pair absent: unchanged)"),
        Case(([2, 3], (3, 2), 8), [2, 3], "merge([2, 3], (3, 2), 8) (order matters: (3, 2) is not (2, 3))"),
        Case(([], (1, 2), 3), [], "merge([], (1, 2), 3) (empty list)"),
    ]  # fmt: skip
    return run_cases(merge, cases, "bpe_merge", compare=compare)
