"""Build one Brian2 network holding a chunk of trials side by side (block-diagonal).

Trial ``b`` of the chunk owns neurons ``[b*size, (b+1)*size)`` of each population's
NeuronGroup; every projection is replicated per block with index offsets, so the
trials never interact. Only index arrays reach ``Synapses.connect`` (no string
conditions over all pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.backends._common import GRID_SNAP, RunSpec, on_grid, trial_rng
from neuroattn.neurons.brian2_eqs import brian2_model

__all__ = ["Built", "build", "synaptic_ports"]


@dataclass
class Built:
    """The Brian2 objects of one chunk and what the recorder needs to read them.

    ``groups``: population -> NeuronGroup; ``spike_monitors``: population ->
    SpikeMonitor; ``v_monitors``: population -> (StateMonitor, neuron indices);
    ``ports``: population -> tuple of synaptic current names.
    """

    network: object
    groups: dict
    spike_monitors: dict
    v_monitors: dict
    ports: dict
    n_trials: int


def synaptic_ports(spec: RunSpec) -> tuple[dict, dict]:
    """Assign every projection and 'poisson' drive to a synaptic current ("port").

    Inputs onto one population with equal ``tau_syn`` share a port (the currents are
    linear). Returns ``(ports, where)``: ``ports[pop]`` is a list of ``(name, tau)``
    and ``where[id(obj)]`` the port name of each projection or drive.
    """
    inputs = {p.name: [] for p in spec.network.populations}
    for pr in spec.network.projections:
        inputs[pr.target].append((pr, pr.tau_syn))
    if spec.stimulus is not None:
        for d in spec.stimulus.drives:
            if d.kind == "poisson":
                inputs[d.population].append((d, d.tau_syn))
    ports, where = {}, {}
    for pop, items in inputs.items():
        taus: list[float] = []
        for obj, tau in items:
            k = next((n for n, t in enumerate(taus) if abs(t - tau) <= 1e-12 * tau), None)
            if k is None:
                taus.append(tau)
                k = len(taus) - 1
            where[id(obj)] = f"i_syn{k}"
        ports[pop] = [(f"i_syn{k}", t) for k, t in enumerate(taus)]
    return ports, where


def _drive_table(spec: RunSpec, drive, trials: range, poisson: bool) -> np.ndarray:
    """Per-row values [rows + 1, columns] of one drive; a zero row is appended.

    One column per trial of the chunk for a [trials, steps, channels] stimulus, a
    single column for a shared [steps, channels] one.
    """
    vals = spec.stimulus.values
    if vals.ndim == 3:
        col = vals[trials.start:trials.stop, :, drive.channel].T
    else:
        col = vals[:, drive.channel][:, None]
    col = drive.gain * col
    if poisson:
        col = np.maximum(col, 0.0)
    return np.vstack([col, np.zeros((1, col.shape[1]))])


def _lookup(name: str, table: np.ndarray) -> str:
    return f"{name}(t, trial)" if table.shape[1] > 1 else f"{name}(t, 0)"


def _drive_code(spec: RunSpec, pop: str, trials: range, where: dict, b2, namespace: dict):
    """Code lines (i_ext at 'start', poisson input at 'synapses') and their TimedArrays."""
    current, poisson = None, []
    if spec.stimulus is None:
        return None, None
    stim_dt = spec.stimulus.dt * b2.second
    cur = [d for d in spec.stimulus.drives if d.population == pop and d.kind == "current"]
    if cur:
        table = sum(_drive_table(spec, d, trials, False) for d in cur)
        namespace["i_ext_table"] = b2.TimedArray(table * b2.amp, dt=stim_dt,
                                                 name=f"{pop}_i_ext_table")
        current = f"i_ext = {_lookup('i_ext_table', table)}"
    drives = [d for d in spec.stimulus.drives if d.population == pop and d.kind == "poisson"]
    for k, d in enumerate(drives):
        table = _drive_table(spec, d, trials, True)
        name = f"rate_table{k}"
        namespace[name] = b2.TimedArray(table * b2.Hz, dt=stim_dt, name=f"{pop}_{name}")
        namespace[f"w_drive{k}"] = d.weight * b2.amp
        poisson.append(f"{where[id(d)]} += w_drive{k}*poisson({_lookup(name, table)}*dt)")
    return current, ("\n".join(poisson) or None)


def _initial_v(spec: RunSpec, trials: range) -> dict:
    """Initial potentials per population, [len(trials) * size], from trial_rng(seed, t)."""
    out = {p.name: [] for p in spec.network.populations}
    for t in trials:
        rng = trial_rng(spec.seed, t)
        for p in spec.network.populations:
            out[p.name].append(p.initial_v(rng))
    return {k: np.concatenate(v) for k, v in out.items()}


def _grid_code(var: str, origin: str | None, step: str) -> str:
    """``var = <var on the grid>``: the rule of ``_common.on_grid`` as Brian2 code."""
    y = f"({var} - {origin})/{step}" if origin else f"{var}/{step}"
    z = f"clip({y} + sign({y})*fx_snap, fx_lo, fx_hi)"
    return f"{var} = {origin + ' + ' if origin else ''}sign({z})*floor(abs({z}))*{step}"


def _grid_namespace(k: int, grid, b2) -> dict:
    """The constants of population ``k``'s grid, for its NeuronGroup's namespace."""
    return dict(fx_v0=grid.origin[k] * b2.volt, fx_vq=grid.v_step[k] * b2.volt,
                fx_iq=grid.i_step[k] * b2.amp, fx_lo=grid.lo, fx_hi=grid.hi,
                fx_snap=GRID_SNAP)


def _grid_code_all(ports) -> str:
    """Move v and every synaptic current of a group onto its grid (``_grid_namespace``)."""
    code = [_grid_code("v", "fx_v0", "fx_vq")]
    code += [_grid_code(port, None, "fx_iq") for port, _ in ports]
    return "\n".join(code)


def build(spec: RunSpec, trials: range, b2, noise: str = "exact", grid=None) -> Built:
    """Create the Brian2 objects for ``trials`` (a contiguous range of trial indices).

    ``grid``: a resolved fixed-point state grid (``_common.GridArrays``) or None.
    """
    n_b = len(trials)
    # Fixed names everywhere: generated code is then identical from run to run, so the
    # cython target finds it in its cache instead of compiling again.
    clock = b2.Clock(dt=spec.dt * b2.second, name="neuroattn_clock")
    ports, where = synaptic_ports(spec)
    v0 = _initial_v(spec, trials)
    index = {p.name: k for k, p in enumerate(spec.network.populations)}
    objects, groups = [], {}
    conductance = {p.name for p in spec.network.populations
                   if getattr(p.params, "kind", None) == "conductance"}
    if conductance:  # the neuron/synapse description's own lowering
        from neuroattn.backends.brian2_backend._conductance import build_conductance

        groups, objects = build_conductance(spec, trials, b2, clock, v0, _drive_table, _lookup)
        groups, objects = dict(groups), list(objects)
    for p in spec.network.populations:
        if p.name in conductance:
            continue
        model = brian2_model(p.params, ports[p.name], noise=noise)
        namespace = dict(model.namespace)
        current, poisson = _drive_code(spec, p.name, trials, where, b2, namespace)
        k = index[p.name]
        fixed = grid is not None and grid.on(k)
        if fixed:
            namespace.update(_grid_namespace(k, grid, b2))
            v0[p.name] = on_grid(v0[p.name], grid.origin[k], grid.v_step[k], grid.lo, grid.hi)
            if "v_reset" in namespace:  # Brian2 holds a refractory v at the reset value
                namespace["v_reset"] = on_grid(float(namespace["v_reset"] / b2.volt),
                                               grid.origin[k], grid.v_step[k], grid.lo,
                                               grid.hi) * b2.volt
        eqs = model.equations + "\ntrial : integer (constant)"
        kwargs = {} if model.reset is None else {"reset": model.reset}
        g = b2.NeuronGroup(n_b * p.size, eqs, threshold=model.threshold,
                           refractory=model.refractory, method=model.method,
                           namespace=namespace, clock=clock, name=f"pop_{p.name}", **kwargs)
        g.v = v0[p.name] * b2.volt
        if fixed:  # after the state update, threshold, synaptic input and reset
            g.run_regularly(_grid_code_all(ports[p.name]), when="end", name=f"pop_{p.name}_grid")
        g.trial = np.repeat(np.arange(n_b), p.size)
        if current is not None:
            g.run_regularly(current, when="start", name=f"pop_{p.name}_i_ext")
        if model.noise_code is not None:
            g.run_regularly(model.noise_code, when="groups", order=1, name=f"pop_{p.name}_noise")
        if poisson is not None:
            g.run_regularly(poisson, when="synapses", name=f"pop_{p.name}_poisson")
        groups[p.name] = g
        objects.append(g)
    sizes = {p.name: p.size for p in spec.network.populations}
    for k, pr in enumerate(spec.network.projections):
        if pr.target in conductance:
            continue
        pre, post, w = pr.connections(sizes[pr.source], sizes[pr.target])
        if pre.size == 0:
            continue
        offs = np.arange(n_b)[:, None]
        i = (pre[None, :] + offs * sizes[pr.source]).ravel()
        j = (post[None, :] + offs * sizes[pr.target]).ravel()
        syn = b2.Synapses(groups[pr.source], groups[pr.target], model="w : amp",
                          on_pre=f"{where[id(pr)]}_post += w",
                          delay=pr.delay * b2.second if pr.delay > 0 else None,
                          clock=clock, name=f"proj{k}_{pr.source}_to_{pr.target}")
        syn.connect(i=i, j=j)
        syn.w = np.tile(w, n_b) * b2.amp
        objects.append(syn)
    spike_monitors, v_monitors = {}, {}
    need_spikes = {pb.population for pb in spec.network.probes if pb.kind in ("rate", "spikes")}
    for name in need_spikes:
        spike_monitors[name] = b2.SpikeMonitor(groups[name], name=f"spikes_{name}")
        objects.append(spike_monitors[name])
    v_neurons: dict[str, list] = {}
    for pb in spec.network.probes:
        if pb.kind == "v":
            lst = v_neurons.setdefault(pb.population, [])
            lst.extend(n for n in pb.neurons if n not in lst)
    for name, neurons in v_neurons.items():
        idx = (np.asarray(neurons)[None, :] + np.arange(n_b)[:, None] * sizes[name]).ravel()
        mon = b2.StateMonitor(groups[name], "v", record=idx, clock=clock, name=f"v_{name}")
        v_monitors[name] = (mon, tuple(neurons))
        objects.append(mon)
    net = b2.Network(*objects)
    return Built(net, groups, spike_monitors, v_monitors,
                 {k: () if k in conductance else tuple(n for n, _ in v)
                  for k, v in ports.items()}, n_b)
