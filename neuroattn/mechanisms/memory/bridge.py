"""The bridge between the memory circuit and the slot-memory layer.

* :func:`to_softmax` -- analytic, from the circuit's parameters alone: the assemblies'
  Siegert f-I curve fitted by ``R sigma((mu - m0) / T_v)``, the inhibitory population's
  Siegert rate against the total assembly rate fitted by a line, and the synaptic
  weights turned into input units (one unit = ``r_m input_gain`` volts); the rate noise
  is that of an assembly of ``n_exc`` Poisson neurons, ``1 / sqrt(n_exc)``.
* :func:`calibrate` -- fits the layer to simulations of the circuit presenting each
  input briefly and then removing it (ignition and retention): the temperature, null
  logit, self-excitation and inhibition by one-step prediction of the measured rates,
  the rate noise from what that prediction leaves, then the first four again so that
  the noisy layer's runs on the same inputs reproduce the circuit's (how much of the
  store is active and how it is spread over items).
* :func:`spike_counts` -- each item assembly's spike count for constant inputs.
"""

from __future__ import annotations

import math

import numpy as np

from neuroattn.mechanisms.base import check_circuit, check_inputs, window_counts
from neuroattn.mechanisms.memory.circuit import MemoryCircuit
from neuroattn.mechanisms.memory.params import SlotParams
from neuroattn.model.units import check_int
from neuroattn.neurons import lif_rate_noisy

__all__ = ["to_softmax", "calibrate", "spike_counts", "input_trials", "run_circuit"]


def _check_circuit(circuit, where: str) -> None:
    check_circuit(circuit, where, MemoryCircuit)


def _sigmoid_fit(mu, rate):
    """Least-squares ``R sigma((mu - m0) / tv)`` through (mu, rate) in log rate (so the
    foot of the curve, where an assembly at rest starts, weighs as much as its top);
    returns (R, m0, tv)."""
    from scipy.optimize import least_squares

    def resid(p):
        r, m0, log_tv = p
        return np.log(r / (1.0 + np.exp(-(mu - m0) / math.exp(log_tv)))) - np.log(rate)

    p0 = (rate.max(), mu[np.argmin(np.abs(rate - rate.max() / 2))], math.log(5e-3))
    fit = least_squares(resid, p0, method="lm")
    r, m0, log_tv = fit.x
    return float(r), float(m0), float(math.exp(log_tv))


def to_softmax(circuit: MemoryCircuit) -> SlotParams:
    """Slot-memory parameters from the circuit's mean field (no simulation).

    Examples
    --------
    >>> from neuroattn.mechanisms.memory import MemoryCircuit, to_softmax
    >>> p = to_softmax(MemoryCircuit(k=4))
    >>> p.k, round(p.tau, 3)
    (4, 0.1)
    """
    _check_circuit(circuit, "to_softmax")
    c, e, i = circuit, circuit.exc, circuit.inh
    unit = e.r_m * c.input_gain                       # volts per input unit
    # from 5 mV below the assemblies' rest to 40 mV above threshold (a held assembly)
    mu = np.linspace(e.v_rest + e.r_m * e.i_bias - 5e-3, e.v_th + 40e-3, 241)
    rate = np.asarray(lif_rate_noisy((mu - e.v_rest) / e.r_m - e.i_bias, e, 400))
    r_max, m0, tv = _sigmoid_fit(mu, rate)
    total = np.linspace(0.0, 8 * r_max, 161)          # total assembly rate (Hz)
    r_inh = np.asarray(lif_rate_noisy(c.w_ei * c.n_exc * c.tau_ei * total, i, 400))
    slope, icpt = np.polyfit(total, r_inh, 1)
    per_inh = e.r_m * c.w_ie * c.n_inh * c.tau_ie     # volts per Hz of the inhibitory rate
    null = (m0 - e.v_rest - e.r_m * e.i_bias + per_inh * icpt) / unit
    return SlotParams(k=c.k, temperature=tv / unit, rate=r_max, null_logit=float(null),
                      w_self=e.r_m * c.w_ee * c.n_exc * c.tau_ee / unit,
                      w_inh=float(max(per_inh * slope / unit, 0.0)), tau=c.tau_ee,
                      tau_inh=c.tau_ie, noise=1.0 / math.sqrt(c.n_exc), tau_in=e.tau_mem)


