"""Attention kernels and layers: the differentiable tier's core compute.

One function, :func:`scaled_dot_product_attention`, with backends ``reference``
(materialised float64, the specification), ``numba`` (fused tiled online-softmax
kernel, O(N D) memory), ``torch`` (SDPA, autograd), ``triton`` (fused CUDA kernel) and
``spike`` (bit-packed binary q, k, v). Also local and hard attention, Spikformer's
softmax-free spiking attention, operation and energy counts, and the torch layers
``MultiheadAttention`` (a drop-in ``torch.nn.MultiheadAttention``) and
``SpikingSelfAttention`` (imported on first use).
See docs/attention.md.
"""

from neuroattn._lazy import lazy_exports

__all__ = [
    "BACKENDS",
    "E_AC_PJ",
    "E_MAC_PJ",
    "HardAttention",
    "MultiheadAttention",
    "OpCount",
    "SpikingSelfAttention",
    "attention_weights",
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

# name -> submodule. Nothing is imported with the package: the kernels need numba and
# the layers torch, and `neuroattn list` or a spiking run should not pay for either.
_WHERE = {
    **dict.fromkeys(("BACKENDS", "attention_weights", "available_backends",
                     "scaled_dot_product_attention"), "dispatch"),
    **dict.fromkeys(("HardAttention", "hard_attention"), "hard"),
    **dict.fromkeys(("E_AC_PJ", "E_MAC_PJ", "OpCount", "linear_ops", "softmax_attention_ops",
                     "spiking_attention_ops"), "ops"),
    **dict.fromkeys(("reference_attention", "visible_keys"), "reference"),
    **dict.fromkeys(("pack_spikes", "popcount_scores", "spiking_self_attention",
                     "spiking_self_attention_packed"), "spike"),
    **dict.fromkeys(("MultiheadAttention", "SpikingSelfAttention"), "layers"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
