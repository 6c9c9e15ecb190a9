"""The bridge between the predictive-coding circuit and the precision-attention layer.

Log precision <-> logit; error-unit gain <-> pi:

* :func:`to_softmax` -- analytic, no simulation. The error neurons are exponential-escape
  neurons, so one unit of evidence multiplies their gain by ``exp(r_m evidence_gain /
  delta_u)`` (temperature ``delta_u / (r_m evidence_gain)``), and one unit of bias moves
  the precision population's rate by its Siegert slope, which moves the errors' log gain
  by ``r_m w_mod n_mod tau_mod slope / delta_u`` nats (``precision_scale``).
* :func:`to_spiking` -- the inverse: scales ``evidence_gain`` and ``cue_gain`` of a
  template circuit to a layer's temperature and precision scale.
* :func:`calibrate` -- simulates the circuit on constant inputs (the task's own, and the
  same with random cue biases so that the precision pathway is measured too) and fits
  temperature and precision scale (mean JS divergence of the representation's spike
  shares), rate and null logit (total rate), tau (rise after onset); the unit level's
  precision scale is measured on its error populations' gain (:func:`_unit_error_scale`)
  and its gain and base on its rate.
* :func:`spike_counts` -- the representations' spike counts per counting window.

Inputs are ``[n, K]`` (the evidence, no cue: what ``Task.bridge_inputs`` gives, the
evidence and bias summed) or ``[n, 2K]`` (evidence, then bias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import (SpikingAgent, check_circuit, js_divergence,
                                      split_inputs, window_counts, window_rates)
from neuroattn.mechanisms.precision.circuits import PCCircuit
from neuroattn.mechanisms.precision.params import PrecisionParams, pool_shift
from neuroattn.model import TaskSpec, Trials
from neuroattn.model.units import check_int

__all__ = ["to_softmax", "to_spiking", "calibrate", "spike_counts", "precision_trials",
           "run_circuit", "split_inputs", "precision_slope", "PrecisionCalibration"]

#: Default operating range of the evidence (uniform in [0, X_MAX] per item) and of the
#: random centred cue biases (uniform in [-B_MAX, B_MAX]) of a calibration.
X_MAX = 3.0
B_MAX = 1.0


def _check_circuit(circuit, where: str) -> None:
    check_circuit(circuit, where, PCCircuit)


def precision_slope(circuit: PCCircuit) -> float:
    """Nats of error-unit log gain per unit of cue bias (the analytic precision scale).

    The precision population's rate slope (Siegert rate of its noisy LIF neurons, central
    difference over +-0.5 units of bias) times ``r_m w_mod n_mod tau_mod / delta_u``.
    """
    from neuroattn.neurons import lif_rate_noisy

    c = circuit
    i = np.array([-0.5, 0.5]) * c.cue_gain
    r = np.asarray(lif_rate_noisy(i, c.mod, n_points=400), dtype=np.float64)
    slope = float(r[1] - r[0])
    return c.err.r_m * c.w_mod * c.n_mod * c.tau_mod * slope / c.err.delta_u


def to_softmax(circuit: PCCircuit, values=None) -> PrecisionParams:
    """Layer parameters from the circuit's parameters alone (no simulation).

    Temperature ``delta_u / (r_m evidence_gain)`` (unit level: ``unit_evidence_gain``),
    precision scale :func:`precision_slope`, unit tau ``tau_ue + tau_unit_err`` (the
    afferent synapses, none by default, and the membrane through which the unit errors
    read the evidence: 50 ms). The logit
    weight (1), the rate (100 Hz), the
    null logit (from the representation's resting rate) and tau (``tau_er``) are rules of
    thumb that :func:`calibrate` replaces with measurements; the unit's gain maps values
    [0, 1] onto its resting-to-driven range.

    Examples
    --------
    >>> from neuroattn.mechanisms.precision import PCCircuit, to_softmax
    >>> round(to_softmax(PCCircuit(k=2)).temperature, 6)
    1.0
    """
    from neuroattn.neurons import lif_rate_noisy

    _check_circuit(circuit, "to_softmax")
    c = circuit
    temperature = c.err.delta_u / (c.err.r_m * c.evidence_gain)
    unit_t = c.err.delta_u / (c.err.r_m * c.unit_evidence_gain)
    rate = 100.0
    r0 = max(float(lif_rate_noisy(0.0, c.rep, n_points=400)), 1e-3)
    null = math.log(max(rate / r0 - c.k, 1e-3))
    unit = {}
    if values is not None:
        u0 = float(lif_rate_noisy(0.0, c.unit, n_points=400))
        unit = {"unit_base": u0, "unit_gain": 2.0 * max(rate / 2.0 - u0, 1.0)}
    slope = precision_slope(c)
    return PrecisionParams(k=c.k, temperature=temperature, precision_scale=slope, rate=rate,
                           null_logit=null, tau=c.tau_er, logit_weight=1.0,
                           unit_temperature=unit_t, unit_tau=c.tau_ue + c.tau_unit_err,
                           variance_pool=float(c.w_pool) if c.pooled else 0.0,
                           pool_gain=float(c.pool_gain), **unit)


def to_spiking(params: PrecisionParams, template: PCCircuit | None = None) -> PCCircuit:
    """A circuit whose analytic temperature and precision scale are ``params``'.

    ``evidence_gain = delta_u / (r_m T)`` (exact for the error units); ``cue_gain`` is
    scaled by secant steps until :func:`precision_slope` equals ``precision_scale``.
    """
    params.validate()
    template = PCCircuit(k=params.k) if template is None else template
    _check_circuit(template, "to_spiking")
    if template.k != params.k:
        raise ValidationError(f"to_spiking.template: k must equal params.k={params.k} "
                              f"(got {template.k})")
    err = template.err
    out = replace(template, evidence_gain=err.delta_u / (err.r_m * params.temperature),
                  unit_evidence_gain=err.delta_u / (err.r_m * params.unit_temperature),
                  w_pool=float(params.variance_pool), pool_gain=float(params.pool_gain))
    target = float(params.precision_scale)
    if target == 0.0:
        return replace(out, cue_gain=0.0)
    g0, s0 = out.cue_gain, precision_slope(out)
    g1 = g0 * target / s0 if s0 > 0 else g0
    for _ in range(8):
        s1 = precision_slope(replace(out, cue_gain=g1))
        if abs(s1 - target) < 1e-4 * target or s1 == s0:
            break
        g0, s0, g1 = g1, s1, g1 + (target - s1) * (g1 - g0) / (s1 - s0)
    return replace(out, cue_gain=g1)


def precision_trials(evidence, bias, duration: float, t_on: float, seed: int,
                     dt: float = 1e-3, values=None) -> Trials:
    """Trials of constant inputs: the bias from 0, the evidence from ``t_on``."""
    x = np.asarray(evidence, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64)
    n, k = x.shape
    steps = int(round(duration / dt))
    on = int(round(t_on / dt))
    stim = np.zeros((n, steps, 2 * k), dtype=np.float32)
    stim[:, on:, :k] = x[:, None, :]
    stim[:, :, k:] = b[:, None, :]
    readouts = ("items", "unit") if values is not None else ("items",)
    spec = TaskSpec("space", k, readouts=readouts,
                    values=None if values is None else tuple(float(v) for v in values))
    return Trials(stim, dt, spec, pd.DataFrame({"trial": np.arange(n)}), seed, "inputs",
                  {"evidence": x, "bias": b, "t_on": t_on})


def run_circuit(circuit: PCCircuit, trials: Trials, backend: str = "numba", dt: float = 1e-4,
                progress: bool = False, **options):
    """Simulate ``circuit`` on ``trials``; return the Recording of its readout roles."""
    agent = SpikingAgent(circuit.spiking_model(trials.spec), trials.spec, backend, dt,
                         "precision", **options)
    return agent.run(trials, progress=progress)


def _simulate_all(circuit: PCCircuit, trials: Trials, backend: str, dt: float,
                  progress: bool = False, **options):
    """Simulate ``circuit`` on ``trials``; the Recording of every population."""
    from neuroattn.backends import simulate
    from neuroattn.model import Stimulus

    model = circuit.spiking_model(trials.spec)
    stim = Stimulus(np.asarray(trials.stimulus, dtype=np.float64), trials.dt, model.drives)
    return simulate(model.network, stim, dt=dt, seed=trials.seed, backend=backend,
                    progress=progress, **options)


def spike_counts(circuit: PCCircuit, inputs, windows=(0.02, 0.05, 0.1, 0.2, 0.5),
                 settle: float = 0.1, seed: int = 12345, dt: float = 1e-4,
                 backend: str = "numba", progress: bool = False, **options) -> dict:
    """Spike counts [n, K] of the representations ``R_k`` per counting window.

    The inputs are on from t = 0; spikes are counted over ``[settle, settle + window)``;
    ``row_shares`` of a window's counts are its spike shares (NaN for a trial without
    spikes in it).
    """
    _check_circuit(circuit, "spike_counts")
    x, b = split_inputs(inputs, circuit.k, "spike_counts.inputs")
    windows = tuple(sorted(float(w) for w in windows))
    trials = precision_trials(x, b, settle + windows[-1], 0.0, seed)
    rec = run_circuit(circuit, trials, backend, dt, progress, **options)
    return window_counts(rec, settle, windows)


@dataclass(frozen=True)
class PrecisionCalibration:
    """Result of :func:`calibrate`: the fitted layer parameters and the fit's quality."""

    params: PrecisionParams
    js_fit: float
    n_inputs: int
    backend: str
    extra: dict = field(default_factory=dict)


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _fit_shares(x, b, shares, t0: float, s0: float, fit_scale: bool):
    """(temperature, precision_scale, js): minimise the mean JS of ``shares`` against
    ``softmax(scale b + x / T)``."""
    from scipy.optimize import minimize

    def loss(p):
        t = math.exp(p[0])
        s = p[1] if fit_scale else s0
        return float(js_divergence(shares, _softmax(s * b + x / t)).mean())

    p0 = [math.log(t0), s0]
    res = minimize(loss, p0, method="Nelder-Mead",
                   options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 2000})
    t = math.exp(res.x[0])
    s = max(float(res.x[1]), 0.0) if fit_scale else s0
    return t, s, float(res.fun)


