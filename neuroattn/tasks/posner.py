"""Posner cueing (Posner 1980): a cue says where a target will probably appear.

Timeline of a trial (defaults): blank until ``cue_onset`` (50 ms); then the cue: a
top-down bias on every location for the rest of the trial; the target appears at
``cue_onset + soa`` (200 ms) at one location with input ``contrast`` and stays on for
``response_window`` (350 ms). Every bottom-up channel carries Gaussian input noise.

The cue's bias is the log prior it implies (an ideal observer's expectation): with
validity v, location k is the target location with probability p_k = v if cued, else
(1 - v)/(K - 1), and its bias is ``bias_gain * ln(K p_k)``. A neutral cue leaves every
p_k = 1/K (bias 0). A cue that predicts nothing (v = 1/K) gives no bias at all, and the
cued location's advantage grows with v.

Readout: each location's rate, smoothed causally over ``smoothing`` s; the chosen
location is the first to reach ``threshold`` Hz after target onset; RT is that
crossing time minus target onset; correct when it is the target location; no crossing
within the window is a miss (choice -1).

Published result held to (Posner 1980; Posner, Snyder & Davidson 1980): RT valid <
neutral < invalid, i.e. a benefit (neutral - valid) > 0 and a cost (invalid - neutral)
> 0, and a validity effect (invalid - valid) that grows with cue validity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive
from neuroattn.tasks.base import (
    Effect,
    Task,
    TaskResult,
    TaskSpec,
    Trials,
    check_trials_arg,
    first_crossing,
    smooth,
    task_rng,
)
from neuroattn.tasks.stats import bootstrap_diff_ci, bootstrap_mean_ci

__all__ = ["Posner"]

CONDITIONS = ("valid", "neutral", "invalid")


@dataclass(frozen=True)
class Posner(Task):
    """The Posner cueing paradigm.

    Parameters
    ----------
    k : int
        Locations (default 2).
    validity : float
        Probability that the target appears at the cued location (default 0.8), in
        (1/K, 1).
    neutral_fraction : float
        Fraction of trials with a neutral cue (default 0.25).
    cue_onset, soa, response_window : float, seconds
        Cue onset (50 ms), cue-target onset asynchrony (150 ms), time allowed to respond
        after target onset (350 ms).
    contrast : float
        Target input (default 1.0, units of the agents' input).
    bias_gain : float
        Scale of the cue's log-prior bias (default 0.5).
    noise : float
        Std of the Gaussian input noise per row on each bottom-up channel (default 1.0).
    threshold : float, hertz
        Detection threshold on the smoothed location rate (default 26 Hz).
    smoothing : float, seconds
        Causal boxcar applied to the rates before thresholding (default 20 ms).
    dt : float, seconds
        Stimulus row (default 1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Posner
    >>> trials = Posner().make_trials(8, seed=1)
    >>> trials.stimulus.shape
    (8, 550, 4)
    """

    k: int = 2
    validity: float = 0.8
    neutral_fraction: float = 0.25
    cue_onset: float = 0.05
    soa: float = 0.15
    response_window: float = 0.35
    contrast: float = 1.0
    bias_gain: float = 0.5
    noise: float = 1.0
    threshold: float = 26.0
    smoothing: float = 0.02
    dt: float = 1e-3

    name = "posner"

    def spec(self) -> TaskSpec:
        """K locations in space, each with evidence and a cue bias; items read out."""
        return TaskSpec("space", self.k)

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_int(self.k, "Posner.k", minimum=2)
        if not 1.0 / self.k < self.validity < 1.0:
            raise ValidationError(f"Posner.validity: expected a probability in (1/K, 1) = "
                                  f"({1.0 / self.k:g}, 1) (got {self.validity})")
        if not 0.0 <= self.neutral_fraction < 1.0:
            raise ValidationError(f"Posner.neutral_fraction: expected a fraction in [0, 1) "
                                  f"(got {self.neutral_fraction})")
        for name in ("cue_onset", "soa", "response_window", "smoothing", "dt"):
            check_positive(getattr(self, name), "s", f"Posner.{name}")
        check_positive(self.threshold, "Hz", "Posner.threshold")
        check_positive(self.noise, "1", "Posner.noise", allow_zero=True)
        check_positive(self.bias_gain, "1", "Posner.bias_gain", allow_zero=True)

    @property
    def target_onset(self) -> float:
        """Target onset (s)."""
        return self.cue_onset + self.soa

    @property
    def duration(self) -> float:
        """Trial duration (s)."""
        return self.target_onset + self.response_window

    def cue_bias(self, cued: int | None) -> np.ndarray:
        """The bias on each location for a cue at ``cued`` (None: neutral)."""
        if cued is None:
            return np.zeros(self.k)
        p = np.full(self.k, (1.0 - self.validity) / (self.k - 1))
        p[cued] = self.validity
        return self.bias_gain * np.log(self.k * p)

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials; trial t's draws depend only on (seed, t)."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        cue = int(round(self.cue_onset / self.dt))
        tgt = int(round(self.target_onset / self.dt))
        stim = np.zeros((n, steps, 2 * self.k), dtype=np.float32)
        rows = []
        for t in range(n):
            rng = task_rng(seed, t, 1)
            neutral = rng.random() < self.neutral_fraction
            cued = None if neutral else int(rng.integers(self.k))
            if neutral:
                target = int(rng.integers(self.k))
                cond = "neutral"
            elif rng.random() < self.validity:
                target, cond = cued, "valid"
            else:
                others = [j for j in range(self.k) if j != cued]
                target, cond = int(others[rng.integers(len(others))]), "invalid"
            stim[t, cue:, self.k:] = self.cue_bias(cued)
            stim[t, tgt:, target] = self.contrast
            if self.noise > 0:
                stim[t, :, : self.k] += rng.normal(0.0, self.noise, (steps, self.k))
            rows.append({"trial": t, "condition": cond, "cued": -1 if cued is None else cued,
                         "target": target, "validity": self.validity, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """Choice, correct and RT (s) of every trial from the location rates."""
        rates = recording.role("items")
        w = recording.bin_width
        sm = smooth(rates, max(1, int(round(self.smoothing / w))))
        start = int(round(self.target_onset / w))
        stop = min(sm.shape[1], int(round(self.duration / w)))
        choice = np.full(rates.shape[0], -1)
        rt = np.full(rates.shape[0], np.nan)
        for t in range(rates.shape[0]):
            cross = [first_crossing(sm[t, :, j], self.threshold, start, stop)
                     for j in range(self.k)]
            hits = [(c, j) for j, c in enumerate(cross) if c >= 0]
            if hits:
                c, j = min(hits)
                choice[t] = j
                rt[t] = (c + 1) * w - self.target_onset
        return pd.DataFrame({"choice": choice, "rt": rt})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition summary and the effects with 95 % bootstrap CIs."""
        out = self.readout(recording)
        table = trials.conditions.copy()
        table["choice"] = out["choice"].to_numpy()
        table["correct"] = table["choice"] == table["target"]
        table["rt"] = out["rt"].to_numpy()
        table.loc[~table["correct"], "rt"] = np.nan
        rows = []
        for cond in CONDITIONS:
            sel = table[table["condition"] == cond]
            m, lo, hi = bootstrap_mean_ci(sel["rt"], seed)
            acc = float(sel["correct"].mean()) if len(sel) else np.nan
            rows.append({"condition": cond, "n": len(sel), "rt_mean": m, "rt_ci_low": lo,
                         "rt_ci_high": hi, "accuracy": acc})
        summary = pd.DataFrame(rows)
        rt = {c: table.loc[table["condition"] == c, "rt"] for c in CONDITIONS}
        effects = []
        for name, a, b, target in (
                ("benefit", "neutral", "valid", "neutral - valid RT > 0 (Posner 1980)"),
                ("cost", "invalid", "neutral", "invalid - neutral RT > 0 (Posner 1980)"),
                ("validity", "invalid", "valid", "invalid - valid RT > 0 (Posner 1980)")):
            est, lo, hi = bootstrap_diff_ci(rt[a], rt[b], seed)
            passed = bool(lo > 0) if np.isfinite(lo) else None
            effects.append(Effect(f"{name}_rt", est, lo, hi, "s", target, passed))
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})
