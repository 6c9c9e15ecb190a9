"""Visual working-memory capacity: change detection (Luck & Vogel 1997; Cowan 2001).

A sample array of N items (N from ``set_sizes``, at N of ``locations`` places) is shown
for ``sample`` s; after a ``delay`` of about 1 s a single test item appears at one of the
sampled places (single-probe change detection, Cowan 2001), changed on half the trials.
The agent holds the sample in its ``items`` units (one per location); the task reads
the probed location's mean rate over the last ``window`` s of the delay. An item whose
rate is at least ``threshold`` Hz is **held** and compared with the test item without
error; an item not held leaves the observer to guess "change" with probability
``guess`` (a draw per trial from the task's own generator, recorded in the trial table).

Objects carry one feature (colour: ``features`` 1) or two conjoined features (colour and
orientation: ``features`` 2). Each feature of an object drives its location through
its own channel with its own noise; an object is one bound unit, so its features'
drives are averaged into the object's evidence (object-based storage, Luck & Vogel
1997): two features give the same mean drive and half the noise variance.

Trials come in pairs (2p, 2p+1) that share the set size, the locations, the probe,
whether the probe changed and the guess draw, one with single-feature objects and one
with conjunctions (matched trials, so the conjunction difference is not swamped by
guessing noise). Pairs cycle through the set sizes x {no change, change}.

Cowan's K = N (H - FA), with H the hit rate (change trials answered "change") and FA
the false-alarm rate (no-change trials answered "change"), per set size. Published
result held to (bands in ``neuroattn.tasks.targets``): K equals N within 0.5 for
N <= 3 and plateaus at 3-5 items for N >= 4; conjunction objects give the same K as
single-feature objects within 0.5 (Luck & Vogel 1997; Cowan 2001).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  check_trials_arg, task_rng)
from neuroattn.tasks.stats import bootstrap_stat_ci
from neuroattn.tasks.targets import target

__all__ = ["Capacity", "cowan_k"]

OBJECTS = {1: "feature", 2: "conjunction"}


def cowan_k(n_items, hit_rate, false_alarm_rate):
    """Cowan's K = N (H - FA): items held, from a single-probe change-detection block.

    Examples
    --------
    >>> float(cowan_k(8, 0.75, 0.25))
    4.0
    """
    return n_items * (np.asarray(hit_rate) - np.asarray(false_alarm_rate))


@dataclass(frozen=True)
class Capacity(Task):
    """Single-probe change detection.

    Parameters
    ----------
    set_sizes : tuple of int
        Numbers of items in the sample array, each 1..``locations`` (default
        (1, 2, 3, 4, 6, 8, 12)); at least one <= 3 and one >= 4.
    features : tuple of int
        Object kinds: 1 (single feature) and/or 2 (two conjoined features); default (1, 2).
    locations : int
        Places in the array, one item unit each (default 12).
    contrast : float
        Drive of a presented feature, input units (default 1.0).
    noise : float
        Std of the Gaussian noise per row on each feature channel, input units (0.3).
    fixation, sample, delay : float, seconds
        Blank before the sample (0.1 s), sample duration (0.1 s), retention interval
        (0.9 s: the test appears 1 s after sample onset). brian2 Quantities accepted.
    window : float, seconds
        End of the delay over which the probed unit's rate is read (0.2 s).
    threshold : float, hertz
        Rate at or above which the probed item counts as held (20 Hz).
    guess : float
        Probability of answering "change" when the probed item is not held (0.5).
    dt : float, seconds
        Stimulus row (5 ms; the rate probes' bin).

    Examples
    --------
    >>> from neuroattn.tasks import Capacity
    >>> trials = Capacity().make_trials(4, seed=1)
    >>> trials.conditions[["set_size", "objects", "change"]].values.tolist()
    [[1, 'feature', 0], [1, 'conjunction', 0], [1, 'feature', 1], [1, 'conjunction', 1]]
    """

    set_sizes: tuple = (1, 2, 3, 4, 6, 8, 12)
    features: tuple = (1, 2)
    locations: int = 12
    contrast: float = 1.0
    noise: float = 0.3
    fixation: float = 0.1
    sample: float = 0.1
    delay: float = 0.9
    window: float = 0.2
    threshold: float = 20.0
    guess: float = 0.5
    dt: float = 5e-3

    name = "capacity"
    #: the tiers are compared on each condition's mean rate of the probed item at the end
    #: of the delay (the trial's ``response``, Hz); choices are in the table as well
    agreement = "response"
    columns = (
        Column("Cowan's K", "k", ("k_low", "k_high"), fmt="{:.2f}"),
        Column("hits", "hit_rate", fmt="{:.2f}"),
        Column("false alarms", "fa_rate", fmt="{:.2f}"),
        Column("items held", "held", fmt="{:.2f}"),
    )
    #: 200 change and 200 no-change trials per set size and object kind. K = N (H - FA)
    #: multiplies the guessing noise of H and FA by N, so the plateau (mean K over N >= 4)
    #: spreads with an SD of about 0.35 items at 1400 trials (50 + 50 per cell), against
    #: about 0.18 here: with the softmax tier holding about 3.5 items, 1400 trials put its
    #: plateau below 3 at 2 of 5 unnamed seeds (docs/tasks/capacity.md)
    default_trials = {"run": 5600, "compare": 5600}
    units = {"fixation": "s", "sample": "s", "delay": "s", "window": "s", "dt": "s",
             "threshold": "Hz"}

    def __post_init__(self):
        super().__post_init__()
        for name in ("set_sizes", "features"):
            value = getattr(self, name)
            if isinstance(value, (list, np.ndarray)):
                object.__setattr__(self, name, tuple(value))

    def spec(self) -> TaskSpec:
        """One item unit per location of the array, laid out as memory slots."""
        return TaskSpec("slots", int(self.locations))

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_int(self.locations, "Capacity.locations", minimum=1)
        sizes = self.set_sizes
        if not isinstance(sizes, tuple) or not sizes or any(
                isinstance(n, bool) or not isinstance(n, (int, np.integer))
                or not 1 <= n <= self.locations for n in sizes) or len(set(sizes)) != len(sizes):
            raise ValidationError(f"Capacity.set_sizes: expected distinct whole numbers of "
                                  f"items in 1..{self.locations} (the locations), e.g. "
                                  f"(1, 2, 3, 4, 6, 8, 12) (got {sizes!r})")
        if min(sizes) > 3 or max(sizes) < 4:
            raise ValidationError(f"Capacity.set_sizes: the targets need at least one set "
                                  f"size <= 3 and one >= 4 (got {sizes!r})")
        feats = self.features
        if not isinstance(feats, tuple) or not feats or any(f not in OBJECTS for f in feats) \
                or len(set(feats)) != len(feats):
            raise ValidationError(f"Capacity.features: expected (1,), (2,) or (1, 2): "
                                  f"single-feature and/or conjunction objects (got {feats!r})")
        check_positive(float(self.contrast), "1", "Capacity.contrast")
        check_positive(float(self.noise), "1", "Capacity.noise", allow_zero=True)
        for name in ("fixation",):
            check_positive(getattr(self, name), "s", f"Capacity.{name}", allow_zero=True)
        for name in ("sample", "delay", "window", "dt"):
            check_positive(getattr(self, name), "s", f"Capacity.{name}")
        if self.window > self.delay:
            raise ValidationError(f"Capacity.window: must fit in the delay, <= "
                                  f"{self.delay:g} s (got {self.window:g} s)")
        check_positive(self.threshold, "Hz", "Capacity.threshold")
        if not 0.0 <= float(self.guess) <= 1.0:
            raise ValidationError(f"Capacity.guess: expected a probability in [0, 1] (got "
                                  f"{self.guess!r})")

    @property
    def duration(self) -> float:
        """Trial length (s): fixation, sample and delay; the test follows."""
        return self.fixation + self.sample + self.delay

    def _cell(self, t: int):
        pair, member = divmod(t, len(self.features))
        n_cells = 2 * len(self.set_sizes)
        cell = pair % n_cells
        return pair, self.set_sizes[cell // 2], int(cell % 2), self.features[member]

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` trials (see the module notes for the pairing and the cycle)."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        dt = self.dt
        steps = int(round(self.duration / dt))
        on, off = int(round(self.fixation / dt)), int(round((self.fixation + self.sample) / dt))
        k = int(self.locations)
        stim = np.zeros((n, steps, 2 * k), dtype=np.float32)
        rows = []
        for t in range(n):
            pair, size, change, feats = self._cell(t)
            shared = task_rng(seed, pair, 1)
            locs = np.sort(shared.choice(k, size, replace=False))
            probe = int(shared.choice(locs))
            draw = float(shared.uniform())
            rng = task_rng(seed, t, 2)
            drive = np.zeros((steps, k))
            drive[on:off, locs] = self.contrast
            if self.noise > 0:
                # each feature channel has its own noise; a bound object averages them
                drive += rng.normal(0.0, self.noise, (feats, steps, k)).mean(axis=0)
            stim[t, :, :k] = drive
            rows.append({"trial": t, "condition": f"{OBJECTS[feats]} N={size}",
                         "set_size": size, "objects": OBJECTS[feats], "features": feats,
                         "change": change, "probe": probe, "guess_draw": draw,
                         "locations": " ".join(str(x) for x in locs), "seed": seed})
        return Trials(stim, dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and bias over the sample [trials, 2 locations]."""
        on = int(round(self.fixation / trials.dt))
        off = int(round((self.fixation + self.sample) / trials.dt))
        ev = trials.role("evidence")[:, on:off].astype(np.float64).mean(axis=1)
        bias = trials.role("bias")[:, on:off].astype(np.float64).mean(axis=1)
        return np.concatenate([ev, bias], axis=1)

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Per trial: the probed unit's rate, whether it is held, the answer, held count."""
        if trials is None:
            raise ValidationError("Capacity.readout.trials: the readout needs the trials "
                                  "(which location was probed); pass the Trials")
        rates = recording.role("items")
        if rates.shape[0] != trials.n or rates.shape[2] != self.locations:
            raise ValidationError(f"Capacity.readout.recording: expected item rates of "
                                  f"shape [{trials.n}, bins, {self.locations}] (got "
                                  f"{rates.shape})")
        times = recording.times
        sel = (times >= self.duration - self.window - 1e-9) & (times < self.duration - 1e-9)
        if not sel.any():
            raise ValidationError(f"Capacity.readout.recording: no bins in the last "
                                  f"{self.window:g} s of the delay; the recording is "
                                  f"{times[-1] + recording.bin_width:g} s long")
        memory = rates[:, sel].mean(axis=1)
        cond = trials.conditions
        probe = cond["probe"].to_numpy()
        probed = memory[np.arange(trials.n), probe]
        held = probed >= self.threshold
        change = cond["change"].to_numpy().astype(bool)
        guessed = cond["guess_draw"].to_numpy() < self.guess
        choice = np.where(held, change, guessed).astype(int)
        n_held = np.empty(trials.n)
        for t, locs in enumerate(cond["locations"]):
            idx = np.array([int(x) for x in str(locs).split()])
            n_held[t] = float(np.sum(memory[t, idx] >= self.threshold))
        return pd.DataFrame({"probe_rate": probed, "held": held.astype(int), "choice": choice,
                             "n_held": n_held})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, K per object kind and set size, and the effects with 95 % CIs."""
        out = self.readout(recording, trials)
        table = trials.conditions.copy()
        for col in out:
            table[col] = out[col].to_numpy()
        table["correct"] = (table["choice"] == table["change"]).astype(int)
        table["response"] = table["probe_rate"]
        table["rt"] = np.nan
        rows, k_est = [], {}
        for feats in self.features:
            for size in self.set_sizes:
                part = table[(table["features"] == feats) & (table["set_size"] == size)]
                hits = part.loc[part["change"] == 1, "choice"].to_numpy(float)
                fas = part.loc[part["change"] == 0, "choice"].to_numpy(float)
                est = bootstrap_stat_ci([hits, fas], lambda h, f, n=size: cowan_k(n, h, f),
                                        seed)
                k_est[(feats, size)] = (hits, fas)
                rows.append({"condition": f"{OBJECTS[feats]} N={size}", "n": len(part),
                             "objects": OBJECTS[feats], "set_size": size,
                             "k": est[0], "k_low": est[1], "k_high": est[2],
                             "hit_rate": hits.mean() if hits.size else np.nan,
                             "fa_rate": fas.mean() if fas.size else np.nan,
                             "held": part["n_held"].mean() if len(part) else np.nan})
        summary = pd.DataFrame(rows)
        effects = []
        for feats in self.features:
            effects += self._effects(feats, k_est, seed)
        if len(self.features) == 2:
            effects.append(self._conjunction(k_est, seed))
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def _groups(self, feats, sizes, k_est):
        groups = []
        for size in sizes:
            groups += list(k_est[(feats, size)])
        return groups

    @staticmethod
    def _mean_k(sizes):
        def stat(*means):
            return np.mean([cowan_k(n, means[2 * i], means[2 * i + 1])
                            for i, n in enumerate(sizes)], axis=0)
        return stat

    def _effects(self, feats, k_est, seed) -> list:
        kind = OBJECTS[feats]
        small = [n for n in self.set_sizes if n <= 3]
        large = [n for n in self.set_sizes if n >= 4]

        def worst(*means):
            return np.max([np.abs(cowan_k(n, means[2 * i], means[2 * i + 1]) - n)
                           for i, n in enumerate(small)], axis=0)

        out = []
        tgt = target("capacity.k_small")
        est = bootstrap_stat_ci(self._groups(feats, small, k_est), worst, seed)
        out.append(Effect.held_to(f"k_small_error_{kind}", *est, tgt.unit, tgt.describe(),
                                  tgt.band, tgt.null))
        tgt = target("capacity.k_plateau")
        est = bootstrap_stat_ci(self._groups(feats, large, k_est), self._mean_k(large), seed)
        out.append(Effect.held_to(f"k_plateau_{kind}", *est, tgt.unit, tgt.describe(),
                                  tgt.band, tgt.null))
        return out

    def _conjunction(self, k_est, seed) -> Effect:
        sizes = list(self.set_sizes)
        mean_k = self._mean_k(sizes)
        m = 2 * len(sizes)

        def diff(*means):
            return mean_k(*means[m:]) - mean_k(*means[:m])

        groups = self._groups(1, sizes, k_est) + self._groups(2, sizes, k_est)
        tgt = target("capacity.conjunction")
        est = bootstrap_stat_ci(groups, diff, seed)
        return Effect.held_to("k_conjunction_minus_feature", *est, tgt.unit, tgt.describe(),
                              tgt.band, tgt.null)

    def figure(self, results: dict):
        """Cowan's K (left) and the items held at the end of the delay (right) against set
        size, per object kind and tier, with the published plateau and K = N."""
        from neuroattn.study.plots import TIER_COLORS, plt

        fig, (ax, ax_held) = plt.subplots(1, 2, figsize=(9.0, 3.8), sharey=True)
        sizes = np.asarray(self.set_sizes, float)
        large = sizes[sizes >= 4]
        small = sizes[sizes <= 3]
        top = max(6.5, float(np.ceil(max(min(sizes.max(), 8.0), 4.0))) + 0.5)
        for a in (ax, ax_held):
            if large.size:
                a.fill_between([large.min() - 0.3, large.max() + 0.3], 3, 5, color="0.9",
                               label="published plateau 3-5")
            a.plot(np.r_[0.5, small, 3.5], np.r_[0.5, small, 3.5], ":", color="0.5",
                   label="K = N")
            a.set_xticks(sizes)
            a.set_xlabel("set size N (items in the sample array)")
            a.set_ylim(0, top)
        styles = {"feature": ("o", "-"), "conjunction": ("s", "--")}
        for tier, res in results.items():
            s = res.summary
            for kind, (marker, ls) in styles.items():
                part = s[s["objects"] == kind]
                if part.empty:
                    continue
                x = part["set_size"].to_numpy(float)
                y = part["k"].to_numpy(float)
                err = np.abs(np.vstack([y - part["k_low"].to_numpy(float),
                                        part["k_high"].to_numpy(float) - y]))
                color = TIER_COLORS.get(tier, "k")
                ax.errorbar(x, y, yerr=err, marker=marker, ls=ls, capsize=2, color=color,
                            label=f"{tier}, {kind}")
                ax_held.plot(x, part["held"].to_numpy(float), marker=marker, ls=ls,
                             color=color, label=f"{tier}, {kind}")
        ax.set_ylabel("Cowan's K = N (H - FA), 95 % CI")
        ax_held.set_ylabel("sampled items held at the end of the delay")
        ax.set_title("change detection (Luck & Vogel 1997; Cowan 2001)", fontsize=10)
        ax_held.set_title("the store: items still active at test", fontsize=10)
        ax_held.legend(frameon=False, fontsize=7, loc="upper left")
        fig.tight_layout()
        return fig
