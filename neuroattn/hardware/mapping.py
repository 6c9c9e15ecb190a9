"""Partition a Network's neurons onto neuromorphic cores under a platform's limits.

The neuron graph (one vertex per neuron, edge weights = synapses between two
neurons) is cut into ``k`` parts by METIS (``pymetis``) or, without it, by recursive
Kernighan-Lin bisection (networkx); ``k`` starts at the fewest cores the neuron and
synapse counts allow and grows until every limit holds. Synapses are stored on the
core of their target neuron.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.hardware.platforms import Platform, get_platform
from neuroattn.model import Network

__all__ = ["Mapping", "map_network", "check_mapping", "neuron_synapses"]


def neuron_synapses(network: Network):
    """Global ``(pre, post)`` neuron indices of every synapse, and each population's offset."""
    offset, n = {}, 0
    for p in network.populations:
        offset[p.name] = n
        n += p.size
    size = {p.name: p.size for p in network.populations}
    pres, posts = [], []
    for proj in network.projections:
        pre, post, _ = proj.connections(size[proj.source], size[proj.target])
        pres.append(pre + offset[proj.source])
        posts.append(post + offset[proj.target])
    pre = np.concatenate(pres) if pres else np.zeros(0, np.int64)
    post = np.concatenate(posts) if posts else np.zeros(0, np.int64)
    return pre, post, offset, n


@dataclass(frozen=True)
class Mapping:
    """Neurons assigned to cores, with the per-core loads and the cut.

    Attributes
    ----------
    platform : Platform
    core : ndarray of int [neurons]
        Core of each neuron (global index: populations in network order).
    offset : dict
        Population -> index of its first neuron.
    neurons, synapses, axons : ndarray [cores]
        Neurons, stored synapses (onto the core's neurons) and distinct presynaptic
        neurons per core.
    max_fan_in : int
        Largest number of synapses onto one neuron.
    total_synapses, cut_synapses : int
        All synapses, and those whose two neurons sit on different cores.
    partitioner : str
    """

    platform: Platform
    core: np.ndarray
    offset: dict
    neurons: np.ndarray
    synapses: np.ndarray
    axons: np.ndarray
    max_fan_in: int
    total_synapses: int
    cut_synapses: int
    partitioner: str

    @property
    def n_cores(self) -> int:
        """Cores used."""
        return int(self.neurons.size)

    def traffic(self, network: Network, recording) -> dict:
        """Inter-core spike traffic per second measured on ``recording``.

        Returns ``packets_per_s`` (one packet per spike and per other core holding a
        target of the spiking neuron, i.e. multicast routing), ``cut_events_per_s``
        (spikes times cut synapses) and ``spikes_per_s``.
        """
        pre, post, offset, n = neuron_synapses(network)
        cut = self.core[pre] != self.core[post]
        cut_fan = np.bincount(pre[cut], minlength=n)
        pairs = np.unique(np.stack([pre[cut], self.core[post[cut]]]), axis=1) if cut.any() \
            else np.zeros((2, 0), np.int64)
        dest_cores = np.bincount(pairs[0], minlength=n)
        counts = np.zeros(n)
        for tr in recording.spikes:
            for pop, (idx, _) in tr.items():
                if pop in offset:
                    np.add.at(counts, np.asarray(idx, dtype=np.int64) + offset[pop], 1)
        seconds = len(recording.spikes) * float(recording.meta.get(
            "duration", recording.rates.shape[1] * recording.bin_width))
        return {"packets_per_s": float(counts @ dest_cores) / seconds,
                "cut_events_per_s": float(counts @ cut_fan) / seconds,
                "spikes_per_s": float(counts.sum()) / seconds}


def _loads(pre, post, core, k):
    neurons = np.bincount(core, minlength=k)
    synapses = np.bincount(core[post], minlength=k)
    axons = np.zeros(k, dtype=np.int64)
    if pre.size:
        pairs = np.unique(np.stack([core[post], pre]), axis=1)
        axons = np.bincount(pairs[0], minlength=k)
    return neurons, synapses, axons


def check_mapping(mapping: Mapping) -> list:
    """Every limit of the platform the mapping breaks, as readable strings (empty if none)."""
    p = mapping.platform
    out = []
    if mapping.n_cores > p.cores:
        out.append(f"cores: {mapping.n_cores} used, the chip has {p.cores}")
    checks = [("neurons_per_core", mapping.neurons, p.neurons_per_core),
              ("synapse_capacity", mapping.synapses, p.synapse_capacity),
              ("axons_per_core", mapping.axons, p.axons_per_core)]
    for name, loads, limit in checks:
        if limit is not None and loads.size and loads.max() > limit:
            c = int(loads.argmax())
            out.append(f"{name}: core {c} holds {int(loads[c])}, limit {limit}")
    if p.fan_in is not None and mapping.max_fan_in > p.fan_in:
        out.append(f"fan_in: a neuron receives {mapping.max_fan_in} synapses, limit {p.fan_in}")
    return out


