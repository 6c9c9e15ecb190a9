"""Our fused attention forward kernel in Triton, for CUDA GPUs.

The algorithm is the Numba kernel's (see ``fused``): one program per (batch entry,
block of ``BLOCK_M`` queries) walks the keys in blocks of ``BLOCK_N`` with an online
softmax in float32 (``exp2`` with ``log2 e`` folded into the scale), so the ``N x M``
matrix is never stored. Causal and local-window programs skip the key blocks they
cannot see (unless global tokens are present, which make every block potentially
visible). fp16/bf16 inputs use tensor-core dots with float32 accumulation; float32
inputs use IEEE-precision dots (no TF32), so the result meets the float32 error rule.

Forward only: there is no backward kernel, so the dispatcher picks this backend only
when no gradient is needed (``torch`` otherwise).

Testing without a GPU: set ``TRITON_INTERPRET=1`` before triton is imported; the
kernel then runs on CPU tensors in Triton's interpreter. The kernel is decorated on
first use, under the interpreter setting in force then.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

__all__ = ["triton_attention", "interpreting", "BLOCK_M", "BLOCK_N"]

#: Tuning constants (not part of the math): queries per program, keys per block.
BLOCK_M = 128
BLOCK_N = 64
_NUM_STAGES = 3


def _attn_fwd(Q, K, V, O, Mask, MaskIndex, GQ, GK,
              s_qb, s_qn, s_qd, s_kb, s_kn, s_kd, s_vb, s_vn, s_vd, s_ob, s_on, s_od,
              s_mb, s_mn, s_mm, N, M, D, DV, n_mblocks, qk_scale, window,
              HAS_MASK: tl.constexpr, CAUSAL: tl.constexpr, HAS_WINDOW: tl.constexpr,
              HAS_GLOBAL: tl.constexpr, BAND_ONLY: tl.constexpr, IEEE: tl.constexpr,
              BLOCK_M: tl.constexpr,
              BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr):
    pid = tl.program_id(0)
    b = pid // n_mblocks
    start_m = (pid % n_mblocks) * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    row_ok = offs_m < N
    q = tl.load(Q + b * s_qb + offs_m[:, None] * s_qn + offs_d[None, :] * s_qd,
                mask=row_ok[:, None] & (offs_d[None, :] < D), other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_DV], tl.float32)
    lo = 0
    hi = M
    if CAUSAL:
        hi = tl.minimum(hi, start_m + BLOCK_M)
    if BAND_ONLY:  # a window and no global tokens: only the band's key blocks
        lo = tl.maximum(0, start_m - window)
        hi = tl.minimum(hi, start_m + BLOCK_M + window)
    mb = 0
    if HAS_MASK:
        mb = tl.load(MaskIndex + b)
    if HAS_GLOBAL:
        gq = tl.load(GQ + offs_m, mask=row_ok, other=0)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        col_ok = offs_n < hi
        kt = tl.load(K + b * s_kb + offs_n[None, :] * s_kn + offs_d[:, None] * s_kd,
                     mask=col_ok[None, :] & (offs_d[:, None] < D), other=0.0)
        if IEEE:
            s = tl.dot(q, kt, input_precision="ieee")
        else:
            s = tl.dot(q, kt)
        s = s * qk_scale
        valid = col_ok[None, :] & row_ok[:, None]
        if CAUSAL:
            valid = valid & (offs_n[None, :] <= offs_m[:, None])
        if HAS_WINDOW:
            band = tl.abs(offs_m[:, None] - offs_n[None, :]) <= window
            if HAS_GLOBAL:
                gk = tl.load(GK + offs_n, mask=col_ok, other=0)
                band = band | (gq[:, None] != 0) | (gk[None, :] != 0)
            valid = valid & band
        if HAS_MASK:
            keep = tl.load(Mask + mb * s_mb + offs_m[:, None] * s_mn + offs_n[None, :] * s_mm,
                           mask=row_ok[:, None] & col_ok[None, :], other=0)
            valid = valid & (keep != 0)
        s = tl.where(valid, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.math.exp2(s - m_use[:, None])
        alpha = tl.math.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(V + b * s_vb + offs_n[:, None] * s_vn + offs_dv[None, :] * s_vd,
                    mask=col_ok[:, None] & (offs_dv[None, :] < DV), other=0.0)
        if IEEE:
            acc = acc * alpha[:, None] + tl.dot(p, v.to(tl.float32), input_precision="ieee")
        else:
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    out = acc / tl.where(l_i == 0.0, 1.0, l_i)[:, None]
    tl.store(O + b * s_ob + offs_m[:, None] * s_on + offs_dv[None, :] * s_od,
             out.to(O.dtype.element_ty), mask=row_ok[:, None] & (offs_dv[None, :] < DV))


_KERNELS = {}


def interpreting() -> bool:
    """True if Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return bool(triton.knobs.runtime.interpret)


