"""Biased competition (Desimone & Duncan 1995): locations compete through shared
inhibition; a top-down bias tips the competition toward the attended one.

Spiking tier: :class:`LIFCircuit` (soft WTA of noisy LIF populations) and
:class:`EscapeCircuit` (stochastic WTA, Nessler et al. 2013). Softmax tier:
:class:`SoftmaxCompetition`. The bridge: :func:`to_softmax`, :func:`to_spiking`,
:func:`calibrate`, :func:`equivalence`. :class:`BiasedCompetition` is the mechanism
through the project's Mechanism contract.
"""

from neuroattn.mechanisms.biased_competition.bridge import (
    Calibration,
    Equivalence,
    calibrate,
    equivalence,
    equivalence_from_shares,
    input_trials,
    mean_field,
    run_circuit,
    spike_shares,
    to_softmax,
    to_spiking,
)
from neuroattn.mechanisms.biased_competition.circuits import EscapeCircuit, LIFCircuit
from neuroattn.mechanisms.biased_competition.mechanism import BiasedCompetition
from neuroattn.mechanisms.biased_competition.softmax import SoftmaxCompetition, SoftmaxParams

__all__ = [
    "BiasedCompetition",
    "Calibration",
    "Equivalence",
    "EscapeCircuit",
    "LIFCircuit",
    "SoftmaxCompetition",
    "SoftmaxParams",
    "calibrate",
    "equivalence",
    "equivalence_from_shares",
    "input_trials",
    "mean_field",
    "run_circuit",
    "spike_shares",
    "to_softmax",
    "to_spiking",
]
