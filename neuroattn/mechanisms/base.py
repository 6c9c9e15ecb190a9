"""The Mechanism contract: one attention mechanism at two tiers, and the bridge between them.

A mechanism maps a task's roles (:class:`~neuroattn.tasks.base.TaskSpec`) onto its own
network. It offers

* ``spiking(spec, **params) -> SpikingModel``: the Network, the drives that map the
  spec's input columns onto populations, and the populations read out for each readout
  role;
* ``softmax(spec, fitted, attention_backend) -> nn.Module``: the differentiable layer,
  computing its weights through :func:`neuroattn.attention.scaled_dot_product_attention`;
  its ``forward(evidence, bias, dt)`` returns rates [trials, steps, units] in the
  spec's unit order;
* optionally, the subject's per-trial states (:class:`TrialState`): drawn by the agents
  from the run's seed and the trial's index, the same on both tiers, given to the
  network as extra stimulus columns (``SpikingModel.state``) and to the layer as
  ``forward(..., state=...)`` (its ``trial_state``), recorded in the Recording's meta;
* the bridge: ``to_softmax`` (analytic), ``calibrate`` (fitted to simulations of the
  task's own inputs), ``to_spiking``, and :func:`bridge_report`, which every mechanism
  shares and which returns one :class:`BridgeReport`.

study/ and the CLI know a mechanism only through this contract: :func:`spiking_agent`
and :func:`softmax_agent` turn one into an Agent (``run(trials) -> Recording``).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from neuroattn._lazy import LazyRegistry
from neuroattn.exceptions import ValidationError
from neuroattn.model import Recording, Stimulus
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["Mechanism", "CircuitMechanism", "SpikingModel", "TrialState", "BridgeReport",
           "SpikingAgent", "SoftmaxAgent",
           "js_divergence", "cohen_kappa", "MECHANISMS", "register", "get_mechanism",
           "circuit_parameters", "build_circuit", "CircuitParams", "check_circuit",
           "split_inputs", "check_inputs", "window_rates", "window_shares", "window_counts",
           "row_shares"]


@dataclass(frozen=True)
class TrialState:
    """A state of the subject that changes from trial to trial, not the stimulus: one
    value per trial, held for the whole trial, drawn ``N(mean, sd)`` from the run's seed
    and the trial's index (and nothing else), so that every tier of a mechanism run on
    the same trials sees the same values.

    A mechanism declares it (:attr:`SpikingModel.state`, or a softmax module's
    ``trial_state``); the agents draw it (:meth:`values`), hand it to the network (the
    spiking tier: as a stimulus column after the task's, driven by the model's drives
    with that column) or to the layer (``forward(..., state=[trials, n_states])``), and
    record it in the Recording's meta (``meta["state"][name]``, one value per trial).
    A task never sees it in its stimulus: it is not part of what the task presents.

    Parameters
    ----------
    name : str
        What the state stands for (a key of the Recording's ``meta["state"]``).
    mean, sd : float
        Its distribution over trials, in the unit its drives expect (amperes for a
        current drive with gain 1); ``sd`` > 0 (a constant is a parameter, not a state).
    stream : int
        Which of the subject's streams (states of one mechanism differ in it).

    Examples
    --------
    >>> from neuroattn.mechanisms.base import TrialState
    >>> s = TrialState("block", -10e-12, 15e-12)
    >>> v = s.values(seed=3, n=4)
    >>> v.shape, bool((s.values(3, 6)[:4] == v).all())    # trial t's value: (seed, t) only
    ((4,), True)
    """

    name: str
    mean: float
    sd: float
    stream: int = 0

    def __post_init__(self):
        where = f"TrialState({self.name!r})"
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError(f"TrialState.name: expected a non-empty str (got "
                                  f"{self.name!r})")
        for attr in ("mean", "sd"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                    not math.isfinite(value):
                raise ValidationError(f"{where}.{attr}: expected a finite number (got "
                                      f"{value!r})")
        if not self.sd > 0:
            raise ValidationError(f"{where}.sd: expected a spread > 0 (got {self.sd!r}); a "
                                  f"state that does not vary is a parameter of the model")
        check_int(self.stream, f"{where}.stream", minimum=0)

    def values(self, seed: int, n: int) -> np.ndarray:
        """The state on trials ``0 .. n-1`` of a run with ``seed`` (float64 [n])."""
        check_int(n, "TrialState.values.n", minimum=0)
        z = np.fromiter((np.random.default_rng([int(seed), t, _STATE_STREAM, self.stream])
                         .standard_normal() for t in range(n)), np.float64, count=n)
        return self.mean + self.sd * z


#: Seeds the subject's per-trial states apart from the tasks' draws and the engines' noise.
_STATE_STREAM = 0x57A7E


def trial_states(states, trials) -> np.ndarray:
    """The values [trials, len(states)] of ``states`` (TrialState) on ``trials``."""
    return np.stack([s.values(trials.seed, trials.n) for s in states], axis=1) if states \
        else np.zeros((trials.n, 0))


def _state_meta(states, values) -> dict:
    return {s.name: [float(v) for v in values[:, j]] for j, s in enumerate(states)}


@dataclass(frozen=True)
class SpikingModel:
    """A mechanism's spiking network for one task spec.

    Parameters
    ----------
    network : neuroattn.model.Network
    drives : tuple of neuroattn.model.Drive
        Map the spec's stimulus columns (``spec.channels()``) onto populations.
    readout : dict
        Readout role -> tuple of population names, one per unit of
        ``spec.unit_names()[role]``.
    state : tuple of TrialState
        The subject's per-trial states (default none). The agent appends state j's values
        as stimulus column ``spec.n_channels + j`` (held for the whole trial); ``drives``
        map those columns onto populations like the task's.
    """

    network: object
    drives: tuple
    readout: dict
    state: tuple = ()


class Mechanism(ABC):
    """An attention mechanism at two tiers.

    Subclasses set ``name`` and ``summary`` and implement the abstract methods. The
    parameters (:meth:`parameters`) are those of the spiking description; a config or
    ``--set name=value`` overrides them by name.
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    @abstractmethod
    def parameters(self) -> dict:
        """Parameter name -> default value (dotted names reach nested parameter sets)."""

    @abstractmethod
    def supports(self, spec) -> str | None:
        """None if this mechanism can run a task with ``spec``, else the reason it cannot."""

    @abstractmethod
    def spiking(self, spec, **params) -> SpikingModel:
        """The spiking network for ``spec``."""

    @abstractmethod
    def to_softmax(self, spec, **params):
        """Softmax parameters derived from the spiking parameters alone (no simulation)."""

    @abstractmethod
    def calibrate(self, spec, inputs=None, backend: str = "numba", seed: int = 0,
                  dt: float = 1e-4, progress: bool = False, **params):
        """Softmax parameters fitted to simulations of the spiking network.

        ``inputs`` [n, 2 n_items]: the constant inputs to calibrate on, each item's
        evidence then its bias (what :meth:`Task.bridge_inputs` gives); default random
        ones over the mechanism's operating range.
        """

    @abstractmethod
    def softmax(self, spec, fitted, attention_backend: str = "numba"):
        """The softmax tier (an ``nn.Module``) with parameters ``fitted``."""

    @abstractmethod
    def spike_counts(self, spec, inputs, windows, backend: str = "numba", seed: int = 0,
                     dt: float = 1e-4, progress: bool = False, **params) -> dict:
        """``{window: counts [n, n_items]}``: how many spikes each item's read-out
        population fired in each counting window for constant ``inputs`` (whole numbers,
        as floats). The shares are ``row_shares(counts)``; the counts also say how much a
        share can be trusted (one spike of ``n`` moves it by ``1 / n``), which the
        bridge report's JS estimator weighs by (:func:`neuroattn.study.experiment.window_js`).
        """

    @abstractmethod
    def softmax_shares(self, fitted, inputs) -> np.ndarray:
        """The softmax tier's item weights (normalised) [n, n_items] for ``inputs``."""

    def fit_softmax(self, spec, method: str = "calibrate", inputs=None, backend: str = "numba",
                    seed: int = 0, dt: float = 1e-4, progress: bool = False, **params):
        """Softmax parameters by ``method``: ``'calibrate'`` (simulation) or ``'analytic'``."""
        if method == "analytic":
            return self.to_softmax(spec, **params)
        if method == "calibrate":
            return self.calibrate(spec, inputs=inputs, backend=backend, seed=seed, dt=dt,
                                  progress=progress, **params)
        raise ValidationError(f"{self.name}: softmax_from: expected 'calibrate' or 'analytic' "
                              f"(got {method!r})")

    def agent(self, tier: str, spec, backend: str = "numba", dt: float = 1e-4,
              fitted=None, params: dict | None = None, **options):
        """An Agent of this mechanism at ``tier`` for ``spec``.

        ``backend`` is the spiking backend (spiking tier) or the attention backend
        (softmax tier). The softmax tier needs ``fitted`` (default: ``to_softmax``).
        """
        reason = self.supports(spec)
        if reason is not None:
            raise ValidationError(f"{self.name}: cannot run this task: {reason}")
        params = self.resolve(**(params or {}))
        if tier == "spiking":
            return SpikingAgent(self.spiking(spec, **params), spec, backend, dt, self.name,
                                params, **options)
        if tier == "softmax":
            fitted = self.to_softmax(spec, **params) if fitted is None else fitted
            return SoftmaxAgent(self, spec, fitted, backend)
        raise ValidationError(f"--tier: expected 'spiking' or 'softmax' (got {tier!r})")

    def _drive(self, spec, inputs, where):
        """Bridge inputs as one drive per item (evidence + bias, see
        :func:`neuroattn.model.trials.drive`), or None; for mechanisms that add the two."""
        if inputs is None:
            return None
        from neuroattn.model.trials import drive

        return drive(inputs, spec.n_items, f"{self.name}.{where}.inputs")

    def resolve(self, **params) -> dict:
        """Defaults overridden by ``params``; an unknown name is refused listing the valid ones."""
        defaults = self.parameters()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ValidationError(f"{self.name}: unknown parameter(s) {unknown}; expected "
                                  f"names from {sorted(defaults)}")
        return {**defaults, **params}


class CircuitMechanism(Mechanism):
    """A Mechanism whose spiking tier is one circuit dataclass (a :class:`CircuitParams`
    with a ``spiking_model(spec)`` method) and whose softmax tier takes one fitted
    parameter class.

    Subclasses set ``circuit_class`` and ``fitted_class``; the mechanism's parameters are
    then the circuit's fields (all but ``k``, which the task sets), nested neuron fields
    as dotted names (``exc.sigma``).
    """

    circuit_class: ClassVar[type]
    fitted_class: ClassVar[type]

    def parameters(self) -> dict:
        """The circuit's fields (all but ``k``), nested neuron fields as ``outer.inner``."""
        return circuit_parameters(self.circuit_class)

    def circuit(self, spec, **params):
        """The circuit for ``spec`` with ``params`` (validated)."""
        return build_circuit(self.circuit_class, spec.n_items, self.resolve(**params),
                             self.name)

    def spiking(self, spec, **params) -> SpikingModel:
        """The circuit's network, drives and readout for ``spec``."""
        return self.circuit(spec, **params).spiking_model(spec)

    def _check_fitted(self, spec, fitted) -> None:
        """Raise ValidationError unless ``fitted`` is this mechanism's parameter class for
        as many items as ``spec`` has."""
        cls = self.fitted_class
        if not isinstance(fitted, cls):
            raise ValidationError(f"{self.name}.softmax.fitted: expected {cls.__name__} (got "
                                  f"{type(fitted).__name__})")
        if fitted.k != spec.n_items:
            raise ValidationError(f"{self.name}.softmax.fitted: k={fitted.k} but the task has "
                                  f"{spec.n_items} items")


class CircuitParams:
    """Base of the mechanisms' frozen circuit dataclasses: unit conversion and the checks
    every circuit makes, declared as class attributes rather than written out again.

    ``UNITS``: (field, unit) pairs converted with :func:`~neuroattn.model.units.to_si` on
    construction; ``COUNTS``: integer fields >= 1 (``k`` >= ``MIN_K`` always);
    ``POSITIVE``: fields > 0; ``NONNEGATIVE``: fields >= 0; ``FINITE``: any finite
    number; ``NEURONS``: (field, neuron-parameter class) pairs, each validated. A field's
    unit in the error message comes from ``UNITS`` ("1" when it has none). A subclass
    with further rules overrides :meth:`_validate_more`.
    """

    UNITS: ClassVar[tuple] = ()
    COUNTS: ClassVar[tuple] = ()
    POSITIVE: ClassVar[tuple] = ()
    NONNEGATIVE: ClassVar[tuple] = ()
    FINITE: ClassVar[tuple] = ()
    NEURONS: ClassVar[tuple] = ()
    MIN_K: ClassVar[int] = 1

    def __post_init__(self):
        where = type(self).__name__
        for name, unit in self.UNITS:
            object.__setattr__(self, name, to_si(getattr(self, name), unit,
                                                 f"{where}.{name}"))
        self.validate()

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        where = type(self).__name__
        units = dict(self.UNITS)
        check_int(self.k, f"{where}.k", minimum=self.MIN_K)
        for name in self.COUNTS:
            check_int(getattr(self, name), f"{where}.{name}", minimum=1)
        for names, allow_zero in ((self.POSITIVE, False), (self.NONNEGATIVE, True)):
            for name in names:
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                    raise ValidationError(f"{where}.{name}: expected a number in "
                                          f"{units.get(name, '1')} (got {value!r})")
                check_positive(float(value), units.get(name, "1"), f"{where}.{name}",
                               allow_zero=allow_zero)
        for name in self.FINITE:
            value = getattr(self, name)
            if not (isinstance(value, (int, float, np.number)) and math.isfinite(value)):
                raise ValidationError(f"{where}.{name}: expected a finite number in "
                                      f"{units.get(name, '1')} (got {value!r})")
        for name, cls in self.NEURONS:
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise ValidationError(f"{where}.{name}: expected {cls.__name__} (got "
                                      f"{type(value).__name__})")
            value.validate(f"{where}.{name}")
        self._validate_more()

    def _validate_more(self) -> None:
        """Rules beyond the declared ones (none by default)."""


def circuit_parameters(cls) -> dict:
    """A circuit dataclass's defaults as mechanism parameters: every field but ``k``,
    the fields of nested parameter sets (neuron models) as ``outer.inner``."""
    out = {}
    default = cls()
    for f in dataclasses.fields(cls):
        if f.name == "k":
            continue
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            for g in dataclasses.fields(value):
                out[f"{f.name}.{g.name}"] = getattr(value, g.name)
        else:
            out[f.name] = value
    return out


def build_circuit(cls, k: int, params: dict, where: str):
    """The circuit dataclass ``cls`` for ``k`` items with resolved ``params`` (dotted
    names replace fields of its nested parameter sets), validated; errors name ``where``."""
    default = cls()
    kwargs: dict = {"k": k}
    nested: dict = {}
    for name, value in params.items():
        if "." in name:
            outer, inner = name.split(".", 1)
            nested.setdefault(outer, {})[inner] = value
        else:
            kwargs[name] = value
    try:
        for outer, fields in nested.items():
            kwargs[outer] = dataclasses.replace(getattr(default, outer), **fields)
        circuit = cls(**kwargs)
    except TypeError as exc:
        raise ValidationError(f"{where}: {exc}") from None
    circuit.validate()
    return circuit


def check_circuit(circuit, where: str, cls) -> None:
    """Raise ValidationError unless ``circuit`` is a valid ``cls`` (a class or a tuple of
    classes); the bridges call it
    first (``where`` names the function, e.g. ``"calibrate"``)."""
    if not isinstance(circuit, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise ValidationError(f"{where}.circuit: expected {names} (got "
                              f"{type(circuit).__name__})")
    circuit.validate()


def check_inputs(inputs, k: int, where: str, min_rows: int = 1) -> np.ndarray:
    """``inputs`` as a finite float array [n >= min_rows, k]; ValidationError otherwise."""
    u = np.asarray(inputs, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != k or len(u) < min_rows or not np.all(np.isfinite(u)):
        raise ValidationError(f"{where}: expected finite inputs of shape [n >= {min_rows}, "
                              f"{k}] (got shape {u.shape})")
    return u


def split_inputs(inputs, k: int, where: str, first: str = "evidence",
                 second: str = "bias") -> tuple[np.ndarray, np.ndarray]:
    """``(first [n, K], second [n, K])`` from bridge inputs ``[n, K]`` (``second`` all
    zero) or ``[n, 2K]`` (the two side by side); ValidationError naming ``where`` and both
    accepted shapes otherwise."""
    u = np.asarray(inputs, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] not in (k, 2 * k) or len(u) < 1 or not np.all(
            np.isfinite(u)):
        raise ValidationError(f"{where}: expected finite inputs of shape [n, {k}] ({first}) "
                              f"or [n, {2 * k}] ({first}, {second}) (got shape {u.shape})")
    if u.shape[1] == k:
        return u, np.zeros_like(u)
    return u[:, :k], u[:, k:]


def window_rates(rec, t_from: float, t_to: float | None = None) -> np.ndarray:
    """Mean rate [trials, units] of a Recording over ``[t_from, t_to)`` s (to its end
    without ``t_to``); the bridges count spike shares and steady states with it."""
    return _window_mean(rec.rates, rec.times, t_from, t_to)


def _in_window(times, t_from: float, t_to: float | None) -> np.ndarray:
    return (times >= t_from - 1e-9) & ((times < t_to - 1e-9) if t_to is not None else True)


def _window_mean(rates, times, t_from: float, t_to: float | None) -> np.ndarray:
    return rates[:, _in_window(times, t_from, t_to)].mean(axis=1)


def row_shares(counts) -> np.ndarray:
    """Each row of ``counts`` [n, K] divided by its sum; NaN rows where the sum is 0."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)


def window_shares(rates, times, settle: float, windows, n_items: int | None = None) -> dict:
    """``{w: shares [trials, n_items]}``: each item's share of the mean rate over
    ``[settle, settle + w)`` s, for rates [trials, steps, units] sampled at ``times`` (s);
    the first ``n_items`` units are the items (all units without it). NaN for a trial
    with no rate in the window. For rates without spikes behind them (a softmax layer's);
    a circuit's windows are counted in spikes by :func:`window_counts`."""
    out = {}
    for w in windows:
        counts = _window_mean(rates, times, settle, settle + w)
        out[w] = row_shares(counts if n_items is None else counts[:, :n_items])
    return out


def window_counts(rec, settle: float, windows, role: str = "items", neurons=None) -> dict:
    """``{w: counts [trials, units of role]}``: how many spikes each read-out unit of
    ``role`` fired over ``[settle, settle + w)`` s (whole bins of the Recording ``rec``).

    A Recording's rates are per neuron: a unit's count is its rate x bin width x its
    neurons, summed over the window's bins. ``neurons`` (one int per unit of ``role``)
    defaults to ``rec.meta["neurons"]``, which :class:`SpikingAgent` records. How every
    bridge counts a circuit's spikes; ``row_shares`` of a window's counts are its spike
    shares (NaN where the units fired no spike).

    Raises
    ------
    ValidationError
        ``rec`` has no ``role``, the sizes are unknown or not one positive int per unit,
        or the rates are not whole spikes per bin (a Recording not of spikes).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.model import Recording
    >>> rates = np.zeros((1, 4, 2)); rates[0, 1:3, 0] = 100.0; rates[0, 2, 1] = 50.0
    >>> rec = Recording(rates, 5e-3, ("a", "b"), roles={"items": ("a", "b")},
    ...                 meta={"neurons": {"a": 4, "b": 4}})
    >>> window_counts(rec, 0.005, (0.01,))[0.01]    # 100 Hz x 5 ms x 4 neurons = 2 / bin
    array([[4., 1.]])
    """
    roles = rec.roles or {}
    if role not in roles:
        raise ValidationError(f"window_counts.rec: expected a Recording with the read-out role "
                              f"{role!r} (got roles {sorted(roles)})")
    units = roles[role]
    if neurons is None:
        held = dict(rec.meta.get("neurons") or {})
        missing = [u for u in units if u not in held]
        if missing:
            raise ValidationError(f"window_counts.neurons: the Recording's meta does not give "
                                  f"the size of units {missing}; pass neurons=[one int per "
                                  f"unit of {role!r}] or record through SpikingAgent")
        neurons = [held[u] for u in units]
    sizes = np.asarray(neurons)
    if (sizes.shape != (len(units),) or not np.issubdtype(sizes.dtype, np.integer)
            or np.any(sizes < 1)):
        raise ValidationError(f"window_counts.neurons: expected {len(units)} positive ints, one "
                              f"per unit of {role!r} (got {neurons!r})")
    idx = [rec.units.index(u) for u in units]
    per_bin = rec.rates[:, :, idx] * rec.bin_width * sizes
    whole = np.rint(per_bin)
    finite = np.isfinite(per_bin)
    # a count of up to ~1e4 held in float32 rates is off by < 1e-3 spikes
    off = np.abs(per_bin[finite] - whole[finite])
    if np.any(off > 1e-4 * np.maximum(1.0, np.abs(whole[finite]))):
        raise ValidationError("window_counts.rec: expected rates of whole spikes per bin "
                              "(rate x bin width x neurons an integer); these are not spike "
                              "counts -- use window_shares for a layer's rates")
    return {w: whole[:, _in_window(rec.times, settle, settle + w)].sum(axis=1)
            for w in windows}


def js_divergence(p, q) -> np.ndarray:
    """Jensen-Shannon divergence (nats) between distributions along the last axis.

    Rows are normalised first; zero entries contribute nothing. A row holding a
    non-finite share (or summing to 0) has no distribution: its divergence is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> float(js_divergence([1.0, 0.0], [0.0, 1.0])) == float(np.log(2))
    True
    >>> js_divergence([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [np.nan, 0.5]])
    array([ 0., nan])
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    for name, d in (("p", p), ("q", q)):
        if np.any(d < 0):   # a negative "share" would make the divergence negative
            raise ValidationError(f"js_divergence: {name} must hold shares >= 0 (got a "
                                  f"minimum of {float(np.nanmin(d)):.3g})")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / p.sum(axis=-1, keepdims=True)
        q = q / q.sum(axis=-1, keepdims=True)
    m = 0.5 * (p + q)

    def _kl(a, b):
        # in logs: a ratio of subnormal shares would overflow
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            terms = a * (np.log(np.where(a > 0, a, 1.0)) - np.log(np.where(b > 0, b, 1.0)))
        return np.sum(np.where(a > 0, terms, 0.0), axis=-1)

    with np.errstate(invalid="ignore"):
        d = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
        defined = np.all(np.isfinite(p), axis=-1) & np.all(np.isfinite(q), axis=-1)
    return np.where(defined, d, np.nan)


def cohen_kappa(a, b) -> tuple[float, float, float]:
    """Observed agreement, agreement expected by chance, and Cohen's kappa of two labelings.

    Chance agreement is ``sum_c p_a(c) p_b(c)`` over the labels either uses: what two
    raters who label independently at their own base rates would reach.

    Examples
    --------
    >>> cohen_kappa([0, 1, 0, 1], [0, 1, 0, 1])
    (1.0, 0.5, 1.0)
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.size == 0:
        raise ValidationError(f"cohen_kappa: expected two labelings of equal, non-zero length "
                              f"(got {a.shape} and {b.shape})")
    observed = float(np.mean(a == b))
    labels = np.union1d(a, b)
    chance = float(sum(np.mean(a == c) * np.mean(b == c) for c in labels))
    kappa = 1.0 if chance >= 1.0 else (observed - chance) / (1.0 - chance)
    return observed, chance, float(kappa)


@dataclass(frozen=True)
class BridgeReport:
    """How closely a mechanism's softmax tier stands in for its spiking tier.

    Every mechanism's bridge returns this one type; every comparison prints it.

    Attributes
    ----------
    mechanism : str
    method : str
        How the softmax parameters were obtained: ``'calibrate'`` or ``'analytic'``.
    fitted : dict
        The softmax parameters.
    windows : tuple of float, seconds
        Counting windows of the JS figures.
    js_task : tuple of float, nats
        JS divergence between spike shares and softmax weights per window on the task's
        own inputs (each trial's mean evidence + bias while items are on), averaged over
        the inputs with each input weighted by its spike count in the window (JS per
        spike; :func:`neuroattn.study.experiment.window_js` says why this estimates the
        circuit's divergence and the plain mean does not). An input on which the circuit
        fired no spike in the window weighs nothing (counted in ``silent_task``); one on
        which the layer wrote nothing while the circuit fired scores the largest
        divergence, log 2.
    js_random : tuple of float, nats
        The same on random inputs over the operating range.
    js_task_plain, js_random_plain : tuple of float, nats
        The plain mean over the inputs that fired, per window, beside the weighted one:
        in short windows it measures the sampling of inputs with a few spikes (one
        stray spike of ``n`` costs up to log 2 at n = 1), not the layer.
    js_uniform : float, nats
        Spike shares (longest window, task inputs) against uniform weights, by the same
        spike-weighted mean as ``js_task``: the scale.
    n_task_inputs, n_random_inputs : int
    silent_task, silent_random : tuple of int
        Per window, the task's (random) inputs on which the circuit fired no spike,
        left out of ``js_task`` (``js_random``).
    choice_agreement, chance_agreement, kappa : float
        Trial-by-trial agreement of choices, the agreement two independent models at the
        same base rates would reach, and Cohen's kappa (NaN for response tasks).
    rt_correlation_within : float
        Correlation of the two tiers' RTs after removing each condition's mean (NaN
        when fewer than 3 trials have both RTs).
    rt_correlation_shuffled : float
        The same with one tier's trials shuffled within condition: what correlation
        the conditions alone would give (near 0).
    response_correlation, response_mean_abs_difference : float
        For response tasks: per-condition mean responses of the two tiers.
    calibration : dict
        Fit quality and the input range the calibration covered.
    """

    mechanism: str
    method: str
    fitted: dict
    windows: tuple
    js_task: tuple
    js_random: tuple
    js_uniform: float
    n_task_inputs: int
    n_random_inputs: int
    silent_task: tuple = ()
    silent_random: tuple = ()
    js_task_plain: tuple = ()
    js_random_plain: tuple = ()
    choice_agreement: float = math.nan
    chance_agreement: float = math.nan
    kappa: float = math.nan
    rt_correlation_within: float = math.nan
    rt_correlation_shuffled: float = math.nan
    response_correlation: float = math.nan
    response_mean_abs_difference: float = math.nan
    calibration: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class SpikingAgent:
    """A spiking network simulated by a backend: ``run(trials) -> Recording``.

    Parameters
    ----------
    model : SpikingModel
        From ``mechanism.spiking(spec, **params)``.
    spec : TaskSpec
        The spec the model was built for; trials must carry the same one.
    backend : str
        ``'brian2'`` (reference), ``'numba'`` or ``'torch'``.
    dt : float, seconds
        Simulation step (default 0.1 ms).
    mechanism : str
        Name recorded in the Recording's meta.
    params : dict, optional
        Parameters recorded in the Recording's meta.
    **options
        Passed to the backend.

    Examples
    --------
    >>> from neuroattn.mechanisms import get_mechanism
    >>> from neuroattn.tasks import Posner
    >>> task = Posner()
    >>> agent = get_mechanism("biased-competition").agent("spiking", task.spec(), "numba")
    >>> rec = agent.run(task.make_trials(4, seed=1))
    >>> rec.roles
    {'items': ('item0', 'item1')}
    >>> rec.role("items").shape[::2]
    (4, 2)
    """

    tier = "spiking"

    def __init__(self, model: SpikingModel, spec, backend: str = "numba", dt: float = 1e-4,
                 mechanism: str = "", params: dict | None = None, **options):
        self.model = model
        self.spec = spec
        n = spec.n_channels
        read = {d.channel for d in model.drives}
        for j, st in enumerate(model.state):
            if not isinstance(st, TrialState):
                raise ValidationError(f"SpikingAgent.model.state: expected TrialState entries "
                                      f"(got {type(st).__name__})")
            if n + j not in read:
                raise ValidationError(f"SpikingAgent.model.state: no drive reads state "
                                      f"{st.name!r} (column {n + j}, after the task's {n}); "
                                      f"expected a Drive with channel={n + j}")
        self.backend = backend
        self.dt = dt
        self.mechanism = mechanism
        self.params = dict(params or {})
        self.options = options

    def run(self, trials, progress: bool = False) -> Recording:
        """Simulate every trial; return the readout roles' rates in Hz (per neuron; the
        meta's ``neurons`` gives each unit's size, from which :func:`window_counts`
        recovers spike counts)."""
        _check_spec(trials, self.spec, "SpikingAgent.run")
        stim = np.asarray(trials.stimulus, dtype=np.float64)
        states = tuple(self.model.state)
        values = trial_states(states, trials)
        if states:   # the subject's state: columns after the task's, held all trial
            stim = np.concatenate([stim, np.broadcast_to(
                values[:, None, :], stim.shape[:2] + (len(states),))], axis=2)
        stim = Stimulus(stim, trials.dt, self.model.drives)
        from neuroattn.backends import simulate

        rec = simulate(self.model.network, stim, dt=self.dt, seed=trials.seed,
                       backend=self.backend, progress=progress, **self.options)
        names = self.spec.unit_names()
        rename = {}
        for role, pops in self.model.readout.items():
            for pop, unit in zip(pops, names[role]):
                rename[pop] = unit
        missing = sorted(set(rename) - set(rec.units))
        if missing:
            raise ValidationError(f"SpikingAgent.model.readout: populations {missing} have no "
                                  f"rate probe; expected probes on every read-out population")
        order = [pop for role in self.spec.readouts for pop in self.model.readout[role]]
        rec = rec.select(order)
        # each read-out unit's neurons: what turns its rate per neuron into spike counts
        neurons = {rename[p]: self.model.network.population(p).size for p in order}
        meta = dict(rec.meta, mechanism=self.mechanism, tier="spiking", params=self.params,
                    neurons=neurons)
        if states:
            meta["state"] = _state_meta(states, values)
        return Recording(rec.rates, rec.bin_width, tuple(rename[u] for u in order), rec.spikes,
                         rec.v, meta, names)


class SoftmaxAgent:
    """A mechanism's softmax tier: ``run(trials) -> Recording`` binned like a spiking one.

    Parameters
    ----------
    mechanism : Mechanism
    spec : TaskSpec
    fitted : object
        The softmax parameters (from ``to_softmax`` or ``calibrate``).
    attention_backend : str
        Backend of :func:`neuroattn.attention.scaled_dot_product_attention` that computes
        the weights (default ``'numba'``, the fused kernel).
    bin_width : float, seconds
        Bin of the returned rates (default 5 ms, as the spiking probes).
    """

    tier = "softmax"

    def __init__(self, mechanism, spec, fitted, attention_backend: str = "numba",
                 bin_width: float = 5e-3):
        reason = mechanism.supports(spec)
        if reason is not None:
            raise ValidationError(f"{mechanism.name}: cannot run this task: {reason}")
        self.mechanism = mechanism
        self.spec = spec
        self.fitted = fitted
        self.attention_backend = attention_backend
        self.bin_width = bin_width
        self.module = mechanism.softmax(spec, fitted, attention_backend)

    def run(self, trials, progress: bool = False) -> Recording:
        """Compute the rates of every trial; return them binned like a spiking Recording."""
        import torch

        _check_spec(trials, self.spec, "SoftmaxAgent.run")
        per_bin = int(round(self.bin_width / trials.dt))
        if per_bin < 1 or abs(per_bin * trials.dt - self.bin_width) > 1e-9:
            raise ValidationError(f"SoftmaxAgent.bin_width: must be a whole multiple of the "
                                  f"trials' dt {trials.dt:g} s (got {self.bin_width:g} s)")
        ev = torch.as_tensor(np.asarray(trials.role("evidence"), dtype=np.float64))
        bias = torch.as_tensor(np.asarray(trials.role("bias"), dtype=np.float64))
        # the subject's per-trial states, drawn as the spiking tier draws them
        states = tuple(getattr(self.module, "trial_state", ()) or ())
        values = trial_states(states, trials)
        extra = {"state": torch.as_tensor(values)} if states else {}
        extra.update(self._forward_extra(trials, ev))
        with torch.no_grad():
            rates = self.module(ev, bias, trials.dt, **extra).numpy()
        n_bins = rates.shape[1] // per_bin
        binned = rates[:, : n_bins * per_bin].reshape(rates.shape[0], n_bins, per_bin, -1)
        names = self.spec.unit_names()
        units = tuple(u for role in self.spec.readouts for u in names[role])
        meta = {"mechanism": self.mechanism.name, "tier": "softmax",
                "backend": self.attention_backend, "dt": trials.dt, "seed": trials.seed,
                "params": _plain_params(self.fitted)}
        if states:
            meta["state"] = _state_meta(states, values)
        return Recording(binned.mean(axis=2), per_bin * trials.dt, units, meta=meta,
                         roles=names)


    def _forward_extra(self, trials, evidence) -> dict:
        """More keyword arguments of the layer's ``forward`` on ``trials`` (``evidence``:
        their evidence tensor): none here; a layer that draws its own noise gets it from
        its agent this way (the slot memory's)."""
        return {}


def _plain_params(fitted) -> dict:
    if dataclasses.is_dataclass(fitted):
        return {f.name: getattr(fitted, f.name) for f in dataclasses.fields(fitted)}
    return dict(fitted)


def _check_spec(trials, spec, where: str) -> None:
    if trials.spec != spec:
        raise ValidationError(f"{where}: the trials were made for {trials.spec}, but this "
                              f"agent was built for {spec}; build the agent from "
                              f"task.spec()")


#: mechanism name (as the CLI spells it) -> Mechanism instance (``mechanisms/__init__.py``
#: adds each built-in one by where its class lives: made on first use)
MECHANISMS = LazyRegistry(instance=True)


def register(mechanism: Mechanism) -> Mechanism:
    """Add ``mechanism`` to :data:`MECHANISMS` under its name; return it."""
    MECHANISMS[mechanism.name] = mechanism
    return mechanism


def get_mechanism(name: str) -> Mechanism:
    """The registered mechanism called ``name``; an unknown name lists the known ones."""
    if name not in MECHANISMS:
        raise ValidationError(f"--mechanism: unknown mechanism {name!r}; expected one of "
                              f"{sorted(MECHANISMS)}")
    return MECHANISMS[name]
