"""The fused Numba kernel: tiled attention with an online softmax (FlashAttention).

Algorithm (Dao et al. 2022, forward pass). For a tile of ``BLOCK_Q`` queries, walk the
keys in tiles of ``BLOCK_K``, keeping per query row a running maximum ``m``, a running
sum ``l`` and an unnormalised output ``acc``::

    s     = q_tile k_tile^T                     masked entries -> -inf
    m'    = max(m, rowmax(s));   alpha = 2**(c (m - m'));   p = 2**(c (s - m'))
    l     = alpha l + rowsum(p); acc = alpha acc + p v_tile;   m = m'
    out   = acc / l     (0 for a row with no visible key)

with ``c = scale log2(e) > 0`` (a negative scale is applied as ``-q``). Scaling the
differences ``s - m'`` rather than the logits keeps large logits (1e4) accurate: the
subtraction is exact and only the small difference is rounded by the product.

The ``N x M`` matrix never exists: the extra memory is one output plus, per running
task, a ``BLOCK_Q x BLOCK_K`` tile and ``BLOCK_Q x Dv`` accumulators — O(N D) in all.
Tasks (batch x query tile) run in parallel: one worker per thread (``prange``) takes
its next task from a shared atomic counter (``_numba_math.fetch_add``), so a thread
slowed down by another process on its core takes fewer — with ``prange``'s static
split a call lasts as long as its slowest thread, which cost a short local-attention
call up to its single-thread time on a busy 2-core machine. The two small matrix
products per tile are single-threaded BLAS calls, the exponentials a vectorised
polynomial (``_numba_math.exp2``). Key tiles that no query of the tile can see
(causal, outside the local window) are skipped, so local attention costs O(N w).

The same body serves the spike backend: with bit-packed binary q and k the logits are
popcounts of ``q_i AND k_j`` instead of a matrix product (``packed`` mode).
"""

from __future__ import annotations

import contextlib
import math

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls this BLAS)
from numba import njit, prange

from neuroattn.attention._numba_math import FASTMATH, exp2, fetch_add, popcount
from neuroattn.exceptions import ValidationError

__all__ = ["BLOCK_Q", "BLOCK_K", "fused_attention"]

#: Tuning constants (not part of the math): queries per task, keys per tile. Measured
#: on a 2-core AMD EPYC (Zen 4): 64 x 128 was the fastest of {64, 128} x {128, 256}.
BLOCK_Q = 64
BLOCK_K = 128

_LOG2E = 1.0 / math.log(2.0)


@njit(fastmath=FASTMATH, cache=True)
def _allowed(i, j, mb, mask, mask_rows, causal, window, gq, gk):
    """True if query i may see key j (structure and boolean mask)."""
    if causal and j > i:
        return False
    if window >= 0 and abs(i - j) > window and gq[i] == 0 and gk[j] == 0:
        return False
    if mask.shape[0] > 0:
        return mask[mb, i if mask_rows else 0, j]
    return True


@njit(fastmath=FASTMATH, cache=True)
def _mask_tile(s, i0, cols, mb, mask, mask_rows, causal, window, gq, gk):
    """Set the logits of hidden (query i0 + r, key cols[c]) pairs to -inf."""
    for r in range(s.shape[0]):
        for c in range(s.shape[1]):
            if not _allowed(i0 + r, cols[c], mb, mask, mask_rows, causal, window, gq, gk):
                s[r, c] = -np.inf


@njit(fastmath=FASTMATH, cache=True)
def _mask_band(s, i0, j0, causal, window):
    """Fast path without boolean mask or global tokens: per row, hide the keys outside
    ``[i - window, i]`` (causal) / ``[i - window, i + window]`` by two contiguous fills."""
    bc = s.shape[1]
    for r in range(s.shape[0]):
        i = i0 + r
        first = max(0, i - window - j0) if window >= 0 else 0
        last = min(bc, (i if causal else i + window) + 1 - j0) if (causal or window >= 0) \
            else bc
        row = s[r]
        if last <= first:
            row[:] = -np.inf
            continue
        for j in range(first):
            row[j] = -np.inf
        for j in range(last, bc):
            row[j] = -np.inf


