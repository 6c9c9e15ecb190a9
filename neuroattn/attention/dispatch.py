"""``scaled_dot_product_attention``: one signature, several backends.

=========  =====================================================================
reference  materialised softmax in float64 (``reference``): the specification
numba      fused tiled kernel with online softmax, O(N D) memory (``fused``)
torch      ``torch.nn.functional.scaled_dot_product_attention``; autograd works
triton     our fused forward kernel for CUDA GPUs (``triton_kernel``)
spike      binary q, k, v: popcount logits, then softmax (``spike``, ``fused``)
=========  =====================================================================

The function takes torch's call (``attn_mask``, ``dropout_p``, ``is_causal``,
``scale``, ``enable_gqa``: ``torch.nn.functional.scaled_dot_product_attention``'s
meaning) and neuroattn's own options (``mask``, ``causal``, ``temperature``,
``window``, ``global_tokens``, ``backend``).

``backend="auto"`` picks triton for CUDA tensors (if importable, no gradient is needed,
there is no float mask and the dtype is float16, bfloat16 or float32), torch for other
torch tensors (numba instead when a local window is asked for and no gradient is
needed: the torch path materialises the window mask), and numba for numpy arrays;
torch whenever ``dropout_p > 0``. While
``torch.compile`` or ``torch.export`` traces the call, every backend runs as torch:
the others leave torch for numpy, numba or a triton launch, which a trace cannot hold.
The result has the type of the inputs (numpy in, numpy out; torch in, torch out on the
same device and dtype).
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from neuroattn.attention._validate import (AttentionCall, array_kind, check_attention,
                                           expand_groups, merge_causal, to_numpy, tracing)
from neuroattn.exceptions import BackendUnavailable, ValidationError

__all__ = ["scaled_dot_product_attention", "attention_weights", "available_backends",
           "layer_backend", "check_layer_backend", "BACKENDS"]

#: Backend names, in the order ``neuroattn list`` shows them.
BACKENDS = ("reference", "numba", "torch", "triton", "spike")

_NEEDS = {"reference": (), "numba": ("numba", "scipy"), "torch": ("torch",),
          "triton": ("torch", "triton"), "spike": ("numba", "scipy")}
_GRADIENT_FREE = ("reference", "numba", "triton", "spike")
_WHERE = "scaled_dot_product_attention"
# What the Triton kernel is built and tested for (tests/gpu): auto sends other dtypes
# (float64) to torch.
_TRITON_DTYPES = ("torch.float16", "torch.bfloat16", "torch.float32")


def check_layer_backend(value, where: str) -> None:
    """Refuse a layer's ``attention_backend`` that is not None, ``'auto'`` or a backend."""
    if value is not None and value != "auto" and value not in BACKENDS:
        raise ValidationError(f"{where}.attention_backend: must be None, 'auto' or one of "
                              f"{list(BACKENDS)} (got {value!r})")


def layer_backend(module, chosen: str | None = None) -> str:
    """The backend a mechanism's softmax layer computes its attention with.

    ``chosen`` (the layer's ``attention_backend``) when given; otherwise torch while
    ``torch.compile``/``torch.export`` traces (``"auto"`` resolves to it), torch's SDPA
    when a gradient is needed (grad mode on and a parameter of ``module`` requires one),
    and the fused numba kernel when none is.
    """
    if chosen is not None:
        return chosen
    from neuroattn.attention._validate import tracing

    if tracing():
        return "auto"
    import torch

    grad = torch.is_grad_enabled() and any(p.requires_grad for p in module.parameters())
    return "torch" if grad else "numba"


def available_backends(import_modules: bool = True) -> dict:
    """Which backends can run here.

    Parameters
    ----------
    import_modules : bool
        True (default): import what each backend needs (numba, torch, triton: seconds)
        and, for triton, ask torch for a CUDA device. False: only check that those
        packages are installed, importing none (``neuroattn list``); triton is then
        reported as not checked.

    Returns
    -------
    dict
        ``name -> None`` if the backend can run, else the reason (str) it cannot.

    Examples
    --------
    >>> available_backends()["reference"] is None
    True
    """
    if not import_modules:
        return {name: _installed_reason(name) for name in BACKENDS}
    return {name: _reason(name) for name in BACKENDS}


