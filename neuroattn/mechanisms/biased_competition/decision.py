"""Perceptual decisions by biased competition with slow recurrent excitation (Wang 2002).

Mechanism ``decision-attractor``: two selective pools compete through shared inhibition,
as in biased competition, and each excites itself through slow (NMDA) synapses, so a
small difference in their inputs is integrated over hundreds of milliseconds until one
pool wins (Wang 2002). It runs two-alternative tasks whose two items carry evidence
only (the random-dot task, ``decision``).

Spiking tier: the published Wang (2002) network (:func:`neuroattn.model.library.wang2002`,
``models/wang2002.toml``; 2000 conductance-based LIF neurons), run by
:class:`~neuroattn.tasks.random_dots.Wang2002Agent` (on numba each trial ends at the
task's commitment). Its units are the selective pools 'A' and 'B' (items 0 and 1).

Softmax tier: biased competition's softmax over the two pools and a null competitor,
fed back through a slow trace of each pool's own rate (the NMDA reverberation)::

    x_k = u_k + w_self s_k                                    (input units: mu0)
    a_k = exp(x_k / T) / (exp(beta / T) + sum_j exp(x_j / T))  (attention over 2 + null)
    r_k = R a_k                                               (Hz)
    tau ds_k = (r_k - s_k) dt + noise sqrt(dt) dW_k            (Hz)

The normalisation is the competition (shared inhibition); ``w_self`` and ``tau`` are the
slow recurrent excitation; ``noise`` stands for the finite network's own fluctuations (a
diffusion of the trace, drawn per trial from the trials' seed). Around the symmetric
state ``s*`` (both inputs 1) the difference of the traces obeys ``tau dD/dt = (G - 1) D +
(R a*/T) (u_A - u_B)`` with ``G = w_self R a* / T``: for ``G > 1`` it grows with the
effective time constant ``tau_eff = tau / (G - 1)`` (the integration time of the
decision), while the sum (gain ``G (1 - 2 a*)``) stays stable.

The bridge (:meth:`DecisionAttractor.calibrate`) simulates the spiking network on the
task's inputs held constant and fits ``T, beta, w_self, tau, noise`` so that the layer's
choices and decision times (the same commitment rule: a pool's rate over 50 ms reaching
15 Hz) and its pre-decision rate match the network's, one set of parameters for all
inputs, with the symmetric state kept a saddle below the commitment (the pools
integrate before one wins); the fit matches the mean and the spread of the decision
times, and ``R`` is the network's committed winner's rate, read from a few trials
viewed to the end (:func:`winner_rate`). The check of the fit is Wong & Wang (2006)'s
two-variable reduction of the same network, whose slow time constant is known (tau_S =
100 ms): run through the same fit in place of the spiking network it gives the layer a
trace time constant within a factor 1.5 of it (70-112 ms in four fits, 79 ms with the
spread; ``tests/unit/test_wang2002_softmax.py``); the reduction's effective
integration time (:func:`wong_wang_time_constant`) is reported beside the fitted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import Mechanism, SpikingModel
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["DecisionParams", "DecisionAttractor", "DecisionLayer", "wong_wang_time_constant",
           "fit_decision_layer", "decide", "read_decisions", "constant_trials", "winner_rate",
           "deterministic_rates", "DecisionSpikingAgent", "DecisionSoftmaxAgent", "DECISION_RULE"]

#: The commitment rule the bridge reads both tiers with (the random-dot task's own:
#: Wong & Wang 2006's 15 Hz on a 50 ms causal average), the input rate per unit of
#: evidence (Wang 2002: mu0 = 40 Hz) and the calibration protocol (s).
DECISION_RULE = {"threshold": 15.0, "window": 0.05, "mu0": 40.0, "pre": 0.3, "view": 2.0,
                 "bin_width": 5e-3, "dt": 5e-3}
#: The pre-decision rate is read 100-200 ms after the inputs come on.
_PRE_WINDOW = (0.1, 0.2)
_NETWORK_DEFAULTS = {"n": 2000, "w_plus": 1.7, "f_pool": 0.15, "recurrence": "nmda",
                     "ampa_scale": 1.0, "nmda_scale": 1.0, "gaba_scale": 1.0,
                     "delta_g_adapt": 0.0, "mg": 1.0, "background_rate": 2400.0}


@dataclass(frozen=True)
class DecisionParams:
    """Parameters of the decision layer (module notes).

    Parameters
    ----------
    k : int
        Number of pools (2).
    temperature : float
        Softmax temperature T, input units (mu0).
    rate : float, hertz
        Rate R of a pool that holds all the weight.
    null_logit : float
        beta, the null competitor's logit, input units.
    tau : float, seconds
        Time constant of the slow trace (the recurrent NMDA reverberation).
    w_self : float, input units per hertz
        Self-excitation per Hz of a pool's trace.
    noise : float, hertz per sqrt(second)
        Diffusion of each trace (the finite network's fluctuations); 0: deterministic.

    Examples
    --------
    >>> p = DecisionParams()
    >>> round(p.effective_time_constant(), 3) > 0
    True
    """

    k: int = 2
    temperature: float = 1.5
    rate: float = 40.0
    null_logit: float = 5.05
    tau: float = 0.1
    w_self: float = 0.3
    noise: float = 4.0
    #: derived, reported with the fit: the effective integration time (s) and the symmetric
    #: state's rate (Hz) at inputs (1, 1); Wong & Wang (2006)'s time constant for the check
    tau_eff: float = field(default=math.nan, init=False)
    rate_symmetric: float = field(default=math.nan, init=False)
    tau_eff_wong_wang: float = field(default=math.nan, init=False)

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "DecisionParams.rate"))
        object.__setattr__(self, "tau", to_si(self.tau, "s", "DecisionParams.tau"))
        self.validate()
        s, _ = self.symmetric_state()
        object.__setattr__(self, "rate_symmetric", s)
        object.__setattr__(self, "tau_eff", self.effective_time_constant())
        object.__setattr__(self, "tau_eff_wong_wang", wong_wang_time_constant())

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "DecisionParams.k", minimum=2)
        if self.k != 2:
            raise ValidationError(f"DecisionParams.k: the decision layer has two pools "
                                  f"(got {self.k})")
        for name in ("temperature", "rate", "tau", "w_self", "noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValidationError(f"DecisionParams.{name}: expected a number (got "
                                      f"{value!r})")
        for name, unit in (("temperature", "1"), ("rate", "Hz"), ("tau", "s")):
            check_positive(float(getattr(self, name)), unit, f"DecisionParams.{name}")
        for name, unit in (("w_self", "1"), ("noise", "1")):
            check_positive(float(getattr(self, name)), unit, f"DecisionParams.{name}",
                           allow_zero=True)
        if not (isinstance(self.null_logit, (int, float)) and math.isfinite(self.null_logit)):
            raise ValidationError(f"DecisionParams.null_logit: expected a finite number "
                                  f"(got {self.null_logit!r})")

    def weights(self, x) -> np.ndarray:
        """Attention weights ``a`` [..., 2] (the null's share left out) for drives ``x``."""
        z = np.asarray(x, dtype=np.float64) / self.temperature
        null = np.full(z.shape[:-1] + (1,), self.null_logit / self.temperature)
        z = np.concatenate([z, null], axis=-1)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True))[..., :-1]

    def symmetric_state(self, u: float = 1.0) -> tuple[float, float]:
        """The lowest symmetric fixed point at inputs ``(u, u)``: (rate s* in Hz, a*)."""
        return _symmetric_state(self, u)

    def effective_time_constant(self, u: float = 1.0) -> float:
        """``tau / (G - 1)`` with ``G = w_self R a* / T`` at the symmetric state (s): how
        fast a difference between the pools grows (G > 1) -- the integration time of the
        decision. NaN when the symmetric state is stable (G <= 1: no decision)."""
        _, a = self.symmetric_state(u)
        gain = self.w_self * self.rate * a / self.temperature
        return float(self.tau / (gain - 1.0)) if gain > 1.0 else math.nan

    def shares(self, u, t_from: float = 0.1, t_to: float = 0.6) -> np.ndarray:
        """Each pool's share of the noise-free layer's mean rates over ``[t_from, t_to)`` s
        after constant inputs ``u`` [..., 2] come on (traces at rest before): the period
        the bridge counts the network's spikes in (its settle time and longest window)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        rates = deterministic_rates(self, u, t_from, t_to)
        return rates / rates.sum(axis=-1, keepdims=True)

    def params(self) -> dict:
        """The free parameters (what the constructor takes)."""
        return {n: getattr(self, n) for n in ("k", "temperature", "rate", "null_logit", "tau",
                                              "w_self", "noise")}


def _symmetric_state(p, u: float = 1.0) -> tuple[float, float]:
    """Lowest root of ``R a(u + w_self s) = s`` (both pools alike): (s* in Hz, a*)."""
    def f(s):
        x = (u + p.w_self * np.asarray(s, np.float64)) / p.temperature
        m = np.maximum(x, p.null_logit / p.temperature)
        e = np.exp(x - m)
        return p.rate * e / (2 * e + np.exp(p.null_logit / p.temperature - m)) - s

    grid = np.linspace(0.0, p.rate, 2001)
    vals = f(grid)
    idx = np.nonzero(np.diff(np.sign(vals)) != 0)[0]
    if not idx.size:
        return math.nan, math.nan
    lo, hi = float(grid[idx[0]]), float(grid[idx[0] + 1])
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.sign(f(mid)) == np.sign(f(lo)) else (lo, mid)
    s = 0.5 * (lo + hi)
    return float(s), float(s / p.rate)


def deterministic_rates(params: DecisionParams, u, t_from: float = 0.1, t_to: float = 0.6,
                        dt: float = 5e-3) -> np.ndarray:
    """Mean rates (Hz) [n, 2] of the noise-free layer over ``[t_from, t_to)`` s of inputs
    ``u`` [n, 2] held from rest (traces at 0), Euler steps of ``dt``."""
    u = np.atleast_2d(np.asarray(u, dtype=np.float64))
    s = np.zeros_like(u)
    acc = np.zeros_like(u)
    first, last = int(round(t_from / dt)), int(round(t_to / dt))
    for step in range(last):
        r = params.rate * params.weights(u + params.w_self * s)
        if step >= first:
            acc += r
        s = s + dt / params.tau * (r - s)
    return acc / max(last - first, 1)


def _ww_phi(x):
    from neuroattn.tasks.random_dots import WongWangAgent as W

    y = W.A * x - W.B
    return y / (1.0 - np.exp(-W.D * y))


def wong_wang_time_constant(mu0: float = 30.0) -> float:
    """Effective integration time (s) of Wong & Wang (2006)'s reduction at zero coherence.

    At the lowest symmetric fixed point of ``dS/dt = -S/tau_S + (1 - S) gamma phi(x)``,
    ``x = (J_N - J_cross) S + I_0 + J_ext mu0`` (their published constants,
    :class:`~neuroattn.tasks.random_dots.WongWangAgent`), the difference ``S_1 - S_2``
    grows at ``lambda = -1/tau_S - gamma phi + (1 - S) gamma phi'(x) (J_N + J_cross)``;
    returns ``1 / lambda`` (NaN if that state is stable)."""
    from neuroattn.tasks.random_dots import WongWangAgent as W

    inp = W.I0 + W.J_EXT * mu0

    def f(s):
        r = _ww_phi((W.J_N - W.J_CROSS) * s + inp)
        return -s / W.TAU_S + (1 - s) * W.GAMMA * r

    grid = np.linspace(0.0, 1.0, 2001)
    vals = f(grid)
    idx = np.nonzero(np.diff(np.sign(vals)) != 0)[0]
    if not idx.size:
        return math.nan
    lo, hi = grid[idx[0]], grid[idx[0] + 1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.sign(f(mid)) == np.sign(f(lo)) else (lo, mid)
    s = 0.5 * (lo + hi)
    x = (W.J_N - W.J_CROSS) * s + inp
    h = 1e-7
    slope = (_ww_phi(x + h) - _ww_phi(x - h)) / (2 * h)
    lam = -1.0 / W.TAU_S - W.GAMMA * _ww_phi(x) + (1 - s) * W.GAMMA * slope * (W.J_N +
                                                                               W.J_CROSS)
    return float(1.0 / lam) if lam > 0 else math.nan


def _pre_bins(rule: dict) -> tuple[int, int, int]:
    bw = rule["bin_width"]
    onset = int(round(rule["pre"] / bw))
    return onset, onset + int(round(_PRE_WINDOW[0] / bw)), onset + int(round(_PRE_WINDOW[1] / bw))


def decide(params: DecisionParams, u, z, rule: dict = DECISION_RULE):
    """The layer on constant inputs ``u`` [n, 2] (held from ``rule['pre']`` s on, zero
    before) with trace noise ``z`` [n, steps, 2] (standard normal): rates binned as the
    task bins them, then choice (-1: none), decision time (s from onset, NaN: none)
    and the pre-decision rate (mean of both pools 100-200 ms after onset, Hz) per trial."""
    return _decide(params, _held(u, z.shape[1], rule), z, rule)


def _held(u, steps: int, rule: dict) -> np.ndarray:
    """Inputs ``u`` [n, 2] held from ``rule['pre']`` on, zero before: [n, steps, 2]."""
    u = np.asarray(u, dtype=np.float64)
    full = np.zeros((len(u), steps, 2))
    full[:, int(round(rule["pre"] / rule["dt"])):] = u[:, None, :]
    return full


def _decide(params, full, z, rule: dict):
    from neuroattn.mechanisms.biased_competition._decision_kernel import (decision_rates,
                                                                          first_crossing)

    dt, bw = rule["dt"], rule["bin_width"]
    spb = int(round(bw / dt))
    rates = decision_rates(full, z, dt, params.temperature, params.rate, params.null_logit,
                           params.tau, params.w_self, params.noise, 0.0, spb)
    onset, p0, p1 = _pre_bins(rule)
    choice, time = first_crossing(rates, bw, rule["threshold"],
                                  int(round(rule["window"] / bw)), onset)
    return choice, time, rates[:, p0:p1].mean(axis=(1, 2))


def read_decisions(rates, rule: dict = DECISION_RULE):
    """Choice, decision time (s) and pre-decision rate (Hz) per trial from binned rates
    [n, bins, 2] of a run on :func:`constant_trials` (bins after a stop are NaN)."""
    from neuroattn.mechanisms.biased_competition._decision_kernel import first_crossing

    bw = rule["bin_width"]
    onset, p0, p1 = _pre_bins(rule)
    filled = np.nan_to_num(np.asarray(rates, dtype=np.float64), nan=0.0)
    choice, time = first_crossing(filled, bw, rule["threshold"],
                                  int(round(rule["window"] / bw)), onset)
    with np.errstate(invalid="ignore"):
        pre = np.nanmean(np.asarray(rates, dtype=np.float64)[:, p0:p1], axis=(1, 2))
    return choice, time, pre


def winner_rate(rates, rule: dict = DECISION_RULE, last: float = 0.5) -> float:
    """Mean rate (Hz) of the leading pool over the last ``last`` s of runs [n, bins, 2]
    that view the inputs to the end (no stop at commitment): the committed winner's rate,
    the layer's ``R``. NaN when no bin is finite."""
    r = np.asarray(rates, dtype=np.float64)
    k = max(1, int(round(last / rule["bin_width"])))
    tail = r[:, -k:]
    finite = np.isfinite(tail)
    count = finite.sum(axis=1)                                   # [n, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, tail, 0.0).sum(axis=1) / count   # NaN where none
    lead = np.where(np.isfinite(mean), mean, -np.inf).max(axis=1)
    lead = lead[np.isfinite(lead)]
    return float(lead.mean()) if lead.size else math.nan


