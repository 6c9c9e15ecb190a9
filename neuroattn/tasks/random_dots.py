"""The random-dot motion direction task, reaction-time version (task "decision").

Roitman & Shadlen (2002): monkeys judge the net direction of a random-dot display of
coherence 0, 3.2, 6.4, 12.8, 25.6 or 51.2 % and answer whenever ready. The model
(Wang 2002): two selective pools receive Poisson input of rate ``mu0 (1 +/- c)`` (the
direction the dots move, and the other), each rate redrawn every 50 ms with a
standard deviation ``sigma`` (the stimulus' own noise), the coherence ``c`` of a trial
drawn around the nominal one with SD ``coherence_sd`` (the across-trial variability of
the evidence that makes errors slow, Ratcliff & Rouder 1998); the first pool whose rate,
averaged over a sliding window, crosses ``threshold`` makes the choice, and the RT is
that decision time plus a non-decision time (sensory and motor latencies; Wang 2002's
100 ms, see :class:`RandomDots`).

Agents: :class:`Wang2002Agent` (the spiking network of ``models/wang2002.toml`` on any
backend that lowers conductance synapses) and :class:`WongWangAgent` (the published
two-variable reduction of the same network, Wong & Wang 2006: the rate tier). Both map
the task's ``evidence`` role (input per direction, in units of ``mu0``) onto their
inputs and give back a Recording whose ``items`` role holds the two pools' rates.

Scoring: psychometric curve and its Weibull fit ``P = 1 - 0.5 exp(-(c/alpha)^beta)``
(maximum likelihood; CIs by bootstrap over trials), chronometric curve (mean correct
RT per coherence), error vs correct RT at low coherence, each held to the bands of
``neuroattn.tasks.targets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model import Recording
from neuroattn.model.trials import TaskSpec, Trials
from neuroattn.model.units import check_int, check_positive, to_si
from neuroattn.tasks.base import Column, Effect, Task, TaskResult, check_trials_arg, task_rng
from neuroattn.tasks.decision import uniform_nondecision
from neuroattn.tasks.targets import TARGETS

__all__ = ["RandomDots", "Wang2002Agent", "WongWangAgent", "weibull", "fit_weibull",
           "COHERENCES"]

#: Roitman & Shadlen (2002) coherences, percent
COHERENCES = (0.0, 3.2, 6.4, 12.8, 25.6, 51.2)
_BOOT = 200


def weibull(c, alpha: float, beta: float):
    """P(correct) at coherence ``c`` (%): ``1 - 0.5 exp(-(c/alpha)^beta)`` (Quick 1974)."""
    c = np.asarray(c, dtype=np.float64)
    with np.errstate(over="ignore"):  # (c/alpha)^beta -> inf gives P = 1, as it should
        return 1.0 - 0.5 * np.exp(-(np.maximum(c, 0.0) / alpha) ** beta)


def fit_weibull(coherence, correct, start=None) -> tuple[float, float]:
    """Maximum-likelihood ``(alpha %, beta)`` of per-trial outcomes (0/1) at coherences (%).

    ``start``: one starting ``(alpha, beta)`` (default: three starting alphas)."""
    from scipy.optimize import minimize

    c = np.asarray(coherence, dtype=np.float64)
    k = np.asarray(correct, dtype=np.float64)

    def nll(th):
        th = np.clip(th, -30.0, 30.0)  # a flat likelihood (all correct) lets them wander
        p = np.clip(weibull(c, np.exp(th[0]), np.exp(th[1])), 1e-9, 1 - 1e-9)
        return -np.sum(k * np.log(p) + (1 - k) * np.log(1 - p))

    best = None
    starts = [(a0, 1.5) for a0 in (3.0, 8.0, 20.0)] if start is None else [start]
    for a0, b0 in starts:
        r = minimize(nll, [np.log(a0), np.log(b0)], method="Nelder-Mead",
                     options=dict(xatol=1e-4, fatol=1e-6, maxiter=1000))
        if best is None or r.fun < best.fun:
            best = r
    x = np.clip(best.x, -30.0, 30.0)
    return float(np.exp(x[0])), float(np.exp(x[1]))


@dataclass(frozen=True)
class RandomDots(Task):
    """Random-dot motion, reaction-time version (module docstring).

    Parameters
    ----------
    coherences : tuple of float, percent
        Conditions, drawn equally often (Roitman & Shadlen 2002).
    mu0 : float, hertz
        Input rate per selective pool at zero coherence (Wang 2002: 40 Hz).
    sigma : float, hertz
        Standard deviation of each pool's input rate, redrawn every ``noise_interval``
        (Wang 2002: 4 Hz every 50 ms).
    noise_interval : float, seconds
    coherence_sd : float, percent
        Standard deviation of the trial's effective coherence around the nominal one,
        drawn once per trial and held for the whole trial: trial t's pools get
        ``mu0 (1 +/- (c + eta_t)/100)`` with ``eta_t ~ N(0, coherence_sd)`` (the preferred
        direction stays the nominal one). It is the across-trial variability of the
        evidence of the diffusion model (``eta``; Ratcliff 1978; Ratcliff & Rouder
        1998; Ratcliff & McKoon 2008), the variability that makes errors slower than
        correct responses: nominally equal displays do not carry equal evidence. 5 %:
        the values with which Ratcliff & McKoon (2008, Fig. 6) illustrate their motion
        experiment, ``eta`` = 0.12 with boundary separation 0.11 (the middle of their
        0.08-0.16) and within-trial SD 0.1, put the SD of a trial's log-odds at
        ``eta a / s^2`` = 1.32; a diffusion with that variability gives the monkeys' 82 %
        threshold (Roitman & Shadlen 2002: alpha 6.8-8.0 %) when 1.32 is 4.6-5.4 %
        coherence (docs/tasks/decision.md). 0 gives Wang (2002)'s stimulus, the same
        trials otherwise (the draw has its own stream).
    pre : float, seconds
        Background only before the dots come on (the network settles).
    max_time : float, seconds
        Longest viewing; a trial without a crossing has no RT (a 'timeout').
    threshold : float, hertz
        Decision threshold on a pool's rate (Wong & Wang 2006: 15 Hz).
    window : float, seconds
        Causal averaging window of the rates the threshold reads (50 ms).
    nondecision : float, seconds
        Mean non-decision time, drawn per trial uniformly within ``nondecision_width``
        (100 ms: Wang 2002, "Reaction Time Simulations" -- the monkeys' RTs, 300-900 ms,
        exceed the network's decision times, 200-800 ms, by about 100 ms, the latency of
        the signal to reach LIP and of the saccadic system; the network integrates from
        the onset of its input, and its pools take a few hundred ms to leave the
        spontaneous state at any coherence, the time a diffusion fit to the monkeys puts
        into its ~300 ms non-decision time).
    nondecision_width : float, seconds
        Range of the uniform non-decision time (50 ms: 75-125 ms).
    dt : float, seconds
        Row of the stimulus array (5 ms: the input changes only every
        ``noise_interval``; the rate tiers step at it, the spiking tier at its own dt).
    """

    coherences: tuple = COHERENCES
    mu0: float = 40.0
    sigma: float = 4.0
    noise_interval: float = 0.05
    coherence_sd: float = 5.0
    pre: float = 0.3
    max_time: float = 2.0
    threshold: float = 15.0
    window: float = 0.05
    nondecision: float = 0.1
    nondecision_width: float = 0.05
    dt: float = 5e-3

    name: ClassVar[str] = "decision"
    #: 400 trials per coherence. The Weibull fit needs about 100; slower errors, an effect
    #: of about 110 ms against RTs that spread by about 300 ms and carried by the 10-40 %
    #: of low-coherence trials that are errors, are detected on the network in about 70 %
    #: of 600-trial runs, 94 % of 1200-trial runs, 98 % at 1800 and more than 99 % at
    #: 2400 (resampled from 12000 trials; no other estimator of the same difference was
    #: more powerful: docs/tasks/decision.md, issue 19)
    default_trials: ClassVar[dict] = {"run": 2400, "compare": 2400}
    units: ClassVar[dict] = {"mu0": "Hz", "sigma": "Hz", "noise_interval": "s",
                             "coherence_sd": "1", "pre": "s",
                             "max_time": "s", "threshold": "Hz", "window": "s",
                             "nondecision": "s", "nondecision_width": "s", "dt": "s"}
    columns: ClassVar[tuple] = (
        Column("accuracy", "accuracy", ("accuracy_lo", "accuracy_hi"), 100.0, "{:.0f}%"),
        Column("RT correct (ms)", "rt_correct", ("rt_correct_lo", "rt_correct_hi"), 1e3),
        Column("RT error (ms)", "rt_error", None, 1e3),
    )

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "coherences", tuple(float(c) for c in self.coherences))

    def spec(self) -> TaskSpec:
        """Two directions as two items in space; evidence in, the two pools' rates out."""
        return TaskSpec("space", 2, inputs=("evidence",), readouts=("items",))

    def validate(self) -> None:
        """Check every parameter; ValidationError names it."""
        if not self.coherences or any(not 0 <= c <= 100 for c in self.coherences):
            raise ValidationError(f"RandomDots.coherences: expected percentages in [0, 100] "
                                  f"(got {self.coherences})")
        for name in ("mu0", "noise_interval", "max_time", "threshold", "window", "dt"):
            check_positive(getattr(self, name), self.units[name], f"RandomDots.{name}")
        if not 0 <= self.coherence_sd <= 100:
            raise ValidationError(f"RandomDots.coherence_sd: expected a standard deviation in "
                                  f"percent coherence in [0, 100], e.g. 5.0 "
                                  f"(got {self.coherence_sd:g})")
        for name in ("sigma", "pre", "nondecision", "nondecision_width"):
            check_positive(getattr(self, name), self.units[name], f"RandomDots.{name}",
                           allow_zero=True)
        if self.nondecision_width > 2 * self.nondecision:
            raise ValidationError(f"RandomDots.nondecision_width: at most twice nondecision "
                                  f"({2 * self.nondecision:g} s) (got {self.nondecision_width:g})")

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` trials cycling through the coherences; the correct direction, the input
        noise and the non-decision time of trial t come from ``task_rng(seed, t, 0)``, its
        effective coherence (``coherence_sd``) from ``task_rng(seed, t, 1)``."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        rows_pre = int(round(self.pre / self.dt))
        rows_on = int(round(self.max_time / self.dt))
        per = max(1, int(round(self.noise_interval / self.dt)))
        stim = np.zeros((n, rows_pre + rows_on, 2), np.float32)
        coh, target, ndt = np.zeros(n), np.zeros(n, np.int64), np.zeros(n)
        eff = np.zeros(n)
        for t in range(n):
            rng = task_rng(seed, t, 0)
            c = self.coherences[t % len(self.coherences)]
            tgt = int(rng.integers(2))
            k = -(-rows_on // per)
            noise = np.repeat(rng.normal(0.0, self.sigma, (k, 2)), per, axis=0)[:rows_on]
            ce = c + (task_rng(seed, t, 1).normal(0.0, self.coherence_sd)
                      if self.coherence_sd > 0 else 0.0)
            rate = np.empty((rows_on, 2))
            rate[:, tgt] = self.mu0 * (1 + ce / 100.0)
            rate[:, 1 - tgt] = self.mu0 * (1 - ce / 100.0)
            stim[t, rows_pre:] = np.maximum(rate + noise, 0.0) / self.mu0
            coh[t], target[t], eff[t] = c, tgt, ce
            ndt[t] = uniform_nondecision(rng, self.nondecision, self.nondecision_width)
        cond = pd.DataFrame({"trial": np.arange(n), "condition": [f"{c:g}%" for c in coh],
                             "coherence": coh, "target": target,
                             "coherence_effective": eff})
        return Trials(stim, self.dt, self.spec(), cond, seed, self.name,
                      {"nondecision": ndt, "onset": self.pre, "mu0": self.mu0,
                       "threshold": self.threshold, "window": self.window})

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Choice (0/1), decision time and RT per trial from the ``items`` rates."""
        rates = recording.role("items") if recording.roles else recording.rates[:, :, :2]
        bw = recording.bin_width
        k = max(1, int(round(self.window / bw)))
        csum = np.cumsum(rates, axis=1)
        smooth = csum.copy()
        smooth[:, k:] = csum[:, k:] - csum[:, :-k]
        smooth /= k
        on = int(round(self.pre / bw))
        n = rates.shape[0]
        choice, dtime = np.full(n, -1), np.full(n, np.nan)
        for t in range(n):
            above = np.nonzero((smooth[t, on:] >= self.threshold).any(axis=1))[0]
            if above.size:
                j = on + above[0]
                choice[t] = int(np.argmax(smooth[t, j]))
                dtime[t] = (j + 1) * bw - self.pre
            else:  # no commitment: the pool ahead at the end, no RT
                choice[t] = int(np.argmax(smooth[t, -1]))
        ndt = (trials.extra["nondecision"] if trials is not None
               else np.full(n, self.nondecision))
        return pd.DataFrame({"choice": choice, "decision_time": dtime, "rt": dtime + ndt,
                             "timeout": np.isnan(dtime)})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-coherence summary and the Roitman & Shadlen effects."""
        out = self.readout(recording, trials)
        table = pd.concat([trials.conditions.reset_index(drop=True), out], axis=1)
        table["correct"] = (table["choice"] == table["target"]).astype(float)
        rng = np.random.default_rng([int(seed), 0xD0])
        rows = []
        for c, g in table.groupby("coherence"):
            acc = g["correct"].to_numpy()
            rc = g.loc[(g.correct == 1) & ~g.timeout, "rt"].to_numpy()
            re = g.loc[(g.correct == 0) & ~g.timeout, "rt"].to_numpy()
            lo, hi = _boot_ci(acc, np.mean, rng)
            rlo, rhi = _boot_ci(rc, np.mean, rng) if rc.size > 1 else (np.nan, np.nan)
            rows.append(dict(condition=f"{c:g}%", coherence=c, n=len(g), accuracy=acc.mean(),
                             accuracy_lo=lo,
                             accuracy_hi=hi, rt_correct=rc.mean() if rc.size else np.nan,
                             rt_correct_lo=rlo, rt_correct_hi=rhi,
                             rt_error=re.mean() if re.size else np.nan,
                             timeouts=float(g.timeout.mean())))
        summary = pd.DataFrame(rows)
        effects = _effects(table, summary, rng)
        return TaskResult(table, tuple(effects), summary, {"task": self.name})

    def figure(self, results: dict):
        """Psychometric (with the Weibull fit) and chronometric curves, per tier, in
        Roitman & Shadlen's layout (log coherence axis)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        for (tier, res), mk in zip(results.items(), "os^v"):
            s = res.summary
            x = np.where(s.coherence > 0, s.coherence, 1.0)
            line = ax1.errorbar(x, s.accuracy, [s.accuracy - s.accuracy_lo,
                                                s.accuracy_hi - s.accuracy], fmt=mk,
                                label=tier, capsize=2)
            a, b = res.effect("weibull_alpha").estimate, res.effect("weibull_beta").estimate
            if np.isfinite(a) and np.isfinite(b):
                cc = np.logspace(0, 2, 100)
                ax1.plot(cc, weibull(cc, a, b), color=line[0].get_color())
            eb = ax2.errorbar(x, s.rt_correct * 1e3, [(s.rt_correct - s.rt_correct_lo) * 1e3,
                                                      (s.rt_correct_hi - s.rt_correct) * 1e3],
                              fmt=mk + "-", label=f"{tier} correct", capsize=2,
                              color=line[0].get_color())
            ax2.plot(x, s.rt_error * 1e3, mk, mfc="none", color=eb[0].get_color(),
                     label=f"{tier} error")
        for ax in (ax1, ax2):
            ax.set_xscale("log")
            ax.set_xlabel("motion strength (% coherence; 0 plotted at 1)")
        ax1.set_ylabel("proportion correct")
        ax2.set_ylabel("reaction time (ms)")
        ax1.legend(fontsize=7)
        ax2.legend(fontsize=7)
        fig.suptitle("Random-dot task (Roitman & Shadlen 2002 layout)")
        fig.tight_layout()
        return fig


def _boot_ci(x, stat, rng, n: int = _BOOT):
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return np.nan, np.nan
    idx = rng.integers(0, x.size, (n, x.size))
    vals = np.array([stat(x[i]) for i in idx])
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _rt_rises(coh, rt, levels) -> float:
    """Largest rise of mean correct RT from one coherence to the next higher one, in
    standard errors of that difference: ``max_i (m_{i+1} - m_i) / sqrt(se_i^2 +
    se_{i+1}^2)`` over the successive ``levels`` (NaN with fewer than two levels that
    have two RTs or more)."""
    means, ses = [], []
    for v in levels:
        x = rt[coh == v]
        if x.size >= 2:
            means.append(x.mean())
            ses.append(x.std(ddof=1) / np.sqrt(x.size))
    if len(means) < 2:
        return np.nan
    m, se = np.asarray(means), np.asarray(ses)
    d = np.diff(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = d / np.sqrt(se[1:] ** 2 + se[:-1] ** 2)
    # no spread at either level: a rise is infinitely many standard errors, a tie none
    z = np.where(np.isfinite(z), z, np.where(d > 0, np.inf, np.where(d < 0, -np.inf, 0.0)))
    return float(z.max())


def _effects(table: pd.DataFrame, summary: pd.DataFrame, rng) -> list:
    out = []
    c = table.coherence.to_numpy()
    k = table.correct.to_numpy()
    a, b = fit_weibull(c, k)
    boots = []
    groups = [np.nonzero(c == v)[0] for v in np.unique(c)]
    for _ in range(100):
        idx = np.concatenate([rng.choice(g, g.size) for g in groups])
        boots.append(fit_weibull(c[idx], k[idx], start=(a, b)))
    boots = np.asarray(boots)
    for name, est, col in (("weibull_alpha", a, 0), ("weibull_beta", b, 1)):
        tg = TARGETS[f"decision.{name.split('_')[1]}"]
        lo, hi = np.percentile(boots[:, col], [2.5, 97.5])
        out.append(Effect.held_to(name, est, lo, hi, tg.unit, tg.describe(), tg.band, tg.null))
    s = summary.set_index("coherence")
    ok = (k == 1) & ~table.timeout.to_numpy()
    rts = table.rt.to_numpy()
    levels = np.unique(c)
    # monotonic: no step up in coherence raises the mean correct RT by more than its
    # noise (largest rise in standard errors; the band is the one-sided 5 % family-wise
    # bound over the five successive pairs); that RT falls overall is the RT ratio's band
    rise = _rt_rises(c[ok], rts[ok], levels)
    boots = []
    for _ in range(_BOOT):
        idx = np.concatenate([rng.choice(g, g.size) for g in groups])
        sel = idx[ok[idx]]
        boots.append(_rt_rises(c[sel], rts[sel], levels))
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots.size and np.isfinite(rise) else (
        np.nan, np.nan)
    tg = TARGETS["decision.rt_monotonic"]
    out.append(Effect.held_to("rt_monotonic", rise, lo, hi, tg.unit, tg.describe(), tg.band,
                              tg.null))
    lo_c, hi_c = 3.2, 51.2
    tg = TARGETS["decision.rt_ratio"]
    if lo_c in s.index and hi_c in s.index:
        r_lo = table.loc[(c == lo_c) & (k == 1) & ~table.timeout, "rt"].to_numpy()
        r_hi = table.loc[(c == hi_c) & (k == 1) & ~table.timeout, "rt"].to_numpy()
        est = lo = hi = np.nan
        if r_lo.size and r_hi.size:
            est = r_lo.mean() / r_hi.mean()
            bs = [rng.choice(r_lo, r_lo.size).mean() / rng.choice(r_hi, r_hi.size).mean()
                  for _ in range(_BOOT)]
            lo, hi = np.percentile(bs, [2.5, 97.5])
        out.append(Effect.held_to("rt_ratio", est, lo, hi, tg.unit, tg.describe(), tg.band,
                                  tg.null))
    est, lo, hi = _error_minus_correct(table, rng)
    tg = TARGETS["decision.error_slower"]
    out.append(Effect.held_to("error_minus_correct_rt", est, lo, hi, tg.unit, tg.describe(),
                              tg.band, tg.null))
    return out


def _error_minus_correct(table: pd.DataFrame, rng, upto: float = 12.8,
                         least: int = 2) -> tuple[float, float, float]:
    """Errors slower than correct responses at low coherence (Roitman & Shadlen 2002):
    at each coherence above 0 and up to ``upto`` % with at least ``least`` errors and
    ``least`` correct responses (trials with a commitment), mean error RT minus mean
    correct RT; the effect is the plain mean of those differences, each coherence one
    comparison (seconds), with a percentile bootstrap CI (errors and correct RTs
    resampled within each coherence). NaNs when no coherence qualifies.

    The plain mean, not one weighted by the number of errors: in the attractor network
    the slowing grows with coherence while the errors become rarer (Wong & Wang 2006),
    and weighting by errors puts most of the weight on 3.2 %, where the slowing is
    smallest; docs/tasks/decision.md gives the power of both at the task's trial counts.
    The comparison is already stratified by coherence (each error set against the correct
    responses of its own coherence). Of the other estimators of the same stratified
    difference tried on the network's trials (inverse-variance weights, medians,
    trimmed means, the Hodges-Lehmann shift), none detected it more often than the plain
    mean by more than a point, so power comes from the trial count
    (``RandomDots.default_trials``).
    """
    ok = ~table.timeout.to_numpy()
    coh, rt, k = table.coherence.to_numpy(), table.rt.to_numpy(), table.correct.to_numpy()
    pairs = []
    for v in np.unique(coh[(coh > 0) & (coh <= upto)]):
        e = rt[ok & (coh == v) & (k == 0)]
        r = rt[ok & (coh == v) & (k == 1)]
        if e.size >= least and r.size >= least:
            pairs.append((e, r))
    if not pairs:
        return np.nan, np.nan, np.nan
    est = float(np.mean([e.mean() - r.mean() for e, r in pairs]))
    bs = np.mean([rng.choice(e, (_BOOT, e.size)).mean(axis=1)
                  - rng.choice(r, (_BOOT, r.size)).mean(axis=1) for e, r in pairs], axis=0)
    lo, hi = np.percentile(bs, [2.5, 97.5])
    return est, float(lo), float(hi)


class Wang2002Agent:
    """The Wang (2002) network run on the random-dot trials (spiking tier).

    Parameters
    ----------
    backend : str
        Any backend that lowers conductance synapses ('numba', 'brian2').
    dt : float, seconds
        Simulation step (0.1 ms).
    network : dict
        Keyword arguments of ``neuroattn.model.library.wang2002`` (e.g. ``n=400``).
    background_rate : float, hertz
        Background Poisson rate per neuron (2.4 kHz).
    stop : bool
        End each trial once a pool commits (the task's threshold, read from the trials),
        as the monkey's saccade ends the viewing in the reaction-time task: later bins are
        NaN (not simulated); every earlier bin, and so the choice and the RT, are those of
        the full run. Used where the engine offers it (numba); other backends simulate
        the whole viewing period. False: always the whole period.
    options : dict
        Backend options.
    """

    tier = "spiking"

    def __init__(self, backend: str = "numba", dt: float = 1e-4, network: dict | None = None,
                 background_rate: float = 2400.0, stop: bool = True, **options):
        from neuroattn.model.library import wang2002

        self.backend, self.dt, self.options = backend, to_si(dt, "s", "Wang2002Agent.dt"), options
        if not isinstance(stop, bool):
            raise ValidationError(f"Wang2002Agent.stop: expected True or False (got {stop!r})")
        self.stop = stop
        self.network_params = dict(network or {})
        self.network = wang2002(**self.network_params)
        self.background_rate = to_si(background_rate, "Hz", "Wang2002Agent.background_rate")

    def run(self, trials: Trials, progress: bool = False) -> Recording:
        """Simulate every trial; the Recording's ``items`` role is pools 'A' and 'B'."""
        from neuroattn.backends import simulate
        from neuroattn.model import Stimulus
        from neuroattn.model.library import wang2002_drives

        mu0 = float(trials.extra.get("mu0", 40.0))
        ev = trials.role("evidence").astype(np.float64) * mu0
        vals = np.concatenate([np.ones(ev.shape[:2] + (1,)), ev], axis=2)
        stim = Stimulus(vals, trials.dt, wang2002_drives(background_rate=self.background_rate))
        rule = self._stop_rule(trials)
        if rule is not None:
            import numba

            from neuroattn.backends import check_run
            from neuroattn.backends.numba._conductance import run_conductance

            unknown = sorted(set(self.options) - {"threads"})
            if unknown:
                raise ValidationError(f"Wang2002Agent: unknown numba option(s) {unknown}; "
                                      "expected 'threads'")
            threads = self.options.get("threads") or numba.get_num_threads()
            spec = check_run(self.network, stim, dt=self.dt, seed=trials.seed)
            rec = run_conductance(spec, int(threads), progress, stop=rule)
        else:
            rec = simulate(self.network, stim, dt=self.dt, seed=trials.seed,
                           backend=self.backend, progress=progress, **self.options)
        meta = dict(rec.meta, mechanism="wang2002", network=self.network_params)
        return Recording(rec.rates, rec.bin_width, rec.units, rec.spikes, rec.v, meta,
                         roles={"items": ("A", "B")})

    def _stop_rule(self, trials: Trials):
        """The engine's stop rule for the task's commitment, or None (full viewing)."""
        if not self.stop or self.backend != "numba" or "threshold" not in trials.extra:
            return None
        from neuroattn.backends.numba._conductance import StopRule

        bw = self.network.probes[0].bin_width
        return StopRule(("A", "B"), float(trials.extra["threshold"]),
                        max(1, int(round(trials.extra["window"] / bw))),
                        int(round(trials.extra["onset"] / bw)), margin=1)


class WongWangAgent:
    """Wong & Wang (2006)'s two-variable reduction of the Wang (2002) network (rate tier).

    Two NMDA gating variables ``S1, S2`` with ``dS_i/dt = -S_i/tau_S + (1 - S_i) gamma r_i``
    and ``r_i = phi(x_i)``, ``phi(x) = (a x - b) / (1 - exp(-d (a x - b)))``,
    ``x_i = J_N S_i - J_cross S_j + I_0 + I_i + I_noise,i`` (the published parameters of
    their Fig. 2-4 model; ``I_i = J_ext mu0 (evidence in units of mu0)``, mu0 = 30 Hz); the
    noise is an Ornstein-Uhlenbeck current with ``tau_AMPA`` = 2 ms and ``sigma_noise``.
    Rates are recorded as the two items.
    """

    tier = "rate"
    A, B, D = 270.0, 108.0, 0.154           # Hz/nA, Hz, s
    GAMMA, TAU_S, TAU_AMPA = 0.641, 0.1, 0.002
    J_N, J_CROSS, I0, J_EXT = 0.2609, 0.0497, 0.3255, 5.2e-4  # nA, nA, nA, nA/Hz

    def __init__(self, sigma_noise: float = 0.02, mu0: float = 30.0, dt: float = 5e-4,
                 bin_width: float = 5e-3):
        self.sigma_noise = float(sigma_noise)
        self.mu0 = to_si(mu0, "Hz", "WongWangAgent.mu0")
        self.dt = to_si(dt, "s", "WongWangAgent.dt")
        self.bin_width = to_si(bin_width, "s", "WongWangAgent.bin_width")
        check_positive(self.dt, "s", "WongWangAgent.dt")

    def _phi(self, x):
        y = self.A * x - self.B
        return y / (1.0 - np.exp(-self.D * y))

    def run(self, trials: Trials, progress: bool = False) -> Recording:
        """Integrate every trial (Euler-Maruyama at ``dt``); rates per ``bin_width``.

        The evidence (in units of the task's ``mu0``) is scaled to this model's own
        ``mu0`` (Wong & Wang 2006: 30 Hz)."""
        ev = trials.role("evidence").astype(np.float64) * self.mu0     # Hz
        steps_per_row = max(1, int(round(trials.dt / self.dt)))
        n, rows, _ = ev.shape
        n_steps = rows * steps_per_row
        spb = max(1, int(round(self.bin_width / self.dt)))
        rng = np.random.default_rng([int(trials.seed), 0x3737])
        s = np.full((n, 2), 0.1)
        noise = np.zeros((n, 2))
        out = np.zeros((n, n_steps // spb, 2))
        acc = np.zeros((n, 2))
        kn = np.sqrt(self.dt / self.TAU_AMPA) * self.sigma_noise
        for step in range(n_steps):
            inp = self.J_EXT * ev[:, step // steps_per_row]
            x = np.stack([self.J_N * s[:, 0] - self.J_CROSS * s[:, 1],
                          self.J_N * s[:, 1] - self.J_CROSS * s[:, 0]], axis=1) \
                + self.I0 + inp + noise
            r = self._phi(x)
            s = s + self.dt * (-s / self.TAU_S + (1 - s) * self.GAMMA * r)
            noise = noise + self.dt * (-noise / self.TAU_AMPA) + kn * rng.standard_normal((n, 2))
            acc += r
            if (step + 1) % spb == 0:
                out[:, (step + 1) // spb - 1] = acc / spb
                acc[:] = 0.0
        meta = {"tier": "rate", "mechanism": "wong-wang-2006", "dt": self.dt,
                "seed": trials.seed}
        return Recording(out, spb * self.dt, ("item0", "item1"), meta=meta,
                         roles={"items": ("item0", "item1")})


def run_decision(n_trials: int, seed: int = 0, agent=None, task: RandomDots | None = None,
                 progress: bool = False) -> TaskResult:
    """Make ``n_trials`` trials (cycling the coherences), run ``agent``, score them."""
    task = task or RandomDots()
    n_trials = check_int(n_trials, "run_decision.n_trials", minimum=2)
    agent = agent or Wang2002Agent()
    trials = task.make_trials(n_trials, seed)
    rec = agent.run(trials, progress=progress)
    return task.score(trials, rec, seed)
