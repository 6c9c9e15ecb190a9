"""The results store: atomic writes, stable run ids, TOML round trips."""

import json
import tomllib

import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.study import check_writable, config_id, is_stored, run_path, save_run, to_toml


def test_config_id_is_stable_and_order_independent():
    a = {"task": {"name": "posner", "k": 2}, "seed": 1}
    b = {"seed": 1, "task": {"k": 2, "name": "posner"}}
    assert config_id(a) == config_id(b)
    assert config_id(a) != config_id({**a, "seed": 2})


def test_to_toml_round_trips_through_tomllib():
    cfg = {"experiment": "x", "trials": 3, "dt": 1e-4, "flag": True, "values": [1.0, 0.2],
           "mechanism": {"name": "bc", "circuit": {"k": 2, "exc": {"tau_mem": 0.02}}},
           "null": float("-inf")}
    back = tomllib.loads(to_toml(cfg))
    assert back == cfg


def test_save_run_writes_everything_and_leaves_nothing_on_failure(tmp_path):
    cfg = {"experiment": "e", "seed": 0}
    path = run_path(tmp_path, "e", cfg)
    table = pd.DataFrame({"trial": [0, 1], "rt": [0.1, 0.2]})
    save_run(path, cfg, {"effects": []}, table, seed=0)
    assert is_stored(path)
    assert sorted(p.name for p in path.iterdir()) == ["config.toml", "environment.json",
                                                      "summary.json", "trials.csv"]
    env = json.loads((path / "environment.json").read_text())
    assert env["seed"] == 0 and "numpy" in env["packages"]

    class Boom:
        def savefig(self, *a, **k):
            raise RuntimeError("disk full")

    other = run_path(tmp_path, "e", {"experiment": "e", "seed": 1})
    with pytest.raises(RuntimeError, match="disk full"):
        save_run(other, {"seed": 1}, {}, table, {"fig": Boom()}, seed=1)
    assert not other.exists()
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [path.name]


def test_check_writable_names_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValidationError, match=r"--out: cannot write results to .*file/sub"):
        check_writable(blocker / "sub")
