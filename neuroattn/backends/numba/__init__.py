"""The batched Numba engine: many independent trials of one network in one call.

State arrays are [neuron, trial] with the trial innermost; chunks of trials run in
parallel threads (the compiled kernel releases the GIL). Neurons update exactly as
``neuroattn.neurons.lif_step`` / ``escape_step`` (precomputed decay factors and
synaptic kernels); projections are CSR by presynaptic neuron and propagate only the
spikes that happened (event-driven), through a ring of ``max_delay + 1`` steps. Every
random draw is a counter-based Philox4x32-10 value keyed per trial from
``trial_rng(seed, trial)``, so trial t's result does not depend on the batch or the
threads it ran with. The kernel is compiled on first use and cached on disk
(``neuroattn compile`` does it ahead of use).

Options of ``run``: ``threads`` (default ``numba.get_num_threads()``) and
``batch_size`` (default: all trials). See docs/engines.md.

Networks of conductance-based populations (``ConductanceLIFParams``: AMPA/NMDA/GABA_A
receptors, adaptation) are lowered from their field description by
``neuroattn.backends.numba._conductance`` instead: one trial per thread task, its own
splitmix64 stream seeded from ``trial_rng(seed, t)`` (``batch_size`` does not apply).
"""

from neuroattn.backends.numba._engine import run, while_simulating

__all__ = ["run", "while_simulating"]
