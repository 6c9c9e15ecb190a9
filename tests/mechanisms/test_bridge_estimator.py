"""The bridge's spike counts (``window_counts``) and its JS estimator (``window_js``)."""

import math

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import js_divergence
from neuroattn.mechanisms.base import row_shares, window_counts
from neuroattn.model import Recording
from neuroattn.study.experiment import window_js

#: a workspace-like population of inputs: half at rest (the first item wins almost every
#: spike, few spikes), half ignited on the second item (many spikes)
_REST, _IGNITED = np.array([0.98, 0.02]), np.array([0.03, 0.97])


def _draws(rng, n_rest: int, n_ignited: int = 150, inputs: int = 4000):
    truth = np.repeat([_REST, _IGNITED], inputs // 2, axis=0)
    n = np.repeat([n_rest, n_ignited], inputs // 2)
    return np.array([rng.multinomial(k, p) for k, p in zip(n, truth)], float), truth


@pytest.mark.parametrize("seed", [3, 17, 2024])
def test_window_js_weighted_mean_is_the_unbiased_one(seed):
    """Counts drawn from known shares, scored against those very shares (a layer that
    is exactly the circuit): the spike-weighted mean stays near 0 however few spikes the
    resting inputs fire; the plain mean grows as they fire fewer. A plain mean in place
    of the weighted one fails the first assertion."""
    rng = np.random.default_rng(seed)
    weighted, plain = [], []
    for n_rest in (64, 8, 2, 1):
        counts, truth = _draws(rng, n_rest)
        r = window_js(counts, truth)
        weighted.append(r.weighted)
        plain.append(r.plain)
        assert r.silent == 0
    # the weighted estimate: ~(K - 1) / 8 per input over all spikes (<= 0.0025 here)
    assert max(weighted) < 0.003, weighted
    # the plain mean: the resting inputs' sampling, growing as their spikes fall
    assert plain[0] < plain[1] < plain[3], plain
    # at one resting spike: ~0.0103 expected (0.98 x 0.0101 + 0.02 x 0.53, on half the
    # inputs), five times the weighted mean or more
    assert plain[3] > max(0.007, 5 * max(weighted)), (plain, weighted)


def test_window_js_weighs_each_input_by_its_spikes():
    c = np.array([[10, 0], [0, 1], [0, 0]])
    w = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]])
    r = window_js(c, w)
    assert r.silent == 1
    assert math.isclose(r.plain, math.log(2) / 2)
    assert math.isclose(r.weighted, math.log(2) / 11)
    # the weighted mean is the divergence per spike: 11 single-spike inputs alike
    ones = np.array([[1, 0]] * 10 + [[0, 1]])
    single = window_js(ones, np.repeat([[1.0, 0.0]], 11, axis=0))
    assert math.isclose(single.weighted, r.weighted) and math.isclose(single.plain,
                                                                       r.weighted)
    # a layer that wrote nothing where the circuit fired: log 2 on those spikes
    assert math.isclose(window_js([[3, 1]], [[np.nan, np.nan]]).weighted, math.log(2))
    none = window_js(np.zeros((2, 2)), np.full((2, 2), 0.5))
    assert math.isnan(none.weighted) and math.isnan(none.plain) and none.silent == 2


@pytest.mark.parametrize("counts, weights, match", [
    (np.ones((3, 2)), np.ones((3, 3)), r"window_js: expected spike counts and weights of "
                                       r"one shape \[inputs, K\] \(got \(3, 2\) and \(3, 3\)\)"),
    (-np.ones((2, 2)), np.ones((2, 2)), r"window_js\.spike_counts: expected finite counts "
                                        r">= 0 \(got min -1"),
    (np.full((2, 2), np.nan), np.ones((2, 2)), r"window_js\.spike_counts: expected finite"),
])
def test_window_js_refuses_what_is_not_counts_against_weights(counts, weights, match):
    with pytest.raises(ValidationError, match=match):
        window_js(counts, weights)


def _recording(rates, neurons=None, bin_width=5e-3):
    meta = {} if neurons is None else {"neurons": neurons}
    return Recording(rates, bin_width, ("a", "b", "x"), meta=meta,
                     roles={"items": ("a", "b"), "other": ("x",)})


def test_window_counts_turn_rates_per_neuron_into_spikes():
    """Oracle: spikes placed by hand in bins of 5 ms, recorded as rates per neuron."""
    rng = np.random.default_rng(11)
    sizes = {"a": 40, "b": 7, "x": 3}
    spikes = rng.integers(0, 6, (4, 20, 3)).astype(float)
    rates = spikes / (5e-3 * np.array([40, 7, 3]))
    rec = _recording(rates, sizes)
    counts = window_counts(rec, 0.02, (0.01, 0.05))
    np.testing.assert_array_equal(counts[0.01], spikes[:, 4:6, :2].sum(axis=1))
    np.testing.assert_array_equal(counts[0.05], spikes[:, 4:14, :2].sum(axis=1))
    np.testing.assert_array_equal(window_counts(rec, 0.0, (0.1,), role="other")[0.1],
                                  spikes[:, :, 2:].sum(axis=1))
    # explicit sizes stand in for the meta; the shares are the counts' row shares
    alone = window_counts(_recording(rates), 0.02, (0.05,), neurons=[40, 7])
    np.testing.assert_array_equal(alone[0.05], counts[0.05])
    np.testing.assert_allclose(row_shares(counts[0.05]).sum(axis=1), 1.0)


@pytest.mark.parametrize("rec, kwargs, match", [
    (_recording(np.zeros((1, 4, 3))), {}, r"window_counts\.neurons: the Recording's meta does "
                                          r"not give the size of units \['a', 'b'\]"),
    (_recording(np.zeros((1, 4, 3))), {"neurons": [4]},
     r"window_counts\.neurons: expected 2 positive ints, one per unit of 'items' \(got \[4\]\)"),
    (_recording(np.zeros((1, 4, 3))), {"neurons": [4.0, 2.0]},
     r"window_counts\.neurons: expected 2"),
    (_recording(np.zeros((1, 4, 3)), {"a": 4, "b": 4}), {"role": "unit"},
     r"window_counts\.rec: expected a Recording with the read-out role 'unit'"),
    (_recording(np.full((1, 4, 3), 30.0), {"a": 4, "b": 4}), {},
     r"window_counts\.rec: expected rates of whole spikes per bin"),
])
def test_window_counts_refuse_what_they_cannot_count(rec, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        window_counts(rec, 0.0, (0.01,), **kwargs)


def test_js_of_the_row_shares_equals_js_of_the_counts():
    """window_js scores counts as the shares they make: normalising first changes nothing."""
    rng = np.random.default_rng(5)
    c = rng.integers(0, 9, (30, 3)).astype(float)
    c[c.sum(axis=1) == 0, 0] = 1.0
    w = rng.dirichlet(np.ones(3), 30)
    np.testing.assert_allclose(js_divergence(row_shares(c), w), js_divergence(c, w))
    d = js_divergence(row_shares(c), w)
    assert math.isclose(window_js(c, w).weighted, float((c.sum(1) * d).sum() / c.sum()))
