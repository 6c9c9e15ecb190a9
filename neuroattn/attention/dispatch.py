"""``scaled_dot_product_attention``: one signature, several backends.

=========  =====================================================================
reference  materialised softmax in float64 (``reference``): the specification
numba      fused tiled kernel with online softmax, O(N D) memory (``fused``)
torch      ``torch.nn.functional.scaled_dot_product_attention``; autograd works
triton     our fused forward kernel for CUDA GPUs (``triton_kernel``)
spike      binary q, k, v: popcount logits, then softmax (``spike``, ``fused``)
=========  =====================================================================

``backend="auto"`` picks triton for CUDA tensors (if importable and no gradient is
needed), torch for other torch tensors (numba instead when a local window is asked
for and no gradient is needed: the torch path materialises the window mask), and numba
for numpy arrays. The result has the type of the inputs (numpy in, numpy out; torch
in, torch out on the same device and dtype).
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from neuroattn.attention._validate import AttentionCall, check_attention
from neuroattn.exceptions import BackendUnavailable

__all__ = ["scaled_dot_product_attention", "available_backends", "BACKENDS"]

#: Backend names, in the order ``neuroattn list`` shows them.
BACKENDS = ("reference", "numba", "torch", "triton", "spike")

_NEEDS = {"reference": (), "numba": ("numba", "scipy"), "torch": ("torch",),
          "triton": ("torch", "triton"), "spike": ("numba", "scipy")}
_GRADIENT_FREE = ("reference", "numba", "triton", "spike")


def available_backends() -> dict:
    """Which backends can run here.

    Returns
    -------
    dict
        ``name -> None`` if the backend can run, else the reason (str) it cannot.

    Examples
    --------
    >>> available_backends()["reference"] is None
    True
    """
    return {name: _reason(name) for name in BACKENDS}


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
    return torch.is_grad_enabled() and any(x.requires_grad for x in (call.q, call.k, call.v))


def _choose(call: AttentionCall) -> str:
    if call.kind == "numpy":
        return "numba"
    grad = _needs_grad(call)
    if call.q.device.type == "cuda" and not grad and _reason("triton") is None:
        return "triton"
    if call.window is not None and not grad and call.q.device.type == "cpu":
        return "numba"
    return "torch"


def _to_numpy(call: AttentionCall) -> AttentionCall:
    if call.kind == "numpy":
        return call
    arrays = {name: getattr(call, name).detach().cpu().numpy() for name in ("q", "k", "v")}
    mask = None if call.mask is None else call.mask.detach().cpu().numpy()
    return dataclasses.replace(call, kind="numpy", mask=mask, **arrays)


def _to_torch(call: AttentionCall) -> AttentionCall:
    if call.kind == "torch":
        return call
    import torch
    arrays = {name: torch.from_numpy(np.ascontiguousarray(getattr(call, name)))
              for name in ("q", "k", "v")}
    mask = None if call.mask is None else torch.from_numpy(np.ascontiguousarray(call.mask))
    return dataclasses.replace(call, kind="torch", mask=mask, **arrays)


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


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None,
                                 temperature=1.0, window=None, global_tokens=None,
                                 backend="auto"):
    """Softmax attention ``softmax(scale q k^T / temperature) v`` with masks, any backend.

    Parameters
    ----------
    q : numpy.ndarray or torch.Tensor, shape [..., N, D]
        Queries. Leading (batch, head) dimensions broadcast against k's and v's.
    k : same type, shape [..., M, D]
        Keys.
    v : same type, shape [..., M, Dv]
        Values.
    mask : bool array/tensor, optional
        True = query i may attend to key j. Broadcastable to ``[..., N, M]``; or, with
        exactly one dimension fewer than q, a key-padding mask ``[..., M]``.
    causal : bool
        Query i sees key j only if ``j <= i`` (top-left aligned when N != M).
    scale : float, optional
        Logit multiplier (default ``1/sqrt(D)``).
    temperature : float
        Divides the logits (> 0; default 1). Higher is flatter.
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
        backend, and with zero gradient in torch).

    Raises
    ------
    ValidationError
        Bad shapes, dtypes, masks, options or non-finite inputs (the message names the
        argument); non-binary inputs for ``backend='spike'``.
    BackendUnavailable
        Unknown backend, a backend that cannot run here, or a gradient-free backend
        asked for while q, k or v require gradients.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = (rng.normal(size=(2, 4, 16, 8)).astype(np.float32) for _ in range(3))
    >>> out = scaled_dot_product_attention(q, k, v, causal=True)
    >>> out.shape, out.dtype
    ((2, 4, 16, 8), dtype('float32'))
    >>> ref = scaled_dot_product_attention(q, k, v, causal=True, backend="reference")
    >>> bool(np.abs(out - ref).max() < 1e-5)
    True
    """
    if backend != "auto" and backend not in BACKENDS:
        raise BackendUnavailable(f"scaled_dot_product_attention.backend: unknown backend "
                                 f"{backend!r}; expected 'auto' or one of {list(BACKENDS)}")
    call = check_attention(q, k, v, mask, causal, scale, temperature, window, global_tokens,
                           require_float=backend != "spike")
    name = _choose(call) if backend == "auto" else backend
    reason = _reason(name)
    if reason is not None:
        raise BackendUnavailable(f"scaled_dot_product_attention: backend {name!r} is not "
                                 f"available: {reason}")
    if name in _GRADIENT_FREE and _needs_grad(call):
        raise BackendUnavailable(f"scaled_dot_product_attention: backend {name!r} does not "
                                 f"propagate gradients but q, k or v requires grad; use "
                                 f"backend='torch' (or 'auto'), or call under "
                                 f"torch.no_grad()")
    out = _RUN[name](call)
    if name == "torch" and call.kind == "torch":
        return out
    return _as_input_type(out, call)
