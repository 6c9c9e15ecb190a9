"""The network description: frozen, validated, SI floats inside; no torch, numba or brian2."""

from neuroattn.model.network import Network
from neuroattn.model.population import Population
from neuroattn.model.probe import Probe
from neuroattn.model.projection import (
    AllToAll,
    Explicit,
    FixedIndegree,
    FixedProbability,
    OneToOne,
    Projection,
)
from neuroattn.model.recording import Recording
from neuroattn.model.stimulus import Drive, Stimulus
from neuroattn.model.trials import TaskSpec, Trials

__all__ = [
    "AllToAll",
    "Drive",
    "Explicit",
    "FixedIndegree",
    "FixedProbability",
    "Network",
    "OneToOne",
    "Population",
    "Probe",
    "Projection",
    "Recording",
    "Stimulus",
    "TaskSpec",
    "Trials",
]