def _fit_rate_null(z, totals) -> tuple[float, float]:
    from scipy.optimize import least_squares

    s = np.exp(z).sum(axis=1)

    def resid(p):
        return math.exp(p[0]) * s / (math.exp(p[1]) + s) - totals

    x0 = [math.log(max(totals.max(), 1e-3) * 1.2), float(np.log(np.median(s)))]
    res = least_squares(resid, x0, bounds=([math.log(1e-3), -50.0], [math.log(1e4), 50.0]))
    return math.exp(res.x[0]), float(res.x[1])


def _fit_tau(rec, cols, x, b, t_on: float, settle: float, p: PrecisionParams) -> float:
    """Input-filter time constant whose bin-averaged total rate of the representations
    (``rec`` units ``cols``) best matches the spikes'."""
    total = rec.rates[:, :, cols].sum(axis=2).mean(axis=0)
    times = rec.times
    w = rec.bin_width
    sel = (times >= t_on - w - 1e-12) & (times < t_on + settle)
    fine = 10
    t_fine = (times[sel][:, None] + (np.arange(fine) + 0.5) / fine * w).ravel() - t_on
    best = (math.inf, p.tau)
    speed = np.exp(p.log_pi(b))  # [n, K]
    for tau in np.exp(np.linspace(math.log(5e-4), math.log(0.2), 120)):
        tt = np.maximum(t_fine, 0)[None, :, None] * speed[:, None, :] / tau
        ramp = np.where(t_fine[None, :, None] > 0, 1.0 - np.exp(-tt), 0.0)
        xv = x[:, None, :] * ramp
        tot = p.rate * p.weights(xv, np.broadcast_to(b[:, None, :], xv.shape)).sum(2).mean(0)
        pred = tot.reshape(-1, fine).mean(axis=1)
        err = float(np.sum((pred - total[sel]) ** 2))
        if err < best[0]:
            best = (err, float(tau))
    return best[1]


