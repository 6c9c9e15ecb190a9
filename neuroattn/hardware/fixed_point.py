"""Fixed-point networks: n-bit weights with power-of-two scales.

Loihi-class chips store a synapse's weight as a signed n-bit integer (8 bits on
Loihi) times a power-of-two scale shared by a synapse group. :func:`quantize_network`
applies this to every projection (one scale per projection: the smallest power of
two for which its largest weight fits), and the same rule to each population's bias
current and to every drive's gain, then the engines simulate the result as usual.
:func:`state_grid` goes further: it describes an n-bit grid for every membrane
potential and synaptic current (power-of-two steps per population), which every
engine applies at each step when passed as the run option ``state_grid``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model import Drive, Network, Population

__all__ = ["quantize", "quantize_network", "quantize_drives", "state_grid"]


def quantize(values, bits: int):
    """Round ``values`` to signed ``bits``-bit integers times a power-of-two scale.

    Returns ``(quantised values, scale)``; the scale is ``2**e`` with the smallest
    integer ``e`` such that ``max|values| <= (2**(bits-1) - 1) * 2**e``.

    Examples
    --------
    >>> q, s = quantize([0.3, -1.0, 0.01], 4)
    >>> s, q.tolist()
    (0.25, [0.25, -1.0, 0.0])
    """
    bits = int(bits)
    if bits < 2:
        raise ValidationError(f"quantize.bits: expected an integer >= 2 (got {bits})")
    v = np.asarray(values, dtype=np.float64)
    top = float(np.max(np.abs(v))) if v.size else 0.0
    if top == 0.0:
        return v.copy(), 1.0
    levels = 2 ** (bits - 1) - 1
    scale = 2.0 ** math.ceil(math.log2(top / levels))
    q = np.clip(np.round(v / scale), -levels, levels) * scale
    return q, scale


def _q_scalar(x: float, bits: int) -> float:
    return float(quantize([x], bits)[0][0])


def quantize_network(network: Network, bits: int) -> Network:
    """``network`` with ``bits``-bit weights and bias currents (power-of-two scales).

    Parameters
    ----------
    network : Network
    bits : int
        Bits of a signed weight (>= 2): e.g. 8 as on Loihi.

    Returns
    -------
    Network
        Same populations, probes and connectivity; each projection's weights (a scalar
        or a matrix) and each population's ``i_bias`` rounded.
    """
    pops = []
    for p in network.populations:
        params = p.params
        if getattr(params, "i_bias", 0.0):
            params = replace(params, i_bias=_q_scalar(params.i_bias, bits))
        pops.append(Population(p.name, p.size, params, p.v_init))
    projs = []
    for pr in network.projections:
        w = pr.weight
        w = _q_scalar(w, bits) if np.ndim(w) == 0 else quantize(w, bits)[0]
        projs.append(replace(pr, weight=w))
    return Network(pops, projs, network.probes, name=f"{network.name}_q{bits}")


def quantize_drives(drives, bits: int) -> tuple:
    """Drives with ``bits``-bit gains (each its own power-of-two scale)."""
    return tuple(replace(d, gain=_q_scalar(d.gain, bits)) if isinstance(d, Drive) else d
                 for d in drives)




def _pow2_step(span: float, bits: int) -> float:
    """The smallest power of two ``s`` with ``2**(bits-1) s >= span``."""
    return 2.0 ** math.ceil(math.log2(span / 2 ** (bits - 1)))


def state_grid(network: Network, bits: int, v_headroom: float = 2.0,
               i_headroom: float = 8.0):
    """An n-bit fixed-point grid for the state of every population of ``network``.

    Potentials are held relative to ``v_rest`` in steps of a power of two (V) such that
    ``2**(bits-1)`` steps cover ``v_headroom`` times the largest of the distances from
    rest to threshold (``theta`` for escape neurons), to the reset potential and to the
    bias's resting point ``r_m i_bias``: with the default 2, potentials as far below rest
    as threshold is above it are representable. Synaptic currents are held in steps of
    a power of two (A) such that ``2**(bits-1)`` steps cover ``i_headroom`` times the
    population's rheobase ``|v_th - v_rest| / r_m``: a current beyond 8 times rheobase
    either way changes little (the neuron fires at its maximal rate, or is silent),
    so it saturates. Conductance-based populations are left float.

    Parameters
    ----------
    network : Network
    bits : int
        Bits of a signed state value (2 to 32); e.g. 16.
    v_headroom, i_headroom : float
        Ranges as multiples of the scales above (> 0).

    Returns
    -------
    neuroattn.backends._common.StateGrid
        Pass it to ``simulate(..., state_grid=...)`` on any backend.

    Examples
    --------
    >>> from neuroattn.model import Network, Population
    >>> from neuroattn.neurons import LIFParams
    >>> g = state_grid(Network([Population("a", 2, LIFParams())]), 8)
    >>> g.v_step["a"] * 1e3, g.i_step["a"] * 1e12       # mV, pA per step
    (0.48828125, 14.551915228366852)
    """
    from neuroattn.backends._common import StateGrid

    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 32:
        raise ValidationError(f"state_grid.bits: expected an integer from 2 to 32 (got {bits!r})")
    for name, x in (("v_headroom", v_headroom), ("i_headroom", i_headroom)):
        if not (isinstance(x, (int, float)) and math.isfinite(x) and x > 0):
            raise ValidationError(f"state_grid.{name}: expected a positive number (got {x!r})")
    v_step, i_step = {}, {}
    for p in network.populations:
        par = p.params
        if getattr(par, "kind", None) == "conductance":
            continue
        top = par.v_th if par.kind == "lif" else par.theta
        span = max(abs(top - par.v_rest), abs(par.v_reset - par.v_rest),
                   abs(par.r_m * par.i_bias))
        v_step[p.name] = _pow2_step(v_headroom * span, int(bits))
        i_step[p.name] = _pow2_step(i_headroom * abs(top - par.v_rest) / par.r_m, int(bits))
    return StateGrid(int(bits), v_step, i_step)
