"""The registry entry point: ``run(spec, progress, **options) -> Recording``."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from neuroattn.backends._common import RunSpec, resolve_state_grid
from neuroattn.backends.torch.module import SpikingNetworkModule
from neuroattn.exceptions import BackendUnavailable, ValidationError
from neuroattn.model import Recording
from neuroattn.model.units import check_int

__all__ = ["run", "OPTIONS"]

#: option -> default
OPTIONS = {"device": "cpu", "dtype": "float32", "sparse": None, "batch_size": None,
           "threads": None, "state_grid": None}

#: below this many neuron-trials per batch one CPU thread is fastest (torch's intra-op
#: threads only add synchronisation to such small tensors, badly so on a busy machine)
SMALL = 1 << 16


def run(spec: RunSpec, progress: bool = False, **options) -> Recording:
    """Simulate ``spec`` with the torch engine (no gradients); return a Recording.

    Parameters
    ----------
    spec : RunSpec
        A validated request (``neuroattn.backends.check_run``).
    progress : bool
        Show a tqdm progress bar per batch.

    Other Parameters
    ----------------
    device : str, optional
        ``'cpu'`` (default) or ``'cuda'``.
    dtype : str, optional
        ``'float32'`` (default) or ``'float64'``.
    sparse : bool or None, optional
        Force dense (False) or CSR (True) synapse matrices; None chooses per group.
    batch_size : int, optional
        Simulate at most this many trials at once (default: all). Results do not
        depend on it.
    threads : int, optional
        CPU threads torch may use during the run (restored afterwards). Default: 1
        when a batch holds at most 65536 neuron-trials, else torch's setting.
    state_grid : StateGrid or None, optional
        Hold potentials and synaptic currents on a fixed-point grid
        (``neuroattn.backends._common.StateGrid``; default None: float state).

    Returns
    -------
    Recording
        ``rates`` [trials, bins, units] (Hz); ``spikes`` and ``v`` when the network has
        such probes; ``meta`` with backend, dt, seed, trials, network, duration, device,
        dtype, n_steps.

    Raises
    ------
    ValidationError
        For an unknown option or a bad value.
    BackendUnavailable
        For ``device='cuda'`` without CUDA, or a network with conductance-based
        populations (``ConductanceLIFParams``: conductance synapses, NMDA gating), which
        this engine does not lower yet.
    SimulationError
        If a potential becomes NaN or Inf (names the population and the step).
    """
    cond = [p.name for p in spec.network.populations
            if getattr(p.params, "kind", None) == "conductance"]
    if cond:
        raise BackendUnavailable(
            f"torch backend: conductance-based neurons and synapses (ConductanceLIFParams: "
            f"AMPA/NMDA/GABA_A conductances, saturating NMDA gating) are not lowered by this "
            f"engine (populations {cond}); use backend='numba' or 'brian2'")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValidationError(f"torch backend: unknown option(s) {unknown}; expected some of "
                              f"{sorted(OPTIONS)}")
    opts = {**OPTIONS, **options}
    grid = resolve_state_grid(spec, opts["state_grid"])
    batch = spec.trials if opts["batch_size"] is None else check_int(
        opts["batch_size"], "torch backend batch_size", minimum=1)
    stim = spec.stimulus
    drives = stim.drives if stim is not None else ()
    module = SpikingNetworkModule(spec.network, drives, spec.dt,
                                  stimulus_dt=stim.dt if stim is not None else spec.dt,
                                  n_channels=stim.n_channels if stim is not None else 0,
                                  trainable=(), dtype=opts["dtype"], device=opts["device"],
                                  sparse=opts["sparse"])
    threads = opts["threads"]
    if threads is None:
        small = module.device.type == "cpu" and module.layout.n * batch <= SMALL
        threads = 1 if small else torch.get_num_threads()
    threads = check_int(threads, "torch backend threads", minimum=1)
    rates, spikes, v = [], [], []
    with torch.no_grad(), _num_threads(threads):
        for t0 in range(0, spec.trials, batch):
            t1 = min(t0 + batch, spec.trials)
            out = module.simulate(_values(spec, t0, t1), spec.seed, spec.n_steps,
                                  first_trial=t0, record=True, progress=progress,
                                  grid=grid)
            rates.append(out.rates.cpu().numpy().astype(np.float64))
            spikes.append(out.spikes)
            v.append(out.v)
    meta = {"backend": "torch", "tier": "spiking", "dt": spec.dt, "seed": spec.seed,
            "trials": spec.trials, "network": spec.network.name, "duration": spec.duration,
            "n_steps": spec.n_steps, "device": str(module.device),
            "dtype": str(module.dtype).replace("torch.", ""), "sparse": opts["sparse"]}
    return Recording(np.concatenate(rates), spec.bin_width, spec.network.rate_units(),
                     [s for part in spikes for s in part] if spikes[0] is not None else None,
                     {k: np.concatenate([part[k] for part in v]) for k in v[0]}
                     if v[0] is not None else None, meta)


@contextmanager
def _num_threads(k: int):
    """Let torch use ``k`` CPU threads inside the block."""
    before = torch.get_num_threads()
    if k != before:
        torch.set_num_threads(k)
    try:
        yield
    finally:
        if k != before:
            torch.set_num_threads(before)


def _values(spec: RunSpec, t0: int, t1: int) -> np.ndarray:
    """Stimulus values [t1 - t0, rows, channels] of trials t0..t1-1."""
    stim = spec.stimulus
    if stim is None:
        return np.zeros((t1 - t0, 0, 0))
    vals = stim.values
    if vals.ndim == 2:
        return np.broadcast_to(vals, (t1 - t0,) + vals.shape)
    return vals[t0:t1]
