"""Drop-in conformance: our layer and function against torch's own, not our reference.

``MultiheadAttention`` against ``torch.nn.MultiheadAttention`` (same state dict), on
every attention backend that runs here: masks of every kind and meaning, batch_first
both ways, kdim/vdim, add_bias_kv, add_zero_attn, need_weights and
average_attn_weights, unbatched input, float32 and float64; inside
``torch.nn.TransformerEncoderLayer``, forward and backward; and
``scaled_dot_product_attention`` called as ``torch.nn.functional.
scaled_dot_product_attention``. Tolerance: 1e-5 (float32), 1e-10 (float64).
"""

import copy

import pytest
import torch

from neuroattn.attention import (MultiheadAttention, available_backends,
                                 scaled_dot_product_attention)
from neuroattn.attention import dispatch

# Backends that run here and take every mask (triton: CUDA or its slow interpreter).
BACKENDS = [b for b in ("reference", "numba", "torch") if available_backends()[b] is None]
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _close(got, want, dtype):
    torch.testing.assert_close(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def _layers(seed, dtype, batch_first, backend, **config):
    """Ours and torch's, with one state dict (ours initialised, loaded into torch's)."""
    torch.manual_seed(seed)
    ours = MultiheadAttention(16, 4, batch_first=batch_first, dtype=dtype, backend=backend,
                              **config)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=batch_first, dtype=dtype,
                                         **config)
    theirs.load_state_dict(ours.state_dict())
    return ours.eval(), theirs.eval()


def _inputs(g, dtype, batch_first, batch=3, n=5, s=7, kdim=16, vdim=16, unbatched=False):
    def seq(length, width):
        if unbatched:
            return torch.randn(length, width, generator=g, dtype=dtype)
        shape = (batch, length, width) if batch_first else (length, batch, width)
        return torch.randn(*shape, generator=g, dtype=dtype)

    return seq(n, 16), seq(s, kdim), seq(s, vdim)


def _masks(case, g, dtype, batch=3, n=5, s=7, heads=4, unbatched=False):
    """torch's masks (True / -inf = not allowed), never hiding every key of a query."""
    lead = () if unbatched else (batch,)
    heads3 = (heads,) if unbatched else (batch * heads,)
    kpm = attn = None
    if "kpm" in case:
        kpm = torch.rand(*lead, s, generator=g) < 0.3
        kpm[..., 0] = False
    if "attn2" in case:
        attn = torch.rand(n, s, generator=g) < 0.3
    if "attn3" in case:
        attn = torch.rand(*heads3, n, s, generator=g) < 0.3
    if "causal" in case:
        attn = torch.ones(n, s, dtype=torch.bool).triu(1)
    if attn is not None:
        attn[..., 0] = False
    if "float" in case:
        def as_float(mask):
            if mask is None:
                return None
            noise = torch.randn(mask.shape, generator=g, dtype=dtype)
            return noise.masked_fill(mask, float("-inf"))
        kpm, attn = as_float(kpm), as_float(attn)
    return kpm, attn


MASKS = ["none", "kpm", "kpm-float", "attn2", "attn2-float", "attn3", "attn3-float",
         "causal", "kpm-attn3", "kpm-attn2-float", "kpm-causal"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("case", MASKS)
def test_masks_match_torch(case, batch_first, dtype, backend, torch_one_thread):
    g = torch.Generator().manual_seed(2 * MASKS.index(case) + batch_first)
    ours, theirs = _layers(1, dtype, batch_first, backend=backend)
    q, k, v = _inputs(g, dtype, batch_first)
    kpm, attn = _masks(case, g, dtype)
    with torch.no_grad():
        for need_weights in (True, False):
            for average in (True, False):
                kw = dict(key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights,
                          average_attn_weights=average, is_causal=case.endswith("causal"))
                got, got_w = ours(q, k, v, **kw)
                want, want_w = theirs(q, k, v, **kw)
                _close(got, want, dtype)
                if need_weights:
                    _close(got_w, want_w, dtype)
                else:
                    assert got_w is None and want_w is None


CONFIGS = [
    {"kdim": 6, "vdim": 10},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "bias": False},
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c))
def test_layer_options_match_torch(config, batch_first, dtype, backend, torch_one_thread):
    g = torch.Generator().manual_seed(7)
    ours, theirs = _layers(2, dtype, batch_first, backend=backend, **config)
    q, k, v = _inputs(g, dtype, batch_first, kdim=ours.kdim, vdim=ours.vdim)
    for case in ("none", "kpm-attn3", "kpm-attn2-float"):
        kpm, attn = _masks(case, g, dtype)
        with torch.no_grad():
            for need_weights, average in ((True, True), (True, False), (False, True)):
                kw = dict(key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights,
                          average_attn_weights=average)
                got, got_w = ours(q, k, v, **kw)
                want, want_w = theirs(q, k, v, **kw)
                _close(got, want, dtype)
                if need_weights:
                    _close(got_w, want_w, dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["none", "kpm", "attn3-float", "kpm-attn2-float",
                                  "kpm-causal"])