def _adjacency(pre, post, n):
    import scipy.sparse as sp

    keep = pre != post
    a = sp.coo_matrix((np.ones(int(keep.sum())), (pre[keep], post[keep])), shape=(n, n)).tocsr()
    a = (a + a.T).tocsr()
    a.sum_duplicates()
    return a


def _partition_metis(adj, k, seed):
    import pymetis

    opts = pymetis.Options(seed=seed)
    graph = pymetis.CSRAdjacency(adj_starts=adj.indptr, adjacent=adj.indices)
    _, parts = pymetis.part_graph(k, adjacency=graph, eweights=adj.data.astype(np.int64),
                                  options=opts)
    return np.asarray(parts, dtype=np.int64)


def _partition_kl(adj, k, seed):
    import networkx as nx

    g = nx.from_scipy_sparse_array(adj)
    parts = [list(g.nodes)]
    while len(parts) < k:  # bisect the largest part until there are k
        parts.sort(key=len)
        big = parts.pop()
        if len(big) < 2:
            parts.append(big)
            break
        a, b = nx.community.kernighan_lin_bisection(g.subgraph(big), weight="weight", seed=seed)
        parts += [list(a), list(b)]
    core = np.zeros(adj.shape[0], dtype=np.int64)
    for i, part in enumerate(parts):
        core[part] = i
    return core


def map_network(network: Network, platform, partitioner: str = "auto", seed: int = 0,
                max_tries: int = 64) -> Mapping:
    """Assign every neuron of ``network`` to a core of ``platform``.

    Parameters
    ----------
    network : Network
    platform : Platform or str
        e.g. ``'loihi2'``, ``'truenorth'`` (see ``PLATFORMS``).
    partitioner : {'auto', 'metis', 'kernighan-lin'}
        ``'auto'``: METIS when pymetis is installed, else Kernighan-Lin.
    seed : int
    max_tries : int
        Core counts tried above the lower bound before giving up.

    Returns
    -------
    Mapping
        Whose :func:`check_mapping` is empty.

    Raises
    ------
    ValidationError
        When no mapping within the limits is found (e.g. a neuron's fan-in above the
        platform's, or more cores needed than the chip has), naming the limit.
    """
    import importlib.util

    p = get_platform(platform)
    if partitioner == "auto":
        partitioner = "metis" if importlib.util.find_spec("pymetis") else "kernighan-lin"
    if partitioner not in ("metis", "kernighan-lin"):
        raise ValidationError(f"map_network.partitioner: expected 'auto', 'metis' or "
                              f"'kernighan-lin' (got {partitioner!r})")
    pre, post, offset, n = neuron_synapses(network)
    fan_in = np.bincount(post, minlength=n)
    max_fan_in = int(fan_in.max()) if n else 0
    if p.fan_in is not None and max_fan_in > p.fan_in:
        raise ValidationError(f"map_network: a neuron receives {max_fan_in} synapses; "
                              f"{p.title} allows {p.fan_in} (fan_in); thin the projections")
    cap = p.synapse_capacity
    k = max(math.ceil(n / p.neurons_per_core), 1)
    if cap is not None:
        k = max(k, math.ceil(pre.size / cap))
    adj = _adjacency(pre, post, n)
    part = _partition_metis if partitioner == "metis" else _partition_kl
    last = []
    for _ in range(max_tries):
        core = np.zeros(n, dtype=np.int64) if k == 1 else part(adj, k, seed)
        used = np.unique(core)
        core = np.searchsorted(used, core)  # drop empty parts
        neurons, synapses, axons = _loads(pre, post, core, used.size)
        m = Mapping(p, core, offset, neurons, synapses, axons, max_fan_in, int(pre.size),
                    int(np.sum(core[pre] != core[post])), partitioner)
        last = check_mapping(m)
        if not last:
            return m
        if used.size > p.cores:
            break
        k = max(k + 1, int(math.ceil(k * 1.05)))
    raise ValidationError(f"map_network: no mapping of {network.name!r} ({n} neurons, "
                          f"{pre.size} synapses) onto {p.title} within its limits; last "
                          f"attempt broke: {'; '.join(last)}")
