"""``run(spec, progress, threads=..., batch_size=...) -> Recording`` for the Numba engine."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.core import types
# not only for _Address: this module registers numba's typeof of WrapperAddressProtocol
# objects (the ABSENT stages of most networks), and numba no longer imports it when
# the kernel loads from the cache (_warm._load_cached)
from numba.experimental.function_type import _get_wrapper_address

from neuroattn.backends._common import bin_counts, check_finite, on_grid, resolve_state_grid
from neuroattn.backends.numba._kernel import SIGNATURES, Absent, Stages, stages
from neuroattn.backends.numba._layout import (I_CD0, I_CD1, I_OFF, I_Q0, I_Q1, I_SIZE,
                                              build_layout)
from neuroattn.backends.numba._state import init_state
from neuroattn.backends.numba._warm import ready
from neuroattn.exceptions import BackendUnavailable, SimulationError, ValidationError
from neuroattn.model import Recording

__all__ = ["run", "while_simulating"]

#: progress-bar updates per batch when ``progress=True``
_PROGRESS_UPDATES = 100
#: default batches hold at most about this many bytes of state
_BATCH_BYTES = 2**31
#: counters of the random streams are 32-bit (neuron index, step)
_MAX_COUNT = 2**32
#: per thread, the callables its next run executes while its workers simulate
_PENDING = threading.local()


def while_simulating(fn) -> None:
    """Have this thread's next ``run`` call ``fn()`` while it simulates.

    The compiled kernel releases the GIL, so Python work that does not need the
    recording (``neuroattn run`` imports the modules that will draw its figure) can
    run beside the simulation instead of after it: on two cores the import and the
    simulation share them, where the import alone would leave one idle. ``fn`` runs
    once, in a helper thread started with the first batch's simulation; ``run``
    returns after both have finished. An exception from ``fn`` is ignored (what
    ``fn`` prepares is done again where it is needed, and fails there). The recording
    does not depend on it.
    """
    if not hasattr(_PENDING, "fns"):
        _PENDING.fns = []
    _PENDING.fns.append(fn)


def _take_pending() -> list:
    fns = getattr(_PENDING, "fns", None) or []
    _PENDING.fns = []
    return fns


def _call_pending(fns) -> None:
    for fn in fns:
        try:
            fn()
        except Exception:  # noqa: BLE001 - an optional head start; see while_simulating
            pass


def run(spec, progress: bool = False, **options) -> Recording:
    """Simulate every trial of ``spec`` with the batched Numba engine.

    Parameters
    ----------
    spec : neuroattn.backends.RunSpec
    progress : bool
        Show a tqdm progress bar (the run proceeds in chunks of steps).

    Other Parameters
    ----------------
    threads : int or None, option
        Worker threads; the trials of a batch are split among them (default
        ``numba.get_num_threads()``, i.e. every core or ``NUMBA_NUM_THREADS``). A
        single trial runs on one thread.
    batch_size : int or None, option
        Trials held in memory at once (default: all, or fewer if their state would
        exceed about 2 GiB). Results do not depend on it.
    state_grid : StateGrid or None, option
        Hold potentials and synaptic currents on a fixed-point grid
        (``neuroattn.backends._common.StateGrid``): the chunk then advances one step
        per kernel call and its state is moved onto the grid after each (default None:
        float64 state, the kernel unchanged).

    Returns
    -------
    Recording
        ``rates`` [trials, bins, units] (Hz), plus ``spikes`` and ``v`` for those probes.

    Raises
    ------
    ValidationError
        For an unknown option or a bad option value.
    BackendUnavailable
        For a run of 2**32 steps or more, or a network of 2**32 neurons or more.
    SimulationError
        If a membrane potential becomes NaN or Inf (names the population and step).
    """
    pending = _take_pending()  # see while_simulating
    grid = resolve_state_grid(spec, options.pop("state_grid", None))
    threads, batch_size = _options(options)
    if spec.n_steps >= _MAX_COUNT or spec.network.n_neurons >= _MAX_COUNT:
        raise BackendUnavailable(
            f"numba backend: runs of 2**32 steps or networks of 2**32 neurons or more are not "
            f"supported (got {spec.n_steps} steps, {spec.network.n_neurons} neurons); split "
            "the run or use the torch backend")
    if _is_conductance(spec.network):  # the description's own lowering (docs/engines.md)
        if grid is not None:
            raise ValidationError("numba backend option state_grid: networks with "
                                  "conductance-based populations are not held on a grid")
        from neuroattn.backends.numba._conductance import run_conductance

        _call_pending(pending)
        return run_conductance(spec, threads, progress)
    layout = build_layout(spec)
    if batch_size is None:
        batch_size = max(1, min(spec.trials, _BATCH_BYTES // _bytes_per_trial(spec, layout)))
    rows = spec.stimulus_row()
    n_batches = -(-spec.trials // batch_size)
    bar = _progress_bar(progress, spec.n_steps * n_batches)
    parts = []
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for first in range(0, spec.trials, batch_size):
                trials = range(first, min(first + batch_size, spec.trials))
                parts.append(_run_batch(spec, layout, rows, trials, threads, pool, bar, grid,
                                        pending))
                pending = []
    finally:
        if bar is not None:
            bar.close()
    return _recording(spec, layout, parts, threads, batch_size)


def _is_conductance(network) -> bool:
    """``_conductance.is_conductance``, without importing that module: its kernels'
    dispatchers take 15-30 ms to create, which a run of a current-based network
    (most runs) does not need."""
    return any(getattr(p.params, "kind", None) == "conductance" for p in network.populations)


def _options(options: dict):
    """(threads, batch_size) from the backend options; ValidationError on bad ones."""
    unknown = sorted(set(options) - {"threads", "batch_size"})
    if unknown:
        raise ValidationError(f"numba backend: unknown option(s) {unknown}; expected "
                              "'threads' and/or 'batch_size'")
    out = []
    for name in ("threads", "batch_size"):
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 1):
            raise ValidationError(f"numba backend option {name}: expected an integer >= 1 or "
                                  f"None (got {value!r})")
        out.append(None if value is None else int(value))
    return out[0] or numba.get_num_threads(), out[1]


def _bytes_per_trial(spec, layout) -> int:
    """Rough size of one trial's state (see ``init_state``)."""
    per_step = layout.vcols.size * 8 * spec.n_steps
    bins = (spec.n_steps // spec.steps_per_bin + 1) * len(spec.network.populations) * 8
    width = max(p.size for p in spec.network.populations)  # scratch: acc, words, flag
    return (16 * layout.n_neurons + 8 * layout.n_rows + 4 * layout.ring_rows + per_step + bins
            + 12 * (4 * layout.n_rec + 4096) + 25 * width + 64)


def _progress_bar(progress, total):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="step", desc="numba")


