"""The softmax tier of biased competition: a differentiable torch module.

The input is low-pass filtered, as a membrane filters its input current, and the rates
follow the normalised competition of the filtered input::

    tau dv_k/dt = u_k - v_k,     r_k = R a_k,     a_k = exp(v_k/T) / (exp(beta/T) + sum_j exp(v_j/T))

with ``u = x + b`` (bottom-up input plus top-down bias, dimensionless). ``beta`` is a
"null" competitor: with no input most of the weight sits on it, so rates stay low, as
they do in the spiking circuit; ``beta = -inf`` gives the plain softmax. An optional
readout unit reads the location rates through a normalisation stage, as the spiking
circuit's share layer does (:meth:`LIFCircuit.network`)::

    s_k    = exp(unit_sharpness r_k) / sum_j exp(unit_sharpness r_j)
    r_unit = unit_base + unit_gain * sum_k values_k s_k - unit_inh * sum_k r_k

``s`` is a second softmax attention, over the location rates (query ``unit_sharpness``,
keys ``r_k``, values the unit's selectivities): the unit's drive is divided by the
pooled activity, so two equal stimuli give it the average of their values and a
stimulus whose rate is ``ln g / unit_sharpness`` higher weighs g times more
(Reynolds & Heeger 2009). ``unit_inh`` is a subtractive term on the total location
rate (0 in fitted parameters unless set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["SoftmaxParams", "SoftmaxCompetition"]


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


class SoftmaxCompetition(nn.Module):
    """Differentiable biased competition: rates ``R * a(v)`` of the filtered input ``v``.

    The weights ``a`` are computed by :func:`neuroattn.attention.scaled_dot_product_attention`:
    one query (a 1) per trial and step attends over K + 1 keys, the filtered inputs
    ``v_k / T`` and the null logit ``beta / T``; the values are the one-hot location
    codes (so the output is ``a``) and the null key carries zero value. With ``values``,
    the readout unit is a second attention through the same function: query
    ``unit_sharpness`` over keys ``r_k`` (the location rates), values the unit's
    selectivities (see the module notes).

    The parameters (temperature, rate, null logit, tau, the unit's gain, base,
    subtraction and sharpness) are
    trainable ``nn.Parameter`` s, stored as logs where they must stay positive; they
    follow the module's dtype (``.to(torch.float32)``, ``.double()``).

    Parameters
    ----------
    params : SoftmaxParams
    values : sequence of float, optional
        Selectivity of the readout unit for each location; adds the 'unit' output.
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention``. None (default): the fused numba
        kernel when no gradient is needed, torch's SDPA when one is. A named backend is
        used as given (a gradient-free one under autograd raises BackendUnavailable).

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.biased_competition import SoftmaxParams, SoftmaxCompetition
    >>> m = SoftmaxCompetition(SoftmaxParams(k=2, temperature=0.5, rate=60.0, tau=0.01))
    >>> x = torch.zeros(1, 200, 2, dtype=torch.float64); x[:, :, 0] = 1.0
    >>> r = m(x, torch.zeros_like(x), dt=1e-3)
    >>> round(float(r[0, -1, 0].detach()), 1)
    52.8
    """

    def __init__(self, params: SoftmaxParams, values=None, attention_backend=None):
        super().__init__()
        params.validate()
        self.k = params.k
        self.attention_backend = attention_backend
        f64 = torch.float64
        self.log_temperature = nn.Parameter(torch.tensor(math.log(params.temperature), dtype=f64))
        self.log_rate = nn.Parameter(torch.tensor(math.log(params.rate), dtype=f64))
        has_null = math.isfinite(params.null_logit)
        self.register_buffer("has_null", torch.tensor(has_null))
        self.null_logit = nn.Parameter(torch.tensor(params.null_logit if has_null else 0.0,
                                                    dtype=f64), requires_grad=has_null)
        self.log_tau = nn.Parameter(torch.tensor(math.log(params.tau), dtype=f64))
        self.unit_gain = nn.Parameter(torch.tensor(params.unit_gain, dtype=f64))
        self.unit_base = nn.Parameter(torch.tensor(params.unit_base, dtype=f64))
        self.unit_inh = nn.Parameter(torch.tensor(params.unit_inh, dtype=f64))
        self.unit_sharpness = nn.Parameter(torch.tensor(params.unit_sharpness, dtype=f64))
        if values is not None:
            vals = torch.as_tensor(np.asarray(values, dtype=np.float64))
            if vals.shape != (self.k,):
                raise ValidationError(f"SoftmaxCompetition.values: expected {self.k} values, one "
                                      f"per location (got shape {tuple(vals.shape)})")
            self.register_buffer("values", vals)
        else:
            self.values = None

    def _backend(self) -> str:
        if self.attention_backend is not None:
            return self.attention_backend
        grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters())
        return "torch" if grad else "numba"

    def attend(self, u: torch.Tensor) -> torch.Tensor:
        """Attention weights ``a_1..a_K`` [..., K] for inputs ``u`` [..., K].

        Computed by ``scaled_dot_product_attention`` (see the class notes); the null
        slot's weight is left out.
        """
        from neuroattn.attention import scaled_dot_product_attention

        lead = u.shape[:-1]
        keys = u.reshape(-1, self.k, 1)
        null = bool(self.has_null)
        if null:
            keys = torch.cat([keys, self.null_logit.to(u.dtype).expand(keys.shape[0], 1, 1)], 1)
        keys = keys / torch.exp(self.log_temperature).to(u.dtype)
        m = keys.shape[1]
        v = torch.eye(m, self.k, dtype=u.dtype, device=u.device).expand(keys.shape[0], m, -1)
        q = torch.ones(keys.shape[0], 1, 1, dtype=u.dtype, device=u.device)
        out = scaled_dot_product_attention(q, keys, v, scale=1.0, backend=self._backend())
        return out.reshape(*lead, -1)

    def weights(self, u: torch.Tensor) -> torch.Tensor:
        """Attention weights [..., K] (the null slot's share is left out)."""
        return self.attend(u)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K (+1 with values)] for inputs and biases [trials, steps, K].

        The filtered input starts at the first step's input and is advanced with the
        exact exponential update for inputs held over each step of ``dt`` s; the
        attention over locations is then computed for every step at once.
        """
        if x.shape != b.shape or x.shape[-1] != self.k or x.dim() != 3:
            raise ValidationError(f"SoftmaxCompetition.forward: expected x and b of shape "
                                  f"[trials, steps, {self.k}] (got {tuple(x.shape)} and "
                                  f"{tuple(b.shape)})")
        dtype = self.log_rate.dtype
        u = (x + b).to(dtype)
        alpha = 1.0 - torch.exp(-dt / torch.exp(self.log_tau))
        v = u[:, 0]
        filtered = []
        for s in range(u.shape[1]):
            v = v + alpha * (u[:, s] - v)
            filtered.append(v)
        att = self.attend(torch.stack(filtered, dim=1))
        rate = torch.exp(self.log_rate)
        rates = rate * att
        if self.values is not None:
            unit = self._unit(rates)
            rates = torch.cat([rates, unit], dim=-1)
        return rates

    def _unit(self, rates: torch.Tensor) -> torch.Tensor:
        """Readout unit rate [..., 1] from location rates [..., K] (see the module notes)."""
        from neuroattn.attention import scaled_dot_product_attention

        lead = rates.shape[:-1]
        keys = rates.reshape(-1, self.k, 1)
        q = self.unit_sharpness.to(rates.dtype).expand(keys.shape[0], 1, 1)
        vals = self.values.to(rates.dtype).reshape(1, self.k, 1).expand(keys.shape[0], -1, -1)
        read = scaled_dot_product_attention(q, keys, vals, scale=1.0, backend=self._backend())
        total = rates.sum(-1, keepdim=True)
        return (self.unit_base + self.unit_gain * read.reshape(*lead, 1)
                - self.unit_inh * total)

    def params(self) -> SoftmaxParams:
        """The current parameters as a SoftmaxParams."""
        def val(t):
            return float(t.detach().item())

        return SoftmaxParams(
            k=self.k, temperature=math.exp(val(self.log_temperature)),
            rate=math.exp(val(self.log_rate)),
            null_logit=val(self.null_logit) if bool(self.has_null) else -math.inf,
            tau=math.exp(val(self.log_tau)), unit_gain=val(self.unit_gain),
            unit_base=val(self.unit_base), unit_inh=val(self.unit_inh),
            unit_sharpness=max(val(self.unit_sharpness), 0.0))