def constant_trials(u, seed: int, rule: dict = DECISION_RULE):
    """Trials of the decision spec holding inputs ``u`` [n, 2] (units of mu0) after
    ``rule['pre']`` s of background, for ``rule['view']`` s, with the stop-rule extras."""
    import pandas as pd

    from neuroattn.model.trials import TaskSpec, Trials

    u = np.asarray(u, dtype=np.float64)
    dt = rule["dt"]
    pre, view = int(round(rule["pre"] / dt)), int(round(rule["view"] / dt))
    stim = np.zeros((len(u), pre + view, 2), np.float32)
    stim[:, pre:] = u[:, None, :]
    spec = TaskSpec("space", 2, inputs=("evidence",), readouts=("items",))
    return Trials(stim, dt, spec, pd.DataFrame({"trial": np.arange(len(u))}), seed, "inputs",
                  {"u": u, "onset": rule["pre"], "mu0": rule["mu0"],
                   "threshold": rule["threshold"], "window": rule["window"],
                   "nondecision": np.zeros(len(u))})


def _bins(u, n_bins: int) -> np.ndarray:
    """Bin index per input of |u_A - u_B| (``n_bins`` quantile bins)."""
    d = np.abs(u[:, 0] - u[:, 1])
    edges = np.quantile(d, np.linspace(0, 1, n_bins + 1)[1:-1])
    which = np.searchsorted(edges, d, side="right")
    return which