def _run_batch(spec, layout, rows, trials, threads, pool, bar, grid=None, pending=()):
    """Simulate one batch; return (counts, spikes per trial, v [B, steps, cols]).

    ``pending``: callables to call in a helper thread while the batch is simulated
    (``while_simulating``).
    """
    n_chunks = min(threads, len(trials))
    fns = stages(layout, single=n_chunks == len(trials))
    kern = ready(fns)
    if grid is not None:  # one call per step: pass the stages by address (see _Address)
        fns = Stages(*(_Address(fn, sig) for fn, sig in zip(fns, SIGNATURES)))
    advance = (kern, fns)
    edges = np.linspace(trials.start, trials.stop, n_chunks + 1).round().astype(int)
    chunks = [range(edges[c], edges[c + 1]) for c in range(n_chunks)]
    states = [init_state(spec, layout, ch) for ch in chunks]
    grids = [None if grid is None else _ChunkGrid.build(grid, layout, len(ch))
             for ch in chunks]
    for g, st in zip(grids, states):
        if g is not None:
            g.apply(st)
    stims = [_stimulus_values(spec, layout, ch) for ch in chunks]
    spikes = [[[] for _ in ch] for ch in chunks]
    seg = max(1, spec.n_steps // _PROGRESS_UPDATES) if bar is not None else spec.n_steps
    helper = None
    if pending:
        helper = threading.Thread(target=_call_pending, args=(pending,), daemon=True)
        helper.start()
    try:
        _advance_batch(advance, spec, layout, rows, stims, states, spikes, grids, pool,
                       bar, seg, n_chunks)
    finally:
        if helper is not None:
            helper.join()
    return (np.concatenate([st.counts for st in states]),
            [trial for sp in spikes for trial in sp],
            np.concatenate([st.vrec for st in states], axis=2).transpose(2, 0, 1))


def _advance_batch(advance, spec, layout, rows, stims, states, spikes, grids, pool, bar,
                   seg, n_chunks):
    """Run every chunk of a batch over all steps, ``seg`` steps at a time."""
    for n0 in range(0, spec.n_steps, seg):
        n1 = min(n0 + seg, spec.n_steps)
        jobs = [(advance, spec, layout, rows, *stims[c], states[c], spikes[c], n0, n1,
                 grids[c]) for c in range(n_chunks)]
        if n_chunks == 1:
            _advance_chunk(*jobs[0])
        else:
            for fut in [pool.submit(_advance_chunk, *job) for job in jobs]:
                fut.result()
        if bar is not None:
            bar.update(n1 - n0)


def _advance_chunk(advance, spec, layout, rows, vals, iext, tstride, st, spikes, n0, n1,
                   grid=None):
    """Run one chunk over steps [n0, n1) with ``advance`` = (kernel, its stages),
    draining its spike record as needed; with a ``_ChunkGrid``, one step at a time,
    moving the state onto the grid after each."""
    if grid is None:
        return _advance_steps(advance, spec, layout, rows, vals, iext, tstride, st, spikes,
                              n0, n1)
    for n in range(n0, n1):
        _advance_steps(advance, spec, layout, rows, vals, iext, tstride, st, spikes, n, n + 1)
        grid.apply(st)


def _advance_steps(advance, spec, layout, rows, vals, iext, tstride, st, spikes, n0, n1):
    """``_advance_chunk`` without a grid."""
    kern, fns = advance
    n = n0
    nb = st.keys.shape[1]
    while True:
        n, bad = kern(*fns, n, n1, spec.dt, spec.steps_per_bin, layout.n_rec, rows, vals,
                      iext, tstride, *layout.kernel_args(), *st)
        if bad >= 0:
            off, size = layout.pop_i[bad, I_OFF], layout.pop_i[bad, I_SIZE]
            name = spec.network.populations[bad].name
            check_finite(st.v[off * nb:(off + size) * nb], name, n)
            raise SimulationError(f"population {name!r}: NaN or Inf at step {n}")  # not reached
        for b in range(nb):
            k = st.rec_n[b]
            if k:
                spikes[b].append((st.rec_idx[b, :k].copy(), st.rec_step[b, :k].copy()))
                st.rec_n[b] = 0
        if n >= n1:
            return


class _Address(types.WrapperAddressProtocol):
    """A compiled stage passed to ``advance`` by its address.

    Given a dispatcher, numba looks up the stage's compiled wrapper at every call of
    ``advance`` (about 0.2 ms per stage); with a grid, ``advance`` runs one step per
    call, so the stages go by address, looked up once.
    """

    def __init__(self, fn, sig):
        self._sig = sig
        self._addr = -1 if isinstance(fn, Absent) else _get_wrapper_address(fn, sig)
        self._numba_type_ = types.FunctionType(sig)  # numba's typeof reads it: typed once

    def __wrapper_address__(self):
        return self._addr

    def signature(self):
        return self._sig


class _ChunkGrid:
    """A resolved StateGrid laid out on a chunk's flat state arrays (``State.v``,
    ``State.isyn``: element (row, b) at ``row * nb + b``)."""

    def __init__(self, v_idx, v_origin, v_step, i_idx, i_step, lo, hi):
        self.v_idx, self.v_origin, self.v_step = v_idx, v_origin, v_step
        self.i_idx, self.i_step, self.lo, self.hi = i_idx, i_step, lo, hi

    @classmethod
    def build(cls, grid, layout, nb: int) -> "_ChunkGrid":
        v_idx, v_o, v_s, i_idx, i_s = [], [], [], [], []
        trial = np.arange(nb)
        for k, ip in enumerate(layout.pop_i):
            if not grid.on(k):
                continue
            rows = np.arange(ip[I_OFF], ip[I_OFF] + ip[I_SIZE])
            v_idx.append((rows[:, None] * nb + trial).ravel())
            v_o.append(np.full(rows.size * nb, grid.origin[k]))
            v_s.append(np.full(rows.size * nb, grid.v_step[k]))
            for q in range(ip[I_Q0], ip[I_Q1]):
                prow = np.arange(layout.port_row[q], layout.port_row[q] + layout.port_n[q])
                i_idx.append((prow[:, None] * nb + trial).ravel())
                i_s.append(np.full(prow.size * nb, grid.i_step[k]))
        cat = lambda parts, dt=np.float64: (np.concatenate(parts).astype(dt) if parts  # noqa: E731
                                            else np.zeros(0, dt))
        return cls(cat(v_idx, np.int64), cat(v_o), cat(v_s), cat(i_idx, np.int64), cat(i_s),
                   grid.lo, grid.hi)

    def apply(self, st) -> None:
        """Move the chunk's potentials and synaptic currents onto the grid (in place)."""
        st.v[self.v_idx] = on_grid(st.v[self.v_idx], self.v_origin, self.v_step, self.lo,
                                   self.hi)
        if self.i_idx.size:
            st.isyn[self.i_idx] = on_grid(st.isyn[self.i_idx], 0.0, self.i_step, self.lo,
                                          self.hi)


def _stimulus_values(spec, layout, trials):
    """Stimulus values of ``trials`` as [rows, channels, trials], the summed 'current'
    drive of each population as [rows, populations, trials] (A), and the trial stride
    (0 if every trial sees the same stimulus: one column)."""
    stim = spec.stimulus
    if stim is None:
        vals, stride = np.zeros((1, 1, 1)), 0
    elif stim.values.ndim == 2:
        vals, stride = np.ascontiguousarray(stim.values[:, :, None]), 0
    else:
        sel = stim.values[trials.start:trials.stop]
        vals, stride = np.ascontiguousarray(sel.transpose(1, 2, 0)), 1
    iext = np.zeros((vals.shape[0], layout.pop_i.shape[0], vals.shape[2]))
    for p, (d0, d1) in enumerate(layout.pop_i[:, [I_CD0, I_CD1]]):
        for d in range(d0, d1):  # in drive order, as numpy's step adds them
            iext[:, p] += layout.cd_gain[d] * vals[:, layout.cd_ch[d]]
    return vals, iext, stride


def _recording(spec, layout, parts, threads, batch_size) -> Recording:
    net = spec.network
    index = {p.name: k for k, p in enumerate(net.populations)}
    bins = spec.n_steps // spec.steps_per_bin
    counts = np.concatenate([c for c, _, _ in parts])[:, :bins]
    units = net.rate_units()
    cols = [index[u] for u in units]
    sizes = [net.populations[k].size for k in cols]
    rates = bin_counts(counts[:, :, cols], 1, sizes, spec.bin_width)
    spiking = [pb.population for pb in net.probes if pb.kind == "spikes"]
    spikes = None
    if spiking:
        spikes = [_split_spikes(trial, spiking, layout, index, spec.dt)
                  for _, per_trial, _ in parts for trial in per_trial]
    v = None
    if layout.v_units:
        allv, col, v = np.concatenate([x for _, _, x in parts]), 0, {}
        for name, count in layout.v_units:
            v[name] = np.ascontiguousarray(allv[:, :, col:col + count])
            col += count
    meta = {"backend": "numba", "tier": "spiking", "dt": spec.dt, "seed": spec.seed,
            "trials": spec.trials, "network": net.name, "duration": spec.duration,
            "n_steps": spec.n_steps, "threads": threads, "batch_size": batch_size,
            "numba": numba.__version__}
    return Recording(rates, spec.bin_width, units, spikes, v, meta)


def _split_spikes(chunks, populations, layout, index, dt) -> dict:
    """Recorded (global index, step) chunks of one trial -> population -> (index, time)."""
    idx = np.concatenate([c[0] for c in chunks]).astype(np.int64) if chunks else \
        np.zeros(0, np.int64)
    step = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int64)
    out = {}
    for name in populations:
        off, size = layout.pop_i[index[name], I_OFF], layout.pop_i[index[name], I_SIZE]
        keep = (idx >= off) & (idx < off + size)
        out[name] = (idx[keep] - off, step[keep] * dt)
    return out
