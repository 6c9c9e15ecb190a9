"""The softmax tier of precision weighting: a differentiable torch module.

Inputs are low-pass filtered as a membrane filters its input current; the item
weights are a softmax over log precision plus evidence::

    lambda_k = log_precision[k] + precision_scale * b_k
    log pi_k = lambda_k + w loop_log(mean_j exp(-lambda_j), g)       (w: variance_pool)
    tau dv_k/dt = pi_k (x_k - v_k),   tau dc/dt = b - c
    z_k = logit_weight * log pi_k(c) + v_k / T          (log pi of the filtered cue c)
    r_k = R exp(z_k) / (exp(beta) + sum_j exp(z_j))

The cue's bias ``b`` sets the expected precision ``pi`` (``precision_scale`` nats of
error gain per unit): it speeds the update of the cued item's estimate (predictive
coding's ``d mu / dt = pi eps``) and raises its logit;
``log_precision`` is a learnable prior log precision per item; the variance pool ``w``
(0 by default; the circuit's ``w_pool``) normalises the items' expected variances
``exp(-lambda)``, a shift common to all items, about ``w log`` of their mean
(:func:`~neuroattn.mechanisms.precision.params.loop_log`, the steady state of the
circuit's pool loop of gain ``g``, ``pool_gain``); ``beta`` is a null
competitor (no input, low rates). With ``values`` the readout unit is the
precision-weighted estimate of the items' values, exactly ``softmax(log pi) . mu``,
over the evidence ``u`` as the unit level reads it (through synapses of time constant
``unit_tau``)::

    unit_tau du_k/dt = x_k - u_k
    unit_tau ds_k/dt = (x_k - u_k)**2 - s_k,   var_k = a / 2 * s_k
    w_k    = softmax_k(log_precision + precision_scale * c + u / T_unit
                       - var / (2 T_unit**2))                            (= log pi_k)
    r_unit = unit_base + unit_gain * sum_k w_k values_k

``var_k`` is the layer's estimate of the variance of ``u_k`` (``a = 1 - exp(-dt /
unit_tau)``; for white row noise through the low-pass ``var(u) = a / 2 * E[(x -
u)**2]`` exactly): noisy evidence makes the log precision noisy, and half its variance
is taken off, so that ``exp(log pi)`` averages the noise-free precision (the lognormal
mean). For cues whose noise variance is ``1 / pi`` (cue combination) this also cancels
the second-order compression of the row-by-row softmax toward equal weights
(docs/mechanisms/precision.md). Constant inputs have ``var = 0``; a step of the
evidence by ``d`` reads as a transient variance of at most ``a d**2 / 8``, gone within a
few ``unit_tau`` (0.045 nats of logit at a step of 2 at the defaults).

Both weightings go through :func:`neuroattn.attention.scaled_dot_product_attention`:
one query (a 1) attends over keys that are the logits.
"""

from __future__ import annotations

import math

import torch

from neuroattn.mechanisms._layer import MechanismLayer
from neuroattn.mechanisms.precision.params import PrecisionParams, _loop_solve

__all__ = ["PrecisionAttention"]


