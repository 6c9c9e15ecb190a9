"""The bridge between the spiking circuits and the softmax layer.

* :func:`to_softmax` -- analytic: solves the circuit's mean-field equations (the Siegert
  rate of noisy LIF neurons, the escape intensity of escape neurons, no simulation) on
  a grid of inputs and fits the softmax temperature, rate and null logit to them.
* :func:`to_spiking` -- the inverse: scales a template circuit's input gain so that its
  mean-field temperature equals the softmax temperature.
* :func:`calibrate` -- simulates the circuit on random inputs and fits temperature, rate,
  null logit and time constant to the spikes.
* :func:`equivalence` -- mean Jensen-Shannon divergence (nats) between spike shares and
  softmax weights on held-out inputs, per counting window, with the log-log slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import (SpikingAgent, check_circuit, check_inputs,
                                      js_divergence, row_shares, window_counts, window_rates)
from neuroattn.mechanisms.biased_competition.circuits import EscapeCircuit, LIFCircuit
from neuroattn.mechanisms.biased_competition.params import SoftmaxParams
from neuroattn.model import TaskSpec, Trials
from neuroattn.model.units import check_int
from neuroattn.neurons import lif_rate_noisy

__all__ = ["js_divergence", "mean_field", "to_softmax", "to_spiking", "calibrate", "equivalence",
           "equivalence_from_shares", "spike_counts", "Calibration", "Equivalence",
           "input_trials", "run_circuit"]

#: Default operating range of the inputs x + b (each location uniform in [0, U_MAX]).
U_MAX = 1.5


def _siegert(mu, params):
    i = (np.asarray(mu) - params.v_rest) / params.r_m - params.i_bias
    return np.asarray(lif_rate_noisy(i.ravel(), params, n_points=400)).reshape(np.shape(mu))


def mean_field(circuit, u, values=None) -> dict:
    """Stationary mean-field rates (Hz) of ``circuit`` for constant inputs ``u`` [n, K].

    The inhibitory rate is found by bisection on its self-consistency equation; the
    excitatory rates follow from it. Synaptic currents enter through their means
    (``weight * sources * rate * tau``); noise is the neurons' own ``sigma``.

    Returns
    -------
    dict with ``rates`` [n, K], ``inh`` [n] and, with ``values``, ``unit`` [n].
    """
    u = np.atleast_2d(np.asarray(u, dtype=np.float64))
    c = circuit
    n_src = c.n_exc if isinstance(c, LIFCircuit) else c.n_per

    def exc_rates(r_inh):
        inh_v = c.exc.r_m * c.w_ie * c.n_inh * r_inh[:, None] * c.tau_inh
        if isinstance(c, LIFCircuit):
            mu = c.exc.v_rest + c.exc.r_m * (c.exc.i_bias + c.input_gain * u) - inh_v
            return _siegert(mu, c.exc)
        v = c.exc.v_rest + c.exc.r_m * (c.exc.i_bias + c.input_gain * u) - inh_v
        return c.exc.rho0 * np.exp((v - c.exc.theta) / c.exc.delta_u)

    def inh_rate(r_exc):
        mu = c.inh.v_rest + c.inh.r_m * (c.inh.i_bias + c.w_ei * n_src * r_exc.sum(1) * c.tau_exc)
        return _siegert(mu, c.inh)

    lo = np.zeros(len(u))
    hi = np.full(len(u), 1.0 / max(c.inh.t_ref, 1e-3))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = inh_rate(exc_rates(mid)) > mid
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    r_inh = 0.5 * (lo + hi)
    rates = exc_rates(r_inh)
    out = {"rates": rates, "inh": r_inh}
    if values is not None and isinstance(c, LIFCircuit):
        out.update(_readout_mean_field(c, rates, r_inh, np.asarray(values, dtype=np.float64)))
    return out


def _siegert_sd(mu, sd, params):
    """Siegert rate (Hz) of LIF ``params`` at mean potential ``mu`` (V), noise ``sd`` (V)."""
    from scipy.special import erfcx

    mu, sd = np.broadcast_arrays(np.asarray(mu, np.float64), np.asarray(sd, np.float64))
    s = sd.ravel() * math.sqrt(2.0)
    lo = (params.v_reset - mu.ravel()) / s
    hi = (params.v_th - mu.ravel()) / s
    x = np.linspace(0.0, 1.0, 400)
    grid = lo[:, None] + (hi - lo)[:, None] * x[None, :]
    integral = np.trapezoid(erfcx(-grid), grid, axis=1)
    return (1.0 / (params.t_ref + params.tau_mem * math.sqrt(math.pi) * integral)).reshape(
        mu.shape)


def _shot_var(n, rate, w, r_m, tau_syn, tau_mem):
    """Variance (V^2) of the potential from ``n`` Poisson sources at ``rate`` (Hz) through
    exponential current synapses of weight ``w`` (A): ``n r (w r_m tau_syn)^2 / (2 (tau_mem
    + tau_syn))``."""
    return n * rate * (w * r_m * tau_syn) ** 2 / (2.0 * (tau_mem + tau_syn))


def _readout_mean_field(c, rates, r_inh, vals) -> dict:
    """Mean field of the readout: share layer S_k, its pool, and the unit (Hz).

    Share neurons are Poisson escape neurons: rate ``rho0 exp((mu - theta)/delta_u +
    var/(2 delta_u^2))`` for a Gaussian potential of mean ``mu`` and variance ``var``
    (input shot noise). The pool's rate is found by bisection on its self-consistency;
    pool and unit rates are Siegert rates with the shot noise of their inputs added to
    the neurons' own ``sigma``.
    """
    sh, pool, unit = c.share, c.pool, c.unit

    def share_rates(r_pool):
        mu = sh.v_rest + sh.r_m * (sh.i_bias + c.w_share * c.n_exc * c.tau_share * rates
                                   - c.w_pool_out * c.n_pool * c.tau_pool * r_pool[:, None])
        var = (_shot_var(c.n_exc, rates, c.w_share, sh.r_m, c.tau_share, sh.tau_mem)
               + _shot_var(c.n_pool, r_pool[:, None], c.w_pool_out, sh.r_m, c.tau_pool,
                           sh.tau_mem))
        z = (mu - sh.theta) / sh.delta_u + var / (2.0 * sh.delta_u ** 2)
        return sh.rho0 * np.exp(np.minimum(z, 50.0))

    def pool_rate(s_rates):
        mu = pool.v_rest + pool.r_m * (pool.i_bias + c.w_pool_in * c.n_share * c.tau_share
                                       * s_rates.sum(1))
        var = pool.sigma ** 2 + _shot_var(c.n_share, s_rates, c.w_pool_in, pool.r_m,
                                          c.tau_share, pool.tau_mem).sum(1)
        return _siegert_sd(mu, np.sqrt(var), pool)

    lo = np.zeros(len(rates))
    hi = np.full(len(rates), 1.0 / max(pool.t_ref, 1e-3))
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        above = pool_rate(share_rates(mid)) > mid
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    r_pool = 0.5 * (lo + hi)
    s_rates = share_rates(r_pool)
    w = c.w_unit * vals
    mu = unit.v_rest + unit.r_m * (unit.i_bias + c.n_share * c.tau_exc * (s_rates * w).sum(1)
                                   - c.w_unit_inh * c.n_inh * c.tau_inh * r_inh)
    var = (unit.sigma ** 2
           + _shot_var(c.n_share, s_rates, w, unit.r_m, c.tau_exc, unit.tau_mem).sum(1)
           + _shot_var(c.n_inh, r_inh, c.w_unit_inh, unit.r_m, c.tau_inh, unit.tau_mem))
    return {"share": s_rates, "pool": r_pool, "unit": _siegert_sd(mu, np.sqrt(var), unit)}


def _fit_temperature(u, shares) -> tuple[float, float]:
    from scipy.optimize import minimize_scalar

    def loss(log_t):
        z = u / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        w = np.exp(z)
        return float(js_divergence(shares, w).mean())

    res = minimize_scalar(loss, bounds=(math.log(0.01), math.log(100.0)), method="bounded",
                          options={"xatol": 1e-5})
    return math.exp(res.x), float(res.fun)


def _fit_rate_null(u, totals, temperature) -> tuple[float, float]:
    from scipy.optimize import least_squares

    s = np.exp(u / temperature).sum(axis=1)

    def resid(p):
        log_r, beta = p
        return math.exp(log_r) * s / (math.exp(beta / temperature) + s) - totals

    x0 = [math.log(max(totals.max(), 1e-3) * 1.2), float(np.median(u))]
    res = least_squares(resid, x0, bounds=([math.log(1e-3), -50.0], [math.log(1e4), 50.0]))
    return math.exp(res.x[0]), float(res.x[1])


def _share_sharpness(circuit) -> float:
    """Inverse temperature (1/Hz) of the share layer's softmax over location rates.

    A share neuron's log-rate is ``(mu - theta)/delta_u + var/(2 delta_u^2)``; location
    k's rate r_k moves the mean by ``r_m w_share n_exc tau_share`` per Hz and the
    variance of its shot noise by ``n_exc (w_share r_m tau_share)^2 / (2 (tau_mem +
    tau_share))`` per Hz, so ``d ln S_k / d r_k`` is the sum of the two terms below.
    Everything common to all locations (bias, the pool's inhibition) cancels in the
    shares.
    """
    sh, n, w, ts = circuit.share, circuit.n_exc, circuit.w_share, circuit.tau_share
    mean = sh.r_m * w * n * ts / sh.delta_u
    var = n * (w * sh.r_m * ts) ** 2 / (2.0 * (sh.tau_mem + ts)) / (2.0 * sh.delta_u ** 2)
    return float(mean + var)


def _fit_unit(values, rates, unit, sharpness=None) -> dict:
    """Fit the softmax tier's readout unit to location rates [n, K] and unit rates [n].

    ``unit = unit_base + unit_gain sum_k values_k s_k`` with ``s = softmax(unit_sharpness
    rates)`` (see :mod:`.softmax`). With ``sharpness`` given (the circuit's, from
    :func:`_share_sharpness`) gain and base are the linear least-squares solution; without
    it the sharpness is fitted too: a log grid in [0.001, 1] 1/Hz, refined by a bounded
    scalar search, the linear parameters solved for each. Returns the SoftmaxParams unit
    fields (``unit_inh`` 0).
    """
    from scipy.optimize import minimize_scalar

    vals = np.asarray(values, dtype=np.float64)
    rates = np.asarray(rates, dtype=np.float64)
    unit = np.asarray(unit, dtype=np.float64)

    def solve(lam):
        z = lam * rates
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        read = (e * vals).sum(1) / e.sum(1)
        a = np.stack([np.ones_like(read), read], axis=1)
        coef, *_ = np.linalg.lstsq(a, unit, rcond=None)
        return float(np.sum((a @ coef - unit) ** 2)), coef

    if sharpness is not None:
        _, (base, gain) = solve(float(sharpness))
        return {"unit_gain": float(gain), "unit_base": float(base), "unit_inh": 0.0,
                "unit_sharpness": float(sharpness)}
    grid = np.geomspace(1e-3, 1.0, 241)
    errs = [solve(lam)[0] for lam in grid]
    i = int(np.argmin(errs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    lam = grid[i]
    if hi > lo:
        res = minimize_scalar(lambda x: solve(x)[0], bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-6})
        if res.fun <= errs[i]:
            lam = float(res.x)
    _, (base, gain) = solve(lam)
    return {"unit_gain": float(gain), "unit_base": float(base), "unit_inh": 0.0,
            "unit_sharpness": float(lam)}


def _check_circuit(circuit, where: str):
    check_circuit(circuit, where, (LIFCircuit, EscapeCircuit))


def to_softmax(circuit, values=None, u_max: float = U_MAX, n_grid: int = 256,
               seed: int = 0, inputs=None) -> SoftmaxParams:
    """Derive softmax parameters from the circuit's parameters alone (no simulation).

    For :class:`EscapeCircuit` the temperature is exact (``delta_u / (r_m gain)``); for
    :class:`LIFCircuit` it is fitted to the mean-field spike shares over the operating
    range (each input uniform in [0, ``u_max``]). Rate and null logit are fitted to the
    mean-field total rate; ``tau`` is ``tau_mem / 2`` (LIF) or ``tau_exc`` (escape), a
    rule of thumb that :func:`calibrate` replaces with a measurement.

    Examples
    --------
    >>> from neuroattn.mechanisms.biased_competition import EscapeCircuit, to_softmax
    >>> round(to_softmax(EscapeCircuit(k=4)).temperature, 6)
    1.0
    """
    _check_circuit(circuit, "to_softmax")
    if inputs is None:
        rng = np.random.default_rng(seed)
        u = rng.uniform(0.0, u_max, (n_grid, circuit.k))
    else:
        u = check_inputs(inputs, circuit.k, "to_softmax.inputs", min_rows=3)
    mf = mean_field(circuit, u, values)
    rates = mf["rates"]
    if isinstance(circuit, EscapeCircuit):
        temperature = circuit.temperature
        tau = circuit.tau_exc
    else:
        temperature, _ = _fit_temperature(u, rates / rates.sum(1, keepdims=True))
        tau = circuit.exc.tau_mem / 2
    rate, null = _fit_rate_null(u, rates.sum(1), temperature)
    unit = {}
    if values is not None and "unit" in mf:
        unit = _fit_unit(values, rates, mf["unit"], _share_sharpness(circuit))
    return SoftmaxParams(k=circuit.k, temperature=temperature, rate=rate, null_logit=null,
                         tau=tau, **unit)


def to_spiking(params: SoftmaxParams, template=None):
    """A circuit whose mean-field temperature equals ``params.temperature``.

    Scales the template's ``input_gain`` (default ``LIFCircuit(k=params.k)``); for an
    EscapeCircuit template the scaling is exact.
    """
    params.validate()
    template = LIFCircuit(k=params.k) if template is None else template
    _check_circuit(template, "to_spiking")
    if template.k != params.k:
        raise ValidationError(f"to_spiking.template: k must equal params.k={params.k} "
                              f"(got {template.k})")
    if isinstance(template, EscapeCircuit):
        return replace(template, input_gain=template.exc.delta_u
                       / (template.exc.r_m * params.temperature))
    # secant iterations on log T against log gain (T falls roughly as 1/gain)
    log_target = math.log(params.temperature)
    log_g0 = math.log(template.input_gain)
    log_t0 = math.log(to_softmax(template, n_grid=96).temperature)
    log_g1 = log_g0 + log_t0 - log_target
    for _ in range(8):
        log_t1 = math.log(to_softmax(replace(template, input_gain=math.exp(log_g1)),
                                     n_grid=96).temperature)
        if abs(log_t1 - log_target) < 1e-4 or log_t1 == log_t0:
            break
        step = (log_target - log_t1) * (log_g1 - log_g0) / (log_t1 - log_t0)
        log_g0, log_t0, log_g1 = log_g1, log_t1, log_g1 + step
    return replace(template, input_gain=math.exp(log_g1))


def input_trials(u, duration: float, t_on: float, seed: int, dt: float = 1e-3,
                 values=None) -> Trials:
    """Trials of constant inputs: zero until ``t_on``, then ``u[n]`` until the end.

    Each row of ``u`` [n, K] is one trial's evidence; with ``values`` the trials read the
    'unit' too. ``extra`` keeps ``u`` and ``t_on``.
    """
    u = np.asarray(u, dtype=np.float64)
    n, k = u.shape
    steps = int(round(duration / dt))
    on = int(round(t_on / dt))
    stim = np.zeros((n, steps, k), dtype=np.float32)
    stim[:, on:, :] = u[:, None, :]
    readouts = ("items", "unit") if values is not None else ("items",)
    spec = TaskSpec("space", k, inputs=("evidence",), readouts=readouts,
                    values=None if values is None else tuple(values))
    return Trials(stim, dt, spec, {"trial": np.arange(n)}, seed, "inputs",
                  {"u": u, "t_on": t_on})


def run_circuit(circuit, trials, backend: str = "brian2", dt: float = 1e-4,
                progress: bool = False, **options):
    """Simulate ``circuit`` on ``trials`` (any TaskSpec it supports); return the Recording."""
    agent = SpikingAgent(circuit.spiking_model(trials.spec), trials.spec, backend, dt,
                         "biased-competition", **options)
    return agent.run(trials, progress=progress)


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`: fitted softmax parameters and the fit's quality."""

    params: SoftmaxParams
    js_fit: float
    n_inputs: int
    backend: str
    extra: dict = field(default_factory=dict)


def calibrate(circuit, backend: str = "brian2", n_inputs: int = 30, duration: float = 0.8,
              t_on: float = 0.1, settle: float = 0.1, u_max: float = U_MAX, values=None,
              seed: int = 0, dt: float = 1e-4, progress: bool = False, inputs=None,
              **options) -> Calibration:
    """Fit the softmax parameters to simulations of ``circuit``.

    Each of ``n_inputs`` trials holds a random input ``u`` (uniform in [0, ``u_max``] per
    location) from ``t_on`` on. Temperature: minimises the mean JS divergence between the
    spike shares over ``[t_on + settle, duration]`` and ``softmax(u/T)``. Rate and null
    logit: least squares on the total rate. Tau: least squares of the bin-averaged
    exponential rise of the total rate after ``t_on``. With ``values``, the readout
    unit: its sharpness is the circuit's (:func:`_share_sharpness`), its gain and base
    least squares on the unit's rate.

    Returns
    -------
    Calibration
    """
    _check_circuit(circuit, "calibrate")
    if inputs is None:
        check_int(n_inputs, "calibrate.n_inputs", minimum=3)
        rng = np.random.default_rng([seed, 7001])
        u = rng.uniform(0.0, u_max, (n_inputs, circuit.k))
    else:
        u = check_inputs(inputs, circuit.k, "calibrate.inputs", min_rows=3)
        n_inputs = len(u)
    trials = input_trials(u, duration, t_on, seed, values=values)
    rec = run_circuit(circuit, trials, backend, dt, progress, **options)
    k = circuit.k
    rates = window_rates(rec, t_on + settle)[:, :k]
    if np.any(rates.sum(1) <= 0):
        raise ValidationError("calibrate.circuit: some inputs gave no spikes at all; raise "
                              "input_gain or i_bias so the circuit fires over the operating range")
    temperature, js_fit = _fit_temperature(u, rates / rates.sum(1, keepdims=True))
    rate, null = _fit_rate_null(u, rates.sum(1), temperature)
    tau = _fit_tau(rec, u, t_on, settle, k, SoftmaxParams(k=k, temperature=temperature,
                                                          rate=rate, null_logit=null))
    unit = {}
    if values is not None:
        unit = _fit_unit(values, rates, window_rates(rec, t_on + settle)[:, k],
                         _share_sharpness(circuit))
    params = SoftmaxParams(k=k, temperature=temperature, rate=rate, null_logit=null, tau=tau,
                           **unit)
    return Calibration(params, js_fit, n_inputs, backend,
                       {"u_min": float(u.min()), "u_max": float(u.max()), "duration": duration,
                        "dt": dt, "seed": seed})


def _fit_tau(rec, u, t_on: float, settle: float, k: int, params: SoftmaxParams) -> float:
    """Input-filter time constant whose bin-averaged total rate best matches the spikes'.

    The inputs step from 0 to ``u`` at ``t_on``; for each candidate tau the softmax
    total rate ``R sum_k a_k(u (1 - exp(-t/tau)))`` is averaged over each bin and
    compared (least squares, trial-averaged) with the circuit's total rate.
    """
    total = rec.rates[:, :, :k].sum(axis=2).mean(axis=0)
    times = rec.times
    w = rec.bin_width
    sel = (times >= t_on - w - 1e-12) & (times < t_on + settle)
    fine = 10
    t_fine = (times[sel][:, None] + (np.arange(fine) + 0.5) / fine * w).ravel() - t_on
    best = (math.inf, 0.0)
    for tau in np.exp(np.linspace(math.log(5e-4), math.log(0.2), 120)):
        ramp = np.where(t_fine > 0, 1.0 - np.exp(-np.maximum(t_fine, 0) / tau), 0.0)
        v = u[:, None, :] * ramp[None, :, None]
        tot = params.rate * params.weights(v).sum(axis=2).mean(axis=0)
        pred = tot.reshape(-1, fine).mean(axis=1)
        err = float(np.sum((pred - total[sel]) ** 2))
        if err < best[0]:
            best = (err, float(tau))
    return best[1]


@dataclass(frozen=True)
class Equivalence:
    """Result of :func:`equivalence`.

    Attributes
    ----------
    windows : ndarray, seconds
    js : ndarray
        Mean JS divergence (nats) between spike shares and softmax shares, per window.
    slope : float
        Least-squares slope of log(js) against log(window).
    js_uniform : float
        Mean JS divergence of the spike shares (longest window) from uniform weights.
    n_inputs : int
    """

    windows: np.ndarray
    js: np.ndarray
    slope: float
    js_uniform: float
    n_inputs: int

    @property
    def js_full(self) -> float:
        """Mean JS divergence at the longest window (nats)."""
        return float(self.js[-1])


def spike_counts(circuit, n_inputs: int = 200, windows=(0.02, 0.04, 0.08, 0.16, 0.32, 0.64),
                 settle: float = 0.1, u_max: float = U_MAX, seed: int = 12345, dt: float = 1e-4,
                 backend: str = "brian2", progress: bool = False, inputs=None, **options):
    """Simulate held-out constant inputs; return ``(u [n, K], {window: counts [n, K]})``.

    Inputs are drawn with a generator seeded from ``seed`` (keep it apart from the
    calibration seed). The counts are each location's spikes over
    ``[settle, settle + window)`` with the input on from t = 0; ``row_shares`` of a
    window's counts are its spike shares (NaN for a trial without spikes in it).
    """
    _check_circuit(circuit, "spike_counts")
    windows = tuple(sorted(float(w) for w in windows))
    if inputs is None:
        check_int(n_inputs, "spike_counts.n_inputs", minimum=2)
        rng = np.random.default_rng([seed, 9001])
        u = rng.uniform(0.0, u_max, (n_inputs, circuit.k))
    else:
        u = check_inputs(inputs, circuit.k, "spike_counts.inputs", min_rows=3)
    trials = input_trials(u, settle + windows[-1], 0.0, seed)
    rec = run_circuit(circuit, trials, backend, dt, progress, **options)
    return u, window_counts(rec, settle, windows)


def equivalence_from_shares(u, shares: dict, params: SoftmaxParams) -> Equivalence:
    """JS divergence per window between measured ``shares`` and ``params``' softmax.

    A trial with no spikes in a window scores ln 2, the largest divergence.
    """
    windows = np.asarray(sorted(shares), dtype=np.float64)
    target = params.shares(u)
    js = []
    for w in windows:
        s = shares[float(w)]
        ok = np.all(np.isfinite(s), axis=1)
        d = js_divergence(np.where(ok[:, None], s, 1.0), target)
        js.append(float(np.where(ok, d, math.log(2)).mean()))
    js = np.asarray(js)
    slope = float(np.polyfit(np.log(windows), np.log(js), 1)[0]) if len(windows) > 1 else math.nan
    longest = shares[float(windows[-1])]
    ok = np.all(np.isfinite(longest), axis=1)
    uniform = float(js_divergence(longest[ok], np.ones_like(longest[ok])).mean())
    return Equivalence(windows, js, slope, uniform, len(u))


def equivalence(circuit, params: SoftmaxParams, backend: str = "brian2", n_inputs: int = 200,
                windows=(0.02, 0.04, 0.08, 0.16, 0.32, 0.64), settle: float = 0.1,
                u_max: float = U_MAX, seed: int = 12345, dt: float = 1e-4,
                progress: bool = False, **options) -> Equivalence:
    """Mean JS divergence between spike shares and ``params``' softmax on held-out inputs.

    Simulates ``n_inputs`` random constant inputs (:func:`spike_counts`) and scores each
    counting window's spike shares (:func:`equivalence_from_shares`).

    Examples
    --------
    >>> from neuroattn.mechanisms.biased_competition import EscapeCircuit, equivalence, to_softmax
    >>> c = EscapeCircuit(k=4)
    >>> eq = equivalence(c, to_softmax(c), n_inputs=20, windows=(0.1, 0.4))  # doctest: +SKIP
    """
    u, counts = spike_counts(circuit, n_inputs, windows, settle, u_max, seed, dt, backend,
                             progress, **options)
    return equivalence_from_shares(u, {w: row_shares(c) for w, c in counts.items()}, params)