def _unit_error_scale(steady, names, x, b, k: int, unit_temperature: float):
    """Nats of unit-error log gain per unit of bias, measured on the unit's error
    populations (error-unit gain <-> pi), or None where the inputs cannot tell.

    Item k's unit errors fire at ``UP_k = pi_k rho0 exp(a_k)`` and ``UN_k = pi_k rho0
    exp(e - a_k)`` (``a_k`` the value error in nats, ``e`` the offset of ``UN``), so
    ``log sqrt(UP_k UN_k) = log pi_k + const`` whatever the value error or the unit's
    rate. Its centred value, less the evidence's analytic share ``x_k /
    unit_temperature``, is ``precision_scale`` times the centred bias: least squares over
    the trials on which every item is shown (evidence at least half the trial's
    largest) and the biases differ.
    """
    up = np.stack([steady[:, names.index(f"UP{i}")] for i in range(k)], axis=1)
    un = np.stack([steady[:, names.index(f"UN{i}")] for i in range(k)], axis=1)
    shown = np.all(x >= 0.5 * x.max(axis=1, keepdims=True), axis=1) & (x.max(axis=1) > 0)
    use = shown & np.all((up > 0) & (un > 0), axis=1) & (np.ptp(b, axis=1) > 0)
    if k < 2 or use.sum() < 3:
        return None
    y = 0.5 * np.log(up[use] * un[use]) - x[use] / unit_temperature
    y = y - y.mean(axis=1, keepdims=True)
    bc = b[use] - b[use].mean(axis=1, keepdims=True)
    den = float(np.sum(bc * bc))
    return float(np.sum(bc * y) / den) if den > 0 else None


