"""neuroattn: biologically inspired attention as spiking networks, bridged to softmax.

Layers (imports go down this list only): ``model`` (network description, numpy only),
``neurons`` (neuron models: numpy steps, analytic oracles, Brian2 equations),
``backends`` (simulate a network: brian2, numba, torch), ``attention`` (softmax
attention kernels and layers), ``mechanisms`` (biased competition, ...), ``tasks``
(paradigms), ``study`` (results store, plots), ``cli``.
"""

from neuroattn.exceptions import (
    BackendUnavailable,
    BuildError,
    NeuroAttnError,
    SimulationError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "BuildError",
    "NeuroAttnError",
    "SimulationError",
    "ValidationError",
    "__version__",
]
