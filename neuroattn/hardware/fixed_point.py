"""Fixed-point networks: n-bit weights with power-of-two scales.

Loihi-class chips store a synapse's weight as a signed n-bit integer (8 bits on
Loihi) times a power-of-two scale shared by a synapse group. :func:`quantize_network`
applies this to every projection (one scale per projection: the smallest power of
two for which its largest weight fits), and the same rule to each population's bias
current and to every drive's gain, then the engines simulate the result as usual.
Potentials and synaptic currents stay float64 during the simulation: rounding the
state at every step needs an engine hook (see docs/hardware.md).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model import Drive, Network, Population

__all__ = ["quantize", "quantize_network", "quantize_drives"]


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


