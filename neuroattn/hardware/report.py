"""Task-level hardware reports: operations and energy of a mechanism on a task, and the
effect of fixed-point weights on the task and on the spiking network's item shares."""

from __future__ import annotations

import contextlib

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["task_energy", "quantization_report", "count_softmax_ops"]


def _setup(task, mechanism, params=None):
    from neuroattn.mechanisms import get_mechanism
    from neuroattn.tasks import get_task

    task = get_task(task)() if isinstance(task, str) else task
    mech = get_mechanism(mechanism) if isinstance(mechanism, str) else mechanism
    spec = task.spec()
    reason = mech.supports(spec)
    if reason is not None:
        raise ValidationError(f"{mech.name}: cannot run this task: {reason}")
    return task, mech, spec, mech.resolve(**(params or {}))


@contextlib.contextmanager
def count_softmax_ops():
    """Count the arithmetic of every ``scaled_dot_product_attention`` call in the block.

    Yields a list that receives one ``OpCount`` per call (all query-key pairs, as
    :func:`neuroattn.attention.softmax_attention_ops` counts them). Works for any
    softmax layer that calls the function through ``neuroattn.attention``; the layers'
    own elementwise arithmetic (input filters, gains) is not counted.
    """
    import neuroattn.attention as att

    calls = []
    original = att.scaled_dot_product_attention

    def counted(q, k, v, *args, **kwargs):
        n, d = q.shape[-2], q.shape[-1]
        m, dv = k.shape[-2], v.shape[-1]
        batch = int(np.prod(q.shape[:-2])) if q.dim() > 2 else 1
        calls.append(att.softmax_attention_ops(n, m, d, dv, batch=batch))
        return original(q, k, v, *args, **kwargs)

    att.scaled_dot_product_attention = counted
    try:
        yield calls
    finally:
        att.scaled_dot_product_attention = original


