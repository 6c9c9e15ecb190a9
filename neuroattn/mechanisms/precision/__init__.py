"""Predictive coding with precision-weighted prediction errors (Friston 2005, 2009;
Feldman & Friston 2010): attention is the optimisation of the precision (inverse
variance) of prediction errors.

Spiking tier: :class:`PCCircuit` (prediction and rectified error populations of spiking
neurons, precision set by a modulatory population). Softmax tier:
:class:`PrecisionAttention`. The bridge: :func:`to_softmax`, :func:`to_spiking`,
:func:`calibrate`. :class:`Precision` is the mechanism through the Mechanism contract.
"""

import importlib

# name -> submodule; imported on first use, so that importing the package (as the
# registry does) pulls in neither torch (softmax) nor the bridge's fitting code.
_WHERE = {
    **dict.fromkeys(("PrecisionCalibration", "calibrate", "spike_shares", "to_softmax",
                     "to_spiking", "precision_trials", "run_circuit"), "bridge"),
    "PCCircuit": "circuits",
    "Precision": "mechanism",
    "PrecisionAttention": "softmax",
    "PrecisionParams": "params",
}


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_WHERE))


__all__ = sorted(_WHERE)
