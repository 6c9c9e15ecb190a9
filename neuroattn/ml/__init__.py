"""Spiking vs standard attention on learning tasks: one harness.

A small transformer (:class:`TinyTransformer`) whose attention is chosen by name
(:data:`VARIANTS`: torch, softmax, local, hard, spiking, bridge), two tasks with no
download (:func:`digits`, :func:`associative_recall`), training and evaluation with
operation counts and energy per inference (:func:`train`, :func:`evaluate`,
:mod:`neuroattn.ml.energy`), and the ``neuroattn ml`` runner that stores the table and
the accuracy-energy figure (:func:`run_ml`). See docs/ml.md.
"""

from neuroattn._lazy import lazy_exports

# name -> submodule, imported on first use (torch only when a model is built)
_WHERE = {
    **dict.fromkeys(("TASKS", "Split", "TaskData", "associative_recall", "digits",
                     "load_task"), "data"),
    **dict.fromkeys(("VARIANTS", "Cost", "CompetitionAttention", "HardAttention",
                     "LocalAttention", "SoftmaxAttention", "SpikingAttention",
                     "TorchAttention", "make_attention", "visible_pairs"), "attention"),
    **dict.fromkeys(("ModelConfig", "TinyTransformer"), "model"),
    **dict.fromkeys(("TrainConfig", "Evaluation", "evaluate", "train"), "training"),
    **dict.fromkeys(("E_SRAM_PJ", "arithmetic_pj", "memory_aware_pj"), "energy"),
    **dict.fromkeys(("MLRun", "MLResult", "default_run", "format_bridge", "format_table",
                     "parse_attention", "run_ml"), "harness"),
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())

__all__ = sorted(_WHERE)