def input_trials(u, duration: float, seed: int, dt: float = 1e-3, present=None):
    """Trials holding each row of ``u`` [n, K] (evidence) constant for ``duration`` s, or
    for the first ``present`` s only (then nothing: a sample and its retention)."""
    import pandas as pd

    from neuroattn.model import TaskSpec, Trials

    u = np.asarray(u, dtype=np.float64)
    n, k = u.shape
    steps = int(round(duration / dt))
    stim = np.repeat(u[:, None, :].astype(np.float32), steps, axis=1)
    if present is not None:
        stim[:, int(round(present / dt)):] = 0.0
    spec = TaskSpec("slots", k, inputs=("evidence",))
    return Trials(stim, dt, spec, pd.DataFrame({"trial": np.arange(n)}), seed, "inputs",
                  {"u": u})


def run_circuit(circuit, trials, backend: str = "numba", dt: float = 1e-4,
                progress: bool = False):
    """Simulate ``circuit`` on ``trials``; return the Recording of the assemblies."""
    from neuroattn.mechanisms.base import SpikingAgent

    agent = SpikingAgent(circuit.spiking_model(trials.spec), trials.spec, backend, dt,
                         "working-memory")
    return agent.run(trials, progress=progress)


def spike_counts(circuit, inputs, windows, settle: float = 0.2, backend: str = "numba",
                 seed: int = 0, dt: float = 1e-4, progress: bool = False):
    """Each item assembly's spike count over ``[settle, settle + window)`` with the
    constant inputs ``inputs`` [n, K] on from t = 0; ``{window: counts [n, K]}``
    (``row_shares`` of a window's counts are the items' spike shares)."""
    _check_circuit(circuit, "spike_counts")
    u = check_inputs(inputs, circuit.k, "spike_counts.inputs")
    windows = tuple(sorted(float(w) for w in windows))
    rec = run_circuit(circuit, input_trials(u, settle + windows[-1], seed), backend, dt,
                      progress)
    return window_counts(rec, settle, windows)


def _traces(rates, dt: float, tau: float) -> np.ndarray:
    """Exponential filter (time constant ``tau``) of ``rates`` [n, bins, ...] from 0."""
    a = 1.0 - math.exp(-dt / tau)
    out = np.empty_like(rates)
    s = np.zeros_like(rates[:, 0])
    for t in range(rates.shape[1]):
        out[:, t] = s
        s = s + a * (rates[:, t] - s)
    return out


#: stream of the calibration's layer noise draws (with the seed)
_MATCH_STREAM = 7102


def _moments(rates, block: int) -> np.ndarray:
    """The items' summed rate and root summed squared rate [n, blocks, 2] in blocks of
    ``block`` bins: how much of the store is active, and how it is spread over items."""
    n, bins = rates.shape[:2]
    m = bins // block
    total = rates.sum(axis=2)[:, :m * block].reshape(n, m, block).mean(axis=2)
    square = (rates ** 2).sum(axis=2)[:, :m * block].reshape(n, m, block).mean(axis=2)
    return np.stack([total, np.sqrt(square)], axis=2)


def _match(start: SlotParams, rates, uu, bin_width: float, repeats: int, seed: int,
           block: int = 5) -> SlotParams | None:
    """``T, beta, w_self, w_inh`` of the noisy layer fitted so that, averaged over the
    ``repeats`` consecutive runs of each input (rows of ``uu`` [n repeats, bins, K], the
    circuit's ``rates`` of the same shape), its summed rate and root summed squared rate
    in blocks of ``block`` bins match the circuit's; the layer's noise draws are fixed.
    None if the fit fails or does not improve on ``start``."""
    from dataclasses import replace

    from scipy.optimize import least_squares

    z = np.random.default_rng([seed, _MATCH_STREAM]).standard_normal(uu.shape)

    def mean(rows):
        m = _moments(rows, block)
        return m.reshape(-1, repeats, *m.shape[1:]).mean(axis=1)

    target = mean(rates)

    def params(th):
        return replace(start, temperature=math.exp(th[0]), null_logit=float(th[1]),
                       w_self=float(max(th[2], 0.0)), w_inh=float(max(th[3], 0.0)))

    def resid(th):
        return (mean(params(th).run(uu, bin_width, z)) - target).ravel()

    th0 = [math.log(start.temperature), start.null_logit, start.w_self, start.w_inh]
    fit = least_squares(resid, th0, diff_step=1e-3, max_nfev=100)
    if not all(math.isfinite(v) for v in fit.x) or fit.cost > 0.5 * np.sum(resid(th0) ** 2):
        return None
    return params(fit.x)


