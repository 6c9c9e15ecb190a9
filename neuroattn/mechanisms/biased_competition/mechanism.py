"""Biased competition through the Mechanism contract.

The spiking tier is a :class:`LIFCircuit` with one location population per item; the
softmax tier a :class:`SoftmaxCompetition`. Parameters are the circuit's fields (``k``
comes from the task); the neuron parameters are reached with dotted names
(``exc.sigma``, ``inh.tau_mem``).
"""

from __future__ import annotations


import numpy as np

from neuroattn.mechanisms.base import CircuitMechanism
from neuroattn.mechanisms.biased_competition import bridge
from neuroattn.mechanisms.biased_competition.circuits import LIFCircuit
from neuroattn.mechanisms.biased_competition.params import SoftmaxParams

__all__ = ["BiasedCompetition"]


class BiasedCompetition(CircuitMechanism):
    """Biased competition (Desimone & Duncan 1995) at both tiers.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.model import TaskSpec
    >>> m = get_mechanism("biased-competition")
    >>> m.supports(TaskSpec("space", 3)) is None
    True
    >>> sorted(m.spiking(TaskSpec("space", 2)).readout)
    ['items']
    """

    name = "biased-competition"
    summary = ("Biased competition (Desimone & Duncan 1995): locations compete through "
               "shared inhibition; a top-down bias tips the competition.")
    circuit_class = LIFCircuit
    fitted_class = SoftmaxParams

    def supports(self, spec) -> str | None:
        """Items in space or slots, >= 2 of them; a 'unit' readout is supported."""
        if spec.layout == "time":
            return ("items presented one after another need a mechanism with memory of the "
                    "stream; biased competition compares items present together")
        if spec.n_items < 2:
            return "competition needs at least 2 items"
        return None

    def to_softmax(self, spec, inputs=None, **params) -> SoftmaxParams:
        """Softmax parameters from the circuit's mean field (no simulation)."""
        return bridge.to_softmax(self.circuit(spec, **params), values=spec.values,
                                 inputs=self._drive(spec, inputs, "to_softmax"))

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> SoftmaxParams:
        """Softmax parameters fitted to simulations on ``inputs`` (default: random)."""
        cal = bridge.calibrate(self.circuit(spec, **params), backend=backend, values=spec.values,
                               seed=seed, dt=dt, progress=progress,
                               inputs=self._drive(spec, inputs, "calibrate"))
        return cal.params

    def softmax(self, spec, fitted: SoftmaxParams, attention_backend: str = "numba"):
        """A :class:`SoftmaxCompetition` with ``fitted`` parameters."""
        self._check_fitted(spec, fitted)
        values = spec.values if "unit" in spec.readouts else None
        from neuroattn.mechanisms.biased_competition.softmax import SoftmaxCompetition

        return SoftmaxCompetition(fitted, values, attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Spike counts of the location populations for constant ``inputs``."""
        _, counts = bridge.spike_counts(self.circuit(spec, **params), windows=windows,
                                        seed=seed, dt=dt, backend=backend, progress=progress,
                                        inputs=self._drive(spec, inputs, "spike_counts"))
        return counts

    def softmax_shares(self, fitted: SoftmaxParams, inputs) -> np.ndarray:
        """``softmax(u / T)`` over the items (``u``: evidence + bias)."""
        from neuroattn.model.trials import drive

        return fitted.shares(drive(inputs, fitted.k, f"{self.name}.softmax_shares.inputs"))
