"""Every self-check accepts a correct answer and rejects plausible wrong ones, saying what is wrong."""

from collections import Counter

import numpy as np

from lessonkit import exercises
from lessonkit.text import WordTokenizer


def build_vocab(text, max_size):
    counts = Counter(WordTokenizer.split(text))
    return ["<unk>"] + sorted(counts, key=lambda w: (-counts[w], w))[: max_size - 1]


def build_vocab_without_tie_order(text, max_size):
    return ["<unk>"] + [w for w, _ in Counter(WordTokenizer.split(text)).most_common(max_size - 1)]


def encode_words(text, vocab):
    index = {w: i for i, w in enumerate(vocab)}
    return [index.get(p, 0) for p in WordTokenizer.split(text)]


def make_windows(ids, n):
    count = (len(ids) - 1) // n
    return np.asarray(ids)[: count * n].reshape(count, n), np.asarray(ids)[
        1 : count * n + 1
    ].reshape(count, n)


def todo(*args):
    raise NotImplementedError


def test_correct_answers_pass():
    assert exercises.check_build_vocab(build_vocab).passed
    assert exercises.check_encode_words(encode_words).passed
    assert exercises.check_make_windows(make_windows).passed
    assert exercises.check_temperature_probs(
        lambda logits, t: (
            np.eye(len(logits))[np.argmax(logits)]
            if t == 0
            else np.exp(logits / t) / np.exp(logits / t).sum()
        )
    ).passed


def test_unfinished_todo_reports_not_done_instead_of_raising():
    for check in (
        exercises.check_build_vocab,
        exercises.check_encode_words,
        exercises.check_make_windows,
    ):
        feedback = check(todo)
        assert feedback.status == "not done" and "not done yet" in repr(feedback)


def test_wrong_tie_order_is_caught_with_expected_and_actual():
    feedback = exercises.check_build_vocab(build_vocab_without_tie_order)
    assert feedback.status == "failed"
    assert "build_vocab('the cat and the hat', max_size=10)" in feedback.message
    assert "expected: ['<unk>', 'the', 'and', 'cat', 'hat']" in feedback.message
    assert "got:      ['<unk>', 'the', 'cat', 'and', 'hat']" in feedback.message


def test_forgetting_unk_is_caught():
    feedback = exercises.check_encode_words(
        lambda text, vocab: [vocab.index(p) for p in text.split()]
    )
    assert feedback.status == "failed" and "'dog' is unknown" in feedback.message


def test_overlapping_windows_are_caught():
    def overlapping(ids, n):
        ids = np.asarray(ids)
        starts = range(len(ids) - n)
        return np.array([ids[s : s + n] for s in starts]), np.array(
            [ids[s + 1 : s + n + 1] for s in starts]
        )

    feedback = exercises.check_make_windows(overlapping)
    assert feedback.status == "failed" and "make_windows(np.arange(10), 4)" in feedback.message


def test_temperature_without_division_is_caught_and_exceptions_are_reported():
    feedback = exercises.check_temperature_probs(
        lambda logits, t: np.exp(logits) / np.exp(logits).sum()
    )
    assert feedback.status == "failed" and "0.5" in feedback.message
    crashed = exercises.check_temperature_probs(lambda logits, t: logits / 0 if t == 0 else 1 / 0)
    assert crashed.status == "failed" and "ZeroDivisionError" in crashed.message


# --- Lesson 3 and Lesson 5 checks ---------------------------------------------------------------


def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool))


def attention(q, k, v):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights = weights / weights.sum(-1, keepdims=True)
    return weights @ v, weights


def block_parameters(d):
    attention_part = d * 3 * d + 3 * d + d * d + d
    mlp_part = d * 4 * d + 4 * d + 4 * d * d + d
    return attention_part + mlp_part + 4 * d


def bpe_merge(ids, pair, new_id):
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def test_lesson3_and_lesson5_correct_answers_pass():
    assert exercises.check_causal_mask(causal_mask).passed
    assert exercises.check_attention(attention).passed
    assert exercises.check_block_parameters(block_parameters).passed
    assert exercises.check_block_parameters(lambda d: 12 * d * d + 13 * d).passed
    assert exercises.check_bpe_merge(bpe_merge).passed


def test_lesson3_and_lesson5_todos_report_not_done():
    for check in (
        exercises.check_causal_mask,
        exercises.check_attention,
        exercises.check_block_parameters,
        exercises.check_bpe_merge,
    ):
        feedback = check(todo)
        assert feedback.status == "not done" and "not done yet" in repr(feedback)


