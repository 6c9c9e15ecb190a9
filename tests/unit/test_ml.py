"""The ML harness (neuroattn.ml): every variant runs, torch = softmax, counts against
analytic ones, the bridge's circuit converges to its softmax, bad input is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from neuroattn.exceptions import ValidationError  # noqa: E402
from neuroattn.ml import (VARIANTS, MLRun, ModelConfig, TinyTransformer,  # noqa: E402
                          TrainConfig, associative_recall, digits, evaluate, parse_attention,
                          run_ml, train)
from neuroattn.ml.attention import CompetitionAttention, visible_pairs  # noqa: E402
from neuroattn.ml.energy import arithmetic_pj, memory_aware_pj  # noqa: E402

TINY = ModelConfig(embed_dim=8, num_heads=2, blocks=1, mlp=8, window=2, steps=2)


def _model(variant, data, config=TINY, seed=0):
    torch.manual_seed(seed)
    return TinyTransformer(variant, data.kind, data.tokens, data.features, data.n_classes,
                           data.n_values, config)


@pytest.fixture(scope="module")
def recall():
    return associative_recall(seed=0, length=12, n_train=64, n_val=32, n_test=32)


@pytest.fixture(scope="module")
def digit_data():
    return digits(seed=0, patch=4)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_trains_counts_and_tests(variant, recall):
    model = _model(variant, recall)
    model, seconds, val, epochs = train(model, recall.train, recall.val,
                                        TrainConfig(epochs=1), 0)
    assert seconds > 0 and 0 <= val <= 1 and epochs == 1
    if variant == "bridge":
        model = model.bridged(4)
    ev = evaluate(model, recall.test, seed=1, count=True)
    assert 0 <= ev.accuracy <= 1 and ev.correct.shape == (32,)
    assert ev.cost.macs > 0 and ev.cost.acs > 0
    spiking = variant in ("spiking", "bridge")
    assert (ev.cost.spikes > 0) == spiking and (ev.cost.neuron_updates > 0) == spiking
    assert torch.isfinite(model(torch.from_numpy(recall.test.x[:4]))).all()


def test_splits_are_fixed_by_seed_and_disjoint(digit_data):
    again = digits(seed=0, patch=4)
    other = digits(seed=1, patch=4)
    assert np.array_equal(digit_data.test.x, again.test.x)
    assert not np.array_equal(digit_data.test.x, other.test.x)
    rows = {p.tobytes() for p in digit_data.train.x} & {p.tobytes() for p in digit_data.test.x}
    # some digits images are pixel-identical; the index split itself is disjoint
    assert len(rows) < 5
    a = associative_recall(seed=3, length=64, n_train=50, n_val=5, n_test=5)
    x, y = a.train.x, a.train.y
    for i in range(len(y)):
        keys = x[i, :-1, 0]
        assert len(set(keys)) == 63
        j = np.flatnonzero(keys == x[i, -1, 0])
        assert len(j) == 1 and x[i, j[0], 1] == y[i] and a.train.info[i] == 63 - j[0]


def test_training_is_deterministic_per_seed_on_cpu(recall):
    def once():
        m, *_ = train(_model("hard", recall), recall.train, recall.val, TrainConfig(epochs=2), 5)
        return m, evaluate(m, recall.test, seed=2)

    (m1, e1), (m2, e2) = once(), once()
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert np.array_equal(e1.correct, e2.correct)


def test_recall_puts_the_answer_in_the_near_band_with_the_chosen_probability():
    data = associative_recall(seed=1, length=32, n_train=8, n_val=8, n_test=600, near=4,
                              near_fraction=0.5)
    d, x, y = data.test.info, data.test.x, data.test.y
    assert d.min() >= 1 and d.max() <= 31
    assert 0.43 < (d <= 4).mean() < 0.57                    # binomial sd 0.02
    assert set(d[d <= 4]) == {1, 2, 3, 4} and len(set(d[d > 4])) > 20
    rows = np.arange(len(y))
    assert np.array_equal(x[rows, 31 - d, 0], x[:, -1, 0]) and np.array_equal(
        x[rows, 31 - d, 1], y)
    uniform = associative_recall(seed=1, length=32, n_train=8, n_val=8, n_test=600).test.info
    assert (uniform <= 4).mean() < 0.25                      # 4 of 31 distances
    with pytest.raises(ValidationError, match="associative_recall.near_fraction"):
        associative_recall(length=32, near=4, near_fraction=1.5)
    with pytest.raises(ValidationError, match="associative_recall.near"):
        associative_recall(length=32, near_fraction=0.5)


def test_local_model_cannot_see_answers_beyond_its_window_and_the_breakdown_adds_up(recall):
    """One block of window 2: the query's logits do not depend on pairs more than 2
    tokens back (so its accuracy beyond the window is a guess), but do on those within;
    the per-distance accuracies recombine to the overall one."""
    from neuroattn.ml.harness import _by_distance

    model = _model("local", recall).eval()
    x = torch.from_numpy(recall.test.x[:8]).clone()
    n = recall.tokens
    far, near = x.clone(), x.clone()
    far[:, : n - 1 - 2, 1] = (far[:, : n - 1 - 2, 1] + 1) % recall.n_values
    near[:, n - 1 - 2, 1] = (near[:, n - 1 - 2, 1] + 1) % recall.n_values
    with torch.no_grad():
        base = model(x)
        assert torch.equal(model(far), base)
        assert not torch.allclose(model(near), base)
        assert not torch.allclose(_model("softmax", recall).eval()(far),
                                  _model("softmax", recall).eval()(x))
    ev = evaluate(model, recall.test)
    parts = _by_distance(ev.correct, recall.test.info, 2)
    assert parts["n_near"] == int((recall.test.info <= 2).sum()) and \
        parts["n_near"] + parts["n_far"] == ev.n
    recombined = (parts["acc_near"] * parts["n_near"] + parts["acc_far"] * parts["n_far"])
    assert recombined == pytest.approx(ev.accuracy * ev.n)


def test_early_stopping_reads_the_validation_accuracy(recall):
    hist = []
    *_, epochs = train(_model("softmax", recall), recall.train, recall.val,
                       TrainConfig(epochs=6, target=1e-6), 0, history=hist)
    assert epochs == 1 and len(hist) == 1
    # a learning rate too small to change the predictions: no progress after epoch 1
    hist = []
    *_, epochs = train(_model("softmax", recall), recall.train, recall.val,
                       TrainConfig(epochs=6, lr=1e-12, patience=2), 0, history=hist)
    assert epochs == 3 and hist[0] == hist[1] == hist[2]
    *_, epochs = train(_model("softmax", recall), recall.train, recall.val,
                       TrainConfig(epochs=3, lr=1e-12), 0)
    assert epochs == 3
    with pytest.raises(ValidationError, match="TrainConfig.patience"):
        TrainConfig(patience=0).validate()
    with pytest.raises(ValidationError, match="TrainConfig.target"):
        TrainConfig(target=1.5).validate()


def test_vectorised_spiking_attention_equals_the_step_loop_of_the_layer():
    from neuroattn.ml.attention import SpikingAttention

    torch.manual_seed(0)
    layer = SpikingAttention(8, 2, steps=3)
    with torch.no_grad():                  # weights large enough that every layer spikes
        for proj in (layer.ssa.q_proj, layer.ssa.k_proj, layer.ssa.v_proj):
            proj.weight.normal_(0.0, 1.0)
    x = (2 * torch.randn(2, 5, 8)).requires_grad_(True)
    fast = layer(x)
    ref = layer.ssa(layer.encode(x)).mean(0)
    assert torch.allclose(fast, ref, atol=1e-6) and fast.abs().max() > 0
    grad_fast = torch.autograd.grad(fast.square().sum(), [x, layer.ssa.q_proj.weight])
    grad_ref = torch.autograd.grad(ref.square().sum(), [x, layer.ssa.q_proj.weight])
    for a, b in zip(grad_fast, grad_ref):
        assert torch.allclose(a, b, atol=1e-6) and b.abs().max() > 0
    with torch.no_grad():
        assert torch.allclose(layer(x), ref, atol=1e-6)


def test_torch_and_softmax_give_the_same_logits_with_the_same_weights(digit_data):
    config = ModelConfig(embed_dim=16, num_heads=2, blocks=2, mlp=16)
    ours = _model("torch", digit_data, config)
    ours, *_ = train(ours, digit_data.train, digit_data.val, TrainConfig(epochs=1), 0)
    theirs = _model("softmax", digit_data, config, seed=1)
    theirs.load_state_dict(ours.state_dict())
    x = torch.from_numpy(digit_data.test.x)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        a, b = ours(x), theirs(x)          # softmax runs the fused numba kernel here
    assert theirs.blocks[0].attn.mha.backend == "numba"
    assert (a - b).abs().max() < 1e-5
    assert float((a - b).abs().max()) < 1e-3 * float(a.abs().max())
    # and back: a softmax model's state dict loads into the torch model
    ours.load_state_dict(theirs.state_dict())


def test_counts_and_energy_of_a_one_block_softmax_model_match_the_formula(digit_data):
    e, h, m, c = 8, 2, 8, 10
    model = _model("torch", digit_data)
    b, n, f = 5, digit_data.tokens, digit_data.features
    cost = model.cost(torch.from_numpy(digit_data.test.x[:b]))
    d = e // h
    macs = b * n * f * e + 4 * b * n * e * e + b * h * n * n * 2 * d + 2 * b * n * e * m + b * e * c
    acs = b * n * e + b * h * n * n + b * n * e      # position add, row sums, mean pool
    assert (cost.macs, cost.acs, cost.exps) == (macs, acs, b * h * n * n)
    assert arithmetic_pj(cost.macs, cost.acs) == pytest.approx(4.6 * macs + 0.9 * acs)
    assert memory_aware_pj(cost.macs, cost.acs, 0) == pytest.approx(9.6 * macs + 5.9 * acs)


def test_local_attention_counts_only_visible_pairs(recall):
    model = _model("local", recall)
    full = _model("softmax", recall)
    x = torch.from_numpy(recall.test.x[:3])
    n, h, d = recall.tokens, 2, 4
    skipped = 3 * h * (n * n - visible_pairs(n, 2))
    assert full.cost(x).macs - model.cost(x).macs == skipped * 2 * d
    assert visible_pairs(12, 2) == 12 * 5 - 2 * (2 + 1)


def test_spiking_counts_match_the_analytic_count_when_every_neuron_fires(recall):
    """Weights 0 and biases 2: every q, k, v neuron fires at every step; an input of 2
    makes every encoder neuron fire; the attention counts are then maximal and so
    every attention neuron fires too. Counts follow in closed form."""
    model = _model("spiking", recall)
    att = model.blocks[0].attn
    with torch.no_grad():
        for proj in (att.ssa.q_proj, att.ssa.k_proj, att.ssa.v_proj):
            proj.weight.zero_()
            proj.bias.fill_(2.0)
    b, n, e, h, t = 3, recall.tokens, 8, 2, 2
    d = e // h
    cost = att.cost(torch.full((b, n, e), 2.0))
    per_step = 3 * (b * n * e) * e + b * h * 2 * n * d * d + (b * n * e) * e
    assert cost.macs == 0 and cost.acs == t * per_step
    assert cost.spikes == cost.neuron_steps == cost.neuron_updates == 5 * b * n * e * t


def test_bridge_weights_are_the_competition_layer_and_the_circuit_converges():
    from neuroattn.mechanisms.biased_competition import SoftmaxParams

    layer = CompetitionAttention(8, 2, tokens=6)
    with torch.no_grad():
        layer.competition.log_temperature.fill_(math.log(0.7))
    u = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(layer.softmax_weights(u), layer.competition.attend(u), atol=1e-6)
    params = layer.competition.params()
    assert isinstance(params, SoftmaxParams) and params.temperature == pytest.approx(0.7)
    with torch.no_grad():
        target = layer.softmax_weights(torch.randn(400, 6,
                                                   generator=torch.Generator().manual_seed(1)))
    errors = {}
    for steps in (16, 1024):
        spiking = layer.to_spiking(steps)
        assert spiking.circuit.temperature == pytest.approx(0.7)
        spiking.reseed(3)
        w = spiking.circuit_weights(torch.log(target) * 0.7)    # logits whose softmax is target
        assert torch.allclose(w.sum(-1), torch.ones(400))
        assert set(torch.unique(w * steps).tolist()) <= set(range(steps + 1))
        errors[steps] = float((w - target).abs().mean())
    # sampling error falls as 1/sqrt(steps): 64x the steps, about 8x less error
    assert 5 < errors[16] / errors[1024] < 12


def test_bridge_cost_counts_one_spike_per_query_per_step(recall):
    model = _model("bridge", recall).bridged(5)
    b, n, h, d = 4, recall.tokens, 2, 4
    att = model.blocks[0].attn
    x = torch.randn(b, n, 8, generator=torch.Generator().manual_seed(0))
    cost = att.cost(x)
    assert cost.spikes == b * h * n * 5
    assert cost.acs == cost.spikes * d
    assert cost.macs == 4 * b * n * 64 + b * h * n * n * d
    assert cost.neuron_updates == b * h * n * n * 5


def test_bad_input_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="--attention: unknown attention 'sparse'"):
        parse_attention("torch,sparse")
    with pytest.raises(ValidationError, match="--attention"):
        parse_attention("torch,,softmax")
    for seeds in (0, -1, True, 2.0):
        with pytest.raises(ValidationError, match="--seeds"):
            MLRun("digits", ("torch",), seeds).validate()
    with pytest.raises(ValidationError, match="task"):
        MLRun("mnist", ("torch",), 1).validate()
    with pytest.raises(ValidationError, match="TrainConfig.lr"):
        MLRun("digits", ("torch",), 1, training=TrainConfig(lr=float("nan"))).validate()
    with pytest.raises(ValidationError, match="associative_recall.length"):
        associative_recall(length=4)
    with pytest.raises(ValidationError, match="attention"):
        TinyTransformer("sparse", "patches", 4, 16, 10)
    assert not any(tmp_path.iterdir())


def test_cli_refuses_bad_seeds_and_names(tmp_path, capsys):
    from neuroattn.cli import main

    out = str(tmp_path / "r")
    assert main(["ml", "digits", "--attention", "torch,foo", "--out", out]) == 2
    assert "unknown attention 'foo'" in capsys.readouterr().err
    assert main(["ml", "digits", "--seeds", "0", "--out", out]) == 2
    assert "--seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["ml", "digits", "--seeds", "three"])
    assert exc.value.code == 2
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("summary.json"))


def test_run_ml_writes_a_complete_run_and_answers_reruns_from_the_store(tmp_path):
    run = MLRun("recall", ("softmax", "bridge"), 2,
                {"length": 10, "n_train": 32, "n_val": 16, "n_test": 16}, TINY,
                TrainConfig(epochs=1), bridge_steps=4, bridge_sweep=(1, 4))
    res = run_ml(run, tmp_path, progress=False)
    assert sorted(p.name for p in res.path.iterdir()) == [
        "accuracy_energy.png", "config.toml", "environment.json", "summary.json", "trials.csv"]
    assert len(res.table) == 4 and set(res.table["variant"]) == {"softmax", "bridge"}
    assert {"acc_near", "acc_far", "n_near", "n_far", "epochs", "cpu_s"} <= set(res.table)
    assert (res.table["n_near"] + res.table["n_far"] == 16).all()
    assert (res.table["cpu_s"] >= res.table["train_cpu_s"]).all()
    from neuroattn.ml import format_table

    text = format_table(res.summary)
    assert "within the window (distance <= 2" in text and "| bridge |" in text
    s = res.summary["variants"]["bridge"]["test_acc"]
    assert s["low"] <= s["mean"] <= s["high"]
    assert sorted(res.summary["bridge_steps"]) == [0, 1, 4]
    row = res.table.set_index("variant").loc["bridge"].iloc[0]
    assert row["energy_pj"] == pytest.approx(4.6 * row["macs"] + 0.9 * row["acs"])
    again = run_ml(run, tmp_path, progress=False)
    assert again.from_store
    import pandas as pd

    pd.testing.assert_frame_equal(again.table, res.table, check_exact=False, rtol=1e-6,
                                  check_dtype=False)
    assert again.summary["targets"] == res.summary["targets"]
    assert list(again.summary["variants"]) == ["softmax", "bridge"]
    assert list(again.summary["bridge_steps"]) == [0, 1, 4]


def test_cells_trained_in_worker_processes_give_the_serial_rows(tmp_path):
    run = MLRun("recall", ("softmax", "spiking"), 2,
                {"length": 10, "n_train": 32, "n_val": 16, "n_test": 16}, TINY,
                TrainConfig(epochs=2))
    serial = run_ml(run, tmp_path / "serial", progress=False)
    pooled = run_ml(run, tmp_path / "pool", progress=False, workers=2)
    cols = ["task", "variant", "seed", "val_acc", "test_acc", "epochs", "macs", "acs",
            "spikes", "acc_near", "acc_far"]
    import pandas as pd

    pd.testing.assert_frame_equal(pooled.table[cols], serial.table[cols], check_exact=False,
                                  rtol=1e-6)
    assert pooled.summary["targets"] == serial.summary["targets"]
    with pytest.raises(ValidationError, match="--workers"):
        run_ml(run, tmp_path / "bad", progress=False, force=True, workers=0)
