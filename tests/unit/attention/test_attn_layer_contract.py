"""The layers' contract: dtypes, devices, state-dict round trips, the LIF step, bad input.

Each of MultiheadAttention, SoftmaxCompetition and SpikingSelfAttention computes in its
own dtype (float16, bfloat16, float32, float64; on CUDA too where present) and
reloads from a state dict to the same outputs, whatever options it was built with.
"""

import math
import re

import pytest
import torch

from neuroattn.attention import (MultiheadAttention, SpikingSelfAttention,
                                 scaled_dot_product_attention)
from neuroattn.attention import dispatch
from neuroattn.attention.layers import lif_step
from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.biased_competition import SoftmaxCompetition, SoftmaxParams

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# Error of a low-precision computation against float64: a few units of its epsilon,
# times the size of the sums (the attention sums <= 8 terms of magnitude <= ~3).
TOL = {torch.float16: 2e-2, torch.bfloat16: 1e-1, torch.float32: 1e-5, torch.float64: 1e-12}
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))]
MHA_BACKENDS = ["reference", "numba", "torch"]


def _spy_dtypes(monkeypatch):
    seen = []
    for name, run in list(dispatch._RUN.items()):
        monkeypatch.setitem(dispatch._RUN, name, lambda call, _r=run:
                            seen.append(call.q.dtype) or _r(call))
    return seen


# --- dtypes -------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_multihead_attention_computes_in_its_dtype(dtype, device, monkeypatch):
    torch.manual_seed(0)
    ref = MultiheadAttention(8, 2, batch_first=True, window=2, dtype=torch.float64,
                             device=device)
    x = torch.randn(2, 6, 8, dtype=torch.float64, device=device,
                    generator=torch.Generator(device).manual_seed(1))
    mask = torch.zeros(2, 6, dtype=torch.bool, device=device)
    mask[1, 4:] = True
    with torch.no_grad():
        want, want_w = ref(x, x, x, key_padding_mask=mask)
        seen = _spy_dtypes(monkeypatch)
        backends = MHA_BACKENDS if device == "cpu" else ["auto", "torch"]
        for backend in backends:
            layer = MultiheadAttention(8, 2, batch_first=True, window=2, backend=backend,
                                       device=device, dtype=dtype)
            layer.load_state_dict(ref.state_dict())
            out, w = layer(x.to(dtype), x.to(dtype), x.to(dtype), key_padding_mask=mask)
            assert out.dtype == w.dtype == dtype and out.device.type == device
            torch.testing.assert_close(out.double(), want, rtol=TOL[dtype], atol=TOL[dtype])
            torch.testing.assert_close(w.double(), want_w, rtol=TOL[dtype], atol=TOL[dtype])
    assert set(seen) == {dtype}       # the attention ran in the layer's dtype


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_softmax_competition_computes_in_its_dtype(dtype, device, monkeypatch):
    p = SoftmaxParams(k=3, temperature=0.6, rate=90.0, null_logit=0.8, unit_gain=0.4,
                      unit_base=2.0, unit_sharpness=0.02)
    x = torch.rand(2, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x = x.to(device)
    ref = SoftmaxCompetition(p, [1.0, 0.5, 0.1], "reference", device=device)
    with torch.no_grad():
        want = ref(x, 0 * x, 1e-3)
        seen = _spy_dtypes(monkeypatch)
        for backend in (None, "torch") if device == "cpu" else ("torch",):
            layer = SoftmaxCompetition(p, [1.0, 0.5, 0.1], backend, dtype=dtype, device=device)
            got = layer(x, 0 * x, 1e-3)          # float64 input, cast to the layer's dtype
            assert got.dtype == dtype
            # rates up to 90 Hz: relative tolerance of the dtype
            torch.testing.assert_close(got.double(), want, rtol=TOL[dtype],
                                       atol=90 * TOL[dtype])
    assert set(seen) == {dtype}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_spiking_self_attention_computes_in_its_dtype(dtype, device):
    torch.manual_seed(3)
    layer = SpikingSelfAttention(8, 2, threshold=0.5).to(device)
    x = (torch.rand(3, 2, 5, 8, generator=torch.Generator().manual_seed(4)) < 0.5).to(device)
    layer.to(dtype)
    eval_out = layer.eval()
    with torch.no_grad():
        fast = eval_out(x.to(dtype))      # bit-packed kernel (cpu) / matmuls (cuda)
    slow = layer.train()(x.to(dtype))     # float matmuls with surrogate gradients
    assert fast.dtype == slow.dtype == dtype
    torch.testing.assert_close(fast, slow.detach(), rtol=0, atol=0)
    assert all(b.dtype == dtype for n, b in layer.named_buffers())


def test_bfloat16_local_attention_without_gradients():
    """Once a crash: numpy has no bfloat16; the numba backend now computes it in float32."""
    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 9, 4, generator=g, dtype=torch.bfloat16) for _ in range(3))
    ref = scaled_dot_product_attention(q.double(), k.double(), v.double(), window=2,
                                       backend="reference")
    with torch.no_grad():
        for backend in ("auto", "numba", "reference", "torch"):
            out = scaled_dot_product_attention(q, k, v, window=2, backend=backend)
            assert out.dtype == torch.bfloat16
            torch.testing.assert_close(out.double(), ref, rtol=0.02, atol=0.02)


