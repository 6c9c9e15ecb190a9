"""Bad input: each mistake raises an error naming the argument, expectation and fix."""

import re

import numpy as np
import pytest
import torch

from neuroattn.attention import (OpCount, available_backends, linear_ops, pack_spikes,
                                 popcount_scores, scaled_dot_product_attention,
                                 softmax_attention_ops, spiking_attention_ops, visible_keys)
from neuroattn.exceptions import BackendUnavailable, ValidationError

SDPA = "scaled_dot_product_attention"


def _qkv(n=4, m=5, d=3, dv=2, batch=(2,), dtype=np.float32):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(*batch, n, d)).astype(dtype),
            rng.normal(size=(*batch, m, d)).astype(dtype),
            rng.normal(size=(*batch, m, dv)).astype(dtype))


def _raises(message, *args, **kwargs):
    with pytest.raises(ValidationError, match=re.escape(message)):
        scaled_dot_product_attention(*args, **kwargs)


def test_key_width_must_equal_query_width():
    q, _, v = _qkv()
    k = np.zeros((2, 5, 4), np.float32)
    _raises(f"{SDPA}.k: last dimension must equal q's (D=3) (got k.shape=(2, 5, 4)); "
            "project q and k to one width", q, k, v)


def test_values_need_one_row_per_key():
    q, k, _ = _qkv()
    _raises(f"{SDPA}.v: must have as many rows as k (M=5) (got v.shape=(2, 6, 2))",
            q, k, np.zeros((2, 6, 2), np.float32))


def test_batch_dimensions_must_broadcast():
    q, k, v = _qkv()
    _raises(f"{SDPA}: the leading (batch) dimensions of q, k and v must broadcast (got "
            "q(2,), k(3,), v(2,))", q, np.zeros((3, 5, 3), np.float32), v)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 4, 6), (7,)])
def test_mask_of_wrong_shape(shape):
    q, k, v = _qkv()
    mask = np.ones(shape, dtype=bool)
    _raises(f"{SDPA}.mask: must be broadcastable to [..., N, M] = (2, 4, 5) or a "
            f"key-padding mask [..., M] = (2, 5)", q, k, v, mask=mask)


def test_mask_must_be_boolean():
    q, k, v = _qkv()
    _raises(f"{SDPA}.mask: must be boolean, True = attend (got dtype float64); pass "
            "mask.astype(bool) / mask.bool()", q, k, v, mask=np.ones((4, 5)))


@pytest.mark.parametrize("name", ["q", "k", "v"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_inputs(name, bad):
    arrays = dict(zip("qkv", _qkv()))
    arrays[name][1, 2, 0] = bad
    _raises(f"{SDPA}.{name}: contains NaN or Inf; attention needs finite inputs",
            arrays["q"], arrays["k"], arrays["v"])


def test_nan_in_torch_tensor():
    q, k, v = (torch.from_numpy(x) for x in _qkv())
    q[0, 0, 0] = float("nan")
    _raises(f"{SDPA}.q: contains NaN or Inf", q, k, v)


def test_integer_inputs_and_mixed_dtypes():
    q, k, v = _qkv()
    _raises(f"{SDPA}.q: must be a floating-point array (got dtype int64); cast it",
            q.astype(np.int64), k, v)
    _raises(f"{SDPA}: q, k and v must share one dtype (got float32, float64, float32)",
            q, k.astype(np.float64), v)


def test_mixed_array_types_and_non_arrays():
    q, k, v = _qkv()
    _raises(f"{SDPA}: q, k and v must all be numpy arrays or all torch tensors", q,
            torch.from_numpy(k), v)
    _raises(f"{SDPA}.q: must be a numpy.ndarray or torch.Tensor (got list)", q.tolist(), k, v)
    _raises(f"{SDPA}.q: must have at least 2 dimensions [..., tokens, features] (got shape "
            "(3,))", np.zeros(3, np.float32), k, v)


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.0}, f"{SDPA}.temperature: must be > 0 (got 0.0)"),
    ({"temperature": float("nan")}, f"{SDPA}.temperature: must be a finite real number"),
    ({"scale": "big"}, f"{SDPA}.scale: must be a finite real number (got 'big')"),
    ({"window": -1}, f"{SDPA}.window: must be an int >= 0"),
    ({"window": 2.5}, f"{SDPA}.window: must be an int >= 0"),
    ({"global_tokens": 2}, f"{SDPA}.global_tokens: only meaningful with a local window"),
    ({"window": 1, "global_tokens": [9]}, f"{SDPA}.global_tokens: positions must be in "
                                          "[0, 5) (got min 9, max 9)"),
    ({"causal": "yes"}, f"{SDPA}.causal: must be True or False (got 'yes')"),
])
def test_bad_options(kwargs, message):
    _raises(message, *_qkv(), **kwargs)


