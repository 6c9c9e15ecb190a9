"""The fused Numba kernel against the float64 reference (FlashAttention's error rule)."""

import dataclasses

import numba
import numpy as np
import pytest

from neuroattn.attention import reference_attention, scaled_dot_product_attention
from neuroattn.attention._validate import check_attention
from neuroattn.attention.fused import fused_attention


def assert_meets_error_rule(out, q, k, v, **kw):
    """|fast - ref64| <= 2 |ref_lowprec - ref64| + floor (FlashAttention's test rule)."""
    ref = reference_attention(q.astype(np.float64), k.astype(np.float64),
                              v.astype(np.float64), **kw)
    low = reference_attention(q, k, v, dtype=out.dtype, **kw)
    err = np.abs(out.astype(np.float64) - ref).max()
    err_low = np.abs(low.astype(np.float64) - ref).max()
    floor = 16 * np.finfo(out.dtype).eps * max(1.0, np.abs(v).max())
    assert err <= 2 * err_low + floor, (err, err_low, floor)


def _qkv(rng, shape_q, m, dv, dtype, spread=1.0):
    *batch, n, d = shape_q
    q = (rng.normal(size=shape_q) * spread).astype(dtype)
    k = rng.normal(size=(*batch, m, d)).astype(dtype)
    v = rng.normal(size=(*batch, m, dv)).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("n, d", [(1, 1), (97, 97), (1025, 64)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_any_size_matches_the_reference(n, d, dtype):
    rng = np.random.default_rng(n + d)
    q, k, v = _qkv(rng, (2, n, d), n, 5, dtype)
    out = scaled_dot_product_attention(q, k, v, causal=n > 1, backend="numba")
    assert out.dtype == dtype and out.shape == (2, n, 5)
    assert_meets_error_rule(out, q, k, v, causal=n > 1)


@pytest.mark.parametrize("options", [
    {"mask": "full"}, {"mask": "keys"}, {"causal": True, "mask": "full"},
    {"window": 5}, {"window": 3, "causal": True},
    {"window": 4, "global_tokens": [0, 77]}, {"window": 2, "global_tokens": 3, "causal": True},
    {"window": 6, "global_tokens": [10], "mask": "keys", "temperature": 0.5, "scale": 0.3},
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masks_window_and_global_tokens(options, dtype):
    rng = np.random.default_rng(7)
    q, k, v = _qkv(rng, (3, 150, 12), 170, 9, dtype)
    kw = dict(options)
    if kw.get("mask") == "full":
        kw["mask"] = rng.random((3, 150, 170)) > 0.4
    elif kw.get("mask") == "keys":
        kw["mask"] = rng.random((3, 170)) > 0.4
    out = scaled_dot_product_attention(q, k, v, backend="numba", **kw)
    assert_meets_error_rule(out, q, k, v, **kw)


def test_tile_sizes_do_not_change_the_result():
    rng = np.random.default_rng(3)
    q, k, v = _qkv(rng, (2, 90, 7), 61, 3, np.float64)
    call = check_attention(q, k, v, causal=True, window=9, global_tokens=[5, 60])
    a = fused_attention(call, block_q=7, block_k=5)
    b = fused_attention(call, block_q=64, block_k=128)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def test_logits_of_1e4_are_stable():
    rng = np.random.default_rng(4)
    q, k, v = _qkv(rng, (2, 200, 16), 200, 8, np.float32)
    q = q * np.float32(1e4 / np.abs(q @ k.swapaxes(1, 2) / 4).max())
    out = scaled_dot_product_attention(q, k, v, backend="numba")
    assert np.isfinite(out).all()
    assert_meets_error_rule(out, q, k, v)


def test_fully_masked_rows_are_zero():
    rng = np.random.default_rng(5)
    q, k, v = _qkv(rng, (2, 40, 8), 30, 4, np.float32)
    mask = rng.random((2, 40, 30)) > 0.5
    mask[0, 3] = False
    mask[1, 39] = False
    out = scaled_dot_product_attention(q, k, v, mask=mask, backend="numba")
    assert np.all(out[0, 3] == 0) and np.all(out[1, 39] == 0)
    assert np.abs(out[0, 4]).max() > 0


def test_local_attention_never_reads_keys_outside_the_band():
    # Queries 0..255 with window 8 can only see keys < 264 (plus the global ones); the
    # kernel must skip the tiles of keys 512.. entirely, so NaN there cannot leak in.
    rng = np.random.default_rng(6)
    q, k, v = _qkv(rng, (1, 256, 16), 1024, 4, np.float32)
    call = check_attention(q, k, v, window=8, global_tokens=[700])
    k_bad, v_bad = k.copy(), v.copy()
    k_bad[:, 512:700], v_bad[:, 512:700] = np.nan, np.nan
    k_bad[:, 701:], v_bad[:, 701:] = np.nan, np.nan
    out = fused_attention(dataclasses.replace(call, k=k_bad, v=v_bad))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, fused_attention(call), rtol=0, atol=0)
    assert_meets_error_rule(out, q, k, v, window=8, global_tokens=[700])


def test_broadcast_batch_dimensions():
    rng = np.random.default_rng(8)
    q = rng.normal(size=(2, 3, 20, 4)).astype(np.float32)
    k = rng.normal(size=(2, 1, 25, 4)).astype(np.float32)  # shared across heads
    v = rng.normal(size=(25, 6)).astype(np.float32)        # shared across everything
    out = scaled_dot_product_attention(q, k, v, backend="numba")
    assert out.shape == (2, 3, 20, 6)
    assert_meets_error_rule(out, q, k, v)


def test_float16_inputs_come_back_float16():
    rng = np.random.default_rng(9)
    q, k, v = _qkv(rng, (30, 8), 30, 8, np.float16)
    out = scaled_dot_product_attention(q, k, v, backend="numba")
    assert out.dtype == np.float16
    assert_meets_error_rule(out, q, k, v)


@pytest.mark.parametrize("options", [{}, {"window": 20}, {"causal": True, "window": 7}])
def test_result_does_not_depend_on_the_thread_count(options):
    # Tasks are handed out at run time (a shared counter), in any order, to any thread.
    rng = np.random.default_rng(11)
    q, k, v = _qkv(rng, (3, 2, 300, 16), 300, 8, np.float32)
    before = numba.get_num_threads()
    try:
        outs = []
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            outs.append(scaled_dot_product_attention(q, k, v, backend="numba", **options))
    finally:
        numba.set_num_threads(before)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("options", [
    {"bias": "full"}, {"bias": "keys"}, {"bias": "full", "causal": True},
    {"bias": "full", "window": 6, "global_tokens": [10, 140]},
    {"bias": "keys", "scale": -0.4}, {"bias": "full", "scale": 0.0},
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_masks_are_added_to_the_logits(options, dtype):
    """A float attn_mask (with -inf entries) across tiles, bands, global keys and any scale."""
    rng = np.random.default_rng(12)
    q, k, v = _qkv(rng, (2, 150, 12), 170, 5, dtype)
    kw = dict(options)
    shape = (2, 150, 170) if kw.pop("bias") == "full" else (2, 1, 170)
    bias = (2 * rng.normal(size=shape)).astype(dtype)
    bias[rng.random(shape) < 0.2] = -np.inf
    bias[..., 0] = 0.0
    kw["attn_mask"] = bias
    out = scaled_dot_product_attention(q, k, v, backend="numba", **kw)
    assert_meets_error_rule(out, q, k, v, **kw)


def test_float_masks_on_popcount_logits():
    rng = np.random.default_rng(13)
    q, k, v = ((rng.random((2, 70, 40)) < 0.3).astype(np.float32) for _ in range(3))
    bias = rng.normal(size=(70, 70)).astype(np.float32)
    out = scaled_dot_product_attention(q, k, v, bias, backend="spike", scale=0.2)
    assert_meets_error_rule(out, q, k, v, attn_mask=bias, scale=0.2)