def test_spiking_self_attention_in_float64():
    """Once failed: snnTorch's spikes were float32 whatever the layer's dtype."""
    layer = SpikingSelfAttention(8, 2).to(torch.float64)
    x = torch.rand(2, 1, 3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    out = layer(x)
    assert out.dtype == torch.float64
    out.sum().backward()
    assert layer.q_proj.weight.grad.dtype == torch.float64


# --- state dicts --------------------------------------------------------------------

def test_multihead_attention_state_dict_round_trips_its_options():
    torch.manual_seed(7)
    x = torch.randn(2, 6, 8)
    custom = MultiheadAttention(8, 2, batch_first=True, window=1, global_tokens=[0],
                                temperature=0.7)
    plain = MultiheadAttention(8, 2, batch_first=True)
    plain.load_state_dict(custom.state_dict())
    assert (plain.window, plain.global_tokens, plain.temperature) == (1, (0,), 0.7)
    torch.testing.assert_close(plain(x, x, x)[0], custom(x, x, x)[0], rtol=0, atol=0)
    # torch's layer cannot compute a window: it refuses the state dict, loudly
    with pytest.raises(RuntimeError, match="Unexpected key"):
        torch.nn.MultiheadAttention(8, 2, batch_first=True).load_state_dict(
            custom.state_dict())
    # a plain state dict is torch's, both ways; it leaves a layer's own options alone
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    theirs.load_state_dict(plain.__class__(8, 2, batch_first=True).state_dict())
    custom.load_state_dict(theirs.state_dict())
    assert (custom.window, custom.temperature) == (1, 0.7)
    assert set(MultiheadAttention(8, 2).state_dict()) == set(
        torch.nn.MultiheadAttention(8, 2).state_dict())


@pytest.mark.parametrize("null_in, null_out", [(True, False), (False, True)])
def test_softmax_competition_state_dict_carries_the_null_option(null_in, null_out):
    def params(null):
        return SoftmaxParams(k=3, temperature=0.6, rate=90.0,
                             null_logit=0.8 if null else -math.inf, tau=0.004)

    saved = SoftmaxCompetition(params(null_in))
    loaded = SoftmaxCompetition(params(null_out))
    loaded.load_state_dict(saved.state_dict())
    x = torch.rand(2, 30, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(loaded(x, 0 * x, 1e-3), saved(x, 0 * x, 1e-3), rtol=0, atol=0)
    assert loaded.params() == saved.params()
    assert all(p.requires_grad for p in loaded.parameters())


def test_spiking_self_attention_state_dict_carries_its_constants():
    torch.manual_seed(9)
    saved = SpikingSelfAttention(8, 2, scale=0.3, beta=0.7, threshold=0.4,
                                 attn_threshold=0.2, slope=5.0)
    loaded = SpikingSelfAttention(8, 2)
    loaded.load_state_dict(saved.state_dict())
    x = torch.rand(4, 2, 5, 8, generator=torch.Generator().manual_seed(10))
    out = saved(x)
    assert out.abs().sum() > 0
    torch.testing.assert_close(loaded(x), out, rtol=0, atol=0)


# --- the LIF step against snnTorch --------------------------------------------------

def test_lif_step_is_snntorch_leaky():
    snntorch = pytest.importorskip("snntorch")
    from snntorch import surrogate

    g = torch.Generator().manual_seed(11)
    currents = torch.randn(6, 4, 5, generator=g)
    theirs = snntorch.Leaky(beta=0.75, threshold=0.5, spike_grad=surrogate.fast_sigmoid(25))
    beta, thr, slope = torch.tensor(0.75), torch.tensor(0.5), torch.tensor(25.0)
    ours_in = currents.clone().requires_grad_()
    theirs_in = currents.clone().requires_grad_()
    mem_a = mem_b = torch.zeros(4, 5)
    total_a = total_b = 0
    for t in range(6):
        spk_a, mem_a = lif_step(ours_in[t], mem_a, beta, thr, slope)
        spk_b, mem_b = theirs(theirs_in[t], mem_b)
        assert torch.equal(spk_a, spk_b) and torch.equal(mem_a, mem_b), t
        total_a, total_b = total_a + spk_a.sum(), total_b + spk_b.sum()
    assert total_a > 0
    total_a.backward()
    total_b.backward()
    torch.testing.assert_close(ours_in.grad, theirs_in.grad, rtol=1e-6, atol=1e-7)


# --- bad input ----------------------------------------------------------------------

def _raises(message, fn, *args, **kwargs):
    with pytest.raises(ValidationError, match=re.escape(message)):
        fn(*args, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"embed_dim": 0}, "MultiheadAttention.embed_dim: must be an int >= 1 (got 0)"),
    ({"num_heads": 2.0}, "MultiheadAttention.num_heads: must be an int >= 1 (got 2.0)"),
    ({"num_heads": 3}, "MultiheadAttention.num_heads: must divide embed_dim=8 (got 3)"),
    ({"dropout": 1.5}, "MultiheadAttention.dropout: must be a number in [0, 1]"),
    ({"dropout": float("nan")}, "MultiheadAttention.dropout: must be a number in [0, 1]"),
    ({"bias": 1}, "MultiheadAttention.bias: must be True or False (got 1)"),
    ({"batch_first": "yes"}, "MultiheadAttention.batch_first: must be True or False"),
    ({"kdim": -2}, "MultiheadAttention.kdim: must be an int >= 1 or None (got -2)"),
    ({"dtype": torch.int64}, "MultiheadAttention.dtype: must be a floating-point"),
    ({"backend": "cuda"}, "MultiheadAttention.backend: must be 'auto' or one of"),
    ({"window": -1}, "MultiheadAttention.window: must be an int >= 0"),
    ({"global_tokens": [0]}, "MultiheadAttention.global_tokens: only meaningful with a "
                             "local window"),
    ({"window": 2, "global_tokens": [-1]}, "MultiheadAttention.global_tokens: positions "
                                           "must be in [0)"),
    ({"temperature": 0.0}, "MultiheadAttention.temperature: must be a finite number > 0 "
                           "(got 0.0)"),
    ({"temperature": float("inf")}, "MultiheadAttention.temperature: must be a finite"),
])
def test_multihead_attention_rejects_bad_construction(kwargs, message):
    args = {"embed_dim": 8, "num_heads": 2, **kwargs}
    _raises(message, MultiheadAttention, **args)