def test_unknown_backend():
    with pytest.raises(BackendUnavailable, match=re.escape(
            f"{SDPA}.backend: unknown backend 'cuda'; expected 'auto' or one of "
            "['reference', 'numba', 'torch', 'triton', 'spike']")):
        scaled_dot_product_attention(*_qkv(), backend="cuda")


def test_gradient_free_backend_refuses_tensors_that_need_grad():
    q, k, v = (torch.from_numpy(x) for x in _qkv())
    q.requires_grad_()
    with pytest.raises(BackendUnavailable, match=re.escape(
            f"{SDPA}: backend 'numba' does not propagate gradients but q, k, v or attn_mask "
            "requires grad; use backend='torch'")):
        scaled_dot_product_attention(q, k, v, backend="numba")


def test_triton_without_cuda_reports_why():
    reasons = available_backends()
    assert set(reasons) == {"reference", "numba", "torch", "triton", "spike"}
    assert reasons["numba"] is None and reasons["torch"] is None
    if torch.cuda.is_available() or reasons["triton"] is None:
        pytest.skip("triton can run here")
    assert "no CUDA device" in reasons["triton"] or "not importable" in reasons["triton"]
    with pytest.raises(BackendUnavailable, match=re.escape(
            f"{SDPA}: backend 'triton' is not available: ")):
        scaled_dot_product_attention(*(torch.from_numpy(x) for x in _qkv()), backend="triton")


# --- torch's spelling of the options ------------------------------------------------

def test_an_option_under_both_its_names():
    q, k, v = _qkv()
    keep = np.ones((4, 5), dtype=bool)
    _raises(f"{SDPA}: mask and attn_mask were both given; they are two spellings of one "
            "option", q, k, v, keep, mask=keep)
    _raises(f"{SDPA}: causal and is_causal were both given", q, k, v, is_causal=True,
            causal=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"attn_mask": np.ones((4, 5), np.int64)}, f"{SDPA}.attn_mask: must be boolean (True = "
                                               "take part) or floating point (added to the "
                                               "logits) (got dtype int64)"),
    # torch's attn_mask only broadcasts: [B, M] is not read as a key-padding mask
    ({"attn_mask": np.ones((2, 5), bool)}, f"{SDPA}.attn_mask: must be broadcastable to "
                                           "[..., N, M] = (2, 4, 5) (got shape (2, 5))"),
    ({"attn_mask": np.full((4, 5), np.nan)}, f"{SDPA}.attn_mask: contains NaN or +inf"),
    ({"attn_mask": np.full((4, 5), np.inf)}, f"{SDPA}.attn_mask: contains NaN or +inf"),
    ({"dropout_p": 1.5}, f"{SDPA}.dropout_p: must be in [0, 1] (got 1.5)"),
    ({"dropout_p": "0.1"}, f"{SDPA}.dropout_p: must be a finite real number (got '0.1')"),
    ({"is_causal": None}, f"{SDPA}.is_causal: must be True or False (got None)"),
    ({"enable_gqa": 1}, f"{SDPA}.enable_gqa: must be True or False (got 1)"),
])
def test_bad_torch_options(kwargs, message):
    _raises(message, *_qkv(), **kwargs)


