"""Fixed-point state: the engines' ``state_grid`` option (v and synaptic currents held on
an n-bit grid at every step), lowered by numba, torch and Brian2 from one description."""

import numpy as np
import pytest

from neuroattn.backends import simulate
from neuroattn.backends._common import GRID_SNAP, StateGrid, on_grid
from neuroattn.exceptions import ValidationError
from neuroattn.hardware.fixed_point import state_grid
from neuroattn.model import (
    Drive,
    FixedProbability,
    Network,
    Population,
    Probe,
    Projection,
    Stimulus,
)
from neuroattn.neurons import LIFParams

DT = 1e-4


def _circuit():
    """E (current-driven, bias, refractory, two synaptic time constants) <-> I (delayed
    inhibition), every potential probed; deterministic."""
    pe = LIFParams(t_ref=2e-3, v_reset=-60e-3, i_bias=150e-12)
    pops = [Population("E", 20, pe, v_init=(-60e-3, -50e-3)),
            Population("I", 5, LIFParams(tau_mem=10e-3))]
    projs = [Projection("E", "I", 80e-12, FixedProbability(0.3, seed=1), tau_syn=5e-3),
             Projection("I", "E", 40e-12, tau_syn=10e-3, sign="inh", delay=1e-3),
             Projection("E", "E", 5e-12, FixedProbability(0.1, seed=2), tau_syn=5e-3)]
    probes = [Probe(p.name, k) for p in pops for k in ("rate", "spikes")]
    probes += [Probe("E", "v", neurons=range(20)), Probe("I", "v", neurons=range(5))]
    return Network(pops, projs, probes), (Drive(0, "E", "current", gain=100e-12),)


def _run(backend, grid, steps=300, **kw):
    net, drives = _circuit()
    x = np.full((steps, 1), 1.5)
    return simulate(net, Stimulus(x, DT, drives), seed=3, backend=backend, state_grid=grid, **kw)


def _steps(rec, pop):
    return np.round(rec.spikes[0][pop][1] / DT).astype(np.int64) * 1000 + rec.spikes[0][pop][0]


def test_the_grid_rule_truncates_towards_the_origin_saturates_and_is_idempotent():
    x = np.array([0.74, 0.76, -0.74, 1.0 - 1e-12, 99.0, -99.0, np.nan])
    q = on_grid(x, 0.0, 0.25, -8.0, 7.0)
    np.testing.assert_array_equal(q[:6], [0.5, 0.75, -0.5, 1.0, 1.75, -2.0])
    assert np.isnan(q[6])
    # a value on the grid stays put, although origin + k step - origin is not exact
    origin, step = -0.07, 2.0 ** -12
    k = np.arange(-100, 100)
    g = on_grid(origin + k * step, origin, step, -128.0, 127.0)
    np.testing.assert_array_equal(on_grid(g, origin, step, -128.0, 127.0), g)
    np.testing.assert_array_equal(np.round((g - origin) / step), k)
    # the torch engine's lowering computes the same numbers bit for bit
    import torch

    from neuroattn.backends.torch._loop import _Grid

    class _Lay:
        pop_of = np.zeros(5, dtype=np.int64)

    arrays = type("G", (), dict(origin=np.array([origin]), v_step=np.array([step]),
                                i_step=np.array([2.0 ** -30]), lo=-128.0, hi=127.0))
    grid = _Grid(arrays, _Lay, dict(dtype=torch.float64, device="cpu"))
    rng = np.random.default_rng(0)
    v = origin + rng.normal(0, 0.02, (3, 5))
    cur = rng.normal(0, 2e-10, (3, 5))
    tv, (ti,) = grid.apply(torch.tensor(v), [torch.tensor(cur)])
    np.testing.assert_array_equal(tv.numpy(), on_grid(v, origin, step, -128.0, 127.0))
    np.testing.assert_array_equal(ti.numpy(), on_grid(cur, 0.0, 2.0 ** -30, -128.0, 127.0))
    assert GRID_SNAP < 1e-5


def test_state_grid_picks_power_of_two_steps_for_a_network():
    net, _ = _circuit()
    g = state_grid(net, 8)
    assert g.bits == 8 and set(g.v_step) == {"E", "I"}
    for name in ("E", "I"):
        assert np.log2(g.v_step[name]).is_integer() and np.log2(g.i_step[name]).is_integer()
    # E: threshold 20 mV above rest, x2 headroom over 128 steps -> 2**-11 V
    assert g.v_step["E"] == 2.0 ** -11
    assert state_grid(net, 16).v_step["E"] == g.v_step["E"] / 256
    with pytest.raises(ValidationError, match="state_grid.bits"):
        state_grid(net, 1)


