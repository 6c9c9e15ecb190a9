"""The network description: every bad value is named; connections are deterministic."""

from __future__ import annotations

import dataclasses
import re

import networkx as nx
import numpy as np
import pytest

from neuroattn.backends import check_run
from neuroattn.exceptions import ValidationError
from neuroattn.model import (
    AllToAll,
    Drive,
    Explicit,
    FixedIndegree,
    FixedProbability,
    Network,
    OneToOne,
    Population,
    Probe,
    Projection,
    Recording,
    Stimulus,
)
from neuroattn.neurons import EscapeParams, LIFParams
from neuroattn.neurons.brian2_eqs import quiet_brian2

with quiet_brian2():
    from brian2 import mV, ms, nA, pA


def _raises(msg):
    """pytest.raises(ValidationError) matching ``msg`` literally (a prefix is enough)."""
    return pytest.raises(ValidationError, match="^" + re.escape(msg))


def _pops(*sizes):
    return [Population(f"p{k}", n, LIFParams()) for k, n in enumerate(sizes)]


# ---------------------------------------------------------------------------- params


def test_params_accept_brian2_quantities_and_store_si_floats():
    p = LIFParams(tau_mem=10 * ms, v_th=-55 * mV, i_bias=50 * pA)
    assert (p.tau_mem, p.v_th, p.i_bias) == pytest.approx((0.01, -0.055, 5e-11))
    assert all(type(getattr(p, f.name)) is float for f in dataclasses.fields(p))


def test_params_reject_wrong_unit():
    with _raises("LIFParams.tau_mem: expected a quantity in s (got 2. * mvolt); "
                 "pass e.g. 20*ms or 0.02"):
        LIFParams(tau_mem=2 * mV)
    with _raises("EscapeParams.rho0: expected a quantity in Hz (got 2. * namp); "
                 "pass e.g. 10*Hz or 10.0"):
        EscapeParams(rho0=2 * nA)


def test_params_reject_non_numbers_and_non_finite():
    with _raises("LIFParams.v_th: expected a number in V (got 'high' of type str); "
                 "pass e.g. -70*mV or -0.07"):
        LIFParams(v_th="high")
    with _raises("LIFParams.sigma: must be finite (got nan)"):
        LIFParams(sigma=float("nan"))
    with _raises("EscapeParams.reset: expected True or False (got 'yes')"):
        EscapeParams(reset="yes")


@pytest.mark.parametrize("field, value, msg", [
    ("tau_mem", -0.002, "LIFParams.tau_mem: must be > 0 s (got -0.002); "
                        "pass e.g. 20*ms or 0.02"),
    ("tau_mem", 0.0, "LIFParams.tau_mem: must be > 0 s (got 0)"),
    ("r_m", -1e8, "LIFParams.r_m: must be > 0 ohm (got -1e+08)"),
    ("t_ref", -1e-3, "LIFParams.t_ref: must be >= 0 s (got -0.001)"),
    ("sigma", -1e-3, "LIFParams.sigma: must be >= 0 V (got -0.001)"),
    ("v_th", -0.08, "LIFParams.v_th: must be above v_reset (-0.07 V) (got -0.08 V)"),
])
def test_lif_params_validate_names_the_field(field, value, msg):
    with _raises(msg):
        LIFParams(**{field: value}).validate()


@pytest.mark.parametrize("field, value, msg", [
    ("delta_u", 0.0, "EscapeParams.delta_u: must be > 0 V (got 0)"),
    ("rho0", -1.0, "EscapeParams.rho0: must be > 0 Hz (got -1)"),
    ("tau_mem", -1.0, "EscapeParams.tau_mem: must be > 0 s (got -1)"),
])
def test_escape_params_validate_names_the_field(field, value, msg):
    with _raises(msg):
        EscapeParams(**{field: value}).validate()


def test_bad_params_inside_a_network_name_the_population():
    with _raises("Population('exc').params.tau_mem: must be > 0 s (got -0.002)"):
        Network([Population("exc", 3, LIFParams(tau_mem=-2e-3))])


# ----------------------------------------------------------------------- populations


