"""Biased competition (Desimone & Duncan 1995): locations compete through shared
inhibition; a top-down bias tips the competition toward the attended one.

Spiking tier: :class:`LIFCircuit` (soft WTA of noisy LIF populations) and
:class:`EscapeCircuit` (stochastic WTA, Nessler et al. 2013). Softmax tier:
:class:`SoftmaxCompetition`. The bridge: :func:`to_softmax`, :func:`to_spiking`,
:func:`calibrate`, :func:`equivalence`. :class:`BiasedCompetition` is the mechanism
through the project's Mechanism contract.
"""

from neuroattn._lazy import lazy_exports

# name -> submodule; imported on first use, so that importing the package (as the
# registry does) pulls in neither torch (softmax) nor the bridge's fitting code.
_WHERE = {
    **dict.fromkeys(("Calibration", "Equivalence", "calibrate", "equivalence",
                     "equivalence_from_shares", "input_trials", "mean_field", "run_circuit",
                     "spike_counts", "to_softmax", "to_spiking"), "bridge"),
    "EscapeCircuit": "circuits",
    "LIFCircuit": "circuits",
    "BiasedCompetition": "mechanism",
    "SoftmaxCompetition": "softmax",
    "SoftmaxParams": "params",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


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
    "spike_counts",
    "to_softmax",
    "to_spiking",
]