class PrecisionAttention(MechanismLayer):
    """Differentiable precision weighting: rates ``R * softmax(log pi + evidence)``.

    Parameters
    ----------
    params : PrecisionParams
    values : sequence of float, optional
        The items' values ``mu_k`` (the readout unit's selectivities); adds the 'unit'
        output, the precision-weighted estimate.
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention``; None: numba without gradients,
        torch with them (and while tracing).
    dtype : torch.dtype
        Floating dtype of the parameters and the computation (default float64).

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.precision import PrecisionParams, PrecisionAttention
    >>> p = PrecisionParams(k=2, temperature=1.0, precision_scale=1.0, rate=80.0,
    ...                     unit_gain=1.0, unit_temperature=1.0)
    >>> m = PrecisionAttention(p, values=[1.0, 0.0])
    >>> x = torch.zeros(1, 50, 2, dtype=torch.float64)
    >>> b = torch.tensor([0.6931, -0.6931], dtype=torch.float64).expand(1, 50, 2)
    >>> round(float(m(x, b, dt=1e-3)[0, -1, 2].detach()), 3)   # pi0/(pi0 + pi1) = 0.8
    0.8
    """

    def __init__(self, params: PrecisionParams, values=None, attention_backend=None, *,
                 dtype=torch.float64, device=None):
        super().__init__(params, PrecisionParams, values, attention_backend, dtype, device,
                         "PrecisionAttention", "item")
        self.log_temperature = self._parameter(math.log(params.temperature))
        self.log_precision = self._parameter(list(params.log_precision))
        self.precision_scale = self._parameter(float(params.precision_scale))
        self.log_rate = self._parameter(math.log(params.rate))
        self.null_logit = self._parameter(params.null_logit if math.isfinite(params.null_logit) else 0.0)
        self.log_tau = self._parameter(math.log(params.tau))
        self.log_unit_tau = self._parameter(math.log(
            params.tau if params.unit_tau is None else params.unit_tau))
        self.logit_weight = self._parameter(float(params.logit_weight))
        self.log_unit_temperature = self._parameter(math.log(params.unit_temperature))
        self.unit_gain = self._parameter(params.unit_gain)
        self.unit_base = self._parameter(params.unit_base)
        self.variance_pool = float(params.variance_pool)
        self.pool_gain = float(params.pool_gain)

    def log_pi(self, b: torch.Tensor) -> torch.Tensor:
        """Log precision [..., K] of the cue ``b`` [..., K]: ``lambda + w loop_log(mean_j
        exp(-lambda_j), g)``, ``lambda = log_precision + precision_scale * b`` (the
        numpy :func:`~neuroattn.mechanisms.precision.params.loop_log`, in torch)."""
        lam = self.log_precision.to(b.dtype) + self.precision_scale.to(b.dtype) * b
        if self.variance_pool == 0:
            return lam
        s = torch.exp(-lam).mean(dim=-1, keepdim=True)
        g = self.pool_gain
        if g == 0:
            return lam + self.variance_pool * (s - 1.0)
        # loop_log's Newton steps in torch: differentiable through the steps
        shift = _loop_solve(torch.log(s), g, torch.exp, torch.full_like(s, math.log(g)))
        return lam + self.variance_pool * shift

    def logits(self, v: torch.Tensor, c: torch.Tensor, unit: bool = False) -> torch.Tensor:
        """Item logits ``logit_weight log pi + v / T`` [..., K]; with ``unit`` the unit
        level's ``log pi + v / T_unit``."""
        log_pi = self.log_pi(c.to(v.dtype))
        if unit:
            return log_pi + v / torch.exp(self.log_unit_temperature).to(v.dtype)
        return self.logit_weight * log_pi + v / torch.exp(self.log_temperature).to(v.dtype)

    def attend(self, z: torch.Tensor, values=None, null: bool = True) -> torch.Tensor:
        """Softmax weights over the logits ``z`` [..., K] (plus the null key when
        ``null``), or, with ``values`` [K], the weighted value [..., 1]."""
        from neuroattn.attention import scaled_dot_product_attention

        lead = z.shape[:-1]
        keys = z.reshape(-1, self.k, 1)
        n = keys.shape[0]
        if null:
            keys = torch.cat([keys, self.null_logit.to(z.dtype).expand(n, 1, 1)], 1)
            present = torch.cat([torch.ones(self.k, dtype=torch.bool, device=z.device),
                                 self.has_null.reshape(1).to(z.device)])
            mask = present[None, None]
        else:
            mask = None
        m = keys.shape[1]
        if values is None:
            v = torch.eye(m, self.k, dtype=z.dtype, device=z.device).expand(n, m, -1)
        else:
            v = values.to(z.dtype).reshape(1, self.k, 1).expand(n, -1, -1)
        q = torch.ones(n, 1, 1, dtype=z.dtype, device=z.device)
        out = scaled_dot_product_attention(q, keys, v, scale=1.0, mask=mask,
                                           backend=self._backend())
        return out.reshape(*lead, -1)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K (+1 with values)] for evidence and bias [trials, steps, K]."""
        where = "PrecisionAttention.forward"
        self._check_forward(where, x, b, dt)
        dtype = self.log_rate.dtype
        u = torch.cat([x.to(dtype), b.to(dtype)], dim=-1)
        # item k's estimate moves at rate pi_k / tau (its error's precision); the cue
        # is filtered at 1 / tau; the unit level reads the evidence at 1 / unit_tau (its
        # errors' afferent synapses: the precision sets their gain, not their speed)
        gain = torch.exp(self.log_pi(b.to(dtype)))
        rate = [gain / torch.exp(self.log_tau), torch.ones_like(gain) / torch.exp(self.log_tau)]
        if self.values is not None:
            u = torch.cat([u, x.to(dtype)], dim=-1)
            rate.append(torch.ones_like(gain) / torch.exp(self.log_unit_tau))
        alpha = 1.0 - torch.exp(-dt * torch.cat(rate, dim=-1))
        unit = slice(2 * self.k, None)      # the unit level's columns (with values)
        f = u[:, 0]
        sq = torch.zeros_like(f[:, unit])
        filtered, squares = [], []
        for s in range(u.shape[1]):
            if self.values is not None:
                # the unit level's squared prediction error (x - u)^2, low-passed like u
                err = u[:, s, unit] - f[:, unit]
                sq = sq + alpha[:, s, unit] * (err * err - sq)
                squares.append(sq)
            f = f + alpha[:, s] * (u[:, s] - f)
            filtered.append(f)
        f = torch.stack(filtered, dim=1)
        v, c = f[..., : self.k], f[..., self.k: 2 * self.k]
        rates = torch.exp(self.log_rate) * self.attend(self.logits(v, c))
        if self.values is not None:
            # log of the mean precision: exp(z) with z ~ N(m, var) averages exp(m + var / 2),
            # so the evidence's variance in the logit, var(u) / T^2, is taken off by half;
            # var(u_k) = alpha / 2 * E[(x_k - u_k)^2] for the low-pass u (white row noise)
            var_u = 0.5 * alpha[..., unit] * torch.stack(squares, dim=1)
            t_unit = torch.exp(self.log_unit_temperature).to(dtype)
            z = self.logits(f[..., unit], c, unit=True) - 0.5 * var_u / t_unit ** 2
            est = self.attend(z, self.values, null=False)
            rates = torch.cat([rates, self.unit_base + self.unit_gain * est], dim=-1)
        return rates

    def params(self) -> PrecisionParams:
        """The current parameters as a PrecisionParams."""
        def val(t):
            return float(t.detach().item())

        return PrecisionParams(
            k=self.k, temperature=math.exp(val(self.log_temperature)),
            precision_scale=max(val(self.precision_scale), 0.0),
            rate=math.exp(val(self.log_rate)),
            null_logit=val(self.null_logit) if bool(self.has_null) else -math.inf,
            tau=math.exp(val(self.log_tau)),
            logit_weight=max(val(self.logit_weight), 0.0),
            log_precision=tuple(self.log_precision.detach().tolist()),
            unit_temperature=math.exp(val(self.log_unit_temperature)),
            unit_gain=val(self.unit_gain), unit_base=val(self.unit_base),
            unit_tau=math.exp(val(self.log_unit_tau)), variance_pool=self.variance_pool,
            pool_gain=self.pool_gain)