def test_unbatched_input_matches_torch(case, dtype, backend, torch_one_thread):
    g = torch.Generator().manual_seed(11)
    ours, theirs = _layers(3, dtype, False, backend=backend, kdim=6, vdim=10)
    q, k, v = _inputs(g, dtype, False, kdim=6, vdim=10, unbatched=True)
    kpm, attn = _masks(case, g, dtype, unbatched=True)
    with torch.no_grad():
        for need_weights, average in ((True, True), (True, False), (False, True)):
            kw = dict(key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights,
                      average_attn_weights=average, is_causal=case.endswith("causal"))
            got, got_w = ours(q, k, v, **kw)
            want, want_w = theirs(q, k, v, **kw)
            assert got.shape == (5, 16)
            _close(got, want, dtype)
            if need_weights:
                assert got_w.shape == ((5, 7) if average else (4, 5, 7))
                _close(got_w, want_w, dtype)


def test_self_attention_gradients_match_torch(torch_one_thread):
    """Backward through the layer alone: input and every parameter, with masks."""
    dtype = torch.float64
    g = torch.Generator().manual_seed(5)
    ours, theirs = _layers(4, dtype, True, "auto", add_bias_kv=True)
    x = torch.randn(2, 6, 16, generator=g, dtype=dtype)
    kpm, attn = _masks("kpm-attn2-float", g, dtype, batch=2, n=6, s=6)
    grads = []
    for layer in (ours.train(), theirs.train()):
        xi = x.clone().requires_grad_()
        out, w = layer(xi, xi, xi, key_padding_mask=kpm, attn_mask=attn)
        (out.square().sum() + w.square().sum()).backward()
        grads.append({"x": xi.grad, **{n: p.grad for n, p in layer.named_parameters()}})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        _close(grads[0][name], grads[1][name], dtype)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer_encoder_layer_with_our_self_attention(batch_first, dtype,
                                                           torch_one_thread):
    torch.manual_seed(6)
    theirs = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0,
                                              batch_first=batch_first, dtype=dtype)
    ours = copy.deepcopy(theirs)
    ours.self_attn = MultiheadAttention(16, 4, batch_first=batch_first, dtype=dtype)
    ours.self_attn.load_state_dict(theirs.self_attn.state_dict())
    g = torch.Generator().manual_seed(8)
    shape = (3, 6, 16) if batch_first else (6, 3, 16)
    x = torch.randn(*shape, generator=g, dtype=dtype)
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[1, 4:] = True
    causal = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=dtype)
    grads = []
    for layer in (ours, theirs):
        xi = x.clone().requires_grad_()
        out = layer(xi, src_mask=causal, src_key_padding_mask=pad.to(dtype).masked_fill(
            pad, float("-inf")), is_causal=True)
        out.square().sum().backward()
        grads.append((out.detach(), xi.grad, {n: p.grad for n, p in layer.named_parameters()}))
    _close(grads[0][0], grads[1][0], dtype)
    _close(grads[0][1], grads[1][1], dtype)
    assert grads[0][2].keys() == grads[1][2].keys()
    for name in grads[0][2]:
        _close(grads[0][2][name], grads[1][2][name], dtype)


def test_transformer_encoder_layer_inference_runs_our_forward(monkeypatch, torch_one_thread):
    """In eval under no_grad torch's layer would bypass self_attn (a fused fast path);
    ours must still run (else its backend and options would be dropped silently)."""
    torch.manual_seed(9)
    theirs = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0,
                                              batch_first=True).eval()
    ours = copy.deepcopy(theirs)
    ours.self_attn = MultiheadAttention.from_torch(theirs.self_attn, backend="numba")
    ran = []
    original = dispatch._RUN["numba"]
    monkeypatch.setitem(dispatch._RUN, "numba", lambda call: ran.append(1) or original(call))
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        got, want = ours(x), theirs(x)
    assert ran, "TransformerEncoderLayer bypassed our self_attn"
    _close(got, want, torch.float32)


# --- scaled_dot_product_attention called as torch.nn.functional's ---------------------