@njit(fastmath=FASTMATH, cache=True)
def _bias_band(s, i0, j0, bias, bias_rows, inv):
    """Add ``inv * bias[i0 + r | 0, j0 + c]`` to the logits of a contiguous key tile."""
    for r in range(s.shape[0]):
        row = bias[i0 + r if bias_rows else 0]
        out = s[r]
        for c in range(out.shape[0]):
            out[c] += row[j0 + c] * inv


@njit(fastmath=FASTMATH, cache=True)
def _bias_cols(s, i0, cols, bias, bias_rows, inv):
    """Add ``inv * bias[i0 + r | 0, cols[c]]`` to the logits of a gathered key tile."""
    for r in range(s.shape[0]):
        row = bias[i0 + r if bias_rows else 0]
        for c in range(s.shape[1]):
            s[r, c] += row[cols[c]] * inv


@njit(fastmath=FASTMATH, cache=True)
def _softmax_tile(s, m, l, acc, c):
    """Online-softmax update of one tile: s (raw logits) becomes p; m, l, acc updated."""
    for r in range(s.shape[0]):
        row = s[r]
        top = m[r]
        for j in range(row.shape[0]):
            top = max(top, row[j])
        if top == -np.inf:
            row[:] = 0
            continue
        alpha = exp2((m[r] - top) * c)
        total = top - top
        for j in range(row.shape[0]):
            e = exp2((row[j] - top) * c)
            row[j] = e
            total += e
        l[r] = l[r] * alpha + total
        m[r] = top
        if alpha != 1:
            for e in range(acc.shape[1]):
                acc[r, e] *= alpha


@njit(fastmath=FASTMATH, cache=True)
def _popcount_scores(s, qpt, kpt):
    """s[r, c] = popcount(qpt[r] AND kpt[c]) over the packed words."""
    for r in range(qpt.shape[0]):
        for c in range(kpt.shape[0]):
            count = np.uint64(0)
            for w in range(qpt.shape[1]):
                count += popcount(qpt[r, w] & kpt[c, w])
            s[r, c] = count


@njit(fastmath=FASTMATH, cache=True)
def _tile_logits(packed, q_rows, qpt, k_rows, kp_rows, buf):
    """Logits of a tile, written into ``buf`` when it has the tile's shape."""
    rows = qpt.shape[0] if packed else q_rows.shape[0]
    cols = kp_rows.shape[0] if packed else k_rows.shape[0]
    s = buf if buf.shape[1] == cols else np.empty((rows, cols), buf.dtype)
    if packed:
        _popcount_scores(s, qpt, kp_rows)
    else:
        np.dot(q_rows, k_rows.T, s)
    return s