def _fit_unit(p: PrecisionParams, x, b, values, rates) -> dict:
    """The unit level's gain and base: linear least squares of the unit's rates on the
    precision-weighted estimate of ``p``."""
    est = p.estimate(x, b, values)
    a = np.stack([np.ones_like(est), est], axis=1)
    (base, gain), *_ = np.linalg.lstsq(a, rates, rcond=None)
    return {"unit_base": float(base), "unit_gain": float(gain)}


def calibrate(circuit: PCCircuit, inputs=None, backend: str = "numba", n_inputs: int = 40,
              duration: float = 0.6, t_on: float = 0.1, settle: float = 0.15, values=None,
              seed: int = 0, dt: float = 1e-4, progress: bool = False,
              **options) -> PrecisionCalibration:
    """Fit the layer's parameters to simulations of ``circuit``.

    The evidence of ``inputs`` (default ``n_inputs`` random ones, uniform in [0, 3]) is
    simulated twice: with the inputs' bias (none for ``[n, K]`` inputs), and with a
    random centred cue bias (uniform in [-1, 1]) so that the precision pathway is
    measured. The precision scale is measured on the precision populations (the slope of
    their rate against the bias, times the error units' nats of log gain per Hz of
    their background input); temperature and logit weight minimise the mean JS
    divergence between the representations' spike shares over ``[t_on + settle,
    duration]`` and ``softmax(logit_weight log pi + x / T)``; rate and null logit are
    least squares on their total rate; tau on its rise after ``t_on``. With ``values``
    the unit level's precision scale is measured on its error populations
    (:func:`_unit_error_scale`: their log gain per unit of bias, on the trials that show
    every item; the precision populations' scale where no trial does), and the unit's
    gain and base are least squares of its rate on the precision-weighted estimate (unit
    temperature from :func:`to_softmax`). The unit's rate is not used for the scale: it
    sits where the unit errors balance only while the unit loop is settled and quiet.

    Returns
    -------
    PrecisionCalibration
    """
    _check_circuit(circuit, "calibrate")
    k = circuit.k
    rng = np.random.default_rng([seed, 7103])
    if inputs is None:
        check_int(n_inputs, "calibrate.n_inputs", minimum=3)
        x, b = rng.uniform(0.0, X_MAX, (n_inputs, k)), np.zeros((n_inputs, k))
    else:
        x, b = split_inputs(inputs, k, "calibrate.inputs")
    cue = rng.uniform(-B_MAX, B_MAX, x.shape)
    cue -= cue.mean(axis=1, keepdims=True)
    x2, b2 = np.concatenate([x, x]), np.concatenate([b, b + cue])
    trials = precision_trials(x2, b2, duration, t_on, seed, values=values)
    rec = _simulate_all(circuit, trials, backend, dt, progress, **options)
    names = list(rec.units)
    steady = window_rates(rec, t_on + settle)
    rep = [names.index(f"R{i}") for i in range(k)]
    rates = steady[:, rep]
    if np.any(rates.sum(1) <= 0):
        raise ValidationError("calibrate.circuit: some inputs gave no spikes at all in the "
                              "representations; raise rep.i_bias or evidence_gain")
    analytic = to_softmax(circuit, values)
    # the precision scale, measured: the precision populations' rate against the bias,
    # times the nats of error-unit log gain per Hz of their background input
    mod = steady[:, [names.index(f"M{i}") for i in range(k)]]
    c = circuit
    per_hz = c.err.r_m * c.w_mod * c.n_mod * c.tau_mod / c.err.delta_u
    if np.ptp(b2) > 0 and per_hz > 0:
        scale = per_hz * float(np.polyfit(b2.ravel(), mod.ravel(), 1)[0])
    else:
        scale = analytic.precision_scale
    scale = max(scale, 0.0)
    shares = rates / rates.sum(1, keepdims=True)
    temperature, effective, js_fit = _fit_shares(x2, b2, shares, analytic.temperature,
                                                 scale, True)
    weight = effective / scale if scale > 0 else 1.0
    # the variance pool shifts every item's log precision alike: the shares do not see
    # it, the total rate (against the null competitor) does
    pool = analytic.variance_pool
    z = (effective * b2 + weight * pool_shift(scale * b2, pool, analytic.pool_gain)
         + x2 / temperature)
    rate, null = _fit_rate_null(z, rates.sum(1))
    p = PrecisionParams(k=k, temperature=temperature, precision_scale=scale, rate=rate,
                        null_logit=null, logit_weight=weight,
                        unit_temperature=analytic.unit_temperature,
                        unit_tau=analytic.unit_tau, variance_pool=pool,
                        pool_gain=analytic.pool_gain)
    tau = _fit_tau(rec, rep, x2, b2, t_on, settle, p)
    unit = {}
    if values is not None:
        # the unit level's precision scale is its errors' log gain per unit of bias,
        # measured on UP/UN (error-unit gain <-> pi), not fitted to the unit's rate: the
        # rate is where those errors balance only while the unit loop is settled
        measured = _unit_error_scale(steady, names, x2, b2, k, analytic.unit_temperature)
        if measured is not None and measured > 0:
            unit = {"precision_scale": measured, "logit_weight": effective / measured}
        unit.update(_fit_unit(replace(p, **unit), x2, b2, values, steady[:, names.index("V")]))
    params = replace(p, tau=tau, **unit)
    return PrecisionCalibration(params, js_fit, len(x2), backend,
                                {"x_min": float(x.min()), "x_max": float(x.max()),
                                 "duration": duration, "dt": dt, "seed": seed})