SDPA_CASES = {
    "plain": {},
    "bool-full": {"mask": ("bool", (2, 3, 6, 9))},
    "bool-broadcast": {"mask": ("bool", (3, 1, 9))},
    "float-full": {"mask": ("float", (2, 3, 6, 9))},
    "float-keys": {"mask": ("float", (2, 1, 1, 9))},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.37},
    "float-scale": {"mask": ("float", (6, 9)), "scale": 1.7},
    "gqa": {"enable_gqa": True},
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(SDPA_CASES))
def test_function_matches_torch_functional(case, dtype, backend, torch_one_thread):
    g = torch.Generator().manual_seed(len(case))
    opts = dict(SDPA_CASES[case])
    kv_heads = 1 if opts.get("enable_gqa") else 3
    q = torch.randn(2, 3, 6, 8, generator=g, dtype=dtype)
    k = torch.randn(2, kv_heads, 9, 8, generator=g, dtype=dtype)
    v = torch.randn(2, kv_heads, 9, 5, generator=g, dtype=dtype)
    args = ()
    if "mask" in opts:
        kind, shape = opts.pop("mask")
        keep = torch.rand(shape, generator=g) > 0.3
        keep[..., 0] = True
        if kind == "bool":
            args = (keep,)
        else:
            args = (torch.randn(shape, generator=g, dtype=dtype).masked_fill(~keep,
                                                                            float("-inf")),)
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, *args, **opts)
    got = scaled_dot_product_attention(q, k, v, *args, backend=backend, **opts)
    assert got.dtype == dtype and got.shape == want.shape
    _close(got, want, dtype)


def test_positional_call_and_queries_that_see_no_key():
    """torch's positional order (attn_mask, dropout_p, is_causal). A query whose keys are
    all hidden gets a zero row, as from torch's SDPA; torch's layer with
    need_weights=True gives NaN there (softmax of -inf), ours zero weights."""
    g = torch.Generator().manual_seed(12)
    q, k, v = (torch.randn(1, 2, 4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    keep = torch.ones(4, 4, dtype=torch.bool)
    keep[2] = False
    for backend in BACKENDS:
        got = scaled_dot_product_attention(q, k, v, keep, 0.0, False, backend=backend)
        want = torch.nn.functional.scaled_dot_product_attention(q, k, v, keep, 0.0, False)
        assert (got[:, :, 2] == 0).all()
        _close(got, want, torch.float64)
    ours, theirs = _layers(14, torch.float64, True, "auto")
    x = torch.randn(1, 4, 16, generator=g, dtype=torch.float64)
    with torch.no_grad():
        out, w = ours(x, x, x, attn_mask=~keep)
        want, want_w = theirs(x, x, x, attn_mask=~keep)
    assert torch.isnan(want_w[0, 2]).all() and (w[0, 2] == 0).all()
    _close(out[0, 2], ours.out_proj.bias, torch.float64)
    _close(out[0, [0, 1, 3]], want[0, [0, 1, 3]], torch.float64)


def test_dropout_changes_training_outputs_only():
    g = torch.Generator().manual_seed(13)
    q, k, v = (torch.randn(2, 2, 6, 4, generator=g) for _ in range(3))
    plain = scaled_dot_product_attention(q, k, v)
    torch.manual_seed(0)
    dropped = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not torch.allclose(dropped, plain)
    _close(scaled_dot_product_attention(q, k, v, dropout_p=0.0),
           torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.0),
           torch.float32)
    torch.manual_seed(1)
    ours = MultiheadAttention(16, 4, dropout=0.5, batch_first=True)
    theirs = torch.nn.MultiheadAttention(16, 4, dropout=0.5, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 6, 16, generator=g)
    for need_weights in (True, False):
        ours.train()
        torch.manual_seed(2)
        train_a = ours(x, x, x, need_weights=need_weights)[0]
        train_b = ours(x, x, x, need_weights=need_weights)[0]
        assert not torch.allclose(train_a, train_b)    # a fresh dropout mask each call
        ours.eval()
        theirs.eval()
        with torch.no_grad():
            _close(ours(x, x, x, need_weights=need_weights)[0],
                   theirs(x, x, x, need_weights=need_weights)[0], torch.float32)
        eval_a = ours(x, x, x, need_weights=need_weights)[0]
        assert torch.equal(eval_a, ours(x, x, x, need_weights=need_weights)[0])
    # need_weights in training returns the dropped-out weights: rows no longer sum to 1
    ours.train()
    _, w = ours(x, x, x, average_attn_weights=False)
    assert not torch.allclose(w.sum(-1), torch.ones(()))
