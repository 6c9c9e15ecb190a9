"""Current-based leaky integrate-and-fire neuron with exponential synapses.

Notes
-----
Equations (SI units)::

    tau_mem dv/dt = v_rest - v + r_m (i_bias + i_ext + sum_p i_p) + sigma sqrt(2 tau_mem) xi
    v > v_th  ->  spike, v = v_reset, no integration for t_ref

``sigma`` is the stationary standard deviation (V) of the free membrane under the
noise alone. The update is exact for the deterministic part (see ``_membrane``) and
the exact Ornstein-Uhlenbeck increment for the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive, to_si
from neuroattn.neurons._membrane import (
    MembraneState,
    advance,
    init_state,
    ou_noise_scale,
    refractory_steps,
)

__all__ = ["LIFParams", "LIFState", "lif_init", "lif_step", "lif_rate", "lif_rate_noisy"]

_UNITS = {
    "tau_mem": "s",
    "v_rest": "V",
    "v_reset": "V",
    "v_th": "V",
    "r_m": "ohm",
    "t_ref": "s",
    "sigma": "V",
    "i_bias": "A",
}


@dataclass(frozen=True)
class LIFParams:
    """Parameters of the current-based LIF neuron.

    Parameters
    ----------
    tau_mem : float, seconds
        Membrane time constant (default 20 ms).
    v_rest : float, volts
        Resting potential (default -70 mV).
    v_reset : float, volts
        Potential after a spike (default -70 mV).
    v_th : float, volts
        Firing threshold (default -50 mV).
    r_m : float, ohms
        Membrane resistance (default 100 MOhm, so 100 pA moves v by 10 mV).
    t_ref : float, seconds
        Absolute refractory period (default 2 ms).
    sigma : float, volts
        Stationary std of the membrane noise (default 0: deterministic).
    i_bias : float, amperes
        Constant bias current (default 0).

    Examples
    --------
    >>> from neuroattn.neurons import LIFParams, lif_rate
    >>> p = LIFParams()
    >>> round(lif_rate(300e-12, p), 1)   # 300 pA: v_inf = -40 mV
    41.7
    """

    tau_mem: float = 20e-3
    v_rest: float = -70e-3
    v_reset: float = -70e-3
    v_th: float = -50e-3
    r_m: float = 100e6
    t_ref: float = 2e-3
    sigma: float = 0.0
    i_bias: float = 0.0

    kind = "lif"

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, to_si(getattr(self, f.name), _UNITS[f.name],
                                                   f"LIFParams.{f.name}"))

    def validate(self, where: str = "LIFParams") -> None:
        """Check ranges; raise ValidationError naming ``where`` and the attribute."""
        check_positive(self.tau_mem, "s", f"{where}.tau_mem")
        check_positive(self.r_m, "ohm", f"{where}.r_m")
        check_positive(self.t_ref, "s", f"{where}.t_ref", allow_zero=True)
        check_positive(self.sigma, "V", f"{where}.sigma", allow_zero=True)
        if not self.v_th > self.v_reset:
            raise ValidationError(
                f"{where}.v_th: must be above v_reset ({self.v_reset:g} V) (got {self.v_th:g} V); "
                "e.g. v_th=-50*mV with v_reset=-70*mV"
            )


#: State of a group of LIF neurons: potential (V) and refractory steps left.
LIFState = MembraneState


def lif_init(n: int, params: LIFParams, v0=None) -> LIFState:
    """Initial state: every neuron at ``v0`` (V; scalar or array) or at ``v_rest``."""
    return init_state(n, params.v_rest, v0)


def lif_step(i_ext, i_syn, tau_syn, state: LIFState, params: LIFParams, dt: float,
             noise=None):
    """Advance LIF neurons one step of ``dt`` seconds; return ``(spikes, new_state)``.

    Parameters
    ----------
    i_ext : ndarray or float, amperes
        External current, held constant over the step.
    i_syn : ndarray [n_types, n], amperes
        Synaptic currents at the start of the step (they decay over it).
    tau_syn : sequence of float, seconds
        Time constant of each synaptic current.
    state : LIFState
    params : LIFParams
    dt : float, seconds
    noise : ndarray [n] or None
        Standard normal draws for the membrane noise (needed when ``sigma > 0``).

    Returns
    -------
    spikes : ndarray of bool [n]
    new_state : LIFState
    """
    active, ref_left, v_new = advance(i_ext, i_syn, tau_syn, state, params, dt)
    if params.sigma > 0:
        if noise is None:
            raise ValidationError("lif_step.noise: required when sigma > 0 (got None); pass "
                                  "standard normal draws of shape [n]")
        v_new = v_new + ou_noise_scale(params.sigma, params.tau_mem, dt) * noise
    v = np.where(active, v_new, state.v)
    spikes = active & (v > params.v_th)
    v = np.where(spikes, params.v_reset, v)
    ref_left = np.where(spikes, refractory_steps(params.t_ref, dt), ref_left)
    return spikes, LIFState(v=v, ref_left=ref_left)


def lif_rate(i_ext, params: LIFParams) -> np.ndarray | float:
    """Analytic firing rate (Hz) of a noiseless LIF neuron under constant current (A).

    Notes
    -----
    With ``v_inf = v_rest + r_m (i_ext + i_bias)``::

        rate = 1 / (t_ref + tau_mem ln((v_inf - v_reset) / (v_inf - v_th)))  if v_inf > v_th
        rate = 0                                                              otherwise
    """
    i = np.asarray(i_ext, dtype=np.float64)
    v_inf = params.v_rest + params.r_m * (i + params.i_bias)
    supra = v_inf > params.v_th
    with np.errstate(divide="ignore", invalid="ignore"):
        period = params.t_ref + params.tau_mem * np.log(
            (v_inf - params.v_reset) / np.where(supra, v_inf - params.v_th, 1.0))
        rate = np.where(supra, 1.0 / period, 0.0)
    return float(rate) if rate.ndim == 0 else rate


def lif_rate_noisy(i_ext, params: LIFParams, n_points: int = 2000) -> np.ndarray | float:
    """Analytic rate (Hz) of the LIF neuron with white membrane noise (Siegert formula).

    Notes
    -----
    With ``mu = v_rest + r_m (i_ext + i_bias)`` and ``sigma`` the free-membrane std::

        1/rate = t_ref + tau_mem sqrt(pi) int_{(v_reset-mu)/(sigma sqrt2)}^{(v_th-mu)/(sigma sqrt2)}
                 e^{u^2} (1 + erf u) du

    The integrand is evaluated as ``erfcx(-u)``, which stays finite for any ``u``. Valid
    for synaptic time constants short against ``tau_mem``. Reduces to ``lif_rate`` as
    sigma -> 0.
    """
    from scipy.special import erfcx

    if params.sigma <= 0:
        return lif_rate(i_ext, params)
    i = np.atleast_1d(np.asarray(i_ext, dtype=np.float64))
    mu = params.v_rest + params.r_m * (i + params.i_bias)
    s = params.sigma * math.sqrt(2.0)
    lo = (params.v_reset - mu) / s
    hi = (params.v_th - mu) / s
    x = np.linspace(0.0, 1.0, n_points)
    u = lo[:, None] + (hi - lo)[:, None] * x[None, :]
    integral = np.trapezoid(erfcx(-u), u, axis=1)
    rate = 1.0 / (params.t_ref + params.tau_mem * math.sqrt(math.pi) * integral)
    return float(rate[0]) if np.ndim(i_ext) == 0 else rate
