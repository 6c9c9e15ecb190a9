"""Neuron models: each has a Params dataclass, a pure numpy step (the specification),
an analytic rate (the test oracle) and Brian2 equations (``neuroattn.neurons.brian2_eqs``).
"""

from neuroattn.neurons.conductance import (
    ConductanceLIFParams,
    Receptor,
    ampa,
    gaba_a,
    nmda,
)
from neuroattn.neurons.escape import (
    EscapeParams,
    EscapeState,
    escape_init,
    escape_intensity,
    escape_rate,
    escape_step,
)
from neuroattn.neurons.lif import LIFParams, LIFState, lif_init, lif_rate, lif_rate_noisy, lif_step

NeuronParams = LIFParams | EscapeParams | ConductanceLIFParams

__all__ = [
    "ConductanceLIFParams",
    "Receptor",
    "ampa",
    "gaba_a",
    "nmda",
    "EscapeParams",
    "EscapeState",
    "LIFParams",
    "LIFState",
    "NeuronParams",
    "escape_init",
    "escape_intensity",
    "escape_rate",
    "escape_step",
    "lif_init",
    "lif_rate",
    "lif_rate_noisy",
    "lif_step",
]
