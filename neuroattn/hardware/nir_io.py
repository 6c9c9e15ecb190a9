"""NIR export and import of a Network (the Neuromorphic Intermediate Representation).

Conventions of the graphs this module writes (also stored in the graph's metadata):

* Time in seconds; ``dt`` (the simulation step the graph was made for) in the graph
  metadata. Spikes are pulses of height 1 lasting one step ``dt`` (the discrete-time
  reading snnTorch's importer uses), so a Linear weight ``W`` feeding a
  ``CubaLIF`` raises its synaptic state by ``w_in W dt / tau_syn`` per spike.
* Potentials in volts relative to the population's resting potential (``v_leak`` is
  ``r_m i_bias``, 0 without a bias current); the resting potential is in each neuron
  node's metadata (``neuroattn_v_rest``).
* A population whose inputs are spikes sharing one synaptic time constant becomes one
  ``CubaLIF`` node with ``r = tau_mem / dt`` and ``w_in = r_m tau_syn / tau_mem``, so its
  Linear weights are the synaptic current jumps in amperes. A population with a direct
  current drive, or with synapses of several time constants, becomes a ``LIF`` node
  (``r = r_m``, input in amperes) fed by one ``LI`` node per time constant
  (``tau = tau_syn``, ``r = tau_syn / dt``: again weights in amperes).
* A projection is a ``Linear`` node ``<source>_to_<target>`` (``weight[target, source]``,
  signed amperes), then a ``Delay`` node when its delay is > 0. A current drive of
  stimulus column ``c`` is an ``Input`` node ``input<c>`` and a ``Linear`` node
  ``input<c>_to_<population>`` of the gain (A per unit). Each probed population has an
  ``Output`` node ``<population>_out``.
* NIR has no refractory period, initial potentials or membrane noise: these go into the
  node metadata (``neuroattn_t_ref``, ``neuroattn_v_init``, ``neuroattn_sigma``), which
  this module reads back and other tools ignore.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model import (
    AllToAll,
    Drive,
    Explicit,
    Network,
    Population,
    Probe,
    Projection,
    Stimulus,
)

__all__ = ["NIRUnsupported", "export_nir", "write_nir", "import_nir", "NIRImport",
           "SPIKE_CONVENTION"]

SPIKE_CONVENTION = "pulse of height 1 over one step dt"
_META = "neuroattn_"
_LIF_FIELDS = ("tau_mem", "v_rest", "v_reset", "v_th", "r_m", "t_ref", "sigma", "i_bias")
#: synaptic time constant (s) given to a LIF node's instantaneous input on import, as a
#: fraction of dt
_FAST_SYN = 1.0 / 20.0


class NIRUnsupported(ValidationError):
    """A part of a network NIR cannot express, or a NIR node neuroattn cannot run."""


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - the hardware extra installs it
        raise ImportError("neuroattn.hardware NIR support needs the 'nir' package: "
                          "pip install 'neuroattn[hardware]'") from exc
    return nir


# --------------------------------------------------------------------------- export


def _check_population(pop: Population, noise: str) -> None:
    p = pop.params
    if getattr(p, "kind", None) == "escape":
        raise NIRUnsupported(
            f"Population({pop.name!r}): escape-noise neuron (EscapeParams) -- NIR has no "
            "stochastic neuron node (its neurons fire on a hard threshold); use LIFParams, "
            "or export the deterministic parts and sample these spikes outside the graph")
    if p.sigma > 0 and noise != "metadata":
        raise NIRUnsupported(
            f"Population({pop.name!r}).params.sigma: membrane noise ({p.sigma:g} V) is a noise "
            "source and NIR has no noise node; set sigma=0, or pass noise='metadata' to keep "
            "it as a neuroattn extension that other tools ignore")


def _rest_relative(p) -> tuple[float, bool]:
    """The offset (V) subtracted from potentials, and whether it round-trips exactly."""
    off = p.v_rest
    exact = all((v - off) + off == v for v in (p.v_reset, p.v_th))
    return (off, True) if exact else (0.0, False)


def _dense(proj: Projection, n_source: int, n_target: int) -> np.ndarray:
    pre, post, w = proj.connections(n_source, n_target)
    out = np.zeros((n_target, n_source))
    np.add.at(out, (post, pre), w)
    return out


def export_nir(network: Network, drives=(), dt: float = 1e-4, *, noise: str = "refuse",
               outputs=None, unit_r: bool = False):
    """Describe ``network`` (and its current ``drives``) as a NIR graph.

    Parameters
    ----------
    network : neuroattn.model.Network
    drives : sequence of neuroattn.model.Drive
        Current drives of stimulus columns (a SpikingModel's ``drives``); each column
        becomes an ``Input`` node ``input<c>``.
    dt : float, seconds
        The step the graph is made for (its spike pulses last ``dt``).
    noise : {'refuse', 'metadata'}
        What to do with membrane noise (``sigma > 0``): refuse (default) or keep it in
        the node metadata, which only neuroattn reads back.
    outputs : sequence of str or None
        Populations given an ``Output`` node (default: every rate-probed population).
        Some importers (nirtorch, hence snnTorch) run graphs with one output only.
    unit_r : bool
        Write every ``LIF`` node with ``r = 1`` and fold its membrane resistance into
        its inputs (the drives' ``Linear`` weights and the ``LI`` nodes' ``r`` then carry
        volts): the same NIR dynamics, for readers that ignore ``r`` (Norse 1.1 assumes
        ``r = 1``). ``import_nir`` reads both forms (the metadata keeps ``r_m``).

    Returns
    -------
    nir.NIRGraph

    Raises
    ------
    NIRUnsupported
        Naming the population or drive NIR cannot express and why (escape-noise
        neurons, membrane noise, Poisson drives).

    Examples
    --------
    >>> from neuroattn.model import Network, Population, Probe, Projection
    >>> from neuroattn.neurons import LIFParams
    >>> net = Network([Population("a", 3, LIFParams()), Population("b", 2, LIFParams())],
    ...               [Projection("a", "b", 50e-12)], [Probe("a"), Probe("b")])
    >>> g = export_nir(net)
    >>> sorted(k for k in g.nodes if not k.startswith("input")), type(g.nodes["b"]).__name__
    (['a', 'a_out', 'a_to_b', 'b', 'b_out'], 'CubaLIF')
    >>> import_nir(g).network
    Network('network', 2 populations, 1 projections, 5 neurons)
    """
    nir = _nir()
    if not isinstance(network, Network):
        raise ValidationError(f"export_nir.network: expected a neuroattn.model.Network "
                              f"(got {type(network).__name__})")
    if noise not in ("refuse", "metadata"):
        raise ValidationError(f"export_nir.noise: expected 'refuse' or 'metadata' (got {noise!r})")
    dt = float(dt)
    if not dt > 0:
        raise ValidationError(f"export_nir.dt: must be > 0 s (got {dt!r})")
    drives = tuple(drives)
    sizes = {p.name: p.size for p in network.populations}
    for d in drives:
        if not isinstance(d, Drive):
            raise ValidationError(f"export_nir.drives: expected Drive objects "
                                  f"(got {type(d).__name__})")
        d.validate(max(dd.channel for dd in drives) + 1, set(sizes))
        if d.kind == "poisson":
            raise NIRUnsupported(
                f"Drive(channel={d.channel}, population={d.population!r}): Poisson input is a "
                "noise source and NIR has no noise node; drive the population with a current, "
                "or feed recorded input spikes to the exported graph's Input node")
    for pop in network.populations:
        _check_population(pop, noise)

    nodes, edges = {}, []
    incoming = {p.name: [pr for pr in network.projections if pr.target == p.name]
                for p in network.populations}
    for pop in network.populations:
        p = pop.params
        n = pop.size
        off, _ = _rest_relative(p)
        taus = sorted({pr.tau_syn for pr in incoming[pop.name]})
        current = [d for d in drives if d.population == pop.name]
        meta = {f"{_META}{f}": float(getattr(p, f)) for f in _LIF_FIELDS}
        meta[f"{_META}v_offset"] = float(off)
        if pop.v_init is not None:
            meta[f"{_META}v_init"] = np.atleast_1d(np.asarray(pop.v_init, dtype=np.float64))
        full = lambda x: np.full(n, float(x))  # noqa: E731
        common = dict(v_leak=full((p.v_rest - off) + p.r_m * p.i_bias),
                      v_threshold=full(p.v_th - off),
                      v_reset=full(p.v_reset - off))
        if not current and len(taus) <= 1:
            tau_syn = taus[0] if taus else 5e-3
            meta[f"{_META}form"] = "cubalif"
            nodes[pop.name] = nir.CubaLIF(
                tau_syn=full(tau_syn), tau_mem=full(p.tau_mem), r=full(p.tau_mem / dt),
                w_in=full(p.r_m * tau_syn / p.tau_mem), metadata=meta, **common)
            syn_of = {tau_syn: pop.name}
        else:
            meta[f"{_META}form"] = "lif"
            # r_in: the unit of the node's input (A, or V with unit_r)
            r_in = p.r_m if unit_r else 1.0
            nodes[pop.name] = nir.LIF(tau=full(p.tau_mem), r=full(p.r_m / r_in), metadata=meta,
                                      **common)
            syn_of = {}
            for k, tau in enumerate(taus):
                name = f"{pop.name}_syn{k}"
                nodes[name] = nir.LI(tau=full(tau), r=full(tau / dt * r_in), v_leak=full(0.0))
                edges.append((name, pop.name))
                syn_of[tau] = name
        for pr in incoming[pop.name]:
            name = f"{pr.source}_to_{pr.target}"
            nodes[name] = nir.Linear(weight=_dense(pr, sizes[pr.source], n))
            edges.append((pr.source, name))
            if pr.delay > 0:
                nodes[f"{name}_delay"] = nir.Delay(delay=np.full(n, pr.delay))
                edges += [(name, f"{name}_delay"), (f"{name}_delay", syn_of[pr.tau_syn])]
            else:
                edges.append((name, syn_of[pr.tau_syn]))
        for d in current:
            src = f"input{d.channel}"
            if src not in nodes:
                nodes[src] = nir.Input(input_type={"input": np.array([1])})
            name = f"{src}_to_{pop.name}"
            gain = float(d.gain) * (r_in if meta[f"{_META}form"] == "lif" else 1.0)
            if name in nodes:  # two drives of one column onto one population add up
                nodes[name] = nir.Linear(weight=nodes[name].weight + gain)
            else:
                nodes[name] = nir.Linear(weight=np.full((n, 1), gain))
                edges += [(src, name), (name, pop.name)]
    if outputs is None:
        outputs = network.rate_units()
    for pop_name in dict.fromkeys(outputs):
        if pop_name not in sizes:
            raise ValidationError(f"export_nir.outputs: no population {pop_name!r}; expected "
                                  f"names from {sorted(sizes)}")
        out = f"{pop_name}_out"
        nodes[out] = nir.Output(output_type={"output": np.array([sizes[pop_name]])})
        edges.append((pop_name, out))
    taken = [k for k in nodes if k in sizes and not isinstance(
        nodes[k], (nir.LIF, nir.CubaLIF))]
    if taken:
        raise ValidationError(f"export_nir.network: population names {taken} clash with the "
                              "names of projection or synapse nodes; rename them")
    bin_width = next((pb.bin_width for pb in network.probes if pb.kind == "rate"), 5e-3)
    metadata = {"dt": dt, "time_unit": "s", "potential_unit": "V (relative to v_rest)",
                "weight_unit": "A (synaptic current jump)" + (
                    "; LIF nodes have r = 1 and take their inputs in V (r_m A)" if unit_r else ""),
                "spike_convention": SPIKE_CONVENTION,
                "producer": "neuroattn", f"{_META}network": network.name,
                f"{_META}bin_width": float(bin_width)}
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
    except ValueError:
        # nir infers shapes from the Input nodes; a network with no input (driven by
        # bias currents, fully recurrent) has none, and its shapes are already complete
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def write_nir(graph, path) -> None:
    """Write ``graph`` to ``path`` with ``nir.write`` (HDF5), via a temporary file."""
    import os

    nir = _nir()
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValidationError(f"write_nir.path: folder {folder!r} does not exist")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class NIRImport:
    """A NIR graph read into neuroattn.

    Attributes
    ----------
    network : Network
    drives : tuple of Drive
        Current drives: stimulus column ``i`` is element ``channels[i]`` of the graph's
        inputs (Input nodes in natural name order, so a neuroattn graph's ``input<c>``
        is column ``c`` again when every column was exported).
    channels : tuple of str
        ``'<input node>[<index>]'`` for each stimulus column.
    dt : float, seconds
        The graph's step (metadata ``dt``, else the ``dt`` passed to ``import_nir``).
    notes : tuple of str
        Approximations made on import (e.g. instantaneous synapses).
    """

    network: Network
    drives: tuple
    channels: tuple
    dt: float
    notes: tuple = field(default=())

    def stimulus(self, values) -> Stimulus:
        """A Stimulus of ``values`` [steps, channels] or [trials, steps, channels], held
        for ``dt`` per row, through this graph's drives."""
        return Stimulus(values, self.dt, self.drives)


def _uniform(node_name: str, field_name: str, arr) -> float:
    a = np.asarray(arr, dtype=np.float64).ravel()
    if a.size == 0 or not np.all(a == a[0]):
        raise NIRUnsupported(f"NIR node {node_name!r}.{field_name}: neuroattn populations share "
                             f"one value per parameter (got {np.unique(a)[:4]} ...); split the "
                             "node into groups of equal parameters")
    return float(a[0])


def _same(derived: float, stored) -> float:
    """The exact stored SI value when it agrees with the value derived from NIR fields."""
    if stored is None:
        return derived
    s = float(np.asarray(stored).ravel()[0])
    return s if math.isclose(s, derived, rel_tol=1e-9, abs_tol=1e-15) else derived


def _flatten(graph, prefix: str = ""):
    """Nodes and edges with nested graphs (snnTorch's recurrent layers) inlined."""
    nir = _nir()
    nodes, edges, entry, exit_ = {}, [], {}, {}
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten(node, f"{full}.")
            ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            entry[full] = [f"{full}.{b}" for a, b in node.edges if a in ins]
            exit_[full] = [f"{full}.{a}" for a, b in node.edges if b in outs]
            for k in ins + outs:
                sub_nodes.pop(f"{full}.{k}")
            nodes.update(sub_nodes)
            edges += [(a, b) for a, b in sub_edges
                      if a[len(full) + 1:] not in ins and b[len(full) + 1:] not in outs]
        else:
            nodes[full] = node
    for a, b in graph.edges:
        a, b = f"{prefix}{a}", f"{prefix}{b}"
        for x in exit_.get(a, [a]):
            for y in entry.get(b, [b]):
                edges.append((x, y))
    return nodes, list(dict.fromkeys(edges))


def _meta(node, key):
    return (getattr(node, "metadata", None) or {}).get(f"{_META}{key}")


def _meta_float(node, key, default=None):
    v = _meta(node, key)
    return default if v is None else float(np.asarray(v, dtype=np.float64).ravel()[0])


def import_nir(source, dt: float | None = None, name: str | None = None) -> NIRImport:
    """Read a NIR graph (or a file written by ``nir.write``) into a Network.

    Parameters
    ----------
    source : nir.NIRGraph, str or path
    dt : float, seconds
        The step for graphs whose metadata states none (snnTorch writes graphs for
        0.1 ms and states no step); default 0.1 ms.
    name : str
        Name of the Network (default: the graph's, or ``'nir'``).

    Returns
    -------
    NIRImport

    Raises
    ------
    NIRUnsupported
        Naming a node neuroattn cannot run (node types other than Input, Output, LIF,
        CubaLIF, LI, Linear, Affine, Delay; per-neuron parameters; a projection with
        weights of both signs).

    Notes
    -----
    ``LIF``/``CubaLIF`` nodes become LIF populations (``v_rest = v_leak``, refractory 0
    unless the metadata says otherwise); ``LI`` nodes between a Linear and a LIF node
    are synaptic currents; ``Input`` columns feeding a neuron node through weights that
    differ between its neurons, or feeding a ``CubaLIF``, become relay populations of
    one neuron each that spike when the column's value exceeds 0.5 (binary input
    spikes). A LIF node's instantaneous synapses become synapses with a time constant
    of ``dt / 20``, scaled so a spike moves the potential by the NIR amount in its first
    step (listed in ``notes``).
    """
    import os
    import re

    nir = _nir()
    from neuroattn.neurons import LIFParams
    from neuroattn.neurons._membrane import synaptic_kernel

    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise ValidationError(f"import_nir.source: no such file {os.fspath(source)!r}")
        try:
            graph = nir.read(source, type_check=False)
        except (OSError, KeyError, ValueError) as exc:
            raise ValidationError(f"import_nir.source: cannot read {os.fspath(source)!r} as a "
                                  f"NIR file ({type(exc).__name__}: {exc}); expected a file "
                                  "written by nir.write") from exc
    elif isinstance(source, nir.NIRGraph):
        graph = source
    else:
        raise ValidationError(f"import_nir.source: expected a nir.NIRGraph or a path "
                              f"(got {type(source).__name__})")
    gmeta = getattr(graph, "metadata", None) or {}
    if "dt" in gmeta:
        dt = float(np.asarray(gmeta["dt"]))
    dt = 1e-4 if dt is None else float(dt)
    if not dt > 0:
        raise ValidationError(f"import_nir.dt: must be > 0 s (got {dt!r})")
    nodes, edges = _flatten(graph)
    neuron_types = (nir.LIF, nir.CubaLIF)
    if str(np.asarray(gmeta.get("producer", "")).astype(str)) == "neuroattn":
        # nir's type inference adds an Input node before every node nothing feeds;
        # neuroattn never connects an Input to a neuron directly, so these carry no input
        bare = {a for a, b in edges if isinstance(nodes.get(a), nir.Input)
                and isinstance(nodes.get(b), neuron_types)}
        edges = [(a, b) for a, b in edges if a not in bare]
        nodes = {k: v for k, v in nodes.items() if k not in bare}
    preds = {k: [a for a, b in edges if b == k] for k in nodes}
    allowed = neuron_types + (nir.Input, nir.Output, nir.LI, nir.Linear, nir.Affine, nir.Delay)
    for k, node in nodes.items():
        if not isinstance(node, allowed):
            raise NIRUnsupported(f"NIR node {k!r}: type {type(node).__name__} has no neuroattn "
                                 "equivalent (supported: LIF, CubaLIF, LI as a synapse, Linear, "
                                 "Affine, Delay, Input, Output)")
    notes = []
    pops, params, units = [], {}, {}
    for k, node in nodes.items():
        if not isinstance(node, neuron_types):
            continue
        cuba = isinstance(node, nir.CubaLIF)
        tau_mem = _uniform(k, "tau_mem" if cuba else "tau", node.tau_mem if cuba else node.tau)
        r = _uniform(k, "r", node.r)
        off = _meta_float(node, "v_offset", 0.0)
        # r_m sets the current unit: NIR cannot state it, so a neuroattn graph keeps it
        r_m = _meta_float(node, "r_m", r)
        v_leak = _uniform(k, "v_leak", node.v_leak) + off
        v_rest, i_bias = v_leak, 0.0
        rest_m, bias_m = _meta(node, "v_rest"), _meta(node, "i_bias")
        if rest_m is not None and bias_m is not None:
            rest_m, bias_m = _meta_float(node, "v_rest"), _meta_float(node, "i_bias")
            if math.isclose(rest_m + r_m * bias_m, v_leak, rel_tol=1e-9, abs_tol=1e-12):
                v_rest, i_bias = rest_m, bias_m
        vals = dict(tau_mem=_same(tau_mem, _meta(node, "tau_mem")), v_rest=v_rest,
                    v_reset=_same(_uniform(k, "v_reset", node.v_reset) + off,
                                  _meta(node, "v_reset")),
                    v_th=_same(_uniform(k, "v_threshold", node.v_threshold) + off,
                               _meta(node, "v_th")),
                    r_m=r_m, t_ref=_meta_float(node, "t_ref", 0.0),
                    sigma=_meta_float(node, "sigma", 0.0), i_bias=i_bias)
        if not vals["v_th"] > vals["v_reset"]:
            raise NIRUnsupported(f"NIR node {k!r}.v_threshold: must be above v_reset "
                                 f"(got {vals['v_th']:g} <= {vals['v_reset']:g})")
        # unit factors: NIR input units -> amperes of this population
        if cuba:
            tau_syn = _same(_uniform(k, "tau_syn", node.tau_syn), None)
            w_in = _uniform(k, "w_in", node.w_in)
            spike_factor = w_in * dt / tau_syn * r / r_m
            units[k] = dict(cuba=True, tau_syn=tau_syn, spike=spike_factor,
                            bias=w_in * r / r_m)
        else:
            units[k] = dict(cuba=False, current=r / r_m)
        v_init = _meta(node, "v_init")
        if v_init is not None:
            v_init = np.asarray(v_init, dtype=np.float64).ravel()
            v_init = float(v_init[0]) if v_init.size == 1 else (float(v_init[0]),
                                                                 float(v_init[1]))
        params[k] = LIFParams(**vals)
        pops.append(Population(_pop_name(k), int(np.asarray(node.v_threshold).size), params[k],
                               v_init))
    names = {k: _pop_name(k) for k in params}
    if len(set(names.values())) != len(names):
        raise NIRUnsupported("NIR graph: two neuron nodes map to one population name "
                             f"({sorted(names)}); rename them")

    def exact_one(x):
        return 1.0 if math.isclose(x, 1.0, rel_tol=1e-9) else x

    projections, drives, relays = [], [], {}

    def natural(key):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]

    channel_of, channels = {}, []
    for k in sorted((k for k, v in nodes.items() if isinstance(v, nir.Input)), key=natural):
        width = int(np.prod(np.asarray(list(nodes[k].input_type.values())[0]).ravel()))
        for c in range(width):
            channel_of[(k, c)] = len(channels)
            channels.append(f"{k}[{c}]")
    biases = {}
    for tgt in params:
        for pred in preds[tgt]:
            node = nodes[pred]
            tau_syn, factor = None, None
            if isinstance(node, nir.LI):          # synaptic current of a LIF node
                if units[tgt]["cuba"]:
                    raise NIRUnsupported(f"NIR node {pred!r}: an LI node feeding a CubaLIF node "
                                         "has no neuroattn equivalent")
                tau_syn = _uniform(pred, "tau", node.tau)
                if np.any(np.asarray(node.v_leak) != 0):
                    raise NIRUnsupported(f"NIR node {pred!r}.v_leak: a synaptic LI node needs "
                                         "v_leak = 0")
                factor = _uniform(pred, "r", node.r) * dt / tau_syn * units[tgt]["current"]
                sources = preds[pred]
            else:
                sources = [pred]
            for src in sources:
                path = [src]
                delay = 0.0
                n = nodes[src]
                if isinstance(n, nir.Input):   # an Input straight into a neuron: weight 1
                    width = int(np.asarray(list(n.input_type.values())[0]).ravel()[0])
                    n = nir.Linear(weight=np.eye(width))
                    nodes[f"{src}__identity"] = n
                    preds[f"{src}__identity"] = [src]
                    path = [f"{src}__identity"]
                elif isinstance(n, nir.Delay):
                    delay = _uniform(src, "delay", n.delay)
                    if len(preds[src]) != 1:
                        raise NIRUnsupported(f"NIR node {src!r}: a Delay node needs one input")
                    path = [preds[src][0]]
                    n = nodes[path[0]]
                lin_name = path[0]
                if not isinstance(n, (nir.Linear, nir.Affine)):
                    raise NIRUnsupported(f"NIR node {lin_name!r}: expected a Linear or Affine node "
                                         f"before {tgt!r} (got {type(n).__name__})")
                ws = np.asarray(n.weight, dtype=np.float64)
                (origin,) = preds[lin_name] if len(preds[lin_name]) == 1 else (None,)
                if origin is None:
                    raise NIRUnsupported(f"NIR node {lin_name!r}: a Linear node needs exactly "
                                         "one input")
                if isinstance(n, nir.Affine) and np.any(np.asarray(n.bias) != 0):
                    b = np.asarray(n.bias, dtype=np.float64)
                    scale = units[tgt]["bias"] if units[tgt]["cuba"] else (
                        factor * tau_syn / dt if factor is not None else units[tgt]["current"])
                    biases[tgt] = biases.get(tgt, 0.0) + _uniform(lin_name, "bias", b) * scale
                    if units[tgt]["cuba"] or factor is not None:
                        notes.append(f"{lin_name}: a constant bias behind a synapse is taken at "
                                     "its steady state (no onset transient)")
                if factor is not None:
                    f, ts = exact_one(factor), tau_syn
                elif units[tgt]["cuba"]:
                    f, ts = exact_one(units[tgt]["spike"]), units[tgt]["tau_syn"]
                else:
                    f, ts = None, None
                if isinstance(nodes[origin], nir.Input) and f is None and np.all(
                        ws == ws[:1, :]):
                    # a current into a LIF node: one current drive per column
                    for c in range(ws.shape[1]):
                        drives.append(Drive(channel_of[(origin, c)], names[tgt], "current",
                                            gain=float(ws[0, c]) * units[tgt]["current"]))
                    continue
                if f is None:  # instantaneous synapse on a LIF node
                    p = params[tgt]
                    ts = dt * _FAST_SYN
                    f = units[tgt]["current"] * dt / p.tau_mem / synaptic_kernel(
                        ts, p.tau_mem, dt) * math.exp(-dt / p.tau_mem)
                    notes.append(f"{lin_name} -> {tgt}: an instantaneous synapse runs as a "
                                 f"{ts:g} s synapse")
                if isinstance(nodes[origin], nir.Input):
                    srcs = []
                    for c in range(ws.shape[1]):
                        key = (origin, c)
                        if key not in relays:
                            rname = _pop_name(f"{origin}_{c}")
                            relays[key] = rname
                            pops.append(Population(rname, 1, _relay_params(dt)))
                            drives.append(Drive(channel_of[key], rname, "current", gain=1.0))
                        srcs.append((relays[key], ws[:, c:c + 1]))
                elif isinstance(nodes[origin], neuron_types):
                    srcs = [(names[origin], ws)]
                else:
                    raise NIRUnsupported(f"NIR node {origin!r}: a {type(nodes[origin]).__name__} "
                                         f"cannot feed {lin_name!r}; expected a neuron or Input")
                for sname, w in srcs:
                    projections.append(_projection(lin_name, sname, names[tgt], w * f, ts, delay))
    pops = [p if p.name not in {names[k] for k in biases} else
            Population(p.name, p.size, _with_bias(p.params, biases[_key_of(names, p.name)]),
                       p.v_init) for p in pops]
    probes = [pb for p in pops for pb in (Probe(p.name, "rate", _bin(gmeta, dt)),
                                          Probe(p.name, "spikes"))]
    netname = name or str(np.asarray(gmeta.get(f"{_META}network", "nir")).astype(str))
    return NIRImport(Network(pops, projections, probes, name=netname), tuple(drives),
                     tuple(channels), dt, tuple(dict.fromkeys(notes)))