def _forward_cases():
    x = torch.zeros(2, 5, 8)
    pad = torch.zeros(2, 5, dtype=torch.bool)
    bad_float = torch.zeros(5, 5)
    bad_float[1, 2] = float("nan")
    w = "MultiheadAttention.forward"
    return [
        ((x.numpy(), x, x), {}, f"{w}.query: must be a torch.Tensor (got ndarray)"),
        ((x, x[0], x[0]), {}, f"{w}.key: query, key and value must all be 3-D"),
        ((x, torch.zeros(2, 5, 6), x), {}, f"{w}.key: last dimension must be kdim=8 (got "
                                           f"shape (2, 5, 6))"),
        ((x.double(), x, x), {}, f"{w}.query: must have the layer's dtype and device "
                                 f"(torch.float32, cpu) (got torch.float64, cpu)"),
        ((x, torch.zeros(3, 5, 8), torch.zeros(3, 5, 8)), {},
         f"{w}: query, key and value must have one batch size ([B, L, E])"),
        ((x, x, torch.zeros(2, 4, 8)), {}, f"{w}.value: must have as many positions as "
                                           f"key (S=5)"),
        ((x, x, x), {"key_padding_mask": pad.T}, f"{w}.key_padding_mask: must have shape "
                                                 f"(2, 5) (got (5, 2))"),
        ((x, x, x), {"key_padding_mask": pad.long()}, f"{w}.key_padding_mask: must be "
                                                      f"boolean (True = not allowed) or "
                                                      f"floating point"),
        ((x, x, x), {"attn_mask": torch.zeros(3, 5, 5, dtype=torch.bool)},
         f"{w}.attn_mask: must have shape (5, 5) or (4, 5, 5) (got (3, 5, 5))"),
        ((x, x, x), {"attn_mask": bad_float}, f"{w}.attn_mask: contains NaN or +inf"),
        ((x, x, x), {"need_weights": None}, f"{w}.need_weights: must be True or False"),
        ((x, x, x), {"is_causal": 1}, f"{w}.is_causal: must be True or False (got 1)"),
    ]


@pytest.mark.parametrize("args, kwargs, message", _forward_cases())
def test_multihead_attention_rejects_bad_calls(args, kwargs, message):
    layer = MultiheadAttention(8, 2, batch_first=True)
    _raises(message, layer, *args, **kwargs)


