"""The bridge between the spiking normalization circuit and the normalization layer.

* :func:`to_softmax` -- analytic, no simulation. The circuit's open-loop gain ``G``
  (Hz of the 0-deg response per unit of receptive-field drive, from the encoders'
  analytic rates and the escape neurons' exponential) and the pooled response at which
  the pool's interneurons reach threshold give the layer's semi-saturation ``sigma``
  (the pooled drive at that threshold) and its ``rate`` (the response at ``sigma``);
  the spontaneous rate is the baseline, the pool's inhibition time constant the layer's.
* :func:`to_spiking` -- the inverse for the geometry: a circuit with the layer's grid,
  widths and attention gain.
* :func:`calibrate` -- simulates the circuit on constant inputs (the task's own, or
  random ones over the operating range) and fits ``sigma``, ``rate`` and ``baseline``
  to the 0-deg responses at every position (least squares on log sigma and log rate).
* :func:`spike_counts` -- the 0-deg responses' spike counts at the positions per
  counting window.

Inputs are ``[n, K]`` (contrasts, no attention) or ``[n, 2K]`` (contrasts, then the
attention bias): what ``Task.bridge_inputs`` gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from neuroattn.mechanisms.base import SpikingAgent, check_circuit, window_counts, window_rates
from neuroattn.mechanisms.base import split_inputs as _split_inputs
from neuroattn.mechanisms.normalization.circuits import NormCircuit
from neuroattn.mechanisms.normalization.params import NormalizationParams, circular_kernel
from neuroattn.model import TaskSpec, Trials
from neuroattn.model.units import check_int

__all__ = ["to_softmax", "to_spiking", "calibrate", "spike_counts", "split_inputs",
           "input_trials", "run_circuit", "open_loop_gain", "NormalizationCalibration",
           "C_MIN", "C_MAX"]

#: Default operating range of a calibration's contrasts (log-uniform).
C_MIN = 3e-3
C_MAX = 1.0


def _check_circuit(circuit, where: str) -> None:
    check_circuit(circuit, where, NormCircuit)


def split_inputs(inputs, k: int, where: str):
    """``(contrast [n, K], bias [n, K])`` from inputs ``[n, K]`` or ``[n, 2K]``."""
    return _split_inputs(inputs, k, where, "contrast", "attention bias")


def open_loop_gain(circuit: NormCircuit) -> tuple[float, float]:
    """``(G, r0)``: the 0-deg response (Hz) per unit of receptive-field drive without the
    pool, at the geometric middle of the encoders' range, and the response at zero drive."""
    from neuroattn.neurons import escape_rate

    c = circuit
    e = c.enc

    def summed(d):
        v = e.v_rest + e.r_m * (c.encoder_bias + c.encoder_gains() * d)
        return float(np.sum(escape_rate(v, e)))

    per_hz = c.resp.r_m * c.w_enc * c.n_enc * c.tau_enc / c.resp.delta_u
    v0 = c.resp.v_rest + c.resp.r_m * c.resp.i_bias
    base = c.resp.rho0 * math.exp((v0 - c.resp.theta) / c.resp.delta_u)
    mid = float(np.sqrt(c.thresholds()[0] * c.thresholds()[-1]))
    gain = base * math.exp(per_hz * summed(mid)) / mid
    return gain, base * math.exp(per_hz * summed(0.0))


