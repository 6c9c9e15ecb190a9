"""Cue combination: two cues of different reliabilities about one quantity (Ernst & Banks 2002).

Two cues (items) report one quantity, the feature that the readout 'unit' encodes: cue
0 says ``values[0]`` (default 1), cue 1 says ``values[1]`` (default 0), so when both
are shown they conflict by ``values[0] - values[1]``. Each cue's evidence channel
carries its own Gaussian noise: cue i's input is ``contrast + N(0, sigma_i)`` per
row, and its reliability (precision) is ``pi_i = 1 / sigma_i**2``. For a reliability
ratio ``r = pi_0 / pi_1`` the two noise levels are ``sigma_0 = noise r**(-1/4)`` and
``sigma_1 = noise r**(1/4)`` (their geometric mean is ``noise``).

The observer knows how reliable each cue is (the observers of Ernst & Banks 2002 saw
the noise in the display; here, as the cue's log prior in
:class:`~neuroattn.tasks.Posner`, the task states it): the top-down ``bias`` on cue i
is its expected log precision, centred over the cues, ``precision_gain * (ln pi_i -
mean_j ln pi_j)`` -- ``+-ln(r)/2`` for two cues. It also knows which cues are shown:
a cue that is absent says nothing (reliability 0, as the maximum-likelihood observer
treats a missing modality), so in a single-cue condition the absent cue's expected
reliability is ``absent_reliability`` (default 1/16) of the shown one's, a bias of
``-+ln(16)/2`` -- a floor, because a bias of minus infinity is no drive.

Conditions (cycled over trials): ``cue0`` and ``cue1`` alone (noise ``noise`` on both
channels; the bias above), then one combined condition ``both_r<r>`` per reliability
ratio in ``ratios``. The response is the unit's mean rate over the last ``window`` s of
the trial.

The **weight** of cue 0 in a combined condition is measured as Ernst & Banks did, from
the conflict: where the combined response lies between the single-cue responses::

    w_0 = (both - cue1) / (cue0 - cue1)

Published result held to (Ernst & Banks 2002; band in ``neuroattn.tasks.targets``):
cues are weighted by their reliabilities, ``w_0 = pi_0 / (pi_0 + pi_1) = r / (1 + r)``
(the maximum-likelihood, minimum-variance combination). Each ratio's effect PASSes
when the weight's CI contains ``r / (1 + r)`` and, for ``r != 1``, excludes 0.5 (the
weights follow the reliabilities, not an equal split). The claim is that the weights
are optimal at every ratio at once, so the ``m`` ratios' CIs are simultaneous 95 %
intervals (Bonferroni: each at level ``1 - 0.05 / m``, :func:`weight_level`): an
unbiased observer passes every ratio in at least 95 % of runs. With a separate 95 %
interval per ratio it would fail one of them in ``1 - 0.95**m`` of runs (14 % at
``m = 3``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  check_trials_arg, role_means, task_rng)
from neuroattn.tasks.pair import check_timing, check_values
from neuroattn.tasks.stats import bootstrap_mean_ci, bootstrap_stat_ci
from neuroattn.tasks.targets import target

__all__ = ["CueCombination", "optimal_weight", "weight_level"]

SINGLES = ("cue0", "cue1")


def optimal_weight(ratio: float) -> float:
    """Reliability-optimal weight of cue 0, ``pi_0 / (pi_0 + pi_1)`` for ``ratio = pi_0/pi_1``.

    Examples
    --------
    >>> optimal_weight(4.0)
    0.8
    """
    return float(ratio) / (1.0 + float(ratio))


def weight_level(m: int, family: float = 0.95) -> float:
    """Confidence level of each of ``m`` weight CIs that hold all ``m`` weights at once
    with probability >= ``family`` (Bonferroni: ``1 - (1 - family) / m``).

    Examples
    --------
    >>> round(weight_level(3), 4)
    0.9833
    """
    return 1.0 - (1.0 - family) / m


def _label(ratio: float) -> str:
    return f"both_r{ratio:g}"


def _weight(both, single0, single1):
    return (both - single1) / (single0 - single1)


@dataclass(frozen=True)
class CueCombination(Task):
    """Two cues of different reliabilities about one quantity.

    Parameters
    ----------
    values : (float, float)
        What each cue says about the quantity, in the unit's feature: the unit's
        selectivity for each cue, ``values[0] > values[1] >= 0`` (default (1.0, 0.0)).
    ratios : tuple of float
        Reliability ratios ``pi_0 / pi_1`` of the combined conditions (default
        (0.25, 1.0, 4.0)); each > 0, no repeats.
    contrast : float
        Mean input of a shown cue, units of the agents' input (default 2.0).
    noise : float
        Geometric mean of the two cues' noise std per row (default 0.5; > 0).
    precision_gain : float
        Scale of the bias: nats of expected log precision per unit of bias is 1 at the
        default 1.0.
    absent_reliability : float
        Reliability the observer expects of a cue that is not shown, relative to the
        shown one, in a single-cue condition (in (0, 1]; default 1/16: a bias of
        ``-+ln(16)/2`` = -+1.39 on the absent / shown cue). The maximum-likelihood
        observer gives an absent cue no weight; with 3 nats of log precision per unit of
        evidence an unbiased absent cue keeps ``exp(-6)`` of the shown one's weight and
        pulls the single-cue responses, which calibrate the weights, 0.25 % of the way
        toward it (weights expanded away from 0.5 by ~0.0015); at 1/16 it keeps
        ``exp(-8.8)``. 1 gives the single-cue conditions no bias.
    onset, duration, window : float, seconds
        Cue onset (50 ms), trial length (450 ms), response window at the end (250 ms).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import CueCombination
    >>> trials = CueCombination().make_trials(5, seed=1)
    >>> trials.conditions["condition"].tolist()
    ['cue0', 'cue1', 'both_r0.25', 'both_r1', 'both_r4']
    >>> trials.role("bias")[4, 0].astype(float).round(4).tolist()   # +-ln(4)/2
    [0.6931, -0.6931]
    """

    values: tuple = (1.0, 0.0)
    ratios: tuple = (0.25, 1.0, 4.0)
    contrast: float = 2.0
    noise: float = 0.5
    precision_gain: float = 1.0
    absent_reliability: float = 1.0 / 16.0
    onset: float = 0.05
    duration: float = 0.45
    window: float = 0.25
    dt: float = 1e-3

    name = "cue-combination"
    agreement = "response"
    columns = (
        Column("unit response (Hz)", "response", ("ci_low", "ci_high")),
        Column("weight of cue 0 [simultaneous 95% CI]", "weight", ("weight_low", "weight_high"),
               fmt="{:.3f}"),
        Column("optimal pi0/(pi0+pi1)", "optimal", fmt="{:.3f}"),
    )
    units = dict.fromkeys(("onset", "duration", "window", "dt"), "s")

    @property
    def conditions(self) -> tuple:
        """Condition labels in trial order: the two singles, then one per ratio."""
        return SINGLES + tuple(_label(r) for r in self.ratios)

    def spec(self) -> TaskSpec:
        """Two cues in space; the items and the 'unit' (the combined estimate) read out."""
        return TaskSpec("space", 2, readouts=("items", "unit"),
                        values=tuple(float(v) for v in self.values))

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_values(self.values, "CueCombination.values",
                     "(v0, v1) with 1 >= v0 > v1 >= 0, e.g. (1.0, 0.0)", top=1.0)
        try:
            ratios = np.asarray(self.ratios, dtype=np.float64)
        except (TypeError, ValueError):
            ratios = np.full(1, np.nan)
        if ratios.ndim != 1 or ratios.size < 1 or not np.all(np.isfinite(ratios)) or np.any(
                ratios <= 0) or len(set(ratios.tolist())) != ratios.size:
            raise ValidationError(f"CueCombination.ratios: expected distinct reliability "
                                  f"ratios pi0/pi1 > 0, e.g. (0.25, 1.0, 4.0) (got "
                                  f"{self.ratios!r})")
        check_timing(self, "CueCombination")
        check_positive(self.contrast, "1", "CueCombination.contrast")
        check_positive(self.noise, "1", "CueCombination.noise")
        check_positive(self.precision_gain, "1", "CueCombination.precision_gain",
                       allow_zero=True)
        a = self.absent_reliability
        if not (isinstance(a, (int, float)) and not isinstance(a, bool) and 0.0 < a <= 1.0):
            raise ValidationError(f"CueCombination.absent_reliability: expected the "
                                  f"reliability of an absent cue relative to a shown one, "
                                  f"in (0, 1], e.g. 1/16 (got {a!r})")

    def noise_levels(self, ratio: float) -> tuple:
        """Noise std of cue 0 and cue 1 for reliability ratio ``pi_0 / pi_1 = ratio``.

        Examples
        --------
        >>> [round(s, 4) for s in CueCombination(noise=0.5).noise_levels(4.0)]
        [0.3536, 0.7071]
        """
        return (self.noise * ratio ** -0.25, self.noise * ratio ** 0.25)

    def bias(self, ratio: float) -> np.ndarray:
        """Centred expected log precision of the two cues, times ``precision_gain``."""
        s0, s1 = self.noise_levels(ratio)
        return self._centred(np.log([1.0 / s0 ** 2, 1.0 / s1 ** 2]))

    def single_bias(self, shown: int) -> np.ndarray:
        """Centred expected log precision of the two cues when only cue ``shown`` is
        shown: the absent cue's reliability is ``absent_reliability`` of the shown one's.

        Examples
        --------
        >>> CueCombination().single_bias(1).round(4).tolist()     # -+ln(16)/2
        [-1.3863, 1.3863]
        """
        if shown not in (0, 1) or isinstance(shown, bool):
            raise ValidationError(f"CueCombination.single_bias: shown: expected the shown "
                                  f"cue, 0 or 1 (got {shown!r})")
        log_pi = np.log([self.absent_reliability, self.absent_reliability])
        log_pi[shown] = 0.0
        return self._centred(log_pi)

    def _centred(self, log_pi: np.ndarray) -> np.ndarray:
        """The bias: expected log precisions centred over the cues, times ``precision_gain``."""
        return self.precision_gain * (log_pi - log_pi.mean())

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials cycling through the conditions (:attr:`conditions`)."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        on = int(round(self.onset / self.dt))
        conds = self.conditions
        stim = np.zeros((n, steps, 4), dtype=np.float32)
        rows = []
        for t in range(n):
            cond = conds[t % len(conds)]
            rng = task_rng(seed, t, 3)
            if cond in SINGLES:
                shown = (int(cond[-1]),)
                sigma = (self.noise, self.noise)
                ratio = np.nan
                stim[t, :, 2:] = self.single_bias(shown[0])
            else:
                ratio = float(self.ratios[conds.index(cond) - len(SINGLES)])
                shown = (0, 1)
                sigma = self.noise_levels(ratio)
                stim[t, :, 2:] = self.bias(ratio)
            for i in shown:
                stim[t, on:, i] = self.contrast
            stim[t, :, :2] += rng.normal(0.0, 1.0, (steps, 2)) * np.asarray(sigma)
            rows.append({"trial": t, "condition": cond, "ratio": ratio,
                         "sigma0": sigma[0], "sigma1": sigma[1], "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and bias [trials, 4] from cue onset on: the bias
        carries each cue's expected precision, which the precision bridge fits."""
        return role_means(trials, self.onset)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """The unit's response (Hz) and cue 0's share of the item rates, per trial."""
        sel = recording.times >= self.duration - self.window - 1e-12
        unit = recording.role("unit")[:, sel, 0].mean(axis=1)
        items = recording.role("items")[:, sel].mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = items[:, 0] / (items[:, 0] + items[:, 1])
        return pd.DataFrame({"response": unit, "share_cue0": share})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition responses and weights, one effect per ratio.

        Response CIs are 95 % bootstrap intervals; the weights' are simultaneous 95 %
        intervals over the ratios (each at :func:`weight_level`).
        """
        self.validate()
        out = self.readout(recording)
        table = trials.conditions.copy()
        table["response"] = out["response"].to_numpy()
        table["share_cue0"] = out["share_cue0"].to_numpy()
        table["choice"] = -1
        table["correct"] = np.nan
        table["rt"] = np.nan
        resp = {c: table.loc[table["condition"] == c, "response"].to_numpy()
                for c in self.conditions}
        tgt = target("cue_combination.weight")
        level = weight_level(len(self.ratios))
        rows, effects = [], []
        for cond in self.conditions:
            m, lo, hi = bootstrap_mean_ci(resp[cond], seed)
            row = {"condition": cond, "n": len(resp[cond]), "response": m, "ci_low": lo,
                   "ci_high": hi, "weight": np.nan, "weight_low": np.nan,
                   "weight_high": np.nan, "optimal": np.nan}
            if cond not in SINGLES:
                ratio = float(self.ratios[self.conditions.index(cond) - len(SINGLES)])
                opt = optimal_weight(ratio)
                est, wlo, whi = bootstrap_stat_ci([resp[cond], resp["cue0"], resp["cue1"]],
                                                  _weight, seed, level=level)
                row.update(weight=est, weight_low=wlo, weight_high=whi, optimal=opt)
                effects.append(_weight_effect(ratio, opt, est, wlo, whi, tgt))
            rows.append(row)
        return TaskResult(table, tuple(effects), pd.DataFrame(rows),
                          {"task": self.name, "params": self.__dict__.copy()})


def _weight_effect(ratio, opt, est, lo, hi, tgt) -> Effect:
    """The weight at one ratio: PASS when its CI holds ``opt`` and (r != 1) excludes 0.5."""
    finite = all(np.isfinite(x) for x in (est, lo, hi))
    null = None if ratio == 1.0 else 0.5
    passed = None
    if finite:
        passed = bool(lo <= opt <= hi and (null is None or not lo <= null <= hi))
    return Effect(f"weight_r{ratio:g}", float(est), float(lo), float(hi), tgt.unit,
                  tgt.describe(), passed, (opt, opt), null)
