"""Numba reference of the decision layer (:mod:`.decision`), for the bridge's fit.

Imported only by the bridge's calibration (it needs numba); the torch layer computes
the same equations through :func:`neuroattn.attention.scaled_dot_product_attention`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def decision_rates(u, z, dt, temperature, rate, null_logit, tau, w_self, noise, s0, bw_steps):
    """Rates (Hz) binned over ``bw_steps`` steps [n, steps // bw_steps, 2].

    ``u`` [n, steps, 2]: the input per pool (units of mu0); ``z`` [n, steps, 2]: standard
    normal draws of the trace noise; forward Euler of ``tau ds/dt = r - s`` with
    ``r = rate softmax([u + w_self s, null_logit] / temperature)`` and the trace noise
    ``noise sqrt(dt) z`` (Hz); the traces start at ``s0`` (Hz).
    """
    n, steps, _ = u.shape
    nb = steps // bw_steps
    out = np.zeros((n, nb, 2))
    k = dt / tau
    sq = noise * math.sqrt(dt)
    for t in range(n):
        a = s0
        b = s0
        acc0 = 0.0
        acc1 = 0.0
        for i in range(steps):
            x0 = (u[t, i, 0] + w_self * a) / temperature
            x1 = (u[t, i, 1] + w_self * b) / temperature
            xb = null_logit / temperature
            m = max(x0, max(x1, xb))
            e0 = math.exp(x0 - m)
            e1 = math.exp(x1 - m)
            z0 = e0 + e1 + math.exp(xb - m)
            r0 = rate * e0 / z0
            r1 = rate * e1 / z0
            acc0 += r0
            acc1 += r1
            a = a + k * (r0 - a) + sq * z[t, i, 0]
            b = b + k * (r1 - b) + sq * z[t, i, 1]
            if (i + 1) % bw_steps == 0:
                j = (i + 1) // bw_steps - 1
                out[t, j, 0] = acc0 / bw_steps
                out[t, j, 1] = acc1 / bw_steps
                acc0 = 0.0
                acc1 = 0.0
    return out


@njit(cache=True, nogil=True)
def first_crossing(rates, bin_width, threshold, window, onset):
    """Choice (pool index, -1 for none) and decision time (s from ``onset``, NaN for
    none) of each trial: the first bin at or after ``onset`` (a bin index) where a
    pool's rate averaged over the last ``window`` bins reaches ``threshold`` (Hz) -- the
    readout of the random-dot task (:meth:`RandomDots.readout`)."""
    n, nb, _ = rates.shape
    choice = np.full(n, -1, np.int64)
    time = np.full(n, np.nan)
    for t in range(n):
        s0 = 0.0
        s1 = 0.0
        for j in range(nb):
            s0 += rates[t, j, 0]
            s1 += rates[t, j, 1]
            if j >= window:
                s0 -= rates[t, j - window, 0]
                s1 -= rates[t, j - window, 1]
            if j < onset:
                continue
            if s0 / window >= threshold or s1 / window >= threshold:
                choice[t] = 0 if s0 >= s1 else 1
                time[t] = (j + 1) * bin_width - onset * bin_width
                break
    return choice, time


# numba's disk cache, safe for processes compiling at once (``neuroattn._numba_cache``,
# which imports no engine)
def _guard_cache():
    from neuroattn import _numba_cache

    _numba_cache.guard_all(globals())


_guard_cache()
