"""Properties of the attention kernels over random shapes, masks, flags and dtypes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from neuroattn.attention import (hard_attention, reference_attention,
                                 scaled_dot_product_attention, spiking_self_attention)
from neuroattn.attention._numba_math import transpose64

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def problems(draw, binary=False):
    """(q, k, v, options) with random batch, sizes, dtype, mask, causal, window."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    batch = draw(st.sampled_from([(), (1,), (2,), (2, 3)]))
    n, m = draw(st.integers(1, 70)), draw(st.integers(1, 70))
    d, dv = draw(st.integers(1, 70)), draw(st.integers(1, 9))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    if binary:
        q, k, v = (rng.random(batch + s) < rng.uniform(0.05, 0.6)
                   for s in ((n, d), (m, d), (m, dv)))
    else:
        spread = draw(st.sampled_from([0.1, 1.0, 5.0]))
        q = (rng.normal(size=batch + (n, d)) * spread).astype(dtype)
        k, v = (rng.normal(size=batch + s).astype(dtype) for s in ((m, d), (m, dv)))
    options = {"causal": draw(st.booleans())}
    mask_kind = draw(st.sampled_from([None, "full", "keys"]))
    if mask_kind == "full":
        options["mask"] = rng.random(batch + (n, m)) < 0.7
    elif mask_kind == "keys" and batch:
        options["mask"] = rng.random(batch + (m,)) < 0.7
    if draw(st.booleans()):
        options["window"] = draw(st.integers(0, 20))
        if draw(st.booleans()):
            options["global_tokens"] = sorted(set(rng.integers(0, max(n, m), 3).tolist()))
    return q, k, v, options


def _assert_error_rule(out, q, k, v, options):
    ref = reference_attention(*(x.astype(np.float64) for x in (q, k, v)), **options)
    low = reference_attention(*(x.astype(out.dtype) for x in (q, k, v)), dtype=out.dtype,
                              **options)
    err = np.abs(out.astype(np.float64) - ref).max()
    floor = 16 * np.finfo(out.dtype).eps * max(1.0, float(np.abs(v).max()))
    assert err <= 2 * np.abs(low.astype(np.float64) - ref).max() + floor


@SETTINGS
@given(problems())
def test_numba_kernel_meets_the_error_rule(problem):
    q, k, v, options = problem
    out = scaled_dot_product_attention(q, k, v, backend="numba", **options)
    assert out.dtype == q.dtype and out.shape == np.broadcast_shapes(
        q.shape[:-1], v.shape[:-2] + (1,))[:-1] + q.shape[-2:-1] + v.shape[-1:]
    _assert_error_rule(out, q, k, v, options)


@SETTINGS
@given(problems(binary=True))
def test_spike_softmax_meets_the_error_rule(problem):
    q, k, v, options = problem
    out = scaled_dot_product_attention(q, k, v, backend="spike", **options)
    _assert_error_rule(out, q.astype(np.float32), k.astype(np.float32),
                       v.astype(np.float32), options)


@SETTINGS
@given(problems(binary=True))
def test_spiking_linear_attention_is_exact(problem):
    q, k, v, _ = problem
    want = (q.astype(np.float64) @ np.swapaxes(k, -1, -2)) @ v
    np.testing.assert_array_equal(spiking_self_attention(q, k, v, scale=1.0), want)


@SETTINGS
@given(problems())
def test_weights_sum_to_one(problem):
    q, k, v, options = problem
    ones = np.ones(v.shape[:-1] + (1,), v.dtype)
    out = scaled_dot_product_attention(q, k, ones, backend="numba", **options)
    _, w = reference_attention(q, k, ones, return_weights=True, **options)
    seen = w.sum(-1) > 0            # rows with at least one visible key sum to 1
    np.testing.assert_allclose(out[..., 0][seen], 1.0, rtol=10 * np.finfo(q.dtype).eps)
    assert np.all(out[..., 0][~seen] == 0)