def fit_decision_layer(u, choice, time, pre_rate, start: DecisionParams | None = None,
                       seed: int = 0, repeats: int = 8, n_bins: int = 6,
                       rule: dict = DECISION_RULE, max_evals: int = 300,
                       spread: bool = True) -> DecisionParams:
    """Fit ``T, beta, w_self, tau, noise`` of the decision layer to a reference's
    decisions on constant inputs ``u`` [n, 2]: its ``choice`` (-1: none) and decision
    ``time`` (s) per trial and its mean pre-decision rate ``pre_rate`` (Hz).

    Trials are grouped by |u_A - u_B| into ``n_bins`` quantile bins; the objective sums,
    per bin, the squared differences in the probability of choosing the larger input, in
    the mean decision time and (``spread``) in the standard deviation of the decision
    times, each over its standard error (``sd / sqrt(2 (m - 1))`` for an SD of ``m``
    times), and the squared difference of the pre-decision rates. Matching the spread
    as well as the mean makes the layer's decision times the network's in
    distribution, not only on average: a layer whose noise is too large for the drive
    decides too early on easy inputs and too late on hard ones. The layer is simulated
    on the same inputs ``repeats`` times with fixed noise draws (so the objective is a
    deterministic function of the parameters); Nelder-Mead on the logs of the positive
    parameters. ``R`` stays at ``start.rate`` (:meth:`DecisionAttractor.calibrate` reads
    it from the network: :meth:`DecisionAttractor.winner_rate`).
    """
    from scipy.optimize import minimize

    u = np.asarray(u, dtype=np.float64)
    choice = np.asarray(choice)
    time = np.asarray(time, dtype=np.float64)
    start = start or DecisionParams()
    n = len(u)
    if n < n_bins * 2:
        raise ValidationError(f"fit_decision_layer.u: need at least {2 * n_bins} inputs for "
                              f"{n_bins} bins (got {n})")
    which = _bins(u, n_bins)
    big = np.argmax(u, axis=1)

    def stats(ch, tm, wh, bg):
        p, p_se, t, t_se, sd, sd_se, out = [], [], [], [], [], [], []
        for b in range(n_bins):
            sel = wh == b
            ok = sel & (ch >= 0)
            k = (ch[ok] == bg[ok]).astype(float)
            p.append(k.mean() if k.size else 0.5)
            p_se.append(math.sqrt(max(p[-1] * (1 - p[-1]), 0.05) / max(k.size, 1)))
            tt = tm[ok]
            t.append(tt.mean() if tt.size else rule["view"])
            spread_b = tt.std(ddof=1) if tt.size > 1 else 0.0
            t_se.append(spread_b / math.sqrt(tt.size) if tt.size > 1 else 0.1)
            sd.append(spread_b)
            # SE of an SD of m values: sd / sqrt(2 (m - 1)), at least 20 ms of SD; a bin
            # with fewer than 3 decisions has no spread to match
            sd_se.append(max(spread_b, 0.02) / math.sqrt(2.0 * (tt.size - 1))
                         if tt.size >= 3 else math.inf)
            out.append(1.0 - ok.sum() / max(sel.sum(), 1))
        return tuple(np.array(x) for x in (p, p_se, t, t_se, sd, sd_se, out))

    ref_p, ref_pse, ref_t, ref_tse, ref_sd, ref_sdse, ref_out = stats(choice, time, which, big)
    ref_pre = float(np.nanmean(pre_rate))
    steps = int(round((rule["pre"] + rule["view"]) / rule["dt"]))
    rng = np.random.default_rng([int(seed), 0xDEC1])
    uu = np.repeat(u, repeats, axis=0)
    z = rng.standard_normal((len(uu), steps, 2))
    full = _held(uu, steps, rule)
    wh_l, bg_l = np.repeat(which, repeats), np.repeat(big, repeats)

    def unpack(th):
        return DecisionParams(temperature=math.exp(th[0]), rate=start.rate,
                              null_logit=float(th[1]), tau=math.exp(th[2]),
                              w_self=math.exp(th[3]), noise=math.exp(th[4]))

    def loss(th):
        if np.any(np.abs(th[[0, 2, 3, 4]]) > 12) or abs(th[1]) > 20:
            return 1e9
        p = _LayerPoint(math.exp(th[0]), start.rate, th[1], math.exp(th[2]),
                        math.exp(th[3]), math.exp(th[4]))
        ch, tm, pre = _decide(p, full, z, rule)
        lp, _, lt, _, lsd, _, lout = stats(ch, tm, wh_l, bg_l)
        err = np.sum(((lp - ref_p) / ref_pse) ** 2) + np.sum(((lt - ref_t) / ref_tse) ** 2)
        if spread:
            err += np.sum(((lsd - ref_sd) / ref_sdse) ** 2)
        err += np.sum(((lout - ref_out) / 0.05) ** 2)
        err += ((float(np.mean(pre)) - ref_pre) / 0.5) ** 2
        return float(err) + _regime_penalty(p, rule)

    th0 = np.array([math.log(start.temperature), start.null_logit, math.log(start.tau),
                    math.log(max(start.w_self, 1e-6)), math.log(max(start.noise, 1e-6))])
    res = minimize(loss, th0, method="Nelder-Mead",
                   options=dict(maxfev=max_evals, xatol=1e-3, fatol=1e-3,
                                initial_simplex=th0 + np.vstack([np.zeros(5),
                                                                 0.25 * np.eye(5)])))
    return unpack(res.x)


