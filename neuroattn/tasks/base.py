"""The Task contract: what a paradigm presents, how it reads a Recording, how it scores.

A task never names a mechanism's populations or channels. It declares a
:class:`TaskSpec` -- how its items are laid out (in space, in time, or as workspace
slots), which input roles it drives (``evidence``, ``bias``) and which readout roles it
reads (``items``, ``unit``) -- and every mechanism maps those roles onto its own
network. Trials carry the spec, so an agent knows which stimulus columns play which
role; Recordings carry the roles, so a task reads ``recording.role("items")``.

Data flow::

    Task.make_trials(n, seed)  -> Trials (stimulus [trials, steps, channels] + conditions)
    Agent.run(trials)          -> Recording (rates [trials, bins, units], roles)
    Task.score(trials, rec)    -> TaskResult (trial table, effects held to published bands)
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.trials import (INPUT_ROLES, LAYOUTS, READOUT_ROLES, TaskSpec, Trials, drive,
                                    role_means)
from neuroattn.model.units import check_int, to_si

if TYPE_CHECKING:  # the contract's tables are DataFrames; making trials needs no pandas
    import pandas as pd

__all__ = ["TaskSpec", "Trials", "Effect", "TaskResult", "Task", "Column", "LAYOUTS",
           "INPUT_ROLES", "READOUT_ROLES", "task_rng", "check_trials_arg", "role_means",
           "drive", "add_subject_state"]

@dataclass(frozen=True)
class Effect:
    """An effect with its 95 % CI and the published target it is held to.

    Parameters
    ----------
    name, unit : str
    estimate, ci_low, ci_high : float
    target : str
        The published result in words, with its source.
    band : (float, float) or None
        The published band; the estimate must lie in it.
    null : float or None
        The value of "no effect"; the CI must exclude it.
    passed : bool or None
        True when the estimate lies in the band and the CI excludes the null; None when
        the effect is reported without a verdict or cannot be estimated (NaN).
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    unit: str
    target: str
    passed: bool | None
    band: tuple | None = None
    null: float | None = None

    @classmethod
    def held_to(cls, name, estimate, ci_low, ci_high, unit, target, band=None, null=None):
        """An Effect whose verdict follows from ``band`` and ``null`` (see the class)."""
        finite = all(np.isfinite(x) for x in (estimate, ci_low, ci_high))
        if not finite or (band is None and null is None):
            passed = None
        else:
            ok = True
            if band is not None:
                ok &= band[0] <= estimate <= band[1]
            if null is not None:
                ok &= not (ci_low <= null <= ci_high)
            passed = bool(ok)
        return cls(name, float(estimate), float(ci_low), float(ci_high), unit, target, passed,
                   None if band is None else (float(band[0]), float(band[1])),
                   None if null is None else float(null))

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, float) and not np.isfinite(v):
                v = None
            elif isinstance(v, tuple):
                v = [None if not np.isfinite(x) else x for x in v]
            out[k] = v
        return out


@dataclass(frozen=True)
class TaskResult:
    """A scored run: the trial table, the effects, and per-condition summaries."""

    table: pd.DataFrame
    effects: tuple
    summary: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def effect(self, name: str) -> Effect:
        """The effect called ``name``."""
        for e in self.effects:
            if e.name == name:
                return e
        raise ValidationError(f"TaskResult.effect: no effect {name!r}; expected one of "
                              f"{[e.name for e in self.effects]}")


@dataclass(frozen=True)
class Column:
    """A column of a task's per-condition report.

    ``key`` names the summary column; ``ci`` the pair of CI columns (or None);
    ``scale`` multiplies the value for display (1e3: seconds shown as ms). ``panel``:
    columns given the same panel name share one panel of the summary figure (on one
    scale, e.g. proportions of trials), each with its own marker; by default each
    column has a panel of its own.
    """

    header: str
    key: str
    ci: tuple | None = None
    scale: float = 1.0
    fmt: str = "{:.1f}"
    panel: str | None = None


