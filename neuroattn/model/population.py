"""A population: a group of identical neurons of one model."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, to_si

__all__ = ["Population"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Population:
    """``size`` neurons of one model with one parameter set.

    Parameters
    ----------
    name : str
        Identifier (letters, digits, underscores; starts with a letter).
    size : int
        Number of neurons (>= 1).
    params : neuroattn.neurons.LIFParams, EscapeParams or ConductanceLIFParams
        Neuron model and its parameters.
    v_init : float or (float, float) or None, volts
        Initial potential: one value, a (low, high) range drawn uniformly per neuron
        from the trial's generator, or None for ``v_rest``.

    Examples
    --------
    >>> from neuroattn.model import Population
    >>> from neuroattn.neurons import LIFParams
    >>> Population("exc", 100, LIFParams(sigma=2e-3)).size
    100
    """

    name: str
    size: int
    params: object
    v_init: float | tuple[float, float] | None = None

    def __post_init__(self):
        if self.v_init is not None:
            where = f"Population({self.name!r}).v_init"
            if isinstance(self.v_init, (tuple, list)):
                if len(self.v_init) != 2:
                    raise ValidationError(f"{where}: expected a value or a (low, high) pair in V "
                                          f"(got {len(self.v_init)} values)")
                lo, hi = (to_si(x, "V", where) for x in self.v_init)
                if hi < lo:
                    raise ValidationError(f"{where}: low must be <= high (got ({lo:g}, {hi:g}) V)")
                object.__setattr__(self, "v_init", (lo, hi))
            else:
                object.__setattr__(self, "v_init", to_si(self.v_init, "V", where))

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming the population."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                f"Population.name: expected an identifier such as 'exc0' (got {self.name!r})")
        check_int(self.size, f"Population({self.name!r}).size", minimum=1)
        # model/ sits above neurons/ and does not import it: any params object with a
        # known ``kind`` and a ``validate(where)`` method is a neuron model.
        if getattr(self.params, "kind", None) not in ("lif", "escape", "conductance") or \
                not hasattr(self.params, "validate"):
            raise ValidationError(
                f"Population({self.name!r}).params: expected LIFParams or EscapeParams "
                f"(got {type(self.params).__name__}); or ConductanceLIFParams for "
                "conductance synapses")
        self.params.validate(f"Population({self.name!r}).params")

    def initial_v(self, rng: np.random.Generator | None) -> np.ndarray:
        """Initial potentials (V) for one trial; draws from ``rng`` for a range."""
        if self.v_init is None:
            return np.full(self.size, self.params.v_rest)
        if isinstance(self.v_init, tuple):
            lo, hi = self.v_init
            return rng.uniform(lo, hi, self.size)
        return np.full(self.size, float(self.v_init))