def test_float_mask_of_minus_inf_is_a_hidden_key():
    q, k, v = _qkv()
    bias = np.zeros((4, 5))
    bias[:, 1] = -np.inf
    keep = np.ones((4, 5), dtype=bool)
    keep[:, 1] = False
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, bias),
                               scaled_dot_product_attention(q, k, v, mask=keep[None]),
                               rtol=1e-6)


def test_grouped_heads_must_divide():
    q = np.zeros((2, 4, 3, 2), np.float32)
    kv = np.zeros((2, 3, 5, 2), np.float32)
    _raises(f"{SDPA}.enable_gqa: k and v must have one head count that divides q's (got q "
            "4, k 3, v 3 heads)", q, kv, kv, enable_gqa=True)
    _raises(f"{SDPA}.enable_gqa: needs q, k and v of at least 3 dimensions", q[0, 0], kv[0, 0],
            kv[0, 0], enable_gqa=True)


def test_dropout_and_differentiable_masks_need_the_torch_backend():
    q, k, v = (torch.from_numpy(x) for x in _qkv())
    with pytest.raises(BackendUnavailable, match=re.escape(
            f"{SDPA}.dropout_p: backend 'numba' has no dropout (got dropout_p=0.5); use "
            "backend='torch'")):
        scaled_dot_product_attention(q, k, v, dropout_p=0.5, backend="numba")
    bias = torch.zeros(4, 5, requires_grad=True)
    with pytest.raises(BackendUnavailable, match="does not propagate gradients but q, k, v "
                                                 "or attn_mask requires grad"):
        scaled_dot_product_attention(q, k, v, bias, backend="reference")
    out = scaled_dot_product_attention(q, k, v, bias)        # auto: torch, differentiable
    out.sum().backward()
    assert bias.grad is not None and torch.isfinite(bias.grad).all()


@pytest.mark.parametrize("call, message", [
    (lambda: softmax_attention_ops(3, 0, 4, 4), "softmax_attention_ops.m: must be an int "
                                                ">= 1 (got 0)"),
    (lambda: softmax_attention_ops(3, 3, 4, 4, visible=10), "softmax_attention_ops.visible: "
                                                            "at most n m = 9 pairs"),
    (lambda: linear_ops(2.5, 4, 4), "linear_ops.rows: must be an int >= 0 (got 2.5)"),
    (lambda: linear_ops(2, 4, 4, input_spikes=-1), "linear_ops.input_spikes: must be an "
                                                   "int >= 0 (got -1)"),
    (lambda: OpCount(macs=-1), "OpCount.macs: must be an int >= 0 (got -1)"),
    (lambda: spiking_attention_ops(np.ones(3), np.ones((2, 3)), np.ones((2, 3))),
     "spiking_attention_ops.q: must be a [..., tokens, features] array"),
    (lambda: visible_keys(0, 3), "visible_keys.n: must be an int >= 1 (got 0)"),
    (lambda: visible_keys(3, 3, window=1, global_tokens=[5]),
     "visible_keys.global_tokens: positions must be in [0, 3) (got min 5, max 5)"),
    (lambda: pack_spikes(np.array(["a", "b"])), "pack_spikes.x: must be a numeric or "
                                                "boolean array"),
    (lambda: popcount_scores(np.full((2, 3), 2), np.ones((2, 3))),
     "popcount_scores.q: must be a binary spike tensor"),
])
def test_helpers_reject_bad_arguments(call, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        call()


def test_reference_and_hard_attention_options():
    from neuroattn.attention import hard_attention, reference_attention

    q, k, v = _qkv()
    with pytest.raises(ValidationError, match=re.escape(
            "reference_attention.dtype: must be a numpy floating dtype")):
        reference_attention(q, k, v, dtype=np.int32)
    with pytest.raises(ValidationError, match=re.escape(
            "hard_attention.seed: must be an int >= 0 or a numpy.random.Generator (got -1)")):
        hard_attention(q, k, v, seed=-1)
