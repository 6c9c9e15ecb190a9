"""Bad input through the public API: a clear error naming the parameter, never a crash
deep inside numpy, numba or brian2, never a silent result. (The attention layers have
their own battery in tests/unit/attention.)"""

import pytest

from neuroattn.backends import simulate
from neuroattn.cli import main
from neuroattn.exceptions import BackendUnavailable, ValidationError
from neuroattn.mechanisms.biased_competition import EscapeCircuit, LIFCircuit, SoftmaxParams
from neuroattn.model.library import cuba
from neuroattn.model.units import check_memory
from neuroattn.neurons.brian2_eqs import quiet_brian2
from neuroattn.study.config import resolve_config
from neuroattn.tasks import Gain, Pair, Posner

with quiet_brian2():
    from brian2 import Hz, mV, ms, pA


@pytest.mark.parametrize("make, param", [
    (lambda: Posner(soa=150 * mV), "Posner.soa"),
    (lambda: Posner(criterion=10 * ms), "Posner.criterion"),
    (lambda: Pair(window=0.2 * Hz), "Pair.window"),
    (lambda: Gain(dt=1 * pA), "Gain.dt"),
    (lambda: LIFCircuit(k=2, tau_exc=5 * mV), "LIFCircuit.tau_exc"),
    (lambda: LIFCircuit(k=2, input_gain=80 * ms), "LIFCircuit.input_gain"),
    (lambda: SoftmaxParams(k=2, temperature=1.0, rate=60 * ms), "SoftmaxParams.rate"),
    (lambda: simulate(cuba(100), duration=0.01, dt=1 * mV, backend="numba"), "simulate.dt"),
    (lambda: simulate(cuba(100), duration=10 * Hz, backend="numba"), "simulate.duration"),
])
def test_a_quantity_of_the_wrong_dimension_is_refused_naming_the_unit(make, param):
    with pytest.raises(ValidationError, match=rf"^{param}: expected a quantity in ") as info:
        make()
    assert "pass e.g." in str(info.value)


def test_brian2_quantities_are_converted_to_si():
    assert Posner(soa=150 * ms).soa == pytest.approx(0.15)
    assert Posner(criterion=10 * Hz).criterion == pytest.approx(10.0)
    assert Pair(window=200 * ms, duration=450 * ms).window == pytest.approx(0.2)
    assert LIFCircuit(k=2, tau_exc=5 * ms).tau_exc == pytest.approx(5e-3)
    # a quantity and its bare SI number give the same task (and the same config)
    assert Posner(soa=150 * ms) == Posner(soa=0.15)


@pytest.mark.parametrize("make, param", [
    (lambda: Posner(soa="0.15"), "Posner.soa"),
    (lambda: Posner(dt=float("nan")), "Posner.dt"),
    (lambda: Posner(validity=float("nan")).validate(), "Posner.validity"),
    (lambda: Posner(k=2.5).validate(), "Posner.k"),
    (lambda: Posner(block_size=0).validate(), "Posner.block_size"),
    (lambda: Pair(values=(1.0, float("inf"))).validate(), "Pair.values"),
    (lambda: Gain(duration=-1).validate(), "Gain.duration"),
    (lambda: Gain(n_orientations=1).validate(), "Gain.n_orientations"),
    (lambda: LIFCircuit(k=0), "LIFCircuit.k"),
    (lambda: LIFCircuit(k=2, input_gain=float("nan")), "LIFCircuit.input_gain"),
    (lambda: EscapeCircuit(k=2, n_per=0), "EscapeCircuit.n_per"),
    (lambda: cuba(-5), "cuba.n"),
    (lambda: cuba(100, p=1.5), "cuba.p"),
    (lambda: simulate(cuba(100), duration=float("nan"), backend="numba"),
     "simulate.duration"),
    (lambda: simulate(cuba(100), duration=0.01, seed=-1, backend="numba"), "simulate.seed"),
    (lambda: simulate(cuba(100), duration=0.01, trials=0, backend="numba"), "simulate.trials"),
    (lambda: simulate("net", duration=0.01), "simulate.network"),
    (lambda: resolve_config("run", "posner", sets=["validity=0.6=0.7"]), "--set validity"),
    (lambda: resolve_config("run", "posner", sets=["colour=1"]), "--set colour"),
    (lambda: resolve_config("run", "nope"), "task"),
])
def test_bad_values_are_refused_naming_the_parameter(make, param):
    with pytest.raises(ValidationError) as info:
        make()
    assert str(info.value).startswith(param), str(info.value)


def test_an_unknown_backend_lists_the_known_ones():
    with pytest.raises(BackendUnavailable, match=r"backend 'nest' is unknown; expected one of "
                       r"\['brian2', 'numba', 'torch'\]"):
        simulate(cuba(100), duration=0.01, backend="nest")


def test_sizes_that_cannot_be_allocated_are_refused_up_front_with_the_estimate():
    with pytest.raises(ValidationError, match=r"^simulate\.trials: 10000000 trials of 1000000 "
                       r"steps of 400 neurons need about [\d.]+ TiB of memory; [\d.]+ \w+ are "
                       r"available"):
        simulate(cuba(400), duration=100.0, trials=10 ** 7, backend="numba")
    with pytest.raises(ValidationError, match=r"^--trials: 5 trials need about 1.0 KiB of "
                       r"memory; 10 B are available; run fewer"):
        _check_with_limit(1024.0, 10.0)
    _check_with_limit(1024.0, 2048.0)  # fits: no error


def _check_with_limit(nbytes, limit):
    import neuroattn.model.units as units

    real = units.available_memory
    units.available_memory = lambda: limit
    try:
        check_memory(nbytes, "--trials", "5 trials", "run fewer")
    finally:
        units.available_memory = real


@pytest.mark.parametrize("argv, expect", [
    (["run", "posner", "--trials", "99999999999999999999999"], r"--trials: at most 10000000"),
    (["run", "posner", "--trials", "9000000", "--backend", "numba"],
     r"--trials: 9000000 trials \([\d.]+ KiB of stimulus each\) need about [\d.]+ GiB of "
     r"memory"),
    (["run", "posner", "--trials", "ten"], r"--trials: expected an integer \(got 'ten'\)"),
    (["run", "posner", "--set", "soa=-0.1"], r"Posner\.soa: must be > 0 s"),
    (["run", "posner", "--set", "validity=nan"], r"Posner\.validity"),
    (["run", "posner", "--set", "exc.sigma=-1"], r"sigma"),
    (["run", "posner", "--backend", "nest"], r"--backend: expected one of"),
    (["run", "posner", "--tier", "both"], r"--tier: expected one of"),
    (["run", "stroop"], r"task: unknown task 'stroop'"),
    (["compare", "posner", "--mechanism", "telepathy"], r"--mechanism: unknown mechanism"),
])
def test_the_command_line_answers_bad_input_with_one_line_and_status_2(argv, expect, tmp_path,
                                                                       capsys):
    try:
        rc = main(argv + ["--out", str(tmp_path / "out"), "--no-progress"])
    except SystemExit as exc:  # argparse's own errors (same status and one line)
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("neuroattn: error: ")
    import re
    assert re.search(expect, lines[0]), lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("summary.json"))


def test_no_silent_nan_from_a_run_with_nan_input(tmp_path, capsys):
    # contrast NaN would make every rate NaN: refused where the task is built
    rc = main(["run", "pair", "--set", "contrast=nan", "--out", str(tmp_path), "--no-progress"])
    assert rc == 2
    assert "Pair.contrast" in capsys.readouterr().err
