"""The normalization model of attention through the Mechanism contract.

The spiking tier is a :class:`NormCircuit` (contrast encoders, orientation-tuned
response populations, suppressive pools per position); the softmax tier a
:class:`NormalizationLayer` (Reynolds & Heeger 2009 as attention). Parameters are the
circuit's fields (``k`` comes from the task); neuron parameters are reached with dotted
names (``resp.delta_u``, ``pool.sigma``).
"""

from __future__ import annotations

import numpy as np

from neuroattn.mechanisms.base import CircuitMechanism
from neuroattn.mechanisms.normalization import bridge
from neuroattn.mechanisms.normalization.circuits import NormCircuit
from neuroattn.mechanisms.normalization.params import NormalizationParams

__all__ = ["Normalization"]


class Normalization(CircuitMechanism):
    """Divisive normalization with an attention field (Reynolds & Heeger 2009), both tiers.

    The task's items are positions in space (its ``evidence`` the stimulus contrast at
    each, its ``bias`` the attention field's shape); the item readout is the unit at each
    position that prefers the stimulus's orientation.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.model import TaskSpec
    >>> m = get_mechanism("normalization")
    >>> m.supports(TaskSpec("space", 9)) is None
    True
    >>> m.spiking(TaskSpec("space", 3)).readout
    {'items': ('R0_2', 'R1_2', 'R2_2')}
    """

    name = "normalization"
    summary = ("Normalization model of attention (Reynolds & Heeger 2009): stimulus drive "
               "times attention field, divided by the suppressive drive pooled over space "
               "and orientation.")
    circuit_class = NormCircuit
    fitted_class = NormalizationParams

    def supports(self, spec) -> str | None:
        """Items in space, read out per item (no downstream 'unit')."""
        if spec.layout != "space":
            return ("the normalization model pools stimuli present together at positions in "
                    f"space; the task lays its items out in {spec.layout!r}")
        if "unit" in spec.readouts:
            return ("the model's responses are its position units ('items'); it has no "
                    "downstream 'unit' that weighs items by selectivity")
        if spec.serial:
            return ("the model normalizes every item at once; it has no selection stage "
                    "that picks one item and lets the task suppress it before the next")
        return None

    def to_softmax(self, spec, inputs=None, **params) -> NormalizationParams:
        """Layer parameters from the circuit's parameters (no simulation)."""
        return bridge.to_softmax(self.circuit(spec, **params))

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> NormalizationParams:
        """Layer parameters fitted to simulations on ``inputs`` (default: random)."""
        return bridge.calibrate(self.circuit(spec, **params), inputs=inputs, backend=backend,
                                seed=seed, dt=dt, progress=progress).params

    def softmax(self, spec, fitted: NormalizationParams, attention_backend: str = "numba"):
        """A :class:`NormalizationLayer` with ``fitted`` parameters."""
        self._check_fitted(spec, fitted)
        from neuroattn.mechanisms.normalization.softmax import NormalizationLayer

        return NormalizationLayer(fitted, attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Spike counts of the 0-deg responses at the positions for constant ``inputs``."""
        return bridge.spike_counts(self.circuit(spec, **params), inputs, windows=windows,
                                   seed=seed, dt=dt, backend=backend, progress=progress)

    def softmax_shares(self, fitted: NormalizationParams, inputs) -> np.ndarray:
        """The layer's 0-deg responses (baseline included) normalised over the positions."""
        c, b = bridge.split_inputs(inputs, fitted.k, "softmax_shares.inputs")
        r = np.maximum(fitted.responses(c, b), 0.0)
        total = r.sum(axis=1, keepdims=True)
        return r / np.where(total > 0, total, 1.0)
