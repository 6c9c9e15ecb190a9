"""The float64 reference against hand-computed softmax attention and analytic cases."""

import math

import numpy as np
import pytest

from neuroattn.attention import reference_attention, visible_keys


def _by_hand(q, k, v, allowed, scale):
    out = np.zeros((q.shape[0], v.shape[1]))
    for i in range(q.shape[0]):
        logits = [scale * float(q[i] @ k[j]) for j in range(k.shape[0]) if allowed[i, j]]
        js = [j for j in range(k.shape[0]) if allowed[i, j]]
        if not js:
            continue
        top = max(logits)
        w = [math.exp(x - top) for x in logits]
        for weight, j in zip(w, js):
            out[i] += weight / sum(w) * v[j]
    return out


def test_matches_a_softmax_computed_by_hand():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    mask = rng.random((5, 7)) > 0.3
    mask[2] = False
    got = reference_attention(q, k, v, mask=mask, temperature=2.0)
    want = _by_hand(q, k, v, mask, 1 / (math.sqrt(3) * 2.0))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert np.all(got[2] == 0)  # a query that sees no key gets zeros


def test_weights_rows_sum_to_one_and_respect_the_mask():
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 9, 4)), rng.normal(size=(2, 11, 4)), rng.normal(size=(2, 11, 3))
    mask = rng.random((2, 9, 11)) > 0.5
    mask[:, :, 0] = True
    _, w = reference_attention(q, k, v, mask=mask, causal=True, return_weights=True)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-14)
    assert np.all(w[~(mask & visible_keys(9, 11, causal=True))] == 0)


def test_equal_logits_give_the_mean_of_the_values():
    v = np.arange(12.0).reshape(6, 2)
    out = reference_attention(np.ones((3, 4)), np.zeros((6, 4)), v)
    np.testing.assert_allclose(out, np.tile(v.mean(0), (3, 1)), rtol=1e-15)


def test_huge_logits_are_stable_and_select_the_best_key():
    k = np.eye(4) * 1e4
    q = np.eye(4)[[2, 0]]
    v = np.arange(4.0)[:, None]
    out = reference_attention(q, k, v, scale=1.0)
    np.testing.assert_array_equal(out, [[2.0], [0.0]])


def test_temperature_divides_the_scale():
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(4, 5)) for _ in range(3))
    np.testing.assert_allclose(reference_attention(q, k, v, scale=0.6, temperature=3.0),
                               reference_attention(q, k, v, scale=0.2), rtol=1e-14)


@pytest.mark.parametrize("causal", [False, True])
def test_visible_keys_window_and_global_tokens(causal):
    got = visible_keys(6, 6, causal=causal, window=1, global_tokens=[4])
    i, j = np.indices((6, 6))
    want = (np.abs(i - j) <= 1) | (i == 4) | (j == 4)
    if causal:
        want &= j <= i
    np.testing.assert_array_equal(got, want)


def test_float32_reference_is_computed_in_float32():
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=(8, 4)) for _ in range(3))
    lo = reference_attention(q, k, v, dtype=np.float32)
    hi = reference_attention(q, k, v)
    assert lo.dtype == np.float32
    assert 0 < np.abs(lo - hi).max() < 1e-5