def test_multihead_attention_rejects_bad_options_in_a_state_dict():
    state = MultiheadAttention(8, 2, window=1).state_dict()
    state["window"] = torch.tensor(-3)
    with pytest.raises(RuntimeError, match=re.escape(
            "MultiheadAttention.load_state_dict.window: must be an int >= 0")):
        MultiheadAttention(8, 2).load_state_dict(state)


def test_from_torch_wants_a_torch_layer():
    _raises("MultiheadAttention.from_torch.mha: must be a torch.nn.MultiheadAttention (got "
            "Linear)", MultiheadAttention.from_torch, torch.nn.Linear(2, 2))


def test_count_ops_rejects_bad_sizes():
    _raises("MultiheadAttention.count_ops.m: must be an int >= 1 (got 0)",
            MultiheadAttention(8, 2).count_ops, 3, 0)


P = SoftmaxParams(k=3, temperature=0.6, rate=90.0)


@pytest.mark.parametrize("args, kwargs, message", [
    (({"k": 3},), {}, "SoftmaxCompetition.params: expected SoftmaxParams (got dict)"),
    ((P, [1.0, 2.0]), {}, "SoftmaxCompetition.values: expected 3 finite values, one per "
                          "location (got shape (2,))"),
    ((P, [1.0, float("nan"), 0.0]), {}, "SoftmaxCompetition.values: expected 3 finite"),
    ((P, None, "gpu"), {}, "SoftmaxCompetition.attention_backend: must be None, 'auto' or "
                           "one of"),
    ((P,), {"dtype": torch.int32}, "SoftmaxCompetition.dtype: must be a floating-point "
                                   "torch.dtype (got torch.int32)"),
])
def test_softmax_competition_rejects_bad_construction(args, kwargs, message):
    _raises(message, SoftmaxCompetition, *args, **kwargs)


@pytest.mark.parametrize("args, message", [
    (([[0.0]], torch.zeros(1, 2, 3), 1e-3), "SoftmaxCompetition.forward.x: expected a "
                                            "floating-point torch.Tensor (got list)"),
    ((torch.zeros(1, 2, 3), torch.zeros(1, 2, 2), 1e-3), "SoftmaxCompetition.forward: "
                                                         "expected x and b of shape"),
    ((torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), 0.0), "SoftmaxCompetition.forward.dt: "
                                                        "must be a finite time step > 0 s"),
    ((torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), float("nan")),
     "SoftmaxCompetition.forward.dt: must be a finite time step > 0 s"),
])
def test_softmax_competition_rejects_bad_calls(args, message):
    _raises(message, SoftmaxCompetition(P), *args)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_heads": 3}, "SpikingSelfAttention.num_heads: must divide embed_dim=8 (got 3)"),
    ({"beta": 0.0}, "SpikingSelfAttention.beta: must be a finite number in (0.0, 1.0] "
                    "(got 0.0); it is the membrane decay per step"),
    ({"threshold": -1.0}, "SpikingSelfAttention.threshold: must be a finite number > 0.0"),
    ({"attn_threshold": float("nan")}, "SpikingSelfAttention.attn_threshold: must be a "
                                       "finite number > 0.0"),
    ({"slope": 0}, "SpikingSelfAttention.slope: must be a finite number > 0.0 (got 0)"),
    ({"scale": float("inf")}, "SpikingSelfAttention.scale: must be a finite number"),
    ({"dtype": torch.bool}, "SpikingSelfAttention.dtype: must be a floating-point"),
])
def test_spiking_self_attention_rejects_bad_construction(kwargs, message):
    _raises(message, SpikingSelfAttention, **{"embed_dim": 8, "num_heads": 2, **kwargs})


def test_spiking_self_attention_rejects_a_dtype_mismatch():
    _raises("SpikingSelfAttention.forward: x must have the layer's dtype and device "
            "(torch.float32, cpu) (got torch.float64, cpu)", SpikingSelfAttention(8, 2),
            torch.zeros(2, 1, 3, 8, dtype=torch.float64))


def test_softmax_competition_attend_and_lif_step_reject_bad_input():
    _raises("SoftmaxCompetition.attend.u: expected a tensor [..., 3] (got shape (2, 4))",
            SoftmaxCompetition(P).attend, torch.zeros(2, 4))
    one = torch.tensor(1.0)
    _raises("lif_step.mem: must have the shape of current (2,) (got (3,))", lif_step,
            torch.zeros(2), torch.zeros(3), one, one, one)
    _raises("lif_step.beta: must be a torch.Tensor (got float)", lif_step, torch.zeros(2),
            torch.zeros(2), 0.9, one, one)
