"""What every backend shares: argument checks, per-trial generators, binning, NaN checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import SimulationError, ValidationError
from neuroattn.model import Network, Stimulus
from neuroattn.model.network import check_drive_receptor
from neuroattn.model.units import check_int, check_memory, check_positive, to_si

__all__ = ["RunSpec", "check_run", "trial_rng", "bin_counts", "check_finite", "StateGrid",
           "GridArrays", "resolve_state_grid", "on_grid", "GRID_SNAP"]


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


# --------------------------------------------------------------------------- fixed-point state

#: a value within this fraction of a grid step below a grid point (float rounding of
#: ``origin + k step - origin``) counts as on it, so applying the grid twice changes nothing
GRID_SNAP = 2.0 ** -20


@dataclass(frozen=True)
class StateGrid:
    """Fixed-point state of a run: the backend option ``state_grid``.

    Every membrane potential ``v`` and synaptic current of the listed populations is
    held on a signed ``bits``-bit grid, as a chip's integer datapath holds it: at the
    end of every step (after the neuron update, threshold, reset and the synaptic
    input), and once for the initial potentials,

    ``x <- origin + clip(trunc((x - origin) / step), -2**(bits-1), 2**(bits-1) - 1) * step``

    (truncation towards ``origin``, as an integer shift of a decaying state does, so a
    decaying current reaches exactly 0; saturation at the ends of the range). For ``v``
    the origin is the population's ``v_rest`` and the step ``v_step[name]`` (V); for
    every synaptic current of the population the origin is 0 A and the step
    ``i_step[name]`` (A). Populations not listed stay float. Every backend lowers this
    one description (numba and torch after each step, Brian2 in a ``run_regularly`` at
    the ``end`` slot). ``neuroattn.hardware.fixed_point.state_grid`` picks power-of-two
    steps for a network.

    Parameters
    ----------
    bits : int
        Bits of a signed state value (2 to 32).
    v_step : mapping population -> float, volts per step
    i_step : mapping population -> float, amperes per step
    """

    bits: int
    v_step: dict
    i_step: dict


@dataclass(frozen=True)
class GridArrays:
    """A StateGrid resolved per population (network order); NaN steps: left float."""

    origin: np.ndarray   # [P] V (v_rest)
    v_step: np.ndarray   # [P] V
    i_step: np.ndarray   # [P] A
    lo: float            # -2**(bits-1)
    hi: float            # 2**(bits-1) - 1

    def on(self, k: int) -> bool:
        """Whether population ``k`` is held on a grid."""
        return bool(np.isfinite(self.v_step[k]))


def resolve_state_grid(spec: RunSpec, grid) -> GridArrays | None:
    """Check the ``state_grid`` option of a run against its network; None when off.

    Raises
    ------
    ValidationError
        Naming ``state_grid`` and what is wrong (type, bits, an unknown population, a
        step that is not a positive finite number, a conductance-based population).
    """
    if grid is None:
        return None
    if not isinstance(grid, StateGrid):
        raise ValidationError(f"simulate option state_grid: expected a "
                              f"neuroattn.backends.StateGrid or None (got {type(grid).__name__})")
    bits = grid.bits
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 32:
        raise ValidationError(f"simulate option state_grid.bits: expected an integer from 2 to "
                              f"32 (got {bits!r})")
    pops = spec.network.populations
    names = {p.name for p in pops}
    if set(grid.v_step) != set(grid.i_step):
        raise ValidationError(f"simulate option state_grid: v_step and i_step must name the "
                              f"same populations (got {sorted(grid.v_step)} and "
                              f"{sorted(grid.i_step)})")
    unknown = sorted(set(grid.v_step) - names)
    if unknown:
        raise ValidationError(f"simulate option state_grid: no population {unknown} in network "
                              f"{spec.network.name!r}; expected names from {sorted(names)}")
    origin = np.full(len(pops), np.nan)
    steps = np.full((2, len(pops)), np.nan)
    for k, p in enumerate(pops):
        if p.name not in grid.v_step:
            continue
        if getattr(p.params, "kind", None) == "conductance":
            raise ValidationError(f"simulate option state_grid: population {p.name!r} is "
                                  "conductance-based, whose state no engine holds on a grid; "
                                  "leave it out of v_step and i_step")
        for row, (field, unit) in enumerate((("v_step", "V"), ("i_step", "A"))):
            value = getattr(grid, field)[p.name]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                    or not (np.isfinite(value) and value > 0):
                raise ValidationError(f"simulate option state_grid.{field}[{p.name!r}]: "
                                      f"expected a positive finite number of {unit} (got "
                                      f"{value!r})")
            steps[row, k] = float(value)
        origin[k] = p.params.v_rest
    half = 2.0 ** (int(bits) - 1)
    return GridArrays(origin, steps[0], steps[1], -half, half - 1.0)


def on_grid(x, origin, step, lo: float, hi: float):
    """``x`` moved onto the grid ``origin + k step`` (numpy; the rule of StateGrid).

    ``k = trunc(clip(y + sign(y) GRID_SNAP, lo, hi))`` with ``y = (x - origin) / step``:
    truncation towards the origin, saturation at ``[lo, hi]``; NaN stays NaN. The
    torch and Brian2 engines compute the same operations in the same order.
    """
    y = (x - origin) / step
    z = np.clip(y + np.sign(y) * GRID_SNAP, lo, hi)
    return origin + np.sign(z) * np.floor(np.abs(z)) * step
