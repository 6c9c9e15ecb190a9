"""Paired stimuli (Reynolds, Chelazzi & Desimone 1999).

A V4 neuron ('unit') responds strongly to a preferred stimulus (location 0) and weakly
to a poor one (location 1). Shown together, its response lies between the two single
responses -- a weighted average -- and attending to one stimulus pulls the pair
response toward that stimulus' single response.

Conditions: ``pref`` and ``poor`` alone (attention away), ``pair_away``,
``pair_att_pref``, ``pair_att_poor``. The response is the unit's mean rate over the
last ``window`` s of the stimulus. The weight of the preferred stimulus in a pair
condition is ``(pair - poor) / (pref - poor)``: 1 means the pair response equals the
preferred response, 0 the poor one.

Published result held to: pair responses lie between the single responses (weight in
(0, 1)); attending to the preferred stimulus raises its weight and attending to the poor
one lowers it, relative to attention away (Reynolds et al. 1999).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.model.units import check_positive
from neuroattn.tasks.base import (Effect, Task, TaskResult, TaskSpec, Trials, check_trials_arg,
                                  task_rng)
from neuroattn.tasks.stats import bootstrap_mean_ci, bootstrap_stat_ci

__all__ = ["Pair"]

CONDITIONS = ("pref", "poor", "pair_away", "pair_att_pref", "pair_att_poor")


@dataclass(frozen=True)
class Pair(Task):
    """The paired-stimulus paradigm.

    Parameters
    ----------
    values : (float, float)
        The unit's selectivity for the preferred and the poor stimulus (1.0, 0.2).
    contrast : float
        Input of a presented stimulus (default 2.0).
    attention_bias : float
        Top-down bias on the attended location (default 0.7).
    onset, duration, window : float, seconds
        Stimulus onset (50 ms), trial length (450 ms), response window at the end (250 ms).
    noise : float
        Std of the Gaussian input noise per row on each bottom-up channel (default 0.5).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Pair
    >>> sorted(set(Pair().make_trials(10).conditions["condition"]))[:2]
    ['pair_att_poor', 'pair_att_pref']
    """

    values: tuple = (1.0, 0.2)
    contrast: float = 2.0
    attention_bias: float = 0.7
    onset: float = 0.05
    duration: float = 0.45
    window: float = 0.25
    noise: float = 0.5
    dt: float = 1e-3

    name = "pair"
    agreement = "response"

    def spec(self) -> TaskSpec:
        """Two stimuli in one receptive field; the items and the V4 'unit' read out."""
        return TaskSpec("space", 2, readouts=("items", "unit"), values=tuple(self.values))

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        for name in ("onset", "duration", "window", "dt"):
            check_positive(getattr(self, name), "s", f"Pair.{name}")
        check_positive(self.noise, "1", "Pair.noise", allow_zero=True)
        check_positive(self.attention_bias, "1", "Pair.attention_bias", allow_zero=True)

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
            if cond == "pair_att_pref":
                stim[t, :, 2] = self.attention_bias
            if cond == "pair_att_poor":
                stim[t, :, 3] = self.attention_bias
            if self.noise > 0:
                stim[t, :, :2] += rng.normal(0.0, self.noise, (steps, 2))
            rows.append({"trial": t, "condition": cond, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """Unit response and the preferred stimulus' share of location rates, per trial."""
        sel = recording.times >= self.duration - self.window - 1e-12
        unit = recording.role("unit")[:, sel, 0].mean(axis=1)
        items = recording.role("items")[:, sel].mean(axis=1)
        r0, r1 = items[:, 0], items[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = r0 / (r0 + r1)
        return pd.DataFrame({"response": unit, "share_pref": share})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition responses and the attention effects with 95 % CIs."""
        out = self.readout(recording)
        table = trials.conditions.copy()
        table["response"] = out["response"].to_numpy()
        table["share_pref"] = out["share_pref"].to_numpy()
        table["choice"] = -1
        table["correct"] = np.nan
        table["rt"] = np.nan
        resp = {c: table.loc[table["condition"] == c, "response"] for c in CONDITIONS}
        rows = []
        for cond in CONDITIONS:
            m, lo, hi = bootstrap_mean_ci(resp[cond], seed)
            share = table.loc[table["condition"] == cond, "share_pref"].mean()
            rows.append({"condition": cond, "n": len(resp[cond]), "response": m,
                         "ci_low": lo, "ci_high": hi, "share_pref": share})
        summary = pd.DataFrame(rows)

        def weight(pair, pref, poor):
            return (pair - poor) / (pref - poor)

        effects = []
        for cond in ("pair_away", "pair_att_pref", "pair_att_poor"):
            est, lo, hi = bootstrap_stat_ci([resp[cond], resp["pref"], resp["poor"]], weight, seed)
            ok = bool(lo > 0 and hi < 1) if cond == "pair_away" and np.isfinite(lo) else None
            effects.append(Effect(f"weight_{cond[5:]}", est, lo, hi, "1",
                                  "pair between singles: 0 < weight < 1 (Reynolds et al. 1999)"
                                  if cond == "pair_away" else "weight of pref in the pair", ok))
        for name, a, b, target in (
                ("attend_pref_shift", "pair_att_pref", "pair_away",
                 "attending pref pulls the pair toward pref: shift > 0 (Reynolds et al. 1999)"),
                ("attend_poor_shift", "pair_away", "pair_att_poor",
                 "attending poor pulls the pair toward poor: shift > 0 (Reynolds et al. 1999)")):
            est, lo, hi = bootstrap_stat_ci(
                [resp[a], resp[b], resp["pref"], resp["poor"]],
                lambda pa, pb, pf, pp: weight(pa, pf, pp) - weight(pb, pf, pp), seed)
            effects.append(Effect(name, est, lo, hi, "1", target,
                                  bool(lo > 0) if np.isfinite(lo) else None))
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})
