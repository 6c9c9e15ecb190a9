"""The torch layers: MultiheadAttention vs torch's, SpikingSelfAttention trains, op counts."""

import numpy as np
import pytest
import torch

from neuroattn.attention import MultiheadAttention, OpCount, SpikingSelfAttention
from neuroattn.exceptions import ValidationError


@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_multihead_attention_matches_torch(backend):
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    layer = MultiheadAttention.from_torch(mha, backend=backend)
    x, mem = torch.randn(2, 7, 16), torch.randn(2, 9, 16)
    pad = torch.zeros(2, 9, dtype=torch.bool)
    pad[1, 5:] = True                                   # torch's meaning: True = ignore
    with torch.no_grad():
        want = mha(x, mem, mem, key_padding_mask=pad, need_weights=False)[0]
        got, weights = layer(x, mem, mem, key_padding_mask=pad, need_weights=False)
    assert weights is None
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_multihead_attention_causal_mask_and_gradients():
    torch.manual_seed(1)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    layer = MultiheadAttention.from_torch(mha)
    x = torch.randn(3, 6, 8)
    causal_block = torch.triu(torch.ones(6, 6, dtype=torch.bool), diagonal=1)
    want = mha(x, x, x, attn_mask=causal_block, need_weights=False)[0]
    got = layer(x, x, x, is_causal=True, need_weights=False)[0]   # no mask needed here
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    got.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())


def test_multihead_attention_op_count_by_hand():
    layer = MultiheadAttention(8, 2)
    # q, k, v, out projections: 4 * 3 rows * 8 * 8 = 768 MACs; attention: 2 heads *
    # 3 * 3 pairs * (4 + 4) = 144 MACs, 18 row-sum adds, 18 exponentials.
    ops = layer.count_ops(3)
    assert ops == OpCount(macs=912, acs=18, exps=18)
    assert ops.energy_pj == pytest.approx(912 * 4.6 + 18 * 0.9)
    assert layer.count_ops(3, 5, batch=2) == OpCount(macs=2 * (16 * 64 + 2 * 15 * 8),
                                                     acs=60, exps=60)
    # kdim 6, vdim 4: k and v projections cost 5 * 6 * 8 and 5 * 4 * 8; one bias key
    # and one zero key make 7 keys per query.
    other = MultiheadAttention(8, 2, kdim=6, vdim=4, add_bias_kv=True, add_zero_attn=True)
    assert other.count_ops(3, 5) == OpCount(macs=2 * 3 * 64 + 5 * 6 * 8 + 5 * 4 * 8
                                            + 2 * 3 * 7 * 8, acs=42, exps=42)


def test_bad_head_count():
    with pytest.raises(ValidationError, match=r"MultiheadAttention\.num_heads: must divide "
                                              r"embed_dim=10 \(got 3\)"):
        MultiheadAttention(10, 3)


def _task(seed, batch=16, steps=4, tokens=6, width=12):
    """Two noisy binary prototypes; the label says which one a sequence shows."""
    g = torch.Generator().manual_seed(seed)
    protos = (torch.rand(2, tokens, width, generator=g) < 0.3).float()
    labels = torch.randint(0, 2, (batch,), generator=g)
    flips = (torch.rand(batch, tokens, width, generator=g) < 0.1).float()
    x = (protos[labels] + flips) % 2
    return x.unsqueeze(0).expand(steps, -1, -1, -1).contiguous(), labels


def test_spiking_self_attention_trains_with_surrogate_gradients():
    torch.manual_seed(0)
    x, labels = _task(1)
    layer = SpikingSelfAttention(12, 2, threshold=0.5)
    head = torch.nn.Linear(12, 2)
    opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=1e-2)
    losses = []
    for step in range(30):
        loss = torch.nn.functional.cross_entropy(head(layer(x).mean(dim=(0, 2))), labels)
        opt.zero_grad()
        loss.backward()
        if step == 0:  # the surrogate carries the gradient through the spike thresholds
            for name in ("q_proj", "k_proj", "v_proj"):
                assert getattr(layer, name).weight.grad.abs().sum() > 0, name
        opt.step()
        losses.append(loss.item())
    assert layer.out_proj.weight.grad.abs().sum() > 0  # attention neurons spike by now
    assert losses[0] > 0.6 and losses[-1] < 0.25 * losses[0], losses


def test_spiking_self_attention_eval_kernel_equals_training_math():
    torch.manual_seed(2)
    x, _ = _task(3)
    layer = SpikingSelfAttention(12, 3, threshold=0.5)
    with torch.no_grad():
        fast = layer.eval()(x)                  # bit-packed popcount kernel
    slow = layer.train()(x).detach()           # float matmuls, differentiable
    torch.testing.assert_close(fast, slow, rtol=0, atol=1e-5)


def test_spiking_self_attention_op_count_by_hand():
    # Identity projections with threshold 0.5 and no leak make q = k = v = x.
    layer = SpikingSelfAttention(4, 1, scale=1.0, beta=1.0, threshold=0.5,
                                 attn_threshold=100.0)
    with torch.no_grad():
        for proj in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj):
            proj.weight.copy_(torch.eye(4))
            proj.bias.zero_()
    x = torch.tensor([[[[1.0, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]]]])  # T=1, B=1, N=3
    ops = layer.count_ops(x)
    # projections: 5 input spikes * 4 outputs * 3 projections = 60 ACs;
    # K^T V: 2*2 + 3*3 + 0 = 13; Q (K^T V): (2 + 3 + 0) * 4 = 20; no attention spikes
    # (threshold 100), so the output projection costs 0.
    assert ops == OpCount(acs=93)
    assert ops.energy_pj == pytest.approx(93 * 0.9)


def test_spiking_self_attention_rejects_bad_input():
    layer = SpikingSelfAttention(8, 2)
    with pytest.raises(ValidationError, match=r"SpikingSelfAttention\.forward: x must be "
                                              r"\[T, B, N, E\] with E=8 \(got shape "
                                              r"\(2, 3, 8\)\)"):
        layer(torch.zeros(2, 3, 8))


def test_projection_counts_use_macs_for_real_inputs():
    layer = SpikingSelfAttention(4, 1, threshold=100.0, attn_threshold=100.0)
    x = torch.full((2, 1, 3, 4), 0.5)
    ops = layer.count_ops(x)                      # no spikes anywhere
    assert ops == OpCount(macs=2 * 3 * 3 * 16)   # T * projections * rows * E^2
    assert np.isclose(ops.energy_pj, 288 * 4.6)
