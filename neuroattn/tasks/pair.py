"""Paired stimuli in one receptive field (Reynolds, Chelazzi & Desimone 1999).

A V4 neuron (the readout 'unit') responds strongly to a preferred stimulus (item 0,
selectivity ``values[0]``) and weakly to a poor one (item 1, ``values[1]``). Shown
together, its response lies between the two single responses; attending one of them
pulls the pair response toward that stimulus's single response.

Conditions (cycled over trials): ``pref`` and ``poor`` alone and ``pair_away`` with
attention away from the receptive field (no bias), ``pair_att_pref`` and
``pair_att_poor`` with attention on one stimulus. Attention is a top-down bias of
``attention_bias`` between the attended item and the other, centred (it sums to zero
over the items, like the cue's log prior in :class:`~neuroattn.tasks.Posner`):
``+b/2`` on the attended item, ``-b/2`` on the other. The response is the unit's
mean rate over the last ``window`` s of the trial.

The unit's **weight** of the preferred stimulus in a pair condition is::

    weight = (pair - poor) / (pref - poor)

with ``pref`` and ``poor`` the single responses (attention away): 1 means the pair
response equals the preferred response, 0 the poor one, 0.5 their average.

Published result held to (Reynolds, Chelazzi & Desimone 1999; bands in
``neuroattn.tasks.targets``): with attention away the pair response is the average of
the single responses, weight 0.5 +/- 0.1; attending one stimulus multiplies its
weight by one gain g, so the attended weights are ``g/(1+g)`` (attend pref) and
``1/(1+g)`` (attend poor). The task reports g from each attended weight
(``g_pref = w/(1-w)`` from attend pref, ``g_poor = (1-w)/w`` from attend poor) and
``ln(g_pref / g_poor)``, whose 95 % CI must contain 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  check_trials_arg, role_means, task_rng)
from neuroattn.tasks.stats import bootstrap_mean_ci, bootstrap_stat_ci
from neuroattn.tasks.targets import target

__all__ = ["Pair", "attention_bias_vector"]

CONDITIONS = ("pref", "poor", "pair_away", "pair_att_pref", "pair_att_poor")
PAIRS = ("pair_away", "pair_att_pref", "pair_att_poor")


def attention_bias_vector(n_items: int, attended: int | None, bias: float) -> np.ndarray:
    """Centred attention bias: ``bias (1[k == attended] - 1/n_items)``; zeros for None.

    Examples
    --------
    >>> attention_bias_vector(2, 0, 0.7).tolist()
    [0.35, -0.35]
    """
    out = np.zeros(n_items)
    if attended is not None:
        out[attended] = bias
        out -= bias / n_items
    return out


def check_timing(task, where: str) -> None:
    """Check the onset, duration, response window and step of a task with one stimulus
    period (Pair, Gain, CueCombination): all > 0, the window after the onset."""
    for name in ("onset", "duration", "window", "dt"):
        check_positive(getattr(task, name), "s", f"{where}.{name}")
    if task.window > task.duration - task.onset:
        raise ValidationError(f"{where}.window: must fit after the onset, <= duration - onset "
                              f"= {task.duration - task.onset:g} s (got {task.window:g} s)")


def check_values(values, where: str, expected: str, top: float = float("inf")) -> None:
    """Check a unit's two selectivities: finite, ``top >= values[0] > values[1] >= 0``;
    the message names ``where`` and shows ``expected``."""
    try:
        vals = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        vals = np.full(1, np.nan)
    if vals.shape != (2,) or not np.all(np.isfinite(vals)) or not (
            top >= vals[0] > vals[1] >= 0):
        raise ValidationError(f"{where}: expected {expected} (got {values!r})")


def check_stimulus(task, where: str) -> None:
    """Check the timing, contrast, noise and attention bias that Pair and Gain share."""
    check_timing(task, where)
    check_positive(task.contrast, "1", f"{where}.contrast")
    check_positive(task.noise, "1", f"{where}.noise", allow_zero=True)
    check_positive(task.attention_bias, "1", f"{where}.attention_bias", allow_zero=True)


def _weight(pair, pref, poor):
    return (pair - poor) / (pref - poor)


@dataclass(frozen=True)
class Pair(Task):
    """The paired-stimulus paradigm.

    Parameters
    ----------
    values : (float, float)
        The unit's selectivity for the preferred and the poor stimulus, with
        ``values[0] > values[1] >= 0`` (default (1.0, 0.2)).
    contrast : float
        Input of a presented stimulus, units of the agents' input (default 2.0).
    attention_bias : float
        Size of the centred attention bias, attended minus unattended item (0.5).
    onset, duration, window : float, seconds
        Stimulus onset (50 ms), trial length (450 ms), response window at the end of the
        trial (250 ms). brian2 Quantities are accepted.
    noise : float
        Std of the Gaussian input noise per row on each bottom-up channel (default 0.5).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Pair
    >>> trials = Pair(noise=0.0).make_trials(10, seed=1)
    >>> trials.conditions["condition"].tolist()[:5]
    ['pref', 'poor', 'pair_away', 'pair_att_pref', 'pair_att_poor']
    >>> Pair(noise=0.0).bridge_inputs(trials)[3].tolist()   # pair, attend pref: evidence, bias
    [2.0, 2.0, 0.25, -0.25]
    """

    values: tuple = (1.0, 0.2)
    contrast: float = 2.0
    attention_bias: float = 0.5
    onset: float = 0.05
    duration: float = 0.45
    window: float = 0.25
    noise: float = 0.5
    dt: float = 1e-3

    name = "pair"
    agreement = "response"
    columns = (
        Column("unit response (Hz)", "response", ("ci_low", "ci_high")),
        Column("weight = (pair-poor)/(pref-poor)", "weight", ("weight_low", "weight_high"),
               fmt="{:.3f}"),
    )

    units = dict.fromkeys(("onset", "duration", "window", "dt"), "s")

    def spec(self) -> TaskSpec:
        """Two stimuli in one receptive field; the items and the V4 'unit' read out."""
        return TaskSpec("space", 2, readouts=("items", "unit"),
                        values=tuple(float(v) for v in self.values))

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_values(self.values, "Pair.values",
                     "(pref, poor) with pref > poor >= 0, e.g. (1.0, 0.2)")
        check_stimulus(self, "Pair")

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials cycling through the five conditions."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        on = int(round(self.onset / self.dt))
        stim = np.zeros((n, steps, 4), dtype=np.float32)
        rows = []
        for t in range(n):
            cond = CONDITIONS[t % len(CONDITIONS)]
            rng = task_rng(seed, t, 2)
            if cond != "poor":
                stim[t, on:, 0] = self.contrast
            if cond != "pref":
                stim[t, on:, 1] = self.contrast
            attended = {"pair_att_pref": 0, "pair_att_poor": 1}.get(cond)
            stim[t, :, 2:] = attention_bias_vector(2, attended, self.attention_bias)
            if self.noise > 0:
                stim[t, :, :2] += rng.normal(0.0, self.noise, (steps, 2))
            rows.append({"trial": t, "condition": cond, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and bias [trials, 4] from stimulus onset on."""
        return role_means(trials, self.onset)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """Unit response (Hz) and the preferred item's share of location rates, per trial."""
        sel = recording.times >= self.duration - self.window - 1e-12
        unit = recording.role("unit")[:, sel, 0].mean(axis=1)
        items = recording.role("items")[:, sel].mean(axis=1)
        r0, r1 = items[:, 0], items[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = r0 / (r0 + r1)
        return pd.DataFrame({"response": unit, "share_pref": share})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition responses and weights, effects with 95 % CIs."""
        out = self.readout(recording)
        table = trials.conditions.copy()
        table["response"] = out["response"].to_numpy()
        table["share_pref"] = out["share_pref"].to_numpy()
        table["choice"] = -1
        table["correct"] = np.nan
        table["rt"] = np.nan
        resp = {c: table.loc[table["condition"] == c, "response"].to_numpy() for c in CONDITIONS}
        weights = {}
        for cond in PAIRS:
            weights[cond] = bootstrap_stat_ci([resp[cond], resp["pref"], resp["poor"]],
                                              _weight, seed)
        rows = []
        for cond in CONDITIONS:
            m, lo, hi = bootstrap_mean_ci(resp[cond], seed)
            w = weights.get(cond, (np.nan, np.nan, np.nan))
            share = table.loc[table["condition"] == cond, "share_pref"].mean()
            rows.append({"condition": cond, "n": len(resp[cond]), "response": m, "ci_low": lo,
                         "ci_high": hi, "weight": w[0], "weight_low": w[1],
                         "weight_high": w[2], "share_pref": share})
        summary = pd.DataFrame(rows)
        effects = [self._held("weight_away", weights["pair_away"], "pair.weight_away"),
                   self._held("weight_att_pref", weights["pair_att_pref"],
                              "pair.weight_att_pref"),
                   self._held("weight_att_poor", weights["pair_att_poor"],
                              "pair.weight_att_poor")]
        groups = [resp["pair_att_pref"], resp["pair_att_poor"], resp["pref"], resp["poor"]]

        def g_pref(ap, aq, pf, pp):
            w = _weight(ap, pf, pp)
            return w / (1 - w)

        def g_poor(ap, aq, pf, pp):
            w = _weight(aq, pf, pp)
            return (1 - w) / w

        def log_ratio(ap, aq, pf, pp):
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.log(g_pref(ap, aq, pf, pp)) - np.log(g_poor(ap, aq, pf, pp))

        text = ("attention gain g of the attended stimulus's weight, from {} "
                f"({target('pair.gain_agreement').source})")
        for name, fn, which in (("gain_att_pref", g_pref, "the attend-pref weight w: w/(1-w)"),
                                ("gain_att_poor", g_poor,
                                 "the attend-poor weight w: (1-w)/w")):
            est, lo, hi = bootstrap_stat_ci(groups, fn, seed)
            effects.append(Effect.held_to(name, est, lo, hi, "1", text.format(which)))
        est, lo, hi = bootstrap_stat_ci(groups, log_ratio, seed)
        tgt = target("pair.gain_agreement")
        finite = all(np.isfinite(x) for x in (est, lo, hi))
        passed = (bool(tgt.band[0] <= est <= tgt.band[1] and lo <= 0.0 <= hi) if finite
                  else None)
        effects.append(Effect("log_gain_ratio", float(est), float(lo), float(hi), "1",
                              tgt.describe(), passed, tuple(tgt.band), None))
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    @staticmethod
    def _held(name, ci, key) -> Effect:
        tgt = target(key)
        return Effect.held_to(name, *ci, tgt.unit, tgt.describe(), tgt.band, tgt.null)

