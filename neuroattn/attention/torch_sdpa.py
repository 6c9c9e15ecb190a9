"""The torch backend: ``torch.nn.functional.scaled_dot_product_attention``, differentiable.

Inputs are viewed as 4-D ``[B, H, N, D]`` (SDPA takes a much slower path on 3-D input).
Causal attention without other masks uses SDPA's ``is_causal`` fast path; a boolean
mask, a window or global tokens become one boolean ``attn_mask`` (materialised
``[..., N, M]``, so local attention here costs O(N^2) memory — the Numba kernel is the
O(N w) one); a float mask (bias) is passed as SDPA's float ``attn_mask`` with the hidden
keys set to ``-inf``. Rows with no visible key are set to zero, as in every backend
(SDPA alone would return NaN there); their gradient is zero. ``dropout_p`` is SDPA's.

Everything here is torch operations without data-dependent Python control flow, so
it traces under ``torch.compile(fullgraph=True)`` and ``torch.export``.
:func:`torch_weights` materialises the softmax weights themselves (for layers that
return them).
"""

from __future__ import annotations

import math

import torch

from neuroattn.attention._validate import AttentionCall

__all__ = ["torch_attention", "torch_weights", "as_4d"]


def as_4d(x: torch.Tensor, batch_shape: tuple) -> torch.Tensor:
    """View ``batch_shape + (rows, cols)`` (after broadcasting) as ``[B, H, rows, cols]``."""
    x = x.expand(tuple(batch_shape) + tuple(x.shape[-2:]))
    rows, cols = x.shape[-2:]
    if len(batch_shape) == 0:
        return x.reshape(1, 1, rows, cols)
    if len(batch_shape) == 1:
        return x.reshape(1, batch_shape[0], rows, cols)
    return x.reshape(math.prod(batch_shape[:-1]), batch_shape[-1], rows, cols)


def _structure(call: AttentionCall, device) -> torch.Tensor:
    """Boolean [N, M]: the keys each query may see by causality, window, global tokens."""
    i = torch.arange(call.n, device=device)[:, None]
    j = torch.arange(call.m, device=device)[None, :]
    allowed = torch.ones(call.n, call.m, dtype=torch.bool, device=device)
    if call.window is not None:
        near = (i - j).abs() <= call.window
        if call.global_tokens:
            flags = torch.zeros(max(call.n, call.m), dtype=torch.bool, device=device)
            flags[torch.tensor(call.global_tokens, dtype=torch.int64, device=device)] = True
            near = near | flags[:call.n, None] | flags[None, :call.m]
        allowed = allowed & near
    if call.causal:
        allowed = allowed & (j <= i)
    return allowed


def _allowed(call: AttentionCall, device, structural: bool) -> torch.Tensor | None:
    """The boolean mask (True = keep) broadcastable to batch + (N, M), or None."""
    allowed = _structure(call, device) if structural else None
    if call.mask is not None:
        mask = call.mask.to(device)
        allowed = mask if allowed is None else (mask & allowed)
    return allowed


def _logit_bias(call: AttentionCall, q: torch.Tensor):
    """(bias, seen): the float mask with hidden keys at -inf ([B, H|1, N|1, M] or [N, M])
    and which query rows see at least one key; (None, None) if no mask at all."""
    structural = call.window is not None or (call.causal and (call.mask is not None or
                                                              call.bias is not None))
    allowed = _allowed(call, q.device, structural)
    bias = call.bias
    if bias is None and allowed is None:
        return None, None
    if bias is None:
        allowed = as_4d(allowed, call.batch_shape) if allowed.ndim > 2 else allowed
        return allowed, allowed.any(dim=-1, keepdim=True)
    bias = bias.to(device=q.device, dtype=q.dtype)
    if allowed is not None:
        bias = bias.masked_fill(~allowed, float("-inf"))
    bias = as_4d(bias, call.batch_shape) if bias.ndim > 2 else bias
    return bias, (bias > float("-inf")).any(dim=-1, keepdim=True)


def torch_attention(call: AttentionCall) -> torch.Tensor:
    """Run SDPA on a validated torch call; return ``batch_shape + (N, Dv)``.

    Parameters
    ----------
    call : AttentionCall
        Validated torch tensors (any device, any float dtype).

    Returns
    -------
    torch.Tensor
        Same dtype and device as ``call.q``; differentiable with respect to q, k, v (and
        a float mask).
    """
    batch = call.batch_shape
    q, k, v = (as_4d(x, batch) for x in (call.q, call.k, call.v))
    bias, seen = _logit_bias(call, q)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    if bias is None:
        out = sdpa(q, k, v, dropout_p=call.dropout_p, is_causal=call.causal,
                   scale=call.scale)
    else:
        if bias.dtype == torch.bool:
            safe = bias | ~seen
        else:
            safe = torch.where(seen, bias, torch.zeros((), dtype=bias.dtype,
                                                       device=bias.device))
        out = sdpa(q, k, v, attn_mask=safe, dropout_p=call.dropout_p, scale=call.scale)
        out = torch.where(seen, out, torch.zeros((), dtype=out.dtype, device=out.device))
    return out.reshape(tuple(batch) + (call.n, call.dv))


def torch_weights(call: AttentionCall) -> torch.Tensor:
    """The softmax weights ``batch_shape + (N, M)`` of a validated torch call.

    Materialised (``N x M`` per batch entry) in q's dtype, differentiable; a row with no
    visible key is zero. No dropout.
    """
    batch = call.batch_shape
    q, k = (as_4d(x, batch) for x in (call.q, call.k))
    logits = torch.matmul(q, k.transpose(-1, -2)) * call.scale
    structural = call.structural
    allowed = _allowed(call, q.device, structural)
    if call.bias is not None:
        bias = call.bias.to(device=q.device, dtype=q.dtype)
        logits = logits + (as_4d(bias, batch) if bias.ndim > 2 else bias)
    if allowed is not None:
        allowed = as_4d(allowed, batch) if allowed.ndim > 2 else allowed
        logits = logits.masked_fill(~allowed, float("-inf"))
    seen = (logits > float("-inf")).any(dim=-1, keepdim=True)
    zero = torch.zeros((), dtype=logits.dtype, device=logits.device)
    weights = torch.softmax(torch.where(seen, logits, zero), dim=-1)
    weights = torch.where(seen, weights, zero)
    return weights.reshape(tuple(batch) + (call.n, call.m))