def test_mask_looking_at_the_future_is_caught():
    feedback = exercises.check_causal_mask(lambda T: np.triu(np.ones((T, T), dtype=bool)))
    assert feedback.status == "failed" and "causal_mask(3)" in feedback.message
    assert "expected: [[ True False False]" in feedback.message
    assert "got:      [[ True  True  True]" in feedback.message
    # right pattern, wrong convention (1/0 ints, or True = blocked as in torch.nn.MultiheadAttention)
    assert not exercises.check_causal_mask(lambda T: np.tril(np.ones((T, T), dtype=int))).passed
    assert not exercises.check_causal_mask(lambda T: ~causal_mask(T)).passed


def test_attention_without_scaling_or_with_the_wrong_softmax_axis_is_caught():
    def unscaled(q, k, v):
        return attention(q * np.sqrt(q.shape[-1]), k, v)

    feedback = exercises.check_attention(unscaled)
    assert feedback.status == "failed" and "attention(q, k, v) for 3 tokens" in feedback.message
    assert "expected:" in feedback.message and "got:" in feedback.message

    def softmax_over_queries(q, k, v):
        scores = q @ k.T / np.sqrt(q.shape[-1])
        weights = np.exp(scores) / np.exp(scores).sum(0, keepdims=True)
        return weights @ v, weights

    feedback = exercises.check_attention(softmax_over_queries)
    assert feedback.status == "failed" and "softmax over the last axis" in feedback.message
    assert "sqrt(D)" in exercises.check_attention(unscaled).message

    def output_from_scores(q, k, v):
        output, weights = attention(q, k, v)
        return (q @ k.T) @ v, weights

    assert "should be weights @ v" in exercises.check_attention(output_from_scores).message


def test_block_count_without_biases_or_layer_norms_is_caught():
    feedback = exercises.check_block_parameters(lambda d: 12 * d * d)
    assert feedback.status == "failed" and "block_parameters(768)" in feedback.message
    assert "expected: 7087872" in feedback.message and "got:      7077888" in feedback.message
    assert not exercises.check_block_parameters(lambda d: 12 * d * d + 9 * d).passed


def test_overlapping_or_reversed_bpe_merges_are_caught():
    def merge_overlapping(ids, pair, new_id):
        out = list(ids)
        for i in range(len(ids) - 1):
            if (ids[i], ids[i + 1]) == tuple(pair):
                out[i] = new_id
                out[i + 1] = None
        return [t for t in out if t is not None]

    def merge_unordered(ids, pair, new_id):
        return (
            bpe_merge(ids, pair, new_id)
            if pair[0] <= pair[1]
            else bpe_merge(ids, pair[::-1], new_id)
        )

    feedback = exercises.check_bpe_merge(merge_overlapping)
    assert feedback.status == "failed" and "merge([1, 1, 1], (1, 1), 9)" in feedback.message
    assert "expected: [9, 1]" in feedback.message and "got:      [9, 9]" in feedback.message
    feedback = exercises.check_bpe_merge(merge_unordered)
    assert feedback.status == "failed" and "order matters" in feedback.message


# --- Lessons 2 and 4 ---------------------------------------------------------------------------


def masked_softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def masked_lm_loss(logits, labels):
    chosen = labels != -100
    z = logits[chosen] - logits[chosen].max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -log_probs[np.arange(chosen.sum()), labels[chosen]].mean()


def test_lesson2_and_lesson4_correct_answers_pass_and_todos_say_not_done():
    assert exercises.check_masked_softmax(masked_softmax).passed
    assert exercises.check_wordpiece(wordpiece).passed
    assert exercises.check_masked_lm_loss(masked_lm_loss).passed
    for check in (
        exercises.check_masked_softmax,
        exercises.check_wordpiece,
        exercises.check_masked_lm_loss,
    ):
        assert check(todo).status == "not done"


def test_masked_softmax_mistakes_are_named():
    def unmasked(scores, mask):
        return masked_softmax(scores, np.ones_like(mask))

    def zeroed_after(scores, mask):
        return np.where(mask, masked_softmax(scores, np.ones_like(mask)), 0.0)

    def unstable(scores, mask):
        e = np.where(mask, np.exp(scores), 0.0)
        return e / e.sum(axis=-1, keepdims=True)

    feedback = exercises.check_masked_softmax(unmasked)
    assert feedback.status == "failed" and "padding got weight" in feedback.message
    assert "do not sum to 1" in exercises.check_masked_softmax(zeroed_after).message
    with np.errstate(over="ignore", invalid="ignore"):
        feedback = exercises.check_masked_softmax(unstable)
    assert "near 1000" in feedback.message and "subtract the row maximum" in feedback.message


