"""The softmax tier of working memory: a differentiable slot memory (torch).

The dynamics are those of :class:`~neuroattn.mechanisms.memory.SlotParams` (see its
module notes); each step's weights ``a_k`` are computed by
:func:`neuroattn.attention.scaled_dot_product_attention`: one query (a 1) per trial, step
and item attends over two keys, the item's drive ``x_k / T`` and its null ``beta / T``,
with values 1 and 0. ``forward(x, b, dt, noise=None)``: ``noise`` [trials, steps, K],
standard normal draws of the finite-size rate noise (None: the noise-free layer).
"""

from __future__ import annotations

import math

import torch

from neuroattn.mechanisms._layer import MechanismLayer
from neuroattn.mechanisms.memory.params import SlotParams

__all__ = ["SlotMemory"]


class SlotMemory(MechanismLayer):
    """Self-sustaining item traces with shared inhibition, weights through attention.

    Parameters
    ----------
    params : SlotParams
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention`` (None: as the other mechanism layers,
        the fused numba kernel without gradients, torch's SDPA with them).
    dtype : torch.dtype
        Dtype of the parameters and the computation (default float64).
    device : torch.device or str, optional

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.memory import SlotMemory, SlotParams
    >>> p = SlotParams(k=2, temperature=0.5, rate=80.0, null_logit=2.0, w_self=0.08,
    ...                w_inh=0.0, tau=0.1, tau_inh=0.01)
    >>> x = torch.zeros(1, 600, 2, dtype=torch.float64); x[:, 100:200, 0] = 2.0
    >>> r = SlotMemory(p)(x, torch.zeros_like(x), dt=1e-3)
    >>> bool(r[0, -1, 0] > 60.0), bool(r[0, -1, 1] < 5.0)   # item 0 is held, item 1 not
    (True, True)
    """

    def __init__(self, params: SlotParams, attention_backend=None, *, dtype=torch.float64,
                 device=None):
        super().__init__(params, SlotParams, None, attention_backend, dtype, device,
                         "SlotMemory", "item")
        self.log_temperature = self._parameter(math.log(params.temperature))
        self.log_rate = self._parameter(math.log(params.rate))
        self.null_logit = self._parameter(float(params.null_logit))
        self.w_self = self._parameter(float(params.w_self))
        self.w_inh = self._parameter(float(params.w_inh))
        self.log_tau = self._parameter(math.log(params.tau))
        self.log_tau_inh = self._parameter(math.log(params.tau_inh))
        self.noise = self._parameter(float(params.noise))
        # the input filter's time constant is a fixed property (0: no filter)
        self.tau_in = float(params.tau_in)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """Each item's weight against its null [..., K] for drives ``x`` [..., K]."""
        from neuroattn.attention import scaled_dot_product_attention

        lead = x.shape[:-1]
        items = x.reshape(-1, 1)
        null = self.null_logit.to(x.dtype).expand(items.shape[0], 1)
        keys = (torch.cat([items, null], 1) / torch.exp(self.log_temperature)).unsqueeze(-1)
        q = torch.ones(keys.shape[0], 1, 1, dtype=x.dtype, device=x.device)
        v = torch.tensor([[1.0], [0.0]], dtype=x.dtype, device=x.device).expand(
            keys.shape[0], 2, 1)
        out = scaled_dot_product_attention(q, keys, v, scale=1.0, backend=self._backend())
        return out.reshape(*lead, self.k) if lead else out.reshape(self.k)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K] for evidence and bias [trials, steps, K];
        ``noise``: standard normal draws [trials, steps, K] of the rate noise (or None)."""
        from neuroattn.exceptions import ValidationError

        where = "SlotMemory.forward"
        self._check_forward(where, x, b, dt)
        dtype = self.log_rate.dtype
        u = x.to(dtype) + b.to(dtype)
        if noise is not None and (not isinstance(noise, torch.Tensor)
                                  or noise.shape != u.shape):
            got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
            raise ValidationError(f"{where}.noise: expected a tensor of the inputs' shape "
                                  f"{tuple(u.shape)} (got {got})")
        sq = self.noise / math.sqrt(dt)
        a_s = 1.0 - torch.exp(-dt / torch.exp(self.log_tau))
        a_h = 1.0 - torch.exp(-dt / torch.exp(self.log_tau_inh))
        rate = torch.exp(self.log_rate)
        s = torch.zeros(u.shape[0], self.k, dtype=dtype, device=u.device)
        h = torch.zeros(u.shape[0], 1, dtype=dtype, device=u.device)
        a_in = 1.0 - math.exp(-dt / self.tau_in) if self.tau_in > 0 else 1.0
        f = torch.zeros(u.shape[0], self.k, dtype=dtype, device=u.device)
        out = []
        for t in range(u.shape[1]):
            f = f + a_in * (u[:, t] - f) if a_in < 1.0 else u[:, t]
            r = rate * self.attend(f + self.w_self * s - self.w_inh * h)
            if noise is not None:
                r = torch.clamp(r + sq * torch.sqrt(r) * noise[:, t].to(dtype), min=0.0)
            out.append(r)
            s = s + a_s * (r - s)
            h = h + a_h * (r.sum(dim=1, keepdim=True) - h)
        return torch.stack(out, dim=1)

    def params(self) -> SlotParams:
        """The current parameters as a SlotParams."""
        def val(t):
            return float(t.detach().item())

        return SlotParams(k=self.k, temperature=math.exp(val(self.log_temperature)),
                          rate=math.exp(val(self.log_rate)), null_logit=val(self.null_logit),
                          w_self=val(self.w_self), w_inh=val(self.w_inh),
                          tau=math.exp(val(self.log_tau)),
                          tau_inh=math.exp(val(self.log_tau_inh)),
                          noise=max(val(self.noise), 0.0), tau_in=self.tau_in)
