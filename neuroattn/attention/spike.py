"""Attention on binary spike tensors: bit-packed words and popcounts, no multiplies.

Spikes are packed 64 to a uint64 word (bit ``i % 64`` of word ``i // 64``). For binary
vectors the dot product is a popcount: ``q . k = popcount(q AND k)``.

Two forms:

(a) :func:`spiking_self_attention` — Spikformer's spiking self-attention (Zhou et al.
    2023) without softmax, ``(Q K^T V) * scale``, computed as ``Q (K^T V)`` so the cost
    is linear in N: ``K^T V`` ([D, Dv] counts) is a popcount of K's and V's columns
    packed along the tokens (a bit-matrix transpose per 64 tokens); each query then
    adds the rows of ``K^T V`` picked by its spikes — accumulates only, as on
    neuromorphic hardware — eight spikes at a time: the sums of the rows of every
    pattern of 8 consecutive features are tabulated once per batch entry, so a query
    adds ``D / 8`` table rows whatever its number of spikes.
(b) ``scaled_dot_product_attention(..., backend="spike")`` — popcount logits followed
    by the softmax, in the fused kernel's packed mode (``fused``).

Both are exact on binary inputs: (a) returns ``scale`` times exact integer counts, the
float reference's numbers; (b) differs from the float reference only by float32
rounding of the softmax. Non-binary inputs raise ValidationError.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from neuroattn.attention._numba_math import fetch_add, popcount, sum_rows, transpose64
from neuroattn.attention._validate import array_kind, is_binary
from neuroattn.exceptions import ValidationError

__all__ = ["pack_spikes", "popcount_scores", "spiking_self_attention",
           "spiking_self_attention_packed", "check_binary"]

#: Tuning only, for (a): the batch is split into chunks of at least this many keys /
#: queries only when it has fewer entries than there are threads; byte tables (8 query
#: spikes per lookup) are used while a task's tables fit in this many bytes, else
#: nibble tables (4 per lookup).
KEYS_PER_TASK = 1024
QUERIES_PER_TASK = 512
TABLE_BYTES = 2**20
#: Outputs larger than this are written with streaming (non-temporal) stores: they
#: would not stay in a core's cache anyway, and skipping it saves reading each line
#: before it is overwritten (the query pass alone: 1.8x faster at 16 MiB, 1.4x at
#: 2 MiB, one thread of the 2-core Zen 4).
STREAM_BYTES = 2**20


def check_binary(x, name: str, where: str) -> None:
    """Raise ValidationError unless every element of ``x`` is 0 or 1."""
    if not is_binary(x, array_kind(x, name, where)):
        raise ValidationError(f"{where}.{name}: must be a binary spike tensor (only 0 and "
                              f"1) (got values outside {{0, 1}}, dtype "
                              f"{str(x.dtype).replace('torch.', '')}); threshold it, e.g. "
                              f"({name} > 0)")


def pack_spikes(x: np.ndarray) -> np.ndarray:
    """Pack a binary array along its last axis, 64 spikes per uint64 word.

    Parameters
    ----------
    x : numpy.ndarray, shape [..., D]
        0/1 values (bool, int or float; not checked here).

    Returns
    -------
    numpy.ndarray of uint64, shape [..., ceil(D / 64)]
        Bit ``i % 64`` of word ``i // 64`` is ``x[..., i]``; padding bits are 0.

    Examples
    --------
    >>> pack_spikes(np.array([1, 0, 1, 1], dtype=bool))
    array([13], dtype=uint64)
    """
    x = np.asarray(x)
    if x.ndim < 1 or not (x.dtype == np.bool_ or np.issubdtype(x.dtype, np.number)):
        raise ValidationError(f"pack_spikes.x: must be a numeric or boolean array of at "
                              f"least 1 dimension [..., D] (got dtype {x.dtype}, shape "
                              f"{x.shape})")
    packed = np.packbits(x if x.dtype == np.bool_ else x != 0, axis=-1, bitorder="little")
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros(packed.shape[:-1] + (pad,), np.uint8)],
                                axis=-1)
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def popcount_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Integer logits ``q k^T`` of binary q [..., N, D] and k [..., M, D], by popcount.

    Materialises ``[..., N, M]`` (int64); for tests and small inputs.
    """
    from neuroattn.attention._validate import check_attention

    where = "popcount_scores"
    q, k = np.asarray(q), np.asarray(k)
    check_attention(q, k, k, where=where, require_float=False)
    for name, x in (("q", q), ("k", k)):
        check_binary(x, name, where)
    batch = np.broadcast_shapes(np.shape(q)[:-2], np.shape(k)[:-2])
    qp = pack_spikes(np.broadcast_to(q, batch + np.shape(q)[-2:]))
    kp = pack_spikes(np.broadcast_to(k, batch + np.shape(k)[-2:]))
    out = _popcount_matrix(qp.reshape((-1,) + qp.shape[-2:]),
                           kp.reshape((-1,) + kp.shape[-2:]))
    return out.reshape(batch + out.shape[-2:])


