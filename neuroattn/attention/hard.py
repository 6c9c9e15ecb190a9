"""Hard attention: each query picks one key, drawn from its softmax weights.

This is what a winner-take-all of stochastic spiking neurons does on each spike
(Nessler et al. 2013): one winner per event, chosen with probability equal to the soft
attention weight. Hence ``E[hard output] = soft output``, and the mean of S samples
converges to soft attention with standard error ``sd / sqrt(S)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neuroattn.attention._validate import check_attention, to_numpy
from neuroattn.attention.reference import _materialised
from neuroattn.exceptions import ValidationError

__all__ = ["HardAttention", "hard_attention"]

#: Upper bound on the weights materialised at once (bytes); queries are processed in
#: chunks so memory stays O(chunk x M) (tuning only).
_CHUNK_BYTES = 64 * 2**20


class HardAttention(NamedTuple):
    """Result of :func:`hard_attention`.

    Attributes
    ----------
    values : array, shape [samples, ..., N, Dv]
        ``v`` of the chosen key (zeros for a query that sees no key).
    indices : array of int64, shape [samples, ..., N]
        The chosen key (-1 for a query that sees no key).
    """

    values: object
    indices: object


def hard_attention(q, k, v, mask=None, causal=False, scale=None, temperature=1.0,
                   window=None, global_tokens=None, *, samples=1, seed=0):
    """Sample one key per query from the softmax weights (seeded).

    Parameters
    ----------
    q, k, v, mask, causal, scale, temperature, window, global_tokens
        As in :func:`neuroattn.attention.scaled_dot_product_attention`.
    samples : int
        Independent draws per query (>= 1).
    seed : int or numpy.random.Generator
        All draws come from ``numpy.random.default_rng(seed)``: same seed, same draws.

    Returns
    -------
    HardAttention
        ``(values, indices)``, numpy arrays or torch tensors like the inputs.

    Notes
    -----
    Weights are computed as in the float64 reference, in chunks of queries; key
    ``j`` is drawn by inverse-CDF sampling: the first j with ``cumsum(w)_j > u sum(w)``,
    ``u ~ U[0, 1)``.

    Examples
    --------
    >>> q = np.zeros((1, 2)); k = np.zeros((4, 2)); v = np.arange(4.0)[:, None]
    >>> out = hard_attention(q, k, v, samples=4000, seed=1)
    >>> round(float(out.values.mean()), 1)      # uniform weights: E[v] = 1.5
    1.5
    """
    kind_in = "numpy" if isinstance(q, np.ndarray) else "torch"
    if kind_in == "torch":
        device, dtype = q.device, q.dtype
        q, k, v, mask = (to_numpy(x) for x in (q, k, v, mask))
    call = check_attention(q, k, v, mask, causal, scale, temperature, window, global_tokens,
                           where="hard_attention")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValidationError(f"hard_attention.samples: must be an int >= 1 (got "
                              f"{samples!r})")
    if not isinstance(seed, np.random.Generator) and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValidationError(f"hard_attention.seed: must be an int >= 0 or a "
                              f"numpy.random.Generator (got {seed!r})")
    rng = np.random.default_rng(seed)
    batch = call.batch_shape
    uniforms = rng.random((samples,) + batch + (call.n,))
    indices = np.empty(uniforms.shape, np.int64)
    chunk = max(1, _CHUNK_BYTES // (8 * call.m * max(1, int(np.prod(batch)))))
    qb = np.broadcast_to(q, batch + q.shape[-2:])
    maskb = None if call.mask is None else np.broadcast_to(
        call.mask, batch + call.mask.shape[-2:])
    for i0 in range(0, call.n, chunk):
        i1 = min(call.n, i0 + chunk)
        weights = _chunk_weights(call, qb, maskb, i0, i1)
        cdf = np.cumsum(weights, axis=-1)
        total = cdf[..., -1:]
        u = uniforms[..., i0:i1, None] * total
        idx = (cdf[None] <= u).sum(axis=-1)
        indices[..., i0:i1] = np.where(total[None, ..., 0] > 0, np.minimum(idx, call.m - 1),
                                       -1)
    vb = np.broadcast_to(v, batch + v.shape[-2:])
    values = np.take_along_axis(vb[None], np.maximum(indices, 0)[..., None], axis=-2)
    values = np.where(indices[..., None] >= 0, values, 0).astype(v.dtype)
    if kind_in == "numpy":
        return HardAttention(values, indices)
    import torch
    return HardAttention(torch.from_numpy(values).to(device=device, dtype=dtype),
                         torch.from_numpy(indices).to(device))


def _chunk_weights(call, qb, maskb, i0, i1):
    """Weights [..., i1 - i0, M] of queries i0..i1 (float64, reference semantics)."""
    import dataclasses

    from neuroattn.attention.reference import visible_keys
    sub = dataclasses.replace(call, q=qb[..., i0:i1, :], n=i1 - i0, causal=False,
                              window=None, mask=None)
    allowed = None
    if call.structural:
        allowed = visible_keys(call.n, call.m, call.causal, call.window,
                               call.global_tokens)[i0:i1]
    if maskb is not None:
        rows = maskb if maskb.shape[-2] == 1 else maskb[..., i0:i1, :]
        allowed = rows if allowed is None else (allowed & rows)
    sub = dataclasses.replace(sub, mask=allowed)
    return _materialised(sub, np.float64)[1]
