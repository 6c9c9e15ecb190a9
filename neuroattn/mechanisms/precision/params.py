"""Parameters of the precision-weighting softmax layer (numpy only, so that importing
them does not import torch; :mod:`.softmax` holds the torch module)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["PrecisionParams", "pool_shift", "loop_log", "POOL_GAIN"]


#: Loop gain of the variance pools (nats of the pools' own log rate per unit of their
#: relative summed rate): the gain at which their loop (a 20 ms synapse onto a 5 ms
#: membrane) is maximally flat, ``(tau_pool + tau_mem)**2 / (2 tau_pool tau_mem) - 1``.
POOL_GAIN = 2.125

#: Newton steps of :func:`loop_log` (quadratic convergence from ``u = g``; 12 reach
#: machine precision over the range the tasks use, |lambda| <= 10).
_NEWTON = 12


def loop_log(v, gain: float) -> np.ndarray:
    """The pools' estimate of ``log v`` (``v`` > 0, the mean expected variance relative to
    rest): ``(1 + g) / g * c``, ``c`` the pools' own shift in their closed loop, where the
    summed rate is ``v exp(-c)`` and the loop subtracts ``g`` (summed rate - 1)::

        c = g (v exp(-c) - 1)      =>   c = W(g v exp(g)) - g      (W: Lambert's)

    ``log v`` to first order in ``v - 1`` and for ``g -> inf``; compressive (below
    ``(1 + g) / g log v`` for ``v`` > 1) at every gain; ``g`` = 0: ``v - 1`` (no loop,
    linear). Solved by Newton's method on ``s = log u``, ``u = c + g``: ``exp(s) + s =
    log g + g + log v`` (convex in ``s``: every step after the first comes from the right).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.cosh(0.485)                     # Posner's cue +-0.485
    >>> round(float(loop_log(v, 2.125)), 4), round(float(np.log(v)), 4)
    (0.1139, 0.1133)
    >>> [round(float(f), 3) for f in (loop_log(6.8, 2.125), np.log(6.8), loop_log(6.8, 0.0))]
    [2.071, 1.917, 5.8]
    """
    v = np.asarray(v, dtype=np.float64)
    g = float(gain)
    if g == 0:
        return v - 1.0
    return _loop_solve(np.log(v), g, np.exp, np.full_like(v, math.log(g)))


def _loop_solve(log_v, g: float, exp, start):
    """:func:`loop_log` for ``g`` > 0 from ``log v``, in any array library (``exp`` its
    exponential, ``start`` an array of ``log g`` shaped like ``log_v``): Newton's method
    on ``s = log(c + g)``, ``exp(s) + s = log g + g + log v``."""
    target = math.log(g) + g + log_v
    s = start
    for _ in range(_NEWTON):
        e = exp(s)
        s = s - (e + s - target) / (e + 1.0)
    return (1.0 + g) / g * (exp(s) - g)


def pool_shift(lam, strength: float, gain: float = POOL_GAIN) -> np.ndarray:
    """The variance pool's common log-precision shift ``w loop_log(S, g)`` [..., 1],
    ``S = mean_k exp(-lam_k)`` the items' mean expected variance (``lam`` [..., K]):
    about ``w log S``, saturating where a linear pool would explode.

    Examples
    --------
    >>> import numpy as np
    >>> b = 0.485                                # Posner's cue: lambda = +-b
    >>> round(float(pool_shift(np.array([b, -b]), 1.0)[0]), 4)   # ~ log cosh b = 0.1133
    0.1139
    >>> round(float(pool_shift(np.array([b, -b]), 1.0, 0.0)[0]), 4)   # linear: cosh b - 1
    0.1199
    >>> float(pool_shift(np.array([b, -b]), 0.0)[0])
    0.0
    """
    lam = np.asarray(lam, dtype=np.float64)
    if strength == 0:
        return np.zeros(lam.shape[:-1] + (1,))
    s = np.exp(-lam).mean(axis=-1, keepdims=True)
    return strength * loop_log(s, gain)


@dataclass(frozen=True)
class PrecisionParams:
    """Parameters of :class:`~neuroattn.mechanisms.precision.PrecisionAttention`.

    Item k's log precision (the log gain of its prediction errors) is
    ``log pi_k = log_precision[k] + precision_scale * b_k`` (``b`` the cue's bias). The
    representation of item k follows its evidence ``x_k`` with the precision-weighted
    time constant ``tau / pi_k`` (predictive coding's ``d mu / dt = pi eps``), and the
    item weights are the softmax of log precision plus evidence::

        z_k = logit_weight * log pi_k + x_k / temperature

    (with a null competitor ``null_logit`` for the rates). ``logit_weight`` is the share
    of the errors' log precision that reaches the representations' steady state (1: all
    of it). The unit level weights the items by their full precision, so its estimate
    ``sum_k pi_k mu_k / sum_k pi_k`` (``pi_k`` including the evidence term ``x_k /
    unit_temperature``) is exactly ``softmax(log pi) . mu``. (On noisy inputs the layer
    also takes half the evidence's variance, ``var(u_k) / (2 unit_temperature**2)``, off
    the unit's log precision, so that its mean precision is the noise-free one; these
    mean-field helpers see constant inputs, where that term is 0.)

    Parameters
    ----------
    k : int
        Number of items.
    temperature : float
        Evidence temperature: units of input per nat of logit (> 0).
    precision_scale : float
        Nats of log precision (error-unit log gain) per unit of the cue's bias (>= 0).
    rate : float, hertz
        Rate of an item holding all the weight.
    null_logit : float
        Logit (nats) of the null competitor; ``-inf`` for none.
    tau : float, seconds
        Time constant of the input filter at precision 1.
    logit_weight : float
        Weight of the log precision in the item logits (>= 0; default 1).
    log_precision : tuple of float
        Prior log precision of each item (nats; default all 0). Learnable in the layer.
    unit_temperature : float
        Evidence temperature of the unit level (the readout unit's precision weights).
    unit_gain, unit_base : float, hertz
        Unit rate ``unit_base + unit_gain * sum_k w_k values_k``.
    unit_tau : float or None, seconds
        Time constant of the low-pass through which the unit level's weights read the
        evidence (``unit_tau du_k/dt = x_k - u_k``; the precision sets the weight, not
        the speed); None: ``tau``. The circuit's unit errors read each item's evidence
        through their ``tau_unit_err`` membrane (and ``tau_ue`` afferent synapses, none
        by default); the bridge maps ``tau_ue + tau_unit_err`` here.
    variance_pool : float
        Strength ``w`` in [0, 1] of the normalisation of the expected variances (default
        0: none). With ``lambda_k = log_precision[k] + precision_scale * b_k`` and ``S =
        mean_k exp(-lambda_k)`` (the items' mean expected variance), every item's log
        precision is ``lambda_k + w loop_log(S, pool_gain)``, about ``lambda_k + w log S``
        (:func:`loop_log`: the steady state of the circuit's pools ``Z{k}``, whose closed
        loop computes the log). ``w = 1`` holds the mean expected variance near its
        resting value (a cue moves variance between items); 0 holds the mean log
        precision (a cue moves log precision). The shift is common to all items, so every
        ratio ``pi_k / pi_j`` (and every weight of the unit level) is the same with or
        without it.
    pool_gain : float
        The pools' loop gain ``g`` (>= 0; default :data:`POOL_GAIN`, 2.125; the circuit's
        ``pool_gain``): ``loop_log`` is ``log S`` to first order and for ``g -> inf``,
        ``S - 1`` (a linear pool) at 0.

    Examples
    --------
    >>> from neuroattn.mechanisms.precision import PrecisionParams
    >>> p = PrecisionParams(k=2, temperature=1.0, precision_scale=1.0, rate=80.0)
    >>> p.shares([0.0, 0.0], [0.6931, -0.6931]).round(3).tolist()   # pi ratio 4: 0.8/0.2
    [0.8, 0.2]
    >>> p.estimate([0.0, 0.0], [0.6931, -0.6931], values=[1.0, 0.0]).round(3).tolist()
    0.8
    """

    k: int
    temperature: float
    precision_scale: float
    rate: float
    null_logit: float = -math.inf
    tau: float = 10e-3
    logit_weight: float = 1.0
    log_precision: tuple | None = None
    unit_temperature: float = 1.0
    unit_gain: float = 0.0
    unit_base: float = 0.0
    unit_tau: float | None = None
    variance_pool: float = 0.0
    pool_gain: float = POOL_GAIN

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "PrecisionParams.rate"))
        object.__setattr__(self, "tau", to_si(self.tau, "s", "PrecisionParams.tau"))
        object.__setattr__(self, "unit_base", to_si(self.unit_base, "Hz",
                                                    "PrecisionParams.unit_base"))
        if self.unit_tau is not None:
            object.__setattr__(self, "unit_tau", to_si(self.unit_tau, "s",
                                                       "PrecisionParams.unit_tau"))
        if self.log_precision is None:
            object.__setattr__(self, "log_precision", (0.0,) * int(self.k))
        lp = tuple(float(v) for v in np.asarray(self.log_precision, dtype=np.float64).ravel())
        object.__setattr__(self, "log_precision", lp)
        if not isinstance(self.null_logit, (int, float)) or math.isnan(self.null_logit) or (
                self.null_logit == math.inf):
            raise ValidationError(f"PrecisionParams.null_logit: expected a finite number or "
                                  f"-inf (got {self.null_logit!r})")

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "PrecisionParams.k", minimum=1)
        check_positive(float(self.temperature), "1", "PrecisionParams.temperature")
        check_positive(float(self.unit_temperature), "1", "PrecisionParams.unit_temperature")
        check_positive(float(self.precision_scale), "1", "PrecisionParams.precision_scale",
                       allow_zero=True)
        check_positive(float(self.logit_weight), "1", "PrecisionParams.logit_weight",
                       allow_zero=True)
        check_positive(self.rate, "Hz", "PrecisionParams.rate")
        check_positive(self.tau, "s", "PrecisionParams.tau")
        if self.unit_tau is not None:
            check_positive(self.unit_tau, "s", "PrecisionParams.unit_tau")
        w = self.variance_pool
        if not (isinstance(w, (int, float)) and 0.0 <= w <= 1.0):
            raise ValidationError(f"PrecisionParams.variance_pool: expected a strength in "
                                  f"[0, 1] (got {w!r})")
        g = self.pool_gain
        if not (isinstance(g, (int, float)) and math.isfinite(g) and g >= 0):
            raise ValidationError(f"PrecisionParams.pool_gain: expected a finite loop gain "
                                  f">= 0 (got {g!r})")
        if len(self.log_precision) != self.k or not all(map(math.isfinite,
                                                            self.log_precision)):
            raise ValidationError(f"PrecisionParams.log_precision: expected {self.k} finite "
                                  f"log precisions, one per item (got {self.log_precision!r})")

    def log_pi(self, b) -> np.ndarray:
        """Log precision ``lambda + variance_pool loop_log(mean_k exp(-lambda_k), pool_gain)``,
        ``lambda = log_precision + precision_scale * b`` [..., K]."""
        lam = np.asarray(self.log_precision) + self.precision_scale * np.asarray(
            b, dtype=np.float64)
        return lam + pool_shift(lam, self.variance_pool, self.pool_gain)

    def logits(self, x, b=None, unit: bool = False) -> np.ndarray:
        """Item logits ``logit_weight log pi + x / temperature`` [..., K]; with ``unit``
        the unit level's ``log pi + x / unit_temperature``."""
        x = np.asarray(x, dtype=np.float64)
        b = np.zeros_like(x) if b is None else np.asarray(b, dtype=np.float64)
        if unit:
            return self.log_pi(b) + x / self.unit_temperature
        return self.logit_weight * self.log_pi(b) + x / self.temperature

    def weights(self, x, b=None) -> np.ndarray:
        """Item weights with the null competitor (its weight left out) [..., K]."""
        z = self.logits(x, b)
        null = np.full(z.shape[:-1] + (1,), self.null_logit)
        z = np.concatenate([z, null], axis=-1)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=-1, keepdims=True))[..., :-1]

    def estimate(self, x, b, values) -> np.ndarray:
        """The unit level's precision-weighted estimate ``softmax(log pi) . values`` [...]."""
        z = self.logits(x, b, unit=True)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return (e * np.asarray(values, dtype=np.float64)).sum(-1) / e.sum(-1)

    def shares(self, x, b=None) -> np.ndarray:
        """Share of each item among the K items: ``softmax(z)``."""
        z = self.logits(x, b)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
