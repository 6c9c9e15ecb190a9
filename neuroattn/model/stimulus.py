"""Stimuli: input currents or Poisson rates per channel over time, mapped onto populations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si, to_si_array

__all__ = ["Drive", "Stimulus"]


@dataclass(frozen=True)
class Drive:
    """How one stimulus channel drives one population.

    Parameters
    ----------
    channel : int
        Column of the stimulus array.
    population : str
        Target population; every neuron of it receives the drive.
    kind : {'current', 'poisson'}
        ``'current'``: the neurons receive ``gain * value`` amperes.
        ``'poisson'``: each neuron receives its own Poisson spike train of rate
        ``gain * value`` Hz (negative rates count as 0), each spike adding ``weight``
        amperes to an input current that decays with ``tau_syn``.
    gain : float
        Amperes per unit of value (``'current'``) or hertz per unit (``'poisson'``).
    weight : float, amperes
        Current jump per input spike (``'poisson'`` only).
    tau_syn : float, seconds
        Decay of the input current (``'poisson'`` only; default 5 ms).
    receptor : str or None
        ``'poisson'`` onto a conductance-based population: the receptor the input spikes
        act on (e.g. ``'ampa'``); ``weight`` is then in siemens and ``tau_syn`` unused.
        For a saturating receptor each neuron gets its own gating pair driven by its
        input spikes (``x += k``) and conductance ``weight * s``.

    Examples
    --------
    >>> from neuroattn.model import Drive
    >>> Drive(0, "exc", "current", gain=100e-12).kind
    'current'
    """

    channel: int
    population: str
    kind: str = "current"
    gain: float = 1.0
    weight: float = 0.0
    tau_syn: float = 5e-3
    receptor: str | None = None

    def __post_init__(self):
        where = f"Drive(channel={self.channel}, population={self.population!r})"
        object.__setattr__(self, "gain", to_si(self.gain, "1", f"{where}.gain")
                           if not hasattr(self.gain, "dim") else self._si_gain(where))
        object.__setattr__(self, "weight", to_si(self.weight, "A" if self.receptor is None
                                                 else "S", f"{where}.weight"))
        object.__setattr__(self, "tau_syn", to_si(self.tau_syn, "s", f"{where}.tau_syn"))

    def _si_gain(self, where):
        return to_si(self.gain, "A" if self.kind == "current" else "Hz", f"{where}.gain")

    def validate(self, n_channels: int, populations: set[str]) -> None:
        """Check the drive against the stimulus width and the network's populations."""
        where = f"Drive(channel={self.channel}, population={self.population!r})"
        check_int(self.channel, f"{where}.channel", minimum=0)
        if self.channel >= n_channels:
            raise ValidationError(f"{where}.channel: stimulus has {n_channels} channels "
                                  f"(got channel {self.channel})")
        if self.population not in populations:
            raise ValidationError(f"{where}.population: no such population; expected one of "
                                  f"{sorted(populations)} (got {self.population!r})")
        if self.kind not in ("current", "poisson"):
            raise ValidationError(f"{where}.kind: expected 'current' or 'poisson' "
                                  f"(got {self.kind!r})")
        if self.receptor is not None and (self.kind != "poisson" or not isinstance(
                self.receptor, str)):
            raise ValidationError(f"{where}.receptor: only a 'poisson' drive names a receptor, "
                                  f"as a string such as 'ampa' (got kind={self.kind!r}, "
                                  f"receptor={self.receptor!r})")
        if self.kind == "poisson":
            check_positive(self.gain, "Hz", f"{where}.gain", allow_zero=True)
            check_positive(self.weight, "A", f"{where}.weight", allow_zero=True)
            check_positive(self.tau_syn, "s", f"{where}.tau_syn")


@dataclass(frozen=True)
class Stimulus:
    """Values per channel over time, and the drives that map channels onto populations.

    Parameters
    ----------
    values : ndarray [steps, channels] or [trials, steps, channels]
        Channel values; each row holds for ``dt`` seconds. A 2-D array is shared by
        every trial. After the last row the channels are 0.
    dt : float, seconds
        Duration of one row; must be a whole multiple of the simulation step.
    drives : sequence of Drive

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.model import Drive, Stimulus
    >>> s = Stimulus(np.ones((100, 1)), 1e-3, [Drive(0, "exc", gain=200e-12)])
    >>> s.duration
    0.1
    """

    values: np.ndarray
    dt: float
    drives: tuple

    def __post_init__(self):
        vals = to_si_array(self.values, "1", "Stimulus.values")
        if vals.ndim not in (2, 3):
            raise ValidationError(f"Stimulus.values: expected shape [steps, channels] or "
                                  f"[trials, steps, channels] (got shape {vals.shape})")
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)
        object.__setattr__(self, "dt", to_si(self.dt, "s", "Stimulus.dt"))
        object.__setattr__(self, "drives", tuple(self.drives))

    @property
    def n_trials(self) -> int | None:
        """Trials in ``values`` (None for a 2-D array shared by all trials)."""
        return self.values.shape[0] if self.values.ndim == 3 else None

    @property
    def n_steps(self) -> int:
        """Rows per trial."""
        return self.values.shape[-2]

    @property
    def n_channels(self) -> int:
        """Columns."""
        return self.values.shape[-1]

    @property
    def duration(self) -> float:
        """Length of the stimulus, seconds."""
        return round(self.n_steps * self.dt, 12)

    def validate(self, populations: set[str]) -> None:
        """Check dt, the values and every drive."""
        check_positive(self.dt, "s", "Stimulus.dt")
        for d in self.drives:
            if not isinstance(d, Drive):
                raise ValidationError(f"Stimulus.drives: expected Drive objects "
                                      f"(got {type(d).__name__})")
            d.validate(self.n_channels, populations)

    def trial_values(self, trial: int) -> np.ndarray:
        """Values [steps, channels] of one trial."""
        return self.values[trial] if self.values.ndim == 3 else self.values

    def steps_per_row(self, sim_dt: float) -> int:
        """Simulation steps per stimulus row; ValidationError unless a whole number."""
        ratio = self.dt / sim_dt
        k = int(round(ratio))
        if k < 1 or abs(ratio - k) > 1e-6 * ratio:
            raise ValidationError(f"Stimulus.dt: must be a whole multiple of the simulation dt "
                                  f"{sim_dt:g} s (got {self.dt:g} s)")
        return k
