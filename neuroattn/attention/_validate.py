"""Validation of an attention call: shapes, dtypes, masks, finiteness, options.

Everything a backend needs is checked here once, so the kernels can trust their inputs.
The result is an :class:`AttentionCall`: the arrays as given (numpy or torch, not
copied), the broadcast batch shape, the mask in one canonical broadcastable form and
the scalar options resolved (``scale`` already divided by ``temperature``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["AttentionCall", "check_attention", "array_kind", "is_binary"]

_WHERE = "scaled_dot_product_attention"


@dataclass(frozen=True)
class AttentionCall:
    """A validated attention call.

    Attributes
    ----------
    q, k, v : numpy.ndarray or torch.Tensor
        As given: ``[..., N, D]``, ``[..., M, D]``, ``[..., M, Dv]``.
    kind : str
        ``'numpy'`` or ``'torch'``: the type of q, k, v (and of the result).
    batch_shape : tuple of int
        The broadcast of the leading dimensions of q, k and v.
    n, m, d, dv : int
        Query count, key count, key width, value width.
    mask : numpy.ndarray or torch.Tensor or None
        Boolean (True = keep), shape ``mask_batch + (1 or N, M)`` with ``len(mask_batch)
        == len(batch_shape)`` and each of its entries 1 or equal to the batch entry.
    causal : bool
        Query i sees key j only if ``j <= i`` (top-left aligned, as in torch).
    scale : float
        Logit multiplier: the given ``scale`` (default ``1/sqrt(D)``) / ``temperature``.
    window : int or None
        Query i sees key j only if ``|i - j| <= window`` (unless one of them is global).
    global_tokens : numpy.ndarray
        Sorted unique int64 positions that see and are seen by every position.
    """

    q: object
    k: object
    v: object
    kind: str
    batch_shape: tuple
    n: int
    m: int
    d: int
    dv: int
    mask: object
    causal: bool
    scale: float
    window: int | None
    global_tokens: np.ndarray

    @property
    def structural(self) -> bool:
        """True if causal, window or global tokens restrict the visible keys."""
        return self.causal or self.window is not None


def array_kind(x, name: str, where: str = _WHERE) -> str:
    """Return ``'numpy'`` or ``'torch'`` for ``x``; raise ValidationError otherwise."""
    if isinstance(x, np.ndarray):
        return "numpy"
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return "torch"
    raise ValidationError(f"{where}.{name}: must be a numpy.ndarray or torch.Tensor "
                          f"(got {type(x).__name__}); convert it with np.asarray(...)")


def _dtype_name(x) -> str:
    return str(x.dtype).replace("torch.", "")


def _is_float(x, kind: str) -> bool:
    if kind == "numpy":
        return np.issubdtype(x.dtype, np.floating)
    return x.dtype.is_floating_point


def _all_finite(x, kind: str) -> bool:
    # min and max propagate NaN and show any +-inf: two reductions, no temporary array.
    if kind == "numpy":
        return bool(np.isfinite(x.min()) and np.isfinite(x.max()))
    import torch
    with torch.no_grad():
        return bool(torch.isfinite(x.amin()) & torch.isfinite(x.amax()))


def is_binary(x, kind: str) -> bool:
    """True if every element of ``x`` is 0 or 1 (or ``x`` is boolean)."""
    if kind == "numpy":
        if x.dtype == np.bool_:
            return True
        return bool(((x == 0) | (x == 1)).all())
    import torch
    if x.dtype == torch.bool:
        return True
    return bool(((x == 0) | (x == 1)).all())


def _broadcast_batch(shapes: dict, where: str) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        got = ", ".join(f"{name}{s}" for name, s in shapes.items())
        raise ValidationError(
            f"{where}: the leading (batch) dimensions of q, k and v must broadcast "
            f"(got {got}); give them equal batch shapes or size-1 axes") from None


def _check_mask(mask, kind: str, batch_shape: tuple, n: int, m: int, ndim_q: int,
                where: str):
    """Return the mask as ``mask_batch + (1|N, M)`` boolean, or raise."""
    mkind = array_kind(mask, "mask", where)
    if kind == "numpy" and mkind == "torch":
        raise ValidationError(f"{where}.mask: q, k, v are numpy arrays but the mask is a "
                              f"torch.Tensor; pass a numpy boolean array")
    if kind == "torch" and mkind == "numpy":
        import torch
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    is_bool = (mask.dtype == np.bool_) if mkind == "numpy" and kind == "numpy" else (
        str(mask.dtype) == "torch.bool")
    if not is_bool:
        raise ValidationError(f"{where}.mask: must be boolean, True = attend (got dtype "
                              f"{_dtype_name(mask)}); pass mask.astype(bool) / mask.bool()")
    shape = given = tuple(mask.shape)
    full = batch_shape + (n, m)
    expected = (f"broadcastable to [..., N, M] = {full} or a key-padding mask "
                f"[..., M] = {batch_shape + (m,)}")
    if len(shape) == 0:
        raise ValidationError(f"{where}.mask: must be {expected} (got a scalar)")
    # A mask with one dimension fewer than q is a key-padding mask [..., M].
    if len(shape) == ndim_q - 1 and len(shape) >= 2:
        shape = shape[:-1] + (1, shape[-1])
        mask = mask.reshape(shape)
        expected += (" (a mask with one dimension fewer than q is read as a key-padding "
                     "mask [..., M]; for one [N, M] mask shared by the batch pass mask[None])")
    if len(shape) > len(full):
        raise ValidationError(f"{where}.mask: must be {expected} (got shape "
                              f"{given}: more dimensions than q)")
    padded = (1,) * (len(full) - len(shape)) + shape
    ok = all(s in (1, f) for s, f in zip(padded, full)) and padded[-1] == m
    if not ok:
        raise ValidationError(f"{where}.mask: must be {expected} (got shape {given}); "
                              f"True marks the keys each query may attend to")
    return mask.reshape(padded)


def _check_scalar(value, name: str, where: str, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValidationError(f"{where}.{name}: must be a finite real number (got "
                              f"{value!r})")
    if positive and not value > 0:
        raise ValidationError(f"{where}.{name}: must be > 0 (got {value!r}); pass a "
                              f"positive number, e.g. 1.0")
    return float(value)


def _check_globals(global_tokens, window, n: int, m: int, where: str) -> np.ndarray:
    if global_tokens is None:
        return np.zeros(0, np.int64)
    if window is None:
        raise ValidationError(f"{where}.global_tokens: only meaningful with a local window "
                              f"(got window=None); pass window=w or drop global_tokens")
    limit = max(n, m)
    if isinstance(global_tokens, Integral) and not isinstance(global_tokens, bool):
        if not 0 <= global_tokens <= limit:
            raise ValidationError(f"{where}.global_tokens: a count must be in [0, "
                                  f"{limit}] (got {global_tokens})")
        return np.arange(int(global_tokens), dtype=np.int64)
    idx = np.asarray(global_tokens)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValidationError(f"{where}.global_tokens: must be an int count or a 1-D "
                              f"sequence of int positions (got {global_tokens!r})")
    if idx.size and (idx.min() < 0 or idx.max() >= limit):
        raise ValidationError(f"{where}.global_tokens: positions must be in [0, {limit}) "
                              f"(got min {idx.min()}, max {idx.max()})")
    return np.unique(idx.astype(np.int64))


def check_attention(q, k, v, mask=None, causal=False, scale=None, temperature=1.0,
                    window=None, global_tokens=None, *, where: str = _WHERE,
                    require_float: bool = True) -> AttentionCall:
    """Validate an attention call; return an :class:`AttentionCall`.

    Parameters are those of :func:`scaled_dot_product_attention`. ``require_float``
    False admits integer and boolean q, k, v (the spike kernels check binariness).

    Raises
    ------
    ValidationError
        Naming the argument, what was expected, what was received and how to fix it.
    """
    kinds = {name: array_kind(x, name, where) for name, x in (("q", q), ("k", k), ("v", v))}
    if len(set(kinds.values())) != 1:
        raise ValidationError(f"{where}: q, k and v must all be numpy arrays or all torch "
                              f"tensors (got {kinds}); convert them to one type")
    kind = kinds["q"]
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.ndim < 2:
            raise ValidationError(f"{where}.{name}: must have at least 2 dimensions "
                                  f"[..., tokens, features] (got shape {tuple(x.shape)})")
        if 0 in tuple(x.shape):
            raise ValidationError(f"{where}.{name}: must not be empty (got shape "
                                  f"{tuple(x.shape)})")
        if require_float and not _is_float(x, kind):
            raise ValidationError(f"{where}.{name}: must be a floating-point array (got "
                                  f"dtype {_dtype_name(x)}); cast it, e.g. "
                                  f"{name}.astype(np.float32)")
    if require_float and not (q.dtype == k.dtype == v.dtype):
        raise ValidationError(f"{where}: q, k and v must share one dtype (got "
                              f"{_dtype_name(q)}, {_dtype_name(k)}, {_dtype_name(v)}); "
                              f"cast them to one, e.g. float32")
    if kind == "torch" and not (q.device == k.device == v.device):
        raise ValidationError(f"{where}: q, k and v must be on one device (got {q.device}, "
                              f"{k.device}, {v.device}); move them with .to(device)")
    n, d = q.shape[-2], q.shape[-1]
    m = k.shape[-2]
    if k.shape[-1] != d:
        raise ValidationError(f"{where}.k: last dimension must equal q's (D={d}) (got "
                              f"k.shape={tuple(k.shape)}); project q and k to one width")
    if v.shape[-2] != m:
        raise ValidationError(f"{where}.v: must have as many rows as k (M={m}) (got "
                              f"v.shape={tuple(v.shape)}); pass one value per key")
    batch = _broadcast_batch({"q": tuple(q.shape[:-2]), "k": tuple(k.shape[:-2]),
                              "v": tuple(v.shape[:-2])}, where)
    for name, x in (("q", q), ("k", k), ("v", v)):
        if require_float and not _all_finite(x, kind):
            raise ValidationError(f"{where}.{name}: contains NaN or Inf; attention needs "
                                  f"finite inputs (check the layer that produced {name})")
    if mask is not None:
        mask = _check_mask(mask, kind, batch, n, m, max(q.ndim, len(batch) + 2), where)
    if not isinstance(causal, (bool, np.bool_)):
        raise ValidationError(f"{where}.causal: must be True or False (got {causal!r})")
    scale = 1.0 / math.sqrt(d) if scale is None else _check_scalar(scale, "scale", where,
                                                                    False)
    temperature = _check_scalar(temperature, "temperature", where, True)
    if window is not None and (isinstance(window, bool) or not isinstance(window, Integral)
                               or window < 0):
        raise ValidationError(f"{where}.window: must be an int >= 0 (keys within window "
                              f"positions of the query) or None (got {window!r})")
    window = None if window is None else int(window)
    gtok = _check_globals(global_tokens, window, n, m, where)
    return AttentionCall(q=q, k=k, v=v, kind=kind, batch_shape=batch, n=n, m=m, d=d,
                         dv=v.shape[-1], mask=mask, causal=bool(causal),
                         scale=scale / temperature, window=window, global_tokens=gtok)