def test_an_empty_grid_leaves_the_run_bit_identical():
    """The grid's step-by-step path on numba changes nothing by itself (default off:
    results unchanged)."""
    base = _run("numba", None)
    empty = _run("numba", StateGrid(16, {}, {}))
    for p in ("E", "I"):
        np.testing.assert_array_equal(base.v[p], empty.v[p])
        np.testing.assert_array_equal(_steps(base, p), _steps(empty, p))


@pytest.fixture(scope="module")
def runs():
    """16-bit and 8-bit state on every backend (60 ms), and the float run."""
    net, _ = _circuit()
    out = {"float": _run("numba", None, steps=600)}
    for bits, steps in ((16, 600), (8, 200)):
        grid = state_grid(net, bits)
        for b in ("numba", "torch", "brian2"):
            out[b, bits] = _run(b, grid, steps, **({"dtype": "float64"} if b == "torch" else {}))
    return out


def test_three_backends_give_the_same_quantised_trajectory(runs):
    """16-bit state: numba and torch (float64) bit for bit; Brian2 (which rounds its
    exact integration differently in the last bits, so a value near a grid boundary may
    truncate one step apart) with the same spike counts and every spike within one step
    of numba's. Every recorded potential lies on the grid."""
    net, _ = _circuit()
    grid = state_grid(net, 16)
    for p in ("E", "I"):
        v_rest = net.populations[0 if p == "E" else 1].params.v_rest
        for b in ("numba", "torch", "brian2"):
            k = (runs[b, 16].v[p] - v_rest) / grid.v_step[p]
            np.testing.assert_allclose(k, np.round(k), atol=1e-6)
        np.testing.assert_array_equal(runs["torch", 16].v[p], runs["numba", 16].v[p])
        np.testing.assert_array_equal(_steps(runs["torch", 16], p), _steps(runs["numba", 16], p))
        a, b = _steps(runs["brian2", 16], p), _steps(runs["numba", 16], p)
        assert len(a) == len(b)
        assert np.isin(a, np.concatenate([b - 1000, b, b + 1000])).all()
    assert len(_steps(runs["numba", 16], "E")) > 20
    # the quantised run is a different trajectory from the float one
    assert not np.array_equal(runs["numba", 16].v["E"], runs["float"].v["E"])


def test_a_coarse_grid_silences_the_circuit_on_every_backend(runs):
    """At 8 bits the per-step change of v (0.15 mV at this drive) is below one step of
    the grid (0.49 mV) and truncates away: nothing fires, on any backend."""
    net, _ = _circuit()
    grid = state_grid(net, 8)
    for b in ("numba", "torch", "brian2"):
        rec = runs[b, 8]
        assert sum(len(rec.spikes[0][p][0]) for p in ("E", "I")) == 0, b
        k = (rec.v["E"] - net.populations[0].params.v_rest) / grid.v_step["E"]
        np.testing.assert_allclose(k, np.round(k), atol=1e-6)
        np.testing.assert_array_equal(rec.v["E"], runs["numba", 8].v["E"])
    assert len(runs["float"].spikes[0]["E"][0]) > 0


@pytest.mark.parametrize("backend", ["numba", "torch", "brian2"])
def test_bad_state_grids_are_refused_naming_the_option(backend):
    net, _ = _circuit()
    with pytest.raises(ValidationError, match="state_grid: expected"):
        _run(backend, {"bits": 8}, steps=10)
    with pytest.raises(ValidationError, match=r"state_grid.bits"):
        _run(backend, StateGrid(1, {"E": 1e-3}, {"E": 1e-12}), steps=10)
    with pytest.raises(ValidationError, match="no population"):
        _run(backend, StateGrid(8, {"X": 1e-3}, {"X": 1e-12}), steps=10)
    with pytest.raises(ValidationError, match=r"i_step\['E'\]"):
        _run(backend, StateGrid(8, {"E": 1e-3}, {"E": -1.0}), steps=10)


def test_fixed_point_weights_and_state_on_posner():
    """Biased competition on Posner with weights and state on a 16-bit grid: the
    validity effect is float's within 10 ms, the item units fire at float's rate within
    5 % and the bridge (the float circuit's analytic softmax) fits as well. (At 8 bits
    the circuit cannot integrate: see the silencing test above and docs/hardware.md.)"""
    from neuroattn.hardware import quantization_report

    rows = quantization_report("posner", "biased-competition", bits=(16,), trials=20,
                               seed=0, state=True)
    flt, q = rows
    assert q["state_bits"] == 16 and flt["state_bits"] is None
    assert flt["validity_rt"][0] > 0.03
    assert abs(q["validity_rt"][0] - flt["validity_rt"][0]) < 0.01
    assert abs(q["rate"] - flt["rate"]) < 0.05 * flt["rate"]
    assert q["choice_agreement"] >= 0.9
    assert abs(q["js_vs_softmax"] - flt["js_vs_softmax"]) < 2e-3