def _installed_reason(name: str):
    """None if the packages backend ``name`` needs are installed (none imported)."""
    import importlib.util

    missing = [m for m in _NEEDS[name] if importlib.util.find_spec(m) is None]
    if missing:
        return f"not installed: {', '.join(missing)}"
    if name == "triton":
        return "installed; needs a CUDA device, not checked (neuroattn list --check)"
    return None


def _reason(name: str):
    """None if backend ``name`` can run here, else why not."""
    for module in _NEEDS[name]:
        try:
            importlib.import_module(module)
        except ImportError as exc:  # pragma: no cover - depends on the install
            return f"{module} is not importable ({type(exc).__name__}: {exc})"
    return _triton_device_reason() if name == "triton" else None


def _triton_device_reason():
    import torch
    import triton
    if torch.cuda.is_available() or bool(triton.knobs.runtime.interpret):
        return None
    return ("no CUDA device (set TRITON_INTERPRET=1 before importing triton to run the "
            "kernel on CPU tensors in Triton's interpreter)")


def _needs_grad(call: AttentionCall) -> bool:
    if call.kind != "torch":
        return False
    import torch
    return torch.is_grad_enabled() and any(
        x is not None and x.requires_grad for x in (call.q, call.k, call.v, call.bias))


def _tracing(call: AttentionCall) -> bool:
    return call.kind == "torch" and tracing()


def _choose(call: AttentionCall) -> str:
    if call.dropout_p > 0:
        return "torch"
    if call.kind == "numpy":
        return "numba"
    grad = _needs_grad(call)
    if (call.q.device.type == "cuda" and not grad and call.bias is None
            and str(call.q.dtype) in _TRITON_DTYPES and _reason("triton") is None):
        return "triton"
    if call.window is not None and not grad and call.q.device.type == "cpu":
        return "numba"
    return "torch"


def _refuse(name: str, call: AttentionCall):
    """Raise BackendUnavailable if backend ``name`` cannot run ``call`` here."""
    reason = _reason(name)
    if reason is not None:
        raise BackendUnavailable(f"{_WHERE}: backend {name!r} is not available: {reason}")
    if name in _GRADIENT_FREE and _needs_grad(call):
        raise BackendUnavailable(f"{_WHERE}: backend {name!r} does not propagate gradients "
                                 f"but q, k, v or attn_mask requires grad; use "
                                 f"backend='torch' (or 'auto'), or call under "
                                 f"torch.no_grad()")
    if call.dropout_p > 0 and name != "torch":
        raise BackendUnavailable(f"{_WHERE}.dropout_p: backend {name!r} has no dropout "
                                 f"(got dropout_p={call.dropout_p}); use backend='torch' "
                                 f"(or 'auto')")
    if call.bias is not None and name == "triton":
        raise BackendUnavailable(f"{_WHERE}.attn_mask: backend 'triton' takes boolean masks "
                                 f"only (got a float mask); use backend='torch' (or 'auto')")


def _to_numpy(call: AttentionCall) -> AttentionCall:
    if call.kind == "numpy":
        return call
    arrays = {name: to_numpy(getattr(call, name)) for name in ("q", "k", "v", "mask", "bias")}
    return dataclasses.replace(call, kind="numpy", **arrays)


def _to_torch(call: AttentionCall) -> AttentionCall:
    if call.kind == "torch":
        return call
    import torch
    arrays = {name: None if getattr(call, name) is None else
              torch.from_numpy(np.ascontiguousarray(getattr(call, name)))
              for name in ("q", "k", "v", "mask", "bias")}
    return dataclasses.replace(call, kind="torch", **arrays)


def _run_reference(call):
    from neuroattn.attention.reference import _materialised
    return _materialised(_to_numpy(call), np.float64)[0]


def _run_numba(call):
    from neuroattn.attention.fused import fused_attention
    return fused_attention(_to_numpy(call))


def _run_torch(call):
    from neuroattn.attention.torch_sdpa import torch_attention
    return torch_attention(_to_torch(call))


def _run_triton(call):
    from neuroattn.attention.triton_kernel import triton_attention
    return triton_attention(_to_torch(call))


