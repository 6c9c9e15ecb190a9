"""Conductance-based LIF neurons with receptor synapses: the one description every backend lowers.

A population of :class:`ConductanceLIFParams` neurons carries its receptors (AMPA, NMDA,
GABA_A, ... each a :class:`Receptor`) and, optionally, spike-frequency adaptation.
:func:`describe` turns the parameters of one population into the model's named state
fields and their update rules (:class:`Field`); the Brian2 backend writes its equations
from that list (``neuroattn.neurons.brian2_eqs.conductance_model``) and the Numba engine
lays its state arrays out from it (``neuroattn.backends.numba._conductance``). The pure
numpy step :func:`conductance_step` is the specification both are tested against.

Equations (SI units; Wang 2002, Brunel & Wang 2001)::

    c_m dv/dt = g_l (e_l - v) + g_a (e_a - v) + i_bias + i_ext
                + sum_r g_r(t) B_r(v) (e_r - v)                (unless refractory)
    B_r(v)    = 1 / (1 + [Mg] exp(-0.062 v/mV) / 3.57)          if the receptor has mg > 0, else 1
    dg_a/dt   = -g_a / tau_adapt;    g_a += delta_g_adapt at each spike of the neuron

    exponential receptor r (AMPA, GABA_A):  dg_r/dt = -g_r / tau_decay,
        g_r += w at each presynaptic spike (w in siemens)
    saturating receptor r (NMDA): gating variables of the *presynaptic* neuron j
        dx_j/dt = -x_j / tau_rise,   x_j += 1 at each spike of j
        ds_j/dt = -s_j / tau_decay + alpha x_j (1 - s_j)
        g_r = sum_j w_j s_j

    v > v_th -> spike, v = v_reset, v held for t_ref.

Every backend integrates these with the forward Euler method over the step ``dt`` (Brian2's
``euler``), in Brian2's schedule: all fields advance from their values at the start of
the step, then thresholds, then the spikes of the step act on the gating variables
(synaptic jumps, ``x += 1``, adaptation), then the reset. Poisson drives act with the
synapses. A spike therefore first moves a membrane one step later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive, to_si

__all__ = ["Receptor", "ConductanceLIFParams", "Field", "describe", "mg_block",
           "nmda_gating_mean", "ampa", "nmda", "gaba_a", "ConductanceState",
           "conductance_init", "conductance_step"]

_NAME = re.compile(r"^[a-z][a-z0-9]*$")
#: Jahr & Stevens (1990) as used by Wang 2002: 1 / (1 + [Mg] exp(-0.062 V/mV) / 3.57)
MG_SLOPE = 62.0      # 1/V (0.062 per mV)
MG_SCALE = 3.57      # mM


@dataclass(frozen=True)
class Receptor:
    """A synaptic receptor type of a conductance-based neuron.

    Parameters
    ----------
    name : str
        Lower-case identifier (``'ampa'``, ``'nmda'``, ``'gaba'``); projections and
        drives name it in ``receptor=``.
    e_rev : float, volts
        Reversal potential.
    tau_decay : float, seconds
        Decay time constant of the conductance (exponential) or of the gating ``s``
        (saturating).
    tau_rise : float, seconds
        0 (default): exponential receptor. > 0: saturating second-order gating (NMDA)
        whose ``x`` decays with ``tau_rise``.
    alpha : float, hertz
        Saturation rate of the gating ``s`` (saturating receptors only; Wang 2002:
        0.5 /ms).
    mg : float, millimolar
        Extracellular magnesium; > 0 gives the voltage-dependent block (NMDA: 1 mM).

    Examples
    --------
    >>> nmda().kind, ampa().kind
    ('saturating', 'exponential')
    """

    name: str
    e_rev: float
    tau_decay: float
    tau_rise: float = 0.0
    alpha: float = 0.0
    mg: float = 0.0

    def __post_init__(self):
        where = f"Receptor({self.name!r})"
        object.__setattr__(self, "e_rev", to_si(self.e_rev, "V", f"{where}.e_rev"))
        object.__setattr__(self, "tau_decay", to_si(self.tau_decay, "s", f"{where}.tau_decay"))
        object.__setattr__(self, "tau_rise", to_si(self.tau_rise, "s", f"{where}.tau_rise"))
        object.__setattr__(self, "alpha", to_si(self.alpha, "Hz", f"{where}.alpha"))
        object.__setattr__(self, "mg", to_si(self.mg, "1", f"{where}.mg"))

    @property
    def kind(self) -> str:
        """``'exponential'`` or ``'saturating'``."""
        return "saturating" if self.tau_rise > 0 else "exponential"

    @property
    def kinetics(self) -> tuple:
        """``(tau_rise, tau_decay, alpha)``: what a presynaptic gating pair depends on."""
        return (self.tau_rise, self.tau_decay, self.alpha)

    def validate(self, where: str) -> None:
        """Check every attribute; ValidationError names ``where``."""
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(f"{where}.name: expected a lower-case identifier such as "
                                  f"'ampa' (got {self.name!r})")
        check_positive(self.tau_decay, "s", f"{where}.tau_decay")
        check_positive(self.tau_rise, "s", f"{where}.tau_rise", allow_zero=True)
        check_positive(self.alpha, "Hz", f"{where}.alpha", allow_zero=True)
        check_positive(self.mg, "1", f"{where}.mg", allow_zero=True)
        if self.tau_rise > 0 and self.alpha <= 0:
            raise ValidationError(f"{where}.alpha: a saturating receptor (tau_rise > 0) needs "
                                  f"alpha > 0 Hz (got {self.alpha:g}); e.g. alpha=500 (0.5/ms)")


def ampa(e_rev=0.0, tau_decay=2e-3) -> Receptor:
    """AMPA receptor of Wang 2002 (E = 0 mV, tau = 2 ms)."""
    return Receptor("ampa", e_rev, tau_decay)


def nmda(e_rev=0.0, tau_decay=100e-3, tau_rise=2e-3, alpha=500.0, mg=1.0) -> Receptor:
    """NMDA receptor of Wang 2002 (E = 0 mV, tau_decay 100 ms, tau_rise 2 ms,
    alpha 0.5 /ms, [Mg] = 1 mM)."""
    return Receptor("nmda", e_rev, tau_decay, tau_rise, alpha, mg)


def gaba_a(e_rev=-70e-3, tau_decay=5e-3) -> Receptor:
    """GABA_A receptor of Wang 2002 (E = -70 mV, tau = 5 ms)."""
    return Receptor("gaba", e_rev, tau_decay)


_UNITS = {"c_m": "F", "g_l": "S", "e_l": "V", "v_th": "V", "v_reset": "V", "t_ref": "s",
          "i_bias": "A", "tau_adapt": "s", "delta_g_adapt": "S", "e_adapt": "V"}


@dataclass(frozen=True)
class ConductanceLIFParams:
    """Parameters of the conductance-based LIF neuron (module docstring: equations).

    Defaults are Wang 2002's pyramidal cell: C_m 0.5 nF, g_L 25 nS, E_L -70 mV,
    V_th -50 mV, V_reset -55 mV, t_ref 2 ms, with AMPA, NMDA and GABA_A receptors.

    Parameters
    ----------
    c_m : float, farads
    g_l : float, siemens
    e_l : float, volts
        Leak reversal (the resting potential, ``v_rest``).
    v_th, v_reset : float, volts
    t_ref : float, seconds
    receptors : tuple of Receptor
        Distinct names.
    i_bias : float, amperes
        Constant injected current (default 0).
    tau_adapt : float, seconds
        Decay of the adaptation conductance (used when ``delta_g_adapt > 0``).
    delta_g_adapt : float, siemens
        Adaptation conductance added at each spike (default 0: no adaptation).
    e_adapt : float, volts
        Reversal of the adaptation current (potassium, default -80 mV).

    Examples
    --------
    >>> p = ConductanceLIFParams()
    >>> [r.name for r in p.receptors], p.v_rest
    (['ampa', 'nmda', 'gaba'], -0.07)
    """

    c_m: float = 0.5e-9
    g_l: float = 25e-9
    e_l: float = -70e-3
    v_th: float = -50e-3
    v_reset: float = -55e-3
    t_ref: float = 2e-3
    receptors: tuple = (ampa(), nmda(), gaba_a())
    i_bias: float = 0.0
    tau_adapt: float = 80e-3
    delta_g_adapt: float = 0.0
    e_adapt: float = -80e-3

    kind = "conductance"

    def __post_init__(self):
        for f in fields(self):
            if f.name in _UNITS:
                object.__setattr__(self, f.name, to_si(getattr(self, f.name), _UNITS[f.name],
                                                       f"ConductanceLIFParams.{f.name}"))
        object.__setattr__(self, "receptors", tuple(self.receptors))

    @property
    def v_rest(self) -> float:
        """The resting potential, ``e_l`` (V)."""
        return self.e_l

    @property
    def tau_mem(self) -> float:
        """Passive membrane time constant ``c_m / g_l`` (s)."""
        return self.c_m / self.g_l

    def receptor(self, name: str) -> Receptor:
        """The receptor called ``name``; ValidationError lists the known ones."""
        for r in self.receptors:
            if r.name == name:
                return r
        raise ValidationError(f"receptor: no receptor {name!r}; expected one of "
                              f"{[r.name for r in self.receptors]}")

    def validate(self, where: str = "ConductanceLIFParams") -> None:
        """Check ranges; raise ValidationError naming ``where`` and the attribute."""
        check_positive(self.c_m, "F", f"{where}.c_m")
        check_positive(self.g_l, "S", f"{where}.g_l")
        check_positive(self.t_ref, "s", f"{where}.t_ref", allow_zero=True)
        check_positive(self.tau_adapt, "s", f"{where}.tau_adapt")
        check_positive(self.delta_g_adapt, "S", f"{where}.delta_g_adapt", allow_zero=True)
        if not self.v_th > self.v_reset:
            raise ValidationError(f"{where}.v_th: must be above v_reset ({self.v_reset:g} V) "
                                  f"(got {self.v_th:g} V)")
        names = []
        for k, r in enumerate(self.receptors):
            if not isinstance(r, Receptor):
                raise ValidationError(f"{where}.receptors[{k}]: expected a Receptor "
                                      f"(got {type(r).__name__})")
            r.validate(f"{where}.receptors[{k}]")
            if r.name in names:
                raise ValidationError(f"{where}.receptors: duplicate name {r.name!r}")
            names.append(r.name)


class Field(NamedTuple):
    """One named state field of a population and its update rule.

    ``owner``: ``'neuron'`` (one value per neuron). ``rule``: the rule in words and
    symbols (the backends implement it by ``kind``): ``'membrane'``, ``'decay'`` (an
    exponential conductance; jumps by the weight of each input spike), ``'gating_x'``
    and ``'gating_s'`` (the saturating pair of a presynaptic gating set or of a Poisson
    drive), ``'adaptation'``. ``receptor`` names the receptor (or '' ), ``unit`` the
    SI unit, ``params`` the constants the rule reads.
    """

    name: str
    kind: str
    unit: str
    receptor: str
    rule: str
    params: tuple


def describe(params: ConductanceLIFParams, gating_sets=(), drive_gates=()) -> tuple:
    """The state fields of one population (module docstring: the equations).

    Parameters
    ----------
    params : ConductanceLIFParams
    gating_sets : sequence of (tau_rise, tau_decay, alpha)
        Saturating kinetics this population's spikes gate (one ``x``/``s`` pair per
        neuron each; set by the projections *from* this population).
    drive_gates : sequence of str
        Receptor name of each Poisson drive onto a saturating receptor of this
        population (one private ``x``/``s`` pair per neuron each).

    Returns
    -------
    tuple of Field
        ``v``, then ``g_<receptor>`` for each exponential receptor, ``g_a`` when the
        neuron adapts, ``x<k>``/``s<k>`` per gating set, ``xd<k>``/``sd<k>`` per drive gate.
    """
    out = [Field("v", "membrane", "V", "", "c_m dv/dt = g_l (e_l - v) + g_a (e_a - v) + i_bias "
                 "+ i_ext + sum_r g_r B_r(v) (e_r - v)",
                 (params.c_m, params.g_l, params.e_l))]
    for r in params.receptors:
        if r.kind == "exponential":
            out.append(Field(f"g_{r.name}", "decay", "S", r.name,
                             f"dg/dt = -g/{r.tau_decay:g}; g += w per input spike",
                             (r.tau_decay,)))
    if params.delta_g_adapt > 0:
        out.append(Field("g_a", "adaptation", "S", "", "dg_a/dt = -g_a/tau_adapt; "
                         "g_a += delta_g_adapt per spike", (params.tau_adapt,)))
    for k, (tr, td, al) in enumerate(gating_sets):
        out.append(Field(f"x{k}", "gating_x", "1", "", "dx/dt = -x/tau_rise; x += 1 per spike",
                         (tr,)))
        out.append(Field(f"s{k}", "gating_s", "1", "", "ds/dt = -s/tau_decay + alpha x (1 - s)",
                         (td, al)))
    for k, name in enumerate(drive_gates):
        r = params.receptor(name)
        out.append(Field(f"xd{k}", "gating_x", "1", name, "dx/dt = -x/tau_rise; x += k input "
                         "spikes", (r.tau_rise,)))
        out.append(Field(f"sd{k}", "gating_s", "1", name, "ds/dt = -s/tau_decay + alpha x "
                         "(1 - s)", (r.tau_decay, r.alpha)))
    return tuple(out)


def mg_block(v, mg: float):
    """Fraction of the NMDA conductance left unblocked at potential ``v`` (V), [Mg] in mM."""
    return 1.0 / (1.0 + mg * np.exp(-MG_SLOPE * np.asarray(v)) / MG_SCALE)


def nmda_gating_mean(rate, receptor: Receptor) -> float:
    """Mean-field steady state of the saturating gating ``s`` under Poisson spikes (Hz).

    ``<x> = rate tau_rise`` exactly; neglecting the covariance of ``x`` and ``s``,
    ``<s> = a / (1 + a)`` with ``a = alpha tau_decay rate tau_rise``. The neglected term is
    small when ``alpha tau_rise`` is small (a test regime; Wang's ``alpha tau_rise = 1``
    needs Brunel & Wang 2001's corrections).
    """
    a = receptor.alpha * receptor.tau_decay * float(rate) * receptor.tau_rise
    return a / (1.0 + a)


class ConductanceState(NamedTuple):
    """State of a group: potential (V), refractory steps left, then the fields of
    :func:`describe` after ``v`` as one array [fields, n]."""

    v: np.ndarray
    ref_left: np.ndarray
    extra: np.ndarray


def conductance_init(n: int, params: ConductanceLIFParams, n_extra: int, v0=None):
    """Every neuron at ``v0`` (or ``e_l``), every conductance and gating variable at 0."""
    v = np.full(n, params.e_l) if v0 is None else np.broadcast_to(
        np.asarray(v0, np.float64), (n,)).copy()
    return ConductanceState(v, np.zeros(n, np.int64), np.zeros((n_extra, n)))


def conductance_step(state: ConductanceState, params: ConductanceLIFParams, dt: float,
                     g_sat=None, i_ext=0.0, gating_sets=()):
    """One forward-Euler step of an isolated population (the specification).

    Parameters
    ----------
    state : ConductanceState
        ``extra`` holds the fields of ``describe(params, gating_sets)`` after ``v``.
    params : ConductanceLIFParams
    dt : float, seconds
    g_sat : dict or None
        Receptor name -> conductance (S, scalar or [n]) of each saturating receptor this
        step (``sum_j w_j s_j`` of the projections onto it).
    i_ext : float or ndarray, amperes
    gating_sets : as in :func:`describe`

    Returns
    -------
    spikes : ndarray of bool [n]
    new_state : ConductanceState
        After the update and the spikes' own effects (adaptation, ``x += 1``); inputs
        from other neurons are added by the caller to the ``g_<r>`` rows.
    """
    flds = describe(params, gating_sets)[1:]
    g_sat = g_sat or {}
    v = state.v
    extra = state.extra.copy()
    cur = params.g_l * (params.e_l - v) + params.i_bias + i_ext
    row = {f.name: k for k, f in enumerate(flds)}
    for r in params.receptors:
        g = extra[row[f"g_{r.name}"]] if r.kind == "exponential" else g_sat.get(r.name, 0.0)
        blk = mg_block(v, r.mg) if r.mg > 0 else 1.0
        cur = cur + g * blk * (r.e_rev - v)
    if "g_a" in row:
        cur = cur + extra[row["g_a"]] * (params.e_adapt - v)
    ref_left = np.maximum(state.ref_left - 1, 0)
    active = ref_left == 0
    v_new = np.where(active, v + dt * cur / params.c_m, v)
    for k, f in enumerate(flds):
        old = state.extra[k]
        if f.kind in ("decay", "adaptation", "gating_x"):
            extra[k] = old - dt * old / f.params[0]
        elif f.kind == "gating_s":
            x = state.extra[k - 1]
            extra[k] = old + dt * (-old / f.params[0] + f.params[1] * x * (1.0 - old))
    spikes = active & (v_new > params.v_th)
    v_new = np.where(spikes, params.v_reset, v_new)
    ref_left = np.where(spikes, int(round(params.t_ref / dt)), ref_left)
    for k, f in enumerate(flds):
        if f.kind == "gating_x" and f.receptor == "":
            extra[k] = extra[k] + spikes
        elif f.kind == "adaptation":
            extra[k] = extra[k] + params.delta_g_adapt * spikes
    return spikes, ConductanceState(v_new, ref_left, extra)