def calibrate(circuit, inputs=None, backend: str = "numba", seed: int = 0, dt: float = 1e-4,
              present: float = 0.1, duration: float = 0.6, n_inputs: int = 40,
              repeats: int = 8, progress: bool = False) -> SlotParams:
    """Slot-memory parameters fitted to simulations of ``circuit``.

    Starts from :func:`to_softmax` (rate ``R`` and the time constants), simulates the
    circuit on ``inputs`` [n, K] presented for ``present`` s from rest and then removed
    until ``duration`` s -- a sample and its retention, so that ignition, persistence and
    loss all enter the fit (default: ``n_inputs`` random arrays of 1 to K items at 1 to 2
    units of input) -- and fits ``T``, ``beta``, ``w_self`` and ``w_inh`` by least
    squares of every 5 ms bin's rates against the layer's::

        r_k = R sigma((f_k + w_self s_k - w_inh h - beta) / T)

    (``f_k``: the input through the membrane filter ``tau_in``) with the traces ``s_k`` and
    ``h`` computed from the measured rates (they average the
    bins' counting noise away, so the regressors are nearly noise-free). What this
    prediction leaves is the assemblies' counting noise: its variance per Hz of predicted
    rate gives the layer's ``noise`` (``var = noise**2 r / dt``; about ``1 / 20``, the
    20 neurons of an assembly). The one-step fit carries no competition that noise
    resolves -- which items of an overfull array survive is decided by the assemblies'
    fluctuations -- so the last step runs the noisy layer on the same inputs (each
    simulated ``repeats`` times in the circuit, and as often in the layer with fixed
    draws) and fits ``T``, ``beta``, ``w_self`` and ``w_inh`` again (``R`` and the time
    constants stay analytic) so that its summed rate and root summed squared rate over
    the items, averaged over the runs of each input in 25 ms blocks, match the
    circuit's (:func:`_match`). A fit that does not converge returns
    the analytic parameters (the one-step ones if only the last step fails).
    """
    from dataclasses import replace

    from scipy.optimize import least_squares

    _check_circuit(circuit, "calibrate")
    check_int(repeats, "calibrate.repeats", minimum=1)
    base = to_softmax(circuit)
    if inputs is None:
        rng = np.random.default_rng([seed, 7101])
        u = np.zeros((n_inputs, circuit.k))
        for row in u:
            n = rng.integers(1, circuit.k + 1)
            row[rng.choice(circuit.k, n, replace=False)] = rng.uniform(1.0, 2.0, n)
    else:
        u = check_inputs(inputs, circuit.k, "calibrate.inputs")
    # each input ``repeats`` times: which items of an overfull array survive differs from
    # one run of the circuit to the next, and the layer is matched to their average
    u = np.repeat(u, int(repeats), axis=0)
    rec = run_circuit(circuit, input_trials(u, duration, seed, present=present), backend, dt,
                      progress)
    r = rec.rates
    s = _traces(r, rec.bin_width, base.tau)
    h = np.broadcast_to(_traces(r.sum(axis=2, keepdims=True), rec.bin_width, base.tau_inh),
                        r.shape)
    on = (rec.times < present - 1e-12)[None, :, None]
    uu = np.where(on, u[:, None, :], 0.0)

    uf = base.filtered(uu, rec.bin_width)      # the drive as the membranes pass it on

    def resid(p):
        log_t, null, w_self, w_inh = p
        x = (uf + w_self * s - w_inh * h - null) / math.exp(log_t)
        return (base.rate * 0.5 * (1.0 + np.tanh(0.5 * x)) - r).ravel()

    p0 = (math.log(base.temperature), base.null_logit, base.w_self, base.w_inh)
    fit = least_squares(resid, p0, bounds=([-5.0, -np.inf, 0.0, 0.0],
                                           [5.0, np.inf, np.inf, np.inf]))
    log_t, null, w_self, w_inh = fit.x
    temperature = math.exp(log_t)
    if not (fit.success and all(math.isfinite(v) for v in fit.x)):
        return base
    step = replace(base, temperature=float(temperature), null_logit=float(null),
                   w_self=float(w_self), w_inh=float(w_inh))
    pred = r + fit.fun.reshape(r.shape)
    noise = math.sqrt(rec.bin_width * float(np.sum(fit.fun ** 2))
                      / max(float(np.sum(np.maximum(pred, 0.0))), 1e-12))
    step = replace(step, noise=noise if math.isfinite(noise) else base.noise)
    matched = _match(step, r, uu, rec.bin_width, int(repeats), seed)
    return step if matched is None else matched
