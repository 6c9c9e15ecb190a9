"""Probes: what a simulation records."""

from __future__ import annotations

from dataclasses import dataclass

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive, to_si

__all__ = ["Probe"]


@dataclass(frozen=True)
class Probe:
    """Record a population.

    Parameters
    ----------
    population : str
    kind : {'rate', 'spikes', 'v'}
        ``'rate'``: population rate (Hz per neuron) in bins of ``bin_width``;
        ``'spikes'``: every spike (neuron index, time);
        ``'v'``: membrane potential of ``neurons`` at every step.
    bin_width : float, seconds
        Bin of the rate probe (default 5 ms); a whole multiple of the simulation dt.
    neurons : tuple of int
        Neurons whose potential a ``'v'`` probe records (default the first).

    Examples
    --------
    >>> from neuroattn.model import Probe
    >>> Probe("exc", "rate", bin_width=10e-3).bin_width
    0.01
    """

    population: str
    kind: str = "rate"
    bin_width: float = 5e-3
    neurons: tuple = (0,)

    def __post_init__(self):
        object.__setattr__(self, "bin_width",
                           to_si(self.bin_width, "s", f"Probe({self.population!r}).bin_width"))
        object.__setattr__(self, "neurons", tuple(int(i) for i in self.neurons))

    def validate(self, sizes: dict[str, int]) -> None:
        """Check the probe against the network's populations."""
        where = f"Probe({self.population!r})"
        if self.population not in sizes:
            raise ValidationError(f"{where}.population: no such population; expected one of "
                                  f"{sorted(sizes)} (got {self.population!r})")
        if self.kind not in ("rate", "spikes", "v"):
            raise ValidationError(f"{where}.kind: expected 'rate', 'spikes' or 'v' "
                                  f"(got {self.kind!r})")
        check_positive(self.bin_width, "s", f"{where}.bin_width")
        n = sizes[self.population]
        if self.kind == "v" and (not self.neurons or min(self.neurons) < 0
                                 or max(self.neurons) >= n):
            raise ValidationError(f"{where}.neurons: expected indices in [0, {n}) "
                                  f"(got {self.neurons})")
