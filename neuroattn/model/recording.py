"""Recording: what any tier (Brian2, Numba, torch, softmax) returns, in the same units."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["Recording"]


@dataclass(frozen=True)
class Recording:
    """Binned rates (and optionally spikes and potentials) of a batch of trials.

    Parameters
    ----------
    rates : ndarray [trials, bins, units], hertz
        Mean rate per neuron of each readout unit in each bin.
    bin_width : float, seconds
    units : tuple of str
        Name of each readout unit (a population, a location, a workspace slot).
    spikes : list or None
        Per trial, a dict ``population -> (neuron_index int array, time array in s)``.
    v : dict or None
        ``population -> ndarray [trials, steps, neurons]`` of potentials (V).
    meta : dict
        ``mechanism``, ``tier``, ``backend``, ``dt``, ``seed`` and the parameters.
    roles : dict or None
        Readout role -> tuple of unit names, e.g. ``{"items": ("item0", "item1")}``:
        what a task reads (:meth:`role`) without knowing how a mechanism names its units.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.model import Recording
    >>> r = Recording(np.zeros((2, 10, 3)), 5e-3, ("a", "b", "c"))
    >>> r.times[:3]
    array([0.   , 0.005, 0.01 ])
    """

    rates: np.ndarray
    bin_width: float
    units: tuple
    spikes: list | None = None
    v: dict | None = None
    meta: dict = field(default_factory=dict)
    roles: dict | None = None

    def __post_init__(self):
        rates = np.asarray(self.rates, dtype=np.float64)
        if rates.ndim != 3:
            raise ValidationError(f"Recording.rates: expected shape [trials, bins, units] "
                                  f"(got shape {rates.shape})")
        object.__setattr__(self, "units", tuple(self.units))
        if rates.shape[2] != len(self.units):
            raise ValidationError(f"Recording.units: expected {rates.shape[2]} names, one per "
                                  f"unit (got {len(self.units)})")
        rates.setflags(write=False)
        object.__setattr__(self, "rates", rates)
        if self.roles is not None:
            roles = {str(r): tuple(names) for r, names in dict(self.roles).items()}
            for role, names in roles.items():
                missing = [n for n in names if n not in self.units]
                if missing:
                    raise ValidationError(f"Recording.roles[{role!r}]: units {missing} are not "
                                          f"recorded; expected names from {list(self.units)}")
            object.__setattr__(self, "roles", roles)

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return self.rates.shape[0]

    @property
    def times(self) -> np.ndarray:
        """Start time (s) of each bin."""
        return np.arange(self.rates.shape[1]) * self.bin_width

    def unit(self, name: str) -> np.ndarray:
        """Rates [trials, bins] of the named unit."""
        try:
            return self.rates[:, :, self.units.index(name)]
        except ValueError:
            raise ValidationError(f"Recording.unit: no unit {name!r}; expected one of "
                                  f"{list(self.units)}") from None

    def role(self, name: str) -> np.ndarray:
        """Rates [trials, bins, n] of the units that play readout role ``name``.

        Examples
        --------
        >>> import numpy as np
        >>> from neuroattn.model import Recording
        >>> r = Recording(np.zeros((1, 4, 3)), 5e-3, ("a", "b", "c"), roles={"items": ("a", "b")})
        >>> r.role("items").shape
        (1, 4, 2)
        """
        if not self.roles or name not in self.roles:
            have = sorted(self.roles) if self.roles else []
            raise ValidationError(f"Recording.role: no readout role {name!r}; this recording "
                                  f"has roles {have}")
        idx = [self.units.index(u) for u in self.roles[name]]
        return self.rates[:, :, idx]

    def select(self, units) -> "Recording":
        """A Recording holding only ``units`` (names), in that order."""
        idx = [self.units.index(u) for u in units]
        roles = None if self.roles is None else {
            r: tuple(n for n in names if n in units) for r, names in self.roles.items()}
        return Recording(self.rates[:, :, idx], self.bin_width, tuple(units), self.spikes,
                         self.v, dict(self.meta), roles)
