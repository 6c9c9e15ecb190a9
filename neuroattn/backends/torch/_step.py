"""The neuron step on the whole neuron axis, in torch: a pure function of state and inputs.

This is ``neuroattn.neurons.lif_step`` and ``escape_step`` on tensors [trials, N], with
the spike nonlinearity made differentiable:

* LIF: ``s = surrogate((v - v_th) / v_scale)``, an ``snntorch.surrogate`` function
  (Heaviside forward, smooth derivative backward) of the distance to threshold in units
  of ``v_scale = v_th - v_reset`` (the scale snnTorch's neurons assume, threshold 1).
  The reset ``v -> v_reset`` is applied with the detached spike (no gradient through the
  reset, as recommended by Zenke & Vogels 2021).
* Escape: Bernoulli sampling ``b = uniform < p``, ``p = 1 - exp(-rho(v) dt)``, with the
  straight-through estimator ``s = b + p - stop_gradient(p)``: the forward value is the
  sample, the gradient is that of the firing probability, ``d E[s] / d p = 1``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Coefficients", "neuron_step"]

#: largest exponent (v - theta) / delta_u fed to exp: p is 1 to machine precision long
#: before, and exp stays finite in float32 (so the gradient stays finite too)
_MAX_EXPONENT = 80.0


class Coefficients(NamedTuple):
    """Per-neuron constants of one simulation, each a Tensor [N] (or [ports, N]).

    ``em`` = exp(-dt/tau_mem); ``rk[u]`` = r_m K(tau_u, tau_mem) (ohm), the voltage per
    ampere of port u's current over one step; ``decay[u]`` = exp(-dt/tau_u) [ports, 1];
    ``ou`` the std (V) of the noise increment; ``v_scale`` the surrogate's voltage unit;
    ``is_lif`` (bool) or None when all neurons are of one kind.
    """

    em: torch.Tensor
    rk: torch.Tensor
    decay: torch.Tensor
    ou: torch.Tensor
    v_th: torch.Tensor
    v_reset: torch.Tensor
    v_scale: torch.Tensor
    ref_steps: torch.Tensor
    theta: torch.Tensor
    delta_u: torch.Tensor
    rho0: torch.Tensor
    reset: torch.Tensor
    is_lif: torch.Tensor | None
    has_lif: bool
    has_escape: bool
    grad_scale: float = 1.0


def neuron_step(v, ref, i_syn, v_inf, noise, uniform, c: Coefficients, dt: float, surrogate):
    """Advance every neuron one step; return ``(s, spiked, v, ref)``.

    Parameters
    ----------
    v : Tensor [trials, N], volts
        Potentials at the start of the step.
    ref : Tensor [trials, N], int64
        Refractory steps left.
    i_syn : sequence of Tensor [trials, N], amperes
        Port currents at the start of the step.
    v_inf : Tensor [trials, N], volts
        ``v_rest + r_m (i_bias + i_ext)``, the fixed point under the external current.
    noise : Tensor [trials, N] or None
        Noise increment (V), already scaled by ``ou``.
    uniform : Tensor [trials, N] or None
        Uniform(0, 1) draws for escape neurons.
    c : Coefficients
    dt : float, seconds
    surrogate : callable
        An ``snntorch.surrogate`` spike function.

    Returns
    -------
    s : Tensor [trials, N]
        Spikes (0/1 forward) carrying the surrogate / straight-through gradient.
    spiked : Tensor [trials, N], bool
    v, ref : the new state
    """
    ref = torch.clamp(ref - 1, min=0)
    active = ref == 0
    v_new = v_inf + (v - v_inf) * c.em
    for cur, rk in zip(i_syn, c.rk):
        v_new = v_new + cur * rk
    if c.has_lif:
        v_l = v_new if noise is None else v_new + noise
        v_l = torch.where(active, v_l, v)
        s_l = surrogate((v_l - c.v_th) / c.v_scale).to(v.dtype)
        if c.grad_scale != 1.0:  # same forward value, gradient times grad_scale
            s_l = s_l.detach() + (s_l - s_l.detach()) * c.grad_scale
        s_l = s_l * active
        spk_l = s_l.detach() > 0
        v_l = torch.where(spk_l, c.v_reset, v_l)
    if c.has_escape:
        v_e = torch.where(~active & c.reset, v, v_new)
        x = torch.clamp((v_e - c.theta) / c.delta_u, max=_MAX_EXPONENT)
        p = -torch.expm1(-c.rho0 * torch.exp(x) * dt)
        spk_e = active & (uniform < p)
        s_e = (spk_e.to(v.dtype) + p - p.detach()) * active
        v_e = torch.where(spk_e & c.reset, c.v_reset, v_e)
    if not c.has_escape:
        s, spiked, v = s_l, spk_l, v_l
    elif not c.has_lif:
        s, spiked, v = s_e, spk_e, v_e
    else:
        s = torch.where(c.is_lif, s_l, s_e)
        spiked = torch.where(c.is_lif, spk_l, spk_e)
        v = torch.where(c.is_lif, v_l, v_e)
    ref = torch.where(spiked, c.ref_steps, ref)
    return s, spiked, v, ref
