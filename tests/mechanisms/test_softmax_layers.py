"""Every mechanism's softmax layer, on every task it runs: it traces with
``torch.compile(fullgraph=True)`` and ``torch.export``, computes in its own dtype, and a
copy built from its state dict computes the same."""

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


class _Step(torch.nn.Module):
    """The layer with dt fixed (export takes tensors only)."""

    def __init__(self, layer, dt):
        super().__init__()
        self.layer, self.dt = layer, dt

    def forward(self, evidence, bias):
        return self.layer(evidence, bias, self.dt)


def _layer_and_inputs(mech, task_cls, steps=8):
    task = task_cls()
    spec = task.spec()
    fitted = mech.to_softmax(spec)
    layer = mech.softmax(spec, fitted, None)
    trials = task.make_trials(2, seed=0)
    # a short window of the trial is enough to trace every operation the layer has
    ev = torch.as_tensor(np.asarray(trials.role("evidence"), dtype=np.float64)[:, :steps])
    bias = torch.as_tensor(np.asarray(trials.role("bias"), dtype=np.float64)[:, :steps])
    return mech, spec, fitted, layer, trials.dt, ev, bias


def test_softmax_layer_compiles_with_fullgraph(pair):
    mech, _, _, layer, dt, ev, bias = _layer_and_inputs(*pair)
    step = _Step(layer, dt)
    with torch.no_grad():
        eager = step(ev, bias)
        compiled = torch.compile(step, fullgraph=True, backend="aot_eager")(ev, bias)
    torch.testing.assert_close(compiled, eager, rtol=1e-9, atol=1e-9)
    assert torch.isfinite(eager).all()


def test_softmax_layer_exports(pair):
    _, _, _, layer, dt, ev, bias = _layer_and_inputs(*pair)
    step = _Step(layer, dt)
    exported = torch.export.export(step, (ev, bias))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(ev, bias), step(ev, bias), rtol=1e-9,
                                   atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_layer_computes_in_its_dtype(pair, dtype):
    _, _, _, layer, dt, ev, bias = _layer_and_inputs(*pair)
    with torch.no_grad():
        ref = layer(ev, bias, dt)
        out = layer.to(dtype)(ev.to(dtype), bias.to(dtype), dt)
    assert out.dtype == dtype
    tol = 1e-4 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out.double(), ref.double(), rtol=tol, atol=tol * ref.abs().max())


def test_softmax_layer_state_dict_round_trip(pair):
    mech, spec, fitted, layer, dt, ev, bias = _layer_and_inputs(*pair)
    # perturb every parameter so a reload that dropped one would differ
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.05 * torch.randn_like(p))
        want = layer(ev, bias, dt)
    fresh = mech.softmax(spec, fitted, None)
    fresh.load_state_dict(layer.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(ev, bias, dt), want, rtol=0, atol=0)
