"""The mutable state of a chunk of trials: flat arrays, element (row, b) at ``row * nb + b``.

``nb`` is the number of trials in the chunk; the trial is the innermost, contiguous
index. Each worker thread owns one chunk, so no two threads write the same array.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neuroattn.backends._common import trial_rng
from neuroattn.backends.numba._rng import trial_key

__all__ = []


class State(NamedTuple):
    """Arrays the kernel reads and writes (nb = trials of the chunk), in its order."""

    v: np.ndarray         # [N * nb] membrane potential, V
    ref: np.ndarray       # [N * nb] refractory steps left
    isyn: np.ndarray      # [rows * nb] synaptic current of every port and neuron, A
    keys: np.ndarray      # [2, nb] uint64 Philox key words of each trial
    ring_idx: np.ndarray  # [ring_rows * nb] spiking neurons per spike-ring slot
    ring_cnt: np.ndarray  # [ring_slots * nb] spikes per slot
    vinf: np.ndarray      # [P * nb] scratch: v_inf of this step
    pois: np.ndarray      # [3, D * nb] scratch: Poisson mean per piece, exp(-mean), pieces
    acc: np.ndarray       # [max_size * nb] scratch: new potentials
    words: np.ndarray     # [(2 max_size + 3) * nb] scratch: random uint64 words (low
                          # part), the noise stage's table entries (top max_size * nb)
    w32: np.ndarray       # the same memory as uint32
    flag: np.ndarray      # [max_size * nb, rounded up to 8] scratch: spiked / slow path
    f64: np.ndarray       # the same memory as uint64, eight flags each
    counts: np.ndarray    # [nb, bins + 1, P] spikes per bin
    vrec: np.ndarray      # [steps, columns, nb] recorded potentials, V
    rec_idx: np.ndarray   # [nb, cap] recorded spikes: global neuron index
    rec_step: np.ndarray  # [nb, cap] recorded spikes: step
    rec_n: np.ndarray     # [nb] recorded spikes held


def init_state(spec, layout, trials) -> State:
    """Fresh state for ``trials`` (global trial indices) of ``spec``.

    Trial t draws its initial potentials from ``trial_rng(spec.seed, t)`` (population
    after population, ``Population.initial_v``) and then its Philox key from the same
    numpy generator.
    """
    pops = spec.network.populations
    nb = len(trials)
    v = np.empty((layout.n_neurons, nb))
    keys = np.empty((2, nb), dtype=np.uint64)
    for col, t in enumerate(trials):
        gen = trial_rng(spec.seed, t)
        v[:, col] = np.concatenate([p.initial_v(gen) for p in pops])
        keys[:, col] = trial_key(gen)
    n_pd = layout.pd_i.shape[0]
    width = max(p.size for p in pops) * nb
    bins = spec.n_steps // spec.steps_per_bin
    cap = 4 * layout.n_rec + 4096 if layout.n_rec else 0
    # Philox words (as uint64 or, through w32, uint32) in the low part; the noise
    # stage keeps its table entries in the top ``width`` (``_kernel._make_noise``)
    words = np.zeros(2 * width + 3 * nb, dtype=np.uint64)
    flag = np.zeros(-(-width // 8) * 8, dtype=np.uint8)  # whole uint64 words
    return State(
        v=v.reshape(-1),
        ref=np.zeros(layout.n_neurons * nb, dtype=np.int64),
        isyn=np.zeros(layout.n_rows * nb),
        keys=keys,
        ring_idx=np.zeros(layout.ring_rows * nb, dtype=np.int32),
        ring_cnt=np.zeros(layout.ring_slots * nb, dtype=np.int32),
        vinf=np.zeros(len(pops) * nb),
        pois=np.zeros((3, n_pd * nb)),
        acc=np.zeros(width),
        words=words,
        w32=words.view(np.uint32),
        flag=flag,
        f64=flag.view(np.uint64),
        counts=np.zeros((nb, bins + 1, len(pops)), dtype=np.int64),
        vrec=np.zeros((spec.n_steps if layout.vcols.size else 0, layout.vcols.size, nb)),
        rec_idx=np.zeros((nb, cap), dtype=np.int32),
        rec_step=np.zeros((nb, cap), dtype=np.int64),
        rec_n=np.zeros(nb, dtype=np.int64),
    )
