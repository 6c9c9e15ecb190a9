"""Bit-packed spike attention: exact counts, softmax form, binary checks, torch paths."""

import numpy as np
import pytest
import torch

from neuroattn.attention import (pack_spikes, popcount_scores, reference_attention,
                                 scaled_dot_product_attention, spiking_self_attention)
from neuroattn.attention.spike import spiking_self_attention_packed
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


@pytest.mark.parametrize("n, m, d, dv", [(1, 1, 1, 1), (97, 130, 70, 33), (300, 1030, 64, 64),
                                          (5, 64, 130, 129)])
def test_packed_spiking_attention_is_exact(n, m, d, dv):
    rng = np.random.default_rng(d + dv)
    q, k, v = _spikes(rng, (3, n, d)), _spikes(rng, (1, m, d)), _spikes(rng, (3, m, dv))
    keep = rng.random((3, m)) < 0.7
    want = (q.astype(np.float64) @ np.swapaxes(k * keep[..., None], -1, -2)) @ v
    out = spiking_self_attention_packed(pack_spikes(q), pack_spikes(k), pack_spikes(v), d, dv,
                                        scale=1.0, key_mask=keep)
    assert out.dtype == np.float32 and out.shape == (3, n, dv)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(
        spiking_self_attention_packed(pack_spikes(q), pack_spikes(k), pack_spikes(v), d, dv),
        spiking_self_attention(q, k, v))


def test_packed_spiking_attention_counts_every_spike():
    # All ones: every count is M * D, the largest a query can reach.
    ones = np.ones((2, 200, 130), dtype=bool)
    out = spiking_self_attention_packed(*(pack_spikes(ones) for _ in range(3)), 130, 130,
                                        scale=1.0)
    np.testing.assert_array_equal(out, np.full((2, 200, 130), 200.0 * 130))


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "qp": a["qp"].astype(np.int64)}, r"qp: must be a uint64 numpy array"),
    (lambda a: {**a, "vp": a["vp"][..., :0]}, r"vp: must have ceil\(70 / 64\) = 2 words"),
    (lambda a: {**a, "kp": a["kp"] | np.uint64(1 << 63)}, r"kp: has bits set beyond feature 70"),
    (lambda a: {**a, "d": 0}, r"d: must be a positive int"),
    (lambda a: {**a, "kp": a["kp"][:3]}, r"kp and vp must have the same number of tokens"),
])
def test_packed_spiking_attention_rejects_bad_input(change, message):
    rng = np.random.default_rng(5)
    args = {"qp": pack_spikes(_spikes(rng, (4, 70))), "kp": pack_spikes(_spikes(rng, (6, 70))),
            "vp": pack_spikes(_spikes(rng, (6, 70))), "d": 70, "dv": 70}
    with pytest.raises(ValidationError, match=r"spiking_self_attention_packed[.:] ?" + message):
        spiking_self_attention_packed(**change(args))


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
