"""Neuromorphic platforms: published limits and energy figures, read from TOML files.

Each file in ``neuroattn/hardware/platforms/`` states one chip's limits with its
sources. A limit a file does not state is not checked.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from neuroattn.exceptions import ValidationError

__all__ = ["Platform", "PLATFORMS", "get_platform"]

_DIR = Path(__file__).parent / "platforms"


@dataclass(frozen=True)
class Platform:
    """One chip's limits (per core unless stated) and its energy figures.

    Attributes
    ----------
    name, title : str
    cores : int
        Cores per chip.
    neurons_per_core : int
    synapses_per_core : int or None
        Synapses one core can store (a crossbar's size).
    synapse_memory_bytes_per_core : int or None
        Synaptic memory per core; a synapse takes ``weight_bits / 8`` bytes.
    axons_per_core : int or None
        Distinct presynaptic neurons whose spikes one core receives.
    fan_in : int or None
        Synapses onto one neuron.
    weight_bits : int
    energy_pj : dict
        ``synaptic_op`` and ``neuron_update`` in picojoules where published, their
        ``source``, and where they were measured on another chip (``measured_on``) the
        ``label`` an energy table prints instead of the title.
    sources : tuple of str
    published : dict
        Further figures published for this chip that the energy model does not use
        (e.g. chip power), for reference.
    """

    name: str
    title: str
    cores: int
    neurons_per_core: int
    synapses_per_core: int | None = None
    synapse_memory_bytes_per_core: int | None = None
    axons_per_core: int | None = None
    fan_in: int | None = None
    weight_bits: int = 8
    energy_pj: dict = field(default_factory=dict)
    sources: tuple = ()
    published: dict = field(default_factory=dict)

    @property
    def synapse_capacity(self) -> int | None:
        """Synapses one core holds: the tighter of the crossbar and memory limits."""
        caps = [c for c in (self.synapses_per_core,
                            None if self.synapse_memory_bytes_per_core is None else
                            self.synapse_memory_bytes_per_core * 8 // self.weight_bits)
                if c is not None]
        return min(caps) if caps else None

    def limits(self) -> dict:
        """The checked limits, name -> value."""
        out = {"neurons_per_core": self.neurons_per_core}
        for k in ("synapse_capacity", "axons_per_core", "fan_in"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        return out


def _load(path: Path) -> Platform:
    with open(path, "rb") as fh:
        d = tomllib.load(fh)
    d["sources"] = tuple(d.get("sources", ()))
    d["energy_pj"] = dict(d.get("energy_pj", {}))
    d["published"] = dict(d.get("published", {}))
    return Platform(**d)


PLATFORMS = {p.stem: _load(p) for p in sorted(_DIR.glob("*.toml"))}


def get_platform(name) -> Platform:
    """The platform called ``name`` (a Platform passes through)."""
    if isinstance(name, Platform):
        return name
    if name not in PLATFORMS:
        raise ValidationError(f"platform: unknown {name!r}; expected one of {sorted(PLATFORMS)}")
    return PLATFORMS[name]
