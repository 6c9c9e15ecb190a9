"""Synaptic operations and neuron updates of a simulated network, and their energy.

Counted from a Recording's spikes and the network's connectivity, the same way for
every backend: each spike of population ``s`` costs one synaptic operation (an
accumulate) per outgoing synapse of ``s``; each neuron is updated once per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.attention.ops import E_AC_PJ, E_MAC_PJ
from neuroattn.exceptions import ValidationError
from neuroattn.model import Network, Probe

__all__ = ["SynOpCount", "count_synops", "fan_out", "with_spike_probes", "energy_table",
           "MEMORY_CAVEAT"]

MEMORY_CAVEAT = ("Arithmetic and per-event figures only: memory access (tens to hundreds "
                 "of pJ per off-chip word), routing and static power are not included.")


@dataclass(frozen=True)
class SynOpCount:
    """Operations of one simulation.

    Attributes
    ----------
    synops : dict
        Projection name -> synaptic operations (accumulates) over all trials.
    spikes : dict
        Population -> spikes over all trials.
    neuron_updates : int
        Neuron state updates: neurons x steps x trials (a clocked engine updates
        every neuron every step).
    duration : float, seconds
        Simulated time per trial.
    trials : int
    """

    synops: dict
    spikes: dict
    neuron_updates: int
    duration: float
    trials: int

    @property
    def total_synops(self) -> int:
        """All synaptic operations."""
        return int(sum(self.synops.values()))

    def per_trial(self) -> dict:
        """Synaptic operations, neuron updates and spikes per trial."""
        return {"synops": self.total_synops / self.trials,
                "neuron_updates": self.neuron_updates / self.trials,
                "spikes": sum(self.spikes.values()) / self.trials}


def with_spike_probes(network: Network) -> Network:
    """The same network with a 'spikes' probe on every population (dynamics unchanged)."""
    have = {(p.population, p.kind) for p in network.probes}
    extra = [Probe(p.name, "spikes") for p in network.populations
             if (p.name, "spikes") not in have]
    return Network(network.populations, network.projections, tuple(network.probes) + tuple(extra),
                   name=network.name)


def fan_out(network: Network) -> dict:
    """Projection name -> (source population, int array of synapses per source neuron)."""
    size = {p.name: p.size for p in network.populations}
    out = {}
    for proj in network.projections:
        pre, _, _ = proj.connections(size[proj.source], size[proj.target])
        out[proj.name] = (proj.source, np.bincount(pre, minlength=size[proj.source]))
    return out


def count_synops(network: Network, recording, dt: float) -> SynOpCount:
    """Count the synaptic operations and neuron updates of ``recording``.

    Parameters
    ----------
    network : Network
        The simulated network; every population with outgoing projections needs a
        'spikes' probe (see :func:`with_spike_probes`).
    recording : Recording
    dt : float, seconds
        The simulation step.

    Returns
    -------
    SynOpCount
    """
    if recording.spikes is None:
        raise ValidationError("count_synops.recording: holds no spikes; simulate "
                              "with_spike_probes(network)")
    fo = fan_out(network)
    need = {src for src, _ in fo.values()}
    missing = sorted(need - set(recording.spikes[0]))
    if missing:
        raise ValidationError(f"count_synops.recording: no spikes of populations {missing}; "
                              "simulate with_spike_probes(network)")
    trials = len(recording.spikes)
    duration = float(recording.meta.get("duration", recording.rates.shape[1]
                                        * recording.bin_width))
    synops = {name: 0 for name in fo}
    spikes = {p: 0 for p in recording.spikes[0]}
    for tr in recording.spikes:
        for pop, (idx, _) in tr.items():
            spikes[pop] += int(len(idx))
        for name, (src, counts) in fo.items():
            synops[name] += int(counts[np.asarray(tr[src][0], dtype=np.int64)].sum())
    steps = int(round(duration / dt))
    return SynOpCount(synops, spikes, network.n_neurons * steps * trials, duration, trials)


def energy_table(count: SynOpCount, platforms=None, softmax_ops=None) -> list:
    """Energy per trial (joules) of ``count`` under each platform and the 45 nm convention.

    Parameters
    ----------
    count : SynOpCount
    platforms : sequence of Platform or names
        Default: every platform with a published synaptic-operation energy.
    softmax_ops : neuroattn.attention.OpCount or None
        The softmax tier's operations for the same trial, priced at 45 nm.

    Returns
    -------
    list of dict
        One row per (model, pricing): ``model``, ``pricing``, ``synops``,
        ``neuron_updates``, ``macs``, ``energy_j`` and ``source``.
    """
    from neuroattn.hardware.platforms import PLATFORMS, get_platform

    per = count.per_trial()
    plats = [get_platform(p) for p in (platforms if platforms is not None else PLATFORMS)]
    rows = [{"model": "spiking", "pricing": "45 nm (AC 0.9 pJ)", "synops": per["synops"],
             "neuron_updates": per["neuron_updates"], "macs": 0,
             "energy_j": per["synops"] * E_AC_PJ * 1e-12,
             "source": "Horowitz (ISSCC 2014): 32-bit float add 0.9 pJ"}]
    for p in plats:
        e = p.energy_pj
        if "synaptic_op" not in e:
            continue
        joules = per["synops"] * e["synaptic_op"] + per["neuron_updates"] * e.get(
            "neuron_update", 0.0)
        rows.append({"model": "spiking", "pricing": e.get("label", p.title),
                     "synops": per["synops"],
                     "neuron_updates": per["neuron_updates"], "macs": 0,
                     "energy_j": joules * 1e-12, "source": e.get("source", "")})
    if softmax_ops is not None:
        rows.append({"model": "softmax", "pricing": "45 nm (MAC 4.6 pJ, AC 0.9 pJ)",
                     "synops": 0, "neuron_updates": 0, "macs": softmax_ops.macs,
                     "energy_j": (softmax_ops.macs * E_MAC_PJ + softmax_ops.acs * E_AC_PJ)
                     * 1e-12, "source": "Horowitz (ISSCC 2014)"})
    return rows
