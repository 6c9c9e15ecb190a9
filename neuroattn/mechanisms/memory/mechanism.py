"""Working memory through the Mechanism contract.

The spiking tier is a :class:`MemoryCircuit` with one self-sustaining assembly per item;
the softmax tier a :class:`SlotMemory`. Parameters are the circuit's fields (``k`` comes
from the task); neuron parameters are reached with dotted names (``exc.sigma``).
"""

from __future__ import annotations

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitMechanism, SoftmaxAgent
from neuroattn.mechanisms.memory import bridge
from neuroattn.mechanisms.memory.circuit import MemoryCircuit
from neuroattn.mechanisms.memory.params import SlotParams

__all__ = ["WorkingMemory", "SlotSoftmaxAgent"]

#: stream of the softmax tier's rate-noise draws (with the trials' seed)
_NOISE_STREAM = 0x5107


class SlotSoftmaxAgent(SoftmaxAgent):
    """The slot-memory layer on a task, its finite-size rate noise drawn from the trials'
    seed (trial t's draws do not depend on how many trials follow it)."""

    def _forward_extra(self, trials, evidence) -> dict:
        import torch

        z = np.random.default_rng([int(trials.seed), _NOISE_STREAM]).standard_normal(
            tuple(evidence.shape))
        return {"noise": torch.as_tensor(z)}


class WorkingMemory(CircuitMechanism):
    """Items held as self-sustaining assemblies competing through shared inhibition.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.model import TaskSpec
    >>> m = get_mechanism("working-memory")
    >>> m.supports(TaskSpec("slots", 6)) is None
    True
    >>> m.supports(TaskSpec("space", 2)) is not None
    True
    """

    name = "working-memory"
    summary = ("Working memory (Wang 1999; Edin et al. 2009): items held as self-sustaining "
               "assemblies that compete through shared inhibition.")
    circuit_class = MemoryCircuit
    fitted_class = SlotParams

    def supports(self, spec) -> str | None:
        """Slot layouts read out per item (a store of items held over a delay)."""
        if spec.layout != "slots":
            return ("the circuit holds items over a delay as a limited-capacity store: it "
                    f"runs tasks whose items are memory slots, and this task lays its items "
                    f"out in {spec.layout!r}")
        if "unit" in spec.readouts:
            return "the circuit has no downstream 'unit' readout, only its item assemblies"
        return None

    def agent(self, tier: str, spec, backend: str = "numba", dt: float = 1e-4,
              fitted=None, params: dict | None = None, **options):
        """The spiking tier, or the slot-memory layer with its rate noise
        (:class:`SlotSoftmaxAgent`)."""
        if tier != "softmax":
            return super().agent(tier, spec, backend, dt, fitted, params, **options)
        reason = self.supports(spec)
        if reason is not None:
            raise ValidationError(f"{self.name}: cannot run this task: {reason}")
        params = self.resolve(**(params or {}))
        fitted = self.to_softmax(spec, **params) if fitted is None else fitted
        return SlotSoftmaxAgent(self, spec, fitted, backend)

    def to_softmax(self, spec, inputs=None, **params) -> SlotParams:
        """Slot-memory parameters from the circuit's mean field (no simulation)."""
        return bridge.to_softmax(self.circuit(spec, **params))

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> SlotParams:
        """Slot-memory parameters fitted to simulations on ``inputs`` (default: random)."""
        return bridge.calibrate(self.circuit(spec, **params),
                                self._drive(spec, inputs, "calibrate"), backend=backend,
                                seed=seed, dt=dt, progress=progress)

    def softmax(self, spec, fitted: SlotParams, attention_backend: str = "numba"):
        """A :class:`SlotMemory` with ``fitted`` parameters."""
        self._check_fitted(spec, fitted)
        from neuroattn.mechanisms.memory.softmax import SlotMemory

        return SlotMemory(fitted, attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Spike counts of the item assemblies for constant ``inputs``."""
        return bridge.spike_counts(self.circuit(spec, **params),
                                   self._drive(spec, inputs, "spike_counts"), windows,
                                   backend=backend, seed=seed, dt=dt, progress=progress)

    def softmax_shares(self, fitted: SlotParams, inputs) -> np.ndarray:
        """Each item's share of the layer's steady rates for constant ``inputs``."""
        from neuroattn.model.trials import drive

        return fitted.shares(drive(inputs, fitted.k, f"{self.name}.softmax_shares.inputs"))
