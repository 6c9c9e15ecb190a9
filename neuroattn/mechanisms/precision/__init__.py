"""Predictive coding with precision-weighted prediction errors (Friston 2005, 2009;
Feldman & Friston 2010): attention is the optimisation of the precision (inverse
variance) of prediction errors.

Spiking tier: :class:`PCCircuit` (prediction and rectified error populations of spiking
neurons, precision set by a modulatory population). Softmax tier:
:class:`PrecisionAttention`. The bridge: :func:`to_softmax`, :func:`to_spiking`,
:func:`calibrate`. :class:`Precision` is the mechanism through the Mechanism contract.
"""

from neuroattn._lazy import lazy_exports

# name -> submodule; imported on first use, so that importing the package (as the
# registry does) pulls in neither torch (softmax) nor the bridge's fitting code.
_WHERE = {
    **dict.fromkeys(("PrecisionCalibration", "calibrate", "spike_counts", "to_softmax",
                     "to_spiking", "precision_trials", "run_circuit"), "bridge"),
    "PCCircuit": "circuits",
    "Precision": "mechanism",
    "PrecisionAttention": "softmax",
    "PrecisionParams": "params",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = sorted(_WHERE)
