"""neuroattn.hardware: NIR round trip and interop, refusals, operation counts, mapping,
fixed point and the ``neuroattn hw`` command."""

import contextlib
import io
import warnings

import numpy as np
import pytest

pytest.importorskip("nir")

from neuroattn.backends import simulate  # noqa: E402
from neuroattn.hardware import (  # noqa: E402
    NIRUnsupported,
    check_mapping,
    count_synops,
    export_nir,
    import_nir,
    map_network,
    quantize,
    quantize_network,
    with_spike_probes,
    write_nir,
)
from neuroattn.model import (  # noqa: E402
    Drive,
    FixedProbability,
    Network,
    Population,
    Probe,
    Projection,
    Stimulus,
)
from neuroattn.neurons import EscapeParams, LIFParams, lif_rate  # noqa: E402

DT = 1e-4


def _probes(pops):
    return [Probe(p.name, k) for p in pops for k in ("rate", "spikes")]


def _circuit(sigma=0.0):
    """E (current-driven, bias, refractory, two synapse time constants, self-excitation)
    <-> I (inhibition with a 1 ms delay)."""
    pe = LIFParams(t_ref=2e-3, v_reset=-60e-3, i_bias=150e-12, sigma=sigma)
    pops = [Population("E", 40, pe, v_init=(-60e-3, -50e-3)),
            Population("I", 10, LIFParams(tau_mem=10e-3, sigma=sigma))]
    projs = [Projection("E", "I", 80e-12, FixedProbability(0.3, seed=1), tau_syn=5e-3),
             Projection("I", "E", 40e-12, tau_syn=10e-3, sign="inh", delay=1e-3),
             Projection("E", "E", 5e-12, FixedProbability(0.1, seed=2), tau_syn=5e-3)]
    return Network(pops, projs, _probes(pops)), (Drive(0, "E", "current", gain=100e-12),)


def _same_spikes(a, b, pops):
    for ta, tb in zip(a.spikes, b.spikes):
        for p in pops:
            assert np.array_equal(ta[p][0], tb[p][0]) and np.array_equal(ta[p][1], tb[p][1]), p


@pytest.mark.parametrize("sigma", [0.0, 3e-3])
def test_nir_file_round_trip_gives_identical_spikes(tmp_path, sigma):
    net, drives = _circuit(sigma)
    graph = export_nir(net, drives, DT, noise="metadata")
    assert graph.metadata["dt"] == DT and "spike_convention" in graph.metadata
    path = tmp_path / "circuit.nir"
    write_nir(graph, path)
    imp = import_nir(path)
    assert [p.name for p in imp.network.populations] == ["E", "I"]
    vals = np.full((2000, 1), 1.5)
    a = simulate(net, Stimulus(vals, DT, drives), dt=DT, seed=3, trials=2, backend="numba")
    b = simulate(imp.network, imp.stimulus(vals), dt=DT, seed=3, trials=2, backend="numba")
    assert all(len(a.spikes[t][p][0]) > 20 for t in range(2) for p in ("E", "I"))
    _same_spikes(a, b, ("E", "I"))


def test_unit_r_export_folds_the_resistance_into_the_inputs():
    """``unit_r=True`` (for readers that take a LIF node's r as 1, such as Norse 1.1:
    benchmarks/nir_interop.py) writes the same NIR dynamics: every LIF node has r = 1,
    its inputs carry r_m times the current, and the graph reads back to the same spikes."""
    net, drives = _circuit()
    plain, unit = export_nir(net, drives, DT), export_nir(net, drives, DT, unit_r=True)
    r_m = net.populations[0].params.r_m
    assert np.all(unit.nodes["E"].r == 1.0) and np.all(plain.nodes["E"].r == r_m)
    np.testing.assert_allclose(unit.nodes["input0_to_E"].weight,
                               plain.nodes["input0_to_E"].weight * r_m)
    np.testing.assert_allclose(unit.nodes["E_syn0"].r, plain.nodes["E_syn0"].r * r_m)
    np.testing.assert_array_equal(unit.nodes["I"].r, plain.nodes["I"].r)   # CubaLIF
    x = np.full((2000, 1), 1.5)
    back = import_nir(unit)
    a = simulate(net, Stimulus(x, DT, drives), seed=3, backend="numba")
    b = simulate(back.network, back.stimulus(x), seed=3, backend="numba")
    _same_spikes(a, b, ("E", "I"))


