"""The global workspace through the Mechanism contract.

The spiking tier is a :class:`WorkspaceCircuit` with one processor and one workspace
assembly per item; the softmax tier a
:class:`~neuroattn.mechanisms.workspace.softmax.WorkspaceLayer`. Parameters are the
circuit's fields (``k`` comes from the task); neuron parameters are reached with dotted
names (``ws.sigma``, ``proc.i_bias``).
"""

from __future__ import annotations

import numpy as np

from neuroattn.mechanisms.base import CircuitMechanism
from neuroattn.mechanisms.workspace import bridge
from neuroattn.mechanisms.workspace.circuits import WorkspaceCircuit
from neuroattn.mechanisms.workspace.params import WorkspaceParams

__all__ = ["Workspace"]


class Workspace(CircuitMechanism):
    """The global neuronal workspace (Dehaene & Changeux 2005) at both tiers.

    The task's ``evidence`` drives the processors; its ``bias`` (the task set: which
    items are targets) drives the workspace assemblies, which the ``items`` readout
    reads.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.model import TaskSpec
    >>> m = get_mechanism("workspace")
    >>> m.supports(TaskSpec("time", 3)) is None
    True
    >>> m.spiking(TaskSpec("time", 2)).readout
    {'items': ('W0', 'W1')}
    """

    name = "workspace"
    summary = ("Global neuronal workspace (Dehaene & Changeux 2005): processors compete for "
               "a limited workspace; the winner ignites, self-sustains and blocks the rest.")
    circuit_class = WorkspaceCircuit
    fitted_class = WorkspaceParams

    def supports(self, spec) -> str | None:
        """Any layout and inputs (a missing role drives nothing); the readout is the
        workspace assemblies, so no 'unit'."""
        if "unit" in spec.readouts:
            return ("the workspace reads out its assemblies (ignited or not); it has no "
                    "downstream 'unit' with selectivities")
        return None

    def spiking(self, spec, **params):
        """The circuit's network, drives and readout for ``spec``, with the blocking
        interneurons' per-trial state (``state_mean``, ``state_sd``; none at
        ``state_sd`` 0). The bridge's simulations (``spike_counts``, ``calibrate``) use
        the circuit at rest, without it: the layer maps the state on its own
        (``WorkspaceParams.state_onset``)."""
        circuit = self.circuit(spec, **params)
        return circuit.with_state(circuit.spiking_model(spec), spec)

    def to_softmax(self, spec, inputs=None, **params) -> WorkspaceParams:
        """Layer parameters from the circuit's mean field (no simulation)."""
        return bridge.to_softmax(self.circuit(spec, **params))

    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params) -> WorkspaceParams:
        """Layer parameters fitted to simulations on ``inputs`` (default: random)."""
        return bridge.calibrate(self.circuit(spec, **params), inputs=inputs, backend=backend,
                                seed=seed, dt=dt, progress=progress).params

    def softmax(self, spec, fitted: WorkspaceParams, attention_backend: str = "numba"):
        """A :class:`~neuroattn.mechanisms.workspace.softmax.WorkspaceLayer`."""
        self._check_fitted(spec, fitted)
        from neuroattn.mechanisms.workspace.softmax import WorkspaceLayer

        return WorkspaceLayer(fitted, attention_backend)

    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """Spike counts of the workspace assemblies for constant ``inputs``."""
        return bridge.spike_counts(self.circuit(spec, **params), inputs, windows, seed, dt,
                                   backend, progress)

    def softmax_shares(self, fitted: WorkspaceParams, inputs) -> np.ndarray:
        """The layer's shares over the longest counting window (0.5 s after settling)."""
        return bridge.layer_shares(fitted, inputs, (0.5,))[0.5]
