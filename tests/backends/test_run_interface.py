"""The simulate() contract: validation messages, Recording layout and meta, NaN errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neuroattn.exceptions import SimulationError, ValidationError
from neuroattn.model import Drive, Network, Population, Probe, Stimulus
from neuroattn.neurons import LIFParams


def _net():
    return Network([Population("a", 3, LIFParams()), Population("b", 2, LIFParams())],
                   probes=[Probe("b", "rate", 0.01), Probe("a", "rate", 0.01)], name="pair")


def test_stimulus_dt_not_a_multiple_of_dt_is_rejected(sim):
    stim = Stimulus(np.ones((4, 1)), 1.5e-4, [Drive(0, "a", gain=1e-10)])
    msg = ("Stimulus.dt: must be a whole multiple of the simulation dt 0.0001 s "
           "(got 0.00015 s)")
    with pytest.raises(ValidationError, match=re.escape(msg)):
        sim(_net(), stim, dt=1e-4)


def test_trials_mismatch_is_rejected(sim):
    stim = Stimulus(np.ones((3, 4, 1)), 1e-3, [Drive(0, "a", gain=1e-10)])
    msg = "simulate.trials: the stimulus holds 3 trials (got trials=2)"
    with pytest.raises(ValidationError, match=re.escape(msg)):
        sim(_net(), stim, trials=2)


def test_drive_onto_unknown_population_is_rejected(sim):
    stim = Stimulus(np.ones((4, 1)), 1e-3, [Drive(0, "zz", gain=1e-10)])
    with pytest.raises(ValidationError, match=re.escape(
            "Drive(channel=0, population='zz').population: no such population")):
        sim(_net(), stim)


@pytest.mark.features("lif")
def test_recording_layout_and_meta(sim, backend):
    stim = Stimulus(np.ones((2, 5, 1)), 2e-3, [Drive(0, "a", gain=1e-9)])  # first spike 4.5 ms
    rec = sim(_net(), stim, duration=0.025, dt=1e-4, seed=3)
    assert rec.rates.shape == (2, 2, 2)  # 25 ms in 10 ms bins: the partial bin is dropped
    assert rec.units == ("b", "a")
    assert rec.bin_width == pytest.approx(0.01)
    assert rec.rates.dtype == np.float64
    assert np.all(rec.unit("b") == 0.0) and np.all(rec.unit("a")[:, 0] > 0.0)
    meta = rec.meta
    assert meta["backend"] == backend
    assert meta["dt"] == pytest.approx(1e-4)
    assert (meta["seed"], meta["trials"], meta["network"]) == (3, 2, "pair")
    assert meta["duration"] == pytest.approx(0.025)
    assert rec.spikes is None and rec.v is None  # nothing asked for


@pytest.mark.features("lif", "nan_check")
def test_nan_in_a_population_raises_simulation_error(sim):
    """A 1e306 A drive from 20 ms on overflows 'b': SimulationError names 'b'."""
    vals = np.zeros((6, 2))
    vals[2:, 1] = 1.0
    stim = Stimulus(vals, 0.01, [Drive(0, "a", gain=100e-12), Drive(1, "b", gain=1e306)])
    with pytest.raises(SimulationError, match=r"population 'b'.*NaN or Inf"):
        sim(_net(), stim, dt=1e-4)
