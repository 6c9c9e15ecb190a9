"""torch layers on the attention kernels: MultiHeadAttention, SpikingSelfAttention.

Thin ``nn.Module`` shells: the math lives in ``scaled_dot_product_attention`` and
``spiking_self_attention``; the layers hold the projections and LIF neurons. Each
layer has ``count_ops`` returning an :class:`~neuroattn.attention.ops.OpCount` (MACs,
ACs, exponentials and the 45 nm energy estimate, arithmetic only: see ``ops``).
"""

from __future__ import annotations

from numbers import Integral

import torch
from torch import nn

from neuroattn.attention.dispatch import scaled_dot_product_attention
from neuroattn.attention.ops import (OpCount, linear_ops, softmax_attention_ops,
                                     spiking_attention_ops)
from neuroattn.attention.spike import spiking_self_attention
from neuroattn.exceptions import ValidationError

__all__ = ["MultiHeadAttention", "SpikingSelfAttention"]


def _check_heads(where: str, embed_dim, num_heads) -> None:
    for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValidationError(f"{where}.{name}: must be an int >= 1 (got {value!r})")
    if embed_dim % num_heads:
        raise ValidationError(f"{where}.num_heads: must divide embed_dim={embed_dim} (got "
                              f"{num_heads}); choose e.g. num_heads=1")


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """[..., N, E] -> [..., H, N, E/H]."""
    *lead, n, e = x.shape
    return x.reshape(*lead, n, heads, e // heads).transpose(-2, -3)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """[..., H, N, Dh] -> [..., N, H Dh]."""
    x = x.transpose(-2, -3)
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


class MultiHeadAttention(nn.Module):
    """Multi-head softmax attention (batch first) on ``scaled_dot_product_attention``.

    Parameters
    ----------
    embed_dim : int
        Model width E (query, key and value inputs all have width E).
    num_heads : int
        Heads H; must divide E. Each head has width E / H.
    bias : bool
        Biases in the four projections.
    causal, window, global_tokens, temperature, backend
        Passed to :func:`~neuroattn.attention.scaled_dot_product_attention`.

    Notes
    -----
    ``out = W_o concat_h softmax(q_h k_h^T / (sqrt(E/H) temperature)) v_h`` with
    ``q = W_q query``, ``k = W_k key``, ``v = W_v value`` — the math of
    ``torch.nn.MultiheadAttention`` (see :meth:`from_torch`). Masks use True = attend
    (the opposite of torch's ``key_padding_mask``).

    Examples
    --------
    >>> layer = MultiHeadAttention(16, 4)
    >>> layer(torch.zeros(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, causal=False,
                 window=None, global_tokens=None, temperature=1.0, backend="auto"):
        super().__init__()
        _check_heads("MultiHeadAttention", embed_dim, num_heads)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.causal, self.window, self.global_tokens = causal, window, global_tokens
        self.temperature, self.backend = temperature, backend
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention, **options) -> "MultiHeadAttention":
        """A layer with the weights of a ``torch.nn.MultiheadAttention`` (same E, H)."""
        bias = mha.in_proj_bias is not None
        layer = cls(mha.embed_dim, mha.num_heads, bias=bias, **options)
        e = mha.embed_dim
        with torch.no_grad():
            for i, proj in enumerate((layer.q_proj, layer.k_proj, layer.v_proj)):
                proj.weight.copy_(mha.in_proj_weight[i * e:(i + 1) * e])
                if bias:
                    proj.bias.copy_(mha.in_proj_bias[i * e:(i + 1) * e])
            layer.out_proj.weight.copy_(mha.out_proj.weight)
            if bias:
                layer.out_proj.bias.copy_(mha.out_proj.bias)
        return layer

    def forward(self, query, key=None, value=None, key_padding_mask=None, attn_mask=None):
        """Attend from ``query`` [B, N, E] to ``key``/``value`` [B, M, E] (default: query).

        Parameters
        ----------
        key_padding_mask : bool tensor [B, M], optional
            True = the key is real (attend to it).
        attn_mask : bool tensor [N, M] or [B, N, M], optional
            True = query i may attend to key j.

        Returns
        -------
        torch.Tensor, shape [B, N, E]
        """
        key = query if key is None else key
        value = key if value is None else value
        q, k, v = (_split(proj(x), self.num_heads) for proj, x in
                   ((self.q_proj, query), (self.k_proj, key), (self.v_proj, value)))
        mask = None
        if attn_mask is not None:
            mask = attn_mask if attn_mask.ndim == 2 else attn_mask.unsqueeze(-3)
        if key_padding_mask is not None:
            pad = key_padding_mask[..., None, None, :]
            mask = pad if mask is None else (mask & pad)
        out = scaled_dot_product_attention(q, k, v, mask=mask, causal=self.causal,
                                           temperature=self.temperature, window=self.window,
                                           global_tokens=self.global_tokens,
                                           backend=self.backend)
        return self.out_proj(_merge(out))

    def count_ops(self, n: int, m: int | None = None, batch: int = 1) -> OpCount:
        """Operations of one forward pass on ``batch`` sequences of n queries, m keys.

        Projections ``(2 n + 2 m) E^2`` MACs (q and output on n rows, k and v on m) and
        attention ``H n m 2 (E/H)`` MACs, ``H n m`` ACs and exponentials, times batch
        (all pairs counted, masks ignored).
        """
        m = n if m is None else m
        e, h = self.embed_dim, self.num_heads
        proj = linear_ops(batch * (2 * n + 2 * m), e, e)
        return proj + softmax_attention_ops(n, m, e // h, e // h, batch=batch * h)


class SpikingSelfAttention(nn.Module):
    """Spikformer-style spiking self-attention with snnTorch LIF neurons.

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
        Firing threshold of the q, k, v neurons.
    attn_threshold : float
        Firing threshold of the attention neurons (Spikformer: 0.5).
    slope : float
        Slope of the fast-sigmoid surrogate gradient.

    Notes
    -----
    Training: the spikes are Heaviside steps whose gradient is replaced by the
    surrogate's; with gradients required, ``Q (K^T V)`` runs as float matmuls of the
    same binary tensors (same numbers, differentiable). Without gradients (eval under
    ``torch.no_grad``) it runs the bit-packed popcount kernel. The LIF neurons reset by
    subtraction (snnTorch's default) and start each forward pass at rest.

    Examples
    --------
    >>> layer = SpikingSelfAttention(16, 2)
    >>> layer(torch.ones(4, 2, 5, 16)).shape         # [T, B, N, E]
    torch.Size([4, 2, 5, 16])
    """

    def __init__(self, embed_dim: int, num_heads: int = 1, scale: float = 0.125,
                 beta: float = 0.9, threshold: float = 1.0, attn_threshold: float = 0.5,
                 slope: float = 25.0):
        super().__init__()
        import snntorch
        from snntorch import surrogate

        _check_heads("SpikingSelfAttention", embed_dim, num_heads)
        if not 0 < beta <= 1:
            raise ValidationError(f"SpikingSelfAttention.beta: must be in (0, 1] (got "
                                  f"{beta!r}); it is the membrane decay per step")
        self.embed_dim, self.num_heads, self.scale = embed_dim, num_heads, float(scale)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        grad = surrogate.fast_sigmoid(slope=slope)
        self.q_lif, self.k_lif, self.v_lif = (
            snntorch.Leaky(beta=beta, threshold=threshold, spike_grad=grad)
            for _ in range(3))
        self.attn_lif = snntorch.Leaky(beta=beta, threshold=attn_threshold, spike_grad=grad)

    def _steps(self, x: torch.Tensor):
        """Yield (x_t, q_t, k_t, v_t, s_t, y_t) for each time step of x [T, B, N, E]."""
        if x.ndim != 4 or x.shape[-1] != self.embed_dim:
            raise ValidationError(f"SpikingSelfAttention.forward: x must be [T, B, N, E] "
                                  f"with E={self.embed_dim} (got shape {tuple(x.shape)})")
        mem = [None] * 4
        for x_t in x:
            spikes = []
            for i, (proj, lif) in enumerate(((self.q_proj, self.q_lif),
                                             (self.k_proj, self.k_lif),
                                             (self.v_proj, self.v_lif))):
                cur = proj(x_t)
                spk, mem[i] = lif(cur, torch.zeros_like(cur) if mem[i] is None else mem[i])
                spikes.append(_split(spk, self.num_heads))
            att = _merge(spiking_self_attention(*spikes, scale=self.scale))
            s_t, mem[3] = self.attn_lif(att, torch.zeros_like(att) if mem[3] is None
                                        else mem[3])
            yield (x_t, *spikes, s_t, self.out_proj(s_t))

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
            binary = bool(((x == 0) | (x == 1)).all())
            for x_t, q, k, v, s_t, _ in self._steps(x):
                rows = x_t.numel() // e
                spikes = int((x_t != 0).sum()) if binary else None
                total = total + OpCount(**{f: 3 * getattr(linear_ops(rows, e, e, spikes), f)
                                           for f in ("macs", "acs", "exps")})
                total = total + spiking_attention_ops(q, k, v)
                total = total + linear_ops(rows, e, e, int((s_t != 0).sum()))
        return total
