"""Properties of simulations and of the results store, over random inputs."""

import math
import tomllib

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroattn.backends import simulate
from neuroattn.model import Drive, FixedProbability, Network, Population, Probe, Projection, \
    Stimulus
from neuroattn.neurons import LIFParams, lif_rate
from neuroattn.study import save_run, to_toml

SETTINGS = settings(max_examples=12, deadline=None)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40), p=st.floats(0.0, 0.5),
       sigma=st.floats(0.0, 5e-3), current=st.floats(0.0, 400e-12))
def test_a_neuron_spikes_at_most_once_per_step_and_rates_match_spike_counts(seed, n, p, sigma,
                                                                            current):
    net = Network([Population("a", n, LIFParams(sigma=sigma, t_ref=0.0))],
                  [Projection("a", "a", 30e-12, FixedProbability(p, seed=seed))],
                  probes=[Probe("a", "rate", 1e-3), Probe("a", "spikes")])
    stim = Stimulus(np.ones((50, 1)), 1e-3, [Drive(0, "a", gain=current)])
    rec = simulate(net, stim, dt=1e-4, seed=seed % 1000, trials=2, backend="numba")
    for t in range(2):
        idx, times = rec.spikes[t]["a"]
        steps = np.round(times / 1e-4).astype(np.int64)
        pairs = idx * 10_000 + steps
        assert np.unique(pairs).size == pairs.size  # no neuron fires twice in one step
        counts = rec.rates[t, :, 0].sum() * n * 1e-3
        assert math.isclose(counts, idx.size, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=6, deadline=None)
@given(current=st.floats(250e-12, 800e-12))
def test_lif_rate_error_shrinks_as_dt_halves(current):
    p = LIFParams()
    net = Network([Population("a", 1, p)], probes=[Probe("a", "rate", 1e-3),
                                                   Probe("a", "spikes")])
    stim = Stimulus(np.ones((1000, 1)), 1e-3, [Drive(0, "a", gain=current)])
    target = lif_rate(current, p)
    errors = []
    for dt in (5e-4, 2.5e-4, 1.25e-4, 6.25e-5):
        rec = simulate(net, stim, dt=dt, seed=0, backend="numba")
        times = rec.spikes[0]["a"][1]
        errors.append(abs(1.0 / np.diff(times[1:]).mean() - target) / target)
    # on the grid the threshold crossing and the end of refractoriness each move by
    # less than one step, so the relative error is below 2 dt / ISI and halves with dt
    for e, dt in zip(errors, (5e-4, 2.5e-4, 1.25e-4, 6.25e-5)):
        assert e <= 2 * dt * target, (dt, e)
    assert errors[-1] <= errors[0]


_scalars = st.one_of(st.integers(-10**6, 10**6), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False, width=64),
                     st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                             max_size=12))
_keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_configs = st.recursive(st.dictionaries(_keys, _scalars | st.lists(st.integers(0, 9),
                                                                       max_size=4), max_size=4),
                        lambda inner: st.dictionaries(_keys, inner, min_size=1, max_size=3),
                        max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(config=_configs)
def test_config_toml_round_trips(config):
    assert tomllib.loads(to_toml(config)) == config


@SETTINGS
@given(rows=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["valid", "invalid"]),
                               st.floats(0.0, 1.0)), min_size=1, max_size=30))
def test_trials_csv_round_trips(tmp_path_factory, rows):
    table = pd.DataFrame(rows, columns=["trial", "condition", "rt"])
    path = save_run(tmp_path_factory.mktemp("store") / "run", {"a": 1}, {}, table)
    back = pd.read_csv(path / "trials.csv")
    pd.testing.assert_frame_equal(back, table, check_dtype=False, rtol=1e-8)
