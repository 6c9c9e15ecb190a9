"""Inattentional blindness: an unexpected stimulus during an ongoing ignition goes unseen.

While the observer attends to a task, a salient but unexpected stimulus often goes
unnoticed (Mack & Rock 1998). In the global-workspace account (Dehaene & Changeux
2005) the attended stimulus has ignited the workspace, and for as long as that
ignition lasts it blocks any other: the unexpected stimulus drives its processors as
strongly as ever but does not ignite. As in Mack & Rock's displays, the primary is
followed by a pattern mask. Three items are presented to the agent, each with its own
processor and readout:

* item 0, the **primary** stimulus (the task: a target, ``bias`` on its item);
* item 1, the **probe**, the unexpected stimulus: stronger (``probe`` evidence) but
  outside the task set (``probe_bias``, 0: neither a target nor to be ignored);
* item 2, the **mask** that follows the primary (``mask`` evidence, ``mask_bias``: -1,
  to be ignored, like a distractor of a stream).

Conditions (alternating over trials):

* ``busy`` -- the primary comes on at ``onset`` for ``primary_duration``, the mask right
  after it for ``mask_duration``; the probe ``delay`` seconds after the primary's onset,
  for ``probe_duration``;
* ``rest`` -- the same mask and probe at the same times, no primary.

A stimulus is **seen** (ignites) when its readout (the workspace assembly, in the
workspace mechanism), averaged over ``smooth`` s, passes ``seen_rate`` Hz within
``window`` s of its onset. The probe's ignition rate in ``busy`` trials is taken over
those in which the primary ignited (a stimulus *during an ongoing ignition*).

Published result held to (band in ``neuroattn.tasks.targets``): a stimulus during an
ongoing ignition ignites less than half as often as the same stimulus at rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  add_subject_state, check_trials_arg, task_rng)
from neuroattn.tasks.stats import bootstrap_mean_ci, bootstrap_stat_ci
from neuroattn.tasks.targets import target

__all__ = ["Blindness"]

CONDITIONS = ("busy", "rest")
PRIMARY, PROBE, MASK = 0, 1, 2


@dataclass(frozen=True)
class Blindness(Task):
    """The inattentional-blindness paradigm (see the module notes).

    Parameters
    ----------
    onset : float, seconds
        Onset of the primary stimulus (100 ms).
    primary_duration, probe_duration : float, seconds
        How long the primary and the probe stay on (100 ms each).
    delay : float, seconds
        Probe onset after the primary's onset (200 ms: while the primary's ignition,
        which starts 100-200 ms after its onset, holds the workspace).
    primary, probe : float
        Evidence of the primary (1.0) and of the probe (1.5: salient).
    mask : float
        Evidence of the mask that follows the primary (1.0; 0: no mask).
    mask_duration : float, seconds
        How long the mask stays on (100 ms, from the primary's offset).
    bias : float
        Task set on the primary's item (1.0: a target).
    probe_bias : float
        Task set on the probe's item (0.0: unexpected, outside the task set).
    mask_bias : float
        Task set on the mask's item (-1.0: to be ignored).
    noise : float
        Std of the Gaussian noise per row on each evidence channel (0.3).
    seen_rate : float, hertz
        Readout rate above which a stimulus counts as ignited (15 Hz).
    smooth, window : float, seconds
        Averaging window of the readout (50 ms) and the time after a stimulus' onset
        within which it must ignite (500 ms).
    tail : float, seconds
        Time after the probe's window (0: the trial ends with it).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Blindness
    >>> trials = Blindness(noise=0.0).make_trials(4, seed=0)
    >>> trials.conditions["condition"].tolist()
    ['busy', 'rest', 'busy', 'rest']
    >>> float(trials.stimulus[0, :, 0].max()), float(trials.stimulus[1, :, 0].max())
    (1.0, 0.0)
    """

    onset: float = 0.1
    primary_duration: float = 0.1
    probe_duration: float = 0.1
    delay: float = 0.2
    primary: float = 1.0
    probe: float = 1.5
    mask: float = 1.0
    mask_duration: float = 0.1
    bias: float = 1.0
    probe_bias: float = 0.0
    mask_bias: float = -1.0
    noise: float = 0.3
    seen_rate: float = 15.0
    smooth: float = 0.05
    window: float = 0.5
    tail: float = 0.0
    dt: float = 1e-3

    name = "blindness"
    #: 200 trials per condition: with the workspace's per-trial state a busy probe
    #: ignites on ~15-30 % of trials, and the ratio's sampling error at 100 trials per
    #: condition (~0.08) reaches its band's edge (docs/tasks/blindness.md)
    default_trials = {"run": 400, "compare": 400}
    columns = (
        Column("probe ignited", "probe_seen", ("ci_low", "ci_high"), fmt="{:.2f}"),
        Column("primary ignited", "primary_seen", None, fmt="{:.2f}"),
        Column("probe peak rate (Hz)", "probe_peak", None),
        Column("trials", "n", None, fmt="{:.0f}"),
    )
    units = {"onset": "s", "primary_duration": "s", "probe_duration": "s", "delay": "s",
             "mask_duration": "s", "smooth": "s", "window": "s", "tail": "s", "dt": "s",
             "seen_rate": "Hz"}

    def spec(self) -> TaskSpec:
        """Items in time: the primary, the probe and the mask."""
        return TaskSpec("time", 3)

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        for name in ("onset", "primary_duration", "probe_duration", "delay", "mask_duration",
                     "smooth", "window", "dt", "seen_rate", "tail"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"Blindness.{name}: expected a number (got {value!r})")
            check_positive(value, "Hz" if name == "seen_rate" else "s", f"Blindness.{name}",
                           allow_zero=name == "tail")
        for name in ("primary", "probe", "mask", "bias", "probe_bias", "mask_bias", "noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not \
                    np.isfinite(value):
                raise ValidationError(f"Blindness.{name}: expected a finite number (got "
                                      f"{value!r})")
        for name in ("primary", "probe", "mask", "noise"):
            check_positive(getattr(self, name), "1", f"Blindness.{name}", allow_zero=True)
        if self.dt > min(self.primary_duration, self.probe_duration):
            raise ValidationError(f"Blindness.dt: must be shorter than the stimuli "
                                  f"({min(self.primary_duration, self.probe_duration):g} s) "
                                  f"(got {self.dt:g} s)")

    @property
    def probe_onset(self) -> float:
        """Probe onset (s) from the start of the trial."""
        return self.onset + self.delay

    @property
    def duration(self) -> float:
        """Trial length (s): through the probe's window, and the tail."""
        return max(self.probe_onset + self.window,
                   self.onset + self.window) + self.tail

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` trials alternating ``busy`` and ``rest``."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        p0 = int(round(self.onset / self.dt))
        p1 = p0 + max(1, int(round(self.primary_duration / self.dt)))
        q0 = int(round(self.probe_onset / self.dt))
        q1 = q0 + max(1, int(round(self.probe_duration / self.dt)))
        m1 = min(steps, p1 + int(round(self.mask_duration / self.dt)))
        stim = np.zeros((n, steps, 6), dtype=np.float32)
        rows = []
        for t in range(n):
            cond = CONDITIONS[t % len(CONDITIONS)]
            if cond == "busy":
                stim[t, p0:p1, PRIMARY] = self.primary
            stim[t, p1:m1, MASK] = self.mask
            stim[t, q0:q1, PROBE] = self.probe
            stim[t, :, 3 + PRIMARY] = self.bias
            stim[t, :, 3 + PROBE] = self.probe_bias
            stim[t, :, 3 + MASK] = self.mask_bias
            if self.noise > 0:
                rng = task_rng(seed, t, 17)
                stim[t, :, :3] += rng.normal(0.0, self.noise, (steps, 3)).astype(np.float32)
            rows.append({"trial": t, "condition": cond, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the items while the primary's slot is on and while the probe is on:
        ``[2 trials, 6]`` (evidence, then bias)."""
        ev = trials.role("evidence").astype(np.float64)
        bias = trials.role("bias").astype(np.float64)
        spans = []
        for onset, length in ((self.onset, self.primary_duration),
                              (self.probe_onset, self.probe_duration)):
            a = int(round(onset / trials.dt))
            spans.append((a, a + max(1, int(round(length / trials.dt)))))
        rows = []
        for t in range(trials.n):
            for a, b in spans:
                rows.append(np.concatenate([ev[t, a:b].mean(0), bias[t, a:b].mean(0)]))
        return np.asarray(rows)

    def _peak(self, recording, item: int, onset: float) -> np.ndarray:
        """Per trial, the item's peak smoothed readout rate (Hz) within ``window`` of
        ``onset``."""
        rates = recording.role("items")[:, :, item]
        w = max(1, int(round(self.smooth / recording.bin_width)))
        kernel = np.ones(w) / w
        times = recording.times
        sel = (times >= onset - 1e-9) & (times < onset + self.window - 1e-9)
        if not sel.any():
            raise ValidationError(f"Blindness.readout: the recording ({times[-1]:g} s) does "
                                  f"not reach the window after {onset:g} s")
        return np.array([np.convolve(r, kernel, mode="same")[sel].max() for r in rates])

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Per trial: the primary's and the probe's peak readout rates (Hz) and whether
        each ignited."""
        p = self._peak(recording, PRIMARY, self.onset)
        q = self._peak(recording, PROBE, self.probe_onset)
        return pd.DataFrame({"primary_peak": p, "probe_peak": q,
                             "primary_seen": (p > self.seen_rate).astype(int),
                             "probe_seen": (q > self.seen_rate).astype(int)})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """The probe's ignition rate during an ignition and at rest, and their ratio."""
        out = self.readout(recording, trials)
        table = trials.conditions.copy()
        for col in out:
            table[col] = out[col].to_numpy()
        add_subject_state(table, recording)
        busy = table["condition"] == "busy"
        # during an ongoing ignition: busy trials whose primary ignited; every rest trial
        table["valid"] = ~busy | (table["primary_seen"] == 1)
        table["choice"] = table["probe_seen"]
        table["correct"] = table["probe_seen"]
        table["rt"] = np.nan
        groups, rows = {}, []
        for cond in CONDITIONS:
            sel = table["condition"] == cond
            x = table.loc[sel & table["valid"], "probe_seen"].to_numpy(dtype=float)
            groups[cond] = x
            m, lo, hi = bootstrap_mean_ci(x, seed)
            rows.append({"condition": cond, "n": int(sel.sum()), "n_valid": int(x.size),
                         "probe_seen": m, "ci_low": lo, "ci_high": hi,
                         "primary_seen": float(table.loc[sel, "primary_seen"].mean())
                         if sel.any() else np.nan,
                         "probe_peak": float(table.loc[sel & table["valid"],
                                                       "probe_peak"].mean())
                         if (sel & table["valid"]).any() else np.nan})
        summary = pd.DataFrame(rows)
        tgt = target("blindness.ratio")
        ci = bootstrap_stat_ci([groups["busy"], groups["rest"]], lambda b, r: b / r, seed)
        effects = (Effect.held_to("blindness_ratio", *ci, tgt.unit, tgt.describe(), tgt.band,
                                  tgt.null),)
        return TaskResult(table, effects, summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def figure(self, results: dict):
        """The probe's ignition rate at rest and during an ignition per tier (bars with
        CIs), and the histograms of its peak workspace rate in each condition."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 1 + len(results), figsize=(4.5 * (1 + len(results)), 3.6),
                                 squeeze=False)
        ax = axes[0, 0]
        width = 0.8 / max(len(results), 1)
        for j, (tier, res) in enumerate(results.items()):
            s = res.summary.set_index("condition").loc[["rest", "busy"]]
            y = s["probe_seen"].to_numpy()
            err = np.vstack([y - s["ci_low"].to_numpy(), s["ci_high"].to_numpy() - y])
            ax.bar(np.arange(2) + j * width, y, width, yerr=np.nan_to_num(err), capsize=3,
                   label=tier)
        ax.set_xticks(np.arange(2) + 0.4 - width / 2)
        ax.set_xticklabels(["at rest", "during an ignition"])
        ax.set_ylabel("probe ignited")
        ax.set_ylim(0, 1.05)
        ax.legend(frameon=False, fontsize=7)
        for ax, (tier, res) in zip(axes[0, 1:], results.items()):
            t = res.table[res.table["valid"]]
            top = max(float(t["probe_peak"].max()), 1.0)
            bins = np.linspace(0, top, 25)
            for cond, label in (("rest", "at rest"), ("busy", "during an ignition")):
                ax.hist(t.loc[t["condition"] == cond, "probe_peak"], bins=bins,
                        histtype="step", label=label)
            ax.axvline(self.seen_rate, color="k", ls=":")
            ax.set_xlabel("probe's peak workspace rate (Hz)")
            ax.set_ylabel("trials")
            ax.set_title(f"inattentional blindness, {tier} tier", fontsize=10)
            ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        return fig
