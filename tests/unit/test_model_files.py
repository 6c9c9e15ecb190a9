"""models/: named parameter sets; --model applies them, a bad file is refused by name."""

from pathlib import Path

import pytest

from neuroattn.cli import main
from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.study.config import flatten, resolve_config
from neuroattn.study.models import load_model

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.toml"))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_shipped_model_validates_and_names_its_source(path):
    model = load_model(path)
    assert model.source.strip() and model.name == path.stem
    if model.kind == "network":
        net = model.network()
        assert net.name == model.target
    else:
        defaults = get_mechanism(model.target).parameters()
        assert set(model.parameters) <= set(defaults)


def test_the_biased_competition_model_is_the_default_circuit():
    model = load_model(ROOT / "models" / "biased-competition.toml")
    assert model.parameters == get_mechanism("biased-competition").parameters()


def test_cuba_model_builds_the_benchmark_network():
    from neuroattn.model.library import cuba

    net = load_model(ROOT / "models" / "cuba.toml").network()
    ref = cuba(4000)
    assert [p.name for p in net.populations] == [p.name for p in ref.populations]
    assert [p.size for p in net.populations] == [3200, 800]
    assert net.projections == ref.projections  # the same connectivity (seed 0)


def _write(tmp_path, body: str, name="m.toml") -> Path:
    p = tmp_path / name
    p.write_text('[model]\nname = "m"\nkind = "mechanism"\nmechanism = "biased-competition"\n'
                 'source = "test"\n' + body)
    return p


@pytest.mark.parametrize("body, match", [
    ("[parameters]\nw_eee = 1.0\n", r"parameters\.w_eee: not a parameter of biased-competition"),
    ("[parameters]\nn_exc = \"forty\"\n", r"parameters\.n_exc: expected a value like 40"),
    ("[parameters]\n[parameters.exc]\ntau_mem = -0.02\n", r"\[parameters\] .*tau_mem"),
    ("[parameters]\nn_exc = 0\n", r"\[parameters\] .*n_exc"),
    ("[params]\n", r"unknown table\(s\) \['params'\]"),
])
def test_a_bad_model_file_is_refused_naming_file_and_key(tmp_path, body, match):
    path = _write(tmp_path, body)
    with pytest.raises(ValidationError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_bad_model_header_names_the_key(tmp_path):
    p = tmp_path / "h.toml"
    p.write_text('[model]\nname = "h"\nkind = "circuit"\nsource = "x"\n')
    with pytest.raises(ValidationError, match=r"h\.toml: model\.kind: expected one of "
                       r"\['mechanism', 'network'\] \(got 'circuit'\)"):
        load_model(p)
    p.write_text('[model]\nname = "h"\nkind = "network"\nbuilder = "cuba"\nsource = "x"\n'
                 '[parameters]\nneurons = 10\n')
    with pytest.raises(ValidationError, match=r"parameters\.neurons: cuba\(\) takes no such"):
        load_model(p)


def test_model_parameters_reach_the_run_config_and_set_still_overrides(tmp_path, capsys):
    path = _write(tmp_path, "[parameters]\ninput_gain = 6e-11\n[parameters.exc]\nsigma = 0.005\n")
    model = load_model(path)
    cfg = resolve_config("run", "posner", "biased-competition", model=model,
                         sets=["exc.sigma=0.003"])
    flat = flatten(cfg["mechanism"])
    assert flat["input_gain"] == 6e-11 and flat["exc.sigma"] == 0.003
    assert main(["run", "posner", "--model", str(path), "--backend", "numba", "--trials", "8",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    stored = (next((tmp_path / "out" / "posner-biased-competition-spiking").iterdir())
              / "config.toml").read_text()
    assert "input_gain = 6e-11" in stored


def test_run_refuses_a_network_model_and_a_missing_file(tmp_path, capsys):
    assert main(["run", "posner", "--model", str(ROOT / "models" / "cuba.toml"),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--model:" in err and "cuba.toml is a network model (cuba)" in err
    assert main(["run", "posner", "--model", str(tmp_path / "nope.toml"),
                 "--out", str(tmp_path)]) == 2
    assert "--model: cannot read" in capsys.readouterr().err