def _run_spike(call):
    from neuroattn.attention.fused import fused_attention
    from neuroattn.attention.spike import check_binary, pack_spikes
    for name in ("q", "k", "v"):
        check_binary(getattr(call, name), name, "scaled_dot_product_attention")
    call = _to_numpy(call)
    packed = (pack_spikes(call.q), pack_spikes(call.k))
    call = dataclasses.replace(call, v=np.asarray(call.v, dtype=np.float32))
    return fused_attention(call, packed=packed)


_RUN = {"reference": _run_reference, "numba": _run_numba, "torch": _run_torch,
        "triton": _run_triton, "spike": _run_spike}


def _as_input_type(out, call: AttentionCall):
    """Return ``out`` as the type, dtype (and device) of the original inputs."""
    if call.kind == "numpy":
        if not isinstance(out, np.ndarray):
            out = out.detach().cpu().numpy()
        dtype = call.q.dtype if np.issubdtype(call.q.dtype, np.floating) else np.float32
        return out.astype(dtype, copy=False)
    import torch
    if isinstance(out, np.ndarray):
        out = torch.from_numpy(out)
    dtype = call.q.dtype if call.q.dtype.is_floating_point else torch.float32
    return out.to(device=call.q.device, dtype=dtype)


def _call(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, mask, causal,
          temperature, window, global_tokens, require_float=True) -> AttentionCall:
    """Validate torch's and neuroattn's options together; return the AttentionCall."""
    if not isinstance(enable_gqa, (bool, np.bool_)):
        raise ValidationError(f"{_WHERE}.enable_gqa: must be True or False (got "
                              f"{enable_gqa!r})")
    if enable_gqa:
        for name, x in (("q", q), ("k", k), ("v", v)):
            array_kind(x, name)
        k, v = expand_groups(q, k, v)
    causal = merge_causal(causal, is_causal)
    return check_attention(q, k, v, mask, causal, scale, temperature, window, global_tokens,
                           attn_mask=attn_mask, dropout_p=dropout_p,
                           require_float=require_float)


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False, *, mask=None, causal=False,
                                 temperature=1.0, window=None, global_tokens=None,
                                 backend="auto"):
    """Softmax attention ``softmax(scale q k^T / temperature + bias) v``, any backend.

    Takes ``torch.nn.functional.scaled_dot_product_attention``'s call (the first eight
    parameters, same names, order and meaning) plus neuroattn's keyword options.

    Parameters
    ----------
    q : numpy.ndarray or torch.Tensor, shape [..., N, D]
        Queries. Leading (batch, head) dimensions broadcast against k's and v's.
    k : same type, shape [..., M, D]
        Keys.
    v : same type, shape [..., M, Dv]
        Values.
    attn_mask : bool or float array/tensor, optional
        torch's mask, broadcastable to ``[..., N, M]``. Boolean: True = the key takes
        part (hidden keys where False). Float: added to the scaled logits (the ``bias``
        above; ``-inf`` hides a key; NaN and +inf are rejected).
    dropout_p : float
        Probability in [0, 1] of zeroing each attention weight (the rest scaled by
        ``1/(1 - p)``), applied whenever > 0, as torch's function does (pass
        ``p if module.training else 0.0``). Torch backend only.
    is_causal : bool
        torch's name of ``causal``. Unlike torch it may be combined with ``attn_mask``
        (both apply).
    scale : float, optional
        Logit multiplier (default ``1/sqrt(D)``).
    enable_gqa : bool
        Grouped-query attention: k and v have ``Hkv`` heads (dim -3) dividing q's ``Hq``;
        each serves ``Hq / Hkv`` consecutive query heads.
    mask : bool array/tensor, optional
        neuroattn's boolean mask: True = query i may attend to key j. Broadcastable to
        ``[..., N, M]``; or, with exactly one dimension fewer than q, a key-padding mask
        ``[..., M]``. Not together with ``attn_mask``.
    causal : bool
        Query i sees key j only if ``j <= i`` (top-left aligned when N != M). Not
        together with ``is_causal``.
    temperature : float
        Divides the q k^T logits (> 0; default 1). Higher is flatter.
    window : int, optional
        Local attention: query i sees key j only if ``|i - j| <= window``.
    global_tokens : int or sequence of int, optional
        With ``window``: positions that attend to and are attended by every position
        (Longformer's pattern); an int g means positions ``0..g-1``.
    backend : str
        ``'auto'`` or one of :data:`BACKENDS` (see the module notes).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape [..., N, Dv]
        Type, dtype and device of q. A query that sees no key gets a zero row (in every
        backend, and with zero gradient in torch; torch's own function gives NaN).

    Raises
    ------
    ValidationError
        Bad shapes, dtypes, masks, options or non-finite inputs (the message names the
        argument); an option given under both its names (``mask`` and ``attn_mask``,
        ``causal`` and ``is_causal``); non-binary inputs for ``backend='spike'``.
    BackendUnavailable
        Unknown backend, a backend that cannot run here or cannot run this call (a
        gradient-free backend while q, k, v or attn_mask require gradients; dropout
        other than on torch; a float mask on triton).

    Notes
    -----
    The numpy backends (reference, numba, spike) compute float16 and bfloat16 tensors
    in float32 (numba) or float64 (reference) and round the result to q's dtype. While
    ``torch.compile`` or ``torch.export`` traces, every backend runs as torch, and the
    checks of values (NaN/Inf, binary spikes) are skipped (data-dependent control flow
    cannot be traced); shapes, dtypes and options are still checked.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = (rng.normal(size=(2, 4, 16, 8)).astype(np.float32) for _ in range(3))
    >>> out = scaled_dot_product_attention(q, k, v, causal=True)
    >>> out.shape, out.dtype
    ((2, 4, 16, 8), dtype('float32'))
    >>> ref = scaled_dot_product_attention(q, k, v, is_causal=True, backend="reference")
    >>> bool(np.abs(out - ref).max() < 1e-5)
    True

    torch's call, with a float mask (added to the logits):

    >>> import torch
    >>> tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
    >>> bias = torch.zeros(16, 16).masked_fill(torch.ones(16, 16).triu(1).bool(), -torch.inf)
    >>> ours = scaled_dot_product_attention(tq, tk, tv, bias)
    >>> theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, bias)
    >>> torch.allclose(ours, theirs, atol=1e-6)
    True
    """
    if backend != "auto" and backend not in BACKENDS:
        raise BackendUnavailable(f"{_WHERE}.backend: unknown backend {backend!r}; expected "
                                 f"'auto' or one of {list(BACKENDS)}")
    call = _call(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, mask, causal,
                 temperature, window, global_tokens, require_float=backend != "spike")
    if _tracing(call):
        # A trace holds torch operations only: every backend runs as torch (the same
        # function; the other backends leave torch for numpy, numba or a triton launch).
        if not call.q.dtype.is_floating_point:  # spike inputs: 0/1 as floats
            call = dataclasses.replace(call, q=call.q.float(), k=call.k.float(),
                                       v=call.v.float())
        return _run_torch(call)
    name = _choose(call) if backend == "auto" else backend
    _refuse(name, call)
    out = _RUN[name](call)
    if name == "torch" and call.kind == "torch":
        return out
    return _as_input_type(out, call)


def attention_weights(q, k, attn_mask=None, is_causal=False, scale=None, enable_gqa=False,
                      *, mask=None, causal=False, temperature=1.0, window=None,
                      global_tokens=None):
    """The softmax weights ``[..., N, M]`` that :func:`scaled_dot_product_attention` applies.

    Same options as that function (no dropout, no backend): materialised, in float64
    for numpy input (the reference), in q's dtype and differentiable for torch tensors
    (torch operations only, so it traces under ``torch.compile``/``torch.export``).
    Rows sum to 1; a query that sees no key has a zero row.

    Examples
    --------
    >>> q = np.zeros((2, 3)); k = np.ones((4, 3))
    >>> attention_weights(q, k, is_causal=True)
    array([[1. , 0. , 0. , 0. ],
           [0.5, 0.5, 0. , 0. ]])
    """
    call = _call(q, k, k, attn_mask, 0.0, is_causal, scale, enable_gqa, mask, causal,
                 temperature, window, global_tokens)
    if call.kind == "numpy":
        from neuroattn.attention.reference import _materialised
        return _materialised(call, np.float64)[1]
    from neuroattn.attention.torch_sdpa import torch_weights
    return torch_weights(call)
