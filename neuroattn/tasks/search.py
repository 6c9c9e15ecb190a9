"""Visual search (Treisman & Gelade 1980; Wolfe, Palmer & Horowitz 2010).

A display holds ``set_size`` items (3, 6, 12 or 18) at random locations among
``max(set_sizes)``; on half the trials one of them is the target. Three kinds of search,
run in the same trial list:

* ``feature``: the target differs from every distractor in one feature (a red bar among
  green ones). It is a feature singleton: bottom-up salience marks it
  (``feature_contrast``) and the top-down template guides to it fully.
* ``conjunction``: the target shares one feature with each distractor type (a red
  vertical among green verticals and red horizontals): no bottom-up singleton, and each
  distractor matches half of the template.
* ``configuration``: a "2" among "5"s: the same line segments in another arrangement,
  so neither salience nor the template tells target from distractor.

The observer (Guided Search: Wolfe 1994, 2021) searches a priority map, one item at a
time. Every item's input to the attention mechanism is its priority: bottom-up
``evidence`` (``salience`` for every item, plus ``feature_contrast`` for a feature
singleton, plus a priority noise drawn once per item and trial, ``priority_noise``) and
a top-down ``bias`` that suppresses each item in proportion to how far its features miss
the target template (``-guidance x mismatch``: 0 for the target; 1/2 for conjunction
distractors, which share one of two features; 1 for feature distractors; 0 for every
item in configuration search, where nothing guides). Empty locations receive nothing.

One more unit competes with the items: the **quit unit** (Competitive Guided Search:
Moran, Zehetleitner, Mueller & Usher 2013), the last location the mechanism sees. Its
input is ``quit_drive + quit_growth * ln(1 + j)`` after rejecting items that count ``j``:
the count on a compressed, logarithmic scale, as numerosity is coded (Nieder & Miller
2003). Through the competition's exponential dependence of rate on input (temperature T)
the quit unit's weight grows as ``(1 + j) ** (quit_growth / T)``, a little faster than in
proportion to the count (Competitive Guided Search's quit weight grows by a fixed step
per rejection), and ``quit_drive`` (below 0) keeps it weak until a good share of the
display has been rejected. A rejection counts ``exp(quit_mismatch x guidance x
mismatch)`` (:meth:`Search.rejection_weight`; an item selected and rejected again counts
again): 1 where the template does not guide (configuration search), more for an item the
template held down, whose rejection is stronger evidence that no target is there -- a
target would have been selected before it by the competition's odds, ``exp(guidance x
mismatch / T)``. With ``quit_mismatch`` near ``1 / quit_growth`` the count raises the
quit weight by about those odds, so the quit unit wins after a share of the items that
shrinks as guidance grows, in step with the share inspected before a target is found, and
the absent:present slope ratio of guided (conjunction) search stays near that of
unguided (configuration) search. The items still in the competition hold the quit unit
down through the mechanism's own shared inhibition (the more, and the more salient,
items remain, the less it wins). Selecting it ends the search "absent".

A selection is one run of the mechanism's competition on these inputs (the spiking
circuit, or the softmax layer). The competition has settled when the first unit's rate
drives the decision stage's accumulator to ``bound`` (:func:`~neuroattn.tasks.decision.
race_to_bound`, the stage Posner uses, counting from ``onset`` after the round
begins); the item selected is one sample of hard attention
(:func:`neuroattn.attention.hard_attention`) over the units' mean rates until then,
among the units whose mean rate exceeds ``criterion`` (Guided Search's activation
threshold): a sample of the competition's own attention weights, whose ratios the
shared inhibition leaves about unchanged whatever the number of items. It is then
identified, which takes ``identification`` s while the competition runs on. A target
ends the search: it is confirmed (``verification`` s) and the observer answers
"present"; a distractor is rejected: the observer marks it by top-down inhibition (bias
``-inhibition`` for the rest of the trial) and the competition starts again among the
rest. The search ends "absent" when the quit unit wins a selection (it needs no
identification: the response follows its selection); when every item of the display has
been rejected (nothing is left to select, as when the quit unit is all that remains in
Competitive Guided Search: the response follows at ``onset`` into the next round); or by
Guided Search's activation threshold, the decision stage's own: when no unit drives an
accumulator to the bound within ``selection_window`` s. A miss is a quit before the
target was selected, more likely the more distractors come first, so misses rise with
set size; calling a distractor a target (a false alarm) needs a selection of it that
identification takes for the target, which this observer never does.

A selection's dwell -- ``onset``, the time the competition takes to settle on one item,
and ``identification`` -- therefore comes from the dynamics and these parameters; no time
is set per set size or search type. RT = the sum of the dwells until the response + a
non-decision time, uniform over ``t_nd +- t_nd_range / 2`` (Posner's stage and values).

The search is closed-loop: each selection's input depends on the items rejected before,
so :meth:`Search.run` drives the agent one selection at a time and returns a Recording of
the whole search (the episodes' rates, spliced in time, zero after the response);
:meth:`Search.readout` walks that Recording with the same rule. Given the rates of a
single open-loop run (the display without any inhibition of rejected items) the walk
reads one selection and stops where the recording does.

Published result held to (targets in :mod:`neuroattn.tasks.targets`; Wolfe, Palmer &
Horowitz 2010 raw data; Treisman & Gelade 1980): target-present slopes |feature| < 5,
conjunction 5-30, configuration 25-60 ms/item; absent:present slope ratio 1.5-3.0 for
conjunction and configuration; mean RT linear in set size (R^2 >= 0.9) for the
inefficient searches; misses rise with set size; false alarms <= 3 %; RTs in the human
range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model import Recording
from neuroattn.model.units import check_int, check_positive
from neuroattn.tasks.base import (
    Column,
    Effect,
    Task,
    TaskResult,
    TaskSpec,
    Trials,
    check_trials_arg,
    task_rng,
)
from neuroattn.tasks.decision import race_to_bound, uniform_nondecision
from neuroattn.tasks.stats import bootstrap_diff_ci, bootstrap_mean_ci, bootstrap_stat_ci
from neuroattn.tasks.targets import TARGETS

__all__ = ["Search", "SEARCH_TYPES", "template_mismatch"]

#: The search types, from the most to the least guided.
SEARCH_TYPES = ("feature", "conjunction", "configuration")
#: Template mismatch (0: matches the target's features, 1: matches none) of a distractor.
_MISMATCH = {"feature": 1.0, "conjunction": 0.5, "configuration": 0.0}
#: The inefficient searches, held to the slope-ratio and linearity bands.
INEFFICIENT = ("conjunction", "configuration")


def template_mismatch(search_type: str) -> float:
    """How far a distractor's features miss the target template, in [0, 1].

    Examples
    --------
    >>> [template_mismatch(t) for t in SEARCH_TYPES]
    [1.0, 0.5, 0.0]
    """
    if search_type not in _MISMATCH:
        raise ValidationError(f"Search.search_types: expected names from {list(SEARCH_TYPES)} "
                              f"(got {search_type!r})")
    return _MISMATCH[search_type]


@dataclass(frozen=True)
class Search(Task):
    """Visual search for a target among distractors, three search types.

    Parameters
    ----------
    set_sizes : tuple of int
        Items per display (default 3, 6, 12, 18); the mechanism sees ``max(set_sizes)``
        locations.
    search_types : tuple of str
        Any of ``'feature'``, ``'conjunction'``, ``'configuration'`` (default all three).
    present_fraction : float
        Share of trials with a target (default 0.5).
    salience : float
        Bottom-up input of every item (default 2.65, units of the agents' input): high
        enough that a conjunction distractor stays above the activation threshold
        (``criterion``) among 18 items.
    feature_contrast : float
        Extra bottom-up input of a feature singleton (default 1.5).
    guidance : float
        Top-down suppression per unit of template mismatch (default 2.1): feature
        distractors get ``-guidance`` (below the activation threshold), conjunction
        distractors ``-guidance/2``.
    priority_noise : float
        Std of the noise added to each item's priority, drawn once per item and trial
        (default 0.3).
    noise : float
        Std of the Gaussian input noise per row on every bottom-up channel, drawn afresh
        for every selection (default 1.0, as in Posner).
    inhibition : float
        Top-down inhibition of a rejected item (default 5.0; it must outweigh the
        highest priority, so a rejected item stays below threshold when it is left alone).
    quit_drive : float
        Input of the quit unit, the competitor whose selection ends the search "absent",
        at the start of a search (default -1.25, units of the agents' input: it keeps the
        quit unit below the activation threshold until several items are rejected, so
        that small displays are mostly searched to the end: misses at 3 items 0-9 %).
    quit_growth : float
        Growth of the quit unit's input with the log of the count: ``quit_growth *
        ln(1 + j)`` after rejected items that count ``j`` (default 1.3, about 1.5 times
        the competition's temperature: the quit unit's weight grows as about
        ``(1 + j) ** 1.5``).
    quit_mismatch : float
        How much more a rejected item the template held down counts towards quitting
        (default 1.0, per unit of input): it counts ``exp(quit_mismatch x guidance x
        mismatch)`` (1 in configuration search, 2.9 for a conjunction distractor at the
        defaults). At ``1 / quit_growth`` it would raise the quit unit's weight by the odds
        ``exp(guidance x mismatch / T)`` the competition gave a target over the rejected
        item for large counts; at the counts where the quit unit wins (2-8) the 1 in
        ``ln(1 + j)`` dilutes that, and 1.0 makes up for it. 0 counts every item 1
        whatever the guidance.
    criterion : float, hertz
        Rate the selection accumulators count from (default 12.5 Hz, as Posner).
    bound : float, hertz x seconds
        Accumulated excess rate that selects an item (default 1.0).
    leak : float, seconds
        Time constant of the accumulators' leak (default 0.2 s, as Posner).
    selection_window : float, seconds
        Longest wait for a selection, counted from ``onset``; none within it ends the
        search "absent" (default 0.1 s).
    onset : float, seconds
        Latency of the selection stage in each selection round: the accumulators count
        (and the sample is drawn) from ``onset`` after the round begins, once the
        circuit's competition has set up (default 10 ms, two rate bins of the spiking
        circuit: its non-selective onset burst, in which every population fires before
        the shared inhibition arrives, and the inhibition's overshoot after it, which
        still lifts the suppressed items' rates).
    identification : float, seconds
        Time to identify the selected item, target or distractor (default 95 ms: with
        ``onset`` the dwell's fixed part is 105 ms).
    verification : float, seconds
        Time to confirm an item identified as the target before the "present" response
        is made (default 0.1 s); paid once per present response.
    t_nd, t_nd_range : float, seconds
        Mean (200 ms) and range (100 ms) of the uniform non-decision time (as Posner).
    dt : float, seconds
        Stimulus row (default 1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Search
    >>> trials = Search().make_trials(4, seed=1)
    >>> trials.stimulus.shape
    (4, 205, 38)
    >>> sorted(trials.conditions["search_type"].unique())[:2]
    ['configuration', 'conjunction']
    """

    set_sizes: tuple = (3, 6, 12, 18)
    search_types: tuple = SEARCH_TYPES
    present_fraction: float = 0.5
    salience: float = 2.65
    feature_contrast: float = 1.5
    guidance: float = 2.1
    priority_noise: float = 0.3
    noise: float = 1.0
    inhibition: float = 5.0
    quit_drive: float = -1.25
    quit_growth: float = 1.3
    quit_mismatch: float = 1.0
    criterion: float = 12.5
    bound: float = 1.0
    leak: float = 0.2
    selection_window: float = 0.1
    onset: float = 0.01
    identification: float = 0.095
    verification: float = 0.1
    t_nd: float = 0.2
    t_nd_range: float = 0.1
    dt: float = 1e-3

    name = "search"
    #: 160 trials per (search type, set size, presence) cell: a serial search's present RT
    #: spreads over the target's place in the order, so a cell's mean needs them (at 80
    #: the absent:present ratios' sampling error alone moved them by +-0.2-0.3 between
    #: seeds); a comparison costs about 280 CPU s on numba (docs/tasks/search.md)
    default_trials = {"run": 3840, "compare": 3840}
    columns = (
        Column("n", "n", fmt="{:.0f}"),
        Column("RT ms [95% CI]", "rt_mean", ci=("rt_ci_low", "rt_ci_high"), scale=1e3),
        Column("errors", "errors", fmt="{:.3f}"),
        Column("selections", "selections", fmt="{:.2f}"),
    )
    units = {**dict.fromkeys(("leak", "selection_window", "onset", "identification",
                              "verification",
                              "t_nd", "t_nd_range", "dt"), "s"), "criterion": "Hz"}

    def __post_init__(self):
        for name in ("set_sizes", "search_types"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        super().__post_init__()

    # ------------------------------------------------------------------ contract
    def spec(self) -> TaskSpec:
        """``max(set_sizes)`` locations in space and the quit unit (the last one), each
        with evidence and bias; items read."""
        self.validate()
        return TaskSpec("space", self.n_locations + 1, serial=True)

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        sizes = self.set_sizes
        if (not isinstance(sizes, tuple) or len(sizes) < 2 or
                any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 2
                    for s in sizes) or len(set(sizes)) != len(sizes)):
            raise ValidationError(f"Search.set_sizes: expected at least two different whole "
                                  f"numbers >= 2, e.g. (3, 6, 12, 18) (got {sizes!r})")
        if max(sizes) > 64:
            raise ValidationError(f"Search.set_sizes: at most 64 items per display (got "
                                  f"{max(sizes)})")
        types = self.search_types
        if not isinstance(types, tuple) or not types or len(set(types)) != len(types):
            raise ValidationError(f"Search.search_types: expected a non-empty tuple of "
                                  f"distinct names from {list(SEARCH_TYPES)} (got {types!r})")
        for t in types:
            template_mismatch(t)
        if not (isinstance(self.present_fraction, (int, float))
                and 0.0 < self.present_fraction < 1.0):
            raise ValidationError(f"Search.present_fraction: expected a fraction in (0, 1) "
                                  f"(got {self.present_fraction!r})")
        if (isinstance(self.quit_drive, bool) or not isinstance(self.quit_drive, (int, float))
                or not np.isfinite(self.quit_drive)):
            raise ValidationError(f"Search.quit_drive: expected a finite number (got "
                                  f"{self.quit_drive!r})")
        for name in ("salience", "feature_contrast", "guidance", "priority_noise", "noise",
                     "inhibition", "quit_growth", "quit_mismatch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"Search.{name}: expected a number >= 0 (got {value!r})")
            check_positive(value, "1", f"Search.{name}", allow_zero=True)
        check_positive(self.criterion, "Hz", "Search.criterion", allow_zero=True)
        if not (isinstance(self.bound, (int, float)) and np.isfinite(self.bound)
                and self.bound > 0):
            raise ValidationError(f"Search.bound: must be > 0 Hz s (got {self.bound!r}); pass "
                                  f"e.g. 1.0")
        for name in ("leak", "selection_window", "dt"):
            check_positive(getattr(self, name), "s", f"Search.{name}")
        for name in ("onset", "identification", "verification", "t_nd_range"):
            check_positive(getattr(self, name), "s", f"Search.{name}", allow_zero=True)
        if not self.t_nd - self.t_nd_range / 2 >= 0:
            raise ValidationError(f"Search.t_nd: expected t_nd - t_nd_range/2 >= 0 s (got "
                                  f"t_nd={self.t_nd}, t_nd_range={self.t_nd_range})")
        if self.selection_window < 2 * self.dt:
            raise ValidationError(f"Search.selection_window: expected at least two stimulus "
                                  f"rows of {self.dt:g} s (got {self.selection_window})")

    @property
    def n_locations(self) -> int:
        """Display locations: the largest set size (the mechanism sees one more unit, the
        quit unit, at index ``n_locations``)."""
        return int(max(self.set_sizes))

    @property
    def episode(self) -> float:
        """Duration (s) of one selection round: onset, window and identification."""
        return self.onset + self.selection_window + self.identification

    def rejection_weight(self, bias) -> np.ndarray:
        """What rejecting an item adds to the quit unit's count: ``exp(-quit_mismatch x
        bias)`` for its top-down bias ``-guidance x mismatch`` (before any inhibition), 1
        for an item the template does not suppress. Same shape as ``bias``."""
        return np.exp(-self.quit_mismatch * np.asarray(bias, dtype=np.float64))

    def cells(self) -> list:
        """The (search type, set size, present) conditions, in report order."""
        return [(t, int(n), p) for t in self.search_types for p in (True, False)
                for n in sorted(self.set_sizes)]

    # ------------------------------------------------------------------ trials
    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` displays; trial t depends only on (seed, t).

        Search types and set sizes take turns in blocks that hold each once, in a random
        order (``seed``, block); target presence is drawn per trial. ``stimulus`` is the
        display as the first selection sees it; ``extra`` keeps each display's priority
        inputs (``evidence``, ``bias`` [trials, locations + 1], the quit unit last, at its
        starting drive), its ``items`` mask, the ``target`` location (-1: absent) and the
        non-decision time ``t_nd``.
        """
        self.validate()
        n, seed = check_trials_arg(n, seed)
        k = self.n_locations
        combos = [(t, int(s)) for t in self.search_types for s in sorted(self.set_sizes)]
        ev = np.zeros((n, k + 1))
        ev[:, k] = self.quit_drive
        bias = np.zeros((n, k + 1))
        items = np.zeros((n, k + 1), dtype=bool)
        target = np.full(n, -1, dtype=np.int64)
        rows = []
        order: list = []
        for t in range(n):
            if t % len(combos) == 0:
                perm = task_rng(seed, t // len(combos), 2).permutation(len(combos))
                order = [combos[i] for i in perm]
            stype, size = order[t % len(combos)]
            rng = task_rng(seed, t, 1)
            present = bool(rng.random() < self.present_fraction)
            where = rng.permutation(k)[:size]
            items[t, where] = True
            ev[t, where] = self.salience + self.priority_noise * rng.normal(size=size)
            bias[t, where] = -self.guidance * template_mismatch(stype)
            if present:
                target[t] = where[0]
                bias[t, where[0]] = 0.0
                if stype == "feature":
                    ev[t, where[0]] += self.feature_contrast
            rows.append({"trial": t, "search_type": stype, "set_size": size,
                         "present": present, "target": int(target[t]),
                         "condition": _label(stype, present, size),
                         "t_nd": uniform_nondecision(rng, self.t_nd, self.t_nd_range),
                         "seed": seed})
        table = pd.DataFrame(rows)
        extra = {"evidence": ev, "bias": bias, "items": items, "target": target,
                 "t_nd": table["t_nd"].to_numpy()}
        stim = self._episode_stimulus(ev, bias, np.zeros((n, k + 1), bool), np.zeros(n),
                                      seed, 0)
        return Trials(stim, self.dt, self.spec(), table, seed, self.name, extra)

    def _episode_stimulus(self, ev, bias, rejected, count, seed: int, episode: int,
                          rows=None) -> np.ndarray:
        """Stimulus of selection ``episode`` for the trials ``rows`` (default all): the
        display, the quit unit's drive grown by the count of rejections so far
        (``count`` [trials]), fresh row noise, and the inhibition of the rejected items."""
        rows = np.arange(len(ev)) if rows is None else np.asarray(rows)
        ev, bias, rejected = ev[rows].copy(), bias[rows], rejected[rows]
        n, k = ev.shape
        ev[:, -1] += self.quit_growth * np.log1p(np.asarray(count, dtype=np.float64)[rows])
        steps = int(round(self.episode / self.dt))
        stim = np.zeros((n, steps, 2 * k), dtype=np.float32)
        stim[:, :, :k] = ev[:, None, :]
        stim[:, :, k:] = (bias - self.inhibition * rejected)[:, None, :]
        if self.noise > 0:
            for i, t in enumerate(rows):
                rng = task_rng(seed, int(t), 100 + episode)
                stim[i, :, :k] += rng.normal(0.0, self.noise, (steps, k))
        return stim

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Each display's mean evidence and bias [trials, 2 K]: the first selection's inputs."""
        ev = trials.extra.get("evidence")
        if ev is None:
            return super().bridge_inputs(trials)
        return np.concatenate([ev, trials.extra["bias"]], axis=1)

    # ------------------------------------------------------------------ the search
    def run(self, agent, trials: Trials, progress: bool = False) -> Recording:
        """Search every display with ``agent``, one selection at a time.

        Each round runs the agent on the trials still searching, with the rejected items
        inhibited and the quit unit's drive grown by their number, selects from the rates
        as :meth:`readout` does, and stops a trial at the target, at the quit unit, or
        when nothing is selected. The task's draws (display, row noise, the selection's
        sample) depend only on (seed, trial, round); the agent's own noise on the round
        and the trial's place among those still searching. Returns the Recording of the
        whole search: each trial's episodes spliced in time (every episode cut at the bin
        that ends identification), zero after the response.
        """
        self.validate()
        for key in ("evidence", "bias", "target"):
            if key not in trials.extra:
                raise ValidationError(f"Search.run.trials: expected trials made by "
                                      f"Search.make_trials (extra lacks {key!r})")
        ev, bias = trials.extra["evidence"], trials.extra["bias"]
        target = np.asarray(trials.extra["target"])
        n, k = ev.shape
        quit_unit = k - 1
        items = np.asarray(trials.extra.get("items", np.zeros((n, k), dtype=bool)), bool)
        rejected = np.zeros((n, k), dtype=bool)
        count = np.zeros(n)  # the quit unit's count: the rejections, weighted
        done = np.zeros(n, dtype=bool)
        chunks: list = [[] for _ in range(n)]
        meta = {}
        rounds = range(2 * k + 1)
        if progress:
            from tqdm import tqdm
            rounds = tqdm(rounds, desc="search rounds", leave=False)
        for episode in rounds:
            # every item of the display rejected: nothing is left to select, the search
            # ends "absent" (the readout times it at ``onset`` into the round)
            done |= _exhausted(rejected, items)
            if done.all():
                break
            rows = np.flatnonzero(~done)
            stim = self._episode_stimulus(ev, bias, rejected, count, trials.seed, episode,
                                          rows)
            ep = Trials(stim, self.dt, trials.spec,
                        trials.conditions.iloc[rows].reset_index(drop=True),
                        _episode_seed(trials.seed, episode), self.name)
            rec = agent.run(ep)
            meta = dict(rec.meta)
            rates = rec.role("items")
            bw = rec.bin_width
            for i, t in enumerate(rows):
                item, _, used = self._select(rates[i], bw, task_rng(trials.seed, t,
                                                                    300 + episode))
                chunks[t].append(rates[i, :used])
                if item < 0 or item == quit_unit or item == target[t]:
                    done[t] = True
                else:
                    rejected[t, item] = True
                    count[t] += self.rejection_weight(bias[t, item])
        if not done.all():
            raise ValidationError(f"Search.inhibition: {int((~done).sum())} trials still "
                                  f"searching after {2 * k + 1} selections; rejected items "
                                  f"keep winning -- raise inhibition (got {self.inhibition})")
        # one window of silence after the longest search, so the walk reaches its end
        pad = int(np.ceil((self.onset + self.selection_window) / bw - 1e-9))
        length = max(sum(len(c) for c in ch) for ch in chunks) + pad
        out = np.zeros((n, length, k))
        for t, ch in enumerate(chunks):
            joined = np.concatenate(ch, axis=0)
            out[t, : len(joined)] = joined
        names = trials.spec.unit_names()
        meta.update(seed=trials.seed, closed_loop="search")
        return Recording(out, bw, names["items"], meta=meta, roles=names)

    def _select(self, rates: np.ndarray, bin_width: float, rng) -> tuple[int, float, int]:
        """One selection on an episode's rates [bins, K] from the round's start.

        The accumulators count from ``onset``; the competition has settled when the first
        unit's accumulator reaches ``bound`` (:func:`race_to_bound`); which unit is
        selected is one sample of hard attention
        (:func:`neuroattn.attention.hard_attention`) over the units' mean rates from
        ``onset`` until then, among those above ``criterion``: unit k with probability
        ``e_k / sum_j e_j``, ``e_k = mean r_k`` if it exceeds ``criterion``, else 0. Returns
        the selected unit (-1: none within ``selection_window`` after ``onset``), the
        settling time (s from the round's start; NaN for none) and the bins the round
        lasted (to the end of identification, or of the window).
        """
        window = int(np.ceil((self.onset + self.selection_window) / bin_width - 1e-9))
        part = rates[:window]
        choice, time = race_to_bound(part[None], bin_width, self.criterion, self.bound,
                                     start=self.onset,
                                     stop=self.onset + self.selection_window, leak=self.leak)
        if choice[0] < 0:
            return -1, np.nan, min(window, len(rates))
        x = _above(part, bin_width, self.criterion, self.onset, float(time[0]))
        if x.sum() <= 0:
            x[int(choice[0])] = 1.0
        item = _hard_select(x, rng)
        used = int(np.ceil((time[0] + self.identification) / bin_width - 1e-9))
        return item, float(time[0]), max(1, min(used, len(rates)))

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Walk the search's Recording selection by selection (the rule of :meth:`run`).

        Columns: ``response`` ('present', 'absent', or 'none' when the recording ends
        before the search does), ``choice`` (the location answered present; -1
        otherwise), ``selections`` (items selected; the quit unit is not counted),
        ``decision_time`` (s from display onset: the target's selection plus
        identification and verification, or the quit unit's selection) and ``rt``
        (decision time + non-decision time). Needs the trials (to know each display's
        target).
        """
        self.validate()
        if trials is None or "target" not in trials.extra:
            raise ValidationError("Search.readout.trials: expected the trials made by "
                                  "Search.make_trials (the readout needs each target)")
        rates = recording.role("items")
        bw = recording.bin_width
        target = np.asarray(trials.extra["target"])
        t_nd = np.asarray(trials.extra["t_nd"], dtype=np.float64)
        window = int(np.ceil((self.onset + self.selection_window) / bw - 1e-9))
        quit_unit = rates.shape[2] - 1
        items = trials.extra.get("items")
        rows = []
        for t in range(rates.shape[0]):
            start, count, response, choice, decided = 0, 0, "none", -1, np.nan
            rejected = np.zeros(rates.shape[2], dtype=bool)
            while True:
                if items is not None and _exhausted(rejected, items[t]):
                    response, decided = "absent", start * bw + self.onset
                    break
                part = rates[t, start:]
                if len(part) < window:
                    break
                item, time, used = self._select(part, bw, task_rng(trials.seed, t,
                                                                   300 + count))
                if item < 0:
                    response, decided = "absent", (start + used) * bw
                    break
                if item == quit_unit:
                    response, decided = "absent", start * bw + time
                    break
                count += 1
                if item == target[t]:
                    response, choice = "present", item
                    decided = start * bw + time + self.identification + self.verification
                    break
                rejected[item] = True
                start += used
            rows.append({"response": response, "choice": choice, "selections": count,
                         "decision_time": decided, "rt": decided + t_nd[t]})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ scoring
    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition summary and the effects with 95 % bootstrap CIs.

        Mean RTs and slopes are over correct trials; a miss is a present trial answered
        absent (or not at all), a false alarm an absent trial answered present.
        """
        out = self.readout(recording, trials)
        table = trials.conditions.copy()
        for col in out.columns:
            table[col] = out[col].to_numpy()
        said_present = table["response"] == "present"
        table["correct"] = np.where(table["present"], said_present & (table["choice"] ==
                                                                      table["target"]),
                                    table["response"] == "absent")
        table["outcome"] = np.select(
            [table["present"] & table["correct"], table["present"],
             ~table["present"] & table["correct"]],
            ["hit", "miss", "correct_rejection"], "false_alarm")
        rows = []
        for stype, size, present in self.cells():
            sel = table[(table["search_type"] == stype) & (table["set_size"] == size)
                        & (table["present"] == present)]
            m, lo, hi = bootstrap_mean_ci(sel.loc[sel["correct"], "rt"], seed)
            rows.append({"condition": _label(stype, present, size), "search_type": stype,
                         "set_size": size, "present": present, "n": len(sel), "rt_mean": m,
                         "rt_ci_low": lo, "rt_ci_high": hi,
                         "errors": float((~sel["correct"]).mean()) if len(sel) else np.nan,
                         "selections": float(sel["selections"].mean()) if len(sel)
                         else np.nan})
        summary = pd.DataFrame(rows)
        return TaskResult(table, tuple(self._effects(table, seed)), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def _rts(self, table, stype: str, present: bool) -> list:
        sizes = sorted(self.set_sizes)
        return [table.loc[(table["search_type"] == stype) & (table["present"] == present)
                          & (table["set_size"] == s) & table["correct"], "rt"].to_numpy()
                for s in sizes]

    def _effects(self, table: pd.DataFrame, seed: int) -> list:
        x = np.asarray(sorted(self.set_sizes), dtype=np.float64)
        effects = []
        for stype in self.search_types:
            for present in (True, False):
                kind = "present" if present else "absent"
                key = f"search.slope_{stype}" if present else None
                effects.append(_held(f"slope_{stype}_{kind}",
                                     bootstrap_stat_ci(self._rts(table, stype, present),
                                                       _slope_of(x), seed), key,
                                     "s", f"{kind} RT slope over set size, s/item"))
        for stype in (t for t in INEFFICIENT if t in self.search_types):
            groups = self._rts(table, stype, False) + self._rts(table, stype, True)
            effects.append(_held(f"slope_ratio_{stype}",
                                 bootstrap_stat_ci(groups, _ratio_of(x), seed),
                                 "search.slope_ratio"))
            for present in (True, False):
                kind = "present" if present else "absent"
                effects.append(_held(f"linearity_{stype}_{kind}",
                                     bootstrap_stat_ci(self._rts(table, stype, present),
                                                       _r2_of(x), seed), "search.linearity"))
        present = table[table["present"]]
        missed = (~present["correct"]).astype(float)
        big, small = max(self.set_sizes), min(self.set_sizes)
        effects.append(_held("miss_rise", bootstrap_diff_ci(
            missed[present["set_size"] == big], missed[present["set_size"] == small], seed),
            "search.miss_rise"))
        absent = table[~table["present"]]
        effects.append(_held("false_alarms", bootstrap_mean_ci(
            (absent["response"] == "present").astype(float), seed), "search.false_alarms"))
        if "feature" in self.search_types:
            rt = table.loc[(table["search_type"] == "feature") & table["present"]
                           & table["correct"], "rt"]
            effects.append(_held("rt_feature_present", bootstrap_mean_ci(rt, seed),
                                 "search.rt_feature"))
        if "configuration" in self.search_types:
            rt = table.loc[(table["search_type"] == "configuration")
                           & (table["set_size"] == big) & table["correct"], "rt"]
            effects.append(_held(f"rt_configuration_{big}", bootstrap_mean_ci(rt, seed),
                                 "search.rt_configuration"))
        return effects

    def figure(self, results: dict):
        """Mean correct RT against set size by search type, present (filled, solid) and
        absent (open, dashed), one panel per tier, as Wolfe, Palmer & Horowitz (2010)
        plot it; and the error rates."""
        from neuroattn.study.plots import plt

        colors = {"feature": "#2ca02c", "conjunction": "#ff7f0e", "configuration": "#9467bd"}
        n = len(results)
        fig, axes = plt.subplots(1, n + 1, figsize=(4.4 * (n + 1), 3.8), squeeze=False)
        axes = axes.ravel()
        for ax, (tier, res) in zip(axes, results.items()):
            s = res.summary
            for stype in self.search_types:
                for present in (True, False):
                    sel = s[(s["search_type"] == stype) & (s["present"] == present)]
                    x = sel["set_size"].to_numpy(dtype=float)
                    m = sel["rt_mean"].to_numpy(dtype=float) * 1e3
                    lo = sel["rt_ci_low"].to_numpy(dtype=float) * 1e3
                    hi = sel["rt_ci_high"].to_numpy(dtype=float) * 1e3
                    slope = res.effect(f"slope_{stype}_{'present' if present else 'absent'}")
                    ax.errorbar(x, m, yerr=[m - lo, hi - m], color=colors.get(stype),
                                fmt="o-" if present else "s--", capsize=2,
                                mfc=colors.get(stype) if present else "white",
                                label=f"{stype} {'present' if present else 'absent'} "
                                      f"({slope.estimate * 1e3:.0f} ms/item)")
            ax.set_xticks(sorted(self.set_sizes))
            ax.set_xlabel("set size (items)")
            ax.set_ylabel("mean correct RT (ms)")
            ax.set_title(f"{tier} tier", fontsize=10)
            ax.legend(frameon=False, fontsize=7)
        ax = axes[n]
        for i, (tier, res) in enumerate(results.items()):
            s = res.summary
            for stype in self.search_types:
                sel = s[(s["search_type"] == stype) & s["present"]]
                ax.plot(sel["set_size"], sel["errors"] * 100, "o-" if i == 0 else "s:",
                        color=colors.get(stype), label=f"{stype} misses ({tier})")
            sel = s[~s["present"]].groupby("set_size")["errors"].mean()
            ax.plot(sel.index, sel.to_numpy() * 100, "x--" if i == 0 else "+:", color="0.4",
                    label=f"false alarms ({tier})")
        ax.set_xticks(sorted(self.set_sizes))
        ax.set_xlabel("set size (items)")
        ax.set_ylabel("errors (% of trials)")
        ax.set_title("misses (target present) and false alarms", fontsize=10)
        ax.legend(frameon=False, fontsize=6)
        first = next(iter(results.values()))
        fig.suptitle(f"visual search: RT x set size, {len(first.table)} trials", fontsize=11)
        fig.tight_layout()
        return fig


def _label(stype: str, present: bool, size: int) -> str:
    return f"{stype} {'present' if present else 'absent'} {size}"


def _episode_seed(seed: int, episode: int) -> int:
    """The agent's seed for selection round ``episode`` (apart from every other round)."""
    return int(np.random.SeedSequence([int(seed), 0x5EA2C, int(episode)]).generate_state(1)[0])


def _exhausted(rejected, items):
    """Whether every item of a display has been rejected (``rejected``, ``items``: boolean
    masks over the units [..., K]; a display without items is never exhausted)."""
    rejected, items = np.asarray(rejected, bool), np.asarray(items, bool)
    return items.any(axis=-1) & np.all(rejected | ~items, axis=-1)


def _above(rates, bin_width: float, criterion: float, start: float, until: float):
    """Each item's mean rate (Hz) over ``[start, until]`` (s) where it exceeds
    ``criterion`` (Hz), else 0 [K], for rates [bins, K] constant within each bin."""
    mean = ((_integral(rates, bin_width, until) - _integral(rates, bin_width, start))
            / max(until - start, 1e-12))
    return np.where(mean > criterion, mean, 0.0)


def _integral(rates, bin_width: float, until: float):
    """Each item's rate integrated over ``[0, until]`` (s) [K]."""
    n_full = min(int(np.floor(until / bin_width + 1e-9)), len(rates))
    total = rates[:n_full].sum(axis=0) * bin_width
    if n_full < len(rates):
        total = total + rates[n_full] * (until - n_full * bin_width)
    return total


def _hard_select(x, rng) -> int:
    """One draw of hard attention over weights ``x`` >= 0 [K]: item k with probability
    ``x_k / sum x`` (a query of 1 over keys ``ln x_k``; items at 0 masked out)."""
    from neuroattn.attention.hard import hard_attention

    on = x > 0
    keys = np.where(on, np.log(np.where(on, x, 1.0)), 0.0)[:, None]
    values = np.arange(len(x), dtype=np.float64)[:, None]
    out = hard_attention(np.ones((1, 1)), keys, values, mask=on[None, :], scale=1.0, seed=rng)
    return int(out.indices.ravel()[0])


def _slope_of(x):
    xc = x - x.mean()

    def slope(*means):
        return sum(c * m for c, m in zip(xc, means)) / float(np.sum(xc ** 2))
    return slope


def _r2_of(x):
    slope_fn = _slope_of(x)

    def r2(*means):
        mean = sum(means) / len(means)
        slope = slope_fn(*means)
        res = sum((m - mean - slope * (xi - x.mean())) ** 2 for xi, m in zip(x, means))
        tot = sum((m - mean) ** 2 for m in means)
        return 1.0 - res / tot
    return r2


def _ratio_of(x):
    slope_fn = _slope_of(x)
    k = len(x)

    def ratio(*means):
        return slope_fn(*means[:k]) / slope_fn(*means[k:])
    return ratio


def _held(name: str, est_lo_hi, key: str | None, unit: str = "1", text: str = "") -> Effect:
    if key is None:
        return Effect.held_to(name, *est_lo_hi, unit, text)
    tg = TARGETS[key]
    return Effect.held_to(name, *est_lo_hi, tg.unit, tg.describe(), tg.band, tg.null)
