"""Stochastic neuron with exponential escape noise.

Notes
-----
The membrane is the same linear membrane as the LIF neuron (no hard threshold)::

    tau_mem dv/dt = v_rest - v + r_m (i_bias + i_ext + sum_p i_p)

and the neuron fires as an inhomogeneous Poisson process of intensity::

    rho(v) = rho0 exp((v - theta) / delta_u)

In a step of ``dt`` it fires with probability ``1 - exp(-rho dt)``. After a spike the
potential is reset to ``v_reset`` when ``reset`` is true, and no spike can follow for
``t_ref``. With ``reset=False`` and ``t_ref=0`` the neuron is a pure rate-``rho(v)``
Poisson source: K such neurons sharing one inhibitory current fire neuron k with
probability ``exp(u_k) / sum_j exp(u_j)``, ``u = v / delta_u`` (Nessler et al. 2013).
"""

from __future__ import annotations


from dataclasses import dataclass, fields

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive, to_si
from neuroattn.neurons._membrane import MembraneState, advance, init_state, refractory_steps

__all__ = ["EscapeParams", "EscapeState", "escape_init", "escape_step", "escape_intensity",
           "escape_rate"]

_UNITS = {
    "tau_mem": "s",
    "v_rest": "V",
    "v_reset": "V",
    "r_m": "ohm",
    "theta": "V",
    "delta_u": "V",
    "rho0": "Hz",
    "t_ref": "s",
    "i_bias": "A",
}


@dataclass(frozen=True)
class EscapeParams:
    """Parameters of the exponential-escape neuron.

    Parameters
    ----------
    tau_mem : float, seconds
        Membrane time constant (default 10 ms).
    v_rest : float, volts
        Resting potential (default 0 V: potentials are measured from rest).
    v_reset : float, volts
        Potential after a spike when ``reset`` is true (default 0 V).
    r_m : float, ohms
        Membrane resistance (default 100 MOhm).
    theta : float, volts
        Potential at which the intensity equals ``rho0`` (default 0 V).
    delta_u : float, volts
        Softness of the threshold (default 2 mV): intensity grows e-fold per delta_u.
    rho0 : float, hertz
        Intensity at ``v = theta`` (default 10 Hz).
    t_ref : float, seconds
        Absolute refractory period (default 0).
    i_bias : float, amperes
        Constant bias current (default 0).
    reset : bool
        Reset ``v`` after a spike (default False: a pure Poisson source).

    Examples
    --------
    >>> from neuroattn.neurons import EscapeParams, escape_rate
    >>> p = EscapeParams(rho0=10.0, delta_u=2e-3)
    >>> round(escape_rate(4e-3, p), 2)   # v two delta_u above theta: 10 e^2 Hz
    73.89
    """

    tau_mem: float = 10e-3
    v_rest: float = 0.0
    v_reset: float = 0.0
    r_m: float = 100e6
    theta: float = 0.0
    delta_u: float = 2e-3
    rho0: float = 10.0
    t_ref: float = 0.0
    i_bias: float = 0.0
    reset: bool = False

    kind = "escape"

    def __post_init__(self):
        for f in fields(self):
            if f.name == "reset":
                if not isinstance(self.reset, (bool, np.bool_)):
                    raise ValidationError(
                        f"EscapeParams.reset: expected True or False (got {self.reset!r})")
                object.__setattr__(self, "reset", bool(self.reset))
                continue
            object.__setattr__(self, f.name, to_si(getattr(self, f.name), _UNITS[f.name],
                                                   f"EscapeParams.{f.name}"))

    def validate(self, where: str = "EscapeParams") -> None:
        """Check ranges; raise ValidationError naming ``where`` and the attribute."""
        check_positive(self.tau_mem, "s", f"{where}.tau_mem")
        check_positive(self.r_m, "ohm", f"{where}.r_m")
        check_positive(self.delta_u, "V", f"{where}.delta_u")
        check_positive(self.rho0, "Hz", f"{where}.rho0")
        check_positive(self.t_ref, "s", f"{where}.t_ref", allow_zero=True)


#: State of a group of escape neurons: potential (V) and refractory steps left.
EscapeState = MembraneState


def escape_init(n: int, params: EscapeParams, v0=None) -> EscapeState:
    """Initial state: every neuron at ``v0`` (V; scalar or array) or at ``v_rest``."""
    return init_state(n, params.v_rest, v0)


def escape_intensity(v, params: EscapeParams):
    """Firing intensity rho(v) in Hz."""
    return params.rho0 * np.exp((np.asarray(v, dtype=np.float64) - params.theta) / params.delta_u)


def escape_step(i_ext, i_syn, tau_syn, state: EscapeState, params: EscapeParams, dt: float,
                uniform=None):
    """Advance escape neurons one step; return ``(spikes, new_state)``.

    The potential is integrated exactly (as the LIF membrane); then neuron i fires when
    ``uniform[i] < 1 - exp(-rho(v_i) dt)``, unless refractory.

    Parameters
    ----------
    i_ext : ndarray or float, amperes
    i_syn : ndarray [n_types, n], amperes
    tau_syn : sequence of float, seconds
    state : EscapeState
    params : EscapeParams
    dt : float, seconds
    uniform : ndarray [n]
        Uniform(0, 1) draws, one per neuron.
    """
    if uniform is None:
        raise ValidationError("escape_step.uniform: required (got None); pass uniform draws "
                              "of shape [n]")
    active, ref_left, v_new = advance(i_ext, i_syn, tau_syn, state, params, dt)
    frozen = ~active & params.reset
    v = np.where(frozen, state.v, v_new)
    p = -np.expm1(-escape_intensity(v, params) * dt)
    spikes = active & (np.asarray(uniform) < p)
    if params.reset:
        v = np.where(spikes, params.v_reset, v)
    ref_left = np.where(spikes, refractory_steps(params.t_ref, dt), ref_left)
    return spikes, EscapeState(v=v, ref_left=ref_left)


def escape_rate(v, params: EscapeParams, dt: float | None = None):
    """Analytic mean rate (Hz) of an escape neuron held at potential ``v`` (V).

    Notes
    -----
    Continuous time (``dt=None``): ``rate = 1 / (t_ref + 1/rho(v))``. With a step ``dt``
    the firing probability per step is ``p = 1 - exp(-rho dt)`` and the dead time is
    ``round(t_ref/dt) - 1`` steps after the spike step (at least 0), so
    ``rate = 1 / (dt (dead + 1/p))``.
    """
    rho = escape_intensity(v, params)
    if dt is None:
        rate = 1.0 / (params.t_ref + 1.0 / rho)
    else:
        p = -np.expm1(-rho * dt)
        dead = max(refractory_steps(params.t_ref, dt) - 1, 0)
        rate = 1.0 / (dt * (dead + 1.0 / p))
    return float(rate) if np.ndim(rate) == 0 else rate