def _kernel():
    key = interpreting()
    if key not in _KERNELS:
        _KERNELS[key] = triton.jit(_attn_fwd)
    return _KERNELS[key]


def _flat3(x: torch.Tensor, batch_shape: tuple) -> torch.Tensor:
    x = x.expand(tuple(batch_shape) + tuple(x.shape[-2:]))
    return x.reshape((-1,) + tuple(x.shape[-2:]))


def triton_attention(call, block_m: int = BLOCK_M, block_n: int = BLOCK_N) -> torch.Tensor:
    """Run the Triton kernel on a validated torch call (CUDA, or CPU when interpreting).

    Returns
    -------
    torch.Tensor
        ``batch_shape + (N, Dv)``, dtype and device of q. Not differentiable.
    """
    batch = call.batch_shape
    q, k, v = (_flat3(x, batch) for x in (call.q, call.k, call.v))
    nb = q.shape[0]
    dev = q.device
    out = torch.empty((nb, call.n, call.dv), dtype=q.dtype, device=dev)
    if call.mask is not None:
        mask = call.mask.to(dev)
        mbatch = tuple(mask.shape[:-2])
        index = torch.arange(math.prod(mbatch), dtype=torch.int32).reshape(mbatch)
        index = index.expand(batch).reshape(-1).contiguous().to(dev)
        mask = mask.reshape((-1,) + tuple(mask.shape[-2:])).contiguous().view(torch.uint8)
        s_mn = mask.stride(1) if mask.shape[1] > 1 else 0
        strides = (mask.stride(0), s_mn, mask.stride(2))
    else:
        mask = index = torch.zeros(1, dtype=torch.uint8, device=dev)
        strides = (0, 0, 0)
    flags = torch.zeros(max(call.n, call.m), dtype=torch.uint8)
    flags[torch.tensor(call.global_tokens, dtype=torch.int64)] = 1
    flags = flags.to(dev)
    n_mblocks = triton.cdiv(call.n, block_m)
    block_d = max(16, triton.next_power_of_2(call.d))
    block_dv = max(16, triton.next_power_of_2(call.dv))
    _kernel()[(n_mblocks * nb,)](
        q, k, v, out, mask, index, flags, flags,
        *q.stride(), *k.stride(), *v.stride(), *out.stride(), *strides,
        call.n, call.m, call.d, call.dv, n_mblocks, call.scale / math.log(2.0),
        -1 if call.window is None else call.window,
        HAS_MASK=call.mask is not None, CAUSAL=call.causal,
        HAS_WINDOW=call.window is not None, HAS_GLOBAL=len(call.global_tokens) > 0,
        BAND_ONLY=call.window is not None and not call.global_tokens,
        IEEE=q.dtype == torch.float32, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=block_d,
        BLOCK_DV=block_dv, num_warps=4 if max(block_d, block_dv) <= 64 else 8,
        num_stages=_NUM_STAGES)
    return out.reshape(tuple(batch) + (call.n, call.dv))
