"""The neuroattn command: listing, runs, comparisons, the store, and clear errors."""

import subprocess
import sys

import pytest

from neuroattn.cli import main


def test_list_names_mechanisms_tasks_and_backends(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("biased-competition", "posner", "pair", "brian2", "numba", "torch",
                 "attention backends:"):
        assert word in out


@pytest.mark.parametrize("argv, message", [
    (["run", "flanker"], "neuroattn: error: task: unknown task 'flanker'; expected one of "
                         "['"),
    (["run", "posner", "--trials", "99999999999999999999999"],
     "neuroattn: error: --trials: at most 10000000 per run (got 99999999999999999999999)"),
    (["run", "posner", "--set", "validty=0.6"],
     "neuroattn: error: --set validty: unknown name 'validty'; expected one of trials, seed, "),
    (["run", "posner", "--set", "validity=[0.6"],
     "neuroattn: error: --set validity: '[0.6' is not a TOML value"),
    (["run", "posner", "--tier", "softmax", "--backend", "brian2"],
     "neuroattn: error: --backend (with --tier softmax it selects the attention backend): "
     "expected one of ['reference', 'numba', 'torch', 'triton', 'spike'] (got 'brian2')"),
    (["run", "posner", "--set", "mechanism.w_ie=-1e-12"],
     "neuroattn: error: LIFCircuit.w_ie: must be >= 0 A (got -1e-12)"),
    (["compare", "posner", "--vary", "validity=0.6"],
     "neuroattn: error: --vary validity: expected a list of at least two values"),
    (["run", "posner", "--trials", "-3"], "neuroattn: error: --trials: must be >= 1 (got -3)"),
    (["run", "posner", "--trials", "ten"], "neuroattn: error: argument --trials: --trials: "
                                           "expected an integer (got 'ten')"),
    (["run", "posner", "--tier", "quantum"], "neuroattn: error: --tier: expected one of "
                                             "['spiking', 'softmax'] (got 'quantum')"),
    (["run", "posner", "--mechanism", "magic"], "neuroattn: error: --mechanism: unknown "
                                                "mechanism 'magic'"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        sys.exit(main(argv + ["--out", str(tmp_path)]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("")
    assert main(["run", "posner", "--tier", "softmax", "--out", str(blocker / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroattn: error: --out: cannot write results to") and \
        err.count("\n") == 1


def test_unknown_backend_exits_2(tmp_path, capsys):
    assert main(["run", "posner", "--backend", "loihi", "--out", str(tmp_path)]) == 2
    assert "--backend: expected one of ['brian2', 'numba', 'torch'] (got 'loihi')" in \
        capsys.readouterr().err


def test_run_softmax_writes_results_and_is_answered_from_the_store(tmp_path, capsys):
    argv = ["run", "posner", "--tier", "softmax", "--trials", "60", "--seed", "2",
            "--out", str(tmp_path), "--pdf"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "results written" in out
    assert main(argv) == 0
    assert "answered from the store" in capsys.readouterr().out
    run_dir = next((tmp_path / "posner-biased-competition-softmax").iterdir())
    for name in ("trials.csv", "summary.json", "config.toml", "environment.json", "figure.png",
                 "figure.pdf"):
        assert (run_dir / name).is_file(), name


@pytest.mark.slow
def test_compare_twice_gives_identical_trials_csv(tmp_path, capsys):
    runs = []
    for sub in ("a", "b"):
        argv = ["compare", "posner", "--mechanism", "biased-competition", "--trials", "40",
                "--seed", "1", "--out", str(tmp_path / sub), "--no-progress",
                "--set", "agent.random_inputs=20", "--set", "agent.calibration_trials=20"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "spiking RT ms" in out and "softmax RT ms" in out and "JS divergence" in out
        runs.append(next((tmp_path / sub / "posner-biased-competition-compare").iterdir()))
    assert (runs[0] / "trials.csv").read_bytes() == (runs[1] / "trials.csv").read_bytes()


def test_console_script_runs_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "neuroattn.cli", "run", "posner", "--trials", "0",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip() == "neuroattn: error: --trials: must be >= 1 (got 0)"


def test_compile_fills_the_cache_that_the_next_process_loads(tmp_path):
    """`neuroattn compile` compiles the numba kernel into the cache; a new process then
    loads it instead of compiling it again."""
    import os

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    cmd = [sys.executable, "-c", "import sys; from neuroattn.cli import main; "
           "sys.exit(main(['compile']))"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("numba engine: kernel compiled in ")
    assert str(tmp_path) in first.stdout
    assert any("advance" in p.name for p in tmp_path.rglob("*.nbi"))
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("numba engine: kernel loaded from the cache in ")


def test_config_file_round_trips_to_the_same_run(tmp_path, capsys):
    argv = ["run", "pair", "--backend", "numba", "--trials", "20", "--seed", "3", "--set",
            "values=[0.9,0.4]", "--set", "exc.sigma=0.0035", "--out", str(tmp_path),
            "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    config = next((tmp_path / "pair-biased-competition-spiking").iterdir()) / "config.toml"
    assert main(["run", "pair", "--config", str(config), "--out", str(tmp_path)]) == 0
    assert "answered from the store" in capsys.readouterr().out
    # an option given beside the file overrides it: a new run
    assert main(["run", "pair", "--config", str(config), "--seed", "4", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert "results written" in capsys.readouterr().out


def test_run_and_compare_give_the_softmax_tier_the_same_parameters(tmp_path, capsys):
    common = ["posner", "--trials", "40", "--seed", "5", "--out", str(tmp_path), "--no-progress",
              "--set", "agent.random_inputs=10", "--set", "agent.calibration_trials=20"]
    assert main(["run", *common, "--tier", "softmax"]) == 0
    assert main(["compare", *common, "--backend", "numba"]) == 0
    capsys.readouterr()
    import json

    run = json.loads(next((tmp_path / "posner-biased-competition-softmax").iterdir())
                     .joinpath("summary.json").read_text())
    cmp_ = json.loads(next((tmp_path / "posner-biased-competition-compare").iterdir())
                      .joinpath("summary.json").read_text())
    assert run["softmax_params"] == cmp_["bridge"]["fitted"]
    assert run["effects"] == cmp_["tiers"]["softmax"]["effects"]


def test_vary_prints_each_effect_per_value_with_spearman_rho(tmp_path, capsys):
    argv = ["run", "pair", "--tier", "softmax", "--trials", "20", "--vary",
            "contrast=[1.5,2.0,2.5]", "--set", "agent.calibration_trials=10",
            "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "effects against contrast" in out and "Spearman rho" in out
    assert "contrast=1.5" in out and "contrast=2.5" in out
    assert len(list((tmp_path / "pair-biased-competition-softmax").iterdir())) == 3