class Task(ABC):
    """A paradigm: makes trials, reads out a Recording, scores against published bands.

    Subclasses are frozen dataclasses whose fields are the task's parameters (settable
    with ``--set name=value``); they set ``name``, implement :meth:`spec`,
    :meth:`validate`, :meth:`make_trials`, :meth:`readout` and :meth:`score`, and name
    their report (:attr:`columns`, :meth:`figure`).
    """

    name: ClassVar[str]
    #: Per-condition report columns (the summary's keys).
    columns: ClassVar[tuple] = ()
    #: Summary column that says how trials agree across tiers: 'choice' tasks compare
    #: choices and RTs, 'response' tasks compare per-condition responses.
    agreement: ClassVar[str] = "choice"
    #: Effects held to a target when a parameter is varied over a series of runs:
    #: parameter name -> {effect name: key of neuroattn.tasks.targets.TARGETS}; the
    #: target's band applies to Spearman's rho of the effect against the parameter.
    series: ClassVar[dict] = {}
    #: Parameters with a physical unit: name -> SI unit ('s', 'Hz', ...). A bare number
    #: is taken in that unit; a brian2 Quantity is converted (150*ms -> 0.15), and one of
    #: another dimension is refused naming the parameter. None (an optional parameter
    #: left unset) stays None.
    units: ClassVar[dict] = {}
    #: Trials a run or a comparison makes by default, per command ('run', 'compare');
    #: a command not named here gets the study's default (100 runs, 200 comparisons).
    #: For paradigms whose effects need more trials to be estimated (capacity).
    default_trials: ClassVar[dict] = {}

    def __post_init__(self):
        for name, unit in self.units.items():
            if getattr(self, name) is None:
                continue
            object.__setattr__(self, name, to_si(getattr(self, name), unit,
                                                 f"{type(self).__name__}.{name}"))

    @abstractmethod
    def spec(self) -> TaskSpec:
        """Layout, input and readout roles."""

    @abstractmethod
    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""

    @abstractmethod
    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """``n`` trials; trial t's draws depend only on (seed, t)."""

    @abstractmethod
    def readout(self, recording, trials: Trials | None = None) -> pd.DataFrame:
        """Per-trial readout (choice, RT, response, ...) from a Recording."""

    @abstractmethod
    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Trial table, per-condition summary and effects with 95 % CIs."""

    def run(self, agent, trials: Trials, progress: bool = False):
        """Run ``agent`` on ``trials``: the Recording that :meth:`score` reads.

        Default: ``agent.run(trials)``. A closed-loop paradigm, whose next input depends
        on what the agent did (visual search inhibits the items it has rejected),
        overrides it and drives the agent step by step.
        """
        return agent.run(trials, progress=progress)

    def figure(self, results: dict):
        """A matplotlib Figure of ``{tier: TaskResult}`` (default: the summary columns)."""
        from neuroattn.study.plots import summary_figure
        return summary_figure(self, results)

    @classmethod
    def parameters(cls) -> dict:
        """Parameter name -> default value."""
        return {f.name: (f.default if f.default is not dataclasses.MISSING
                         else f.default_factory())
                for f in dataclasses.fields(cls)}

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and the mean bias while the items are on.

        The inputs the task presents, so a bridge can be calibrated and judged on them:
        ``[trials, 2 n_items]``, the evidence of each item, then its bias (see
        :func:`role_means`). Mechanisms that treat both alike add the halves; others
        (precision weighting) read the bias as a cue to precision.
        """
        ev = trials.role("evidence").astype(np.float64)
        bias = trials.role("bias").astype(np.float64)
        on = np.abs(ev).max(axis=2) > 0
        rows = []
        for t in range(trials.n):
            sel = on[t] if on[t].any() else np.ones(on.shape[1], bool)
            rows.append(np.concatenate([ev[t, sel].mean(axis=0), bias[t, sel].mean(axis=0)]))
        return np.asarray(rows)


def task_rng(seed: int, trial: int, stream: int) -> np.random.Generator:
    """Generator for a task's draws of trial ``trial`` (apart from the agents' streams)."""
    return np.random.default_rng([int(seed), int(trial), 0x7A5C, int(stream)])


def check_trials_arg(n, seed) -> tuple[int, int]:
    """Validate ``n`` (>= 1) and ``seed`` (>= 0) of make_trials."""
    n = check_int(n, "make_trials.n", minimum=1)
    if n > 10_000_000:
        raise ValidationError(f"make_trials.n: at most 10000000 trials per run (got {n}); "
                              f"split the run or use a sweep")
    return n, check_int(seed, "make_trials.seed", minimum=0)


def add_subject_state(table, recording) -> None:
    """Add the subject's per-trial states that ``recording`` carries (its meta's
    ``state``: name -> one value per trial, drawn by the agent, see
    :class:`~neuroattn.mechanisms.base.TrialState`) to a trial ``table`` in place, as
    columns ``state_<name>``; none when the mechanism has none. They are the subject's,
    not the task's: a task records them beside its conditions and scores nothing on them.
    """
    states = (getattr(recording, "meta", None) or {}).get("state") or {}
    for name, values in states.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(table),):
            raise ValidationError(f"Recording.meta['state'][{name!r}]: expected one value per "
                                  f"trial ({len(table)}) (got shape {values.shape})")
        table[f"state_{name}"] = values
