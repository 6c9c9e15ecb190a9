"""The Brian2 backend: the biophysical reference implementation of ``simulate``.

Each population becomes one ``NeuronGroup`` whose equations come from
``neuroattn.neurons.brian2_eqs``; each projection one ``Synapses`` object; the
trials of a chunk run side by side in one network (block-diagonal replication).
See ``docs/backends.md`` for how Brian2's schedule maps onto the step semantics.

Notes
-----
Determinism: initial potentials come from ``trial_rng(seed, t)`` like every backend,
but the intrinsic noise (membrane noise, escape-noise draws, Poisson inputs) comes
from Brian2's generator, which is seeded once per chunk from ``(seed, first trial of
the chunk)``. Trial t therefore gives the same result for the same seed and the same
``batch_size``; changing ``batch_size`` changes its noise. The global numpy random
state Brian2 uses is saved before and restored after every run.
"""

from __future__ import annotations

import warnings

import numpy as np

from neuroattn.backends._common import RunSpec, bin_counts, resolve_state_grid
from neuroattn.exceptions import BackendUnavailable, SimulationError, ValidationError
from neuroattn.model import Recording
from neuroattn.neurons.brian2_eqs import quiet_brian2

__all__ = ["run", "TARGETS"]

#: Brian2 code-generation targets this backend runs with.
TARGETS = ("numpy", "cython")

# Chunk trials so that one Brian2 network holds at most this many neurons + synapses.
_MAX_ELEMENTS = 2_000_000


def _brian2():
    try:
        with quiet_brian2():
            import brian2
    except ImportError as exc:  # pragma: no cover - brian2 is a dependency
        raise BackendUnavailable(f"backend 'brian2' needs the brian2 package: {exc}") from exc
    return brian2


