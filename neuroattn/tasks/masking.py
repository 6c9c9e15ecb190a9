"""Backward masking (Del Cul, Baillet & Dehaene 2007): visibility against target-mask SOA.

A target (item 0) is shown at ``onset`` and replaced, ``soa`` seconds later, by a mask
(item 1) that stays on for ``mask_duration``; on catch trials only the mask is shown.
The target is task-relevant (``bias`` on its item), the mask is not
(``mask_bias``). The target is **seen** when its readout (the workspace assembly, in the
workspace mechanism), averaged over ``smooth`` s, passes ``seen_rate`` Hz within
``window`` s of its onset.

Published result held to (bands in ``neuroattn.tasks.targets``): visibility rises with
SOA as a sigmoid whose 50 % threshold lies near 50 ms (35-55 ms), and the late activity
is all-or-none across trials near the threshold (bimodal), while early activity grows
gradually with SOA. The late activity is the readout's mean rate over the ``late``
window after the target's onset (200-500 ms, where Del Cul et al. 2007 find the
non-linear, all-or-none component; the early one, before ~250 ms, grows linearly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  add_subject_state, check_trials_arg, task_rng)
from neuroattn.tasks.blink import _bimodality_ci, _check_late, late_activity
from neuroattn.tasks.stats import bootstrap_mean_ci, bootstrap_stat_ci
from neuroattn.tasks.targets import target

__all__ = ["Masking", "threshold_crossing"]


def threshold_crossing(soas, *visibility, level: float = 0.5):
    """The SOA (s) at which visibility first reaches ``level``, by linear interpolation
    between the SOAs around it; NaN when it never does or starts above it.

    ``visibility``: one value (or one array of bootstrap values) per SOA, in SOA order.

    Examples
    --------
    >>> float(threshold_crossing([0.02, 0.04, 0.06], 0.0, 0.25, 0.75))
    0.05
    """
    s = np.asarray(soas, dtype=np.float64)
    v = np.stack([np.asarray(x, dtype=np.float64) for x in visibility], axis=0)
    above = v >= level
    first = np.argmax(above, axis=0)
    ok = above.any(axis=0) & (first > 0)
    i = np.clip(first, 1, len(s) - 1)
    v0 = np.take_along_axis(v, (i - 1)[None], axis=0)[0]
    v1 = np.take_along_axis(v, i[None], axis=0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(v1 > v0, (level - v0) / (v1 - v0), 0.0)
    out = np.where(ok, s[i - 1] + frac * (s[i] - s[i - 1]), np.nan)
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class Masking(Task):
    """The backward-masking paradigm (see the module notes).

    Parameters
    ----------
    soas : tuple of float, seconds
        Target-mask onset asynchronies (16-100 ms, as Del Cul et al. 2007).
    catch : bool
        Add mask-only trials (condition ``absent``).
    onset : float, seconds
        Target onset (100 ms).
    mask_duration : float, seconds
        How long the mask stays on (200 ms).
    target, mask : float
        Evidence of the target and of the mask (1.0 each).
    bias, mask_bias : float
        Task set on the target's item (1.0) and on the mask's (-1.0).
    noise : float
        Std of the Gaussian noise per row on each evidence channel (0.3).
    seen_rate : float, hertz
        Readout rate above which the target counts as seen (15 Hz).
    smooth, window : float, seconds
        Averaging window of the readout (50 ms) and the time after onset within which the
        target must ignite (600 ms).
    late : (float, float), seconds
        Window after the target's onset over which its late activity (the sample whose
        bimodality is scored) is averaged (200-500 ms).
    duration : float, seconds
        Trial length (1.0 s).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Masking
    >>> Masking().make_trials(7, seed=0).conditions["condition"].tolist()[:3]
    ['soa16', 'soa33', 'soa50']
    """

    soas: tuple = (0.016, 0.033, 0.05, 0.066, 0.083, 0.1)
    catch: bool = True
    onset: float = 0.1
    mask_duration: float = 0.2
    target: float = 1.0
    mask: float = 1.0
    bias: float = 1.0
    mask_bias: float = -1.0
    noise: float = 0.3
    seen_rate: float = 15.0
    smooth: float = 0.05
    window: float = 0.6
    late: tuple = (0.2, 0.5)
    duration: float = 1.0
    dt: float = 1e-3

    name = "masking"
    columns = (
        Column("visibility", "visibility", ("ci_low", "ci_high"), fmt="{:.2f}"),
        Column("peak workspace rate (Hz)", "peak", None),
        Column("late workspace rate (Hz)", "late", None),
        Column("trials", "n", None, fmt="{:.0f}"),
    )
    units = {"onset": "s", "mask_duration": "s", "smooth": "s", "window": "s",
             "duration": "s", "dt": "s", "seen_rate": "Hz"}

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "soas", tuple(float(s) for s in self.soas))
        object.__setattr__(self, "late", tuple(self.late))

    def spec(self) -> TaskSpec:
        """Items in time: the target and the mask."""
        return TaskSpec("time", 2)

    def conditions(self) -> tuple:
        """Condition labels in trial order: one per SOA (``soa<ms>``), then ``absent``."""
        names = tuple(f"soa{int(round(s * 1e3))}" for s in self.soas)
        return names + (("absent",) if self.catch else ())

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        if len(self.soas) < 2 or any(not np.isfinite(s) or s <= 0 for s in self.soas) or list(
                self.soas) != sorted(set(self.soas)):
            raise ValidationError(f"Masking.soas: expected at least 2 increasing durations "
                                  f"> 0 s, e.g. (0.016, 0.05, 0.1) (got {self.soas!r})")
        for name in ("onset", "mask_duration", "smooth", "window", "duration", "dt",
                     "seen_rate"):
            check_positive(getattr(self, name), "Hz" if name == "seen_rate" else "s",
                           f"Masking.{name}")
        for name in ("target", "mask", "bias", "mask_bias", "noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(
                    value):
                raise ValidationError(f"Masking.{name}: expected a finite number (got "
                                      f"{value!r})")
        check_positive(self.noise, "1", "Masking.noise", allow_zero=True)
        end = self.onset + max(self.soas) + self.mask_duration
        if end > self.duration:
            raise ValidationError(f"Masking.duration: must hold the onset, the longest SOA and "
                                  f"the mask ({end:g} s) (got {self.duration:g} s)")
        _check_late(self.late, "Masking.late")
        if self.onset + self.late[1] > self.duration + 1e-9:
            raise ValidationError(f"Masking.late: must end within the trial "
                                  f"({self.duration - self.onset:g} s after the onset) "
                                  f"(got {self.late!r})")

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` trials cycling over the SOAs (and the catch condition)."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        on = int(round(self.onset / self.dt))
        names = self.conditions()
        stim = np.zeros((n, steps, 4), dtype=np.float32)
        rows = []
        for t in range(n):
            cond = names[t % len(names)]
            soa = self.soas[t % len(names)] if cond != "absent" else 0.0
            cut = on + int(round(soa / self.dt))
            if cond != "absent":
                stim[t, on:cut, 0] = self.target
            stim[t, cut:cut + int(round(self.mask_duration / self.dt)), 1] = self.mask
            stim[t, :, 2] = self.bias
            stim[t, :, 3] = self.mask_bias
            if self.noise > 0:
                rng = task_rng(seed, t, 16)
                stim[t, :, :2] += rng.normal(0.0, self.noise, (steps, 2)).astype(np.float32)
            rows.append({"trial": t, "condition": cond, "soa": soa if cond != "absent"
                         else np.nan, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the items while the target is on and while the mask is on:
        ``[2 trials, 4]`` (evidence, then bias); catch trials give the mask only."""
        ev = trials.role("evidence").astype(np.float64)
        bias = trials.role("bias").astype(np.float64)
        on = int(round(self.onset / trials.dt))
        rows = []
        for t, row in enumerate(trials.conditions.itertuples()):
            cut = on + (0 if row.condition == "absent" else int(round(row.soa / trials.dt)))
            end = cut + int(round(self.mask_duration / trials.dt))
            for a, b in ((on, max(cut, on + 1)), (cut, end)):
                rows.append(np.concatenate([ev[t, a:b].mean(0), bias[t, a:b].mean(0)]))
        return np.asarray(rows)

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Per trial: the target's peak smoothed readout rate (Hz), whether it was seen,
        and its late activity (mean rate over ``late`` after the onset, Hz)."""
        rates = recording.role("items")[:, :, 0]
        w = max(1, int(round(self.smooth / recording.bin_width)))
        kernel = np.ones(w) / w
        sel = (recording.times >= self.onset - 1e-9) & (
            recording.times < self.onset + self.window - 1e-9)
        peak = np.array([np.convolve(r, kernel, mode="same")[sel].max() for r in rates])
        late = late_activity(rates, recording.times, np.full(len(rates), self.onset),
                             self.late)
        return pd.DataFrame({"peak": peak, "late": late,
                             "seen": (peak > self.seen_rate).astype(int)})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Visibility by SOA, its 50 % threshold, and the bimodality near threshold."""
        out = self.readout(recording, trials)
        table = trials.conditions.copy()
        table["peak"] = out["peak"].to_numpy()
        table["late"] = out["late"].to_numpy()
        table["seen"] = out["seen"].to_numpy()
        add_subject_state(table, recording)
        table["choice"] = table["seen"]
        table["correct"] = np.where(table["condition"] == "absent", 1 - table["seen"],
                                    table["seen"])
        table["rt"] = np.nan
        groups, rows = {}, []
        for cond in self.conditions():
            sel = table["condition"] == cond
            x = table.loc[sel, "seen"].to_numpy(dtype=float)
            groups[cond] = x
            m, lo, hi = bootstrap_mean_ci(x, seed)
            rows.append({"condition": cond, "n": int(sel.sum()), "visibility": m,
                         "ci_low": lo, "ci_high": hi,
                         "peak": float(table.loc[sel, "peak"].mean()) if sel.any() else np.nan,
                         "late": float(table.loc[sel, "late"].mean()) if sel.any() else np.nan})
        summary = pd.DataFrame(rows)
        names = self.conditions()[:len(self.soas)]
        vis = [groups[c] for c in names]
        effects = [_held("visibility_threshold",
                         bootstrap_stat_ci(vis, lambda *m: threshold_crossing(self.soas, *m),
                                           seed), "masking.threshold"),
                   _held("visibility_rise",
                         bootstrap_stat_ci([vis[-1], vis[0]], lambda a, b: a - b, seed),
                         "masking.visibility_rise")]
        # late activity near threshold: the SOA whose visibility is closest to 0.5
        means = np.array([v.mean() if v.size else np.nan for v in vis])
        near = int(np.nanargmin(np.abs(means - 0.5))) if np.isfinite(means).any() else 0
        sel = table["condition"] == names[near]
        effects.append(_held(f"bimodality_{names[near]}",
                             _bimodality_ci(table.loc[sel, "late"].to_numpy(), seed),
                             "masking.bimodality"))
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def figure(self, results: dict):
        """Visibility against SOA per tier (Del Cul et al. 2007, Fig. 1), and the
        histogram of the target's late workspace activity at each SOA."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from neuroattn.study.plots import TIER_COLORS

        fig, axes = plt.subplots(1, 1 + len(results), figsize=(4.5 * (1 + len(results)), 3.6),
                                 squeeze=False)
        ax = axes[0, 0]
        names = self.conditions()[:len(self.soas)]
        x = np.asarray(self.soas) * 1e3
        for tier, res in results.items():
            s = res.summary.set_index("condition").loc[list(names)]
            y = s["visibility"].to_numpy()
            err = np.vstack([y - s["ci_low"].to_numpy(), s["ci_high"].to_numpy() - y])
            ax.errorbar(x, y, yerr=np.nan_to_num(err), marker="o", capsize=2,
                        color=TIER_COLORS.get(tier), label=tier)
        band = target("masking.threshold").band
        ax.axvspan(band[0] * 1e3, band[1] * 1e3, color="0.88", zorder=0,
                   label="published threshold")
        ax.set_xlabel("target-mask SOA (ms)")
        ax.set_ylabel("visibility (seen)")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(frameon=False, fontsize=7)
        for ax, (tier, res) in zip(axes[0, 1:], results.items()):
            t = res.table
            top = max(float(t["late"].max()), 1.0)
            bins = np.linspace(0, top, 25)
            for name in names:
                ax.hist(t.loc[t["condition"] == name, "late"], bins=bins, histtype="step",
                        label=name)
            lo, hi = (x * 1e3 for x in self.late)
            ax.set_xlabel(f"late workspace rate, {lo:.0f}-{hi:.0f} ms (Hz)")
            ax.set_ylabel("trials")
            ax.set_title(f"{tier} tier", fontsize=10)
            ax.legend(frameon=False, fontsize=6)
        fig.tight_layout()
        return fig


def _held(name, ci, key) -> Effect:
    tgt = target(key)
    return Effect.held_to(name, *ci, tgt.unit, tgt.describe(), tgt.band, tgt.null)
