"""The Vogels-Abbott CUBA network (Brette et al. 2007) against the Brian2 reference.

4000 LIF neurons x 1 s, five seeds (each seed draws the connectivity and the initial
potentials). Statistics of the whole network over the window [0.2, 1.0) s, after the
initial transient:

- rate: spikes / (neurons x 0.8 s);
- CV of the ISIs: std / mean of each neuron's inter-spike intervals (neurons with at
  least 3 spikes in the window), averaged over neurons;
- Fano factor: each neuron's spike counts in the eight 100 ms windows, variance
  (ddof = 1) / mean (neurons with at least one spike), averaged over neurons.

Averaged over the seeds, a backend's rate must be within 5 % and its CV and Fano
factor within 10 % of Brian2's (numpy target).
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.backends import simulate
from neuroattn.model.library import cuba

N, DURATION, SEEDS, T0 = 4000, 1.0, range(5), 0.2

pytestmark = pytest.mark.xdist_group("cuba")  # one worker computes the reference once


def cuba_statistics(rec, n=N, t0=T0, t1=DURATION) -> tuple[float, float, float]:
    """(rate in Hz, mean CV of ISIs, mean Fano factor) of trial 0 over [t0, t1)."""
    n_exc = int(round(0.8 * n))
    idx = np.concatenate([rec.spikes[0]["exc"][0], rec.spikes[0]["inh"][0] + n_exc])
    t = np.concatenate([rec.spikes[0]["exc"][1], rec.spikes[0]["inh"][1]])
    keep = (t >= t0 - 1e-9) & (t < t1 - 1e-9)
    idx, t = idx[keep], t[keep]
    rate = idx.size / (n * (t1 - t0))
    order = np.lexsort((t, idx))
    idx, t = idx[order], t[order]
    bounds = np.searchsorted(idx, np.arange(n + 1))
    cvs = []
    for i in range(n):
        isi = np.diff(t[bounds[i]:bounds[i + 1]])
        if isi.size >= 2:
            cvs.append(isi.std() / isi.mean())
    n_win = int(round((t1 - t0) / 0.1))
    win = np.minimum(((t - t0) / 0.1 + 1e-9).astype(int), n_win - 1)
    counts = np.zeros((n, n_win))
    np.add.at(counts, (idx, win), 1)
    mean = counts.mean(axis=1)
    fano = counts[mean > 0].var(axis=1, ddof=1) / mean[mean > 0]
    return rate, float(np.mean(cvs)), float(fano.mean())


def _run(backend: str, seed: int):
    return simulate(cuba(N, seed=seed, spikes=True), duration=DURATION, seed=seed,
                    backend=backend)


@pytest.fixture(scope="module")
def brian2_statistics():
    """Rate, CV and Fano factor of Brian2 (numpy target), averaged over the seeds."""
    return np.mean([cuba_statistics(_run("brian2", s)) for s in SEEDS], axis=0)


@pytest.mark.slow
@pytest.mark.features("lif", "spikes_probe", "cuba")
def test_cuba_statistics_match_brian2(backend, request):
    rate, cv, fano = np.mean([cuba_statistics(_run(backend, s)) for s in SEEDS], axis=0)
    ref_rate, ref_cv, ref_fano = request.getfixturevalue("brian2_statistics")
    # the reference is the published regime: low-rate, irregular, asynchronous firing
    assert 2.0 < ref_rate < 20.0 and 0.3 < ref_cv < 1.2 and 0.3 < ref_fano < 2.0
    assert rate == pytest.approx(ref_rate, rel=0.05)
    assert cv == pytest.approx(ref_cv, rel=0.10)
    assert fano == pytest.approx(ref_fano, rel=0.10)


@pytest.mark.features("lif", "spikes_probe", "cuba")
def test_cuba_is_bit_identical_run_to_run(backend):
    first, second = _run(backend, 3), _run(backend, 3)
    for pop in ("exc", "inh"):
        assert first.spikes[0][pop][0].size > 1000
        np.testing.assert_array_equal(first.spikes[0][pop][0], second.spikes[0][pop][0])
        np.testing.assert_array_equal(first.spikes[0][pop][1], second.spikes[0][pop][1])
    np.testing.assert_array_equal(first.rates, second.rates)
