"""The Numba helpers of the kernels: bit transpose, row sums, the shared task counter."""

import numba
import numpy as np
import pytest
from numba import njit, prange

from neuroattn.attention._numba_math import fetch_add, sum_rows, transpose64


@njit
def _transpose(a):
    transpose64(a)


@njit
def _sum3(dst, a, b, c, scale):
    sum_rows(dst, (a, b, c), scale, False)


@njit
def _sum2_streamed(dst, a, b):
    sum_rows(dst, (a, b), np.float32(1.0), True)


@njit
def _sum2_unscaled(dst, a, b):
    sum_rows(dst, (a, b), None, False)


@njit(parallel=True)
def _claim_all(ntask, workers):
    counters = np.zeros(1, np.int64)
    done = np.zeros(ntask, np.int64)
    for _ in prange(workers):
        t = fetch_add(counters, 0, 1)
        while t < ntask:
            done[t] += 1
            t = fetch_add(counters, 0, 1)
    return done, fetch_add(counters, 0, 0)


def _bits(words):
    return np.unpackbits(words.view(np.uint8), bitorder="little").reshape(64, 64)


def test_transpose64_is_the_bit_matrix_transpose():
    rng = np.random.default_rng(0)
    for density in (0.0, 0.05, 0.5, 1.0):
        bits = rng.random((64, 64)) < density
        words = np.packbits(bits, axis=1, bitorder="little").view("<u8").ravel().copy()
        _transpose(words)
        np.testing.assert_array_equal(_bits(words), bits.T)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64, np.int32, np.int64,
                                   np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 15, 16, 33, 64, 100])
def test_sum_rows_is_the_scaled_elementwise_sum(dtype, n):
    rng = np.random.default_rng(n)
    a, b, c = (rng.integers(0, 1000, n).astype(dtype) for _ in range(3))
    exact = a.astype(np.float64) + b + c
    for scale in (np.float32(0.125), 1 / np.sqrt(70)):
        for out_dtype in (np.float32, np.float64):
            out = np.full(n, np.nan, out_dtype)
            _sum3(out, a, b, c, scale)
            want = (exact * scale).astype(out_dtype)
            np.testing.assert_array_equal(out, want)
    unscaled = np.empty(n, dtype)
    _sum2_unscaled(unscaled, a, b)
    np.testing.assert_array_equal(unscaled, a + b)
    _sum2_unscaled(a, a, b)   # dst may be one of the rows
    np.testing.assert_array_equal(a, unscaled)


def test_sum_rows_streams_aligned_and_unaligned_rows_alike():
    buffer = np.zeros(300, np.float32)
    a = np.arange(200, dtype=np.float32)
    for offset in range(20):   # some starts on a 64-byte boundary, most not
        dst = buffer[offset:offset + 100]
        _sum2_streamed(dst, a[:100], 2 * a[:100])
        np.testing.assert_array_equal(dst, 3 * a[:100])


def test_fetch_add_hands_out_every_task_once():
    workers = max(2, numba.config.NUMBA_NUM_THREADS)
    done, total = _claim_all(1000, workers)
    np.testing.assert_array_equal(done, 1)
    assert total == 1000 + workers   # one unsuccessful claim per worker
