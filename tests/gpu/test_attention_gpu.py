"""Attention on CUDA: the Triton kernel and the torch backend against the reference.

Skipped without CUDA. ``benchmarks/gpu_attention.py`` prints the timings.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from neuroattn.attention import available_backends, scaled_dot_product_attention

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                  reason="triton is not installed")


def _inputs(shape_q, m, dv, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    *batch, n, d = shape_q
    return (torch.randn(*shape_q, device="cuda", generator=g).to(dtype),
            torch.randn(*batch, m, d, device="cuda", generator=g).to(dtype),
            torch.randn(*batch, m, dv, device="cuda", generator=g).to(dtype))


def _rule(out, q, k, v, **kw):
    """|out - ref64| <= 2 |torch low precision - ref64| + floor."""
    ref = scaled_dot_product_attention(q.double(), k.double(), v.double(), backend="torch",
                                       **kw)
    low = scaled_dot_product_attention(q, k, v, backend="torch", **kw)
    eps = torch.finfo(q.dtype).eps
    err = (out.double() - ref).abs().max().item()
    assert err <= 2 * (low.double() - ref).abs().max().item() + 16 * eps, err


@needs_triton
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("options", [{}, {"causal": True}, {"window": 33},
                                     {"window": 17, "global_tokens": [0, 500]}, {"mask": True}])
def test_triton_meets_the_error_rule(dtype, options):
    assert available_backends()["triton"] is None
    q, k, v = _inputs((2, 3, 777, 64), 801, 48, dtype)
    kw = dict(options)
    if kw.pop("mask", False):
        kw["mask"] = torch.rand(2, 1, 777, 801, device="cuda") > 0.3
        kw["mask"][0, 0, 5] = False
    out = scaled_dot_product_attention(q, k, v, backend="triton", **kw)
    assert out.dtype == dtype and out.device.type == "cuda"
    _rule(out, q, k, v, **kw)
    if "mask" in kw:
        assert torch.all(out[0, :, 5] == 0)


@needs_triton
def test_auto_picks_triton_without_grad_and_torch_with_grad():
    q, k, v = _inputs((1, 2, 256, 32), 256, 32, torch.float16)
    a = scaled_dot_product_attention(q, k, v)
    _rule(a, q, k, v)
    q.requires_grad_()
    b = scaled_dot_product_attention(q, k, v)
    b.float().sum().backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()


def test_torch_backend_on_cuda_with_window_and_mask():
    q, k, v = _inputs((2, 4, 300, 16), 300, 16, torch.float32)
    mask = torch.rand(2, 300, device="cuda") > 0.2
    out = scaled_dot_product_attention(q, k, v, mask=mask[:, None], window=20,
                                       backend="torch")
    ref = scaled_dot_product_attention(q.cpu().double(), k.cpu().double(), v.cpu().double(),
                                       mask=mask[:, None].cpu(), window=20,
                                       backend="reference")
    torch.testing.assert_close(out.cpu().double(), ref, rtol=1e-4, atol=1e-5)
