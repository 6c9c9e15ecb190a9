"""Model files: named parameter sets as TOML, each with its source (``models/``).

A model file names what it parametrises and where the values come from::

    [model]
    name = "biased-competition"           # how reports refer to it
    kind = "mechanism"                    # or "network"
    mechanism = "biased-competition"      # kind = "mechanism": a registered mechanism
    source = "Desimone & Duncan 1995; ..."
    description = "..."

    [parameters]                          # the mechanism's parameters (dotted names as tables)
    n_exc = 40
    [parameters.exc]
    sigma = 0.004

A ``kind = "network"`` file names a builder of :mod:`neuroattn.model.library`
(``builder = "cuba"``) and its keyword arguments in ``[parameters]``;
:meth:`ModelFile.network` builds it. ``neuroattn run TASK --model FILE`` (and an
experiment's ``model`` key) apply a mechanism model's parameters before ``--config`` and
``--set``. Every file is checked when read: an unknown key, a parameter the mechanism or
builder does not have, or a value it refuses is reported naming the file and the key.

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "weak.toml"
>>> _ = path.write_text('[model]\\nname = "weak"\\nkind = "mechanism"\\n'
...                     'mechanism = "biased-competition"\\nsource = "a test"\\n'
...                     '[parameters]\\ninput_gain = 6e-11\\n')
>>> load_model(path).parameters
{'input_gain': 6e-11}
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from neuroattn.exceptions import ValidationError

__all__ = ["ModelFile", "load_model", "KINDS"]

KINDS = ("mechanism", "network")
_MODEL_KEYS = {"name", "kind", "mechanism", "builder", "source", "description"}


@dataclass(frozen=True)
class ModelFile:
    """A model file, read and checked.

    Attributes
    ----------
    path : Path
    name, kind, source, description : str
    target : str
        The mechanism's name (kind ``mechanism``) or the builder's (kind ``network``).
    parameters : dict
        Flat (dotted) parameter names -> values, as the mechanism or builder takes them.
    """

    path: Path
    name: str
    kind: str
    target: str
    source: str
    description: str
    parameters: dict

    def network(self):
        """The network a ``kind = "network"`` model describes."""
        if self.kind != "network":
            raise ValidationError(f"{self.path}: model.kind is {self.kind!r}; only a network "
                                  f"model builds a network (a mechanism model is used with "
                                  f"a task: neuroattn run TASK --model {self.path})")
        from neuroattn.model import library

        return getattr(library, self.target)(**self.parameters)


def _flat(table: dict, prefix: str = "") -> dict:
    from neuroattn.study.config import flatten

    return flatten(table, prefix)


def load_model(path) -> ModelFile:
    """Read and check the model file at ``path`` (ValidationError naming file and key)."""
    from neuroattn.study.config import read_toml

    p = Path(path)
    raw = read_toml(p, "--model")
    unknown = sorted(set(raw) - {"model", "parameters"})
    if unknown:
        raise ValidationError(f"{p}: unknown table(s) {unknown}; expected [model] and "
                              f"[parameters]")
    head = raw.get("model")
    if not isinstance(head, dict):
        raise ValidationError(f"{p}: expected a [model] table with name, kind and source")
    extra = sorted(set(head) - _MODEL_KEYS)
    if extra:
        raise ValidationError(f"{p}: model.{extra[0]}: unknown key; expected "
                              f"{sorted(_MODEL_KEYS)}")
    for key in ("name", "kind", "source"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise ValidationError(f"{p}: model.{key}: expected a non-empty string (got "
                                  f"{head.get(key)!r})")
    kind = head["kind"]
    if kind not in KINDS:
        raise ValidationError(f"{p}: model.kind: expected one of {list(KINDS)} (got {kind!r})")
    needed = "mechanism" if kind == "mechanism" else "builder"
    target = head.get(needed)
    if not isinstance(target, str):
        raise ValidationError(f"{p}: model.{needed}: a {kind} model names its {needed} "
                              f"(got {target!r})")
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        raise ValidationError(f"{p}: [parameters] must be a table (got {params!r})")
    params = _flat(params)
    model = ModelFile(p, head["name"], kind, target, head["source"],
                      head.get("description", ""), params)
    _check(model)
    return model


def _check(model: ModelFile) -> None:
    p = model.path
    if model.kind == "network":
        from neuroattn.model import library

        builder = getattr(library, model.target, None)
        if builder is None or model.target.startswith("_") or not callable(builder):
            names = sorted(n for n, f in vars(library).items() if inspect.isfunction(f)
                           and f.__module__ == library.__name__ and not n.startswith("_"))
            raise ValidationError(f"{p}: model.builder: expected one of {names} (got "
                                  f"{model.target!r})")
        accepted = set(inspect.signature(builder).parameters)
        for key in model.parameters:
            if key not in accepted:
                raise ValidationError(f"{p}: parameters.{key}: {model.target}() takes no such "
                                      f"parameter; expected one of {sorted(accepted)}")
        try:
            model.network()
        except ValidationError as exc:
            raise ValidationError(f"{p}: [parameters] {exc}") from None
        return
    from neuroattn.mechanisms import get_mechanism
    from neuroattn.tasks import TASKS, get_task

    try:
        mech = get_mechanism(model.target)
    except ValidationError:
        from neuroattn.mechanisms import MECHANISMS

        raise ValidationError(f"{p}: model.mechanism: expected one of {sorted(MECHANISMS)} "
                              f"(got {model.target!r})") from None
    defaults = mech.parameters()
    for key, value in model.parameters.items():
        if key not in defaults:
            raise ValidationError(f"{p}: parameters.{key}: not a parameter of {mech.name}; "
                                  f"expected one of {sorted(defaults)}")
        want = defaults[key]
        if isinstance(want, bool) != isinstance(value, bool) or (
                isinstance(want, (int, float)) and not isinstance(value, (int, float))):
            raise ValidationError(f"{p}: parameters.{key}: expected a value like {want!r} "
                                  f"({type(want).__name__}) (got {value!r})")
    params = mech.resolve(**model.parameters)
    # the values are checked where the mechanism builds its network: on the first task
    # it runs (a description only; nothing is simulated)
    for name in TASKS:
        spec = get_task(name)().spec()
        if mech.supports(spec) is None:
            try:
                mech.spiking(spec, **params)
            except ValidationError as exc:
                raise ValidationError(f"{p}: [parameters] {exc}") from None
            break
