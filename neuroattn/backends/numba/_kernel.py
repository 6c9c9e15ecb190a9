"""The compiled time loop of the Numba engine.

``advance`` moves one chunk of trials (a ``State``) from step ``n0`` towards ``n1``.
Arrays are flat with element (row, b) at ``row * nb + b`` (the trial innermost). Per
step n (the package's specification, see ``neuroattn.backends``):

1. record the potentials of 'v' probes (start of the step);
2. per population and trial: ``v_inf = v_rest + r_m (i_bias + i_ext)``, with ``i_ext`` the
   sum of ``gain * value`` over the population's 'current' drives (``iext``, summed per
   stimulus row before the run);
3. update each population exactly as ``lif_step`` / ``escape_step``, in passes over its
   contiguous block of (neuron, trial) elements that the compiler vectorises:
   ``acc = v_inf + (v - v_inf) e^{-dt/tau_m}``; per port q ``acc += (r_m i_q) K_q`` and
   ``i_q *= e^{-dt/tau_q}``; each 'poisson' drive adds ``k * weight`` to its port, k
   Poisson with the mean ``gain * value * dt`` of this step;
   ``acc += noise_scale * N(0, 1)``; refractory countdown, threshold (or escape draw)
   and reset; then the block's spikes are counted, queued and recorded;
4. spikes emitted at step ``n - delay`` (spike ring) add their weights to their targets.

Every population reads its currents in step 3 before step 4 adds to any, so a spike
at step n first moves a membrane at step n + 1. Within a step, Poisson input is added
before recurrent spikes (the sum is the same; only float rounding can differ).

Compile time (docs/engines.md, "Compilation") shapes the code:

- ``advance`` calls its stages (membrane, Poisson input, noise, threshold, spikes,
  propagation) through function pointers (numba's first-class functions): each stage
  is compiled on its own, once, and only if a network needs it; ``advance`` itself is
  compiled once for every network. ``stages(layout, single)`` picks them: a stage of
  a feature the network lacks is ``ABSENT`` (never called), and simpler networks get
  stages with less code (one shared port per population, dense projections only, one
  trial per chunk). Every choice does the same arithmetic in the same order.
  ``_warm.ready`` compiles them; on a first run a helper process compiles some of
  them at the same time.
- The functions take plain arrays (not the Layout/State tuples): numba compiles them
  several times faster. The views ``w32`` and ``f64`` come from Python for the same
  reason (``ndarray.view`` costs numba about 0.2 s to compile per call site).
- No function allocates, so they run without numba's reference counting (``_nrt=False``):
  less code to compile, nothing to count.

Loops index slices with their own loop variable, which the compiler knows is
non-negative, so it can vectorise them.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numba import njit, types

from neuroattn import _bits
from neuroattn._bits import bits_to_f64
from neuroattn.backends.numba import _cache, _layout, _rng
from neuroattn.backends.numba._layout import (
    ESCAPE, F_DU, F_EM, F_IBIAS, F_NOISE, F_RHO0, F_RM, F_THETA, F_VREST, F_VRESET, F_VTH,
    I_CBASE, I_KIND, I_NREF, I_OFF, I_PD0, I_PD1, I_Q0, I_Q1, I_RBASE, I_REC, I_RESET, I_RING,
    I_SIZE, LIF,
)

__all__ = []

#: modules whose globals the compiled code holds (hashed into its cache file names)
_DEPENDS = (_rng, _layout, _bits)
_BIG = 1.7976931348623157e308  # largest float64: |x| <= _BIG is false for NaN and Inf
_U32 = np.uint64(32)
_BASE = dict(cache=True, nogil=True, error_model="numpy", _nrt=False)
_JIT = dict(_BASE, no_cfunc_wrapper=True)  # advance: called from Python
_STAGE = dict(_BASE, no_cpython_wrapper=True)  # called through a function pointer
_HELPER = dict(_STAGE, no_cfunc_wrapper=True)  # called (and inlined) by a stage

# numba types of the arguments: scalars, then C-contiguous arrays by dtype and rank
_i8, _f8, _b1 = types.int64, types.float64, types.boolean
_F1, _F2, _F3 = types.float64[::1], types.float64[:, ::1], types.float64[:, :, ::1]
_I1, _I2, _I3 = types.int64[::1], types.int64[:, ::1], types.int64[:, :, ::1]
_J1, _J2 = types.int32[::1], types.int32[:, ::1]
_U1, _U2, _W1, _B1 = types.uint64[::1], types.uint64[:, ::1], types.uint32[::1], types.uint8[::1]
_R3 = types.Array(types.float64, 3, "C", readonly=True)  # stimulus values (may be read-only)


class Stages(NamedTuple):
    """The stages ``advance`` calls, in its argument order, with their signatures."""

    membrane: object     # (p, nb, em, rm, q0, q1, port_row, port_n, port_f, vinf, acc, v, isyn)
    poisson: object      # (d, nb, n, row, dt, off, size, pd_i, pd_f, vals, tstride, pois,
                         #  words, keys, cur)
    noise: object        # (nb, n, off, scale, zig, keys, words, w32, flag, f64, acc)
    fire_lif: object     # (vth, vreset, nref, acc, v, ref, flag) -> ok
    fire_escape: object  # (nb, n, dt, off, size, f, nref, reset, keys, acc, v, ref, words,
                         #  flag) -> ok
    spikes: object       # (p, n, bin, nb, m, ip, flag, f64, counts, ring_idx, ring_cnt,
                         #  rec_idx, rec_step, rec_n)
    propagate: object    # (n, nb, pop_i, pj_i, port_row, port_n, rowptr, post, w, ring_idx,
                         #  ring_cnt, isyn)


#: the signature of each stage
SIGNATURES = Stages(
    types.void(_i8, _i8, _f8, _f8, _i8, _i8, _I1, _I1, _F2, _F1, _F1, _F1, _F1),
    types.void(_i8, _i8, _i8, _i8, _f8, _i8, _i8, _I2, _F2, _R3, _i8, _F2, _U1, _U2, _F1),
    types.void(_i8, _i8, _i8, _f8, _I1, _U2, _U1, _W1, _B1, _U1, _F1),
    _b1(_f8, _f8, _i8, _F1, _F1, _I1, _B1),
    _b1(_i8, _i8, _f8, _i8, _i8, _F1, _i8, _b1, _U2, _F1, _F1, _I1, _U1, _B1),
    types.void(_i8, _i8, _i8, _i8, _i8, _I1, _B1, _U1, _I3, _J1, _J1, _J2, _I2, _I1),
    types.void(_i8, _i8, _I2, _I2, _I1, _I1, _I1, _J1, _F1, _J1, _J1, _F1),
)


class Absent(types.WrapperAddressProtocol):
    """The stage of a feature the network lacks: no function (numba's address -1).

    ``advance`` calls a stage only for the populations, drives or projections that need
    it, and ``stages`` gives ``ABSENT`` only where the layout has none of them.
    """

    def __init__(self, sig):
        self._sig = sig

    def __wrapper_address__(self):
        return -1

    def signature(self):
        return self._sig


#: the stage of an absent feature, per slot
ABSENT = Stages(*(Absent(sig) for sig in SIGNATURES))


def _advance(membrane, poisson, noise, fire_lif, fire_escape, spikes, propagate,
             n0, n1, dt, spb, n_rec, rows, vals, iext, tstride,
             pop_f, pop_i, port_row, port_n, port_f, pd_i, pd_f, pj_i, rowptr, post, w, vcols,
             zig, v, ref, isyn, keys, ring_idx, ring_cnt, vinf, pois, acc, words, w32, flag, f64,
             counts, vrec, rec_idx, rec_step, rec_n):
    """Advance one chunk from step n0 to at most n1 with the given stages (arguments:
    see Stages, Layout and State).

    Returns
    -------
    (reached, bad_pop) : (int, int)
        ``reached`` is the first step not simulated: ``n1``, or earlier when a trial's
        spike record is nearly full (drain it and call again) or when a potential
        became NaN/Inf (``bad_pop`` >= 0 names the population; the bad values are
        stored in ``v``).
    """
    nb = keys.shape[1]
    cap = rec_idx.shape[1]
    for n in range(n0, n1):
        if n_rec > 0:
            for b in range(nb):
                if rec_n[b] + n_rec > cap:
                    return n, -1
        for c in range(vcols.shape[0]):
            for b in range(nb):
                vrec[n, c, b] = v[vcols[c] * nb + b]
        row = rows[n]
        for p in range(pop_i.shape[0]):  # v_inf with the 'current' drives, per trial
            for b in range(nb):
                i = iext[row, p, b * tstride] if row >= 0 else 0.0
                vinf[p * nb + b] = pop_f[p, F_VREST] + pop_f[p, F_RM] * (pop_f[p, F_IBIAS] + i)
        for p in range(pop_i.shape[0]):
            ip, f = pop_i[p], pop_f[p]
            size, off = ip[I_SIZE], ip[I_OFF]
            m, k0 = size * nb, off * nb
            slots = ip[I_RING]
            if slots > 0:
                base = (ip[I_CBASE] + n % slots) * nb
                for b in range(nb):
                    ring_cnt[base + b] = 0
            membrane(p, nb, f[F_EM], f[F_RM], ip[I_Q0], ip[I_Q1], port_row, port_n, port_f,
                     vinf, acc[:m], v[k0:k0 + m], isyn)
            for d in range(ip[I_PD0], ip[I_PD1]):  # Poisson input of this step
                r0 = port_row[pd_i[d, 1]] * nb
                poisson(d, nb, n, row, dt, off, size, pd_i, pd_f, vals, tstride, pois, words,
                        keys, isyn[r0:r0 + m])
            if ip[I_KIND] == ESCAPE:
                ok = fire_escape(nb, n, dt, off, size, f, ip[I_NREF], ip[I_RESET] != 0, keys,
                                 acc[:m], v[k0:k0 + m], ref[k0:k0 + m], words, flag[:m])
            else:
                if f[F_NOISE] > 0.0:
                    noise(nb, n, off, f[F_NOISE], zig, keys, words, w32, flag, f64, acc[:m])
                ok = fire_lif(f[F_VTH], f[F_VRESET], ip[I_NREF], acc[:m], v[k0:k0 + m],
                              ref[k0:k0 + m], flag[:m])
            if not ok:
                return n, p
            spikes(p, n, n // spb, nb, m, ip, flag, f64, counts, ring_idx, ring_cnt, rec_idx,
                   rec_step, rec_n)
        propagate(n, nb, pop_i, pj_i, port_row, port_n, rowptr, post, w, ring_idx, ring_cnt,
                  isyn)
    return n1, -1


#: the signature of ``advance``: the stages, then scalars and arrays of fixed dtype and
#: rank whatever the network (``Layout.kernel_args``, ``State``)
ADVANCE_SIGNATURE = types.UniTuple(_i8, 2)(
    *(types.FunctionType(sig) for sig in SIGNATURES),
    _i8, _i8, _f8, _i8, _i8, _I1, _R3, _F3, _i8,
    _F2, _I2, _I1, _I1, _F2, _I2, _F2, _I2, _I1, _J1, _F1, _I1, _I1,
    _F1, _I1, _F1, _U2, _J1, _J1, _F1, _F2, _F1, _U1, _W1, _B1, _U1, _I3, _F3, _J2, _I2, _I1)


@functools.cache
def advance_dispatcher():
    """The numba dispatcher of ``advance`` (``kernel`` compiles it)."""
    disp = njit(**_JIT)(_advance)
    _cache.guard(disp, _DEPENDS)
    return disp


def kernel():
    """``advance``, compiled for ``ADVANCE_SIGNATURE`` (or loaded from numba's cache)."""
    disp = advance_dispatcher()
    if not disp.overloads:
        disp.compile(ADVANCE_SIGNATURE)
        disp.disable_compile()  # calls convert their stages to first-class functions
    return disp


def stages(layout, single: bool) -> Stages:
    """The stages for the network of ``layout`` (``_warm.ready`` compiles them).

    ``single``: every chunk holds one trial. Stages with less code serve the networks
    that allow them: one shared port per population (``_membrane_shared``), dense
    projections only (``_propagate_dense``), one trial per chunk
    (``_noise_add_single``). A feature the network lacks gets ``ABSENT``.
    """
    pop_i = layout.pop_i
    lif = pop_i[:, I_KIND] == LIF
    q0, q1 = pop_i[:, I_Q0], pop_i[:, I_Q1]
    one_port = bool(np.all(q1 - q0 == 1)) and bool(np.all(layout.port_n[q0[q1 > q0]] == 1))
    if np.any(lif & (layout.pop_f[:, F_NOISE] > 0.0)):
        noise = _noise_add_single if single else _noise_add
    else:
        noise = ABSENT.noise
    return Stages(
        _membrane_shared if one_port else _membrane,
        _poisson_in if layout.pd_i.shape[0] > 0 else ABSENT.poisson,
        noise,
        _fire_lif if np.any(lif) else ABSENT.fire_lif,
        _fire_escape if not np.all(lif) else ABSENT.fire_escape,
        _spikes,
        _propagate_dense if np.all(layout.pj_i[:, 4] == 1) else _propagate,
    )


def _variant(fn, name: str):
    """The stage ``fn`` (a closure of a stage factory) compiled as a function of its own,
    its qualified name ending in ``_name``.

    numba names a function's machine code after its qualified name, the argument types
    and a counter of the compiling process, and its cache files after the qualified
    name. The variants of one factory have the same qualified name and signature, so
    two variants compiled in different processes (a first run's helper, a later run
    needing the other variant) could get the same symbol: loaded into one process from
    the cache, calls to one then ran the other's code (``_noise_add_single``'s chunks
    of one trial and ``_noise_add``'s batches, with different results). Their own names
    keep their symbols and cache files apart.
    """
    fn.__qualname__ = f"{fn.__qualname__}_{name}"
    return njit(**_STAGE)(fn)


def _make_membrane(one_port: bool):
    """The membrane stage; ``one_port``: every population has one port, shared."""

    def membrane(p, nb, em, rm, q0, q1, port_row, port_n, port_f, vinf, acc, v, isyn):
        """acc = exact step of the membrane and the currents as they stand; decay them.

        A shared port (``port_n[q] == 1``) holds one current per trial for all neurons.
        A population with one port, shared, takes a single pass (the same operations).
        """
        m = acc.shape[0]
        if one_port or (q1 - q0 == 1 and port_n[q0] == 1):
            vinf_p = vinf[p * nb:(p + 1) * nb]
            cur = isyn[port_row[q0] * nb:(port_row[q0] + 1) * nb]
            dq, kq = port_f[q0, 0], port_f[q0, 1]
            for i in range(m // nb):
                acc_i, v_i = acc[i * nb:(i + 1) * nb], v[i * nb:(i + 1) * nb]
                for b in range(nb):
                    acc_i[b] = (vinf_p[b] + (v_i[b] - vinf_p[b]) * em) + (rm * cur[b]) * kq
            for b in range(nb):
                cur[b] = cur[b] * dq
            return
        if nb == 1:
            vi = vinf[p]
            for k in range(m):
                acc[k] = vi + (v[k] - vi) * em
        else:
            vinf_p = vinf[p * nb:(p + 1) * nb]
            for i in range(m // nb):
                acc_i, v_i = acc[i * nb:(i + 1) * nb], v[i * nb:(i + 1) * nb]
                for b in range(nb):
                    acc_i[b] = vinf_p[b] + (v_i[b] - vinf_p[b]) * em
        for q in range(q0, q1):
            dq, kq = port_f[q, 0], port_f[q, 1]
            if port_n[q] == 1:
                cur = isyn[port_row[q] * nb:(port_row[q] + 1) * nb]
                for i in range(m // nb):
                    acc_i = acc[i * nb:(i + 1) * nb]
                    for b in range(nb):
                        acc_i[b] = acc_i[b] + (rm * cur[b]) * kq
                for b in range(nb):
                    cur[b] = cur[b] * dq
                continue
            cur = isyn[port_row[q] * nb:port_row[q] * nb + m]
            for k in range(m):
                c = cur[k]
                acc[k] = acc[k] + (rm * c) * kq
                cur[k] = c * dq

    return _variant(membrane, "shared" if one_port else "general")


_membrane = _make_membrane(False)
_membrane_shared = _make_membrane(True)


@njit(**_STAGE)
def _poisson_in(d, nb, n, row, dt, off, size, pd_i, pd_f, vals, tstride, pois, words, keys,
                cur):
    """cur += weight * k, k ~ Poisson of drive d at step n (stimulus row ``row``), for
    the block of neurons off .. off + size - 1.

    The mean per trial (``pois``: mean per piece, exp(-mean), pieces) comes first; if any
    is positive, the first uniforms come from the pair words of stream
    ``STREAM_POISSON + d`` and further pieces from ``poisson_tail``.
    """
    lam, p0, pieces = (pois[0, d * nb:(d + 1) * nb], pois[1, d * nb:(d + 1) * nb],
                       pois[2, d * nb:(d + 1) * nb])
    most = 0.0
    for b in range(nb):
        mean = 0.0
        if row >= 0:
            mean = max(pd_f[d, 0] * vals[row, pd_i[d, 0], b * tstride], 0.0) * dt
        parts = max(1, math.ceil(mean / _rng.POISSON_PIECE))
        lam[b] = mean / parts
        p0[b] = math.exp(-mean / parts)
        pieces[b] = parts
        most = max(most, lam[b])
    if most == 0.0:
        return
    stream = _rng.STREAM_POISSON + d
    weight = pd_f[d, 1]
    _pair_words(words, size, nb, off, n, stream, keys)
    for k in range(cur.shape[0]):
        b = k % nb
        u = _rng.u01(words[k])
        if lam[b] > 0.0 and (u >= p0[b] or pieces[b] > 1.0):
            cur[k] += weight * _rng.poisson_tail(u, lam[b], p0[b], int(pieces[b]), keys[0, b],
                                                 keys[1, b], off + k // nb, n, stream)


def _make_noise(single: bool):
    """The noise stage; ``single``: for chunks of one trial only (nb = 1), where the loop
    that vectorises runs over the Philox calls, else over the trials (any nb)."""

    def noise_add(nb, n, off, scale, zig, keys, words, w32, flag, f64, acc):
        """acc += scale * N(0, 1) for every neuron and trial of a population block.

        First the ziggurat words: Philox call h (counter neuron ``off + 4 h``, stream
        ``STREAM_NOISE``) serves four neurons, neuron i of trial b gets ``w32[i nb + b]``
        (``w32`` is ``words`` read as uint32; with one trial that is the Philox output
        in counter order, stored as uint64 pairs). The fast path then makes one lookup
        per word in ``_rng.ZIG_TABLE`` (the rectangle's bound and the signed layer
        width, packed in one int64), in a loop of its own that stores the entries in the
        top ``m`` elements of ``words`` (``init_state`` makes it long enough); the
        loop that tests and scales the candidates then vectorises. In one loop, the
        lookup is a vector gather, which LLVM does not emit for CPUs where gathers are
        slow (the Intel Xeon here, Ice Lake): the whole loop then ran one element at a
        time, 3.0 against 0.7 ns per draw split (measured interleaved, same bits).
        With fast gathers the lookup loop vectorises on its own. The table comes
        as the argument ``zig`` (``_rng.ZIG_TABLE``): read from numba's copy of a global
        array, which it places among the compiled code, each lookup costs about four
        times as long (measured: the whole stage 4.4 -> 3 ns per neuron and step). The
        0.43 % of candidates outside their rectangle (flagged; ``f64`` reads eight flags
        at a time) are finished after.
        """
        m = acc.shape[0]
        key0, key1 = keys[0], keys[1]
        if single:
            for h in range((m + 3) // 4):
                a, c = _rng.pair(key0[0], key1[0], off + 4 * h, n, _rng.STREAM_NOISE, 0)
                words[2 * h] = a
                words[2 * h + 1] = c
        else:
            for h in range((m // nb + 3) // 4):
                q0 = w32[4 * h * nb:(4 * h + 1) * nb]
                q1 = w32[(4 * h + 1) * nb:(4 * h + 2) * nb]
                q2 = w32[(4 * h + 2) * nb:(4 * h + 3) * nb]
                q3 = w32[(4 * h + 3) * nb:(4 * h + 4) * nb]
                for b in range(nb):
                    a, c = _rng.pair(key0[b], key1[b], off + 4 * h, n, _rng.STREAM_NOISE, 0)
                    q0[b] = a
                    q1[b] = a >> _U32
                    q2[b] = c
                    q3[b] = c >> _U32
        table, bound_bits = zig, _rng.ZIG_BOUND_BITS
        entry = words[words.shape[0] - m:]  # the top m words: not those w32 reads
        for k in range(m):  # layer: bits 0-9, sign: bit 10 (its own loop: see above)
            entry[k] = table[np.int64(w32[k]) & 2047]
        for k in range(m):  # uniform: bits 11-31
            w = np.int64(w32[k])
            e = np.int64(entry[k])
            u = w >> 11
            inside = u < (e & bound_bits)
            flag[k] = not inside
            acc[k] = acc[k] + scale * (float(u) * bits_to_f64(e) if inside else 0.0)
        for j in range((m + 7) // 8):
            if f64[j]:
                for k in range(8 * j, min(8 * j + 8, m)):
                    if flag[k]:
                        b = k % nb
                        x = _rng.zig_finish(np.int64(w32[k]), key0[b], key1[b], off + k // nb,
                                            n, _rng.STREAM_NOISE_MORE)
                        acc[k] = acc[k] + scale * x

    return _variant(noise_add, "single" if single else "batch")


_noise_add = _make_noise(False)
_noise_add_single = _make_noise(True)


@njit(**_STAGE)
def _fire_lif(vth, vreset, nref, acc, v, ref, flag):
    """Refractory countdown, threshold and reset of ``lif_step``; flag the spikes.

    Returns False (the bad values stored in ``v``) if a potential is NaN or Inf.
    """
    bad = False
    for k in range(acc.shape[0]):
        r = ref[k]
        r = r - 1 if r > 0 else 0
        a = acc[k]
        act = r == 0
        spk = act & (a > vth)
        bad |= act & (not abs(a) <= _BIG)
        v[k] = vreset if spk else (a if act else v[k])
        ref[k] = nref if spk else r
        flag[k] = spk
    if bad:
        for k in range(acc.shape[0]):
            if not abs(acc[k]) <= _BIG:
                v[k] = acc[k]
    return not bad


@njit(**_STAGE)
def _fire_escape(nb, n, dt, off, size, f, nref, reset, keys, acc, v, ref, words, flag):
    """Refractory countdown, escape draw (uniforms of stream ``STREAM_ESCAPE``) and
    optional reset of ``escape_step``.

    Returns False (the bad value stored in ``v``) if a potential is NaN or Inf.
    """
    _pair_words(words, size, nb, off, n, _rng.STREAM_ESCAPE, keys)
    vreset, theta, du, rho0 = f[F_VRESET], f[F_THETA], f[F_DU], f[F_RHO0]
    for k in range(acc.shape[0]):
        r = ref[k]
        r = r - 1 if r > 0 else 0
        a = v[k] if r > 0 and reset else acc[k]
        if not abs(a) <= _BIG:
            v[k] = a
            return False
        spk = r == 0 and _rng.u01(words[k]) < -math.expm1(-(rho0 * math.exp((a - theta) / du))
                                                           * dt)
        v[k] = vreset if spk and reset else a
        ref[k] = nref if spk else r
        flag[k] = spk
    return True


@njit(**_STAGE)
def _spikes(p, n, bin_, nb, m, ip, flag, f64, counts, ring_idx, ring_cnt, rec_idx,
            rec_step, rec_n):
    """Count the spikes flagged in flag[:m] (``f64``: the same bytes as uint64), queue
    them for the projections, record them."""
    slots, size, off = ip[I_RING], ip[I_SIZE], ip[I_OFF]
    for j in range((m + 7) // 8):  # spikes are rare: skip eight flags at a time
        if not f64[j]:
            continue
        for k in range(8 * j, min(8 * j + 8, m)):
            if not flag[k]:
                continue
            i, b = k // nb, k % nb
            counts[b, bin_, p] += 1
            if slots > 0:
                e = (ip[I_CBASE] + n % slots) * nb + b
                ring_idx[(ip[I_RBASE] + (n % slots) * size + ring_cnt[e]) * nb + b] = i
                ring_cnt[e] += 1
            if ip[I_REC]:
                rec_idx[b, rec_n[b]] = off + i
                rec_step[b, rec_n[b]] = n
                rec_n[b] += 1


@njit(**_HELPER)
def _pair_words(words, size, nb, off, n, stream, keys):
    """Uniform words of one step and stream for neurons off .. off + size - 1.

    Philox call h (counter neuron ``off + 2 h``) serves two neurons: neuron i of trial b
    gets the uint64 ``words[i nb + b]``. The loop that vectorises runs over the trials,
    or with one trial over the calls.
    """
    key0, key1 = keys[0], keys[1]
    if nb == 1:
        for h in range((size + 1) // 2):
            a, c = _rng.pair(key0[0], key1[0], off + 2 * h, n, stream, 0)
            words[2 * h] = a
            words[2 * h + 1] = c
        return
    for h in range((size + 1) // 2):
        w0, w1 = words[2 * h * nb:(2 * h + 1) * nb], words[(2 * h + 1) * nb:(2 * h + 2) * nb]
        for b in range(nb):
            a, c = _rng.pair(key0[b], key1[b], off + 2 * h, n, stream, 0)
            w0[b] = a
            w1[b] = c


def _make_propagate(csr: bool):
    """The propagation stage; ``csr``: with sparse (CSR) projections, else dense only."""

    def propagate(n, nb, pop_i, pj_i, port_row, port_n, rowptr, post, w, ring_idx, ring_cnt,
                  isyn):
        """Add the weights of spikes emitted ``delay`` steps ago (event-driven, CSR rows).

        A dense projection (one weight from every source neuron to every target) adds
        that weight once per source spike to each of the port's rows (one if the port is
        shared) in a loop over the trials, with the trials' spike counts as a mask,
        instead of scattered adds ``nb`` elements apart. Both add the same weights to
        each target in the same order.
        """
        for j in range(pj_i.shape[0]):
            src, q, delay, rp = pj_i[j, 0], pj_i[j, 1], pj_i[j, 2], pj_i[j, 3]
            if n < delay:
                continue
            s = (n - delay) % pop_i[src, I_RING]
            c0 = (pop_i[src, I_CBASE] + s) * nb
            r0 = pop_i[src, I_RBASE] + s * pop_i[src, I_SIZE]
            prow = port_row[q]
            if not csr or pj_i[j, 4]:
                cnt = ring_cnt[c0:c0 + nb]
                most = 0
                for b in range(nb):
                    most = max(most, cnt[b])
                wj = w[rowptr[rp]]
                for t in range(port_n[q] if most > 0 else 0):
                    row = isyn[(prow + t) * nb:(prow + t + 1) * nb]
                    for r in range(most):
                        for b in range(nb):
                            row[b] = row[b] + wj if r < cnt[b] else row[b]
                continue
            for b in range(nb):
                for k in range(ring_cnt[c0 + b]):
                    pre = ring_idx[(r0 + k) * nb + b]
                    for syn in range(rowptr[rp + pre], rowptr[rp + pre + 1]):
                        isyn[(prow + post[syn]) * nb + b] += w[syn]

    return _variant(propagate, "csr" if csr else "dense")


_propagate = _make_propagate(True)
_propagate_dense = _make_propagate(False)


#: every implementation of each stage (``neuroattn compile`` compiles them all)
IMPLEMENTATIONS = dict(
    membrane=(_membrane, _membrane_shared), poisson=(_poisson_in,),
    noise=(_noise_add, _noise_add_single), fire_lif=(_fire_lif,),
    fire_escape=(_fire_escape,), spikes=(_spikes,), propagate=(_propagate, _propagate_dense))

# numba's disk cache, safe for processes compiling at once (see ``_cache``); the code
# holds ``_layout``'s column numbers and ``_rng``'s functions and tables as constants
for _fn in (*(f for impls in IMPLEMENTATIONS.values() for f in impls), _pair_words):
    _cache.guard(_fn, _DEPENDS)
del _fn
