"""Contrast-response functions with attention on the receptive field or away
(Reynolds & Heeger 2009, Figure 2).

A row of ``n_positions`` receptive fields, ``spacing`` apart, is shown a grating at the
centre at one of ``contrasts`` (log-spaced). The unit read out is the one at the centre
that prefers the grating's orientation. Two configurations, as in the paper's Figure 2:

* ``contrast_gain`` (Figure 2A): a small stimulus (Gaussian of sigma
  ``small_stimulus``) with a large attention field (sigma ``large_attention``);
* ``response_gain`` (Figure 2B): a large stimulus (``large_stimulus``) with a small
  attention field (``small_attention``).

Item x's ``evidence`` is the stimulus contrast at position x (``contrast *
exp(-x**2 / (2 width**2))``, with multiplicative input noise ``noise`` per row); its
``bias`` is the attention field's shape ``exp(-x**2 / (2 width_A**2))`` when attention is
on the receptive field and 0 when it is away (on a stimulus far outside the pool). The
response is the unit's mean rate over the last ``window`` s.

Measures: per configuration, a Naka-Rushton function ``R(c) = b + Rmax c**n / (c**n +
c50**n)`` is fitted (``scipy.optimize.curve_fit``) to the mean responses of both
attention conditions together: one exponent n, a baseline, Rmax and c50 per condition.
Effects: ``Rmax_att / Rmax_away`` and ``c50_away / c50_att`` of each configuration. The
c50 ratio of the contrast-gain configuration is also held, as the effective contrast
gain of attention, to what Reynolds, Pasternak & Desimone (2000) measured in V4 with a
stimulus inside the receptive field (the configuration the model explains their result
with). CIs: the fit repeated on ``n_boot`` bootstrap resamples of the trials within
each condition.

Published results held to (bands in ``neuroattn.tasks.targets``): the model as
published (softmax tier) gives contrast gain, c50 shifted x1.98 with Rmax unchanged
(+/- 2 %), for a small stimulus in a large attention field, and response gain, Rmax
x1.42 (+/- 0.03), for a large stimulus in a small one; the spiking tier shows the same
switch (Rmax ratio 0.9-1.15 with c50 ratio > 1.3; Rmax ratio > 1.2); effective contrast
gain 1.2-2.0 at both tiers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  check_trials_arg, role_means, task_rng)
from neuroattn.tasks.pair import check_timing
from neuroattn.tasks.stats import bootstrap_mean_ci
from neuroattn.tasks.targets import TARGETS, target

__all__ = ["Normalization", "naka_rushton", "fit_naka_rushton", "CASES"]

#: the two configurations of the paper's Figure 2
CASES = ("contrast_gain", "response_gain")


def naka_rushton(c, base, rmax, c50, n):
    """``base + rmax c**n / (c**n + c50**n)`` (Hz); contrasts ``c`` >= 0."""
    c = np.asarray(c, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        frac = 1.0 / (1.0 + np.exp(n * (np.log(c50) - np.log(np.maximum(c, 1e-300)))))
    return base + rmax * np.where(c > 0, frac, 0.0)


def fit_naka_rushton(contrasts, att, away, start=None):
    """Joint Naka-Rushton fit of an attended and an unattended contrast-response curve.

    Parameters
    ----------
    contrasts : array_like [C]
        Contrasts (> 0).
    att, away : array_like [C], hertz
        Mean responses with attention on the receptive field and away.
    start : dict, optional
        A previous fit to start from (the bootstrap starts from the full data's fit).

    Returns
    -------
    dict
        ``n`` (shared exponent), ``att`` and ``away`` each ``(base, rmax, c50)``; NaNs
        when the fit fails.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.logspace(-3, 0, 9)
    >>> fit = fit_naka_rushton(c, naka_rushton(c, 2, 50, 0.02, 1.5),
    ...                        naka_rushton(c, 1, 50, 0.04, 1.5))
    >>> [round(float(x), 3) for x in (fit["n"], fit["away"][2] / fit["att"][2])]
    [1.5, 2.0]
    """
    from scipy.optimize import curve_fit

    c = np.asarray(contrasts, dtype=np.float64)
    ya, yw = (np.asarray(y, dtype=np.float64) for y in (att, away))
    nan = {"n": math.nan, "att": (math.nan,) * 3, "away": (math.nan,) * 3}
    if not (np.all(np.isfinite(ya)) and np.all(np.isfinite(yw))):
        return nan
    lc = np.log(c)
    x = np.concatenate([lc, lc])
    flag = np.concatenate([np.ones_like(lc), np.zeros_like(lc)])

    def model(_, log_n, ba, lra, lca, bw, lrw, lcw):
        n = np.exp(log_n)
        out = np.empty_like(x)
        for sel, (b, lr, lc50) in ((flag == 1, (ba, lra, lca)), (flag == 0, (bw, lrw, lcw))):
            out[sel] = b + np.exp(lr) / (1.0 + np.exp(-n * (x[sel] - lc50)))
        return out

    y = np.concatenate([ya, yw])
    span = max(float(np.ptp(y)), 1e-9)
    mid = float(np.median(lc))
    p0 = [0.0, ya.min(), math.log(max(np.ptp(ya), 1e-9)), mid, yw.min(),
          math.log(max(np.ptp(yw), 1e-9)), mid]
    lo = [math.log(0.2), -10 * span, math.log(span) - 12, lc.min() - 5, -10 * span,
          math.log(span) - 12, lc.min() - 5]
    hi = [math.log(8.0), 10 * span + y.max(), math.log(span) + 5, lc.max() + 5,
          10 * span + y.max(), math.log(span) + 5, lc.max() + 5]
    if start is not None and np.isfinite(start["n"]):
        p0 = [math.log(start["n"]), start["att"][0], math.log(start["att"][1]),
              math.log(start["att"][2]), start["away"][0], math.log(start["away"][1]),
              math.log(start["away"][2])]
    p0 = np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, _ = curve_fit(model, x, y, p0=p0, bounds=(lo, hi), maxfev=20000)
    except (RuntimeError, ValueError):
        return nan
    return {"n": float(np.exp(p[0])),
            "att": (float(p[1]), float(np.exp(p[2])), float(np.exp(p[3]))),
            "away": (float(p[4]), float(np.exp(p[5])), float(np.exp(p[6])))}


def _measures(fit) -> dict:
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"rmax_ratio": fit["att"][1] / fit["away"][1],
                "c50_ratio": fit["away"][2] / fit["att"][2]}


@dataclass(frozen=True)
class Normalization(Task):
    """Contrast-response functions, attention on the receptive field or away.

    Parameters
    ----------
    n_positions : int
        Receptive fields in the row (items), centred on the stimulus (9; odd).
    spacing : float
        Distance between neighbouring receptive fields, in the model's spatial units
        (5, one receptive-field sigma of the authors' model).
    contrasts : tuple of float
        Stimulus contrasts, in (0, 1] (default 8, log-spaced 10**-2.5 ... 1).
    small_stimulus, large_attention : float
        Sigmas of the stimulus and the attention field in the contrast-gain
        configuration (3, 30: the paper's Figure 2A).
    large_stimulus, small_attention : float
        The same in the response-gain configuration (5, 3: Figure 2B).
    onset, duration, window : float, seconds
        Stimulus onset (50 ms), trial length (500 ms), response window at the end of the
        trial (300 ms). brian2 Quantities are accepted.
    noise : float
        Std of the multiplicative Gaussian contrast noise per row (0.02: each 1 ms row
        shows ``contrast (1 + 0.02 xi)``, clipped at 0).
    n_boot : int
        Bootstrap resamples of the Naka-Rushton fits (200).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import get_task
    >>> task = get_task("normalization")()
    >>> task.spec().n_items
    9
    >>> len(task.conditions())
    32
    """

    n_positions: int = 9
    spacing: float = 5.0
    contrasts: tuple = tuple(float(c) for c in np.logspace(-2.5, 0.0, 8))
    small_stimulus: float = 3.0
    large_attention: float = 30.0
    large_stimulus: float = 5.0
    small_attention: float = 3.0
    onset: float = 0.05
    duration: float = 0.5
    window: float = 0.3
    noise: float = 0.02
    n_boot: int = 200
    dt: float = 1e-3

    name = "normalization"
    agreement = "response"
    columns = (Column("response (Hz)", "response", ("ci_low", "ci_high")),)
    units = dict.fromkeys(("onset", "duration", "window", "dt"), "s")

    def spec(self) -> TaskSpec:
        """Positions in space, each read out (its unit preferring the stimulus's orientation)."""
        self.validate()
        return TaskSpec("space", self.n_positions)

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_int(self.n_positions, "Normalization.n_positions", minimum=3)
        if self.n_positions % 2 != 1:
            raise ValidationError(f"Normalization.n_positions: expected an odd number, so that "
                                  f"a receptive field sits at the stimulus's centre (got "
                                  f"{self.n_positions})")
        try:
            cs = np.asarray(self.contrasts, dtype=np.float64)
        except (TypeError, ValueError):
            cs = np.full(1, np.nan)
        if cs.ndim != 1 or cs.size < 4 or not np.all(np.isfinite(cs)) or np.any(cs <= 0) or \
                np.any(cs > 1) or np.any(np.diff(cs) <= 0):
            raise ValidationError(f"Normalization.contrasts: expected >= 4 increasing contrasts "
                                  f"in (0, 1] (got {self.contrasts!r})")
        for name in ("spacing", "small_stimulus", "large_attention", "large_stimulus",
                     "small_attention"):
            check_positive(float(getattr(self, name)), "1", f"Normalization.{name}")
        check_positive(float(self.noise), "1", "Normalization.noise", allow_zero=True)
        check_int(self.n_boot, "Normalization.n_boot", minimum=10)
        check_timing(self, "Normalization")

    def positions(self) -> np.ndarray:
        """Receptive-field centres, centred on the stimulus."""
        return (np.arange(self.n_positions) - (self.n_positions - 1) / 2.0) * self.spacing

    def widths(self, case: str) -> tuple[float, float]:
        """``(stimulus sigma, attention sigma)`` of a configuration."""
        if case == "contrast_gain":
            return float(self.small_stimulus), float(self.large_attention)
        return float(self.large_stimulus), float(self.small_attention)

    def conditions(self) -> list:
        """``(case, attended, contrast index)`` in the order trials cycle through them."""
        return [(case, att, i) for case in CASES for att in (False, True)
                for i in range(len(self.contrasts))]

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials cycling through both configurations, attention on/away and
        every contrast."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        k = self.n_positions
        steps = int(round(self.duration / self.dt))
        on = int(round(self.onset / self.dt))
        pos = self.positions()
        stim = np.zeros((n, steps, 2 * k), dtype=np.float32)
        conds = self.conditions()
        rows = []
        for t in range(n):
            case, att, i = conds[t % len(conds)]
            sw, aw = self.widths(case)
            c = float(self.contrasts[i])
            profile = c * np.exp(-pos ** 2 / (2 * sw ** 2))
            if self.noise > 0:
                rng = task_rng(seed, t, 19)
                gain = np.maximum(1.0 + self.noise * rng.standard_normal((steps - on, 1)), 0.0)
                stim[t, on:, :k] = profile[None, :] * gain
            else:
                stim[t, on:, :k] = profile[None, :]
            if att:
                stim[t, :, k:] = np.exp(-pos ** 2 / (2 * aw ** 2))
            rows.append({"trial": t, "condition": f"{case}_{'att' if att else 'away'}_c{i}",
                         "case": case, "attended": att, "contrast": c, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean contrast and attention bias [trials, 2 K] from onset on."""
        return role_means(trials, self.onset)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """The centre unit's mean rate (Hz) over the response window, per trial."""
        sel = recording.times >= self.duration - self.window - 1e-12
        centre = (self.n_positions - 1) // 2
        return pd.DataFrame({"response": recording.role("items")[:, sel, centre].mean(axis=1)})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Contrast-response functions, Naka-Rushton fits, gain ratios with bootstrap CIs."""
        table = trials.conditions.copy()
        table["response"] = self.readout(recording)["response"].to_numpy()
        table["choice"] = -1
        table["correct"] = np.nan
        table["rt"] = np.nan
        tier = (getattr(recording, "meta", None) or {}).get("tier", "spiking")
        cs = np.asarray(self.contrasts, dtype=np.float64)
        groups, rows = {}, []
        for case in CASES:
            for att in (False, True):
                for i, c in enumerate(cs):
                    sel = (table["case"] == case) & (table["attended"] == att) & np.isclose(
                        table["contrast"].to_numpy(dtype=float), c)
                    x = table.loc[sel, "response"].to_numpy(dtype=np.float64)
                    groups[(case, att, i)] = x[np.isfinite(x)]
                    m, lo, hi = bootstrap_mean_ci(x, seed)
                    rows.append({"condition": f"{case}_{'att' if att else 'away'}_c{i}",
                                 "case": case, "attended": att, "contrast": float(c),
                                 "n": int(sel.sum()), "response": m, "ci_low": lo,
                                 "ci_high": hi})
        summary = pd.DataFrame(rows)
        fits, boots = self._fits(groups, cs, seed)
        for col in ("fit_base", "fit_rmax", "fit_c50", "fit_n"):
            summary[col] = np.nan
        for case in CASES:
            for att in (False, True):
                sel = (summary["case"] == case) & (summary["attended"] == att)
                b, r, c50 = fits[case]["att" if att else "away"]
                summary.loc[sel, ["fit_base", "fit_rmax", "fit_c50", "fit_n"]] = (
                    b, r, c50, fits[case]["n"])
        effects = self._effects(fits, boots, tier)
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy(), "tier": tier})

    def _fits(self, groups, cs, seed):
        fits, boots = {}, {}
        rng = np.random.default_rng([seed, 1919])
        for case in CASES:
            arrays = {att: [groups[(case, att, i)] for i in range(len(cs))]
                      for att in (False, True)}
            empty = any(a.size == 0 for v in arrays.values() for a in v)
            if empty:
                fits[case] = {"n": math.nan, "att": (math.nan,) * 3, "away": (math.nan,) * 3}
                boots[case] = []
                continue
            means = {att: np.array([a.mean() for a in v]) for att, v in arrays.items()}
            fits[case] = fit_naka_rushton(cs, means[True], means[False])
            reps = []
            for _ in range(self.n_boot):
                bm = {att: np.array([a[rng.integers(0, a.size, a.size)].mean() for a in v])
                      for att, v in arrays.items()}
                reps.append(_measures(fit_naka_rushton(cs, bm[True], bm[False],
                                                       start=fits[case])))
            boots[case] = reps
        return fits, boots

    def _effects(self, fits, boots, tier):
        suffix = "" if tier == "softmax" else "_spiking"

        def ci(case, key, est):
            # percentile interval of the refits; with very few trials a nonlinear fit's
            # interval can miss its own estimate, so it is widened to include it
            v = np.array([b[key] for b in boots[case]], dtype=np.float64)
            v = v[np.isfinite(v)]
            if v.size < 0.5 * max(len(boots[case]), 1) or v.size == 0 or not np.isfinite(est):
                return math.nan, math.nan
            lo, hi = float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))
            return min(lo, est), max(hi, est)

        effects = []
        spec = (("contrast_gain", "rmax_ratio", "normalization.cg_rmax_ratio"),
                ("contrast_gain", "c50_ratio", "normalization.cg_c50_ratio"),
                ("response_gain", "rmax_ratio", "normalization.rg_rmax_ratio"),
                ("contrast_gain", "c50_ratio", "normalization.effective_contrast_gain"))
        for case, key, tkey in spec:
            est = _measures(fits[case])[key]
            tgt = target(tkey + suffix) if (tkey + suffix) in TARGETS else target(tkey)
            name = ("effective_contrast_gain" if tkey.endswith("effective_contrast_gain")
                    else f"{case}_{key}")
            effects.append(Effect.held_to(name, est, *ci(case, key, est), tgt.unit,
                                          tgt.describe(), tgt.band, tgt.null))
        est = _measures(fits["response_gain"])["c50_ratio"]
        effects.append(Effect.held_to(
            "response_gain_c50_ratio", est, *ci("response_gain", "c50_ratio", est), "1",
            "c50 away / attended, large stimulus in a small attention field (reported; the "
            "model as published gives x1.41)"))
        return effects

    def figure(self, results: dict):
        """Contrast-response functions per tier and configuration (the paper's Figure 2
        layout: log contrast, attended and away, fitted Naka-Rushton curves) and the
        effects against their bands."""
        from neuroattn.study.plots import TIER_COLORS, effects_axis, plt

        n = len(results)
        fig, axes = plt.subplots(1, 2 * n + 1, figsize=(3.6 * (2 * n + 1), 3.8))
        axes = np.atleast_1d(axes)
        cs = np.asarray(self.contrasts, dtype=np.float64)
        fine = np.logspace(np.log10(cs.min()) - 0.3, 0.0, 200)
        titles = {"contrast_gain": "small stimulus, large attention field",
                  "response_gain": "large stimulus, small attention field"}
        for t, (tier, res) in enumerate(results.items()):
            s = res.summary
            for j, case in enumerate(CASES):
                ax = axes[2 * t + j]
                for att, style in ((False, "--"), (True, "-")):
                    part = s[(s["case"] == case) & (s["attended"] == att)].sort_values(
                        "contrast")
                    x = part["contrast"].to_numpy(dtype=float)
                    m = part["response"].to_numpy(dtype=float)
                    err = [m - part["ci_low"].to_numpy(dtype=float),
                           part["ci_high"].to_numpy(dtype=float) - m]
                    ax.errorbar(x, m, yerr=err, fmt="o", color=TIER_COLORS.get(tier),
                                mfc="white" if not att else None, capsize=2,
                                label="attend RF" if att else "attend away")
                    b, r, c50, nn = (float(part[k].iloc[0]) for k in
                                     ("fit_base", "fit_rmax", "fit_c50", "fit_n"))
                    if np.isfinite(c50):
                        ax.plot(fine, naka_rushton(fine, b, r, c50, nn), style,
                                color=TIER_COLORS.get(tier), lw=1)
                ax.set_xscale("log")
                ax.set_xlabel("contrast")
                ax.set_ylabel("response (Hz)")
                ax.set_title(f"{tier}: {'AB'[j]}. {titles[case]}", fontsize=9)
                ax.legend(frameon=False, fontsize=7, loc="upper left")
        effects_axis(axes[-1], results)
        fig.suptitle(f"{self.name}: contrast-response functions (Reynolds & Heeger 2009, "
                     f"Fig. 2), measured on {' vs '.join(results)}", fontsize=11)
        fig.tight_layout()
        return fig

