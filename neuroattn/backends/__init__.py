"""Backends: simulate(network, stimulus, duration, dt, seed) -> Recording.

``brian2`` is the biophysical reference; ``numba`` the fast batched CPU engine; ``torch``
the batched CPU/GPU engine with surrogate gradients. Backends are registered by name
and imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.util

from neuroattn.backends._common import RunSpec, StateGrid, check_run, trial_rng
from neuroattn.exceptions import BackendUnavailable

__all__ = ["BACKENDS", "available_backends", "get_backend", "simulate", "RunSpec", "check_run",
           "trial_rng", "StateGrid"]

#: name -> module implementing ``run(spec: RunSpec, progress: bool, **options) -> Recording``
BACKENDS = {
    "brian2": "neuroattn.backends.brian2_backend",
    "numba": "neuroattn.backends.numba",
    "torch": "neuroattn.backends.torch",
}


def get_backend(name: str):
    """Import and return the backend module called ``name``.

    Raises
    ------
    BackendUnavailable
        If the name is unknown or its module (or a package it needs) cannot be imported;
        the message lists the backends that are available.
    """
    if name not in BACKENDS:
        avail = [k for k, v in available_backends(False).items() if v is None]
        raise BackendUnavailable(f"backend {name!r} is unknown; expected one of "
                                 f"{sorted(BACKENDS)} (available here: {avail})")
    try:
        return importlib.import_module(BACKENDS[name])
    except ImportError as exc:
        avail = [k for k, v in available_backends(False).items() if v is None]
        raise BackendUnavailable(f"backend {name!r} is not available: {exc}; available here: "
                                 f"{avail}") from exc


#: name -> the packages its module needs (checked without importing them)
REQUIRES = {"brian2": ("brian2",), "numba": ("numba",), "torch": ("torch", "snntorch")}


def available_backends(import_modules: bool = True) -> dict:
    """``name -> None`` if the backend can run, else the reason (str) it cannot.

    Parameters
    ----------
    import_modules : bool
        True (default): import each backend (seconds: brian2, torch and numba are big),
        so a package that is installed but broken is reported. False: only check that
        the packages each backend needs are installed, importing none of them (what
        ``neuroattn list`` does, so that it answers at once).
    """
    out = {}
    for name, mod in BACKENDS.items():
        if not import_modules:
            missing = [p for p in REQUIRES[name] if importlib.util.find_spec(p) is None]
            out[name] = f"not installed: {', '.join(missing)}" if missing else None
            continue
        try:
            importlib.import_module(mod)
            out[name] = None
        except ImportError as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def simulate(network, stimulus=None, duration=None, dt=1e-4, seed=0, trials=None,
             backend="brian2", progress=False, **options):
    """Simulate ``trials`` independent trials of ``network``; return a Recording.

    Parameters
    ----------
    network : neuroattn.model.Network
    stimulus : neuroattn.model.Stimulus or None
    duration : float, seconds
        Default: the stimulus' duration.
    dt : float, seconds
        Simulation step (default 0.1 ms).
    seed : int
        Trial t draws from a generator seeded with (seed, t).
    trials : int
        Default: the stimulus' trials, or 1.
    backend : str
        ``'brian2'``, ``'numba'`` or ``'torch'``.
    progress : bool
        Show a progress bar.
    **options
        Backend options: ``state_grid`` (a :class:`StateGrid`: potentials and synaptic
        currents held on a fixed-point grid, every backend) and backend-specific ones
        (e.g. ``device`` for torch).

    Returns
    -------
    Recording
        ``rates`` [trials, bins, units] in Hz, one unit per rate probe.
    """
    spec = check_run(network, stimulus, duration, dt, seed, trials)
    return get_backend(backend).run(spec, progress=progress, **options)
