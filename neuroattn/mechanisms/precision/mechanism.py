"""Precision weighting through the Mechanism contract.

The spiking tier is a :class:`PCCircuit` (representation, positive and negative error,
and precision populations per item; a unit level for tasks that read a unit); the
softmax tier a :class:`PrecisionAttention`. Parameters are the circuit's fields (``k``
comes from the task); neuron parameters are reached with dotted names (``err.delta_u``,
``mod.i_bias``).
"""

from __future__ import annotations


import numpy as np

from neuroattn.mechanisms.base import CircuitMechanism
from neuroattn.mechanisms.precision import bridge
from neuroattn.mechanisms.precision.circuits import PCCircuit
from neuroattn.mechanisms.precision.params import PrecisionParams

__all__ = ["Precision"]


class Precision(CircuitMechanism):
    """Predictive coding with precision-weighted prediction errors, at both tiers.

    The task's ``evidence`` drives the error populations; its ``bias`` (a cue, a prior,
    an expected reliability) drives the precision populations, i.e. the errors' gain.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.model import TaskSpec
    >>> m = get_mechanism("precision")
    >>> m.supports(TaskSpec("space", 2)) is None
    True
    >>> m.spiking(TaskSpec("space", 2)).readout
    {'items': ('R0', 'R1')}
    """

    name = "precision"
    summary = ("Predictive coding (Feldman & Friston 2010): attention sets the precision "
               "(gain) of prediction errors; a cue raises expected precision.")
    circuit_class = PCCircuit
    fitted_class = PrecisionParams

    def supports(self, spec) -> str | None:
        """Items in space or slots; a 'unit' readout is supported."""
        if spec.layout == "time":
            return ("items presented one after another need a circuit that carries its "
                    "predictions from one item to the next; this one predicts items present "
                    "together")
        return None

    @staticmethod
    def _values(spec):
        return spec.values if "unit" in spec.readouts else None

    def to_softmax(self, spec, inputs=None, **params) -> PrecisionParams:
        """Layer parameters from the circuit's parameters (no simulation)."""
        return bridge.to_softmax(self.circuit(spec, **params), values=self._values(spec))

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> PrecisionParams:
        """Layer parameters fitted to simulations on ``inputs`` (default: random)."""
        cal = bridge.calibrate(self.circuit(spec, **params), inputs=inputs, backend=backend,
                               values=self._values(spec), seed=seed, dt=dt,
                               progress=progress)
        return cal.params

    def softmax(self, spec, fitted: PrecisionParams, attention_backend: str = "numba"):
        """A :class:`PrecisionAttention` with ``fitted`` parameters."""
        self._check_fitted(spec, fitted)
        from neuroattn.mechanisms.precision.softmax import PrecisionAttention

        return PrecisionAttention(fitted, self._values(spec), attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Spike counts of the representation populations for constant ``inputs``."""
        return bridge.spike_counts(self.circuit(spec, **params), inputs, windows=windows,
                                   seed=seed, dt=dt, backend=backend, progress=progress)

    def softmax_shares(self, fitted: PrecisionParams, inputs) -> np.ndarray:
        """``softmax(log pi + precision_scale b + x / T)`` over the items."""
        x, b = bridge.split_inputs(inputs, fitted.k, "softmax_shares.inputs")
        return fitted.shares(x, b)
