"""The normalization model of attention (Reynolds & Heeger 2009) at both tiers.

The softmax tier is held to the published Figure 2 on the authors' own grid and on the
task's; the spiking tier to the switch between contrast and response gain at a small
trial count and a seed the docs do not quote; the layer to the float64 reference, its
gradient and its dtype; bad input to clear errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.normalization import (NormalizationLayer, NormalizationParams,
                                                NormCircuit, to_softmax, to_spiking)
from neuroattn.tasks import get_task
from neuroattn.tasks.normalization import fit_naka_rushton


def _authors_figure2(stim_width, att_width):
    """The paper's Figure 2 simulation: the authors' grid (x -200..200, step 1), two
    stimuli at +-100, attention on the one at +100 (the recorded unit's) or at -100."""
    p = NormalizationParams(k=401, spacing=1.0, n_orientations=36)
    x = p.positions()
    contrasts = np.logspace(-5, 0, 25)
    stim = np.exp(-(x - 100) ** 2 / (2 * stim_width ** 2)) + np.exp(
        -(x + 100) ** 2 / (2 * stim_width ** 2))
    unit = int(np.argmin(np.abs(x - 100)))
    curves = {}
    for att, centre in ((True, 100.0), (False, -100.0)):
        field = np.exp(-(x - centre) ** 2 / (2 * att_width ** 2))
        r = p.population(contrasts[:, None] * stim, np.broadcast_to(field, (25, x.size)))
        curves[att] = r[:, unit, p.preferred]
    return fit_naka_rushton(contrasts, curves[True], curves[False])


def test_layer_reference_reproduces_figure2_on_the_authors_grid():
    a = _authors_figure2(3.0, 30.0)  # Figure 2A: small stimulus, large attention field
    assert a["n"] == pytest.approx(1.0, abs=1e-3)  # the model has no exponent
    assert a["att"][1] / a["away"][1] == pytest.approx(1.00, abs=0.02)
    assert a["away"][2] / a["att"][2] == pytest.approx(1.98, abs=0.02)
    b = _authors_figure2(5.0, 3.0)  # Figure 2B: large stimulus, small attention field
    assert b["att"][1] / b["away"][1] == pytest.approx(1.42, abs=0.03)
    assert b["away"][2] / b["att"][2] < 1.5  # mostly response gain


def test_softmax_tier_passes_figure2_bands_on_the_task():
    task = get_task("normalization")(n_boot=40)
    mech = get_mechanism("normalization")
    trials = task.make_trials(64, seed=5)
    result = task.score(trials, mech.agent("softmax", task.spec()).run(trials), seed=5)
    est = {e.name: e for e in result.effects}
    assert est["contrast_gain_rmax_ratio"].estimate == pytest.approx(1.0, abs=0.02)
    assert est["contrast_gain_c50_ratio"].estimate == pytest.approx(1.98, abs=0.04)
    assert est["response_gain_rmax_ratio"].estimate == pytest.approx(1.42, abs=0.03)
    held = [e for e in result.effects if e.band is not None]
    assert held and all(e.passed for e in held), [(e.name, e.estimate) for e in held]


def test_spiking_tier_switches_from_contrast_to_response_gain():
    # 2 trials per condition, 5 contrasts, a seed no page quotes: the switch still shows
    task = get_task("normalization")(contrasts=tuple(np.logspace(-2.5, 0.0, 5)), n_boot=20)
    mech = get_mechanism("normalization")
    trials = task.make_trials(40, seed=23)
    result = task.score(trials, mech.agent("spiking", task.spec()).run(trials), seed=23)
    est = {e.name: e.estimate for e in result.effects}
    assert 0.85 <= est["contrast_gain_rmax_ratio"] <= 1.2, est
    assert est["contrast_gain_c50_ratio"] > 1.2, est
    assert est["response_gain_rmax_ratio"] > 1.15, est
    # the switch itself: response gain with the small field exceeds that with the large
    assert est["response_gain_rmax_ratio"] > est["contrast_gain_rmax_ratio"] + 0.15, est


def test_layer_matches_reference_and_computes_through_attention():
    p = NormalizationParams(k=9, sigma=2e-3, rate=30.0, baseline=1.5)
    rng = np.random.default_rng(0)
    c = rng.uniform(0.0, 0.5, (3, 6, 9))
    b = rng.uniform(0.0, 1.0, (3, 6, 9))
    c[:, :, :] = c[:, :1, :]  # constant inputs: the filter leaves them unchanged
    b[:, :, :] = b[:, :1, :]
    ref = p.responses(c[:, -1], b[:, -1])
    for backend in ("reference", "numba", "torch"):
        layer = NormalizationLayer(p, backend)
        with torch.no_grad():
            out = layer(torch.as_tensor(c), torch.as_tensor(b), 1e-3)
        np.testing.assert_allclose(out[:, -1].numpy(), ref, rtol=1e-10, atol=1e-10)


def test_layer_gradient_and_dtype():
    p = NormalizationParams(k=5, sigma=1e-2, rate=20.0)
    layer = NormalizationLayer(p)
    x = torch.full((2, 4, 5), 0.1, dtype=torch.float64)
    x[:, :, 2] = 0.4
    b = torch.zeros_like(x)
    b[1, :, 2] = 1.0
    # the gradient through the attention call against a central difference of the
    # float64 reference in log sigma
    out = layer(x, b, 1e-3)
    out[:, -1, 2].sum().backward()
    eps = 1e-6
    hi = NormalizationParams(k=5, sigma=1e-2 * np.exp(eps), rate=20.0).responses(
        x[:, -1].numpy(), b[:, -1].numpy())[:, 2].sum()
    lo = NormalizationParams(k=5, sigma=1e-2 * np.exp(-eps), rate=20.0).responses(
        x[:, -1].numpy(), b[:, -1].numpy())[:, 2].sum()
    assert layer.log_sigma.grad.item() == pytest.approx((hi - lo) / (2 * eps), rel=1e-5)
    assert layer.log_sigma.grad.item() < 0  # more sigma, less response
    assert torch.autograd.gradcheck(lambda s: NormalizationLayer(p).normalize(s),
                                    (torch.rand(2, 5, p.n_orientations, dtype=torch.float64)
                                     .add(0.05).requires_grad_(),))
    layer32 = NormalizationLayer(p, dtype=torch.float32)
    out32 = layer32(x.float(), b.float(), 1e-3)
    assert out32.dtype == torch.float32
    ref = p.responses(x[:, -1].numpy(), b[:, -1].numpy())
    np.testing.assert_allclose(out32[:, -1].detach().numpy(), ref, rtol=2e-4)


def test_bridge_keeps_the_geometry_and_to_softmax_sits_in_the_operating_range():
    circuit = NormCircuit()
    p = to_softmax(circuit)
    assert (p.k, p.spacing, p.ex_width, p.ix_width, p.apeak) == (9, 5.0, 5.0, 20.0, 2.0)
    # sigma puts the layer's semi-saturation inside the encoders' contrast range
    x = p.positions()
    stim = np.exp(-x ** 2 / (2 * 3.0 ** 2))
    cs = np.logspace(-3, 0, 13)
    r = p.population(cs[:, None] * stim, np.zeros((13, 9)))[:, 4, p.preferred]
    c50 = cs[np.argmin(np.abs(r - r[-1] / 2))]
    assert circuit.thresholds()[0] / 3 <= c50 <= circuit.thresholds()[-1]
    back = to_spiking(NormalizationParams(k=7, spacing=4.0, ix_width=12.0, apeak=3.0))
    assert (back.k, back.spacing, back.ix_width, back.apeak) == (7, 4.0, 12.0, 3.0)


def test_attention_is_a_gain_before_normalization_in_the_circuit():
    c = NormCircuit(apeak=2.0)
    # one unit of bias moves the escape neurons by delta_u ln 2: their drive doubles
    assert c.attention_gain * c.resp.r_m / c.resp.delta_u == pytest.approx(np.log(2.0))
    # orientation channels: drive scales with the tuning kernel
    tb = c.tuning_bias() * c.resp.r_m / c.resp.delta_u
    assert tb[c.preferred] == 0.0 and np.all(tb <= 0)
    # the encoders: summed rate grows by ~1/(t_ref ln r) Hz per e-fold of drive
    from neuroattn.neurons import escape_rate

    def summed(d):
        v = c.enc.r_m * (c.encoder_bias + c.encoder_gains() * d)
        return float(np.sum(escape_rate(v, c.enc)))

    slope = (summed(0.15) - summed(0.015)) / np.log(10.0)
    assert slope == pytest.approx(1.0 / (c.enc.t_ref * np.log(c.level_ratio)), rel=0.15)


@pytest.mark.parametrize("kwargs, where", [
    ({"contrasts": (0.1, 0.2, 0.3)}, "Normalization.contrasts"),
    ({"contrasts": (0.1, 0.5, 0.3, 0.9)}, "Normalization.contrasts"),
    ({"contrasts": (0.0, 0.1, 0.5, 1.0)}, "Normalization.contrasts"),
    ({"n_positions": 8}, "Normalization.n_positions"),
    ({"small_stimulus": -3.0}, "Normalization.small_stimulus"),
    ({"window": 0.6}, "Normalization.window"),
    ({"n_boot": 2}, "Normalization.n_boot"),
])
def test_task_refuses_bad_parameters(kwargs, where):
    with pytest.raises(ValidationError, match=where):
        get_task("normalization")(**kwargs).make_trials(4)


def test_layer_and_circuit_refuse_bad_input():
    p = NormalizationParams(k=3)
    layer = NormalizationLayer(p)
    x = torch.zeros(1, 2, 3, dtype=torch.float64)
    with pytest.raises(ValidationError, match="shape"):
        layer(x, torch.zeros(1, 2, 4, dtype=torch.float64), 1e-3)
    with pytest.raises(ValidationError, match="forward.x"):
        layer(torch.full_like(x, float("nan")), torch.zeros_like(x), 1e-3)
    with pytest.raises(ValidationError, match="forward.b"):
        layer(x + 0.5, torch.full_like(x, float("inf")), 1e-3)
    # a bias below -abase / (apeak - abase) silences the unit: the gain is rectified
    out = layer(x + 0.5, torch.full_like(x, -2.0), 1e-3)
    assert float((out - layer.baseline).abs().max().detach()) < 1e-12
    with pytest.raises(ValidationError, match="dt"):
        layer(x, x, 0.0)
    with pytest.raises(ValidationError, match="dtype"):
        NormalizationLayer(p, dtype=torch.int32)
    with pytest.raises(ValidationError, match="NormalizationParams.sigma"):
        NormalizationLayer(NormalizationParams(k=3, sigma=-1.0))
    with pytest.raises(ValidationError, match="level_ratio"):
        NormCircuit(level_ratio=1.0)
    with pytest.raises(ValidationError, match="enc.t_ref"):
        get_mechanism("normalization").spiking(get_task("normalization")().spec(),
                                               **{"enc.t_ref": 0.0})
    with pytest.raises(ValidationError, match="unknown parameter"):
        get_mechanism("normalization").resolve(w_typo=1.0)


def test_mechanism_says_which_tasks_it_cannot_run():
    mech = get_mechanism("normalization")
    assert "downstream 'unit'" in mech.supports(get_task("gain")().spec())
    from neuroattn.model import TaskSpec

    assert "time" in mech.supports(TaskSpec("time", 3))
    assert mech.supports(get_task("normalization")().spec()) is None
