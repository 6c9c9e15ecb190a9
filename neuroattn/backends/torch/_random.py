"""Per-trial randomness: every draw of trial t comes from generators seeded by (seed, t).

Trial t's numpy generator ``trial_rng(seed, t)`` first draws the initial potentials of
every population (in network order, ``Population.initial_v``), then one 63-bit integer
that seeds trial t's ``torch.Generator`` on the simulation device. Each chunk of steps
draws, per trial and in this order, the membrane noise [steps, N] (if any LIF
population is noisy), the escape uniforms [steps, N] (if any escape population), and
the Poisson counts of each 'poisson' drive [steps, size]. The calls a trial makes never
depend on the other trials, so trial t is the same whatever the batch size. The
streams differ between devices (the CPU and CUDA generators differ) and dtypes.
"""

from __future__ import annotations

import numpy as np
import torch

from neuroattn.backends._common import trial_rng

__all__ = ["trial_streams", "draw_chunk"]


def trial_streams(populations, seed: int, trials, device) -> tuple:
    """Initial potentials and generators of ``trials`` (global trial indices).

    Returns
    -------
    v0 : ndarray [len(trials), N], volts (float64)
    generators : list of torch.Generator on ``device``
    """
    v0, gens = [], []
    for t in trials:
        rng = trial_rng(seed, t)
        v0.append(np.concatenate([p.initial_v(rng) for p in populations]))
        g = torch.Generator(device=device)
        g.manual_seed(int(rng.integers(0, 2**63 - 1)))
        gens.append(g)
    return np.stack(v0).astype(np.float64), gens


def draw_chunk(generators, steps: int, n: int, *, normal: bool, uniform: bool, poisson_rates,
               dtype, device) -> tuple:
    """Draw one chunk of ``steps`` steps for every trial.

    Parameters
    ----------
    generators : list of torch.Generator, one per trial
    steps, n : int
        Steps in the chunk; neurons on the axis.
    normal, uniform : bool
        Draw standard normals / uniforms of shape [steps, n] per trial.
    poisson_rates : list of Tensor [trials, steps, size]
        Expected counts per step of each Poisson drive (>= 0).

    Returns
    -------
    normal : Tensor [trials, steps, n] or None
    uniform : Tensor [trials, steps, n] or None
    counts : list of Tensor [trials, steps, size]
    """
    shape = (steps, n)
    nrm = [torch.randn(shape, generator=g, dtype=dtype, device=device) for g in generators] \
        if normal else None
    uni = [torch.rand(shape, generator=g, dtype=dtype, device=device) for g in generators] \
        if uniform else None
    counts = [torch.stack([torch.poisson(lam[i], generator=g) for i, g in enumerate(generators)])
              for lam in poisson_rates]
    return (torch.stack(nrm) if normal else None, torch.stack(uni) if uniform else None, counts)