def to_softmax(circuit: NormCircuit) -> NormalizationParams:
    """Layer parameters from the circuit's parameters alone (no simulation).

    ``sigma``: the layer's pooled drive at which the circuit's pool reaches its rheobase,
    ``I_rh kt0 / (n_resp w_rp tau_rp G M)`` (``kt0`` the 0-deg channel's share of the
    orientation tuning, ``M`` channels); ``rate = 2 sigma G / kt0``: the open-loop
    response where the layer's is half its maximum; ``baseline``: the spontaneous
    response; ``tau``: the pool's inhibition time constant.

    Examples
    --------
    >>> from neuroattn.mechanisms.normalization import NormCircuit, to_softmax
    >>> p = to_softmax(NormCircuit())
    >>> p.k, p.apeak, p.ix_width
    (9, 2.0, 20.0)
    """
    _check_circuit(circuit, "to_softmax")
    c = circuit
    gain, base = open_loop_gain(c)
    kt0 = float(circular_kernel(c.thetas(), c.etheta_width)[c.preferred, c.preferred])
    rheobase = max((c.pool.v_th - c.pool.v_rest) / c.pool.r_m - c.pool.i_bias, 1e-15)
    sigma = rheobase * kt0 / (c.n_resp * max(c.w_rp, 1e-18) * c.tau_rp * gain
                              * c.n_orientations)
    return NormalizationParams(k=c.k, spacing=c.spacing, n_orientations=c.n_orientations,
                               ex_width=c.ex_width, etheta_width=c.etheta_width,
                               ix_width=c.ix_width, apeak=c.apeak, abase=1.0, sigma=sigma,
                               rate=2.0 * sigma * gain / kt0, baseline=base, tau=c.tau_pr)


def to_spiking(params: NormalizationParams, template: NormCircuit | None = None) -> NormCircuit:
    """A circuit with the layer's grid, widths and attention gain (``apeak / abase``).

    The suppressive field's orientation width has no counterpart: the circuit's pool is
    untuned for orientation (the authors' default, ``itheta_width = 360``).
    """
    params.validate()
    template = NormCircuit(k=params.k) if template is None else template
    _check_circuit(template, "to_spiking")
    return replace(template, k=params.k, spacing=params.spacing,
                   n_orientations=params.n_orientations, ex_width=params.ex_width,
                   etheta_width=params.etheta_width, ix_width=params.ix_width,
                   apeak=params.apeak / params.abase)


def input_trials(contrast, bias, duration: float, t_on: float, seed: int,
                 dt: float = 1e-3) -> Trials:
    """Trials of constant inputs: the attention bias from 0, the contrasts from ``t_on``."""
    c = np.asarray(contrast, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64)
    n, k = c.shape
    steps = int(round(duration / dt))
    on = int(round(t_on / dt))
    stim = np.zeros((n, steps, 2 * k), dtype=np.float32)
    stim[:, on:, :k] = c[:, None, :]
    stim[:, :, k:] = b[:, None, :]
    return Trials(stim, dt, TaskSpec("space", k), pd.DataFrame({"trial": np.arange(n)}), seed,
                  "inputs", {"contrast": c, "bias": b, "t_on": t_on})


def run_circuit(circuit: NormCircuit, trials: Trials, backend: str = "numba", dt: float = 1e-4,
                progress: bool = False, **options):
    """Simulate ``circuit`` on ``trials``; the Recording of the 0-deg responses."""
    agent = SpikingAgent(circuit.spiking_model(trials.spec), trials.spec, backend, dt,
                         "normalization", **options)
    return agent.run(trials, progress=progress)


def spike_counts(circuit: NormCircuit, inputs, windows=(0.02, 0.05, 0.1, 0.2, 0.5),
                 settle: float = 0.15, seed: int = 12345, dt: float = 1e-4,
                 backend: str = "numba", progress: bool = False, **options) -> dict:
    """Spike counts [n, K] of the 0-deg responses per counting window.

    The inputs are on from t = 0; spikes are counted over ``[settle, settle + window)``;
    ``row_shares`` of a window's counts are its spike shares over the positions (NaN for
    a trial without spikes in it).
    """
    _check_circuit(circuit, "spike_counts")
    c, b = split_inputs(inputs, circuit.k, "spike_counts.inputs")
    windows = tuple(sorted(float(w) for w in windows))
    rec = run_circuit(circuit, input_trials(c, b, settle + windows[-1], 0.0, seed), backend,
                      dt, progress, **options)
    return window_counts(rec, settle, windows)


