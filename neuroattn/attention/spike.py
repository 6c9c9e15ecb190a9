"""Attention on binary spike tensors: bit-packed words and popcounts, no multiplies.

Spikes are packed 64 to a uint64 word (bit ``i % 64`` of word ``i // 64``). For binary
vectors the dot product is a popcount: ``q . k = popcount(q AND k)``.

Two forms:

(a) :func:`spiking_self_attention` — Spikformer's spiking self-attention (Zhou et al.
    2023) without softmax, ``(Q K^T V) * scale``, computed as ``Q (K^T V)`` so the cost
    is linear in N: ``K^T V`` ([D, Dv] counts) is a popcount of K's and V's columns
    packed along the tokens; each query then adds the rows of ``K^T V`` picked by its
    spikes — accumulates only, as on neuromorphic hardware.
(b) ``scaled_dot_product_attention(..., backend="spike")`` — popcount logits followed
    by the softmax, in the fused kernel's packed mode (``fused``).

Both are exact on binary inputs: (a) returns ``scale`` times exact integer counts, the
float reference's numbers; (b) differs from the float reference only by float32
rounding of the softmax. Non-binary inputs raise ValidationError.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuroattn.attention._numba_math import ctz, popcount
from neuroattn.attention._validate import array_kind, is_binary
from neuroattn.exceptions import ValidationError

__all__ = ["pack_spikes", "popcount_scores", "spiking_self_attention",
           "spiking_self_attention_packed", "check_binary"]

#: Queries per parallel task in (a) (tuning only).
ROWS_PER_TASK = 256


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


@njit(parallel=True, cache=True)
def _kv_counts(kp, vp, kv):
    """kv[b, d, e] = #tokens j with k[b, j, d] = v[b, j, e] = 1, from packed k and v.

    kp [B, M, Wk], vp [B, M, Wv]: uint64, packed along the features (``pack_spikes``).
    For each block of 64 tokens, K's and V's columns are re-packed along the tokens
    (bit ``jj`` of ``kt[d]`` is token ``j0 + jj``'s feature d; a branch-free loop over
    d that compiles to SIMD shifts), then ``kv[d, e] += popcount(kt[d] AND vt[e])``:
    ``D Dv / 64`` popcounts per token instead of ``D Dv`` multiply-adds.
    """
    nb, m, wk = kp.shape
    wv = vp.shape[2]
    d_k = kv.shape[1]
    d_v = kv.shape[2]
    one = np.uint64(1)
    for b in prange(nb):
        kt = np.empty(64 * wk, np.uint64)
        vt = np.empty(64 * wv, np.uint64)
        acc = np.zeros((d_k, d_v), kv.dtype)
        for j0 in range(0, m, 64):
            kt[:] = 0
            vt[:] = 0
            for jj in range(min(64, m - j0)):
                bit = np.uint64(jj)
                for w in range(wk):
                    word = kp[b, j0 + jj, w]
                    if word != 0:
                        for d in range(64):
                            kt[64 * w + d] |= ((word >> np.uint64(d)) & one) << bit
                for w in range(wv):
                    word = vp[b, j0 + jj, w]
                    if word != 0:
                        for e in range(64):
                            vt[64 * w + e] |= ((word >> np.uint64(e)) & one) << bit
            for d in range(d_k):
                kd = kt[d]
                if kd != 0:
                    row = acc[d]
                    for e in range(d_v):
                        row[e] += popcount(kd & vt[e])
        kv[b] = acc
    return kv


@njit(parallel=True, cache=True)
def _accumulate_rows(qp, kv, scale, rows_per_task):
    """out[b, i] = scale * sum of kv[b, d] over the spikes d of query i (adds only).

    qp [B, N, W] uint64 packed along the features: the set bits of each word are
    walked (count trailing zeros, clear the lowest bit) and the picked integer row of
    ``K^T V`` is added to the query's integer accumulator, a loop that compiles to SIMD
    adds. Tasks (batch x block of ``rows_per_task`` queries) run in parallel.
    """
    nb, n, wq = qp.shape
    d_v = kv.shape[2]
    ntask = (n + rows_per_task - 1) // rows_per_task
    out = np.empty((nb, n, d_v), np.float32)
    for t in prange(nb * ntask):
        b = t // ntask
        i0 = (t % ntask) * rows_per_task
        kvb = kv[b]
        acc = np.empty(d_v, kv.dtype)
        for i in range(i0, min(n, i0 + rows_per_task)):
            acc[:] = 0
            for w in range(wq):
                word = qp[b, i, w]
                while word != 0:
                    kvrow = kvb[64 * w + ctz(word)]
                    word &= word - np.uint64(1)
                    for e in range(d_v):
                        acc[e] += kvrow[e]
            dst = out[b, i]
            for e in range(d_v):
                dst[e] = acc[e] * scale
    return out


def _flat_packed(x, batch_shape):
    """[B, rows, words] C-contiguous uint64, broadcasting the batch (no copy if possible)."""
    x = np.broadcast_to(x, tuple(batch_shape) + x.shape[-2:])
    return np.ascontiguousarray(x.reshape((-1,) + x.shape[-2:]))


def _packed_linear(qp, kp, vp, d, dv, scale, key_mask):
    """The bit-packed kernel on validated packed numpy arrays; float32 [..., N, dv]."""
    batch = np.broadcast_shapes(qp.shape[:-2], kp.shape[:-2], vp.shape[:-2])
    if key_mask is not None:
        batch = np.broadcast_shapes(batch, key_mask.shape[:-1])
        kp = np.where(key_mask[..., None], kp, np.uint64(0))
    m = kp.shape[-2]
    # Counts: kv <= M, a query's sum <= D M. int32 unless that could overflow.
    kv_dtype = np.int32 if d * m < 2**31 else np.int64
    kp, vp = _flat_packed(kp, batch), _flat_packed(vp, batch)
    kv = _kv_counts(kp, vp, np.empty((kp.shape[0], d, dv), kv_dtype))
    out = _accumulate_rows(_flat_packed(qp, batch), kv, float(scale), ROWS_PER_TASK)
    return out.reshape(tuple(batch) + out.shape[-2:])


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
        batch = np.broadcast_shapes(qp.shape[:-2], kp.shape[:-2], vp.shape[:-2])
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
        training), else the bit-packed kernel's result as a tensor on q's device.

    Raises
    ------
    ValidationError
        Non-binary inputs, mismatched shapes, a bad mask or scale.

    Notes
    -----
    Cost: ``K^T V`` takes ``D Dv ceil(M/64)`` AND+popcount word operations; the
    product with Q takes ``nnz(q_i) Dv`` integer adds per query. Synaptic-operation
    counts: :func:`neuroattn.attention.ops.spiking_attention_ops`.

    Examples
    --------
    >>> q = np.array([[1, 0], [1, 1]]); k = np.array([[1, 1], [0, 1]])
    >>> v = np.array([[1, 0, 1], [0, 0, 1]])
    >>> spiking_self_attention(q, k, v, scale=1.0)
    array([[1., 0., 1.],
           [2., 0., 3.]], dtype=float32)
    """
    from neuroattn.attention._validate import check_attention

    where = "spiking_self_attention"
    call = check_attention(q, k, v, scale=scale, where=where, require_float=False)
    for name, x in (("q", q), ("k", k), ("v", v)):
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
    if torch.is_grad_enabled() and any(x.requires_grad for x in (q, k, v)):
        dtype = q.dtype if q.dtype.is_floating_point else torch.float32
        mask = None if key_mask is None else torch.as_tensor(key_mask, device=q.device)
        return _torch_linear(q.to(dtype), k.to(dtype), v.to(dtype), call.scale, mask)
    arrays = [x.detach().cpu().numpy() for x in (q, k, v)]
    mask = None if key_mask is None else np.asarray(
        key_mask.detach().cpu().numpy() if hasattr(key_mask, "detach") else key_mask)
    out = _numpy_linear(*arrays, call.scale, mask)
    dtype = q.dtype if q.dtype.is_floating_point else torch.float32
    return torch.from_numpy(out).to(device=q.device, dtype=dtype)