def _regime_penalty(p, rule: dict) -> float:
    """0 in the regime of the network (the symmetric state, inputs (1, 1), a saddle below
    80 % of the commitment threshold: the pools integrate before one commits); else a
    quadratic penalty (in units of the objective) growing with the distance from it."""
    s, a = _symmetric_state(p)
    if not np.isfinite(s):
        return 1e4
    gain = p.w_self * p.rate * a / p.temperature
    over = max(0.0, s - 0.8 * rule["threshold"]) + 10.0 * max(0.0, 1.0 - gain)
    return 100.0 * over ** 2


@dataclass(frozen=True)
class _LayerPoint:
    """Plain parameters for the kernel (no derived quantities computed)."""

    temperature: float
    rate: float
    null_logit: float
    tau: float
    w_self: float
    noise: float


_LAYER = []


def __getattr__(name):
    # DecisionLayer is a torch module: built on first use, so that importing this module
    # (as the mechanism registry does) does not import torch
    if name == "DecisionLayer":
        return _layer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _layer_class():
    if _LAYER:
        return _LAYER[0]
    import torch

    from neuroattn.mechanisms._layer import MechanismLayer

    class _DecisionLayer(MechanismLayer):
        """The decision layer (module notes) as a differentiable torch module.

        Each step the two pools' weights are biased competition's attention:
        :func:`neuroattn.attention.scaled_dot_product_attention` with one query (a 1)
        over three keys, the drives ``x_k / T`` and the null ``beta / T``, the values the
        one-hot pool codes (the null carries none). ``forward(x, b, dt, noise=None)``:
        ``x + b`` is the input per pool; ``noise`` [trials, steps, 2], standard normal
        draws of the trace noise (None: the noise-free layer).
        """

        def __init__(self, params: DecisionParams, attention_backend=None, *,
                     dtype=torch.float64, device=None):
            super().__init__(params, DecisionParams, None, attention_backend, dtype, device,
                             "DecisionLayer", "pool")
            self.log_temperature = self._parameter(math.log(params.temperature))
            self.log_rate = self._parameter(math.log(params.rate))
            self.null_logit = self._parameter(float(params.null_logit))
            self.log_tau = self._parameter(math.log(params.tau))
            self.w_self = self._parameter(float(params.w_self))
            self.noise = self._parameter(float(params.noise))

        def attend(self, x):
            """Weights [..., 2] of drives ``x`` [..., 2] against the null."""
            from neuroattn.attention import scaled_dot_product_attention

            lead = x.shape[:-1]
            keys = x.reshape(-1, self.k, 1)
            null = self.null_logit.to(x.dtype).expand(keys.shape[0], 1, 1)
            keys = torch.cat([keys, null], 1) / torch.exp(self.log_temperature).to(x.dtype)
            m = self.k + 1
            v = torch.eye(m, self.k, dtype=x.dtype, device=x.device).expand(keys.shape[0], m,
                                                                            -1)
            q = torch.ones(keys.shape[0], 1, 1, dtype=x.dtype, device=x.device)
            out = scaled_dot_product_attention(q, keys, v, scale=1.0, backend=self._backend())
            return out.reshape(*lead, self.k)

        def forward(self, x, b, dt: float, noise=None):
            """Rates (Hz) [trials, steps, 2] (forward Euler, the rates of each step from
            the traces at its start; the traces start at 0)."""
            where = "DecisionLayer.forward"
            self._check_forward(where, x, b, dt)
            dtype = self.log_rate.dtype
            u = x.to(dtype) + b.to(dtype)
            if noise is not None and (not isinstance(noise, torch.Tensor)
                                      or noise.shape != u.shape):
                got = (tuple(noise.shape) if isinstance(noise, torch.Tensor)
                       else type(noise).__name__)
                raise ValidationError(f"{where}.noise: expected a tensor of the inputs' shape "
                                      f"{tuple(u.shape)} (got {got})")
            rate = torch.exp(self.log_rate)
            k = dt / torch.exp(self.log_tau)
            sq = self.noise * math.sqrt(dt)
            s = torch.zeros(u.shape[0], self.k, dtype=dtype, device=u.device)
            out = []
            for t in range(u.shape[1]):
                r = rate * self.attend(u[:, t] + self.w_self * s)
                out.append(r)
                s = s + k * (r - s)
                if noise is not None:
                    s = s + sq * noise[:, t].to(dtype)
            return torch.stack(out, dim=1)

        def params(self) -> DecisionParams:
            """The current parameters."""
            def val(t):
                return float(t.detach().item())

            return DecisionParams(k=self.k, temperature=math.exp(val(self.log_temperature)),
                                  rate=math.exp(val(self.log_rate)),
                                  null_logit=val(self.null_logit),
                                  tau=math.exp(val(self.log_tau)), w_self=val(self.w_self),
                                  noise=max(val(self.noise), 0.0))

    _DecisionLayer.__name__ = _DecisionLayer.__qualname__ = "DecisionLayer"
    _LAYER.append(_DecisionLayer)
    return _DecisionLayer


