"""The torch backend (SDPA): agreement with the reference, autograd, zero rows, dispatch."""

import numpy as np
import pytest
import torch

from neuroattn.attention import reference_attention, scaled_dot_product_attention
from neuroattn.attention import dispatch


def _tensors(seed, shape_q, m, dv, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    *batch, n, d = shape_q
    return (torch.randn(*shape_q, generator=g, dtype=dtype),
            torch.randn(*batch, m, d, generator=g, dtype=dtype),
            torch.randn(*batch, m, dv, generator=g, dtype=dtype))


def _ref(q, k, v, **kw):
    kw = {a: (b.numpy() if torch.is_tensor(b) else b) for a, b in kw.items()}
    return torch.from_numpy(reference_attention(q.numpy(), k.numpy(), v.numpy(), **kw))


@pytest.mark.parametrize("shape", [(7, 5), (3, 7, 5), (2, 3, 7, 5), (2, 2, 3, 7, 5)])
@pytest.mark.parametrize("options", [{}, {"causal": True}, {"window": 2},
                                     {"window": 1, "global_tokens": [3], "causal": True}])
def test_matches_the_reference_for_any_batch_rank(shape, options):
    q, k, v = _tensors(0, shape, 7, 4)
    out = scaled_dot_product_attention(q, k, v, temperature=0.7, backend="torch", **options)
    assert out.shape == shape[:-1] + (4,) and out.dtype == torch.float64
    torch.testing.assert_close(out, _ref(q, k, v, temperature=0.7, **options), rtol=1e-12,
                               atol=1e-13)


def test_masks_and_fully_masked_rows_are_zero_with_zero_gradient():
    q, k, v = _tensors(1, (2, 3, 6, 4), 5, 3)
    mask = torch.rand(2, 1, 6, 5, generator=torch.Generator().manual_seed(2)) > 0.4
    mask[1, 0, 2] = False
    q.requires_grad_()
    out = scaled_dot_product_attention(q, k, v, mask=mask, causal=True, backend="torch")
    torch.testing.assert_close(out.detach(), _ref(q.detach(), k, v, mask=mask, causal=True),
                               rtol=1e-12, atol=1e-13)
    assert torch.all(out[1, :, 2] == 0)
    out.sum().backward()
    assert torch.isfinite(q.grad).all()
    assert torch.all(q.grad[1, :, 2] == 0) and q.grad.abs().sum() > 0


def test_gradients_match_finite_differences():
    q, k, v = _tensors(3, (1, 2, 5, 3), 6, 2)
    mask = torch.ones(6, dtype=torch.bool)
    mask[4] = False
    inputs = tuple(x.requires_grad_() for x in (q, k, v))
    assert torch.autograd.gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, mask=mask, window=2,
                                                     backend="torch"), inputs)


def test_float32_torch_meets_the_error_rule():
    q, k, v = _tensors(4, (2, 4, 97, 16), 97, 16, dtype=torch.float32)
    out = scaled_dot_product_attention(q, k, v, causal=True, backend="torch")
    ref = _ref(q.double(), k.double(), v.double(), causal=True)
    low = reference_attention(q.numpy(), k.numpy(), v.numpy(), causal=True, dtype=np.float32)
    err = (out.double() - ref).abs().max().item()
    assert err <= 2 * np.abs(low - ref.numpy()).max() + 16 * np.finfo(np.float32).eps


def _spy(monkeypatch):
    ran = []
    for name, fn in list(dispatch._RUN.items()):
        monkeypatch.setitem(dispatch._RUN, name,
                            lambda call, _n=name, _f=fn: ran.append(_n) or _f(call))
    return ran


def test_auto_chooses_numba_for_numpy_torch_for_tensors(monkeypatch):
    ran = _spy(monkeypatch)
    q, k, v = _tensors(5, (2, 6, 4), 6, 4, dtype=torch.float32)
    scaled_dot_product_attention(q.numpy(), k.numpy(), v.numpy())
    scaled_dot_product_attention(q, k, v)
    scaled_dot_product_attention(q, k, v, window=2)          # local: numba, no grad needed
    scaled_dot_product_attention(q.requires_grad_(), k, v, window=2)  # needs grad: torch
    assert ran == ["numba", "torch", "numba", "torch"]


def test_numpy_inputs_on_the_torch_backend_come_back_as_numpy():
    q, k, v = (x.numpy() for x in _tensors(6, (3, 5, 4), 5, 2, dtype=torch.float32))
    out = scaled_dot_product_attention(q, k, v, backend="torch")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32


@pytest.mark.parametrize("m", [4, 10])
def test_causal_and_window_with_more_or_fewer_keys_than_queries(m):
    q, k, v = _tensors(7, (2, 7, 5), m, 3)
    for options in ({"causal": True}, {"window": 2, "causal": True}, {"window": 1}):
        out = scaled_dot_product_attention(q, k, v, backend="torch", **options)
        torch.testing.assert_close(out, _ref(q, k, v, **options), rtol=1e-12, atol=1e-13)