def test_nir_refuses_what_it_cannot_express_naming_the_node():
    net, drives = _circuit(sigma=3e-3)
    with pytest.raises(NIRUnsupported, match=r"Population\('E'\)\.params\.sigma.*noise"):
        export_nir(net, drives)
    esc = Network([Population("Z", 4, EscapeParams())])
    with pytest.raises(NIRUnsupported, match=r"Population\('Z'\): escape-noise neuron"):
        export_nir(esc)
    det, _ = _circuit()
    with pytest.raises(NIRUnsupported, match=r"Drive\(channel=0, population='E'\): Poisson"):
        export_nir(det, (Drive(0, "E", "poisson", gain=10.0, weight=1e-12),))
    import nir

    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                            "thr": nir.Threshold(threshold=np.ones(2)),
                            "output": nir.Output(output_type={"output": np.array([2])})},
                     edges=[("input", "thr"), ("thr", "output")])
    with pytest.raises(NIRUnsupported, match="NIR node 'thr': type Threshold"):
        import_nir(g)


def test_bad_files_are_refused_naming_the_argument(tmp_path):
    from neuroattn.exceptions import ValidationError

    junk = tmp_path / "junk.nir"
    junk.write_text("not hdf5")
    with pytest.raises(ValidationError, match="import_nir.source: cannot read"):
        import_nir(junk)
    with pytest.raises(ValidationError, match="import_nir.source: no such file"):
        import_nir(tmp_path / "missing.nir")
    net, drives = _circuit()
    with pytest.raises(ValidationError, match="write_nir.path: folder"):
        write_nir(export_nir(net, drives), tmp_path / "no" / "x.nir")
    assert list(tmp_path.iterdir()) == [junk]      # nothing half-written


def _snntorch_forward(module, x, steps, hook_layer=None):
    import torch

    counts = np.zeros((x.shape[0], 2))
    hook = None
    if hook_layer is not None:
        def add(_m, _i, out):
            out = out[0] if isinstance(out, tuple) else out
            counts[:, 0] += out.sum(1).numpy()
        hook = hook_layer.register_forward_hook(add)
    with torch.no_grad():
        for t in range(steps):
            out = module(x[t] if x.dim() == 3 else x)
            out = out[0] if isinstance(out, tuple) else out
            counts[:, 1] += out.sum(1).numpy()
    if hook is not None:
        hook.remove()
    return counts


def test_snntorch_imports_our_graph_with_the_same_rates():
    """snnTorch's NIR reader runs the exported graph (forward Euler at its fixed 0.1 ms
    step) with the rates the exact-integration numba engine gives: within 5 % + 2 Hz."""
    import torch
    from snntorch.import_nir import import_from_nir

    pops = [Population("A", 20, LIFParams(t_ref=0.0)),
            Population("B", 10, LIFParams(t_ref=0.0, tau_mem=10e-3))]
    net = Network(pops, [Projection("A", "B", 80e-12, FixedProbability(0.5, seed=1))],
                  _probes(pops))
    drives = (Drive(0, "A", "current", gain=100e-12),)
    with contextlib.redirect_stdout(io.StringIO()):   # snnTorch prints its rescaling
        module = import_from_nir(export_nir(net, drives, DT, outputs=["B"]))
    steps, levels = 2000, np.array([2.5, 3.0, 4.0, 6.0])
    rec = simulate(net, Stimulus(np.repeat(levels[:, None, None], steps, axis=1), DT, drives),
                   dt=DT, seed=0, backend="numba")
    ours = np.array([[len(rec.spikes[t][p][0]) for p in ("A", "B")] for t in range(4)])
    theirs = _snntorch_forward(module, torch.tensor(levels, dtype=torch.float32)[:, None],
                               steps, module.A)
    rate = lambda c: c / (np.array([20, 10]) * steps * DT)  # noqa: E731
    assert rate(ours)[:, 1].min() > 10          # B fires at every level
    np.testing.assert_allclose(rate(theirs), rate(ours), rtol=0.05, atol=2.0)


