"""Agents: biased competition at a tier, with the same ``run(trials) -> Recording``.

Trials carry ``stimulus`` [trials, steps, channels] (float), ``dt`` (s per row),
``channels`` (names) and ``seed``. Channels ``x0..x{K-1}`` are the bottom-up inputs
and ``b0..b{K-1}`` the top-down biases (missing bias channels count as 0). The
Recording's units are ``loc0..loc{K-1}`` plus ``unit`` when a readout unit is used.
"""

from __future__ import annotations

import numpy as np
import torch

from neuroattn.backends import simulate
from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.biased_competition.circuits import location_names
from neuroattn.mechanisms.biased_competition.softmax import SoftmaxCompetition, SoftmaxParams
from neuroattn.model import Recording, Stimulus

__all__ = ["SpikingAgent", "SoftmaxAgent", "input_channels"]


def input_channels(channels, k: int, where: str):
    """Indices of ``x0..x{k-1}`` (required) and ``b0..b{k-1}`` (None when absent)."""
    channels = list(channels)
    xs, bs = [], []
    for i in range(k):
        if f"x{i}" not in channels:
            raise ValidationError(f"{where}: the trials have no input channel 'x{i}' for a "
                                  f"{k}-location circuit (got channels {channels})")
        xs.append(channels.index(f"x{i}"))
        bs.append(channels.index(f"b{i}") if f"b{i}" in channels else None)
    return xs, bs


class SpikingAgent:
    """Biased competition as a spiking circuit simulated by a backend.

    Parameters
    ----------
    circuit : LIFCircuit or EscapeCircuit
    backend : str
        ``'brian2'`` (reference), ``'numba'`` or ``'torch'``.
    dt : float, seconds
        Simulation step (default 0.1 ms).
    values : sequence of float, optional
        Readout unit selectivities (adds the 'unit' readout).
    **options
        Passed to the backend.
    """

    tier = "spiking"

    def __init__(self, circuit, backend: str = "brian2", dt: float = 1e-4, values=None,
                 **options):
        circuit.validate()
        self.circuit = circuit
        self.backend = backend
        self.dt = dt
        self.values = None if values is None else tuple(float(v) for v in values)
        self.options = options

    def run(self, trials, progress: bool = False) -> Recording:
        """Simulate every trial; return rates of ``loc*`` (and ``unit``) in Hz."""
        xs, bs = input_channels(trials.channels, self.circuit.k, "SpikingAgent.run")
        net = self.circuit.network(self.values)
        stim = Stimulus(np.asarray(trials.stimulus, dtype=np.float64), trials.dt,
                        self.circuit.drives(xs, bs))
        rec = simulate(net, stim, dt=self.dt, seed=trials.seed, backend=self.backend,
                       progress=progress, **self.options)
        names = dict((pop, unit) for unit, pop in self.circuit.readout.items())
        names["V"] = "unit"
        units = tuple(names[u] for u in rec.units)
        meta = dict(rec.meta, mechanism="biased-competition", tier="spiking",
                    circuit=type(self.circuit).__name__, values=self.values)
        return Recording(rec.rates, rec.bin_width, units, rec.spikes, rec.v, meta)


class SoftmaxAgent:
    """Biased competition as the differentiable softmax layer.

    Parameters
    ----------
    params : SoftmaxParams
    values : sequence of float, optional
        Readout unit selectivities (adds the 'unit' readout).
    bin_width : float, seconds
        Bin of the returned rates (default 5 ms, as the spiking circuits).
    """

    tier = "softmax"

    def __init__(self, params: SoftmaxParams, values=None, bin_width: float = 5e-3):
        params.validate()
        self.params = params
        self.values = None if values is None else tuple(float(v) for v in values)
        self.bin_width = bin_width
        self.module = SoftmaxCompetition(params, values)

    def run(self, trials, progress: bool = False) -> Recording:
        """Compute the rates of every trial; return them binned like a spiking Recording."""
        k = self.params.k
        xs, bs = input_channels(trials.channels, k, "SoftmaxAgent.run")
        stim = torch.as_tensor(np.asarray(trials.stimulus, dtype=np.float64))
        x = stim[:, :, xs]
        b = torch.zeros_like(x)
        for i, ch in enumerate(bs):
            if ch is not None:
                b[:, :, i] = stim[:, :, ch]
        with torch.no_grad():
            rates = self.module(x, b, trials.dt).numpy()
        per_bin = int(round(self.bin_width / trials.dt))
        if per_bin < 1 or abs(per_bin * trials.dt - self.bin_width) > 1e-9:
            raise ValidationError(f"SoftmaxAgent.bin_width: must be a whole multiple of the "
                                  f"trials' dt {trials.dt:g} s (got {self.bin_width:g} s)")
        n_bins = rates.shape[1] // per_bin
        binned = rates[:, : n_bins * per_bin].reshape(rates.shape[0], n_bins, per_bin, -1)
        units = location_names(k) + (("unit",) if self.values is not None else ())
        meta = {"mechanism": "biased-competition", "tier": "softmax", "backend": "torch",
                "dt": trials.dt, "seed": trials.seed, "params": self.params.__dict__.copy(),
                "values": self.values}
        return Recording(binned.mean(axis=2), per_bin * trials.dt, units, meta=meta)