def _bin(gmeta, dt):
    bw = gmeta.get(f"{_META}bin_width")
    if bw is None:
        return max(5e-3, dt)
    bw = float(np.asarray(bw))
    return dt * max(1, round(bw / dt))


def _key_of(names, value):
    return next(k for k, v in names.items() if v == value)


def _with_bias(params, bias: float):
    from dataclasses import replace

    return replace(params, i_bias=params.i_bias + bias)


def _relay_params(dt):
    """A neuron that spikes in a step iff its input current (A, 1 ohm) exceeds 0.5."""
    from neuroattn.neurons import LIFParams

    return LIFParams(tau_mem=dt * 1e-3, v_rest=0.0, v_reset=0.0, v_th=0.5, r_m=1.0, t_ref=0.0)


def _pop_name(key: str) -> str:
    import re

    out = re.sub(r"[^A-Za-z0-9_]", "_", key)
    return out if out[:1].isalpha() else f"n_{out}"


def _projection(node: str, source: str, target: str, w: np.ndarray, tau_syn: float,
                delay: float) -> Projection:
    """A Projection from a [target, source] matrix of signed current jumps (A)."""
    nz = w != 0
    if np.any(w > 0) and np.any(w < 0):
        raise NIRUnsupported(f"NIR node {node!r}: weights of both signs in one projection; "
                             "neuroattn projections are excitatory or inhibitory -- split the "
                             "layer into a positive and a negative part with their own targets")
    sign = "inh" if np.any(w < 0) else "exc"
    mag = np.abs(w)
    post, pre = np.nonzero(nz)
    vals = mag[post, pre]
    if vals.size and np.all(vals == vals[0]) and not np.all(nz):
        order = np.lexsort((post, pre))
        rule = Explicit(tuple(int(i) for i in pre[order]), tuple(int(j) for j in post[order]))
        return Projection(source, target, float(vals[0]), rule, tau_syn, delay, sign)
    if vals.size and np.all(vals == vals[0]):
        return Projection(source, target, float(vals[0]), AllToAll(), tau_syn, delay, sign)
    return Projection(source, target, mag.T.copy(), AllToAll(), tau_syn, delay, sign)