def test_a_graph_exported_by_snntorch_imports_and_runs():
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    l1, l2 = torch.nn.Linear(4, 12, bias=False), torch.nn.Linear(12, 6, bias=False)
    with torch.no_grad():
        l1.weight.uniform_(0.004, 0.012)
        l2.weight.uniform_(0.02, 0.06)
    kw = dict(init_hidden=True, reset_mechanism="zero", reset_delay=False)
    syn = snn.Synaptic(alpha=torch.full((12,), 0.95), beta=torch.full((12,), 0.99),
                       threshold=torch.ones(12), **kw)
    net = torch.nn.Sequential(l1, syn, l2, snn.Leaky(beta=torch.full((6,), 0.995),
                                                     threshold=torch.ones(6), output=True, **kw))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # snnTorch 1.0 calls nirtorch's deprecated extract_nir_graph: not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = export_to_nir(net, torch.zeros(1, 4), ignore_dims=[0])
    imp = import_nir(graph)
    assert imp.channels == ("input[0]", "input[1]", "input[2]", "input[3]")
    assert any("instantaneous synapse" in n for n in imp.notes)
    steps = 2000
    x = (np.random.default_rng(0).random((steps, 4)) < [0.02, 0.05, 0.08, 0.1]).astype(float)
    rec = simulate(imp.network, imp.stimulus(x), dt=imp.dt, seed=0, backend="numba")
    ours = np.array([len(rec.spikes[0][p][0]) for p in ("n_1", "n_3")])
    theirs = _snntorch_forward(net, torch.tensor(x, dtype=torch.float32)[:, None, :], steps,
                               syn)[0]
    rate = ours / (np.array([12, 6]) * steps * DT)
    assert rate.min() > 20
    np.testing.assert_allclose(rate, theirs / (np.array([12, 6]) * steps * DT), rtol=0.05,
                               atol=2.0)


def test_synaptic_operations_agree_across_backends_and_with_the_analytic_count():
    pa = LIFParams(i_bias=300e-12)
    pops = [Population("A", 8, pa), Population("B", 5, LIFParams())]
    proj = Projection("A", "B", 10e-12, FixedProbability(0.5, seed=2))
    net = with_spike_probes(Network(pops, [proj], [Probe("A"), Probe("B")]))
    counts = {}
    for backend in ("numba", "torch", "brian2"):
        rec = simulate(net, duration=0.5, dt=DT, seed=0, trials=2, backend=backend)
        counts[backend] = count_synops(net, rec, DT)
    ref = counts["numba"]
    for c in counts.values():
        assert c.synops == ref.synops and c.spikes == ref.spikes
        assert c.neuron_updates == 13 * 5000 * 2
    # analytic: every A neuron fires floor(T rate) or one more spike per trial; each spike
    # costs one operation per synapse of A->B
    n_syn = proj.connections(8, 5)[0].size
    per_neuron = 0.5 * lif_rate(0.0, pa)
    spikes = ref.spikes["A"] / (8 * 2)
    assert spikes == pytest.approx(per_neuron, abs=1.0)
    assert ref.synops["A->B"] == ref.spikes["A"] / 8 * n_syn


def test_mapping_respects_every_limit_and_reports_traffic():
    from neuroattn.model.library import cuba

    net = cuba(1200, spikes=True)
    from neuroattn.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Xylo.*cores: 2 used, the chip has 1"):
        map_network(net, "xylo")              # 1200 neurons; Xylo holds 1008
    assert check_mapping(map_network(cuba(1000), "xylo")) == []
    for platform in ("spinnaker2", "loihi2"):
        m = map_network(net, platform)
        p = m.platform
        assert check_mapping(m) == []
        assert np.bincount(m.core).max() <= p.neurons_per_core
        assert m.n_cores <= p.cores
        if p.synapse_capacity is not None:
            from neuroattn.hardware.mapping import neuron_synapses

            pre, post, _, _ = neuron_synapses(net)
            assert np.bincount(m.core[post]).max() <= p.synapse_capacity
            assert m.cut_synapses == int(np.sum(m.core[pre] != m.core[post]))
    spinn = map_network(net, "spinnaker2")
    assert spinn.n_cores >= 1200 / 256
    # a partitioner beats a random assignment with the same core sizes on the cut
    rng = np.random.default_rng(0)
    random_core = rng.permutation(spinn.core)
    pre, post, _, _ = __import__("neuroattn.hardware.mapping", fromlist=["x"]).neuron_synapses(net)
    assert spinn.cut_synapses < np.sum(random_core[pre] != random_core[post])
    # the checker catches a broken limit
    from dataclasses import replace

    crowded = replace(spinn, neurons=np.array([1200]), core=np.zeros(1200, dtype=int))
    assert any(v.startswith("neurons_per_core") for v in check_mapping(crowded))
    rec = simulate(net, duration=0.1, dt=DT, seed=0, backend="numba")
    t = spinn.traffic(net, rec)
    assert 0 < t["packets_per_s"] <= t["cut_events_per_s"]
    kl = map_network(cuba(400), "spinnaker2", partitioner="kernighan-lin")  # networkx
    assert check_mapping(kl) == [] and kl.partitioner == "kernighan-lin" and kl.n_cores >= 2