@njit(cache=True)
def _popcount_matrix(qp, kp):
    out = np.empty((qp.shape[0], qp.shape[1], kp.shape[1]), np.int64)
    for b in range(qp.shape[0]):
        for i in range(qp.shape[1]):
            for j in range(kp.shape[1]):
                count = np.uint64(0)
                for w in range(qp.shape[2]):
                    count += popcount(qp[b, i, w] & kp[b, j, w])
                out[b, i, j] = count
    return out


@njit(cache=True)
def _load_block(x, b, j0, words, out):
    """Columns of tokens j0..j0+63 of x[b] packed along the tokens: bit jj of
    ``out[64 w + d]`` is feature ``64 w + d`` of token ``j0 + jj`` (0 past the end)."""
    nj = min(64, x.shape[1] - j0)
    for w in range(words):
        a = out[64 * w:64 * w + 64]
        for jj in range(nj):
            a[jj] = x[b, j0 + jj, w]
        a[nj:] = 0
        transpose64(a)


#: Token blocks whose counts are summed before they are added to the count matrix.
_BLOCKS = 4


@njit(cache=True)
def _add_counts(kt, vt, count):
    """count[d, e] += sum over the _BLOCKS blocks z of popcount(kt[z, d] AND vt[z, e])."""
    v0, v1, v2, v3 = vt[0], vt[1], vt[2], vt[3]
    for d in range(count.shape[0]):
        k0, k1, k2, k3 = kt[0, d], kt[1, d], kt[2, d], kt[3, d]
        row = count[d]
        for e in range(count.shape[1]):
            pairs = (popcount(k0 & v0[e]) + popcount(k1 & v1[e])) + \
                (popcount(k2 & v2[e]) + popcount(k3 & v3[e]))
            row[e] = np.uint32(row[e] + np.uint32(pairs))


@njit(cache=True)
def _head_counts(kp, vp, b, first, last, d_k, d_v):
    """K^T V of batch b over the 64-token blocks first..last-1: uint32 [d_k, d_v] counts
    ``#tokens j with k[b, j, d] = v[b, j, e] = 1`` (fewer than 2**32 tokens).

    kp [B, M, Wk], vp [B, M, Wv]: uint64, packed along the features (``pack_spikes``).
    Per block, K's and V's columns are re-packed along the tokens by a bit-matrix
    transpose (:func:`transpose64`), then ``count[d, e] += popcount(kt[d] AND vt[e])``:
    ``D Dv / 64`` popcounts per token instead of ``D Dv`` multiply-adds, four blocks per
    pass over the counts, in a loop over e that compiles to SIMD popcounts.
    """
    wk, wv = kp.shape[2], vp.shape[2]
    kt = np.zeros((_BLOCKS, 64 * wk), np.uint64)
    vt = np.zeros((_BLOCKS, 64 * wv), np.uint64)
    count = np.zeros((d_k, d_v), np.uint32)
    for block in range(first, last, _BLOCKS):
        for z in range(_BLOCKS):
            if block + z < last:
                _load_block(kp, b, 64 * (block + z), wk, kt[z])
                _load_block(vp, b, 64 * (block + z), wv, vt[z])
            else:
                kt[z] = 0
                vt[z] = 0
        _add_counts(kt, vt, count)
    return count


