"""What every backend shares: argument checks, per-trial generators, binning, NaN checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import SimulationError, ValidationError
from neuroattn.model import Network, Stimulus
from neuroattn.model.network import check_drive_receptor
from neuroattn.model.units import check_int, check_memory, check_positive, to_si

__all__ = ["RunSpec", "check_run", "trial_rng", "bin_counts", "check_finite"]


@dataclass(frozen=True)
class RunSpec:
    """A validated simulation request (SI floats).

    ``n_steps`` simulation steps of ``dt`` for ``trials`` trials; ``rows`` is the
    stimulus row index of every step (-1 past the stimulus' end).
    """

    network: Network
    stimulus: Stimulus | None
    duration: float
    dt: float
    seed: int
    trials: int
    n_steps: int
    steps_per_bin: int
    rate_probes: tuple
    bin_width: float

    def stimulus_row(self) -> np.ndarray:
        """Stimulus row (int) for each step; -1 past the end or without a stimulus."""
        rows = np.full(self.n_steps, -1, dtype=np.int64)
        if self.stimulus is not None:
            k = self.stimulus.steps_per_row(self.dt)
            idx = np.arange(self.n_steps) // k
            rows = np.where(idx < self.stimulus.n_steps, idx, -1)
        return rows


def check_run(network, stimulus=None, duration=None, dt=1e-4, seed=0, trials=None) -> RunSpec:
    """Validate the arguments of ``simulate``; raise ValidationError naming the argument."""
    if not isinstance(network, Network):
        raise ValidationError(f"simulate.network: expected a neuroattn.model.Network "
                              f"(got {type(network).__name__})")
    dt = to_si(dt, "s", "simulate.dt")
    check_positive(dt, "s", "simulate.dt")
    seed = check_int(seed, "simulate.seed", minimum=0)
    pops = {p.name for p in network.populations}
    if stimulus is not None:
        if not isinstance(stimulus, Stimulus):
            raise ValidationError(f"simulate.stimulus: expected a neuroattn.model.Stimulus or "
                                  f"None (got {type(stimulus).__name__})")
        stimulus.validate(pops)
        stimulus.steps_per_row(dt)
        for d in stimulus.drives:
            check_drive_receptor(d, network)
    if duration is None:
        if stimulus is None:
            raise ValidationError("simulate.duration: required without a stimulus (got None); "
                                  "pass e.g. 0.5 (seconds)")
        duration = stimulus.duration
    duration = to_si(duration, "s", "simulate.duration")
    check_positive(duration, "s", "simulate.duration")
    n_steps = int(round(duration / dt))
    if n_steps < 1:
        raise ValidationError(f"simulate.duration: shorter than one step dt={dt:g} s "
                              f"(got {duration:g} s)")
    stim_trials = stimulus.n_trials if stimulus is not None else None
    if trials is None:
        trials = stim_trials if stim_trials is not None else 1
    trials = check_int(trials, "simulate.trials", minimum=1)
    if stim_trials is not None and stim_trials != trials:
        raise ValidationError(f"simulate.trials: the stimulus holds {stim_trials} trials "
                              f"(got trials={trials})")
    rate_probes = tuple(p for p in network.probes if p.kind == "rate")
    widths = {p.bin_width for p in rate_probes}
    if len(widths) > 1:
        raise ValidationError(f"Network.probes: every rate probe needs the same bin_width "
                              f"(got {sorted(widths)})")
    bin_width = widths.pop() if widths else dt
    ratio = bin_width / dt
    spb = int(round(ratio))
    if spb < 1 or abs(ratio - spb) > 1e-6 * ratio:
        raise ValidationError(f"Probe.bin_width: must be a whole multiple of dt={dt:g} s "
                              f"(got {bin_width:g} s)")
    # the recording (spike counts per step and rates per bin of every rate probe, for
    # every trial; spike probes grow with the activity and are not counted) and a few
    # float64 state arrays per neuron and trial
    sizes = {p.name: p.size for p in network.populations}
    units = len(rate_probes)
    state = sum(sizes.values()) * 8 * 8
    need = trials * (n_steps * units * 4 + (n_steps // spb) * units * 8 + state)
    check_memory(need, "simulate.trials", f"{trials} trials of {n_steps} steps of "
                 f"{sum(sizes.values())} neurons", "simulate fewer trials per call, or a "
                 "shorter duration, and concatenate the recordings")
    return RunSpec(network, stimulus, duration, dt, seed, trials, n_steps, spb, rate_probes,
                   spb * dt)


def trial_rng(seed: int, trial: int) -> np.random.Generator:
    """The generator of trial ``trial``: depends only on (seed, trial)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(trial)])))


def bin_counts(counts: np.ndarray, steps_per_bin: int, sizes, dt: float) -> np.ndarray:
    """Spike counts [trials, steps, units] -> rates [trials, bins, units] in Hz per neuron.

    A last partial bin is dropped.
    """
    t, s, u = counts.shape
    bins = s // steps_per_bin
    c = counts[:, : bins * steps_per_bin].reshape(t, bins, steps_per_bin, u).sum(axis=2)
    return c / (np.asarray(sizes, dtype=np.float64)[None, None, :] * steps_per_bin * dt)


def check_finite(values: np.ndarray, population: str, step: int) -> None:
    """Raise SimulationError if ``values`` holds NaN or Inf."""
    if not np.all(np.isfinite(values)):
        raise SimulationError(f"population {population!r}: NaN or Inf in the membrane "
                              f"potential at step {step} (t = {step} dt); check weights and "
                              "inputs for huge values")
