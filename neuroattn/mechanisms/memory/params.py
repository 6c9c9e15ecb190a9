"""Parameters of the slot-memory softmax layer, and its numpy reference (no torch).

The layer is the rate reduction of :class:`~neuroattn.mechanisms.memory.MemoryCircuit`.
Each item k has a slow trace ``s_k`` of its own rate (the recurrent synapses) and all
items share one inhibition trace ``h`` of the total rate::

    tau_in  df_k/dt = u_k - f_k                            (the drive through the membrane)
    x_k  = f_k + w_self s_k - w_inh h                      (input units)
    a_k  = exp(x_k / T) / (exp(x_k / T) + exp(beta / T))    (item k against its null)
    r_k  = R a_k                                           (Hz)
    tau     ds_k/dt = r_k - s_k
    tau_inh dh/dt   = sum_j r_j - h

With ``noise`` > 0 and standard normal draws ``z`` the rate of each step is that of a
finite assembly, ``r_k = max(R a_k + noise sqrt(R a_k / dt) z_k, 0)`` (the count noise of
``1 / noise**2`` Poisson neurons), and these rates drive the traces: the fluctuations by
which the circuit's own competition picks the items that survive.

``a_k`` is a softmax attention of item k over two keys, the item's drive and a null
competitor at ``beta`` (the rest state), as in biased competition's layer; the
competition between items is the shared inhibition ``w_inh h``, which every held item
loads. ``u = x + b`` is the task's evidence plus bias (``f = u`` when ``tau_in`` is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["SlotParams"]


@dataclass(frozen=True)
class SlotParams:
    """Parameters of the slot-memory layer (see the module notes).

    Parameters
    ----------
    k : int
        Number of items (slots).
    temperature : float
        Softmax temperature T, input units (> 0).
    rate : float, hertz
        Rate R of an item holding all its weight.
    null_logit : float
        beta: the drive at which an item and its null share the weight equally, input
        units (finite).
    w_self : float, input units per hertz
        Self-excitation of an item per Hz of its slow trace (>= 0).
    w_inh : float, input units per hertz
        Shared inhibition per Hz of the total rate (>= 0).
    tau : float, seconds
        Time constant of the slow (recurrent) trace.
    tau_inh : float, seconds
        Time constant of the inhibition trace.
    noise : float
        Finite-size rate noise (>= 0): the rate of a step with draw ``z`` is ``r + noise
        sqrt(r / dt) z``, the count noise of ``1 / noise**2`` Poisson neurons (0: the
        noise-free layer; the bridge derives it from the assembly's size and measures it
        in calibration).
    tau_in : float, seconds
        Time constant of the input filter (>= 0; 0: none): the drive ``u`` reaches the
        item through a first-order low-pass, as an input current reaches an assembly
        through its neurons' membranes (the bridge sets the membrane time constant).

    Examples
    --------
    >>> from neuroattn.mechanisms.memory import SlotParams
    >>> p = SlotParams(k=2, temperature=0.5, rate=100.0, null_logit=1.0, w_self=0.0,
    ...                w_inh=0.0, tau=0.1, tau_inh=0.01)
    >>> p.weights([1.0, 2.0]).round(3).tolist()
    [0.5, 0.881]
    """

    k: int
    temperature: float
    rate: float
    null_logit: float
    w_self: float
    w_inh: float
    tau: float = 0.1
    tau_inh: float = 0.01
    noise: float = 0.0
    tau_in: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "SlotParams.rate"))
        object.__setattr__(self, "tau", to_si(self.tau, "s", "SlotParams.tau"))
        object.__setattr__(self, "tau_inh", to_si(self.tau_inh, "s", "SlotParams.tau_inh"))
        object.__setattr__(self, "tau_in", to_si(self.tau_in, "s", "SlotParams.tau_in"))

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "SlotParams.k", minimum=1)
        for name, unit in (("temperature", "1"), ("rate", "Hz"), ("tau", "s"),
                           ("tau_inh", "s")):
            check_positive(float(getattr(self, name)), unit, f"SlotParams.{name}")
        for name in ("w_self", "w_inh"):
            check_positive(float(getattr(self, name)), "1/Hz", f"SlotParams.{name}",
                           allow_zero=True)
        check_positive(float(self.noise), "1", "SlotParams.noise", allow_zero=True)
        check_positive(float(self.tau_in), "s", "SlotParams.tau_in", allow_zero=True)
        if not math.isfinite(float(self.null_logit)):
            raise ValidationError(f"SlotParams.null_logit: expected a finite number (got "
                                  f"{self.null_logit!r})")

    def weights(self, x) -> np.ndarray:
        """Each item's weight against its null, ``sigma((x - beta) / T)``, for drives ``x``."""
        z = (np.asarray(x, dtype=np.float64) - self.null_logit) / self.temperature
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def run(self, u, dt: float, z=None) -> np.ndarray:
        """Rates (Hz) [trials, steps, K] for inputs ``u`` [trials, steps, K] (float64).

        The numpy reference of the torch layer: the traces start at rest (0) and are
        advanced with the exact exponential update for rates held over each step. ``z``
        [trials, steps, K]: standard normal draws of the rate noise (None: noise-free).
        """
        self.validate()
        u = np.asarray(u, dtype=np.float64)
        if u.ndim != 3 or u.shape[2] != self.k:
            raise ValidationError(f"SlotParams.run.u: expected shape [trials, steps, {self.k}] "
                                  f"(got {u.shape})")
        if z is not None:
            z = np.asarray(z, dtype=np.float64)
            if z.shape != u.shape:
                raise ValidationError(f"SlotParams.run.z: expected the inputs' shape "
                                      f"{u.shape} (got {z.shape})")
        sq = self.noise / math.sqrt(dt)
        u = self.filtered(u, dt)
        a_s = 1.0 - math.exp(-dt / self.tau)
        a_h = 1.0 - math.exp(-dt / self.tau_inh)
        s = np.zeros((u.shape[0], self.k))
        h = np.zeros((u.shape[0], 1))
        out = np.empty_like(u)
        for t in range(u.shape[1]):
            r = self.rate * self.weights(u[:, t] + self.w_self * s - self.w_inh * h)
            if z is not None and self.noise > 0:
                r = np.maximum(r + sq * np.sqrt(r) * z[:, t], 0.0)
            out[:, t] = r
            s += a_s * (r - s)
            h += a_h * (r.sum(axis=1, keepdims=True) - h)
        return out

    def filtered(self, u, dt: float) -> np.ndarray:
        """Inputs ``u`` [trials, steps, K] through the input filter (exact update for
        inputs held over each step, from 0; ``u`` itself when ``tau_in`` is 0)."""
        u = np.asarray(u, dtype=np.float64)
        if self.tau_in <= 0:
            return u
        a = 1.0 - math.exp(-dt / self.tau_in)
        out = np.empty_like(u)
        f = np.zeros_like(u[:, 0])
        for t in range(u.shape[1]):
            f = f + a * (u[:, t] - f)
            out[:, t] = f
        return out

    def steady(self, u, duration: float = 1.0, dt: float = 1e-3) -> np.ndarray:
        """Rates (Hz) [n, K] of the noise-free layer after ``duration`` s of constant inputs
        ``u`` [n, K] from rest."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        steps = max(int(round(duration / dt)), 1)
        return self.run(np.repeat(u[:, None, :], steps, axis=1), dt)[:, -1]

    def shares(self, u) -> np.ndarray:
        """Each item's share of the total steady rate for constant inputs ``u`` [n, K]."""
        r = self.steady(u)
        total = r.sum(axis=1, keepdims=True)
        return r / np.where(total > 0, total, 1.0)
