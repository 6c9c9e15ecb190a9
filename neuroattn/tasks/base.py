"""What every task shares: Trials, the result of scoring, and the readouts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model._units import check_int

__all__ = ["Trials", "Effect", "TaskResult", "task_rng", "smooth", "first_crossing",
           "check_trials_arg"]


@dataclass(frozen=True)
class Trials:
    """A batch of trials: stimulus arrays plus one conditions row per trial.

    Parameters
    ----------
    stimulus : ndarray float32 [trials, steps, channels]
        Channel values (dimensionless); row s holds for ``[s dt, (s+1) dt)``.
    dt : float, seconds
        Duration of one row.
    channels : tuple of str
        Channel names: ``x0..`` bottom-up inputs, ``b0..`` top-down biases.
    conditions : pandas.DataFrame
        One row per trial (condition labels, target location, seed, ...).
    seed : int
        The seed the trials were made with; agents derive their own draws from it.
    task : str
    """

    stimulus: np.ndarray
    dt: float
    channels: tuple
    conditions: pd.DataFrame
    seed: int
    task: str

    @property
    def n(self) -> int:
        """Number of trials."""
        return self.stimulus.shape[0]

    @property
    def times(self) -> np.ndarray:
        """Start time (s) of each row."""
        return np.arange(self.stimulus.shape[1]) * self.dt


@dataclass(frozen=True)
class Effect:
    """An effect with its 95 % CI and the published target it is held to.

    ``passed`` is True when the CI lies entirely on the side the target names.
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    unit: str
    target: str
    passed: bool | None

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in self.__dict__.items()}


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


def task_rng(seed: int, trial: int, stream: int) -> np.random.Generator:
    """Generator for a task's draws of trial ``trial`` (apart from the agents' streams)."""
    return np.random.default_rng([int(seed), int(trial), 0x7A5C, int(stream)])


def smooth(rates: np.ndarray, n_bins: int) -> np.ndarray:
    """Causal moving average over the last ``n_bins`` bins along axis 1."""
    if n_bins <= 1:
        return rates
    c = np.cumsum(rates, axis=1)
    out = c.copy()
    out[:, n_bins:] = c[:, n_bins:] - c[:, :-n_bins]
    counts = np.minimum(np.arange(1, rates.shape[1] + 1), n_bins)
    shape = (1, -1) + (1,) * (rates.ndim - 2)
    return out / counts.reshape(shape)


def first_crossing(trace: np.ndarray, threshold: float, start: int, stop: int) -> int:
    """Index of the first bin in ``[start, stop)`` where ``trace`` >= threshold, else -1."""
    seg = trace[start:stop] >= threshold
    idx = int(np.argmax(seg)) if seg.size else 0
    return start + idx if seg.size and seg[idx] else -1


def check_trials_arg(n, seed) -> tuple[int, int]:
    """Validate ``n`` (>= 1) and ``seed`` (>= 0) of make_trials."""
    return check_int(n, "make_trials.n", minimum=1), check_int(seed, "make_trials.seed",
                                                               minimum=0)
