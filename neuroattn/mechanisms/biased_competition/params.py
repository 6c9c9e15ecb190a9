"""Parameters of biased competition's softmax layer (numpy only, so that importing
them does not import torch; :mod:`.softmax` holds the torch module)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["SoftmaxParams"]


@dataclass(frozen=True)
class SoftmaxParams:
    """Parameters of the softmax competition layer.

    Parameters
    ----------
    k : int
        Number of locations.
    temperature : float
        Softmax temperature, in units of the input ``x + b`` (> 0).
    rate : float, hertz
        Rate of a location holding all the weight (R).
    null_logit : float
        Logit of the null competitor (beta), in units of the input; ``-inf`` for none.
    tau : float, seconds
        Time constant of the input filter.
    unit_gain : float, hertz
        Readout unit rate per unit of value in the normalised readout ``sum_k values_k s_k``.
    unit_base : float, hertz
        Readout unit rate for a normalised readout of 0.
    unit_inh : float
        Readout unit rate lost per unit of total location rate (Hz/Hz; default 0).
    unit_sharpness : float, 1/hertz
        Inverse temperature of the readout's normalisation over location rates (>= 0;
        0 gives every location the same share).

    Examples
    --------
    >>> from neuroattn.mechanisms.biased_competition import SoftmaxParams
    >>> SoftmaxParams(k=2, temperature=0.5, rate=60.0).weights([1.0, 0.0]).round(3).tolist()
    [0.881, 0.119]
    """

    k: int
    temperature: float
    rate: float
    null_logit: float = -math.inf
    tau: float = 10e-3
    unit_gain: float = 0.0
    unit_base: float = 0.0
    unit_inh: float = 0.0
    unit_sharpness: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "SoftmaxParams.rate"))
        object.__setattr__(self, "tau", to_si(self.tau, "s", "SoftmaxParams.tau"))
        object.__setattr__(self, "unit_base", to_si(self.unit_base, "Hz",
                                                    "SoftmaxParams.unit_base"))
        if not isinstance(self.null_logit, (int, float)) or math.isnan(self.null_logit) or (
                self.null_logit == math.inf):
            raise ValidationError(f"SoftmaxParams.null_logit: expected a finite number or -inf "
                                  f"(got {self.null_logit!r})")

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "SoftmaxParams.k", minimum=1)
        check_positive(float(self.temperature), "1", "SoftmaxParams.temperature")
        check_positive(self.rate, "Hz", "SoftmaxParams.rate")
        check_positive(self.tau, "s", "SoftmaxParams.tau")
        check_positive(float(self.unit_sharpness), "1/Hz", "SoftmaxParams.unit_sharpness",
                       allow_zero=True)

    def weights(self, u) -> np.ndarray:
        """Attention weights ``a`` (without the null slot) for inputs ``u`` [..., K]."""
        u = np.asarray(u, dtype=np.float64) / self.temperature
        null = np.full(u.shape[:-1] + (1,), self.null_logit / self.temperature)
        z = np.concatenate([u, null], axis=-1)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=-1, keepdims=True))[..., :-1]

    def shares(self, u) -> np.ndarray:
        """Share of each location among the K locations: ``softmax(u / T)``."""
        a = self.weights(u)
        return a / a.sum(axis=-1, keepdims=True)
