"""Hard attention: seeded sampling whose mean converges to soft attention."""

import numpy as np
import pytest
import torch

from neuroattn.attention import hard_attention, reference_attention
from neuroattn.exceptions import ValidationError


def test_sample_mean_converges_to_soft_attention():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 9, 3)), rng.normal(size=(2, 9, 2))
    samples = 20000
    out = hard_attention(q, k, v, causal=True, samples=samples, seed=1)
    soft, w = reference_attention(q, k, v, causal=True, return_weights=True)
    # Standard error of the mean per entry, from the exact weights.
    var = np.einsum("...nm,...md->...nd", w, v**2) - soft**2
    se = np.sqrt(np.maximum(var, 0) / samples)
    z = np.abs(out.values.mean(0) - soft) / np.maximum(se, 1e-12)
    assert z.max() < 5
    # Key frequencies match the weights.
    counts = np.stack([(out.indices == j).mean(0) for j in range(9)], -1)
    np.testing.assert_allclose(counts, w, atol=5 * np.sqrt(0.25 / samples))
    assert np.all(out.indices <= np.arange(6)[:, None].T)  # causal: key <= query


def test_same_seed_same_draws_and_masked_rows():
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(5, 4)) for _ in range(3))
    mask = np.ones((5, 5), dtype=bool)
    mask[3] = False
    a = hard_attention(q, k, v, mask=mask, samples=7, seed=11)
    b = hard_attention(q, k, v, mask=mask, samples=7, seed=11)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert np.all(a.indices[:, 3] == -1) and np.all(a.values[:, 3] == 0)
    assert a.values.shape == (7, 5, 4)
    np.testing.assert_array_equal(a.values[:, 0], v[a.indices[:, 0]])


def test_torch_in_torch_out():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 3, generator=g) for _ in range(3))
    out = hard_attention(q, k, v, samples=3, seed=0)
    assert isinstance(out.values, torch.Tensor) and out.values.shape == (3, 2, 4, 3)
    assert out.indices.dtype == torch.int64


def test_bad_sample_count():
    x = np.zeros((2, 2))
    with pytest.raises(ValidationError, match=r"hard_attention\.samples: must be an int >= 1 "
                                              r"\(got 0\)"):
        hard_attention(x, x, x, samples=0)
