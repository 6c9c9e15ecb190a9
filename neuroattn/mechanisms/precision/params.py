"""Parameters of the precision-weighting softmax layer (numpy only, so that importing
them does not import torch; :mod:`.softmax` holds the torch module)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["PrecisionParams"]


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
        if len(self.log_precision) != self.k or not all(map(math.isfinite,
                                                            self.log_precision)):
            raise ValidationError(f"PrecisionParams.log_precision: expected {self.k} finite "
                                  f"log precisions, one per item (got {self.log_precision!r})")

    def log_pi(self, b) -> np.ndarray:
        """Log precision ``log_precision + precision_scale * b`` [..., K]."""
        return np.asarray(self.log_precision) + self.precision_scale * np.asarray(
            b, dtype=np.float64)

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
