"""Experiment configs: one resolved dict that a run is made from, stored, and read back.

A resolved config has the tables ``task`` (the task's name and every parameter),
``mechanism`` (the mechanism's name and every spiking parameter; dotted names such as
``exc.sigma`` become sub-tables) and ``agent`` (tier, backends, time step, how the
softmax tier gets its parameters), plus ``trials`` and ``seed``. It is written as
config.toml beside every run; :func:`read_config` reads such a file back into the same
dict (``None`` is written as the inline table ``{ none = true }``, which TOML otherwise
lacks). ``neuroattn run TASK --config FILE --set name=value`` starts from the defaults,
applies the file, then each ``--set``.

Examples
--------
>>> cfg = resolve_config("run", "posner", sets=["validity=0.6", "agent.dt=5e-5"])
>>> cfg["task"]["validity"], cfg["agent"]["dt"]
(0.6, 5e-05)
>>> from neuroattn.study.store import to_toml
>>> parse_config_text(to_toml(cfg)) == cfg
True
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import neuroattn
from neuroattn.exceptions import ValidationError

__all__ = ["AGENT_DEFAULTS", "resolve_config", "read_config", "read_toml", "parse_config_text",
           "parse_set", "flatten", "unflatten", "SECTIONS"]

#: The agent's settings: how each tier is run.
AGENT_DEFAULTS = {
    # spiking tier: which engine simulates the network, and its step (s)
    "backend": "brian2",
    "dt": 1e-4,
    # softmax tier: the attention backend that computes the weights
    "attention_backend": "numba",
    # how the softmax tier gets its parameters: 'calibrate' (fitted to simulations of
    # the task's own inputs) or 'analytic' (the mechanism's mean field, no simulation)
    "softmax_from": "calibrate",
    "calibration_backend": "numba",
    "calibration_trials": 60,
    # the bridge: inputs drawn at random over the tasks' range, and counting windows (s)
    "random_inputs": 100,
    "bridge_windows": [0.02, 0.05, 0.1, 0.2, 0.5],
}

SECTIONS = ("task", "mechanism", "agent")
_NONE = {"none": True}


def _decode(value):
    if isinstance(value, dict):
        if value == _NONE:
            return None
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def parse_config_text(text: str, where: str = "config") -> dict:
    """A config dict from TOML text (``{ none = true }`` read as None)."""
    try:
        return _decode(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{where}: not valid TOML ({exc})") from None


def read_toml(path, option: str, where: str | None = None) -> dict:
    """Read the TOML file at ``path``; errors name ``option`` (cannot read) or ``where``
    (default: the path; not valid TOML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"{option}: cannot read {str(p)!r} ({exc.strerror or exc})") \
            from None
    return parse_config_text(text, str(p) if where is None else where)


def read_config(path) -> dict:
    """Read a config file (as written to config.toml, or any subset of it)."""
    return read_toml(path, "--config", f"--config {Path(path)}")


def flatten(table: dict, prefix: str = "") -> dict:
    """``{'exc': {'sigma': 1}}`` -> ``{'exc.sigma': 1}``."""
    out = {}
    for k, v in table.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


def unflatten(flat: dict) -> dict:
    """``{'exc.sigma': 1}`` -> ``{'exc': {'sigma': 1}}``."""
    out: dict = {}
    for name, v in flat.items():
        parts = name.split(".")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


def parse_set(text: str) -> tuple[str, object]:
    """``'name=value'`` -> (name, value); the value is read as a TOML literal.

    A value that is not a TOML literal but a plain word (``numba``) is taken as a string.

    Examples
    --------
    >>> parse_set("values=[0.8,0.4]")
    ('values', [0.8, 0.4])
    >>> parse_set("backend=numba")
    ('backend', 'numba')
    """
    if "=" not in text:
        raise ValidationError(f"--set: expected name=value (got {text!r}); e.g. "
                              f"--set validity=0.6")
    name, raw = (s.strip() for s in text.split("=", 1))
    if not name:
        raise ValidationError(f"--set: the name before '=' is empty (got {text!r})")
    try:
        value = _decode(tomllib.loads(f"v = {raw}")["v"])
    except tomllib.TOMLDecodeError:
        if raw and all(c.isalnum() or c in "-_." for c in raw):
            value = raw
        else:
            raise ValidationError(f"--set {name}: {raw!r} is not a TOML value; write numbers "
                                  f"as 0.6, lists as [0.8, 0.4], strings as \"text\"") from None
    return name, value


def _defaults(task_name: str, mechanism_name: str) -> dict:
    from neuroattn.mechanisms import get_mechanism
    from neuroattn.tasks import get_task

    task_cls = get_task(task_name)
    mech = get_mechanism(mechanism_name)
    return {"task": {"name": task_name, **_plain(task_cls.parameters())},
            "mechanism": {"name": mechanism_name, **unflatten(_plain(mech.parameters()))},
            "agent": dict(AGENT_DEFAULTS)}