@njit(cache=True)
def _empty64(shape, dtype_of):
    """np.empty(shape, dtype_of.dtype) starting on a 64-byte boundary (numba aligns to
    32): whole-cache-line rows for the 512-bit loads and streaming stores."""
    size = 1
    for s in shape:
        size *= s
    item = dtype_of.itemsize
    buf = np.empty(size + 64 // item, dtype_of.dtype)
    skip = ((-buf.ctypes.data) % 64) // item
    return buf[skip:skip + size].reshape(shape)


@njit(cache=True)
def _group_tables(kv, bits, groups, dtype_of):
    """Sums of K^T V rows for every pattern of ``bits`` query spikes in each group.

    kv [D, Dv] counts. Returns tab [groups, 2**bits, Dv] of ``dtype_of.dtype`` with
    ``tab[g, x] = sum of kv[bits g + i] over the set bits i of x``, built by doubling:
    ``tab[g, 2**i + x] = tab[g, x] + kv[bits g + i]`` for x < 2**i. Patterns with bits
    beyond feature D are never looked up (padding bits are 0) and are not written.
    """
    d_k, d_v = kv.shape
    rows = np.empty((d_k, d_v), dtype_of.dtype)
    for d in range(d_k):
        for e in range(d_v):
            rows[d, e] = kv[d, e]
    tab = _empty64((groups, 1 << bits, d_v), dtype_of)
    for g in range(groups):
        tg = tab[g]
        tg[0, :] = 0
        for i in range(min(bits, d_k - bits * g)):
            row = rows[bits * g + i]
            half = 1 << i
            for x in range(half):
                sum_rows(tg[half + x], (tg[x], row), None, False)
    return tab


@njit(cache=True)
def _query_rows(qp, tab, acc, scale, stream, bits, dst, b, i):
    """dst = scale * sum over the groups g of tab[g, spike pattern of group g of query
    (b, i)]: eight rows per :func:`sum_rows` call, ``acc`` holding the partial sum."""
    passes = tab.shape[0] // 8
    low = np.uint64((1 << bits) - 1)
    s1, s2, s3, s4 = np.uint64(bits), np.uint64(2 * bits), np.uint64(3 * bits), \
        np.uint64(4 * bits)
    s5, s6, s7 = np.uint64(5 * bits), np.uint64(6 * bits), np.uint64(7 * bits)
    for p in range(passes):
        g = 8 * p
        word = qp[b, i, p * bits // 8]
        if bits == 4 and p % 2 == 1:
            word >>= np.uint64(32)
        rows = (tab[g, word & low], tab[g + 1, (word >> s1) & low],
                tab[g + 2, (word >> s2) & low], tab[g + 3, (word >> s3) & low],
                tab[g + 4, (word >> s4) & low], tab[g + 5, (word >> s5) & low],
                tab[g + 6, (word >> s6) & low], tab[g + 7, (word >> s7) & low])
        if p == 0:
            sum_rows(acc, rows, None, False)
        elif p + 1 < passes:
            sum_rows(acc, (acc,) + rows, None, False)
        else:
            sum_rows(dst, (acc,) + rows, scale, stream)


@njit(cache=True)
def _byte_rows(tab, w):
    """The eight rows tab[g, byte g of w] (byte tables, one 64-bit word of spikes)."""
    byte = np.uint64(255)
    return (tab[0, w & byte], tab[1, (w >> np.uint64(8)) & byte],
            tab[2, (w >> np.uint64(16)) & byte], tab[3, (w >> np.uint64(24)) & byte],
            tab[4, (w >> np.uint64(32)) & byte], tab[5, (w >> np.uint64(40)) & byte],
            tab[6, (w >> np.uint64(48)) & byte], tab[7, w >> np.uint64(56)])


@njit(cache=True)
def _table_rows(qp, kv, b, i0, i1, out, scale, dtype_of, table_bytes, stream):
    """out[b, i] = scale * sum of kv[d] over the spikes d of query i, for i0 <= i < i1.

    The features are cut into groups of 8 consecutive spikes (4 if the byte tables
    would exceed ``table_bytes``); the row sums for every spike pattern of every group
    are tabulated (:func:`_group_tables`, in ``dtype_of``'s dtype), then each query
    adds one table row per group — ``D / 8`` rows whatever the density, eight per
    :func:`sum_rows` call (SIMD adds). D <= 64 with byte tables (one word, one call per
    query) has its own loop, with constant shifts.
    """
    wq = qp.shape[2]
    bits = 8 if 8 * wq * 256 * kv.shape[1] * dtype_of.itemsize <= table_bytes else 4
    tab = _group_tables(kv, bits, 64 * wq // bits, dtype_of)
    # The store kind is a constant in each loop (see sum_rows).
    if tab.shape[0] == 8 and stream:
        for i in range(i0, i1):
            sum_rows(out[b, i], _byte_rows(tab, qp[b, i, 0]), scale, True)
    elif tab.shape[0] == 8:
        for i in range(i0, i1):
            sum_rows(out[b, i], _byte_rows(tab, qp[b, i, 0]), scale, False)
    else:
        acc = np.empty(kv.shape[1], tab.dtype)
        for i in range(i0, i1):
            _query_rows(qp, tab, acc, scale, stream, bits, out[b, i], b, i)


@njit(cache=True)
def _largest_sum(kp):
    """An upper bound on every entry of every batch entry's K^T V column sums (so on
    every table entry and every query's sum): the most key spikes of a batch entry.

    ``sum_d (K^T V)[d, e] = sum over tokens j with v[j, e] = 1 of popcount(k_j)``.
    """
    top = np.uint64(0)
    for b in range(kp.shape[0]):
        total = np.uint64(0)
        for j in range(kp.shape[1]):
            for w in range(kp.shape[2]):
                total += popcount(kp[b, j, w])
        top = max(top, total)
    return int(top)


@njit(cache=True)
def _claim(counters, ntask):
    """The next of ``ntask`` parallel tasks, or -1 when none is left.

    Workers take tasks from a shared counter (``counters[0]``, :func:`fetch_add`), so
    one slowed down by another process on its core, or woken late, takes fewer.
    """
    t = fetch_add(counters, 0, 1)
    return t if t < ntask else -1


@njit(cache=True)
def _await(counters, ntask):
    """Spin until ``counters[1]`` (tasks finished) reaches ntask.

    Worker 0 — the calling thread — waits here, at most one task's time, instead of in
    the parallel region's closing barrier: there, with ``OMP_WAIT_POLICY=PASSIVE``, it
    would sleep and take tens of microseconds to be woken by the last worker.
    """
    while fetch_add(counters, 1, 0) < ntask:
        pass


@njit(parallel=True, cache=True)
def _linear_kernel(qp, kp, vp, d_k, d_v, scale, dtype_of, table_bytes, stream, threads):
    """``Q (K^T V) * scale`` on packed [B, rows, words] uint64 arrays; float32 [B, N, Dv].

    One task per batch entry computes its ``K^T V`` (:func:`_head_counts`) and then its
    queries (:func:`_table_rows`, tables of ``dtype_of``'s dtype); ``threads`` workers
    share the tasks (:func:`_claim`, :func:`_await`).
    """
    nb, n = qp.shape[0], qp.shape[1]
    nblock = (kp.shape[1] + 63) // 64
    out = _empty64((nb, n, d_v), np.empty(0, np.float32))
    counters = np.zeros(2, np.int64)
    for w in prange(min(threads, nb)):
        b = _claim(counters, nb)
        while b >= 0:
            kv = _head_counts(kp, vp, b, 0, nblock, d_k, d_v)
            _table_rows(qp, kv, b, 0, n, out, scale, dtype_of, table_bytes, stream)
            fetch_add(counters, 1, 1)
            b = _claim(counters, nb)
        if w == 0:
            _await(counters, nb)
    return out


@njit(parallel=True, cache=True)
def _split_counts(kp, vp, d_k, d_v, kchunks, threads):
    """K^T V of each batch entry in ``kchunks`` chunks of tokens: uint32
    [B, kchunks, D, Dv] (the counts of a batch entry are the sum over its chunks)."""
    nb = kp.shape[0]
    nblock = (kp.shape[1] + 63) // 64
    per = (nblock + kchunks - 1) // kchunks
    parts = np.empty((nb, kchunks, d_k, d_v), np.uint32)
    counters = np.zeros(2, np.int64)
    for w in prange(min(threads, nb * kchunks)):
        t = _claim(counters, nb * kchunks)
        while t >= 0:
            b, c = t // kchunks, t % kchunks
            parts[b, c] = _head_counts(kp, vp, b, c * per, min(nblock, (c + 1) * per),
                                       d_k, d_v)
            fetch_add(counters, 1, 1)
            t = _claim(counters, nb * kchunks)
        if w == 0:
            _await(counters, nb * kchunks)
    return parts


@njit(parallel=True, cache=True)
def _split_rows(qp, parts, scale, dtype_of, qchunks, table_bytes, stream, threads):
    """:func:`_linear_kernel`'s queries from chunked counts (:func:`_split_counts`),
    each batch entry's queries cut into ``qchunks`` chunks."""
    nb, n = qp.shape[0], qp.shape[1]
    out = _empty64((nb, n, parts.shape[3]), np.empty(0, np.float32))
    rows = (n + qchunks - 1) // qchunks
    counters = np.zeros(2, np.int64)
    for w in prange(min(threads, nb * qchunks)):
        t = _claim(counters, nb * qchunks)
        while t >= 0:
            b, c = t // qchunks, t % qchunks
            kv = parts[b, 0].copy()
            for other in range(1, parts.shape[1]):
                kv += parts[b, other]
            _table_rows(qp, kv, b, c * rows, min(n, (c + 1) * rows), out, scale, dtype_of,
                        table_bytes, stream)
            fetch_add(counters, 1, 1)
            t = _claim(counters, nb * qchunks)
        if w == 0:
            _await(counters, nb * qchunks)
    return out


def _batch_shape(*shapes):
    """np.broadcast_shapes, without its cost (microseconds) when the shapes are equal."""
    return shapes[0] if shapes.count(shapes[0]) == len(shapes) else \
        np.broadcast_shapes(*shapes)


def _flat_packed(x, batch_shape):
    """[B, rows, words] C-contiguous uint64, broadcasting the batch (no copy if possible)."""
    if x.shape[:-2] != batch_shape:
        x = np.broadcast_to(x, batch_shape + x.shape[-2:])
    return np.ascontiguousarray(x.reshape((-1,) + x.shape[-2:]))


def _packed_linear(qp, kp, vp, d, dv, scale, key_mask):
    """The bit-packed kernel on validated packed numpy arrays; float32 [..., N, dv]."""
    batch = _batch_shape(qp.shape[:-2], kp.shape[:-2], vp.shape[:-2])
    if key_mask is not None:
        batch = np.broadcast_shapes(batch, key_mask.shape[:-1])
        kp = np.where(key_mask[..., None], kp, np.uint64(0))
    m, n = kp.shape[-2], qp.shape[-2]
    kp, vp, qp = (_flat_packed(x, batch) for x in (kp, vp, qp))
    nb = kp.shape[0]
    # Split the tokens / queries only when the batch alone leaves threads idle.
    threads = numba.get_num_threads()
    spare = -(-threads // max(nb, 1))
    kchunks = min(spare, -(-m // KEYS_PER_TASK))
    qchunks = min(spare, -(-n // QUERIES_PER_TASK))
    # The narrowest type that holds every table entry and every query's sum exactly:
    # uint16 halves the table traffic of 32-bit entries. The products are float32
    # when that is exact: a float32 scale and sums <= 2**24 have at most 24
    # significant bits each, so the float32 product is their exact product rounded
    # once, the float64 product rounded to float32 — the same number.
    top = min(d * m, _largest_sum(kp))
    dtype = np.uint16 if top < 2**16 else np.uint32 if top < 2**32 else np.uint64
    scale = float(scale)
    if top <= 2**24 and float(np.float32(scale)) == scale:
        scale = np.float32(scale)
    tables, stream = np.empty(0, dtype), nb * n * dv * 4 > STREAM_BYTES
    if kchunks == 1 and qchunks == 1:
        out = _linear_kernel(qp, kp, vp, d, dv, scale, tables, TABLE_BYTES, stream,
                             threads)
    else:   # two passes: chunk counts, then their sums and the query chunks
        parts = _split_counts(kp, vp, d, dv, kchunks, threads)
        out = _split_rows(qp, parts, scale, tables, qchunks, TABLE_BYTES, stream, threads)
    return out.reshape(batch + out.shape[-2:])


def _numpy_linear(q, k, v, scale, key_mask):
    if key_mask is not None:
        batch = np.broadcast_shapes(k.shape[:-2], key_mask.shape[:-1])
        k = np.broadcast_to(k != 0, batch + k.shape[-2:]) & key_mask[..., None]
    return _packed_linear(pack_spikes(q), pack_spikes(k), pack_spikes(v), q.shape[-1],
                          v.shape[-1], scale, None)


def _torch_linear(q, k, v, scale, key_mask):
    """The same math with float matmuls (differentiable; used for surrogate training)."""
    if key_mask is not None:
        k = k * key_mask[..., :, None].to(k.dtype)
    return (q @ (k.transpose(-1, -2) @ v)) * scale


def _check_packed(x, name, features, where):
    """Validate one packed operand: uint64 numpy [..., rows, ceil(features / 64)]."""
    if not isinstance(x, np.ndarray) or x.dtype != np.uint64 or x.ndim < 2:
        got = f"{type(x).__name__} dtype {getattr(x, 'dtype', None)} shape " \
              f"{tuple(np.shape(x))}"
        raise ValidationError(f"{where}.{name}: must be a uint64 numpy array [..., tokens, "
                              f"words] (got {got}); pack spikes with pack_spikes(x)")
    words = -(-features // 64)
    if x.shape[-1] != words or x.shape[-2] == 0:
        raise ValidationError(f"{where}.{name}: must have ceil({features} / 64) = {words} "
                              f"words per token and at least one token (got shape "
                              f"{x.shape}); pack [..., tokens, {features}] spikes with "
                              f"pack_spikes")
    if features % 64 and (x[..., -1] >> np.uint64(features % 64)).any():
        raise ValidationError(f"{where}.{name}: has bits set beyond feature {features} in "
                              f"its last word; padding bits must be 0, as pack_spikes "
                              f"leaves them")


def spiking_self_attention_packed(qp, kp, vp, d, dv, scale=None, key_mask=None):
    """:func:`spiking_self_attention` on spikes already bit-packed by :func:`pack_spikes`.

    Spike tensors in neuroattn are stored 64 to a word; this entry point skips the
    packing (and the binary check, which packing makes unnecessary).

    Parameters
    ----------
    qp : numpy.ndarray of uint64, shape [..., N, ceil(D / 64)]
        Packed query spikes, ``pack_spikes(q)``.
    kp : numpy.ndarray of uint64, shape [..., M, ceil(D / 64)]
        Packed key spikes.
    vp : numpy.ndarray of uint64, shape [..., M, ceil(Dv / 64)]
        Packed value spikes.
    d, dv : int
        Unpacked feature counts of q/k and of v.
    scale : float
        Output multiplier (default ``1/sqrt(d)``).
    key_mask : numpy.ndarray of bool, shape [..., M], optional
        True = the key takes part.

    Returns
    -------
    numpy.ndarray of float32, shape [..., N, dv]
        ``scale`` times exact integer counts, equal to
        ``spiking_self_attention(q, k, v, scale, key_mask)``.

    Raises
    ------
    ValidationError
        Wrong dtype or word count, padding bits set, batch shapes that do not broadcast,
        a bad mask or scale.

    Examples
    --------
    >>> q = np.array([[1, 0], [1, 1]]); k = np.array([[1, 1], [0, 1]])
    >>> v = np.array([[1, 0, 1], [0, 0, 1]])
    >>> spiking_self_attention_packed(pack_spikes(q), pack_spikes(k), pack_spikes(v),
    ...                               d=2, dv=3, scale=1.0)
    array([[1., 0., 1.],
           [2., 0., 3.]], dtype=float32)
    """
    where = "spiking_self_attention_packed"
    for name, n in (("d", d), ("dv", dv)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValidationError(f"{where}.{name}: must be a positive int, the unpacked "
                                  f"feature count (got {n!r})")
    for name, x, features in (("qp", qp, d), ("kp", kp, d), ("vp", vp, dv)):
        _check_packed(x, name, features, where)
    if kp.shape[-2] != vp.shape[-2]:
        raise ValidationError(f"{where}: kp and vp must have the same number of tokens M "
                              f"(got kp {kp.shape}, vp {vp.shape})")
    try:
        batch = _batch_shape(qp.shape[:-2], kp.shape[:-2], vp.shape[:-2])
    except ValueError:
        raise ValidationError(f"{where}: the batch dimensions of qp {qp.shape}, kp "
                              f"{kp.shape} and vp {vp.shape} must broadcast") from None
    if scale is None:
        scale = 1.0 / np.sqrt(d)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating,
                                                         np.integer)) \
            or not np.isfinite(scale):
        raise ValidationError(f"{where}.scale: must be a finite float (got {scale!r})")
    if key_mask is not None:
        if not isinstance(key_mask, np.ndarray) or key_mask.dtype != np.bool_ or \
                key_mask.ndim < 1 or key_mask.shape[-1] != kp.shape[-2]:
            raise ValidationError(f"{where}.key_mask: must be a boolean [..., M] numpy "
                                  f"array with M={kp.shape[-2]} (got "
                                  f"{getattr(key_mask, 'dtype', type(key_mask).__name__)}"
                                  f", shape {tuple(np.shape(key_mask))}); True marks keys "
                                  f"that take part")
        try:
            np.broadcast_shapes(batch, key_mask.shape[:-1])
        except ValueError:
            raise ValidationError(f"{where}.key_mask: batch shape {key_mask.shape[:-1]} "
                                  f"must broadcast with {batch}") from None
    return _packed_linear(qp, kp, vp, int(d), int(dv), float(scale), key_mask)


def spiking_self_attention(q, k, v, scale=None, key_mask=None):
    """Spikformer's spiking self-attention without softmax: ``Q (K^T V) * scale``.

    Parameters
    ----------
    q : numpy.ndarray or torch.Tensor, shape [..., N, D]
        Binary query spikes.
    k : same type, shape [..., M, D]
        Binary key spikes.
    v : same type, shape [..., M, Dv]
        Binary value spikes.
    scale : float
        Output multiplier (default ``1/sqrt(D)``; Spikformer uses 0.125 = 1/sqrt(64)).
    key_mask : array or tensor of bool, shape [..., M], optional
        True = the key takes part (padding mask).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape [..., N, Dv]
        ``scale`` times integer counts. numpy input: float32 from the bit-packed kernel.
        torch input: float matmuls of q's dtype when gradients are required (surrogate
        training) or while ``torch.compile``/``torch.export`` traces (the binary check
        is then skipped: it reads values), else the bit-packed kernel's result as a
        tensor of q's dtype on q's device.

    Raises
    ------
    ValidationError
        Non-binary inputs, mismatched shapes, a bad mask or scale.

    Notes
    -----
    Cost: ``K^T V`` takes ``D Dv ceil(M/64)`` AND+popcount word operations; the
    product with Q tabulates ``256 (D/8) Dv`` row sums per batch entry, then takes
    ``(D/8) Dv`` integer adds per query (one table row per 8 features; docs/attention.md).
    Synaptic-operation counts (one add per spike and output, as on neuromorphic
    hardware): :func:`neuroattn.attention.ops.spiking_attention_ops`.

    Examples
    --------
    >>> q = np.array([[1, 0], [1, 1]]); k = np.array([[1, 1], [0, 1]])
    >>> v = np.array([[1, 0, 1], [0, 0, 1]])
    >>> spiking_self_attention(q, k, v, scale=1.0)
    array([[1., 0., 1.],
           [2., 0., 3.]], dtype=float32)
    """
    from neuroattn.attention._validate import check_attention, to_numpy, tracing

    where = "spiking_self_attention"
    call = check_attention(q, k, v, scale=scale, where=where, require_float=False)
    traced = call.kind == "torch" and tracing()
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not traced:  # a value check: data-dependent, skipped while tracing
            check_binary(x, name, where)
    if key_mask is not None:
        kkind = array_kind(key_mask, "key_mask", where)
        shape = tuple(key_mask.shape)
        if str(key_mask.dtype) not in ("bool", "torch.bool") or not shape or \
                shape[-1] != call.m:
            raise ValidationError(f"{where}.key_mask: must be a boolean [..., M] array "
                                  f"with M={call.m} (got dtype {key_mask.dtype}, shape "
                                  f"{shape}); True marks keys that take part")
        if call.kind == "numpy" and kkind == "torch":
            raise ValidationError(f"{where}.key_mask: must be numpy like q (got a "
                                  f"torch.Tensor)")
    if call.kind == "numpy":
        return _numpy_linear(q, k, v, call.scale, key_mask)
    import torch
    if traced or (torch.is_grad_enabled() and any(x.requires_grad for x in (q, k, v))):
        dtype = q.dtype if q.dtype.is_floating_point else torch.float32
        mask = None if key_mask is None else torch.as_tensor(key_mask, device=q.device)
        return _torch_linear(q.to(dtype), k.to(dtype), v.to(dtype), call.scale, mask)
    arrays = [to_numpy(x) for x in (q, k, v)]
    mask = None if key_mask is None else np.asarray(to_numpy(key_mask))
    out = _numpy_linear(*arrays, call.scale, mask)
    dtype = q.dtype if q.dtype.is_floating_point else torch.float32
    return torch.from_numpy(out).to(device=q.device, dtype=dtype)


# numba's disk cache, safe for processes compiling at once and against entries of other
# sources (``neuroattn._numba_cache``); the machine code holds ``_numba_math``'s
# intrinsics and ``neuroattn._bits``' constants, so an edit of either recompiles it
def _guard_cache() -> None:
    from neuroattn import _bits, _numba_cache
    from neuroattn.attention import _numba_math

    _numba_cache.guard_all(globals(), depends=(_numba_math, _bits))


_guard_cache()
