"""Experiment configs: resolution, --set, round trips through config.toml."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroattn.exceptions import ValidationError
from neuroattn.study.config import (
    flatten,
    parse_config_text,
    parse_set,
    resolve_config,
    unflatten,
)
from neuroattn.study.store import to_toml


def test_defaults_name_every_task_mechanism_and_agent_parameter():
    cfg = resolve_config("run", "posner")
    assert cfg["task"]["name"] == "posner" and "validity" in cfg["task"]
    assert cfg["mechanism"]["name"] == "biased-competition"
    assert cfg["mechanism"]["exc"]["sigma"] > 0  # nested neuron parameters are tables
    assert cfg["agent"]["tier"] == "spiking" and cfg["agent"]["backend"] == "brian2"
    assert cfg["experiment"] == "posner-biased-competition-spiking"


def test_resolved_config_round_trips_exactly_with_none_and_infinities():
    cfg = resolve_config("compare", "pair", sets=["agent.attention_backend=torch"])
    cfg["extra"] = {"nothing": None, "list": [1.0, None], "inf": -math.inf}
    back = parse_config_text(to_toml(cfg))
    assert back == cfg
    assert back["extra"]["nothing"] is None


_values = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                    st.floats(allow_nan=False, width=64), st.text(max_size=8),
                    st.lists(st.one_of(st.none(), st.integers(0, 9)), max_size=3))
_keys = st.from_regex(r"[a-m][a-z0-9_]{0,6}", fullmatch=True)  # never the key 'none'
_configs = st.recursive(st.dictionaries(_keys, _values, max_size=4),
                        lambda inner: st.dictionaries(_keys, inner, min_size=1, max_size=3),
                        max_leaves=10)


@settings(max_examples=60, deadline=None)
@given(config=_configs)
def test_any_config_round_trips_none_included(config):
    assert parse_config_text(to_toml(config)) == config


@pytest.mark.parametrize("text, expected", [
    ("validity=0.6", ("validity", 0.6)),
    ("values=[0.8,0.4]", ("values", [0.8, 0.4])),
    ("task.k = 3", ("task.k", 3)),
    ("agent.backend=numba", ("agent.backend", "numba")),
    ('agent.backend="torch"', ("agent.backend", "torch")),
    ("flag=true", ("flag", True)),
])
def test_parse_set_reads_toml_literals(text, expected):
    assert parse_set(text) == expected


def test_set_applies_to_the_section_that_owns_the_name():
    cfg = resolve_config("run", "posner", sets=["validity=0.6", "w_ie=9e-12", "agent.dt=5e-5",
                                                "exc.sigma=0.003", "seed=4"])
    assert cfg["task"]["validity"] == 0.6
    assert cfg["mechanism"]["w_ie"] == 9e-12
    assert cfg["mechanism"]["exc"]["sigma"] == 0.003
    assert cfg["agent"]["dt"] == 5e-5
    assert cfg["seed"] == 4


def test_set_refuses_unknown_and_ambiguous_names():
    with pytest.raises(ValidationError, match=r"--set validty: unknown name 'validty'; expected "
                                              r"one of trials, seed, .*task.validity"):
        resolve_config("run", "posner", sets=["validty=0.6"])
    with pytest.raises(ValidationError, match=r"--set task.w_ie: unknown name 'task.w_ie'; task "
                                              r"parameters are \["):
        resolve_config("run", "posner", sets=["task.w_ie=1"])
    cfg = resolve_config("run", "posner")
    shared = set(cfg["task"]) & set(cfg["agent"]) - {"name"}
    for name in shared:  # a name two sections own must be qualified
        with pytest.raises(ValidationError, match=rf"'{name}' is a parameter of .* qualify it"):
            resolve_config("run", "posner", sets=[f"{name}=1"])


def test_config_file_must_match_the_command_and_know_its_keys():
    with pytest.raises(ValidationError, match=r"task.name is 'pair' but the command asks for "
                                              r"'posner'"):
        resolve_config("run", "posner", base={"task": {"name": "pair"}})
    with pytest.raises(ValidationError, match=r"--config: unknown key 'trails'"):
        resolve_config("run", "posner", base={"trails": 3})
    with pytest.raises(ValidationError, match=r"--config: unknown name 'task.validty'"):
        resolve_config("run", "posner", base={"task": {"validty": 0.7}})


def test_explicit_options_override_the_file_and_set_overrides_both():
    base = {"trials": 30, "seed": 2, "task": {"validity": 0.7}}
    cfg = resolve_config("run", "posner", base=base, trials=40, sets=["validity=0.9"])
    assert (cfg["trials"], cfg["seed"], cfg["task"]["validity"]) == (40, 2, 0.9)
    soft = resolve_config("run", "posner", tier="softmax", backend="torch")
    assert soft["agent"]["attention_backend"] == "torch" and soft["agent"]["backend"] == "brian2"
    with pytest.raises(ValidationError, match=r"--tier: only `run` takes a tier"):
        resolve_config("compare", "posner", tier="softmax")


def test_flatten_and_unflatten_invert_each_other():
    nested = {"a": 1, "exc": {"sigma": 2.0, "deep": {"x": [1]}}}
    assert flatten(nested) == {"a": 1, "exc.sigma": 2.0, "exc.deep.x": [1]}
    assert unflatten(flatten(nested)) == nested
