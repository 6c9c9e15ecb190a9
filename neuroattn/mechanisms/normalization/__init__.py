"""The normalization model of attention (Reynolds & Heeger 2009): the stimulus drive
times an attention field, divided by the suppressive drive pooled over space and
orientation.

Spiking tier: :class:`NormCircuit` (log contrast encoders, orientation-tuned
exponential-escape responses, suppressive pools of interneurons per position). Softmax
tier: :class:`NormalizationLayer` (the published model, computed as attention). The
bridge: :func:`to_softmax`, :func:`to_spiking`, :func:`calibrate`.
:class:`Normalization` is the mechanism through the Mechanism contract.
"""

from neuroattn._lazy import lazy_exports

# name -> submodule; imported on first use, so that importing the package (as the
# registry does) pulls in neither torch (softmax) nor the bridge's fitting code.
_WHERE = {
    **dict.fromkeys(("NormalizationCalibration", "calibrate", "spike_counts", "to_softmax",
                     "to_spiking", "input_trials", "run_circuit", "open_loop_gain"),
                    "bridge"),
    "NormCircuit": "circuits",
    "Normalization": "mechanism",
    "NormalizationLayer": "softmax",
    **dict.fromkeys(("NormalizationParams", "gaussian_kernel", "circular_kernel"), "params"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = sorted(_WHERE)
