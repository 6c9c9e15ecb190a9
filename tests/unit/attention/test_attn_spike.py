"""Bit-packed spike attention: exact counts, softmax form, binary checks, torch paths."""

import numba
import numpy as np
import pytest
import torch

from neuroattn.attention import (pack_spikes, popcount_scores, reference_attention,
                                 scaled_dot_product_attention, spiking_self_attention)
from neuroattn.attention.spike import (TABLE_BYTES, _empty64, _largest_sum, _linear_kernel,
                                       _split_counts, _split_rows, _table_rows,
                                       spiking_self_attention_packed)
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


def _want(q, kv, scale):
    """float32 of scale * (q @ kv) computed exactly (float64 holds these integers)."""
    return ((q.astype(np.float64) @ kv.astype(np.float64)) * scale).astype(np.float32)


@pytest.mark.parametrize("top", [100, 70_000, 2**27, 2**40])
@pytest.mark.parametrize("table_bytes", [0, 2**20])
@pytest.mark.parametrize("d, dv", [(64, 64), (70, 33), (5, 1)])
def test_query_sums_are_exact_in_every_table_type(top, table_bytes, d, dv):
    # Counts with column sums near `top`, in every table type that holds them and with
    # float32 and float64 products where allowed; table_bytes=0 forces 4-spike groups.
    rng = np.random.default_rng(top % 1000 + d)
    kv = rng.integers(0, max(1, 2 * top // d), (d, dv)).astype(np.uint64)
    kv[:, 0] = top // d
    largest = int(kv.sum(axis=0).max())
    q = _spikes(rng, (1, 50, d), rate=0.5)
    q[0, 0] = True
    qp = pack_spikes(q)
    out = _empty64((1, 50, dv), np.empty(0, np.float32))
    dtypes = [t for t in (np.uint16, np.uint32, np.uint64) if largest < np.iinfo(t).max]
    for dtype in dtypes:
        for scale in (0.125, 1 / np.sqrt(70)):
            factors = [scale]
            if largest <= 2**24 and float(np.float32(scale)) == scale:
                factors.append(np.float32(scale))
            for factor in factors:
                for stream in (False, True):
                    _table_rows(qp, kv.astype(np.uint32 if top < 2**32 else np.uint64), 0,
                                0, 50, out, factor, np.empty(0, dtype), table_bytes, stream)
                    np.testing.assert_array_equal(out[0], _want(q[0], kv, scale))


def test_largest_sum_bounds_every_column_sum():
    rng = np.random.default_rng(12)
    for rate in (0.0, 0.1, 0.9):
        k, v = _spikes(rng, (3, 200, 70), rate), _spikes(rng, (3, 200, 9), 0.5)
        column_sums = (np.swapaxes(k, -1, -2).astype(np.int64) @ v).sum(axis=-2)
        bound = _largest_sum(pack_spikes(k))
        assert bound == k.sum(axis=(-1, -2)).max() >= column_sums.max()


@pytest.mark.parametrize("m, scale", [(1100, 1.0), (1100, 1 / np.sqrt(64.5))])
def test_large_counts_stay_exact(m, scale):
    # All ones: K^T V = M everywhere and every query sums D M = 70 400 > 2**16.
    ones = np.ones((2, 3, m, 64), dtype=bool)
    out = spiking_self_attention(ones[:, :, :5], ones, ones, scale=scale)
    np.testing.assert_array_equal(out, np.float32(64.0 * m * scale))


def test_split_tokens_and_queries_give_the_same_counts():
    # Fewer batch entries than threads: keys and queries are cut into chunks.
    rng = np.random.default_rng(8)
    q, k, v = (_spikes(rng, s) for s in ((1, 700, 70), (1, 3000, 70), (1, 3000, 9)))
    want = _want(q[0], (k[0].T.astype(np.int64) @ v[0]), 0.125)
    qp, kp, vp = pack_spikes(q), pack_spikes(k), pack_spikes(v)
    for threads in (1, 2, 3):
        tables = np.empty(0, np.uint16)
        out = _linear_kernel(qp, kp, vp, 70, 9, np.float32(0.125), tables, TABLE_BYTES,
                             False, threads)
        np.testing.assert_array_equal(out[0], want)
        for kchunks, qchunks in [(1, 1), (3, 1), (1, 4), (5, 2)]:
            parts = _split_counts(kp, vp, 70, 9, kchunks, threads)
            out = _split_rows(qp, parts, np.float32(0.125), tables, qchunks, TABLE_BYTES,
                              False, threads)
            np.testing.assert_array_equal(out[0], want)


def test_spiking_attention_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(9)
    q, k, v = (_spikes(rng, (3, 2, n, 64)) for n in (300, 500, 500))
    before = numba.get_num_threads()
    try:
        outs = []
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            outs.append(spiking_self_attention(q, k, v))
    finally:
        numba.set_num_threads(before)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_empty_batch_gives_an_empty_result():
    rng = np.random.default_rng(10)
    q = _spikes(rng, (0, 5, 8))
    qp = pack_spikes(q)
    out = spiking_self_attention_packed(qp, qp, qp, 8, 8)
    assert out.shape == (0, 5, 8) and out.dtype == np.float32
