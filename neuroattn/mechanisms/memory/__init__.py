"""Working memory: items held as self-sustaining assemblies that share inhibition.

Spiking tier: :class:`MemoryCircuit`. Softmax tier: :class:`SlotMemory` (parameters
:class:`SlotParams`). The bridge: :func:`to_softmax`, :func:`calibrate`,
:func:`spike_counts`. :class:`WorkingMemory` is the mechanism through the project's
Mechanism contract.
"""

from neuroattn._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(("calibrate", "input_trials", "run_circuit", "spike_counts",
                     "to_softmax"), "bridge"),
    "MemoryCircuit": "circuit",
    "SlotParams": "params",
    "SlotMemory": "softmax",
    "WorkingMemory": "mechanism",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())

__all__ = ["MemoryCircuit", "SlotMemory", "SlotParams", "WorkingMemory", "calibrate",
           "input_trials", "run_circuit", "spike_counts", "to_softmax"]