def _chunk_size(spec: RunSpec, batch_size) -> int:
    if batch_size is None:
        per_trial = spec.network.n_neurons
        sizes = {p.name: p.size for p in spec.network.populations}
        for pr in spec.network.projections:
            per_trial += pr.connections(sizes[pr.source], sizes[pr.target])[0].size
        return max(1, min(spec.trials, _MAX_ELEMENTS // max(per_trial, 1)))
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValidationError(f"brian2 backend option batch_size: expected an integer >= 1 or "
                              f"None (got {batch_size!r})")
    return int(min(batch_size, spec.trials))


def _chunk_seed(seed: int, first_trial: int) -> int:
    seq = np.random.SeedSequence([int(seed), int(first_trial), 0xB2])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def _nan_check(spec: RunSpec, built, b2, every: int):
    """A NetworkOperation that stops the run when v or a port current is not finite."""
    state = {"from": 0, "bad": None}

    def check(t):
        step = int(round(float(t / b2.second) / spec.dt))
        for pop, g in built.groups.items():
            for var in ("v", *built.ports[pop]):
                if not np.all(np.isfinite(g.state(var, use_units=False)[:])):
                    state["bad"] = (pop, var, state["from"], step)
                    built.network.stop()
                    return
        state["from"] = step + 1

    op = b2.NetworkOperation(check, dt=every * spec.dt * b2.second, when="end",
                             name="nan_check")
    return op, state, check


def _run_chunk(spec: RunSpec, built, b2, bar, check_every: float, done: float) -> None:
    every = max(1, int(round(check_every / spec.dt)))
    op, state, check = _nan_check(spec, built, b2, every)
    built.network.add(op)
    report = None
    if bar is not None:
        def report(elapsed, complete, start, duration):
            bar.n = done + complete * built.n_trials
            bar.refresh()
    from brian2.utils.logger import catch_logs

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with catch_logs():
            built.network.run(spec.n_steps * spec.dt * b2.second, report=report,
                              report_period=1 * b2.second)
    if state["bad"] is None:
        check((spec.n_steps - 1) * spec.dt * b2.second)
    if state["bad"] is not None:
        pop, var, lo, hi = state["bad"]
        raise SimulationError(
            f"population {pop!r}: NaN or Inf in {'the membrane potential' if var == 'v' else var}"
            f" between steps {lo} and {hi} (t = {lo * spec.dt:g} to {hi * spec.dt:g} s); "
            "check weights and inputs for huge values")


def run(spec: RunSpec, progress: bool = False, *, batch_size=None, target: str = "numpy",
        noise: str = "exact", check_every: float = 0.05, state_grid=None) -> Recording:
    """Simulate ``spec`` with Brian2; return a Recording.

    Parameters
    ----------
    spec : RunSpec
        From ``neuroattn.backends.check_run``.
    progress : bool
        Show a tqdm progress bar (fed by Brian2's ``report`` callback).
    batch_size : int or None
        Trials per Brian2 network (default: all, chunked so one network holds at most
        about two million neurons plus synapses).
    target : {'numpy', 'cython'}
        Brian2 code-generation target. 'numpy' starts at once; 'cython' compiles
        (about 30 s on first use, cached after) and runs faster.
    noise : {'exact', 'euler'}
        Membrane noise of LIF populations with ``sigma > 0``: 'exact' (default) keeps
        the exact integrator and adds the exact Ornstein-Uhlenbeck increment after each
        update, as ``lif_step`` does, so Brian2 runs the model the other engines run;
        'euler' integrates ``sigma sqrt(2/tau_mem) xi`` with Brian2's Euler-Maruyama
        method, which also decays the group's synaptic currents by ``1 - dt/tau`` per
        step and leaves cells firing at tens of Hz a few % slower.
    check_every : float, seconds
        Interval of the NaN/Inf check of potentials and synaptic currents.
    state_grid : StateGrid or None
        Hold potentials and synaptic currents on a fixed-point grid
        (``neuroattn.backends._common.StateGrid``): a ``run_regularly`` operation per
        population at the ``end`` slot (default None: float state).

    Returns
    -------
    Recording

    Raises
    ------
    ValidationError
        For a bad option.
    BackendUnavailable
        For a target this backend does not run (e.g. 'cpp_standalone').
    SimulationError
        When NaN or Inf appears; the message names the population and step range.
    """
    if target not in TARGETS:
        raise BackendUnavailable(f"brian2 backend option target: {target!r} is not supported; "
                                 f"expected one of {list(TARGETS)}")
    if noise not in ("euler", "exact"):
        raise ValidationError(f"brian2 backend option noise: expected 'euler' or 'exact' "
                              f"(got {noise!r})")
    if not isinstance(check_every, (int, float)) or not check_every > 0:
        raise ValidationError(f"brian2 backend option check_every: must be > 0 s "
                              f"(got {check_every!r}); pass e.g. 0.05")
    grid = resolve_state_grid(spec, state_grid)
    b2 = _brian2()
    from neuroattn.backends.brian2_backend._build import build
    from neuroattn.backends.brian2_backend._record import collect

    chunk = _chunk_size(spec, batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        # fractional progress within a chunk, shown as whole trials; only after 1 s
        bar = tqdm(total=spec.trials, unit="trial", desc="brian2", delay=1.0,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} trials "
                              "[{elapsed}<{remaining}]")
    saved_state = np.random.get_state()
    saved_target = b2.prefs.codegen.target
    results = []
    try:
        b2.prefs.codegen.target = target
        with quiet_brian2():
            for start in range(0, spec.trials, chunk):
                trials = range(start, min(start + chunk, spec.trials))
                b2.seed(_chunk_seed(spec.seed, start))
                built = build(spec, trials, b2, noise, grid)
                _run_chunk(spec, built, b2, bar, check_every, float(start))
                results.append(collect(spec, built))
    finally:
        b2.prefs.codegen.target = saved_target
        np.random.set_state(saved_state)
        if bar is not None:
            bar.close()
    return _recording(spec, results, chunk, target, noise)


def _recording(spec: RunSpec, results: list, chunk: int, target: str, noise: str) -> Recording:
    probes = spec.rate_probes
    sizes = {p.name: p.size for p in spec.network.populations}
    counts = np.zeros((spec.trials, spec.n_steps, len(probes)))
    spikes, v = [], {}
    row = 0
    for res in results:
        n_b = len(res.spikes)
        for u, pb in enumerate(probes):
            counts[row:row + n_b, :, u] = res.counts[pb.population]
        spikes.extend(res.spikes)
        for pop, arr in res.v.items():
            v.setdefault(pop, []).append(arr)
        row += n_b
    rates = bin_counts(counts, spec.steps_per_bin, [sizes[pb.population] for pb in probes],
                       spec.dt)
    has_spikes = any(pb.kind == "spikes" for pb in spec.network.probes)
    meta = {"backend": "brian2", "tier": "spiking", "dt": spec.dt, "seed": spec.seed,
            "trials": spec.trials, "network": spec.network.name, "duration": spec.duration,
            "n_steps": spec.n_steps, "target": target, "batch_size": chunk, "noise": noise}
    return Recording(rates, spec.bin_width, spec.network.rate_units(),
                     spikes=spikes if has_spikes else None,
                     v={k: np.concatenate(a) for k, a in v.items()} or None, meta=meta)