@dataclass(frozen=True)
class NormalizationCalibration:
    """Result of :func:`calibrate`: the fitted layer parameters and the fit's quality."""

    params: NormalizationParams
    rms: float
    r2: float
    n_inputs: int
    backend: str
    extra: dict = field(default_factory=dict)


def _random_inputs(k: int, spacing: float, n: int, rng) -> np.ndarray:
    pos = (np.arange(k) - (k - 1) / 2.0) * spacing
    c = np.exp(rng.uniform(math.log(C_MIN), math.log(C_MAX), n))
    width = rng.uniform(2.0, 10.0, n)
    att_width = rng.uniform(2.0, 40.0, n)
    attended = rng.random(n) < 0.5
    contrast = c[:, None] * np.exp(-pos[None] ** 2 / (2 * width[:, None] ** 2))
    bias = np.where(attended[:, None], np.exp(-pos[None] ** 2 / (2 * att_width[:, None] ** 2)),
                    0.0)
    return np.concatenate([contrast, bias], axis=1)


def calibrate(circuit: NormCircuit, inputs=None, backend: str = "numba", n_inputs: int = 40,
              duration: float = 0.5, t_on: float = 0.05, settle: float = 0.15, seed: int = 0,
              dt: float = 1e-4, progress: bool = False, **options) -> NormalizationCalibration:
    """Fit the layer's ``sigma``, ``rate`` and ``baseline`` to simulations of ``circuit``.

    ``inputs`` (default ``n_inputs`` random ones: a Gaussian stimulus of log-uniform
    contrast in [0.003, 1] and random width at the centre, attention on it with a random
    width or away) are held from ``t_on``; the 0-deg responses of every position are
    averaged from ``t_on + settle`` to the end and fitted by least squares, starting
    from :func:`to_softmax`.
    """
    from scipy.optimize import least_squares

    _check_circuit(circuit, "calibrate")
    k = circuit.k
    rng = np.random.default_rng([seed, 0xC0DE])
    if inputs is None:
        check_int(n_inputs, "calibrate.n_inputs", minimum=3)
        inputs = _random_inputs(k, circuit.spacing, n_inputs, rng)
    c, b = split_inputs(inputs, k, "calibrate.inputs")
    rec = run_circuit(circuit, input_trials(c, b, duration, t_on, seed), backend, dt,
                      progress, **options)
    rates = window_rates(rec, t_on + settle)
    analytic = to_softmax(circuit)
    pop = {}

    def predict(p):
        params = replace(analytic, sigma=math.exp(p[0]), rate=math.exp(p[1]), baseline=p[2])
        key = round(p[0], 12)
        if key not in pop:
            pop.clear()
            pop[key] = params.population(c, b)[..., params.preferred]
        return math.exp(p[1]) * pop[key] + p[2]

    x0 = [math.log(analytic.sigma), math.log(analytic.rate), analytic.baseline]
    res = least_squares(lambda p: (predict(p) - rates).ravel(), x0,
                        bounds=([math.log(analytic.sigma) - 12, math.log(1e-3), -50.0],
                                [math.log(analytic.sigma) + 12, math.log(1e6), 200.0]))
    fitted = replace(analytic, sigma=math.exp(res.x[0]), rate=math.exp(res.x[1]),
                     baseline=float(res.x[2]))
    resid = predict(res.x) - rates
    rms = float(np.sqrt(np.mean(resid ** 2)))
    r2 = float(1.0 - np.sum(resid ** 2) / max(np.sum((rates - rates.mean()) ** 2), 1e-300))
    return NormalizationCalibration(fitted, rms, r2, len(c), backend,
                                    {"c_min": float(c.max(axis=1).min()),
                                     "c_max": float(c.max()), "duration": duration,
                                     "dt": dt, "seed": seed})
