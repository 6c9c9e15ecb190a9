"""The torch backend: ``torch.nn.functional.scaled_dot_product_attention``, differentiable.

Inputs are viewed as 4-D ``[B, H, N, D]`` (SDPA takes a much slower path on 3-D input).
Causal attention without other masks uses SDPA's ``is_causal`` fast path; a boolean
mask, a window or global tokens become one boolean ``attn_mask`` (materialised
``[..., N, M]``, so local attention here costs O(N^2) memory — the Numba kernel is the
O(N w) one). Rows with no visible key are set to zero, as in every backend (SDPA alone
would return NaN there); their gradient is zero.
"""

from __future__ import annotations

import math

import torch

from neuroattn.attention._validate import AttentionCall
from neuroattn.attention.reference import visible_keys

__all__ = ["torch_attention", "as_4d"]


def as_4d(x: torch.Tensor, batch_shape: tuple) -> torch.Tensor:
    """View ``batch_shape + (rows, cols)`` (after broadcasting) as ``[B, H, rows, cols]``."""
    x = x.expand(tuple(batch_shape) + tuple(x.shape[-2:]))
    rows, cols = x.shape[-2:]
    if len(batch_shape) == 0:
        return x.reshape(1, 1, rows, cols)
    if len(batch_shape) == 1:
        return x.reshape(1, batch_shape[0], rows, cols)
    return x.reshape(math.prod(batch_shape[:-1]), batch_shape[-1], rows, cols)


def _allowed(call: AttentionCall, device) -> torch.Tensor | None:
    """The boolean attn_mask (True = keep) broadcastable to batch + (N, M), or None."""
    allowed = None
    if call.window is not None or (call.causal and call.mask is not None):
        allowed = torch.from_numpy(visible_keys(call.n, call.m, call.causal, call.window,
                                                call.global_tokens)).to(device)
    if call.mask is not None:
        mask = call.mask.to(device)
        allowed = mask if allowed is None else (mask & allowed)
    return allowed


def torch_attention(call: AttentionCall) -> torch.Tensor:
    """Run SDPA on a validated torch call; return ``batch_shape + (N, Dv)``.

    Parameters
    ----------
    call : AttentionCall
        Validated torch tensors (any device, any float dtype).

    Returns
    -------
    torch.Tensor
        Same dtype and device as ``call.q``; differentiable with respect to q, k, v.
    """
    batch = call.batch_shape
    q, k, v = (as_4d(x, batch) for x in (call.q, call.k, call.v))
    allowed = _allowed(call, q.device)
    if allowed is None:
        out = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, is_causal=call.causal, scale=call.scale)
    else:
        if allowed.ndim > 2:
            allowed = as_4d(allowed, batch)
        seen = allowed.any(dim=-1, keepdim=True)
        safe = allowed | ~seen
        out = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=safe, scale=call.scale)
        out = torch.where(seen, out, torch.zeros((), dtype=out.dtype, device=out.device))
    return out.reshape(tuple(batch) + (call.n, call.dv))
