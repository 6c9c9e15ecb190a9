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

import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms._layer import MechanismLayer
from neuroattn.mechanisms.biased_competition.params import SoftmaxParams

__all__ = ["SoftmaxParams", "SoftmaxCompetition"]


class SoftmaxCompetition(MechanismLayer):
    """Differentiable biased competition: rates ``R * a(v)`` of the filtered input ``v``.

    The weights ``a`` are computed by :func:`neuroattn.attention.scaled_dot_product_attention`:
    one query (a 1) per trial and step attends over K + 1 keys, the filtered inputs
    ``v_k / T`` and the null logit ``beta / T``; the values are the one-hot location
    codes (so the output is ``a``) and the null key carries zero value. Without a null
    competitor (``null_logit = -inf``) the null key is masked out (a boolean mask read
    from the ``has_null`` buffer, so the same graph serves both). With ``values``, the
    readout unit is a second attention through the same function: query
    ``unit_sharpness`` over keys ``r_k`` (the location rates), values the unit's
    selectivities (see the module notes).

    The parameters (temperature, rate, null logit, tau, the unit's gain, base,
    subtraction and sharpness) are trainable ``nn.Parameter`` s, stored as logs where
    they must stay positive. The module computes in its own dtype (``dtype``, or
    ``.to(torch.float32)``, ``.double()``, ``.half()``, ``.bfloat16()``): inputs are cast
    to it and the rates come back in it.

    Parameters
    ----------
    params : SoftmaxParams
    values : sequence of float, optional
        Selectivity of the readout unit for each location; adds the 'unit' output.
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention``. None (default): the fused numba
        kernel when no gradient is needed (it computes float16/bfloat16 in float32 and
        rounds the result), torch's SDPA when one is, and torch while
        ``torch.compile``/``torch.export`` traces. A named backend is used as given (a
        gradient-free one under autograd raises BackendUnavailable).
    dtype : torch.dtype
        Floating dtype of the parameters and of the computation. Default float64, not
        torch's default float32: the bridge fits these parameters to spike shares and
        compares backends to 1e-9.
    device : torch.device or str, optional
        Device of the parameters.

    Notes
    -----
    The state dict holds every parameter, the ``has_null`` flag and the ``values``, so
    a module built with or without a null competitor (or other parameters) that loads
    another's state dict computes exactly what the other did. ``null_logit`` stays a
    trainable parameter without a null competitor (masked out: zero gradient), so the
    two kinds share one set of parameters. ``torch.compile(fullgraph=True)`` and
    ``torch.export`` trace the module (the steps of the input filter are unrolled).

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.biased_competition import SoftmaxParams, SoftmaxCompetition
    >>> m = SoftmaxCompetition(SoftmaxParams(k=2, temperature=0.5, rate=60.0, tau=0.01))
    >>> x = torch.zeros(1, 200, 2, dtype=torch.float64); x[:, :, 0] = 1.0
    >>> r = m(x, torch.zeros_like(x), dt=1e-3)
    >>> round(float(r[0, -1, 0].detach()), 1)
    52.8
    >>> m.to(torch.float32)(x, torch.zeros_like(x), dt=1e-3).dtype
    torch.float32
    """

    def __init__(self, params: SoftmaxParams, values=None, attention_backend=None, *,
                 dtype=torch.float64, device=None):
        super().__init__(params, SoftmaxParams, values, attention_backend, dtype, device,
                         "SoftmaxCompetition", "location")
        self.log_temperature = self._parameter(math.log(params.temperature))
        self.log_rate = self._parameter(math.log(params.rate))
        self.null_logit = self._parameter(params.null_logit if math.isfinite(params.null_logit) else 0.0)
        self.log_tau = self._parameter(math.log(params.tau))
        self.unit_gain = self._parameter(params.unit_gain)
        self.unit_base = self._parameter(params.unit_base)
        self.unit_inh = self._parameter(params.unit_inh)
        self.unit_sharpness = self._parameter(params.unit_sharpness)

    def attend(self, u: torch.Tensor) -> torch.Tensor:
        """Attention weights ``a_1..a_K`` [..., K] for inputs ``u`` [..., K].

        Computed by ``scaled_dot_product_attention`` (see the class notes); the null
        slot's weight is left out.
        """
        from neuroattn.attention import scaled_dot_product_attention

        if not isinstance(u, torch.Tensor) or u.dim() < 1 or u.shape[-1] != self.k:
            got = (f"shape {tuple(u.shape)}" if isinstance(u, torch.Tensor)
                   else type(u).__name__)
            raise ValidationError(f"SoftmaxCompetition.attend.u: expected a tensor [..., "
                                  f"{self.k}] (got {got})")
        lead = u.shape[:-1]
        keys = u.reshape(-1, self.k, 1)
        null = self.null_logit.to(u.dtype).expand(keys.shape[0], 1, 1)
        keys = torch.cat([keys, null], 1) / torch.exp(self.log_temperature).to(u.dtype)
        present = torch.cat([torch.ones(self.k, dtype=torch.bool, device=u.device),
                             self.has_null.reshape(1).to(u.device)])
        m = self.k + 1
        v = torch.eye(m, self.k, dtype=u.dtype, device=u.device).expand(keys.shape[0], m, -1)
        q = torch.ones(keys.shape[0], 1, 1, dtype=u.dtype, device=u.device)
        out = scaled_dot_product_attention(q, keys, v, scale=1.0, mask=present[None, None],
                                           backend=self._backend())
        return out.reshape(*lead, -1)

    def weights(self, u: torch.Tensor) -> torch.Tensor:
        """Attention weights [..., K] (the null slot's share is left out)."""
        return self.attend(u)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K (+1 with values)] for inputs and biases [trials, steps, K].

        The filtered input starts at the first step's input and is advanced with the
        exact exponential update for inputs held over each step of ``dt`` s; the
        attention over locations is then computed for every step at once. ``x`` and
        ``b`` are cast to the module's dtype; the rates have it.
        """
        where = "SoftmaxCompetition.forward"
        self._check_forward(where, x, b, dt, allow_bool=True)
        dtype = self.log_rate.dtype
        u = (x.to(dtype) + b.to(dtype))
        alpha = 1.0 - torch.exp(-dt / torch.exp(self.log_tau))
        att = self.attend(self._low_pass(u, alpha))
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
