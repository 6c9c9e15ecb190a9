"""Biased competition (Desimone & Duncan 1995): locations compete through shared
inhibition; a top-down bias tips the competition toward the attended one.

Spiking tier: :class:`LIFCircuit` (soft WTA of noisy LIF populations) and
:class:`EscapeCircuit` (stochastic WTA, Nessler et al. 2013). Softmax tier:
:class:`SoftmaxCompetition`. The bridge: :func:`to_softmax`, :func:`to_spiking`,
:func:`calibrate`, :func:`equivalence`.
"""

from neuroattn.mechanisms.biased_competition.agents import SoftmaxAgent, SpikingAgent
from neuroattn.mechanisms.biased_competition.bridge import (
    Calibration,
    Equivalence,
    InputTrials,
    calibrate,
    equivalence,
    equivalence_from_shares,
    js_divergence,
    mean_field,
    spike_shares,
    to_softmax,
    to_spiking,
)
from neuroattn.mechanisms.biased_competition.circuits import (
    EscapeCircuit,
    LIFCircuit,
    location_names,
)
from neuroattn.mechanisms.biased_competition.softmax import SoftmaxCompetition, SoftmaxParams

NAME = "biased-competition"


def spiking(circuit=None, values=None):
    """The spiking tier: ``(network, readout)`` with readout unit -> population name."""
    circuit = LIFCircuit() if circuit is None else circuit
    readout = dict(circuit.readout)
    if values is not None:
        readout["unit"] = "V"
    return circuit.network(values), readout


def softmax(params=None, values=None):
    """The softmax tier: a :class:`SoftmaxCompetition` module (default: ``to_softmax(LIFCircuit())``)."""
    params = to_softmax(LIFCircuit(), values) if params is None else params
    return SoftmaxCompetition(params, values)


__all__ = [
    "NAME",
    "Calibration",
    "Equivalence",
    "EscapeCircuit",
    "InputTrials",
    "LIFCircuit",
    "SoftmaxAgent",
    "SoftmaxCompetition",
    "SoftmaxParams",
    "SpikingAgent",
    "calibrate",
    "equivalence",
    "equivalence_from_shares",
    "js_divergence",
    "location_names",
    "mean_field",
    "softmax",
    "spike_shares",
    "spiking",
    "to_softmax",
    "to_spiking",
]
