"""Posner cueing (Posner 1980): a cue says where a target will probably appear.

Timeline of a trial (defaults): blank until ``cue_onset`` (50 ms); then the cue, a
top-down bias on every location for the rest of the trial; the target appears at
``cue_onset + soa`` (200 ms) at one location with input ``contrast`` and stays on for
``response_window`` (400 ms). Every bottom-up channel carries Gaussian input noise.
Catch trials (``catch_fraction``) have a cue but no target. Trials come in blocks of
``block_size`` with the set proportions of catch, neutral, valid and invalid trials in
a random order.

The cue's bias is the observer's log prior over the target's location, centred so that
it sums to zero over locations (the cue moves top-down drive between locations; it
does not add any). The observer does not know the cue's validity: it learns it from
the cued trials of the block seen so far (a Beta-Bernoulli estimate that starts at
chance and is updated after every cued trial with a target; :func:`learned_validity`),
so trial t's bias depends on trials < t. With belief ``p`` that the cued location holds
the target (kept within ``[1 - max_belief, max_belief]``) the bias on location k is
``bias_gain * (ln p_k - mean_j ln p_j)``; for K = 2, ``+-bias_gain/2 ln(p/(1 - p))``. A
neutral cue leaves every location at 0. At validity 1/K the learned belief wanders
around chance, so the bias wanders around 0 in both directions and the validity effect
averages out in the circuit's RTs.

Decision stage (:func:`neuroattn.tasks.decision.race_to_bound`, the same for every
tier): from cue onset, each location's rate in excess of ``criterion`` Hz is
integrated by a leaky accumulator (time constant ``leak``, reflected at 0) until one
location reaches ``bound`` (Hz s); that location is the response. RT = crossing time -
target onset + a non-decision time drawn per trial, uniform over ``t_nd +-
t_nd_range / 2``. A response before target onset or with RT < ``rt_min`` is an
anticipation (an error); on a catch trial any response is a false alarm; no response
within the window is a miss.

The non-decision time is sensory and motor delay that the cue does not touch, so it
should add the same to every condition's mean RT. Drawn independently, it would not at
the usual trial counts: its SD (28.9 ms) alone gives the cost an SE of ~7 ms over the
~27 invalid trials of 200. So it is drawn stratified, as the conditions are
counterbalanced: within a block, the ``c`` trials of one condition take one equal slice
each of the range, in a random order, and a uniform time within it. Every trial's time
is still uniform on the whole range; a condition's mean is within ``t_nd_range /
(2 c)`` of ``t_nd`` in each block. The RT effects then rest on the decision times, and
their bootstrap CIs, which resample trials as if the draws were independent, are
conservative.

Published result held to (targets in :mod:`neuroattn.tasks.targets`; Posner 1980;
Posner, Snyder & Davidson 1980): neutral RT 250-350 ms, a benefit (neutral - valid) of
20-50 ms and a cost (invalid - neutral) of 20-80 ms, accuracy >= 0.9 in every
condition, <= 5 % false alarms on catch trials, and a validity effect that grows with
cue validity (:func:`validity_series`; ``Posner.series`` for ``--vary validity=...``).
The benefit, cost and validity-effect bands are those of 80 % valid cues
(``PARADIGM_VALIDITY``); at another validity the three are reported without a verdict,
since the effect scales with validity (at 0.7 a benefit of 2/3 of 80 %'s is expected),
and the series holds that growth. With a brief target (``target_duration``) the
benefit and cost bands, which are suprathreshold detection's, are reported without a
verdict too: mean RTs are over correct trials, and where a brief target is often missed
the correct trials are the fast ones; invalid trials must still be slower
(``validity_rt`` > 0) and less accurate (``accuracy_validity`` > 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_choice, check_int, check_positive
from neuroattn.tasks.base import (
    Column,
    Effect,
    Task,
    TaskResult,
    TaskSpec,
    Trials,
    check_trials_arg,
    role_means,
    task_rng,
)
from neuroattn.tasks.decision import race_to_bound, uniform_nondecision
from neuroattn.tasks.stats import bootstrap_diff_ci, bootstrap_mean_ci

if TYPE_CHECKING:
    import pandas as pd
from neuroattn.tasks.targets import TARGETS

__all__ = ["Posner", "learned_validity", "validity_series"]

#: Conditions with a target, in report order; catch trials have none.
TARGET_CONDITIONS = ("valid", "neutral", "invalid")
CONDITIONS = TARGET_CONDITIONS + ("catch",)
#: Cue validity of the paradigm whose RT bands the effects are held to (Posner 1980).
PARADIGM_VALIDITY = 0.8
PRIORS = ("learned", "nominal")


@dataclass(frozen=True)
class Posner(Task):
    """The Posner cueing paradigm (simple detection, with catch trials).

    Parameters
    ----------
    k : int
        Locations (default 2).
    validity : float
        Probability that the target appears at the cued location, in [1/K, 1]
        (default 0.8). At 1/K the cue predicts nothing; at 1 there are no invalid trials.
    neutral_fraction : float
        Fraction of trials with a neutral cue (default 0.25).
    catch_fraction : float
        Fraction of trials without a target (default 0.1); their cue is drawn as on the
        other trials.
    cue_onset, soa, response_window : float, seconds
        Cue onset (50 ms), cue-target onset asynchrony (150 ms), time allowed to respond
        after target onset (400 ms).
    target_duration : float or None, seconds
        How long the target stays on (default None: until the end of the response
        window, a suprathreshold detection display). A brief target (e.g. 150 ms) makes
        the display data-limited, as in the accuracy experiments of Prinzmetal, McCool &
        Park (2005): a target whose burst of evidence falls short of the bound is
        missed, so accuracy falls below ceiling and can differ between conditions. With
        a brief target, ``accuracy_validity`` (valid - invalid accuracy) is held to
        ``posner.accuracy_validity``, and the per-condition accuracies, the benefit and
        the cost are reported without the detection task's bands. At the default
        contrast and bound the decision stage needs ~100 ms of target to respond at all:
        at 60 ms the precision circuit detected 0.064 of its valid targets and its layer
        none (seed 4711); docs/tasks/posner.md gives the durations measured per
        mechanism.
    contrast : float
        Target input (default 2.5, units of the agents' input).
    bias_gain : float
        Scale of the cue's centred log-prior bias (default 0.7).
    noise : float
        Std of the Gaussian input noise per row on each bottom-up channel (default 1.0).
    criterion : float, hertz
        Rate the decision accumulators count from (default 12.5 Hz).
    bound : float, hertz x seconds
        Accumulated excess rate that makes a response (default 5.0).
    leak : float, seconds
        Time constant of the accumulators' leak (default 0.2 s).
    t_nd, t_nd_range : float, seconds
        Mean (200 ms) and range (100 ms) of the uniform non-decision time added to every
        response; stratified within each block and condition (see the module notes).
    rt_min : float, seconds
        Responses faster than this after target onset are anticipations (100 ms).
    prior : {'learned', 'nominal'}
        'learned' (default): the observer estimates the validity from the cued trials
        seen so far (Beta-Bernoulli, see :func:`learned_validity`); 'nominal': it knows
        ``validity`` from the first trial.
    prior_strength : float
        Pseudo-trials of the learner's initial Beta prior, centred on 1/K (default 2).
    max_belief : float
        Most probability the observer gives the cued location (default 0.9; its belief
        is kept in ``[1 - max_belief, max_belief]``): no cue is taken as certain, so the
        top-down bias stays bounded even at validity 1.
    block_size : int
        Trials per block of fixed proportions (default 20): each block holds the catch,
        neutral, valid and invalid trials in the set proportions (rounded at random),
        in a random order, as trial lists are built in the laboratory. 1 gives
        independent draws.
    dt : float, seconds
        Stimulus row (default 1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Posner
    >>> trials = Posner().make_trials(8, seed=1)
    >>> trials.stimulus.shape
    (8, 600, 4)
    >>> sorted(trials.conditions.columns)[:4]
    ['condition', 'cued', 'p_cued', 'seed']
    """

    k: int = 2
    validity: float = 0.8
    neutral_fraction: float = 0.25
    catch_fraction: float = 0.1
    cue_onset: float = 0.05
    soa: float = 0.15
    response_window: float = 0.4
    target_duration: float | None = None
    contrast: float = 2.5
    bias_gain: float = 0.7
    noise: float = 1.0
    criterion: float = 12.5
    bound: float = 5.0
    leak: float = 0.2
    t_nd: float = 0.2
    t_nd_range: float = 0.1
    rt_min: float = 0.1
    prior: str = "learned"
    prior_strength: float = 2.0
    max_belief: float = 0.9
    block_size: int = 20
    dt: float = 1e-3

    name = "posner"
    columns = (
        Column("n", "n", fmt="{:.0f}"),
        Column("RT ms [95% CI]", "rt_mean", ci=("rt_ci_low", "rt_ci_high"), scale=1e3),
        Column("accuracy", "accuracy", fmt="{:.3f}", panel="proportion of trials"),
        Column("anticipations", "anticipations", fmt="{:.3f}", panel="proportion of trials"),
        Column("misses", "misses", fmt="{:.3f}", panel="proportion of trials"),
    )
    series = {"validity": {"validity_rt": "posner.validity_rho"}}

    def spec(self) -> TaskSpec:
        """K locations in space, each with evidence and a cue bias; items read out."""
        return TaskSpec("space", self.k)

    units = {**dict.fromkeys(("cue_onset", "soa", "response_window", "target_duration",
                              "leak", "t_nd",
                              "t_nd_range", "rt_min", "dt"), "s"), "criterion": "Hz"}

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_int(self.k, "Posner.k", minimum=2)
        if not (isinstance(self.validity, (int, float)) and
                1.0 / self.k - 1e-12 <= self.validity <= 1.0):
            raise ValidationError(f"Posner.validity: expected a probability in [1/K, 1] = "
                                  f"[{1.0 / self.k:g}, 1] (got {self.validity}); a cue below "
                                  f"chance would point away from the target")
        for name in ("neutral_fraction", "catch_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValidationError(f"Posner.{name}: expected a fraction in [0, 1) (got "
                                      f"{value})")
        for name in ("cue_onset", "soa", "response_window", "leak", "dt"):
            check_positive(getattr(self, name), "s", f"Posner.{name}")
        for name in ("t_nd_range", "rt_min"):
            check_positive(getattr(self, name), "s", f"Posner.{name}", allow_zero=True)
        if self.target_duration is not None:
            check_positive(self.target_duration, "s", "Posner.target_duration")
            if self.target_duration > self.response_window + 1e-12:
                raise ValidationError(f"Posner.target_duration: expected at most the "
                                      f"response window ({self.response_window} s) or None "
                                      f"(got {self.target_duration} s)")
        if not self.t_nd - self.t_nd_range / 2 >= 0:
            raise ValidationError(f"Posner.t_nd: expected t_nd - t_nd_range/2 >= 0 s, so every "
                                  f"non-decision time is >= 0 (got t_nd={self.t_nd}, "
                                  f"t_nd_range={self.t_nd_range})")
        check_positive(self.criterion, "Hz", "Posner.criterion", allow_zero=True)
        if not (np.isfinite(self.bound) and self.bound > 0):
            raise ValidationError(f"Posner.bound: must be > 0 Hz s (got {self.bound}); pass "
                                  f"e.g. 1.0")
        check_positive(self.noise, "1", "Posner.noise", allow_zero=True)
        check_positive(self.bias_gain, "1", "Posner.bias_gain", allow_zero=True)
        check_choice(self.prior, "Posner.prior", PRIORS)
        check_int(self.block_size, "Posner.block_size", minimum=1)
        check_positive(self.prior_strength, "1", "Posner.prior_strength")
        lo = max(0.5, 1.0 / self.k)
        if not lo <= self.max_belief < 1.0:
            raise ValidationError(f"Posner.max_belief: expected a probability in [{lo:g}, 1) "
                                  f"(got {self.max_belief})")

    @property
    def target_onset(self) -> float:
        """Target onset (s)."""
        return self.cue_onset + self.soa

    @property
    def duration(self) -> float:
        """Trial duration (s)."""
        return self.target_onset + self.response_window

    def cue_bias(self, cued: int | None, p: float | None = None) -> np.ndarray:
        """Bias on each location for a cue at ``cued`` (None: neutral).

        ``p`` is the observer's probability that the cued location holds the target
        (default: the nominal ``validity``), kept within ``[1 - max_belief,
        max_belief]``. The bias is ``bias_gain`` times the centred log prior,
        ``ln p_k - mean_j ln p_j`` (it sums to 0 over locations).

        Examples
        --------
        >>> Posner(bias_gain=0.5).cue_bias(0, 0.8).round(4).tolist()   # +-0.25 ln 4
        [0.3466, -0.3466]
        """
        if cued is None:
            return np.zeros(self.k)
        p = self.validity if p is None else float(p)
        p = min(max(p, 1.0 - self.max_belief), self.max_belief)
        prior = np.full(self.k, (1.0 - p) / (self.k - 1))
        prior[cued] = p
        log_prior = np.log(prior)
        return self.bias_gain * (log_prior - log_prior.mean())

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials; trial t depends only on (seed, t' <= t), never on ``n``."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        steps = int(round(self.duration / self.dt))
        cue = int(round(self.cue_onset / self.dt))
        tgt = int(round(self.target_onset / self.dt))
        off = steps - tgt if self.target_duration is None else max(
            1, int(round(self.target_duration / self.dt)))
        stim = np.zeros((n, steps, 2 * self.k), dtype=np.float32)
        rows = []
        n_valid = n_cued = 0
        block: list = []
        for t in range(n):
            if t % self.block_size == 0:
                block = self._block(seed, t // self.block_size)
            cond, stratum, strata = block[t % self.block_size]
            rng = task_rng(seed, t, 1)
            if cond == "catch":
                neutral_cue = rng.random() < self.neutral_fraction
            else:
                neutral_cue = cond == "neutral"
            cued = None if neutral_cue else int(rng.integers(self.k))
            if cond == "catch":
                target = -1
            elif cond == "neutral":
                target = int(rng.integers(self.k))
            elif cond == "valid":
                target = cued
            else:
                target = [j for j in range(self.k) if j != cued][int(rng.integers(self.k - 1))]
            t_nd = uniform_nondecision(rng, self.t_nd, self.t_nd_range, stratum, strata)
            p = (learned_validity(n_valid, n_cued, self.k, self.prior_strength)
                 if self.prior == "learned" else self.validity)
            p = min(max(p, 1.0 - self.max_belief), self.max_belief)
            if cued is not None:
                stim[t, cue:, self.k:] = self.cue_bias(cued, p)
            if target >= 0:
                stim[t, tgt:tgt + off, target] = self.contrast
            if self.noise > 0:
                stim[t, :, : self.k] += rng.normal(0.0, self.noise, (steps, self.k))
            if cond in ("valid", "invalid"):
                n_cued += 1
                n_valid += cond == "valid"
            rows.append({"trial": t, "condition": cond, "cued": -1 if cued is None else cued,
                         "target": target, "validity": self.validity,
                         "p_cued": np.nan if cued is None else p, "t_nd": t_nd, "seed": seed})
        # rows, not a DataFrame: making trials imports no pandas (start-up, Trials)
        return Trials(stim, self.dt, self.spec(), rows, seed, self.name,
                      {"t_nd": np.array([r["t_nd"] for r in rows], dtype=np.float64)})

    def _block(self, seed: int, b: int) -> list:
        """Block ``b``'s trials as ``(condition, stratum, strata)``: fixed proportions
        of the conditions in a random order, and each trial's slice of the non-decision
        time's range.

        Counts are the fractions times the block size, rounded up or down at random in
        proportion to the remainder (so they are right on average for any fraction);
        the order is a permutation drawn from ``(seed, b)``. The ``c`` trials of one
        condition take the ``c`` slices (strata) of the non-decision range one each, in
        an order drawn from ``(seed, b)`` too (:func:`uniform_nondecision`).
        """
        rng = task_rng(seed, b, 2)

        def count(x):
            return int(np.floor(x) + (rng.random() < x - np.floor(x)))

        size = self.block_size
        n_catch = count(self.catch_fraction * size)
        n_neutral = count(self.neutral_fraction * (size - n_catch))
        n_cued = size - n_catch - n_neutral
        n_valid = count(self.validity * n_cued)
        counts = {"catch": n_catch, "neutral": n_neutral, "valid": n_valid,
                  "invalid": n_cued - n_valid}
        labels = [c for c, k in counts.items() for _ in range(k)]
        labels = [labels[i] for i in rng.permutation(size)]
        slots = {c: iter(task_rng(seed, b, 3 + j).permutation(counts[c]))
                 for j, c in enumerate(CONDITIONS)}
        return [(c, int(next(slots[c])), counts[c]) for c in labels]

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and bias [trials, 2 K] from target onset on.

        The decision is made on this period, so the softmax tier is calibrated on the
        inputs the circuit sees while it is made (the noise averages out). A brief
        target (``target_duration``) is averaged over the time it is on.
        """
        if self.target_duration is None:
            return role_means(trials, self.target_onset)
        on = int(round(self.target_onset / trials.dt))
        off = on + max(1, int(round(self.target_duration / trials.dt)))
        ev = trials.role("evidence")[:, on:off].astype(np.float64).mean(axis=1)
        bias = trials.role("bias")[:, on:off].astype(np.float64).mean(axis=1)
        return np.concatenate([ev, bias], axis=1)

    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Choice, decision time and RT (s) of every trial from the location rates.

        Columns: ``choice`` (-1: no response), ``decision_time`` (crossing time from
        target onset, s; negative before it), ``rt`` (decision time + the trial's
        non-decision time, s; NaN without a response) and ``anticipation``. Without
        ``trials`` the non-decision time is ``t_nd`` on every trial.
        """
        import pandas as pd

        self.validate()
        rates = recording.role("items")
        choice, time = race_to_bound(rates, recording.bin_width, self.criterion, self.bound,
                                     start=self.cue_onset, stop=self.duration, leak=self.leak)
        if trials is not None and "t_nd" in trials.extra:
            t_nd = np.asarray(trials.extra["t_nd"], dtype=np.float64)
        else:
            t_nd = np.full(len(choice), self.t_nd)
        decision = time - self.target_onset
        rt = decision + t_nd
        anticipation = (choice >= 0) & ((decision < 0) | (rt < self.rt_min))
        return pd.DataFrame({"choice": choice, "decision_time": decision, "rt": rt,
                             "anticipation": anticipation})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition summary and the effects with 95 % bootstrap CIs.

        Mean RTs are over correct trials; error RTs stay in the table (``correct`` says
        which are which).
        """
        import pandas as pd

        out = self.readout(recording, trials)
        table = trials.conditions.copy()
        for col in out.columns:
            table[col] = out[col].to_numpy()
        responded = table["choice"] >= 0
        is_catch = table["condition"] == "catch"
        table["correct"] = np.where(is_catch, ~responded,
                                    (table["choice"] == table["target"]) & ~table["anticipation"])
        table["outcome"] = _outcomes(table, responded, is_catch)
        rows = []
        for cond in CONDITIONS:
            sel = table[table["condition"] == cond]
            ok = sel.loc[sel["correct"] & (sel["choice"] >= 0), "rt"]
            m, lo, hi = bootstrap_mean_ci(ok, seed)
            rows.append({"condition": cond, "n": len(sel), "rt_mean": m, "rt_ci_low": lo,
                         "rt_ci_high": hi,
                         "accuracy": float(sel["correct"].mean()) if len(sel) else np.nan,
                         "anticipations": _share(sel, "anticipation"),
                         "misses": _share(sel, "outcome", "miss")})
        summary = pd.DataFrame(rows)
        effects = self._effects(table, seed)
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def _effects(self, table: pd.DataFrame, seed: int) -> list:
        rt = {c: table.loc[(table["condition"] == c) & table["correct"], "rt"]
              for c in TARGET_CONDITIONS}
        effects = [_held("rt_neutral", bootstrap_mean_ci(rt["neutral"], seed), "posner.rt_neutral")]
        # the RT effects' targets are for 80 % valid cues; at other validities the
        # effect scales with validity (validity_series holds that growth)
        paradigm = abs(self.validity - PARADIGM_VALIDITY) < 1e-9
        limited = self.target_duration is not None
        why = (f"band for {PARADIGM_VALIDITY:.0%} valid cues, validity {self.validity:g} here; "
               f"--vary validity holds the growth")
        brief = ("a brief target: the band is suprathreshold detection's; correct RTs where "
                 "accuracy is low are the fast ones")
        for name, a, b in (("benefit_rt", "neutral", "valid"), ("cost_rt", "invalid", "neutral"),
                           ("validity_rt", "invalid", "valid")):
            sized = name != "validity_rt"  # a band on the size, not only the direction
            held = paradigm and not (limited and sized)
            effects.append(_held(name, bootstrap_diff_ci(rt[a], rt[b], seed),
                                 f"posner.{name[:-3]}", held=held,
                                 why=why if not paradigm else brief))
        correct = {c: table.loc[table["condition"] == c, "correct"].astype(float)
                   for c in TARGET_CONDITIONS}
        for cond in TARGET_CONDITIONS:
            effects.append(_held(f"accuracy_{cond}", bootstrap_mean_ci(correct[cond], seed),
                                 "posner.accuracy", held=not limited))
        informative = self.validity > 1.0 / self.k + 1e-9
        effects.append(_held("accuracy_validity",
                             bootstrap_diff_ci(correct["valid"], correct["invalid"], seed),
                             "posner.accuracy_validity", held=limited and informative))
        fa = (~table.loc[table["condition"] == "catch", "correct"]).astype(float)
        effects.append(_held("false_alarms", bootstrap_mean_ci(fa, seed), "posner.false_alarms"))
        return effects


def _held(name: str, est_lo_hi, key: str, held: bool = True, why: str = "") -> Effect:
    """The effect with its target; ``held=False``: reported without a verdict (the band
    belongs to another version of the paradigm; ``why`` says which)."""
    tg = TARGETS[key]
    if not held:
        because = f" ({why})" if why else ""
        return Effect.held_to(name, *est_lo_hi, tg.unit,
                              f"not held here{because}: {tg.describe()}")
    return Effect.held_to(name, *est_lo_hi, tg.unit, tg.describe(), tg.band, tg.null)


def _share(sel: pd.DataFrame, col: str, value=True) -> float:
    return float((sel[col] == value).mean()) if len(sel) else np.nan


def _outcomes(table: pd.DataFrame, responded, is_catch) -> np.ndarray:
    out = np.where(responded, "wrong_location", "miss").astype(object)
    out[responded & (table["choice"] == table["target"])] = "hit"
    out[responded & table["anticipation"]] = "anticipation"
    out[is_catch & responded] = "false_alarm"
    out[is_catch & ~responded] = "correct_rejection"
    return out


def learned_validity(n_valid: int, n_cued: int, k: int, strength: float = 2.0) -> float:
    """The observer's estimate that a cue is valid after ``n_cued`` cued trials.

    Posterior mean of a Beta prior centred on chance (``strength`` pseudo-trials:
    ``a = strength / K``, ``b = strength (K - 1) / K``) updated with ``n_valid`` valid
    out of ``n_cued`` cued trials::

        p = (a + n_valid) / (strength + n_cued)

    Examples
    --------
    >>> learned_validity(0, 0, 2)      # nothing seen yet: chance
    0.5
    >>> learned_validity(8, 10, 2)     # (1 + 8) / (2 + 10)
    0.75
    """
    return (strength / k + n_valid) / (strength + n_cued)


def validity_series(results: dict) -> dict:
    """The validity effect (invalid - valid RT) per cue validity, and its Spearman rho.

    Parameters
    ----------
    results : dict
        Cue validity (float) -> the :class:`TaskResult` of a Posner run at that
        validity (same agent, trial count and seed).

    Returns
    -------
    dict
        ``table``: a DataFrame with one row per validity (``validity``, ``effect``,
        ``ci_low``, ``ci_high``, in seconds; NaN where a validity has no invalid trials);
        ``rho`` and ``p_value``: Spearman's rank correlation of the effect with validity
        over the finite rows; ``r2_linear``: the share of the effect's variance a straight
        line in validity explains (how linear the growth is); ``effect``: an
        :class:`Effect` holding rho to ``TARGETS['posner.validity_rho']`` (None verdict
        with fewer than 5 finite rows).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.tasks.base import Effect, TaskResult
    >>> def fake(v):
    ...     e = Effect("validity_rt", 0.1 * v, 0.1 * v - 0.01, 0.1 * v + 0.01, "s", "", None)
    ...     return TaskResult(None, (e,), None)
    >>> out = validity_series({v: fake(v) for v in (0.5, 0.6, 0.7, 0.8, 0.9)})
    >>> round(out["rho"], 3), out["effect"].passed
    (1.0, True)
    """
    import pandas as pd

    rows = []
    for v in sorted(results):
        e = results[v].effect("validity_rt")
        rows.append({"validity": float(v), "effect": e.estimate, "ci_low": e.ci_low,
                     "ci_high": e.ci_high})
    table = pd.DataFrame(rows)
    ok = np.isfinite(table["effect"].to_numpy(dtype=float))
    tg = TARGETS["posner.validity_rho"]
    x = table["validity"].to_numpy(dtype=float)[ok]
    y = table["effect"].to_numpy(dtype=float)[ok]
    rho = pval = r2 = np.nan
    if ok.sum() >= 3 and np.ptp(y) > 0:
        from scipy.stats import spearmanr

        rho, pval = (float(v) for v in spearmanr(x, y))
        fit = np.polyval(np.polyfit(x, y, 1), x)
        r2 = float(1.0 - np.sum((y - fit) ** 2) / np.sum((y - y.mean()) ** 2))
    est = rho if ok.sum() >= 5 else np.nan
    effect = Effect.held_to("validity_rho", est, est, est, tg.unit, tg.describe(), tg.band,
                            tg.null)
    return {"table": table, "rho": rho, "p_value": pval, "r2_linear": r2, "effect": effect}
