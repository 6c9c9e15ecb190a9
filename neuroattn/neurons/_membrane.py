"""Exact integration of the linear membrane shared by every neuron model.

The membrane obeys

    tau_mem dv/dt = v_rest - v + r_m (i_ext + sum_p i_p)
    tau_p  di_p/dt = -i_p                              (one current per synapse type p)

Over one step of length ``dt`` the external current ``i_ext`` is held constant and each
synaptic current decays exponentially, so the update is exact:

    v(t+dt) = v_inf + (v - v_inf) e^{-dt/tau_mem} + sum_p r_m i_p K(tau_p)
    v_inf   = v_rest + r_m i_ext
    K(tau_p) = tau_p / (tau_p - tau_mem) (e^{-dt/tau_p} - e^{-dt/tau_mem})
             = (dt / tau_mem) e^{-dt/tau_mem}          if tau_p == tau_mem

This is the same solution Brian2's ``exact`` method derives for these equations.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def synaptic_kernel(tau_syn: float, tau_mem: float, dt: float) -> float:
    """Return K, the voltage gained per unit of ``r_m * i_syn`` over one step (unitless)."""
    # python floats: float32 scalars would compute the small difference below in float32
    tau_syn, tau_mem, dt = float(tau_syn), float(tau_mem), float(dt)
    em = math.exp(-dt / tau_mem)
    if abs(tau_syn - tau_mem) <= 1e-12 * tau_mem:
        return dt / tau_mem * em
    return tau_syn / (tau_syn - tau_mem) * (math.exp(-dt / tau_syn) - em)


def integrate_membrane(v, i_ext, i_syn, tau_syn, *, tau_mem, v_rest, r_m, dt):
    """Advance the membrane potential ``v`` (V) by one exact step.

    Parameters
    ----------
    v : ndarray, volts
    i_ext : ndarray or float, amperes (held over the step)
    i_syn : ndarray [n_types, n], amperes at the start of the step
    tau_syn : sequence of float, seconds, one per row of ``i_syn``
    tau_mem, v_rest, r_m, dt : float (s, V, ohm, s)
    """
    em = math.exp(-dt / tau_mem)
    v_inf = v_rest + r_m * i_ext
    out = v_inf + (v - v_inf) * em
    for row, tau in zip(i_syn, tau_syn):
        out = out + r_m * row * synaptic_kernel(tau, tau_mem, dt)
    return np.asarray(out, dtype=np.float64)


def ou_noise_scale(sigma: float, tau_mem: float, dt: float) -> float:
    """Std (V) of the exact Ornstein-Uhlenbeck increment over ``dt`` for stationary std ``sigma``."""
    return sigma * math.sqrt(1.0 - math.exp(-2.0 * dt / tau_mem))


def refractory_steps(t_ref: float, dt: float) -> int:
    """Number of steps a neuron stays refractory (Brian2's rounding: round(t_ref/dt))."""
    return int(round(t_ref / dt))


class MembraneState(NamedTuple):
    """State of a group of neurons: potential (V) and refractory steps left (int)."""

    v: np.ndarray
    ref_left: np.ndarray


def init_state(n: int, v_rest: float, v0=None) -> MembraneState:
    """Every neuron at ``v0`` (V; scalar or array of n) or, without it, at ``v_rest``."""
    if v0 is None:
        v = np.full(n, v_rest, dtype=np.float64)
    else:
        v = np.broadcast_to(np.asarray(v0, dtype=np.float64), (n,)).copy()
    return MembraneState(v=v, ref_left=np.zeros(n, dtype=np.int64))


def advance(i_ext, i_syn, tau_syn, state: MembraneState, params, dt: float):
    """Count down refractoriness and integrate the membrane exactly over one step.

    Returns ``(active, ref_left, v_new)``: which neurons are out of their refractory
    period, the decremented counters, and the integrated potential of every neuron
    (the caller keeps frozen neurons at their old potential where its model says so).
    """
    ref_left = np.maximum(state.ref_left - 1, 0)
    i_syn = np.asarray(i_syn, dtype=np.float64)
    i_syn = i_syn.reshape(len(tau_syn), -1) if len(tau_syn) else np.zeros((0, state.v.size))
    v_new = integrate_membrane(state.v, params.i_bias + np.asarray(i_ext, dtype=np.float64),
                               i_syn, tau_syn, tau_mem=params.tau_mem, v_rest=params.v_rest,
                               r_m=params.r_m, dt=dt)
    return ref_left == 0, ref_left, v_new