class DecisionSpikingAgent:
    """The Wang (2002) network on a decision task; its pools read out as the items."""

    tier = "spiking"

    def __init__(self, spec, backend: str = "numba", dt: float = 1e-4,
                 params: dict | None = None, **options):
        from neuroattn.tasks.random_dots import Wang2002Agent

        params = dict(params or {})
        bg = params.pop("background_rate", 2400.0)
        self.spec, self.params = spec, dict(params, background_rate=bg)
        self._agent = Wang2002Agent(backend=backend, dt=dt, network=params,
                                    background_rate=bg, **options)

    def run(self, trials, progress: bool = False):
        """Simulate; the Recording's ``items`` are pools A and B."""
        from neuroattn.model import Recording

        if trials.spec != self.spec:
            raise ValidationError(f"DecisionSpikingAgent.run: the trials were made for "
                                  f"{trials.spec}, but this agent was built for {self.spec}")
        rec = self._agent.run(trials, progress)
        rec = rec.select(["A", "B"])
        names = self.spec.unit_names()
        meta = dict(rec.meta, mechanism=DecisionAttractor.name, tier="spiking",
                    params=self.params)
        return Recording(rec.rates, rec.bin_width, names["items"], rec.spikes, rec.v, meta,
                         names)


class DecisionSoftmaxAgent:
    """The decision layer on a decision task: trace noise drawn from the trials' seed."""

    tier = "softmax"

    def __init__(self, spec, fitted: DecisionParams, attention_backend: str = "numba",
                 bin_width: float = 5e-3):
        if not isinstance(fitted, DecisionParams):
            raise ValidationError(f"decision-attractor.softmax.fitted: expected DecisionParams "
                                  f"(got {type(fitted).__name__})")
        self.spec, self.fitted, self.bin_width = spec, fitted, bin_width
        self.attention_backend = attention_backend
        self.module = _layer_class()(fitted, attention_backend)

    def run(self, trials, progress: bool = False):
        """Rates of every trial, binned like the spiking tier's (5 ms)."""
        import torch

        from neuroattn.model import Recording

        if trials.spec != self.spec:
            raise ValidationError(f"DecisionSoftmaxAgent.run: the trials were made for "
                                  f"{trials.spec}, but this agent was built for {self.spec}")
        per_bin = int(round(self.bin_width / trials.dt))
        if per_bin < 1 or abs(per_bin * trials.dt - self.bin_width) > 1e-9:
            raise ValidationError(f"DecisionSoftmaxAgent.bin_width: must be a whole multiple "
                                  f"of the trials' dt {trials.dt:g} s (got {self.bin_width:g})")
        ev = np.asarray(trials.role("evidence"), dtype=np.float64)
        z = np.random.default_rng([int(trials.seed), 0xDEC2]).standard_normal(ev.shape)
        with torch.no_grad():
            rates = self.module(torch.as_tensor(ev), torch.zeros(ev.shape, dtype=torch.float64),
                                trials.dt, noise=torch.as_tensor(z)).numpy()
        n_bins = rates.shape[1] // per_bin
        binned = rates[:, :n_bins * per_bin].reshape(rates.shape[0], n_bins, per_bin, 2)
        names = self.spec.unit_names()
        meta = {"mechanism": DecisionAttractor.name, "tier": "softmax",
                "backend": self.attention_backend, "dt": trials.dt, "seed": trials.seed,
                "params": self.fitted.params()}
        return Recording(binned.mean(axis=2), per_bin * trials.dt, names["items"], meta=meta,
                         roles=names)


