"""The time loop of the torch engine: chunks of steps, synapses, probes, NaN checks.

Per step n (the specification, see ``neuroattn.backends``): the neurons update with
the port currents as they stand at the start of the step (``_step.neuron_step``); then
every port current decays by exp(-dt/tau) and receives the spikes emitted at step
n - d through each (port, delay) group (a ring buffer holds the last ``max d + 1``
spike tensors) and the Poisson inputs of the step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from neuroattn.backends._common import GRID_SNAP, on_grid
from neuroattn.backends.torch._random import draw_chunk, trial_streams
from neuroattn.backends.torch._step import neuron_step
from neuroattn.backends.torch._synapses import transmit
from neuroattn.exceptions import SimulationError, ValidationError

__all__ = ["Output", "simulate", "CHUNK"]

#: steps per chunk: random draws, stimulus rows, NaN checks and progress go by chunk
CHUNK = 100


class Output(NamedTuple):
    """What a simulation returns.

    rates : Tensor [trials, bins, units], Hz (differentiable)
    spikes : list (per trial) of dict population -> (index int64, time float64 s), or None
    v : dict population -> ndarray [trials, steps, neurons] (V), or None
    """

    rates: torch.Tensor
    spikes: list | None
    v: dict | None


def simulate(module, values, seed=0, n_steps=None, *, first_trial=0, record=False,
             progress=False, grid=None) -> Output:
    """Simulate ``module`` driven by ``values`` [trials, rows, channels].

    Parameters
    ----------
    module : SpikingNetworkModule
    values : Tensor or ndarray [trials, rows, channels]
    seed : int
    n_steps : int, optional
        Default: ``rows * module.steps_per_row``.
    first_trial : int
        Global index of the first trial (its generators are seeded by (seed, index)).
    record : bool
        Also return the 'spikes' and 'v' probes.
    progress : bool
        Show a tqdm progress bar.
    grid : neuroattn.backends._common.GridArrays or None
        Hold v and the synaptic currents on this fixed-point grid: the initial
        potentials, and every step after the synaptic input (``StateGrid``).
    """
    lay, dt, n = module.layout, module.dt, module.layout.n
    values = _check_values(module, values)
    trials, rows = values.shape[0], values.shape[1]
    if n_steps is None:
        n_steps = rows * module.steps_per_row
    if n_steps < 1:
        raise ValidationError("SpikingNetworkModule: nothing to simulate (0 steps); pass a "
                              "duration or values with at least one row")
    kw = dict(dtype=module.dtype, device=module.device)
    v0, gens = trial_streams(module.network.populations, seed,
                             range(first_trial, first_trial + trials), module.device)
    fixed = None if grid is None else _Grid(grid, lay, kw)
    if fixed is not None:
        v0 = np.where(fixed.v0[2], on_grid(v0, fixed.v0[0], fixed.v0[1], grid.lo, grid.hi), v0)
    v = torch.as_tensor(v0, **kw)
    ref = torch.zeros(trials, n, dtype=torch.int64, device=module.device)
    c = module.coefficients()
    mats = module.matrices()
    v_rest, r_m, i_bias = module.v_inf_base()
    i_syn = [v.new_zeros(trials, n) for _ in range(len(lay.port_tau))]
    ring = [None] * (1 + max((g.delay for g in module.groups), default=0))
    probes = _Probes(module, trials, record)
    counts = []
    noisy = lay.has_lif and bool(np.nan_to_num(lay.params["sigma"]).max() > 0)
    bar = tqdm(total=n_steps, disable=not progress, desc=f"torch {module.network.name}",
               unit="step", delay=1.0)
    for n0 in range(0, n_steps, CHUNK):
        steps = min(CHUNK, n_steps - n0)
        vals = _chunk_values(values, n0, steps, module.steps_per_row)
        v_inf = v_rest + r_m * (i_bias + _external_current(vals, lay.current, n))
        if v_inf.dim() == 1:
            v_inf = v_inf.expand(trials, 1, n)
        lam = [(torch.clamp(vals[:, :, p.channel].detach() * p.gain, min=0.0) * dt)[..., None]
               .expand(trials, steps, p.hi - p.lo) for p in lay.poisson]
        noise, uniform, pcounts = draw_chunk(gens, steps, n, normal=noisy,
                                             uniform=lay.has_escape, poisson_rates=lam, **kw)
        if noise is not None:
            noise = noise * c.ou
        for j in range(steps):
            step = n0 + j
            probes.before(v)
            s, spiked, v, ref = neuron_step(
                v, ref, i_syn, v_inf[:, min(j, v_inf.shape[1] - 1)],
                None if noise is None else noise[:, j],
                None if uniform is None else uniform[:, j], c, dt, module.surrogate)
            ring[step % len(ring)] = s
            i_syn = [cur * c.decay[u] for u, cur in enumerate(i_syn)]
            for g, mat in zip(module.groups, mats):
                if step >= g.delay:
                    jump = transmit(g, mat, ring[(step - g.delay) % len(ring)], n)
                    if jump is not None:
                        i_syn[g.port] = i_syn[g.port] + jump
            for p, cnt in zip(lay.poisson, pcounts):
                i_syn[p.port] = i_syn[p.port] + F.pad(cnt[:, j] * p.weight, (p.lo, n - p.hi))
            if fixed is not None:
                v, i_syn = fixed.apply(v, i_syn)
            counts.append(s @ module._membership)
            probes.after(spiked)
        _check(v, lay, n0, n0 + steps - 1, dt)
        probes.flush(n0)
        bar.update(steps)
    bar.close()
    rates = _bin(torch.stack(counts, dim=1), module)
    return Output(rates, *probes.result(dt))


class _Grid:
    """A resolved StateGrid on the torch engine's neuron axis (every port current
    tensor spans all neurons, so one per-neuron step vector serves each)."""

    def __init__(self, grid, lay, kw):
        on = np.isfinite(grid.v_step)[lay.pop_of]
        def pick(a, fill):
            return np.where(on, np.nan_to_num(a, nan=fill)[lay.pop_of], fill)

        origin, v_step, i_step = pick(grid.origin, 0.0), pick(grid.v_step, 1.0), \
            pick(grid.i_step, 1.0)
        self.v0 = (origin, v_step, on)           # numpy, for the initial potentials
        self.all = bool(on.all())
        self.on = torch.as_tensor(on, device=kw["device"])
        self.origin, self.v_step, self.i_step = (torch.as_tensor(a, **kw)
                                                 for a in (origin, v_step, i_step))
        self.lo, self.hi = grid.lo, grid.hi

    def _put(self, x, origin, step):
        y = (x - origin) / step
        z = torch.clamp(y + torch.sign(y) * GRID_SNAP, self.lo, self.hi)
        q = origin + torch.sign(z) * torch.floor(torch.abs(z)) * step
        return q if self.all else torch.where(self.on, q, x)

    def apply(self, v, i_syn):
        """``(v, i_syn)`` moved onto the grid (the numpy rule ``_common.on_grid``)."""
        return (self._put(v, self.origin, self.v_step),
                [self._put(cur, 0.0, self.i_step) for cur in i_syn])


def _check_values(module, values) -> torch.Tensor:
    if not torch.is_tensor(values):
        values = torch.tensor(np.array(values, dtype=np.float64))  # a copy: inputs may be read-only
    if values.dim() != 3 or values.shape[2] != module.layout.n_channels:
        raise ValidationError(f"SpikingNetworkModule.forward.values: expected a tensor "
                              f"[trials, rows, {module.layout.n_channels}] (got shape "
                              f"{tuple(values.shape)})")
    if values.shape[0] < 1:
        raise ValidationError("SpikingNetworkModule.forward.values: expected at least one "
                              "trial (got 0)")
    return values.to(dtype=module.dtype, device=module.device)


def _chunk_values(values, n0: int, steps: int, per_row: int) -> torch.Tensor:
    """Values [trials, steps, channels] of steps n0..n0+steps-1 (0 past the last row)."""
    rows = torch.arange(n0, n0 + steps, device=values.device) // per_row
    n_rows = values.shape[1]
    if n_rows == 0:
        return values.new_zeros(values.shape[0], steps, values.shape[2])
    valid = (rows < n_rows).to(values.dtype)
    return values[:, torch.clamp(rows, max=n_rows - 1)] * valid[None, :, None]


def _external_current(vals, drives, n: int):
    """Current (A) [trials, steps, n] of the 'current' drives, or 0.0 without any.

    Built drive by drive (not as ``vals @ gains``) so that a huge value in one channel
    cannot turn other populations' currents into NaN (inf * 0).
    """
    out = 0.0
    for d in drives:
        cur = (vals[:, :, d.channel] * d.gain)[..., None].expand(-1, -1, d.hi - d.lo)
        out = out + F.pad(cur, (d.lo, n - d.hi))
    return out


def _check(v, lay, first: int, last: int, dt: float) -> None:
    """SimulationError naming the first population whose potential is NaN or Inf.

    Called once per chunk (one host sync): the error names the chunk's steps.
    """
    if bool(torch.isfinite(v).all()):
        return
    for name in lay.names:
        if not bool(torch.isfinite(v[:, lay.slice(name)]).all()):
            raise SimulationError(
                f"population {name!r}: NaN or Inf in the membrane potential by step {last} "
                f"(t = {last * dt:g} s; first found in steps {first}-{last}); check weights "
                "and inputs for huge values")


def _bin(counts, module) -> torch.Tensor:
    """Spike counts [trials, steps, units] -> rates [trials, bins, units] in Hz per neuron."""
    trials, steps, units = counts.shape
    spb = module.steps_per_bin
    bins = steps // spb
    if not counts.requires_grad:  # exact integer counts: divide in float64
        counts = counts.to(torch.float64)
    sizes = module._membership.sum(dim=0).to(counts.dtype)
    c = counts[:, : bins * spb].reshape(trials, bins, spb, units).sum(dim=2)
    return c / (sizes * (spb * module.dt))


class _Probes:
    """Collects the 'spikes' and 'v' probes during a run (only when recording)."""

    def __init__(self, module, trials: int, record: bool):
        lay = module.layout
        probes = module.network.probes if record else ()
        self.trials = trials
        self.spike_pops = [p.population for p in probes if p.kind == "spikes"]
        self.spike_pops = list(dict.fromkeys(self.spike_pops))
        self.v_neurons = {}  # population -> union of its 'v' probes' neurons, first-seen order
        for p in probes:
            if p.kind == "v":
                seen = self.v_neurons.setdefault(p.population, [])
                seen.extend(i for i in p.neurons if i not in seen)
        idx = [lay.slice(name).start + np.array(nrn, dtype=np.int64)
               for name, nrn in self.v_neurons.items()]
        self.v_idx = torch.as_tensor(np.concatenate(idx) if idx else np.zeros(0, np.int64),
                                     device=module.device)
        self.slices = [lay.slice(name) for name in self.spike_pops]
        self.buffer, self.events, self.v = [], {name: [] for name in self.spike_pops}, []

    def before(self, v) -> None:
        if self.v_neurons:
            self.v.append(v[:, self.v_idx].detach())

    def after(self, spiked) -> None:
        if self.spike_pops:
            self.buffer.append(spiked)

    def flush(self, n0: int) -> None:
        """Turn the buffered spike masks of a chunk into (step, trial, index) arrays."""
        if not self.buffer:
            return
        stacked = torch.stack(self.buffer)  # [steps, trials, N]
        for name, sl in zip(self.spike_pops, self.slices):
            nz = torch.nonzero(stacked[:, :, sl]).cpu().numpy()
            nz[:, 0] += n0
            self.events[name].append(nz)
        self.buffer = []

    def result(self, dt: float):
        spikes = None
        if self.spike_pops:
            spikes = [dict() for _ in range(self.trials)]
            for name in self.spike_pops:
                ev = np.concatenate(self.events[name]) if self.events[name] else \
                    np.zeros((0, 3), np.int64)
                for t in range(self.trials):
                    sel = ev[ev[:, 1] == t]
                    spikes[t][name] = (sel[:, 2].astype(np.int64),
                                       sel[:, 0].astype(np.float64) * dt)
        v = None
        if self.v_neurons:
            arr = torch.stack(self.v, dim=1).cpu().numpy().astype(np.float64)
            v, k = {}, 0
            for name, nrn in self.v_neurons.items():
                v[name] = arr[:, :, k:k + len(nrn)]
                k += len(nrn)
        return spikes, v
