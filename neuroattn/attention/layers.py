"""torch layers on the attention kernels: MultiheadAttention, SpikingSelfAttention.

Thin ``nn.Module`` shells: the math lives in ``scaled_dot_product_attention`` and
``spiking_self_attention``; the layers hold the projections and LIF neurons. Each
layer has ``count_ops`` returning an :class:`~neuroattn.attention.ops.OpCount` (MACs,
ACs, exponentials and the 45 nm energy estimate, arithmetic only: see ``ops``).
:class:`MultiheadAttention` lives in ``multihead`` and is re-exported here.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from torch import nn

from neuroattn.attention.multihead import MultiheadAttention
from neuroattn.attention.ops import OpCount, linear_ops, spiking_attention_ops
from neuroattn.attention.spike import spiking_self_attention
from neuroattn.exceptions import ValidationError

__all__ = ["MultiheadAttention", "SpikingSelfAttention", "lif_step", "spike"]

_WHERE = "SpikingSelfAttention"


def spike(x: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """Heaviside step ``x > 0`` (in x's dtype) with the fast-sigmoid surrogate gradient.

    The derivative is snnTorch's ``surrogate.fast_sigmoid``: ``1 / (slope |x| + 1)^2``,
    that of ``g(x) = x / (1 + slope |x|)``. Written ``H(x) + (g - g.detach())``: the
    added term is exactly 0, so the spikes are exactly 0 or 1, and it is plain tensor
    operations (no ``autograd.Function``), which ``torch.compile`` traces.
    """
    g = x / (1.0 + slope * x.abs())
    return (x > 0).to(x.dtype) + (g - g.detach())


def lif_step(current: torch.Tensor, mem: torch.Tensor, beta: torch.Tensor,
             threshold: torch.Tensor, slope: torch.Tensor) -> tuple:
    """One step of a leaky integrate-and-fire neuron: ``(spikes, new membrane)``.

    snnTorch's ``Leaky`` (reset by subtraction, delayed reset) as a pure step::

        reset = H(mem - threshold)                (no gradient)
        mem'  = beta mem + current - reset threshold
        spike = H(mem' - threshold)               (fast-sigmoid surrogate gradient)

    Parameters
    ----------
    current, mem : torch.Tensor
        Input and membrane (dimensionless, same shape and dtype).
    beta, threshold, slope : torch.Tensor
        Decay per step in (0, 1], firing threshold > 0, surrogate slope > 0 (0-d).

    Examples
    --------
    >>> one = torch.tensor(1.0)
    >>> lif_step(torch.tensor([0.5, 1.5]), torch.zeros(2), one, one, one)
    (tensor([0., 1.]), tensor([0.5000, 1.5000]))
    """
    for name, t in (("current", current), ("mem", mem), ("beta", beta),
                    ("threshold", threshold), ("slope", slope)):
        if not isinstance(t, torch.Tensor):
            raise ValidationError(f"lif_step.{name}: must be a torch.Tensor (got "
                                  f"{type(t).__name__})")
    if current.shape != mem.shape:
        raise ValidationError(f"lif_step.mem: must have the shape of current "
                              f"{tuple(current.shape)} (got {tuple(mem.shape)})")
    reset = (mem > threshold).to(mem.dtype)
    mem = beta * mem + current - reset * threshold
    return spike(mem - threshold, slope), mem


def _check_heads(where: str, embed_dim, num_heads) -> None:
    for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValidationError(f"{where}.{name}: must be an int >= 1 (got {value!r})")
    if embed_dim % num_heads:
        raise ValidationError(f"{where}.num_heads: must divide embed_dim={embed_dim} (got "
                              f"{num_heads}); choose e.g. num_heads=1")


def _check_number(value, name: str, low: float, high: float = math.inf,
                  low_open: bool = True, what: str = "") -> float:
    ok = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"in ({low}, {high}]" if high < math.inf else (f"> {low}" if low_open
                                                              else f">= {low}")
        raise ValidationError(f"{_WHERE}.{name}: must be a finite number {bound} (got "
                              f"{value!r}){what}")
    return float(value)


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """[..., N, E] -> [..., H, N, E/H]."""
    *lead, n, e = x.shape
    return x.reshape(*lead, n, heads, e // heads).transpose(-2, -3)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """[..., H, N, Dh] -> [..., N, H Dh]."""
    x = x.transpose(-2, -3)
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


class SpikingSelfAttention(nn.Module):
    """Spikformer-style spiking self-attention with LIF neurons.

    Per time step t: ``Q_t = LIF_q(W_q x_t)``, ``K_t``, ``V_t`` likewise (binary spikes,
    split into heads); ``A_t = Q_t (K_t^T V_t) * scale`` with no softmax (the bit-packed
    kernel ``spiking_self_attention``); ``S_t = LIF_a(A_t)``; ``y_t = W_o S_t``.

    Parameters
    ----------
    embed_dim, num_heads : int
        Width E and heads H (H divides E).
    scale : float
        Attention scale (Spikformer: 0.125).
    beta : float
        LIF membrane decay per step, in (0, 1].
    threshold : float
        Firing threshold of the q, k, v neurons (> 0).
    attn_threshold : float
        Firing threshold of the attention neurons (> 0; Spikformer: 0.5).
    slope : float
        Slope of the fast-sigmoid surrogate gradient (> 0).
    device, dtype
        Of the parameters and buffers (torch's factory arguments).

    Notes
    -----
    The neurons are :func:`lif_step`: snnTorch's ``Leaky`` with reset by subtraction
    and a fast-sigmoid surrogate (same numbers as ``snntorch.Leaky``, tested), written
    as a pure step so the layer holds no state between calls and traces under
    ``torch.compile(fullgraph=True)`` and ``torch.export``. They start each forward pass
    at rest; spikes have the layer's dtype.

    Training: the spikes are Heaviside steps whose gradient is replaced by the
    surrogate's; with gradients required, ``Q (K^T V)`` runs as float matmuls of the
    same binary tensors (same numbers, differentiable). Without gradients (eval under
    ``torch.no_grad``) it runs the bit-packed popcount kernel — except while
    ``torch.compile``/``torch.export`` traces, which gets the matmuls. The counts
    ``Q (K^T V)`` are exact integers in either path (below 2^24 in float32, 2^53 in
    float64, 256 in bfloat16, 2048 in float16) and are multiplied by ``scale`` in the
    layer's dtype, so both paths give the same numbers.

    ``scale``, ``beta``, the thresholds and ``slope`` are buffers: they follow
    ``.to(dtype)`` and are saved in the state dict, so a reloaded layer computes the
    same.

    Examples
    --------
    >>> layer = SpikingSelfAttention(16, 2)
    >>> layer(torch.ones(4, 2, 5, 16)).shape         # [T, B, N, E]
    torch.Size([4, 2, 5, 16])
    >>> layer.to(torch.float64)(torch.ones(4, 2, 5, 16, dtype=torch.float64)).dtype
    torch.float64
    """

    def __init__(self, embed_dim: int, num_heads: int = 1, scale: float = 0.125,
                 beta: float = 0.9, threshold: float = 1.0, attn_threshold: float = 0.5,
                 slope: float = 25.0, device=None, dtype=None):
        _check_heads(_WHERE, embed_dim, num_heads)
        values = {
            "scale": _check_number(scale, "scale", -math.inf),
            "beta": _check_number(beta, "beta", 0.0, 1.0,
                                  what="; it is the membrane decay per step"),
            "threshold": _check_number(threshold, "threshold", 0.0),
            "attn_threshold": _check_number(attn_threshold, "attn_threshold", 0.0),
            "slope": _check_number(slope, "slope", 0.0),
        }
        if dtype is not None and not (isinstance(dtype, torch.dtype)
                                      and dtype.is_floating_point):
            raise ValidationError(f"{_WHERE}.dtype: must be a floating-point torch.dtype "
                                  f"or None (got {dtype!r})")
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, **factory)
        self.k_proj = nn.Linear(embed_dim, embed_dim, **factory)
        self.v_proj = nn.Linear(embed_dim, embed_dim, **factory)
        self.out_proj = nn.Linear(embed_dim, embed_dim, **factory)
        for name, value in values.items():
            self.register_buffer(name, torch.tensor(value, **factory))

    def _steps(self, x: torch.Tensor) -> list:
        """(x_t, q_t, k_t, v_t, s_t, y_t) for each time step of x [T, B, N, E]."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[-1] != self.embed_dim:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else \
                type(x).__name__
            raise ValidationError(f"{_WHERE}.forward: x must be [T, B, N, E] with "
                                  f"E={self.embed_dim} (got {got})")
        weight = self.out_proj.weight
        if x.dtype != weight.dtype or x.device != weight.device:
            raise ValidationError(f"{_WHERE}.forward: x must have the layer's dtype and "
                                  f"device ({weight.dtype}, {weight.device}) (got "
                                  f"{x.dtype}, {x.device}); cast x or move the layer with "
                                  f".to(...)")
        thresholds = (self.threshold, self.threshold, self.threshold, self.attn_threshold)
        mem = [None] * 4
        steps = []
        for x_t in x.unbind(0):
            spikes = []
            for i, proj in enumerate((self.q_proj, self.k_proj, self.v_proj)):
                cur = proj(x_t)
                spk, mem[i] = lif_step(cur, torch.zeros_like(cur) if mem[i] is None
                                       else mem[i], self.beta, thresholds[i], self.slope)
                spikes.append(_split(spk, self.num_heads))
            counts = spiking_self_attention(*spikes, scale=1.0)
            att = _merge(counts) * self.scale
            s_t, mem[3] = lif_step(att, torch.zeros_like(att) if mem[3] is None else mem[3],
                                   self.beta, thresholds[3], self.slope)
            steps.append((x_t, *spikes, s_t, self.out_proj(s_t)))
        return steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run T steps on x [T, B, N, E] (spikes or currents); return y [T, B, N, E]."""
        return torch.stack([step[-1] for step in self._steps(x)])

    def count_ops(self, x: torch.Tensor) -> OpCount:
        """Operations of one forward pass on x, counted from the spikes it produces.

        Projections of x: ACs (nnz(x_t) E each) if x is binary, else MACs (B N E^2
        each); attention: :func:`~neuroattn.attention.ops.spiking_attention_ops`;
        output projection: nnz(S_t) E ACs. Biases and neuron updates are not counted.
        """
        total = OpCount()
        e = self.embed_dim
        with torch.no_grad():
            steps = self._steps(x)
            binary = bool(((x == 0) | (x == 1)).all())
            for x_t, q, k, v, s_t, _ in steps:
                rows = x_t.numel() // e
                spikes = int((x_t != 0).sum()) if binary else None
                total = total + OpCount(**{f: 3 * getattr(linear_ops(rows, e, e, spikes), f)
                                           for f in ("macs", "acs", "exps")})
                total = total + spiking_attention_ops(q, k, v)
                total = total + linear_ops(rows, e, e, int((s_t != 0).sum()))
        return total