class DecisionAttractor(Mechanism):
    """Two pools competing through shared inhibition with slow NMDA self-excitation
    (Wang 2002): the spiking network and its softmax layer (module notes).

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.tasks import TASKS
    >>> m = get_mechanism("decision-attractor")
    >>> m.supports(TASKS["decision"]().spec()) is None
    True
    >>> m.supports(TASKS["posner"]().spec()) is not None
    True
    """

    name = "decision-attractor"
    summary = ("Biased competition with slow recurrent excitation (Wang 2002): two pools "
               "integrate their evidence through NMDA reverberation until one wins.")

    def parameters(self) -> dict:
        """The Wang (2002) network's parameters (:func:`neuroattn.model.library.wang2002`)
        and the background rate (Hz)."""
        return dict(_NETWORK_DEFAULTS)

    def supports(self, spec) -> str | None:
        """Two items in space with evidence only, read out as items (two-alternative
        perceptual decisions)."""
        if spec.layout != "space" or spec.n_items != 2:
            return ("the network has two selective pools: it decides between two "
                    "alternatives present together in space")
        if "bias" in spec.inputs:
            return ("the network has no top-down bias input; it decides between two "
                    "evidence streams")
        if "unit" in spec.readouts:
            return "the network has no downstream 'unit' readout, only its two pools"
        return None

    def _network(self, params: dict) -> dict:
        return {k: v for k, v in params.items() if k != "background_rate"}

    def spiking(self, spec, **params) -> SpikingModel:
        """The Wang (2002) network; its drives read the stimulus ``[1, mu0 x evidence]``
        (the agent puts the background's constant column first)."""
        from neuroattn.model.library import wang2002, wang2002_drives

        params = self.resolve(**params)
        net = wang2002(**self._network(params))
        drives = wang2002_drives(background=0, stimulus=(1, 2),
                                 background_rate=params["background_rate"])
        return SpikingModel(net, drives, {"items": ("A", "B")})

    def agent(self, tier: str, spec, backend: str = "numba", dt: float = 1e-4,
              fitted=None, params: dict | None = None, **options):
        """The spiking tier (:class:`DecisionSpikingAgent`) or the softmax tier
        (:class:`DecisionSoftmaxAgent`) for ``spec``."""
        reason = self.supports(spec)
        if reason is not None:
            raise ValidationError(f"{self.name}: cannot run this task: {reason}")
        params = self.resolve(**(params or {}))
        if tier == "spiking":
            self.spiking(spec, **params)  # validates the network's parameters
            return DecisionSpikingAgent(spec, backend, dt, params, **options)
        if tier == "softmax":
            fitted = self.to_softmax(spec, **params) if fitted is None else fitted
            return DecisionSoftmaxAgent(spec, fitted, backend)
        raise ValidationError(f"--tier: expected 'spiking' or 'softmax' (got {tier!r})")

    def to_softmax(self, spec, inputs=None, **params) -> DecisionParams:
        """A starting point without simulation: the trace's time constant is the network's
        NMDA decay time (100 ms), the rest the layer's defaults (docs/tasks/decision.md);
        :meth:`calibrate` replaces them with a fit."""
        from neuroattn.model.library import WANG2002

        self.resolve(**params)
        return DecisionParams(tau=WANG2002["tau_nmda_decay"])

    #: network decisions per calibration input. The fit matches, in each of 6 bins of
    #: evidence, the network's choice probability and the mean and SD of its decision
    #: times: with the study's 60 calibration inputs, one decision each leaves 10 per bin,
    #: and the fitted time constant then spreads so much from seed to seed that the
    #: layer's RT(3.2 %) / RT(51.2 %) left its band at 2 of 4 unnamed seeds
    #: (docs/tasks/decision.md); three decisions per input (30 per bin) held it at all
    #: of them, and six (60 per bin) halve the seed-to-seed spread of that ratio (SD
    #: 0.12 -> 0.055 over seeds 4021-4027: 1.83-2.18 -> 1.87-2.02) for about 30 CPU s more
    calibration_repeats = 6

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> DecisionParams:
        """Fit the layer to the network's decisions on ``inputs`` held constant (default:
        60 inputs ``1 +/- c``, c uniform in [0, 0.512]), each simulated
        ``calibration_repeats`` times (independent trials of the network); see
        :func:`fit_decision_layer`."""
        given = self._inputs(inputs, "calibrate", seed)
        u = np.repeat(given, self.calibration_repeats, axis=0)
        trials = constant_trials(u, seed)
        rec = self.agent("spiking", trials.spec, backend, dt, params=params).run(trials,
                                                                               progress)
        choice, time, pre = read_decisions(rec.rates)
        start = self.to_softmax(spec)
        rate = self.winner_rate(given, backend, seed, dt, **params)
        if np.isfinite(rate) and rate > DECISION_RULE["threshold"]:
            start = DecisionParams(**dict(start.params(), rate=rate))
        return fit_decision_layer(u, choice, time, pre, start, seed=seed)

    def winner_rate(self, inputs, backend: str = "numba", seed: int = 0, dt: float = 1e-4,
                    runs: int = 4, **params) -> float:
        """The network's committed winner's rate (Hz), the layer's ``R``: the ``runs``
        strongest of ``inputs`` [m, 2] held for 1.5 s (no stop at commitment), the leading
        pool's mean rate over the last 0.5 s (:func:`winner_rate`). The calibration's own
        trials end at the commitment, before the winner plateaus, so they cannot show it.
        ``params``: the network's (e.g. ``n``)."""
        u = np.asarray(inputs, dtype=np.float64)
        runs = check_int(runs, f"{self.name}.winner_rate.runs", minimum=1)
        strong = u[np.argsort(-np.abs(u[:, 0] - u[:, 1]), kind="stable")[:runs]]
        rule = dict(DECISION_RULE, view=1.5)
        trials = constant_trials(strong, seed + 1, rule)
        rec = DecisionSpikingAgent(trials.spec, backend, dt, self.resolve(**params),
                                   stop=False).run(trials)
        return winner_rate(rec.rates, rule)

    def _inputs(self, inputs, where: str, seed: int) -> np.ndarray:
        from neuroattn.model.trials import drive

        if inputs is None:
            rng = np.random.default_rng([int(seed), 0xDEC3])
            c = rng.uniform(0.0, 0.512, 60)
            sign = np.where(rng.random(60) < 0.5, 1.0, -1.0)
            return np.stack([1 + sign * c, 1 - sign * c], axis=1)
        return drive(inputs, 2, f"{self.name}.{where}.inputs")

    def softmax(self, spec, fitted: DecisionParams, attention_backend: str = "numba"):
        """The decision layer (a torch module) with ``fitted`` parameters."""
        reason = self.supports(spec)
        if reason is not None:
            raise ValidationError(f"{self.name}: cannot run this task: {reason}")
        if not isinstance(fitted, DecisionParams):
            raise ValidationError(f"{self.name}.softmax.fitted: expected DecisionParams (got "
                                  f"{type(fitted).__name__})")
        return _layer_class()(fitted, attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Each pool's spike count over windows from 100 ms after constant ``inputs``
        come on (the whole viewing period is simulated)."""
        from neuroattn.mechanisms.base import window_counts

        u = self._inputs(inputs, "spike_counts", seed)
        rule = dict(DECISION_RULE, view=0.1 + max(windows))
        trials = constant_trials(u, seed, rule)
        agent = DecisionSpikingAgent(trials.spec, backend, dt, self.resolve(**params),
                                     stop=False)
        rec = agent.run(trials, progress)
        network = agent._agent.network
        return window_counts(rec, rule["pre"] + 0.1, windows,
                             neurons=[network.population(p).size for p in ("A", "B")])

    def softmax_shares(self, fitted: DecisionParams, inputs) -> np.ndarray:
        """The noise-free layer's shares 0.1-0.6 s after constant ``inputs`` come on (the
        period :meth:`spike_counts` counts, its settle time to its longest default window)."""
        from neuroattn.model.trials import drive

        return fitted.shares(drive(inputs, 2, f"{self.name}.softmax_shares.inputs"))
