"""What every mechanism's softmax layer shares: its argument checks, parameters in the
layer's dtype, the optional readout values, the null-competitor flag, and the choice of
attention backend (imported by the layers only: it needs torch)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from neuroattn.exceptions import ValidationError

__all__ = ["MechanismLayer"]


class MechanismLayer(nn.Module):
    """Base of the mechanisms' softmax layers.

    Checks ``params`` (an instance of ``params_cls``, validated), ``attention_backend``,
    ``dtype`` and ``values`` (``k`` finite numbers, one per ``item``), naming ``where``;
    sets ``k``, ``attention_backend``, the ``has_null`` buffer (``params.null_logit`` is
    finite) and the ``values`` buffer (None without a readout unit).
    """

    def __init__(self, params, params_cls, values, attention_backend, dtype, device,
                 where: str, item: str = "item"):
        from neuroattn.attention.dispatch import check_layer_backend

        if not isinstance(params, params_cls):
            raise ValidationError(f"{where}.params: expected {params_cls.__name__} (got "
                                  f"{type(params).__name__})")
        params.validate()
        check_layer_backend(attention_backend, where)
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValidationError(f"{where}.dtype: must be a floating-point torch.dtype "
                                  f"(got {dtype!r})")
        vals = None
        if values is not None:
            try:
                vals = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                vals = None
            if vals is None or vals.shape != (params.k,) or not np.all(np.isfinite(vals)):
                got = (f"shape {vals.shape}" if vals is not None and vals.shape != (params.k,)
                       else repr(values))
                raise ValidationError(f"{where}.values: expected {params.k} finite values, "
                                      f"one per {item} (got {got})")
        super().__init__()
        self.k = params.k
        self.attention_backend = attention_backend
        self._factory = {"dtype": dtype, "device": device}
        self.register_buffer("has_null", torch.tensor(math.isfinite(params.null_logit),
                                                      device=device))
        if vals is not None:
            self.register_buffer("values", torch.as_tensor(vals).to(**self._factory))
        else:
            self.values = None

    def _parameter(self, value) -> nn.Parameter:
        """A trainable parameter in the layer's dtype and device."""
        return nn.Parameter(torch.tensor(value, **self._factory))

    def _backend(self) -> str:
        from neuroattn.attention.dispatch import layer_backend

        return layer_backend(self, self.attention_backend)

    def _check_forward(self, where: str, x, b, dt, allow_bool: bool = False) -> None:
        """Check a layer's ``forward(x, b, dt)`` arguments: floating-point tensors (or
        bool with ``allow_bool``) of one shape [trials, steps, K] and a finite ``dt`` > 0
        s; ValidationError naming ``where`` and the argument otherwise."""
        for name, t in (("x", x), ("b", b)):
            ok = isinstance(t, torch.Tensor) and (t.dtype.is_floating_point or
                                                  (allow_bool and t.dtype == torch.bool))
            if not ok:
                got = f"dtype {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValidationError(f"{where}.{name}: expected a floating-point "
                                      f"torch.Tensor (got {got})")
        if x.shape != b.shape or x.dim() != 3 or x.shape[-1] != self.k:
            raise ValidationError(f"{where}: expected x and b of shape [trials, steps, "
                                  f"{self.k}] (got {tuple(x.shape)} and {tuple(b.shape)})")
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) \
                or dt <= 0:
            raise ValidationError(f"{where}.dt: must be a finite time step > 0 s (got "
                                  f"{dt!r}); e.g. dt=1e-3")

    @staticmethod
    def _low_pass(u: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """``u`` [trials, steps, ...] filtered along the steps: starts at the first step's
        value and moves a fraction ``alpha`` of the way to each step's input (the exact
        exponential update for inputs held over a step)."""
        f = u[:, 0]
        filtered = []
        for s in range(u.shape[1]):
            f = f + alpha * (u[:, s] - f)
            filtered.append(f)
        return torch.stack(filtered, dim=1)