def test_quantisation_rounds_to_power_of_two_grids():
    q, s = quantize([0.3, -1.0, 0.01], 4)
    assert s == 0.25 and q.tolist() == [0.25, -1.0, 0.0]
    net, _ = _circuit()
    errs = []
    for bits in (4, 6, 8, 16):
        qn = quantize_network(net, bits)
        for a, b in zip(net.projections, qn.projections):
            scale = 2.0 ** np.ceil(np.log2(a.weight / (2 ** (bits - 1) - 1)))
            assert abs(b.weight - a.weight) <= scale / 2 and (b.weight / scale).is_integer()
        errs.append(max(abs(b.weight - a.weight) / a.weight
                        for a, b in zip(net.projections, qn.projections)))
    assert errs == sorted(errs, reverse=True) and errs[-1] < 1e-4


def test_quantised_biased_competition_on_posner():
    from neuroattn.hardware import quantization_report

    rows = quantization_report("posner", "biased-competition", bits=(4, 16), trials=20, seed=0)
    by = {r["bits"]: r for r in rows}
    assert by[None]["js_vs_float"] == 0.0
    assert by[16]["js_vs_float"] < by[4]["js_vs_float"]
    assert abs(by[16]["validity_rt"][0] - by[None]["validity_rt"][0]) < 0.01
    assert by[4]["choice_agreement"] >= 0.9
    # the bridge (analytic softmax of the float circuit) fits the 16-bit circuit as well
    assert 0 < by[None]["js_vs_softmax"] < 0.05
    assert abs(by[16]["js_vs_softmax"] - by[None]["js_vs_softmax"]) < 1e-3


def test_hw_command_export_refusal_and_energy(tmp_path, capsys):
    from neuroattn.cli import main

    out = tmp_path / "bc.nir"
    assert main(["hw", "export", "biased-competition", str(out)]) == 2
    assert "sigma" in capsys.readouterr().err
    assert main(["hw", "export", "biased-competition", str(out), "--noise", "metadata"]) == 0
    assert out.exists()
    assert main(["hw", "import", str(out), "--duration", "0.05", "--input", "1"]) == 0
    text = capsys.readouterr().out
    assert "E0" in text and "rate (Hz)" in text
    assert main(["hw", "energy", "posner", "--trials", "4", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "IBM TrueNorth" in text and "memory access" in text and "softmax" in text
    assert (tmp_path / "energy_posner_biased-competition.png").exists()


def test_loihi2_energy_row_says_its_figures_are_loihi1s():
    """Intel has published no per-operation energy for Loihi 2: the file carries
    Loihi 1's over, says so, and every energy table labels the row accordingly."""
    from neuroattn.hardware import SynOpCount, energy_table, get_platform

    p = get_platform("loihi2")
    assert p.energy_pj["synaptic_op"] == 23.6 and "Loihi 1" in p.energy_pj["measured_on"]
    assert p.published["neurons_per_chip"] == 1_000_000
    assert any("carried over from Loihi 1" in s for s in p.sources)
    count = SynOpCount({"a->b": 10}, {"a": 5}, 100, 0.1, 1)
    (row,) = [r for r in energy_table(count, ["loihi2"]) if r["pricing"] != "45 nm (AC 0.9 pJ)"]
    assert row["pricing"] == "Loihi 2 limits, Loihi 1 energies"
    assert row["energy_j"] == pytest.approx((10 * 23.6 + 100 * 52.0) * 1e-12)
