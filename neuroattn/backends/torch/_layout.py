"""The flat layout of a network: every neuron of every population on one axis.

The torch engine simulates all populations at once. Neuron ``i`` of population ``p``
sits at ``offsets[p] + i``; per-population parameters are expanded to per-neuron
vectors; synaptic currents are grouped into *ports* (one current per port, each with
its own time constant); projections become blocks of (row, column, weight) triplets on
the global axis, grouped by (port, delay). Pure numpy: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.neurons._membrane import refractory_steps

__all__ = ["Layout", "SynapseBlock", "CurrentInput", "PoissonInput", "build_layout"]

#: per-population parameters read from LIFParams / EscapeParams (SI); absent ones are NaN
_PARAMS = ("tau_mem", "v_rest", "v_reset", "r_m", "i_bias", "v_th", "sigma", "theta",
           "delta_u", "rho0")


@dataclass(frozen=True)
class SynapseBlock:
    """One projection on the global neuron axis.

    ``rows``/``cols`` are global source/target indices, ``magnitude`` the weight
    magnitudes (A, >= 0) and ``sign`` +1 (exc) or -1 (inh); ``port`` the index of the
    target current and ``delay`` the delay in steps.
    """

    projection: int
    rows: np.ndarray
    cols: np.ndarray
    magnitude: np.ndarray
    sign: float
    port: int
    delay: int


@dataclass(frozen=True)
class CurrentInput:
    """A 'current' Drive: channel, target slice [lo, hi), gain (A per unit)."""

    channel: int
    lo: int
    hi: int
    gain: float


@dataclass(frozen=True)
class PoissonInput:
    """A 'poisson' Drive: channel, target slice [lo, hi), gain (Hz/unit), weight (A), port."""

    channel: int
    lo: int
    hi: int
    gain: float
    weight: float
    port: int


@dataclass(frozen=True)
class Layout:
    """A network (and the drives of a stimulus) laid out on one neuron axis."""

    names: tuple
    sizes: np.ndarray
    offsets: np.ndarray
    pop_of: np.ndarray
    kinds: tuple
    params: dict
    reset: np.ndarray
    ref_steps: np.ndarray
    port_tau: np.ndarray
    port_projection: tuple
    blocks: tuple
    current: tuple
    poisson: tuple
    n_channels: int

    @property
    def n(self) -> int:
        """Neurons on the axis (one trial)."""
        return int(self.offsets[-1])

    @property
    def has_lif(self) -> bool:
        """Whether any population is LIF."""
        return "lif" in self.kinds

    @property
    def has_escape(self) -> bool:
        """Whether any population is an escape population."""
        return "escape" in self.kinds

    def slice(self, name: str) -> slice:
        """The slice of population ``name`` on the axis."""
        p = self.names.index(name)
        return slice(int(self.offsets[p]), int(self.offsets[p + 1]))

    def per_neuron(self, values) -> np.ndarray:
        """Expand a per-population array [P] to the neuron axis [N]."""
        return np.asarray(values)[self.pop_of]


def build_layout(network, drives=(), dt=1e-4, n_channels=None, split_ports=False) -> Layout:
    """Lay out ``network`` and ``drives`` for a step of ``dt`` seconds.

    Parameters
    ----------
    network : neuroattn.model.Network
    drives : sequence of neuroattn.model.Drive
    dt : float, seconds
    n_channels : int or None
        Stimulus channels (default: one more than the largest drive channel).
    split_ports : bool
        Give every projection its own port (needed when ``tau_syn`` is trained);
        otherwise projections and Poisson drives with equal ``tau_syn`` onto the same
        neurons share one current (exact: the currents are linear).
    """
    pops = network.populations
    names = tuple(p.name for p in pops)
    sizes = np.array([p.size for p in pops], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    params = {k: np.array([float(getattr(p.params, k, np.nan)) for p in pops]) for k in _PARAMS}
    reset = np.array([bool(getattr(p.params, "reset", True)) for p in pops])
    ref = np.array([refractory_steps(p.params.t_ref, dt) for p in pops], dtype=np.int64)
    kinds = tuple(p.params.kind for p in pops)

    port_keys: list = []

    def port(key) -> int:
        if key not in port_keys:
            port_keys.append(key)
        return port_keys.index(key)

    blocks = []
    for j, pr in enumerate(network.projections):
        src, tgt = names.index(pr.source), names.index(pr.target)
        pre, post, w = pr.connections(int(sizes[src]), int(sizes[tgt]))
        key = ("projection", j, pr.tau_syn) if split_ports else ("tau", pr.tau_syn)
        blocks.append(SynapseBlock(j, offsets[src] + pre, offsets[tgt] + post, np.abs(w),
                                   -1.0 if pr.sign == "inh" else 1.0, port(key),
                                   int(round(pr.delay / dt))))
    if n_channels is None:
        n_channels = 1 + max((d.channel for d in drives), default=-1)
    current, poisson = [], []
    for d in drives:
        d.validate(n_channels, set(names))
        p = names.index(d.population)
        lo, hi = int(offsets[p]), int(offsets[p + 1])
        if d.kind == "current":
            current.append(CurrentInput(d.channel, lo, hi, d.gain))
        else:
            poisson.append(PoissonInput(d.channel, lo, hi, d.gain, d.weight,
                                        port(("tau", d.tau_syn))))
    return Layout(names, sizes, offsets, np.repeat(np.arange(len(pops)), sizes), kinds, params,
                  reset, ref, np.array([k[-1] for k in port_keys], dtype=np.float64),
                  tuple(k[1] if k[0] == "projection" else None for k in port_keys),
                  tuple(blocks), tuple(current), tuple(poisson), int(n_channels))
