"""torch.compile(fullgraph=True) and torch.export trace every layer and the function.

Most checks compile with backend="aot_eager" (the full dynamo + AOTAutograd trace,
without inductor's C++ build, which is slow on a small CPU machine); one test runs
inductor itself.
"""

import pytest
import torch

from neuroattn.attention import (MultiheadAttention, SpikingSelfAttention, attention_weights,
                                 scaled_dot_product_attention)
from neuroattn.attention import dispatch
from neuroattn.mechanisms.biased_competition import SoftmaxCompetition, SoftmaxParams


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _same(a, b, tol=1e-6):
    a = a[0] if isinstance(a, tuple) else a
    b = b[0] if isinstance(b, tuple) else b
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


class _Call(torch.nn.Module):
    """Calls a layer with keyword arguments (export takes positional tensors)."""

    def __init__(self, layer, **kwargs):
        super().__init__()
        self.layer, self.kwargs = layer, kwargs

    def forward(self, *args):
        return self.layer(*args, **self.kwargs)


def _mha_case(name):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x = torch.randn(2, 7, 16, generator=g)
    pad = torch.zeros(2, 7, dtype=torch.bool)
    pad[1, 5:] = True
    if name == "weights":
        return MultiheadAttention(16, 4, batch_first=True).eval(), (x, x, x)
    if name == "masks":
        bias = torch.randn(7, 7, generator=g)
        layer = MultiheadAttention(16, 4, add_bias_kv=True, add_zero_attn=True)
        return _Call(layer.eval(), is_causal=True), (
            x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), pad, False, bias)
    layer = MultiheadAttention(16, 4, batch_first=True, window=2, global_tokens=[0],
                               temperature=0.5)  # eager without grad: numba; traced: torch
    return _Call(layer.eval(), need_weights=False), (x, x, x, pad)


def _softmax_case():
    p = SoftmaxParams(k=3, temperature=0.6, rate=90.0, null_logit=0.8, unit_gain=0.3,
                      unit_sharpness=0.05)
    x = torch.rand(2, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return _Call(SoftmaxCompetition(p, values=[1.0, 0.5, 0.2]), dt=1e-3), (x, 0.1 * x)


def _spiking_case():
    torch.manual_seed(2)
    x = torch.rand(3, 2, 5, 16, generator=torch.Generator().manual_seed(2))
    return SpikingSelfAttention(16, 2, threshold=0.5), (x,)


CASES = {"mha-weights": lambda: _mha_case("weights"), "mha-masks": lambda: _mha_case("masks"),
         "mha-local": lambda: _mha_case("local"), "softmax-competition": _softmax_case,
         "spiking-self-attention": _spiking_case}


@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compile_fullgraph(case, grad, torch_one_thread):
    module, args = CASES[case]()
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    with torch.set_grad_enabled(grad):
        _same(compiled(*args), module(*args))


@pytest.mark.parametrize("case", sorted(CASES))
def test_export(case, torch_one_thread):
    module, args = CASES[case]()
    exported = torch.export.export(module, args)
    with torch.no_grad():
        _same(exported.module()(*args), module(*args))


def test_compiled_gradients_equal_eager(torch_one_thread):
    module, args = _mha_case("weights")
    module.train()
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    grads = []
    for run in (module, compiled):
        module.zero_grad()
        out, w = run(*args)
        (out.square().sum() + w.sum()).backward()
        grads.append([p.grad.clone() for p in module.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", ["reference", "numba", "spike", "auto"])
def test_function_traces_as_torch_whatever_the_backend(backend, monkeypatch):
    ran = []
    for name, run in list(dispatch._RUN.items()):
        monkeypatch.setitem(dispatch._RUN, name, lambda call, _n=name, _r=run:
                            ran.append(_n) or _r(call))
    g = torch.Generator().manual_seed(3)
    q, k, v = ((torch.rand(2, 6, 8, generator=g) > 0.5).float() for _ in range(3))
    bias = torch.randn(6, 6, generator=g)

    def f(q, k, v, bias):
        return (scaled_dot_product_attention(q, k, v, bias, backend=backend, window=3)
                + attention_weights(q, k, bias, window=3) @ v)

    eager = f(q, k, v, bias)
    ran.clear()
    traced = torch.compile(f, fullgraph=True, backend="aot_eager")(q, k, v, bias)
    assert ran == []                      # the dispatcher ran torch directly while tracing
    torch.testing.assert_close(traced, eager, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_inductor_compiles_the_layer(torch_one_thread):
    """The one check with inductor itself (it builds C++ on CPU)."""
    module, args = _mha_case("local")
    compiled = torch.compile(module, fullgraph=True)
    with torch.no_grad():
        _same(compiled(*args), module(*args), tol=1e-5)