@pytest.mark.parametrize("kwargs, msg", [
    ({"name": "1st"}, "Population.name: expected an identifier such as 'exc0' (got '1st')"),
    ({"size": 0}, "Population('a').size: must be >= 1 (got 0)"),
    ({"size": 2.5}, "Population('a').size: expected an integer >= 1 (got 2.5 of type float)"),
    ({"params": "lif"}, "Population('a').params: expected LIFParams or EscapeParams "
                        "(got str)"),
])
def test_population_validation(kwargs, msg):
    args = {"name": "a", "size": 3, "params": LIFParams(), **kwargs}
    with _raises(msg):
        Network([Population(**args)])


def test_population_v_init():
    with _raises("Population('a').v_init: expected a value or a (low, high) pair in V "
                 "(got 3 values)"):
        Population("a", 2, LIFParams(), v_init=(0.0, 1.0, 2.0))
    with _raises("Population('a').v_init: low must be <= high (got (-0.05, -0.06) V)"):
        Population("a", 2, LIFParams(), v_init=(-50 * mV, -60 * mV))
    pop = Population("a", 500, LIFParams(), v_init=(-70e-3, -60e-3))
    v = pop.initial_v(np.random.default_rng(0))
    assert v.min() >= -70e-3 and v.max() <= -60e-3 and np.ptp(v) > 9e-3
    np.testing.assert_array_equal(v, pop.initial_v(np.random.default_rng(0)))
    assert np.all(Population("b", 3, LIFParams()).initial_v(None) == -70e-3)


# ----------------------------------------------------------------------- projections


@pytest.mark.parametrize("proj, msg", [
    (Projection("p0", "p1", -1e-10), "Projection('p0->p1').weight: must be >= 0 A; the sign "
                                     "comes from sign='exc'/'inh' (got min -1e-10 A)"),
    (Projection("p0", "p1", np.ones((3, 3)) * 1e-10),
     "Projection('p0->p1').weight: expected a scalar or shape (2, 3) (got shape (3, 3))"),
    (Projection("p0", "p1", np.ones((2, 3)) * 1e-10, rule=OneToOne()),
     "Projection('p0->p1').weight: a weight matrix needs rule=AllToAll() (got OneToOne)"),
    (Projection("p0", "p1", 1e-10, rule=OneToOne()),
     "Projection('p0->p1').rule: OneToOne needs equal sizes (got 2 and 3)"),
    (Projection("p0", "p1", 1e-10, rule=FixedProbability(1.5)),
     "Projection('p0->p1').rule.p: expected a probability in [0, 1] (got 1.5)"),
    (Projection("p0", "p1", 1e-10, rule=FixedIndegree(3)),
     "Projection('p0->p1').rule.k: at most 2 distinct sources available (got 3)"),
    (Projection("p0", "p1", 1e-10, rule=Explicit((0, 1), (0,))),
     "Projection('p0->p1').rule: pre and post must be 1-D and of equal length "
     "(got shapes (2,) and (1,))"),
    (Projection("p0", "p1", 1e-10, rule=Explicit((0, 2), (0, 1))),
     "Projection('p0->p1').rule: indices out of range for sizes (2, 3)"),
    (Projection("p0", "p1", 1e-10, sign="+"),
     "Projection('p0->p1').sign: expected 'exc' or 'inh' (got '+')"),
    (Projection("p0", "p1", 1e-10, tau_syn=0.0),
     "Projection('p0->p1').tau_syn: must be > 0 s (got 0)"),
    (Projection("p0", "p1", 1e-10, delay=-1e-3),
     "Projection('p0->p1').delay: must be >= 0 s (got -0.001)"),
    (Projection("p0", "p1", 1e-10, rule="all"),
     "Projection('p0->p1').rule: expected AllToAll, OneToOne, FixedProbability, "
     "FixedIndegree or Explicit (got str)"),
    (Projection("p0", "zz", 1e-10),
     "Projection('p0->zz').target: no such population; expected one of ['p0', 'p1'] "
     "(got 'zz')"),
    (Projection("xx", "p1", 1e-10),
     "Projection('xx->p1').source: no such population; expected one of ['p0', 'p1'] "
     "(got 'xx')"),
])
def test_projection_validation(proj, msg):
    with _raises(msg):
        Network(_pops(2, 3), [proj])


