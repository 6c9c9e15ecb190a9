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

__all__ = ["pack_spikes", "popcount_scores", "spiking_self_attention", "check_binary"]

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
    bits = np.asarray(x) != 0
    packed = np.packbits(bits, axis=-1, bitorder="little")
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


#: Multiplying a uint64 that holds 8 bytes of 0/1 by this gathers them into its top
#: byte: bit t of ``(x * _GATHER) >> 56`` is byte t of x (no carries can interfere).
_GATHER = np.uint64(0x0102040810204080)


@njit(parallel=True, cache=True)
def _kv_counts(k, v):
    """kv[b, d, e] = #tokens j with k[b, j, d] = v[b, j, e] = 1 (uint8 0/1 inputs).

    Packs 64 tokens of each column of K and V into one word, then popcounts
    ``K^T[d] AND V^T[e]`` word by word.
    """
    nb, m, d_k = k.shape
    d_v = v.shape[2]
    kv = np.empty((nb, d_k, d_v), np.int32)
    for b in prange(nb):
        kw = np.empty(d_k, np.uint64)
        vw = np.empty(d_v, np.uint64)
        acc = np.zeros((d_k, d_v), np.uint64)
        for j0 in range(0, m, 64):
            kw[:] = 0
            vw[:] = 0
            for jj in range(min(64, m - j0)):
                bit = np.uint64(jj)
                krow = k[b, j0 + jj]
                vrow = v[b, j0 + jj]
                for d in range(d_k):
                    kw[d] |= np.uint64(krow[d]) << bit
                for e in range(d_v):
                    vw[e] |= np.uint64(vrow[e]) << bit
            for d in range(d_k):
                kd = kw[d]
                if kd != 0:
                    row = acc[d]
                    for e in range(d_v):
                        row[e] += popcount(kd & vw[e])
        for d in range(d_k):
            for e in range(d_v):
                kv[b, d, e] = acc[d, e]
    return kv


@njit(parallel=True, cache=True)
def _accumulate_rows(q8, kv, scale, rows_per_task):
    """out[b, i] = scale * sum of kv[b, d] over the spikes d of query i (adds only).

    q8 [B, N, D8]: each query's 0/1 bytes read 8 at a time as uint64 (D padded to a
    multiple of 8); 64 of them are gathered into one word whose set bits are walked.
    """
    nb, n, d8 = q8.shape
    d_v = kv.shape[2]
    ntask = (n + rows_per_task - 1) // rows_per_task
    out = np.empty((nb, n, d_v), np.float32)
    for t in prange(nb * ntask):
        b = t // ntask
        i0 = (t % ntask) * rows_per_task
        kvb = kv[b]
        acc = np.empty(d_v, np.int32)
        for i in range(i0, min(n, i0 + rows_per_task)):
            row = q8[b, i]
            acc[:] = 0
            for g0 in range(0, d8, 8):
                word = np.uint64(0)
                for g in range(g0, min(d8, g0 + 8)):
                    word |= ((row[g] * _GATHER) >> np.uint64(56)) << np.uint64(8 * (g - g0))
                while word != 0:
                    kvrow = kvb[8 * g0 + ctz(word)]
                    word &= word - np.uint64(1)
                    for e in range(d_v):
                        acc[e] += kvrow[e]
            dst = out[b, i]
            for e in range(d_v):
                dst[e] = acc[e] * scale
    return out


def _flat_u8(x, batch_shape, pad_to=1):
    """[B, rows, cols] C-contiguous uint8 0/1 (cols zero-padded to a multiple of pad_to)."""
    x = np.broadcast_to(x, tuple(batch_shape) + x.shape[-2:])
    x = x.reshape((-1,) + x.shape[-2:])
    x = x.view(np.uint8) if x.dtype == np.bool_ else (x != 0).view(np.uint8)
    pad = (-x.shape[-1]) % pad_to
    if pad:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.ascontiguousarray(x)


def _numpy_linear(q, k, v, scale, key_mask):
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if key_mask is not None:
        kmask = np.broadcast_to(key_mask, tuple(batch) + key_mask.shape[-1:])[..., None]
        k = np.broadcast_to(k != 0, tuple(batch) + k.shape[-2:]) & kmask
    kv = _kv_counts(_flat_u8(k, batch), _flat_u8(v, batch))
    q8 = _flat_u8(q, batch, pad_to=8).view(np.uint64)
    out = _accumulate_rows(q8, kv, np.float32(scale), ROWS_PER_TASK)
    return out.reshape(tuple(batch) + out.shape[-2:])


def _torch_linear(q, k, v, scale, key_mask):
    """The same math with float matmuls (differentiable; used for surrogate training)."""
    if key_mask is not None:
        k = k * key_mask[..., :, None].to(k.dtype)
    return (q @ (k.transpose(-1, -2) @ v)) * scale


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
