"""What a task presents and reads back: TaskSpec (roles) and Trials (stimulus + conditions).

These travel between tasks and agents, as Recordings travel back: a task declares a
:class:`TaskSpec`; an agent maps its roles onto a network; neither names the other's
channels or populations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_choice, check_int

__all__ = ["TaskSpec", "Trials", "LAYOUTS", "INPUT_ROLES", "READOUT_ROLES", "role_means", "drive"]

#: How a task lays out its items: at locations (space), one after another (time), or as
#: the slots of a limited-capacity store.
LAYOUTS = ("space", "time", "slots")
#: Input roles: bottom-up evidence per item, and a top-down bias (attention) per item.
INPUT_ROLES = ("evidence", "bias")
#: Readout roles: one rate per item, and one downstream unit reading the items.
READOUT_ROLES = ("items", "unit")


@dataclass(frozen=True)
class TaskSpec:
    """What a task presents to a mechanism and what it reads back.

    Parameters
    ----------
    layout : {'space', 'time', 'slots'}
        How the items are arranged.
    n_items : int
        Number of items (locations, positions in a stream, or slots).
    inputs : tuple of str
        Input roles, each ``n_items`` stimulus channels wide, in this order.
    readouts : tuple of str
        Readout roles: ``'items'`` (one unit per item) and optionally ``'unit'`` (one
        downstream unit whose selectivity for item k is ``values[k]``).
    values : tuple of float, optional
        Selectivities of the ``'unit'`` readout, one per item, in [0, 1].
    serial : bool
        True when the task selects items one at a time and pushes the rejected ones
        down with a strongly negative bias before the next selection (visual search);
        a mechanism without a selection stage refuses such tasks (default False).

    Examples
    --------
    >>> from neuroattn.model import TaskSpec
    >>> spec = TaskSpec("space", 2)
    >>> spec.channels()
    {'evidence': (0, 1), 'bias': (2, 3)}
    >>> spec.unit_names()
    {'items': ('item0', 'item1')}
    """

    layout: str
    n_items: int
    inputs: tuple = INPUT_ROLES
    readouts: tuple = ("items",)
    values: tuple | None = None
    serial: bool = False

    def __post_init__(self):
        check_choice(self.layout, "TaskSpec.layout", LAYOUTS)
        check_int(self.n_items, "TaskSpec.n_items", minimum=1)
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "readouts", tuple(self.readouts))
        for r in self.inputs:
            check_choice(r, "TaskSpec.inputs", INPUT_ROLES)
        for r in self.readouts:
            check_choice(r, "TaskSpec.readouts", READOUT_ROLES)
        if "unit" in self.readouts:
            vals = np.asarray(self.values if self.values is not None else [], dtype=np.float64)
            if vals.shape != (self.n_items,) or not np.all(np.isfinite(vals)) or np.any(
                    vals < 0) or np.any(vals > 1):
                raise ValidationError(f"TaskSpec.values: the 'unit' readout needs "
                                      f"{self.n_items} selectivities in [0, 1], one per item "
                                      f"(got {self.values!r})")
            object.__setattr__(self, "values", tuple(float(v) for v in vals))
        elif self.values is not None:
            raise ValidationError("TaskSpec.values: only the 'unit' readout has values; add "
                                  "'unit' to readouts or pass values=None")

    @property
    def n_channels(self) -> int:
        """Stimulus channels: ``n_items`` per input role."""
        return self.n_items * len(self.inputs)

    def channels(self) -> dict:
        """Input role -> stimulus column of each item."""
        n = self.n_items
        return {r: tuple(range(i * n, (i + 1) * n)) for i, r in enumerate(self.inputs)}

    def channel_names(self) -> tuple:
        """A name per stimulus column (``evidence0``, ..., ``bias0``, ...), for display."""
        return tuple(f"{r}{i}" for r in self.inputs for i in range(self.n_items))

    def unit_names(self) -> dict:
        """Readout role -> the Recording unit names that play it."""
        out = {}
        for r in self.readouts:
            out[r] = tuple(f"item{i}" for i in range(self.n_items)) if r == "items" else ("unit",)
        return out


class _Conditions:
    """The ``conditions`` field of :class:`Trials`: a table given as rows or columns
    becomes a pandas DataFrame when first read.

    Making trials then needs no pandas: a ``neuroattn run`` imports it only to score,
    which can happen in a process of its own while the simulation runs
    (``neuroattn.study._reporter``). What is stored, pickled and copied is the table
    as the task gave it.
    """

    def __set_name__(self, owner, name):
        self._slot = f"_{name}_given"
        self._cache = f"_{name}_frame"

    def __get__(self, obj, owner=None):
        if obj is None:  # dataclass asks for a default: there is none
            raise AttributeError("conditions")
        d = obj.__dict__
        if self._cache not in d:
            given = d[self._slot]
            if isinstance(given, (list, dict)):
                import pandas as pd

                given = pd.DataFrame(given)
            d[self._cache] = given
        return d[self._cache]

    def __set__(self, obj, value):
        obj.__dict__[self._slot] = value
        obj.__dict__.pop(self._cache, None)


@dataclass(frozen=True)
class Trials:
    """A batch of trials: stimulus arrays plus one conditions row per trial.

    Parameters
    ----------
    stimulus : ndarray float32 [trials, steps, channels]
        Channel values (dimensionless); row s holds for ``[s dt, (s+1) dt)``. Column
        roles follow ``spec.channels()``.
    dt : float, seconds
        Duration of one row.
    spec : TaskSpec
        The roles of the columns and of the readouts the task will read.
    conditions : pandas.DataFrame, list of dict or dict of sequences
        One row per trial (condition labels, target item, seed, ...). Rows (a list of
        dicts, one per trial) or columns (a dict of name -> sequence) are made into a
        DataFrame the first time ``conditions`` is read, so that a task can make trials
        without importing pandas.
    seed : int
        The seed the trials were made with; agents derive their own draws from it.
    task : str
    extra : dict
        Per-trial arrays a task keeps for its readout (e.g. non-decision times).
    """

    stimulus: np.ndarray
    dt: float
    spec: TaskSpec
    conditions: object = _Conditions()
    seed: int
    task: str
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.stimulus.ndim != 3 or self.stimulus.shape[2] != self.spec.n_channels:
            raise ValidationError(f"Trials.stimulus: expected shape [trials, steps, "
                                  f"{self.spec.n_channels}] for {self.spec} (got "
                                  f"{self.stimulus.shape})")
        given, rows = self.__dict__["_conditions_given"], None  # as the task gave it
        if isinstance(given, list):            # rows
            rows = len(given)
        elif isinstance(given, dict) and given:  # columns
            rows = len(next(iter(given.values())))
        if rows is not None and rows != self.stimulus.shape[0]:
            raise ValidationError(f"Trials.conditions: expected one row per trial "
                                  f"({self.stimulus.shape[0]}) (got {rows})")

    @property
    def n(self) -> int:
        """Number of trials."""
        return self.stimulus.shape[0]

    @property
    def channels(self) -> tuple:
        """Display name of each stimulus column."""
        return self.spec.channel_names()

    @property
    def times(self) -> np.ndarray:
        """Start time (s) of each row."""
        return np.arange(self.stimulus.shape[1]) * self.dt

    def role(self, name: str) -> np.ndarray:
        """Stimulus columns [trials, steps, n_items] of input role ``name`` (zeros if absent)."""
        cols = self.spec.channels()
        if name not in cols:
            if name not in INPUT_ROLES:
                raise ValidationError(f"Trials.role: expected one of {list(INPUT_ROLES)} "
                                      f"(got {name!r})")
            return np.zeros(self.stimulus.shape[:2] + (self.spec.n_items,), np.float32)
        return self.stimulus[:, :, list(cols[name])]


def role_means(trials: Trials, start: float = 0.0) -> np.ndarray:
    """Per trial, the mean evidence then the mean bias from ``start`` (s) on.

    Returns ``[trials, 2 n_items]``: what :meth:`Task.bridge_inputs` gives mechanisms.
    """
    on = int(round(start / trials.dt))
    ev = trials.role("evidence")[:, on:].astype(np.float64).mean(axis=1)
    bias = trials.role("bias")[:, on:].astype(np.float64).mean(axis=1)
    return np.concatenate([ev, bias], axis=1)


def drive(inputs, n_items: int, where: str) -> np.ndarray:
    """``evidence + bias`` [n, n_items] from bridge inputs ``[n, 2 n_items]``; inputs
    ``[n, n_items]`` are taken as that sum already (a mechanism that adds both)."""
    u = np.asarray(inputs, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] not in (n_items, 2 * n_items):
        raise ValidationError(f"{where}: expected inputs of shape [n, {2 * n_items}] (evidence "
                              f"then bias, as Task.bridge_inputs gives) or [n, {n_items}] "
                              f"(their sum) (got shape {u.shape})")
    return u if u.shape[1] == n_items else u[:, :n_items] + u[:, n_items:]
