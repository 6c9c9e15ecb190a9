"""Attention kernels and layers: the differentiable tier's core compute.

One function, :func:`scaled_dot_product_attention`, with backends ``reference``
(materialised float64, the specification), ``numba`` (fused tiled online-softmax
kernel, O(N D) memory), ``torch`` (SDPA, autograd), ``triton`` (fused CUDA kernel) and
``spike`` (bit-packed binary q, k, v). Also local and hard attention, Spikformer's
softmax-free spiking attention, operation and energy counts, and the torch layers
``MultiHeadAttention`` and ``SpikingSelfAttention`` (imported on first use).
See docs/attention.md.
"""

from neuroattn.attention.dispatch import (BACKENDS, available_backends,
                                          scaled_dot_product_attention)
from neuroattn.attention.hard import HardAttention, hard_attention
from neuroattn.attention.ops import (E_AC_PJ, E_MAC_PJ, OpCount, linear_ops,
                                     softmax_attention_ops, spiking_attention_ops)
from neuroattn.attention.reference import reference_attention, visible_keys
from neuroattn.attention.spike import (
    pack_spikes,
    popcount_scores,
    spiking_self_attention,
    spiking_self_attention_packed,
)

__all__ = [
    "BACKENDS",
    "E_AC_PJ",
    "E_MAC_PJ",
    "HardAttention",
    "MultiHeadAttention",
    "OpCount",
    "SpikingSelfAttention",
    "available_backends",
    "hard_attention",
    "linear_ops",
    "pack_spikes",
    "spiking_self_attention_packed",
    "popcount_scores",
    "reference_attention",
    "scaled_dot_product_attention",
    "softmax_attention_ops",
    "spiking_attention_ops",
    "spiking_self_attention",
    "visible_keys",
]

_LAYERS = ("MultiHeadAttention", "SpikingSelfAttention")


def __getattr__(name):
    # The layers need torch and snnTorch; import them only when asked for.
    if name in _LAYERS:
        from neuroattn.attention import layers
        return getattr(layers, name)
    raise AttributeError(f"module 'neuroattn.attention' has no attribute {name!r}")