@njit(fastmath=FASTMATH, cache=True)
def _outside_globals(gk_idx, lo, hi, m, causal, i1):
    """Global key positions not in [lo, hi) that some query < i1 may see."""
    count = 0
    for g in gk_idx:
        if g < m and (g < lo or g >= hi) and not (causal and g >= i1):
            count += 1
    out = np.empty(count, np.int64)
    count = 0
    for g in gk_idx:
        if g < m and (g < lo or g >= hi) and not (causal and g >= i1):
            out[count] = g
            count += 1
    return out


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _attention_kernel(q, k, qp, kp, v, log2_scale, mask, mask_index, mask_rows, bias,
                      bias_index, bias_rows, bias_inv, causal, window, gq, gk, gk_idx,
                      block_q, block_k, threads):
    """Fused attention over a flat batch; see the module notes.

    q [B, N, D], k [B, M, D] float (unused in packed mode); qp [B, N, W], kp [B, M, W]
    uint64 (packed mode iff W > 0); v [B, M, Dv]; mask bool [Bm, 1|N, M] or empty;
    mask_index int64 [B] -> mask batch; bias float [Bb, 1|N, M] or empty, added to the
    logits times ``bias_inv`` (in the kernel's logit units), bias_index as mask_index;
    window -1 = none; gq uint8 [N], gk uint8 [M] global flags; gk_idx int64 sorted
    global positions; ``threads`` workers.
    """
    packed = qp.shape[2] > 0
    nb, m_keys, dv = v.shape
    n = qp.shape[1] if packed else q.shape[1]
    nqt = (n + block_q - 1) // block_q
    out = np.zeros((nb, n, dv), v.dtype)
    ntask = nb * nqt
    next_task = np.zeros(1, np.int64)
    for _ in prange(min(threads, ntask)):
        t = fetch_add(next_task, 0, 1)
        while t < ntask:
            b = t // nqt
            r = t % nqt
            qt = r // 2 if r % 2 == 0 else nqt - 1 - r // 2  # cheap and costly causal tiles
            i0 = qt * block_q
            i1 = min(n, i0 + block_q)
            br = i1 - i0
            mb = mask_index[b] if mask.shape[0] > 0 else 0
            qpt = qp[b, i0:i1]
            qs = q[b, i0:i1] if not packed else q[0, 0:0]
            top = np.full(br, -np.inf, v.dtype)
            total = np.zeros(br, v.dtype)
            acc = np.zeros((br, dv), v.dtype)
            cols = np.empty(block_k, np.int64)
            sbuf = np.empty((br, block_k), v.dtype)
            pv = np.empty((br, dv), v.dtype)
            sees_all = False
            for i in range(i0, min(i1, gq.shape[0])):
                if gq[i] != 0:
                    sees_all = True
            lo = 0
            hi = m_keys
            if causal:
                hi = min(hi, i1)
            if window >= 0 and not sees_all:
                lo = max(0, i0 - window)
                hi = min(hi, i1 + window)
            for j0 in range(lo, hi, block_k):
                j1 = min(hi, j0 + block_k)
                s = _tile_logits(packed, qs, qpt, k[b, j0:j1], kp[b, j0:j1], sbuf)
                if bias.shape[0] > 0:
                    _bias_band(s, i0, j0, bias[bias_index[b]], bias_rows, bias_inv)
                if (mask.shape[0] > 0 or (causal and j1 - 1 > i0)
                        or (window >= 0
                            and (j0 < i1 - 1 - window or j1 - 1 > i0 + window))):
                    if mask.shape[0] == 0 and gk_idx.shape[0] == 0:
                        _mask_band(s, i0, j0, causal, window)
                    else:
                        for j in range(j1 - j0):
                            cols[j] = j0 + j
                        _mask_tile(s, i0, cols, mb, mask, mask_rows, causal, window, gq, gk)
                _softmax_tile(s, top, total, acc, log2_scale)
                np.dot(s, v[b, j0:j1], pv)
                acc += pv
            if gk_idx.shape[0] > 0 and window >= 0 and not sees_all:
                idx = _outside_globals(gk_idx, lo, hi, m_keys, causal, i1)
                if idx.shape[0] > 0:
                    kg = np.empty((idx.shape[0], k.shape[2]), k.dtype)
                    kpg = np.empty((idx.shape[0], kp.shape[2]), kp.dtype)
                    vg = np.empty((idx.shape[0], dv), v.dtype)
                    for j in range(idx.shape[0]):
                        if packed:
                            kpg[j] = kp[b, idx[j]]
                        else:
                            kg[j] = k[b, idx[j]]
                        vg[j] = v[b, idx[j]]
                    s = _tile_logits(packed, qs, qpt, kg, kpg, sbuf)
                    if bias.shape[0] > 0:
                        _bias_cols(s, i0, idx, bias[bias_index[b]], bias_rows, bias_inv)
                    _mask_tile(s, i0, idx, mb, mask, mask_rows, causal, window, gq, gk)
                    _softmax_tile(s, top, total, acc, log2_scale)
                    np.dot(s, vg, pv)
                    acc += pv
            for rr in range(br):
                if total[rr] > 0:
                    inv = 1 / total[rr]
                    for e in range(dv):
                        out[b, i0 + rr, e] = acc[rr, e] * inv
            t = fetch_add(next_task, 0, 1)
    return out


_CONTROLLER = []


