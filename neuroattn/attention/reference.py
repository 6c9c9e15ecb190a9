"""The materialised reference: softmax attention computed in float64 (the specification).

Every other backend is tested against :func:`reference_attention`. It builds the whole
``[..., N, M]`` logit matrix, so it is for checking, small inputs and teaching; the
fast kernels compute the same numbers without it.
"""

from __future__ import annotations

import numpy as np

from neuroattn.attention._validate import AttentionCall, check_attention, to_numpy
from neuroattn.exceptions import ValidationError

__all__ = ["reference_attention", "visible_keys"]


def visible_keys(n: int, m: int, causal: bool = False, window: int | None = None,
                 global_tokens=()) -> np.ndarray:
    """The structural part of the mask: which keys each query may see.

    Parameters
    ----------
    n, m : int
        Number of queries and keys.
    causal : bool
        Query i sees key j only if ``j <= i`` (top-left aligned, as in torch).
    window : int or None
        Query i sees key j only if ``|i - j| <= window``, unless i or j is a global
        token (Longformer's pattern).
    global_tokens : sequence of int
        Positions that see every key and are seen by every query (within ``causal``).

    Returns
    -------
    numpy.ndarray of bool, shape (n, m)
        True where query i may attend to key j.

    Examples
    --------
    >>> visible_keys(4, 4, window=1).astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 1, 0],
           [0, 1, 1, 1],
           [0, 0, 1, 1]])
    """
    from neuroattn.attention._validate import check_global_tokens, check_window

    where = "visible_keys"
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or value < 1:
            raise ValidationError(f"{where}.{name}: must be an int >= 1 (got {value!r})")
    if not isinstance(causal, (bool, np.bool_)):
        raise ValidationError(f"{where}.causal: must be True or False (got {causal!r})")
    window = check_window(window, where)
    if global_tokens is not None and not (hasattr(global_tokens, "__len__")
                                          and len(global_tokens) == 0):
        global_tokens = check_global_tokens(global_tokens, window, max(n, m), where)
    i = np.arange(n)[:, None]
    j = np.arange(m)[None, :]
    allowed = np.ones((n, m), dtype=bool)
    if window is not None:
        g = np.asarray(global_tokens, dtype=np.int64)
        gq = np.isin(np.arange(n), g)[:, None]
        gk = np.isin(np.arange(m), g)[None, :]
        allowed &= (np.abs(i - j) <= window) | gq | gk
    if causal:
        allowed &= j <= i
    return allowed


def _materialised(call: AttentionCall, dtype) -> tuple:
    """Return (output, weights) of a validated numpy call, computed in ``dtype``."""
    q, k, v = (np.asarray(x, dtype=dtype) for x in (call.q, call.k, call.v))
    logits = np.matmul(q, np.swapaxes(k, -1, -2)) * dtype(call.scale)
    allowed = None
    if call.structural:
        allowed = visible_keys(call.n, call.m, call.causal, call.window, call.global_tokens)
    if call.mask is not None:
        allowed = call.mask if allowed is None else (allowed & call.mask)
    if call.bias is not None:
        logits = logits + np.asarray(call.bias, dtype=dtype)
    if allowed is not None:
        logits = np.where(allowed, logits, -np.inf)
    top = np.max(logits, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0).astype(dtype)
    e = np.exp(logits - top)
    den = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(den > 0, den, 1.0).astype(dtype)
    return np.matmul(weights, v), weights


def reference_attention(q, k, v, mask=None, causal=False, scale=None, temperature=1.0,
                        window=None, global_tokens=None, *, attn_mask=None, dtype=np.float64,
                        return_weights=False):
    """Softmax attention, materialised: the specification every backend must meet.

    Parameters
    ----------
    q, k, v, mask, causal, scale, temperature, window, global_tokens, attn_mask
        As in :func:`neuroattn.attention.scaled_dot_product_attention` (``attn_mask``
        torch's: boolean True = take part, or float added to the scaled logits).
    dtype : numpy float dtype
        Precision of the computation (default float64; float32 gives the low-precision
        reference of the tests' error rule).
    return_weights : bool
        Also return the attention weights ``[..., N, M]``.

    Returns
    -------
    out : numpy.ndarray, shape [..., N, Dv], dtype ``dtype``
    weights : numpy.ndarray, shape [..., N, M] (only if ``return_weights``)
        Rows sum to 1; a row whose keys are all masked is all zero and so is its output.

    Notes
    -----
    ``weights = softmax(scale / temperature * q k^T + bias + log(allowed))`` row by row
    (``bias`` a float attn_mask, else 0), with
    ``scale = 1/sqrt(D)`` by default and the row maximum subtracted before ``exp``.

    Examples
    --------
    >>> q = np.zeros((2, 3)); k = np.ones((4, 3)); v = np.arange(8.0).reshape(4, 2)
    >>> reference_attention(q, k, v)          # equal logits: the mean of the values
    array([[3., 4.],
           [3., 4.]])
    """
    if not isinstance(q, np.ndarray):
        q, k, v, mask, attn_mask = (to_numpy(x) for x in (q, k, v, mask, attn_mask))
    call = check_attention(q, k, v, mask, causal, scale, temperature, window, global_tokens,
                           attn_mask=attn_mask, where="reference_attention")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or not np.issubdtype(dtype, np.floating):
        raise ValidationError(f"reference_attention.dtype: must be a numpy floating dtype, "
                              f"e.g. np.float64 (got {dtype!r})")
    out, weights = _materialised(call, dtype.type)
    return (out, weights) if return_weights else out