def test_wordpiece_mistakes_are_caught():
    def shortest_first(word, vocab):
        pieces, start = [], 0
        while start < len(word):
            for end in range(start + 1, len(word) + 1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
            else:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def partial_unk(word, vocab):
        pieces = wordpiece(word, vocab)
        return ["play", "[UNK]"] if word == "playx" else pieces

    def without_hashes(word, vocab):
        return [p.removeprefix("##") for p in wordpiece(word, vocab)]

    feedback = exercises.check_wordpiece(shortest_first)
    assert feedback.status == "failed" and "wordpiece('playing', vocab)" in feedback.message
    assert "WHOLE word is [UNK]" in exercises.check_wordpiece(partial_unk).message
    assert not exercises.check_wordpiece(without_hashes).passed


def test_masked_lm_loss_mistakes_are_named():
    def over_every_position(logits, labels):
        return masked_lm_loss(logits, labels) * (labels != -100).sum() / len(labels)

    def summed(logits, labels):
        return masked_lm_loss(logits, labels) * (labels != -100).sum()

    def unstable(logits, labels):
        chosen = labels != -100
        probs = np.exp(logits[chosen]) / np.exp(logits[chosen]).sum(axis=-1, keepdims=True)
        return -np.log(probs[np.arange(chosen.sum()), labels[chosen]]).mean()

    feedback = exercises.check_masked_lm_loss(over_every_position)
    assert "2 chosen" in feedback.message and "chosen positions only" in feedback.message
    assert "not the sum" in exercises.check_masked_lm_loss(summed).message
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        feedback = exercises.check_masked_lm_loss(unstable)
    assert "size ~500" in feedback.message and "overflows" in feedback.message


def additive_attention(s, H, W_s, W_h, v):
    scores = np.array([v @ np.tanh(W_s @ s + W_h @ h) for h in H])
    weights = np.exp(scores - scores.max())
    weights = weights / weights.sum()
    return weights @ H, weights


def test_additive_attention_check_accepts_a_loop_and_names_the_usual_slips():
    assert exercises.check_additive_attention(additive_attention).passed
    assert exercises.check_additive_attention(todo).status == "not done"

    def without_tanh(s, H, W_s, W_h, v):
        scores = np.array([v @ (W_s @ s + W_h @ h) for h in H])
        weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        return weights @ H, weights

    def context_of_scores(s, H, W_s, W_h, v):
        _, weights = additive_attention(s, H, W_s, W_h, v)
        return H.sum(axis=0), weights

    def no_softmax(s, H, W_s, W_h, v):
        scores = np.array([v @ np.tanh(W_s @ s + W_h @ h) for h in H])
        return scores @ H, scores

    assert "apply tanh" in exercises.check_additive_attention(without_tanh).message
    assert "weights @ H" in exercises.check_additive_attention(context_of_scores).message
    assert "sum to 1" in exercises.check_additive_attention(no_softmax).message


def top_k_probs(logits, k):
    logits = np.asarray(logits, dtype=float)
    keep = np.argsort(logits)[-k:]
    scores = np.full_like(logits, -np.inf)
    scores[keep] = logits[keep]
    weights = np.exp(scores - scores.max())
    return weights / weights.sum()


def test_top_k_check_accepts_a_solution_and_names_the_usual_slips():
    assert exercises.check_top_k_probs(top_k_probs).passed
    assert exercises.check_top_k_probs(todo).status == "not done"

    def smallest(logits, k):
        return top_k_probs(-np.asarray(logits), k)

    def not_renormalized(logits, k):
        probs = top_k_probs(logits, len(logits))
        return np.where(top_k_probs(logits, k) > 0, probs, 0.0)

    def overflowing(logits, k):
        logits = np.asarray(logits, dtype=float)
        weights = np.where(
            np.isin(np.arange(len(logits)), np.argsort(logits)[-k:]), np.exp(logits), 0
        )
        return weights / weights.sum()

    feedback = exercises.check_top_k_probs(smallest)
    assert feedback.status == "failed" and "LARGEST" in feedback.message
    assert "renormalize" in exercises.check_top_k_probs(not_renormalized).message
    with np.errstate(over="ignore", invalid="ignore"):
        feedback = exercises.check_top_k_probs(overflowing)
    assert "logits + 1000" in feedback.message and "overflows" in feedback.message