@contextlib.contextmanager
def _single_threaded_blas():
    """Limit BLAS to one thread while the kernel's own threads call it.

    OpenBLAS called from inside a parallel region would start its own threads too,
    oversubscribing the cores (and printing "Detect OpenMP Loop").
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController
        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


def _flat(x, batch_shape, dtype):
    """[*batch, rows, cols] C-contiguous ``dtype`` array, broadcasting the batch."""
    x = np.broadcast_to(x, tuple(batch_shape) + x.shape[-2:])
    return np.ascontiguousarray(x.reshape((-1,) + x.shape[-2:]), dtype=dtype)


def _frozen(x):
    """A read-only view: every array argument read-only means one compiled signature."""
    x = x.view()
    x.flags.writeable = False
    return x


def _flags(positions, size):
    flags = np.zeros(size, np.uint8)
    flags[positions[positions < size]] = 1
    return flags


def _mask_args(mask, batch_shape, nb, dtype):
    """(mask [Bm, 1|N, M], mask_index [B], mask_rows) for the kernel (also the bias)."""
    if mask is None:
        return np.zeros((0, 1, 1), dtype), np.zeros(nb, np.int64), False
    mask = np.asarray(mask)
    mbatch = mask.shape[:-2]
    index = np.broadcast_to(np.arange(int(np.prod(mbatch)), dtype=np.int64).reshape(mbatch),
                            batch_shape).ravel()
    flat = np.ascontiguousarray(mask.reshape((-1,) + mask.shape[-2:]), dtype=dtype)
    return flat, np.ascontiguousarray(index), mask.shape[-2] > 1


def fused_attention(call, packed=None, block_q=BLOCK_Q, block_k=BLOCK_K) -> np.ndarray:
    """Run the fused kernel on a validated numpy call.

    Parameters
    ----------
    call : AttentionCall
        Validated inputs (numpy arrays).
    packed : tuple (qp, kp) or None
        Bit-packed binary q and k, ``[..., N, W]`` / ``[..., M, W]`` uint64: the logits
        are then popcounts (spike backend); ``call.q``/``call.k`` are not read.
    block_q, block_k : int
        Tile sizes (tuning only; any positive values give the same result).

    Returns
    -------
    numpy.ndarray, shape batch_shape + (N, Dv)
        float32 for float16/float32 inputs, float64 for float64 (and for ``packed``
        calls, the dtype of v).
    """
    v_dtype = np.float64 if call.v.dtype == np.float64 else np.float32
    batch = call.batch_shape
    nb = int(np.prod(batch))
    v = _flat(call.v, batch, v_dtype)
    if packed is None:
        q = _flat(call.q, batch, v_dtype)
        k = _flat(call.k, batch, v_dtype)
        qp = kp = np.zeros((1, 1, 0), np.uint64)
    else:
        q = k = np.zeros((1, 1, 1), v_dtype)
        qp = _flat(packed[0], batch, np.uint64)
        kp = _flat(packed[1], batch, np.uint64)
    mask, mask_index, mask_rows = _mask_args(call.mask, batch, nb, np.bool_)
    bias, bias_index, bias_rows = _mask_args(call.bias, batch, nb, v_dtype)
    window = -1 if call.window is None else call.window
    g = np.asarray(call.global_tokens, dtype=np.int64)
    c = v_dtype(abs(call.scale) * _LOG2E)
    # The kernel's logit unit is 1/|scale|: a bias b is added as b/|scale|.
    bias_inv = v_dtype(1.0 / abs(call.scale)) if c != 0 else v_dtype(1.0)
    if call.scale < 0 and packed is None:
        q = -q
    elif call.scale < 0:
        raise ValidationError(f"scaled_dot_product_attention.scale: must be >= 0 for the "
                              f"spike backend (got {call.scale}); popcount logits are "
                              f"non-negative counts")
    if c == 0:  # all q.k logits 0: uniform weights over the visible keys, plus the bias
        c = v_dtype(_LOG2E)
        q, qp = np.zeros_like(q), np.zeros_like(qp)
    arrays = [_frozen(x) for x in (q, k, qp, kp, v, mask, mask_index, bias, bias_index,
                                   _flags(g, call.n), _flags(g, call.m), g)]
    q, k, qp, kp, v, mask, mask_index, bias, bias_index, gq, gk, g = arrays
    with _single_threaded_blas():
        out = _attention_kernel(q, k, qp, kp, v, c, mask, mask_index, bool(mask_rows), bias,
                                bias_index, bool(bias_rows), bias_inv, bool(call.causal),
                                int(window), gq, gk, g, int(block_q), int(block_k),
                                numba.get_num_threads())
    return out.reshape(batch + (call.n, call.dv))


# numba's disk cache, safe for processes compiling at once and against entries of other
# sources (``neuroattn._numba_cache``); the machine code holds ``_numba_math``'s
# intrinsics and ``neuroattn._bits``' constants, so an edit of either recompiles it
def _guard_cache() -> None:
    from neuroattn import _bits, _numba_cache
    from neuroattn.attention import _numba_math

    _numba_cache.guard_all(globals(), depends=(_numba_math, _bits))


_guard_cache()
