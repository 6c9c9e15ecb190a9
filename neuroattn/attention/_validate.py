"""Validation of an attention call: shapes, dtypes, masks, finiteness, options.

Everything a backend needs is checked here once, so the kernels can trust their inputs.
The result is an :class:`AttentionCall`: the arrays as given (numpy or torch, not
copied), the broadcast batch shape, the masks in one canonical broadcastable form and
the scalar options resolved (``scale`` already divided by ``temperature``).

While ``torch.compile`` or ``torch.export`` traces a call (:func:`tracing`), the checks
that read tensor *values* (NaN/Inf in q, k, v or a float mask) are skipped: they would
be data-dependent Python control flow, which cannot be traced. Shape, dtype and option
checks read only static properties and always run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["AttentionCall", "check_attention", "merge_causal", "expand_groups",
           "array_kind", "is_binary", "tracing", "to_numpy"]

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
    global_tokens : tuple of int
        Sorted unique positions that see and are seen by every position.
    bias : numpy.ndarray or torch.Tensor or None
        Float, added to the scaled logits (``-inf`` hides a key); same layout as
        ``mask``; same type as q (its dtype may differ: backends cast it).
    dropout_p : float
        Probability of zeroing each attention weight (torch backend only).
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
    global_tokens: tuple
    bias: object = None
    dropout_p: float = 0.0

    @property
    def structural(self) -> bool:
        """True if causal, window or global tokens restrict the visible keys."""
        return self.causal or self.window is not None


def tracing() -> bool:
    """True while ``torch.compile`` or ``torch.export`` traces the running code (imports
    torch: call it for torch inputs only)."""
    import torch
    return bool(torch.compiler.is_compiling())


def array_kind(x, name: str, where: str = _WHERE) -> str:
    """Return ``'numpy'`` or ``'torch'`` for ``x``; raise ValidationError otherwise."""
    if isinstance(x, np.ndarray):
        return "numpy"
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return "torch"
    raise ValidationError(f"{where}.{name}: must be a numpy.ndarray or torch.Tensor "
                          f"(got {type(x).__name__}); convert it with np.asarray(...)")


def to_numpy(x):
    """A torch tensor as a numpy array on the host (numpy arrays pass through).

    numpy has no bfloat16, and the numpy backends compute half precision in float32
    anyway: float16 and bfloat16 tensors come back as float32 arrays.
    """
    if x is None or isinstance(x, np.ndarray):
        return x
    x = x.detach().cpu()
    if x.dtype.is_floating_point and x.dtype.itemsize < 4:
        x = x.float()
    return x.numpy()


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


def _no_nan_or_posinf(x, kind: str) -> bool:
    # -inf is allowed (it hides a key); max(x, 0) keeps NaN and +inf and drops -inf.
    if kind == "numpy":
        return bool(np.isfinite(np.maximum(x, 0).max()))
    import torch
    with torch.no_grad():
        return bool(torch.isfinite(x.clamp(min=0).amax()))


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


def _broadcast_batch(shapes: dict, kind: str, where: str) -> tuple:
    try:
        if kind == "torch":
            import torch
            return tuple(torch.broadcast_shapes(*shapes.values()))
        return tuple(np.broadcast_shapes(*shapes.values()))
    except (ValueError, RuntimeError):
        got = ", ".join(f"{name}{s}" for name, s in shapes.items())
        raise ValidationError(
            f"{where}: the leading (batch) dimensions of q, k and v must broadcast "
            f"(got {got}); give them equal batch shapes or size-1 axes") from None


def _as_kind(mask, kind: str, name: str, where: str):
    """``mask`` converted to the array type of q (numpy -> torch allowed, not back)."""
    mkind = array_kind(mask, name, where)
    if kind == "numpy" and mkind == "torch":
        raise ValidationError(f"{where}.{name}: q, k, v are numpy arrays but {name} is a "
                              f"torch.Tensor; pass a numpy array")
    if kind == "torch" and mkind == "numpy":
        import torch
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    return mask


def _is_bool(mask) -> bool:
    return str(mask.dtype) in ("bool", "torch.bool")


def _check_mask_shape(mask, batch_shape: tuple, n: int, m: int, ndim_q: int, name: str,
                      where: str, key_padding: bool):
    """Return ``mask`` reshaped to ``mask_batch + (1|N, M)`` with ``len(mask_batch) ==
    len(batch_shape)``, or raise. ``key_padding``: a mask with one dimension fewer than
    q is a key-padding mask ``[..., M]`` (neuroattn's ``mask``; not torch's attn_mask)."""
    shape = given = tuple(mask.shape)
    full = batch_shape + (n, m)
    expected = f"broadcastable to [..., N, M] = {full}"
    if key_padding:
        expected += f" or a key-padding mask [..., M] = {batch_shape + (m,)}"
    if len(shape) == 0:
        raise ValidationError(f"{where}.{name}: must be {expected} (got a scalar)")
    if key_padding and len(shape) == ndim_q - 1 and len(shape) >= 2:
        shape = shape[:-1] + (1, shape[-1])
        mask = mask.reshape(shape)
        expected += (" (a mask with one dimension fewer than q is read as a key-padding "
                     "mask [..., M]; for one [N, M] mask shared by the batch pass mask[None])")
    if len(shape) > len(full):
        raise ValidationError(f"{where}.{name}: must be {expected} (got shape "
                              f"{given}: more dimensions than q)")
    padded = (1,) * (len(full) - len(shape)) + shape
    ok = all(s in (1, f) for s, f in zip(padded, full)) and padded[-1] == m
    if not ok:
        hint = ("True marks the keys each query may attend to" if name == "mask" else
                "boolean: True = take part; float: added to the logits")
        raise ValidationError(f"{where}.{name}: must be {expected} (got shape {given}); "
                              f"{hint}")
    return mask.reshape(padded)


def _check_mask(mask, kind: str, batch_shape: tuple, n: int, m: int, ndim_q: int,
                where: str):
    """neuroattn's ``mask``: boolean, True = attend; returned as ``mask_batch + (1|N, M)``."""
    mask = _as_kind(mask, kind, "mask", where)
    if not _is_bool(mask):
        raise ValidationError(f"{where}.mask: must be boolean, True = attend (got dtype "
                              f"{_dtype_name(mask)}); pass mask.astype(bool) / mask.bool(), "
                              f"or a float mask as attn_mask (added to the logits)")
    return _check_mask_shape(mask, batch_shape, n, m, ndim_q, "mask", where, True)


