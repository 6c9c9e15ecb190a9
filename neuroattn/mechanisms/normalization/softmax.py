"""The normalization model of attention as a differentiable torch layer.

Divisive normalization is the family softmax belongs to: softmax divides each
exponentiated drive by the pooled sum of all of them, ``exp(z_k) / sum_j exp(z_j)``;
the normalization model divides each attention-weighted stimulus drive by a weighted
pool of them plus a constant, ``A E / (K_S * (A E) + sigma)``. Written with logits
``z_y = log(A_y E_y)`` the two are the same computation: unit x attends over every
unit y with the logit ``z_y + log K_S(x, y)`` (the suppressive field is an additive
bias on the logits) and over one null key of logit ``log sigma``; its softmax weight
on its own key is ``K_S(x, x) A_x E_x / (S_x + sigma)``, i.e. ``K_S(x, x) R_x``. So the
layer computes R through :func:`neuroattn.attention.scaled_dot_product_attention`:
queries are the 0-deg units, keys every unit (positions x orientations) and the null,
the key vectors carry ``log(A E)``, ``attn_mask`` carries ``log K_S``, and the values
pick each query's own key, scaled by ``1 / K_S(x, x)``.

Inputs are low-pass filtered (time constant ``tau``) before the normalisation::

    tau dv/dt = x - v,   tau dc/dt = b - c
    r_x = rate * R_x(v, c) + baseline
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms._layer import MechanismLayer
from neuroattn.mechanisms.normalization.params import NormalizationParams

__all__ = ["NormalizationLayer"]

#: floor of A E before its log (well below any sigma the layer is given)
_TINY = 1e-300


class NormalizationLayer(MechanismLayer):
    """Reynolds & Heeger's (2009) normalization model: rates of the 0-deg units.

    Parameters
    ----------
    params : NormalizationParams
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention``; None: numba without gradients,
        torch with them.
    dtype : torch.dtype
        Floating dtype of the parameters and the computation (default float64).

    Notes
    -----
    Trainable: ``log_sigma``, ``log_rate``, ``baseline``, ``attention_gain`` (``apeak -
    abase``) and ``log_tau``. The kernels (widths, grid) are buffers.

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.normalization import NormalizationParams, NormalizationLayer
    >>> p = NormalizationParams(k=9, sigma=1e-3)
    >>> layer = NormalizationLayer(p)
    >>> x = torch.zeros(1, 40, 9, dtype=torch.float64)
    >>> x[:, :, 4] = 0.5
    >>> r = layer(x, torch.zeros_like(x), dt=1e-3)
    >>> bool(abs(r[0, -1, 4] - p.responses(x[0, -1].numpy(), [0.0] * 9)[4]) < 1e-6)
    True
    """

    def __init__(self, params: NormalizationParams, attention_backend=None, *,
                 dtype=torch.float64, device=None):
        super().__init__(params, NormalizationParams, None, attention_backend, dtype, device,
                         "NormalizationLayer", "position")
        self.n_orientations = params.n_orientations
        self.preferred = params.preferred
        self._fixed = params
        kern = params.kernels()
        f = self._factory
        self.register_buffer("ex", torch.as_tensor(kern["ex"]).to(**f))
        self.register_buffer("etheta", torch.as_tensor(kern["etheta"]).to(**f))
        # log suppressive field between each 0-deg query x and each key (y, j)
        pool = kern["ix"][:, :, None] * kern["itheta"][self.preferred][None, None, :]
        self.register_buffer("log_pool", torch.as_tensor(
            np.log(pool.reshape(params.k, -1))).to(**f))
        own = np.zeros((params.k * params.n_orientations, params.k))
        for x in range(params.k):
            own[x * params.n_orientations + self.preferred, x] = 1.0 / pool[x, x, self.preferred]
        self.register_buffer("own", torch.as_tensor(own).to(**f))
        self.abase = float(params.abase)
        self.log_sigma = self._parameter(math.log(params.sigma))
        self.log_rate = self._parameter(math.log(params.rate))
        self.baseline = self._parameter(float(params.baseline))
        self.attention_gain = self._parameter(float(params.apeak - params.abase))
        self.log_tau = self._parameter(math.log(params.tau))

    def drive(self, v: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Attention-weighted stimulus drive ``A E`` [..., K, M] of contrasts ``v`` and
        attention bias ``c`` [..., K]; the gain ``A`` is rectified at 0 (a bias below
        ``-abase / (apeak - abase)`` silences the unit)."""
        a = (self.abase + self.attention_gain.to(v.dtype) * c).clamp_min(0.0)
        e = torch.einsum("xy,...y->...x", self.ex, v).clamp_min(0.0)
        return (a * e)[..., None] * self.etheta

    def normalize(self, ae: torch.Tensor) -> torch.Tensor:
        """Normalised responses R [..., K] of the 0-deg units for drives ``A E`` [..., K, M],
        computed as attention (see the module docstring)."""
        from neuroattn.attention import scaled_dot_product_attention

        lead = ae.shape[:-2]
        k, m = self.k, self.n_orientations
        # the smallest drive the dtype holds (a float64 floor underflows in float32)
        tiny = max(_TINY, torch.finfo(ae.dtype).tiny)
        logits = torch.log(ae.clamp_min(tiny)).reshape(-1, k * m, 1)
        n = logits.shape[0]
        keys = torch.cat([logits, self.log_sigma.to(ae.dtype).expand(n, 1, 1)], dim=1)
        bias = torch.cat([self.log_pool, torch.zeros(k, 1, dtype=ae.dtype,
                                                     device=ae.device)], dim=1)
        values = torch.cat([self.own, torch.zeros(1, k, dtype=ae.dtype, device=ae.device)])
        q = torch.ones(n, k, 1, dtype=ae.dtype, device=ae.device)
        out = scaled_dot_product_attention(q, keys, values.expand(n, -1, -1),
                                           attn_mask=bias, scale=1.0, backend=self._backend())
        return torch.diagonal(out, dim1=-2, dim2=-1).reshape(*lead, k)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K] for contrasts and attention bias [trials, steps, K].

        The stimulus drive is rectified at 0 (see :mod:`.params`)."""
        where = "NormalizationLayer.forward"
        self._check_forward(where, x, b, dt)
        tracing = torch.compiler.is_compiling() or torch.compiler.is_exporting()
        for name, t in (("x", x), ("b", b)):
            if not tracing and not bool(torch.isfinite(t).all()):  # eager only: a graph
                # cannot branch on data
                raise ValidationError(f"{where}.{name}: expected finite values (got NaN or "
                                      f"Inf)")
        dtype = self.log_rate.dtype
        u = torch.cat([x.to(dtype), b.to(dtype)], dim=-1)
        alpha = 1.0 - torch.exp(-dt / torch.exp(self.log_tau))
        f = self._low_pass(u, alpha)
        v, c = f[..., : self.k], f[..., self.k:]
        r = self.normalize(self.drive(v, c))
        return torch.exp(self.log_rate) * r + self.baseline

    def params(self) -> NormalizationParams:
        """The current parameters as a NormalizationParams."""
        def val(t):
            return float(t.detach().item())

        return NormalizationParams(
            k=self.k, spacing=self._fixed.spacing, n_orientations=self.n_orientations,
            ex_width=self._fixed.ex_width, etheta_width=self._fixed.etheta_width,
            ix_width=self._fixed.ix_width, itheta_width=self._fixed.itheta_width,
            apeak=self.abase + val(self.attention_gain), abase=self.abase,
            sigma=math.exp(val(self.log_sigma)), rate=math.exp(val(self.log_rate)),
            baseline=val(self.baseline), tau=math.exp(val(self.log_tau)))