@SETTINGS
@given(problems(), st.randoms(use_true_random=False))
def test_permuting_keys_with_values_changes_nothing(problem, random):
    q, k, v, options = problem
    options.pop("causal"), options.pop("window", None), options.pop("global_tokens", None)
    perm = np.array(random.sample(range(k.shape[-2]), k.shape[-2]))
    mask = options.get("mask")
    permuted = {} if mask is None else {"mask": mask[..., perm]}
    a = scaled_dot_product_attention(q, k, v, backend="numba", **options)
    b = scaled_dot_product_attention(q, k[..., perm, :], v[..., perm, :], backend="numba",
                                     **permuted)
    _assert_error_rule(b, q, k, v, options)
    np.testing.assert_allclose(a, b, rtol=0, atol=20 * np.finfo(q.dtype).eps
                               * max(1.0, float(np.abs(v).max())))


@SETTINGS
@given(problems(), st.integers(0, 69))
def test_causal_output_ignores_the_future(problem, cut):
    q, k, v, options = problem
    options["causal"] = True
    n = q.shape[-2]
    cut = min(cut, n - 1)
    rng = np.random.default_rng(cut)
    q2, k2, v2 = q.copy(), k.copy(), v.copy()
    q2[..., cut + 1:, :] = rng.normal(size=q2[..., cut + 1:, :].shape)
    k2[..., cut + 1:, :] = rng.normal(size=k2[..., cut + 1:, :].shape)
    v2[..., cut + 1:, :] = rng.normal(size=v2[..., cut + 1:, :].shape)
    if "mask" in options and options["mask"].shape[-2:] == (n, k.shape[-2]):
        options["mask"] = options["mask"].copy()
    for backend in ("numba", "torch"):
        a = scaled_dot_product_attention(q, k, v, backend=backend, **options)
        b = scaled_dot_product_attention(q2, k2, v2, backend=backend, **options)
        np.testing.assert_array_equal(a[..., :cut + 1, :], b[..., :cut + 1, :])


@settings(max_examples=10, deadline=None)
@given(problems())
def test_hard_attention_sample_mean_converges(problem):
    q, k, v, options = problem
    samples = 4000
    out = hard_attention(q, k, v, samples=samples, seed=0, **options)
    soft, w = reference_attention(*(x.astype(np.float64) for x in (q, k, v)),
                                  return_weights=True, **options)
    v64 = v.astype(np.float64)
    var = np.einsum("...nm,...md->...nd", w, np.broadcast_to(v64, w.shape[:-2] + v64.shape[-2:])
                    ** 2) - soft**2
    # Bernstein's inequality for a mean of S draws within +-R of their expectation:
    # |mean - soft| <= sqrt(2 var L / S) + 2 R L / (3 S) with probability 1 - 2 exp(-L).
    # (A normal-theory bound fails here: near-one-hot weights make the draws skewed.)
    big_l, r = np.log(2 / 1e-9), 2 * float(np.abs(v64).max())
    bound = np.sqrt(2 * np.maximum(var, 0) * big_l / samples) + 2 * r * big_l / (3 * samples)
    assert np.all(np.abs(out.values.astype(np.float64).mean(0) - soft) <= bound + 1e-12)


@njit
def _transpose64(a):
    transpose64(a)


@SETTINGS
@given(st.lists(st.integers(0, 2**64 - 1), min_size=64, max_size=64))
def test_bit_transpose_is_an_involution_and_the_matrix_transpose(words):
    a = np.array(words, dtype=np.uint64)
    bits = np.unpackbits(a.view(np.uint8), bitorder="little").reshape(64, 64)
    b = a.copy()
    _transpose64(b)
    np.testing.assert_array_equal(
        np.unpackbits(b.view(np.uint8), bitorder="little").reshape(64, 64), bits.T)
    _transpose64(b)
    np.testing.assert_array_equal(b, a)