def _check_bias(bias, kind: str, batch_shape: tuple, n: int, m: int, ndim_q: int,
                where: str, name: str, check_values: bool):
    """A float mask (added to the logits), returned as ``mask_batch + (1|N, M)``."""
    if not _is_float(bias, kind):
        raise ValidationError(f"{where}.{name}: must be boolean (True = take part) or "
                              f"floating point (added to the logits) (got dtype "
                              f"{_dtype_name(bias)})")
    bias = _check_mask_shape(bias, batch_shape, n, m, ndim_q, name, where, False)
    if check_values and not _no_nan_or_posinf(bias, kind):
        raise ValidationError(f"{where}.{name}: contains NaN or +inf; a float mask is "
                              f"added to the logits: use finite values, or -inf to hide "
                              f"a key")
    return bias


def merge_causal(causal, is_causal, where: str = _WHERE) -> bool:
    """``causal`` (neuroattn's name) or ``is_causal`` (torch's); both True raises."""
    for name, value in (("causal", causal), ("is_causal", is_causal)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValidationError(f"{where}.{name}: must be True or False (got {value!r})")
    if causal and is_causal:
        raise ValidationError(f"{where}: causal and is_causal were both given; they are "
                              f"one option (neuroattn's and torch's name): pass one of them")
    return bool(causal or is_causal)


def expand_groups(q, k, v, where: str = _WHERE):
    """Grouped-query attention (torch's ``enable_gqa``): repeat k's and v's heads (dim -3)
    to q's head count, each key head serving ``Hq / Hkv`` consecutive query heads."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if getattr(x, "ndim", 0) < 3:
            raise ValidationError(f"{where}.enable_gqa: needs q, k and v of at least 3 "
                                  f"dimensions [..., heads, tokens, features] (got "
                                  f"{name}.shape={tuple(getattr(x, 'shape', ()))})")
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hk != hv or hq % hk:
        raise ValidationError(f"{where}.enable_gqa: k and v must have one head count that "
                              f"divides q's (got q {hq}, k {hk}, v {hv} heads)")
    if hq == hk:
        return k, v
    if isinstance(k, np.ndarray):
        return np.repeat(k, hq // hk, axis=-3), np.repeat(v, hq // hk, axis=-3)
    return k.repeat_interleave(hq // hk, dim=-3), v.repeat_interleave(hq // hk, dim=-3)


def _check_scalar(value, name: str, where: str, positive: bool) -> float:
    # Comparisons, not math.isfinite: under torch.compile a float attribute of a module
    # may be a symbolic float, which math.isfinite does not take.
    if isinstance(value, bool) or not isinstance(value, Real) or \
            not -math.inf < value < math.inf:
        raise ValidationError(f"{where}.{name}: must be a finite real number (got "
                              f"{value!r})")
    if positive and not value > 0:
        raise ValidationError(f"{where}.{name}: must be > 0 (got {value!r}); pass a "
                              f"positive number, e.g. 1.0")
    return float(value)


def check_window(window, where: str = _WHERE):
    """``window`` as an int >= 0 or None, or raise."""
    if window is not None and (isinstance(window, bool) or not isinstance(window, Integral)
                               or window < 0):
        raise ValidationError(f"{where}.window: must be an int >= 0 (keys within window "
                              f"positions of the query) or None (got {window!r})")
    return None if window is None else int(window)


def check_global_tokens(global_tokens, window, limit=None, where: str = _WHERE) -> tuple:
    """``global_tokens`` as sorted unique positions (a tuple of int), or raise.

    ``limit``: positions must be below it (``max(N, M)``); None skips that check (a
    layer's options, checked against the sequence length when it runs).
    """
    if global_tokens is None:
        return ()
    if window is None:
        raise ValidationError(f"{where}.global_tokens: only meaningful with a local window "
                              f"(got window=None); pass window=w or drop global_tokens")
    if isinstance(global_tokens, Integral) and not isinstance(global_tokens, bool):
        if global_tokens < 0 or (limit is not None and global_tokens > limit):
            bound = "" if limit is None else f", {limit}"
            raise ValidationError(f"{where}.global_tokens: a count must be in [0{bound}] "
                                  f"(got {global_tokens})")
        return tuple(range(int(global_tokens)))
    try:
        positions = list(global_tokens)
    except TypeError:
        positions = None
    if positions is None or not all(isinstance(g, Integral) and not isinstance(g, bool)
                                    for g in positions):
        raise ValidationError(f"{where}.global_tokens: must be an int count or a 1-D "
                              f"sequence of int positions (got {global_tokens!r})")
    if positions and (min(positions) < 0 or (limit is not None and max(positions) >= limit)):
        bound = "" if limit is None else f", {limit}"
        raise ValidationError(f"{where}.global_tokens: positions must be in [0{bound}) "
                              f"(got min {min(positions)}, max {max(positions)})")
    return tuple(sorted({int(g) for g in positions}))


def check_attention(q, k, v, mask=None, causal=False, scale=None, temperature=1.0,
                    window=None, global_tokens=None, *, attn_mask=None, dropout_p=0.0,
                    where: str = _WHERE, require_float: bool = True) -> AttentionCall:
    """Validate an attention call; return an :class:`AttentionCall`.

    Parameters are those of :func:`scaled_dot_product_attention` (``causal`` already
    merged with ``is_causal``). ``require_float`` False admits integer and boolean q,
    k, v (the spike kernels check binariness).

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
                              "v": tuple(v.shape[:-2])}, kind, where)
    check_values = not (kind == "torch" and tracing())
    for name, x in (("q", q), ("k", k), ("v", v)):
        if require_float and check_values and not _all_finite(x, kind):
            raise ValidationError(f"{where}.{name}: contains NaN or Inf; attention needs "
                                  f"finite inputs (check the layer that produced {name})")
    ndim_q = max(q.ndim, len(batch) + 2)
    if mask is not None and attn_mask is not None:
        raise ValidationError(f"{where}: mask and attn_mask were both given; they are two "
                              f"spellings of one option (mask: neuroattn's, boolean, True = "
                              f"attend; attn_mask: torch's, boolean True = take part or float "
                              f"added to the logits): pass one of them")
    bias = None
    if mask is not None:
        mask = _check_mask(mask, kind, batch, n, m, ndim_q, where)
    elif attn_mask is not None:  # torch's rule: broadcast only, no key-padding reading
        attn_mask = _as_kind(attn_mask, kind, "attn_mask", where)
        if _is_bool(attn_mask):
            mask = _check_mask_shape(attn_mask, batch, n, m, ndim_q, "attn_mask", where,
                                     False)
        else:
            bias = _check_bias(attn_mask, kind, batch, n, m, ndim_q, where, "attn_mask",
                               check_values)
    if not isinstance(causal, (bool, np.bool_)):
        raise ValidationError(f"{where}.causal: must be True or False (got {causal!r})")
    scale = 1.0 / math.sqrt(d) if scale is None else _check_scalar(scale, "scale", where,
                                                                    False)
    temperature = _check_scalar(temperature, "temperature", where, True)
    dropout_p = _check_scalar(dropout_p, "dropout_p", where, False)
    if not 0 <= dropout_p <= 1:
        raise ValidationError(f"{where}.dropout_p: must be in [0, 1] (got {dropout_p!r}); "
                              f"it is the probability of zeroing an attention weight")
    window = check_window(window, where)
    gtok = check_global_tokens(global_tokens, window, max(n, m), where)
    return AttentionCall(q=q, k=k, v=v, kind=kind, batch_shape=batch, n=n, m=m, d=d,
                         dv=v.shape[-1], mask=mask, causal=bool(causal),
                         scale=scale / temperature, window=window, global_tokens=gtok,
                         bias=bias, dropout_p=dropout_p)