def _default_trials(command: str, task_name: str) -> int:
    """The task's default trial count for ``command`` (``Task.default_trials``), else
    200 for a comparison and 100 for a run."""
    from neuroattn.tasks import get_task

    own = getattr(get_task(task_name), "default_trials", {}) or {}
    return int(own.get(command, 200 if command == "compare" else 100))


def _plain(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _apply(config: dict, flat_name: str, value, origin: str) -> None:
    """Set ``flat_name`` (``task.validity``, ``validity``, ``exc.sigma``) in ``config``."""
    valid = {s: set(flatten(config[s])) - {"name"} for s in SECTIONS}
    head, _, rest = flat_name.partition(".")
    if head in SECTIONS and rest:
        section, key = head, rest
        if key not in valid[section]:
            raise ValidationError(f"{origin}: unknown name {flat_name!r}; {section} parameters "
                                  f"are {sorted(valid[section])}")
    elif flat_name in ("trials", "seed"):
        config[flat_name] = value
        return
    else:
        owners = [s for s in SECTIONS if flat_name in valid[s]]
        if not owners:
            names = sorted(f"{s}.{k}" for s in SECTIONS for k in valid[s])
            raise ValidationError(f"{origin}: unknown name {flat_name!r}; expected one of "
                                  f"trials, seed, {', '.join(names)}")
        if len(owners) > 1:
            raise ValidationError(f"{origin}: {flat_name!r} is a parameter of "
                                  f"{' and '.join(owners)}; qualify it, e.g. "
                                  f"{owners[0]}.{flat_name}")
        section, key = owners[0], flat_name
    flat = flatten(config[section])
    flat[key] = value
    config[section] = unflatten(flat)


def resolve_config(command: str, task_name: str, mechanism_name: str = "biased-competition",
                   base: dict | None = None, sets=(), trials: int | None = None,
                   seed: int | None = None, tier: str | None = None,
                   backend: str | None = None, model=None) -> dict:
    """The fully resolved config of a run or a comparison.

    Defaults first, then ``model`` (a mechanism :class:`~neuroattn.study.models.ModelFile`:
    its parameters), then ``base`` (a config file's dict), then the explicit arguments
    (``trials``, ``seed``, ``tier``, ``backend``: None leaves them), then ``sets``
    (``'name=value'`` strings). ``backend`` is the spiking backend, or with
    ``tier='softmax'`` the attention backend. Values are checked when the task,
    mechanism and agents are built from the config.
    """
    base = dict(base or {})
    for key in ("task", "mechanism"):
        given = (base.get(key) or {}).get("name")
        expected = task_name if key == "task" else mechanism_name
        if given is not None and given != expected:
            raise ValidationError(f"--config: the file's {key}.name is {given!r} but the "
                                  f"command asks for {expected!r}; drop one of them")
    config = {"experiment": "", "version": neuroattn.__version__, "command": command,
              "trials": _default_trials(command, task_name), "seed": 0,
              **_defaults(task_name, mechanism_name)}
    if command == "run":
        config["agent"]["tier"] = "spiking"
    if model is not None:
        if model.kind != "mechanism" or model.target != mechanism_name:
            what = (f"a {model.kind} model ({model.target})" if model.kind != "mechanism"
                    else f"a model of mechanism {model.target!r}")
            raise ValidationError(f"--model: {model.path} is {what}; the command runs "
                                  f"mechanism {mechanism_name!r}")
        for name, v in model.parameters.items():
            _apply(config, f"mechanism.{name}", v, f"--model {model.path}")
    for key, value in base.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ValidationError(f"--config: [{key}] must be a table (got {value!r})")
            for name, v in flatten(value).items():
                if name != "name":
                    _apply(config, f"{key}.{name}", v, "--config")
        elif key in ("trials", "seed"):
            config[key] = value
        elif key not in ("experiment", "version", "command"):
            raise ValidationError(f"--config: unknown key {key!r}; expected trials, seed or "
                                  f"the tables [task], [mechanism], [agent]")
    if trials is not None:
        config["trials"] = trials
    if seed is not None:
        config["seed"] = seed
    if tier is not None:
        if command != "run":
            raise ValidationError("--tier: only `run` takes a tier; `compare` runs both")
        config["agent"]["tier"] = tier
    if backend is not None:
        key = "attention_backend" if config["agent"].get("tier") == "softmax" else "backend"
        config["agent"][key] = backend
    for text in sets:
        name, value = parse_set(text)
        _apply(config, name, value, f"--set {name}")
    label = command if command == "compare" else config["agent"]["tier"]
    config["experiment"] = f"{task_name}-{mechanism_name}-{label}"
    return config