def test_projection_weight_unit_is_checked():
    with _raises("Projection('a'->'b').weight: expected a quantity in A (got 1. * mvolt)"):
        Projection("a", "b", 1 * mV)
    with _raises("Projection('a'->'b').weight: expected an array in A"):
        Projection("a", "b", np.ones((2, 2)) * mV)
    assert Projection("a", "b", 50 * pA).weight == pytest.approx(5e-11)


def test_duplicate_projection_and_population_are_rejected():
    with _raises("Network.projections: two projections 'p0->p1'; merge them into one"):
        Network(_pops(2, 2), [Projection("p0", "p1", 1e-10), Projection("p0", "p1", 2e-10)])
    with _raises("Network.populations: duplicate name 'p0'"):
        Network(_pops(2) + _pops(3))
    with _raises("Network.populations: expected at least one Population (got 0)"):
        Network([])
    with _raises("Network.populations: expected Population objects (got str)"):
        Network(["p0"])


def test_connections_all_to_all_one_to_one_and_sign():
    pre, post, w = Projection("a", "b", 2e-10, sign="inh").connections(2, 3)
    np.testing.assert_array_equal(pre, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(post, [0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(w, -2e-10)
    pre, post, _ = Projection("a", "a", 1e-10, rule=AllToAll(autapses=False)).connections(3, 3)
    assert pre.size == 6 and not np.any(pre == post)
    pre, post, _ = Projection("a", "b", 1e-10, rule=OneToOne()).connections(4, 4)
    np.testing.assert_array_equal(pre, post)
    mat = np.arange(6, dtype=float).reshape(2, 3) * 1e-12
    pre, post, w = Projection("a", "b", mat).connections(2, 3)
    np.testing.assert_array_equal(w, mat[pre, post])
    assert pre.dtype == np.int64 and post.dtype == np.int64


def test_connections_random_rules_are_deterministic():
    proj = Projection("a", "b", 1e-10, rule=FixedProbability(0.2, seed=4))
    first = proj.connections(100, 80)
    again = proj.connections(100, 80)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    other = Projection("a", "b", 1e-10, rule=FixedProbability(0.2, seed=5)).connections(100, 80)
    assert not np.array_equal(first[0], other[0]) or not np.array_equal(first[1], other[1])
    n = first[0].size  # binomial(8000, 0.2): mean 1600, sd 36
    assert abs(n - 1600) < 5 * 36
    assert np.all(np.diff(first[0]) >= 0)  # sorted by pre
    pre, post, _ = Projection("a", "a", 1e-10, rule=FixedIndegree(5, seed=1)).connections(20, 20)
    assert np.all(np.bincount(post, minlength=20) == 5)
    assert not np.any(pre == post)
    for j in range(20):
        assert np.unique(pre[post == j]).size == 5
    pre2, post2, _ = Projection("a", "a", 1e-10, rule=FixedIndegree(5, seed=1)).connections(20,
                                                                                            20)
    np.testing.assert_array_equal(pre, pre2)


# --------------------------------------------------------------- probes and network


@pytest.mark.parametrize("probe, msg", [
    (Probe("zz"), "Probe('zz').population: no such population; expected one of ['p0', 'p1'] "
                  "(got 'zz')"),
    (Probe("p0", "voltage"), "Probe('p0').kind: expected 'rate', 'spikes' or 'v' "
                             "(got 'voltage')"),
    (Probe("p0", "rate", bin_width=0.0), "Probe('p0').bin_width: must be > 0 s (got 0)"),
    (Probe("p0", "v", neurons=(0, 2)), "Probe('p0').neurons: expected indices in [0, 2) "
                                       "(got (0, 2))"),
])
def test_probe_validation(probe, msg):
    with _raises(msg):
        Network(_pops(2, 3), probes=[probe])


def test_network_is_frozen_and_exposes_a_frozen_graph():
    net = Network(_pops(2, 3), [Projection("p0", "p1", 1e-10)], name="n")
    with pytest.raises(AttributeError, match="Network is frozen; cannot set 'name'"):
        net.name = "other"
    with pytest.raises(nx.NetworkXError):
        net.graph.add_node("p2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.populations[0].size = 5
    assert net.graph.edges["p0", "p1"]["projection"].weight == 1e-10
    assert net.n_neurons == 5
    assert net.rate_units() == ("p0", "p1")  # default: a rate probe per population
    with _raises("Network.population: no population 'zz'; expected one of ['p0', 'p1']"):
        net.population("zz")


# ------------------------------------------------------------------ stimulus, run


@pytest.mark.parametrize("drive, msg", [
    (Drive(2, "p0"), "Drive(channel=2, population='p0').channel: stimulus has 2 channels "
                     "(got channel 2)"),
    (Drive(0, "zz"), "Drive(channel=0, population='zz').population: no such population; "
                     "expected one of ['p0', 'p1'] (got 'zz')"),
    (Drive(0, "p0", kind="spikes"), "Drive(channel=0, population='p0').kind: expected "
                                    "'current' or 'poisson' (got 'spikes')"),
    (Drive(0, "p0", kind="poisson", gain=-5.0), "Drive(channel=0, population='p0').gain: "
                                                "must be >= 0 Hz (got -5)"),
    (Drive(-1, "p0"), "Drive(channel=-1, population='p0').channel: must be >= 0 (got -1)"),
])
def test_drive_validation(drive, msg):
    stim = Stimulus(np.zeros((4, 2)), 1e-3, [drive])
    with _raises(msg):
        check_run(Network(_pops(2, 3)), stim)


def test_stimulus_validation_and_properties():
    with _raises("Stimulus.values: expected shape [steps, channels] or [trials, steps, "
                 "channels] (got shape (5,))"):
        Stimulus(np.zeros(5), 1e-3, [])
    with _raises("Stimulus.values: must be finite everywhere (found NaN or Inf)"):
        Stimulus(np.full((2, 1), np.inf), 1e-3, [])
    with _raises("Stimulus.dt: must be > 0 s (got 0)"):
        check_run(Network(_pops(1)), Stimulus(np.zeros((2, 1)), 0.0, []))
    s = Stimulus(np.zeros((3, 40, 2)), 5 * ms, [Drive(1, "p0", gain=1 * nA)])
    assert (s.n_trials, s.n_steps, s.n_channels, s.duration) == (3, 40, 2, 0.2)
    assert s.drives[0].gain == pytest.approx(1e-9)
    assert s.steps_per_row(1e-4) == 50


def test_check_run_names_the_bad_argument():
    net = Network(_pops(2))
    with _raises("simulate.duration: required without a stimulus (got None); pass e.g. 0.5"):
        check_run(net)
    with _raises("simulate.dt: must be > 0 s (got -0.0001)"):
        check_run(net, duration=0.1, dt=-1e-4)
    with _raises("simulate.seed: must be >= 0 (got -1)"):
        check_run(net, duration=0.1, seed=-1)
    with _raises("simulate.network: expected a neuroattn.model.Network (got list)"):
        check_run([], duration=0.1)
    two = Network(_pops(2), probes=[Probe("p0", "rate", 1e-3), Probe("p0", "rate", 2e-3)])
    with _raises("Network.probes: every rate probe needs the same bin_width "
                 "(got [0.001, 0.002])"):
        check_run(two, duration=0.1)
    odd = Network(_pops(2), probes=[Probe("p0", "rate", 2.5e-4)])
    with _raises("Probe.bin_width: must be a whole multiple of dt=0.0001 s (got 0.00025 s)"):
        check_run(odd, duration=0.1, dt=1e-4)
    spec = check_run(net, Stimulus(np.zeros((3, 1)), 2e-4, []), duration=1e-3, dt=1e-4)
    np.testing.assert_array_equal(spec.stimulus_row(), [0, 0, 1, 1, 2, 2, -1, -1, -1, -1])


def test_recording_validation():
    with _raises("Recording.rates: expected shape [trials, bins, units] (got shape (2, 3))"):
        Recording(np.zeros((2, 3)), 1e-3, ("a",))
    with _raises("Recording.units: expected 2 names, one per unit (got 1)"):
        Recording(np.zeros((1, 3, 2)), 1e-3, ("a",))
    rec = Recording(np.arange(12.0).reshape(1, 6, 2), 5e-3, ("a", "b"))
    with _raises("Recording.unit: no unit 'c'; expected one of ['a', 'b']"):
        rec.unit("c")
    np.testing.assert_array_equal(rec.select(["b"]).rates[0, :, 0], rec.unit("b")[0])
    with pytest.raises(ValueError):
        rec.rates[0, 0, 0] = 1.0  # read-only
