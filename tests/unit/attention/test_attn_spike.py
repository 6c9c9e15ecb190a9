"""Bit-packed spike attention: exact counts, softmax form, binary checks, torch paths."""

import numpy as np
import pytest
import torch

from neuroattn.attention import (pack_spikes, popcount_scores, reference_attention,
                                 scaled_dot_product_attention, spiking_self_attention)
from neuroattn.exceptions import ValidationError


def _spikes(rng, shape, rate=0.3):
    return rng.random(shape) < rate


def test_pack_spikes_bit_layout():
    x = np.zeros((2, 130), dtype=bool)
    x[0, [0, 63, 64, 129]] = True
    x[1, 5] = True
    packed = pack_spikes(x)
    assert packed.dtype == np.uint64 and packed.shape == (2, 3)
    assert packed[0].tolist() == [1 + 2**63, 1, 2]
    assert packed[1].tolist() == [32, 0, 0]


@pytest.mark.parametrize("d", [1, 63, 64, 65, 200])
def test_popcount_scores_are_exact_dot_products(d):
    rng = np.random.default_rng(d)
    q, k = _spikes(rng, (3, 17, d)), _spikes(rng, (3, 11, d))
    want = q.astype(np.int64) @ np.swapaxes(k, -1, -2).astype(np.int64)
    np.testing.assert_array_equal(popcount_scores(q, k), want)


@pytest.mark.parametrize("n, m, d, dv", [(1, 1, 1, 1), (97, 97, 97, 33), (1025, 1030, 64, 64),
                                          (5, 300, 130, 7)])
def test_linear_spiking_attention_is_exact(n, m, d, dv):
    rng = np.random.default_rng(n)
    q, k, v = _spikes(rng, (2, n, d)), _spikes(rng, (2, m, d)), _spikes(rng, (2, m, dv))
    want = (q.astype(np.float64) @ np.swapaxes(k, -1, -2)) @ v.astype(np.float64)
    out = spiking_self_attention(q, k, v, scale=1.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(spiking_self_attention(q, k, v, scale=0.125), want * 0.125)


def test_linear_spiking_attention_key_mask_drops_keys():
    rng = np.random.default_rng(1)
    q, k, v = _spikes(rng, (2, 3, 9, 70)), _spikes(rng, (2, 3, 40, 70)), _spikes(rng, (2, 3, 40, 8))
    keep = rng.random((2, 3, 40)) < 0.5
    out = spiking_self_attention(q.astype(np.float32), k.astype(np.float32),
                                 v.astype(np.uint8), scale=1.0, key_mask=keep)
    kk = k * keep[..., None]
    want = (q.astype(np.float64) @ np.swapaxes(kk, -1, -2)) @ v
    np.testing.assert_array_equal(out, want)


def test_torch_paths_agree_and_differentiate():
    g = torch.Generator().manual_seed(0)
    q, k, v = ((torch.rand(2, 2, 20, 16, generator=g) < 0.4).float() for _ in range(3))
    with torch.no_grad():
        fast = spiking_self_attention(q, k, v)
    q.requires_grad_()
    slow = spiking_self_attention(q, k, v)
    torch.testing.assert_close(fast, slow.detach(), rtol=0, atol=1e-6)
    slow.sum().backward()
    torch.testing.assert_close(q.grad, (k.transpose(-1, -2) @ v).sum(-1).unsqueeze(-2)
                               .expand_as(q) / 4.0)


@pytest.mark.parametrize("options", [{}, {"causal": True}, {"mask": True}, {"window": 4}])
def test_spike_softmax_backend_matches_the_float_reference(options):
    rng = np.random.default_rng(2)
    q, k, v = _spikes(rng, (2, 50, 70)), _spikes(rng, (2, 60, 70)), _spikes(rng, (2, 60, 5))
    kw = dict(options)
    if kw.pop("mask", False):
        kw["mask"] = rng.random((2, 50, 60)) > 0.3
    out = scaled_dot_product_attention(q, k, v, backend="spike", **kw)
    assert out.dtype == np.float32 and out.shape == (2, 50, 5)
    ref = reference_attention(*(x.astype(np.float64) for x in (q, k, v)), **kw)
    low = reference_attention(*(x.astype(np.float32) for x in (q, k, v)), dtype=np.float32,
                              **kw)
    err = np.abs(out - ref).max()
    assert err <= 2 * np.abs(low - ref).max() + 16 * np.finfo(np.float32).eps


def test_spike_backend_with_torch_tensors():
    g = torch.Generator().manual_seed(3)
    q, k, v = ((torch.rand(3, 12, 8, generator=g) < 0.5).float() for _ in range(3))
    out = scaled_dot_product_attention(q, k, v, backend="spike")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    torch.testing.assert_close(out, scaled_dot_product_attention(q, k, v, backend="torch"))


@pytest.mark.parametrize("bad", ["q", "k", "v"])
def test_non_binary_inputs_are_rejected(bad):
    rng = np.random.default_rng(4)
    arrays = {name: _spikes(rng, (6, 4)).astype(np.float32) for name in "qkv"}
    arrays[bad][2, 1] = 0.5
    with pytest.raises(ValidationError, match=rf"spiking_self_attention\.{bad}: must be a "
                                              r"binary spike tensor \(only 0 and 1\)"):
        spiking_self_attention(arrays["q"], arrays["k"], arrays["v"])
    with pytest.raises(ValidationError, match=rf"scaled_dot_product_attention\.{bad}: must "
                                              r"be a binary spike tensor"):
        scaled_dot_product_attention(arrays["q"], arrays["k"], arrays["v"], backend="spike")


def test_bad_key_mask_is_rejected():
    q = np.ones((4, 3), dtype=bool)
    with pytest.raises(ValidationError, match=r"spiking_self_attention\.key_mask: must be a "
                                              r"boolean \[\.\.\., M\] array with M=4"):
        spiking_self_attention(q, q, q, key_mask=np.ones(3, dtype=bool))
