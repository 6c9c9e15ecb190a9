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
                         "['pair', 'posner']"),
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
    assert "backend 'loihi' is unknown; expected one of ['brian2', 'numba', 'torch']" in \
        capsys.readouterr().err


def test_run_softmax_writes_results_and_is_answered_from_the_store(tmp_path, capsys):
    argv = ["run", "posner", "--tier", "softmax", "--trials", "60", "--seed", "2",
            "--out", str(tmp_path)]
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
                "--seed", "1", "--out", str(tmp_path / sub), "--no-progress"]
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