def task_energy(task, mechanism, trials: int = 20, seed: int = 0, backend: str = "numba",
                dt: float = 1e-4, params=None, platforms=None, progress: bool = False) -> dict:
    """Operations and energy per trial of ``mechanism``'s two tiers on ``task``.

    Returns
    -------
    dict
        ``count`` (SynOpCount of the spiking tier), ``softmax_ops`` (OpCount per trial
        of the softmax tier's attention, or None if it made no counted call), ``rows`` (:func:`neuroattn.hardware.ops.energy_table`),
        ``result`` (the spiking tier's TaskResult) and ``caveat``.
    """
    from neuroattn.attention import OpCount
    from neuroattn.hardware.ops import MEMORY_CAVEAT, count_synops, energy_table, \
        with_spike_probes
    from neuroattn.mechanisms.base import SpikingAgent, SpikingModel

    task, mech, spec, params = _setup(task, mechanism, params)
    tr = task.make_trials(trials, seed=seed)
    model = mech.spiking(spec, **params)
    net = with_spike_probes(model.network)
    agent = SpikingAgent(SpikingModel(net, model.drives, model.readout), spec, backend, dt,
                         mech.name, params)
    rec = task.run(agent, tr, progress=progress)
    count = count_synops(net, rec, dt)
    soft = mech.agent("softmax", spec, params=params)
    with count_softmax_ops() as calls:
        soft.run(tr)
    total = sum(calls, OpCount())
    # None when the layer computes its weights without scaled_dot_product_attention:
    # its arithmetic is then not counted rather than reported as zero
    per_trial = OpCount(total.macs // trials, total.acs // trials,
                        total.exps // trials) if calls else None
    return {"count": count, "softmax_ops": per_trial,
            "rows": energy_table(count, platforms, per_trial),
            "result": task.score(tr, rec, seed=seed), "caveat": MEMORY_CAVEAT,
            "network": net, "recording": rec}


def _shares(rec, trials):
    """Item spike shares [trials, items] over the bins in which any item is on."""
    items = rec.role("items")
    per_bin = max(1, int(round(rec.bin_width / trials.dt)))
    on = np.abs(trials.role("evidence")).max(axis=2) > 0          # [trials, steps]
    n_bins = min(items.shape[1], on.shape[1] // per_bin)
    on = on[:, : n_bins * per_bin].reshape(on.shape[0], n_bins, per_bin).any(axis=2)
    on[~on.any(axis=1)] = True
    rates = (items[:, :n_bins] * on[:, :, None]).sum(axis=1)
    tot = rates.sum(axis=1, keepdims=True)
    return np.where(tot > 0, rates / np.where(tot > 0, tot, 1.0), 1.0 / rates.shape[1])


def _item_rate(rec, trials) -> float:
    """Mean rate (Hz) of the item units over the bins in which any item is on."""
    items = rec.role("items")
    per_bin = max(1, int(round(rec.bin_width / trials.dt)))
    on = np.abs(trials.role("evidence")).max(axis=2) > 0
    n_bins = min(items.shape[1], on.shape[1] // per_bin)
    on = on[:, : n_bins * per_bin].reshape(on.shape[0], n_bins, per_bin).any(axis=2)
    return float(items[:, :n_bins][on].mean()) if on.any() else float(items.mean())


def quantization_report(task, mechanism, bits=(4, 6, 8, 16), trials: int = 40, seed: int = 0,
                        backend: str = "numba", dt: float = 1e-4, params=None,
                        progress: bool = False, state: bool = False) -> list:
    """The task's effects and the item shares of ``bits``-bit networks against float.

    For each n in ``bits`` (and float) the mechanism's spiking network is quantised
    (:func:`neuroattn.hardware.fixed_point.quantize_network`, drives' gains too) and run
    on the same trials and seed. With ``state=True`` the run also holds every membrane
    potential and synaptic current on an n-bit grid at every step
    (:func:`neuroattn.hardware.fixed_point.state_grid`, the engines' ``state_grid``
    option).

    Returns
    -------
    list of dict
        One row per precision: ``bits`` (None for float64), ``state_bits`` (n or None),
        ``rate`` (mean spike rate of the item units while items are on, Hz), each effect's estimate
        and CI, ``js_vs_float`` (mean Jensen-Shannon divergence, nats, between the
        trial's item spike shares while items are on and the float network's),
        ``js_vs_softmax`` (the bridge's fidelity: the same divergence from the weights
        of the mechanism's analytic softmax layer, ``to_softmax``), ``choice_agreement``
        (fraction of trials with the float network's choice, where the task reads
        choices).
    """
    from neuroattn.hardware.fixed_point import quantize_drives, quantize_network, state_grid
    from neuroattn.mechanisms.base import SpikingAgent, SpikingModel, js_divergence

    task, mech, spec, params = _setup(task, mechanism, params)
    tr = task.make_trials(trials, seed=seed)
    model = mech.spiking(spec, **params)
    # the bridge: the softmax weights the float circuit's analytic softmax layer gives
    soft = mech.softmax_shares(mech.to_softmax(spec, **params), task.bridge_inputs(tr))
    rows, ref = [], None
    for n in (None,) + tuple(bits):
        net = model.network if n is None else quantize_network(model.network, n)
        drives = model.drives if n is None else quantize_drives(model.drives, n)
        grid = state_grid(net, n) if state and n is not None else None
        agent = SpikingAgent(SpikingModel(net, drives, model.readout), spec, backend, dt,
                             mech.name, params, **({} if grid is None else {"state_grid": grid}))
        rec = task.run(agent, tr, progress=progress)
        result = task.score(tr, rec, seed=seed)
        shares = _shares(rec, tr)
        table = task.readout(rec, tr)
        if ref is None:
            ref = (shares, table)
        row = {"bits": n, "state_bits": None if grid is None else n,
               "rate": _item_rate(rec, tr),
               "js_vs_float": float(np.mean(js_divergence(shares, ref[0]))),
               "js_vs_softmax": float(np.mean(js_divergence(shares, soft)))}
        if "choice" in table and "choice" in ref[1]:
            row["choice_agreement"] = float(np.mean(
                table["choice"].to_numpy() == ref[1]["choice"].to_numpy()))
        for e in result.effects:
            row[e.name] = (float(e.estimate), float(e.ci_low), float(e.ci_high))
        rows.append(row)
    return rows
