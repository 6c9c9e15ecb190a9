"""``MultiheadAttention``: torch's layer, computed by neuroattn's attention backends.

A drop-in replacement for ``torch.nn.MultiheadAttention``: the same constructor, forward
signature, masks, outputs and parameter names (so state dicts load both ways), with the
attention itself computed by :func:`~neuroattn.attention.scaled_dot_product_attention`
on a chosen backend, and neuroattn's options (temperature, local window, global
tokens). The layer is a thin shell: it holds the projections and turns torch's masks
into the function's one ``attn_mask``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from torch import nn
from torch.nn.modules.linear import NonDynamicallyQuantizableLinear

from neuroattn.attention._validate import check_global_tokens, check_window, tracing
from neuroattn.attention.dispatch import (BACKENDS, attention_weights,
                                          scaled_dot_product_attention)
from neuroattn.attention.ops import OpCount, linear_ops, softmax_attention_ops
from neuroattn.exceptions import ValidationError

__all__ = ["MultiheadAttention"]

_WHERE = "MultiheadAttention"
_CALL = "MultiheadAttention.forward"
# Options that change the output and are not in torch's layer: saved in the state
# dict when they differ from torch's math (see MultiheadAttention's notes).
_OPTION_KEYS = ("window", "global_tokens", "temperature")


def _check_int(value, name: str, where: str = _WHERE, optional: bool = False):
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        none = " or None" if optional else ""
        raise ValidationError(f"{where}.{name}: must be an int >= 1{none} (got {value!r})")
    return int(value)


def _check_bool(value, name: str, where: str = _WHERE) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{where}.{name}: must be True or False (got {value!r})")
    return value


def _check_temperature(value, where: str = _WHERE) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value <= 0:
        raise ValidationError(f"{where}.temperature: must be a finite number > 0 (got "
                              f"{value!r}); 1.0 is torch's softmax")
    return float(value)


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    """[B, N, E] -> [B, H, N, E/H]."""
    b, n, e = x.shape
    return x.reshape(b, n, heads, e // heads).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """[B, H, N, Dh] -> [B, N, H Dh]."""
    b, h, n, dh = x.shape
    return x.transpose(1, 2).reshape(b, n, h * dh)


def _own_forward(module, args):
    """A forward pre-hook that does nothing but keep this layer's forward in use.

    torch's ``TransformerEncoderLayer`` skips ``self_attn.forward`` in inference (eval,
    no gradients) and runs its fused kernel on ``self_attn.in_proj_weight`` instead —
    which would silently drop this layer's backend, temperature and window — unless a
    hook is attached to one of its modules.
    """
    return None


class MultiheadAttention(nn.Module):
    """``torch.nn.MultiheadAttention`` whose attention runs on neuroattn's backends.

    Same constructor, forward, masks, outputs and parameters as torch's layer, plus
    neuroattn's keyword options. With the defaults (``temperature=1``, no window) it
    computes torch's layer: outputs, weights and gradients equal within rounding
    (tested against torch on every backend that runs).

    Parameters
    ----------
    embed_dim : int
        Model width E (of the query, and of the output).
    num_heads : int
        Heads H; must divide E. Each head has width E / H.
    dropout : float
        Probability in [0, 1] of zeroing an attention weight in training (``.train()``);
        none in ``.eval()``.
    bias : bool
        Biases in the input and output projections.
    add_bias_kv : bool
        Append one learned key and value (``bias_k``, ``bias_v``) to every sequence.
    add_zero_attn : bool
        Append one all-zero key and value per head (after ``bias_k``/``bias_v``).
    kdim, vdim : int, optional
        Widths of the key and value inputs (default E). Different from E, the input
        projections are ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``;
        otherwise one ``in_proj_weight`` [3E, E].
    batch_first : bool
        Inputs and output ``[B, L, E]`` (True) or ``[L, B, E]`` (False, torch's default).
    device, dtype
        Of the parameters (torch's factory arguments).
    backend : str, keyword only
        Backend of :func:`~neuroattn.attention.scaled_dot_product_attention` (``'auto'``
        or one of ``BACKENDS``). A gradient-free one works in inference (``no_grad``).
    window : int, optional, keyword only
        Local attention: query i sees key j only if ``|i - j| <= window`` (positions
        along the key sequence, including appended bias/zero keys).
    global_tokens : int or sequence of int, optional, keyword only
        With ``window``: positions that see and are seen by every position.
    temperature : float, keyword only
        Divides the logits ``q k^T / sqrt(E/H)`` (> 0; 1 is torch's layer).

    Notes
    -----
    Per head h: ``softmax(q_h k_h^T / (sqrt(E/H) temperature) + bias) v_h`` with
    ``q = query W_q^T + b_q``, ``k = key W_k^T + b_k``, ``v = value W_v^T + b_v``; the
    heads are concatenated and projected by ``out_proj``.

    *Masks* have torch's meaning. ``key_padding_mask`` ``[B, S]`` (unbatched ``[S]``)
    and ``attn_mask`` ``[L, S]`` or ``[B H, L, S]`` (unbatched ``[H, L, S]``): boolean
    True = the position is **not** allowed (the opposite of
    ``torch.nn.functional.scaled_dot_product_attention``'s boolean mask); float = added
    to the logits. Both may be given, boolean or float, mixed (torch warns on mixed
    types; this layer does not). ``is_causal=True`` applies the causal mask (top-left
    aligned); torch treats it as a hint that ``attn_mask`` is causal and requires the
    mask as well — here the mask may be omitted. A query whose keys are all masked gets
    a zero output and zero weights (torch gives NaN).

    *Weights.* ``need_weights=True`` (torch's default) also returns the softmax weights,
    averaged over heads (``average_attn_weights``) ``[B, L, S]`` or per head
    ``[B, H, L, S]``: they are materialised by torch operations
    (:func:`~neuroattn.attention.attention_weights`) beside the output, which the
    backend computes. With dropout active (training, ``dropout > 0``) the output is
    then ``weights @ v`` of the dropped-out weights, as in torch (one dropout mask for
    both); with ``need_weights=False`` dropout is the backend's (torch). Pass
    ``need_weights=False`` for speed, as torch advises.

    *State dict.* Parameter names are torch's (``in_proj_weight``, ``in_proj_bias``,
    ``q/k/v_proj_weight``, ``bias_k``, ``bias_v``, ``out_proj.weight/bias``), so
    ``load_state_dict`` takes a torch layer's state dict and the reverse. The options
    that change the output and torch's layer lacks are saved too, when they differ from
    torch's math (entries ``window``, ``global_tokens``, ``temperature``): loading
    restores them, and torch's layer refuses such a state dict (unexpected keys)
    rather than compute something else. A state dict without them (torch's, or a plain
    layer's) leaves a layer's own options as they are.

    *Compilation.* ``torch.compile(layer, fullgraph=True)`` and ``torch.export.export``
    trace it (with ``backend='auto'`` or ``'torch'``: while tracing, 'auto' runs torch).

    *Inside torch's transformer layers.* A forward pre-hook makes
    ``TransformerEncoderLayer`` call this layer's forward in inference too (its fused
    fast path would bypass it). ``TransformerEncoder`` in inference with a padding mask
    turns the batch into a nested tensor, which this layer rejects: build it with
    ``enable_nested_tensor=False``.

    Examples
    --------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> ours = MultiheadAttention(16, 4, batch_first=True)
    >>> theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    >>> theirs.load_state_dict(ours.state_dict())
    <All keys matched successfully>
    >>> x = torch.randn(2, 5, 16)
    >>> pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])   # True = padding
    >>> out, w = ours(x, x, x, key_padding_mask=pad)
    >>> out.shape, w.shape
    (torch.Size([2, 5, 16]), torch.Size([2, 5, 5]))
    >>> torch.allclose(out, theirs(x, x, x, key_padding_mask=pad)[0], atol=1e-6)
    True
    >>> local = MultiheadAttention(16, 4, batch_first=True, window=1, temperature=0.5)
    >>> local(x, x, x, need_weights=False)[1] is None
    True
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 bias: bool = True, add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None,
                 batch_first: bool = False, device=None, dtype=None, *,
                 backend: str = "auto", window: int | None = None, global_tokens=None,
                 temperature: float = 1.0):
        embed_dim = _check_int(embed_dim, "embed_dim")
        num_heads = _check_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise ValidationError(f"{_WHERE}.num_heads: must divide embed_dim={embed_dim} "
                                  f"(got {num_heads}); choose e.g. num_heads=1")
        if isinstance(dropout, bool) or not isinstance(dropout, Real) or \
                not 0 <= dropout <= 1:
            raise ValidationError(f"{_WHERE}.dropout: must be a number in [0, 1], the "
                                  f"probability of zeroing an attention weight (got "
                                  f"{dropout!r})")
        for name, value in (("bias", bias), ("add_bias_kv", add_bias_kv),
                            ("add_zero_attn", add_zero_attn), ("batch_first", batch_first)):
            _check_bool(value, name)
        kdim = _check_int(kdim, "kdim", optional=True)
        vdim = _check_int(vdim, "vdim", optional=True)
        if dtype is not None and not (isinstance(dtype, torch.dtype)
                                      and dtype.is_floating_point):
            raise ValidationError(f"{_WHERE}.dtype: must be a floating-point torch.dtype "
                                  f"or None (got {dtype!r})")
        if backend != "auto" and backend not in BACKENDS:
            raise ValidationError(f"{_WHERE}.backend: must be 'auto' or one of "
                                  f"{list(BACKENDS)} (got {backend!r})")
        window = check_window(window, _WHERE)
        global_tokens = check_global_tokens(global_tokens, window, None, _WHERE)
        temperature = _check_temperature(temperature)

        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        self.backend, self.window = backend, window
        self.global_tokens, self.temperature = global_tokens, temperature
        # Parameters in torch's order and with torch's initialisation: the same seed
        # gives the same weights as torch.nn.MultiheadAttention.
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(torch.empty((3 * embed_dim, embed_dim),
                                                           **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = nn.Parameter(torch.empty((embed_dim, embed_dim), **factory))
            self.k_proj_weight = nn.Parameter(torch.empty((embed_dim, self.kdim), **factory))
            self.v_proj_weight = nn.Parameter(torch.empty((embed_dim, self.vdim), **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        **factory)
        if add_bias_kv:
            self.bias_k = nn.Parameter(torch.empty((1, 1, embed_dim), **factory))
            self.bias_v = nn.Parameter(torch.empty((1, 1, embed_dim), **factory))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()
        self.register_forward_pre_hook(_own_forward)

    def _reset_parameters(self) -> None:
        """torch's initialisation: Xavier-uniform projections, zero biases."""
        if self._qkv_same_embed_dim:
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn.init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            nn.init.constant_(self.in_proj_bias, 0.0)
            nn.init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            nn.init.xavier_normal_(self.bias_k)
            nn.init.xavier_normal_(self.bias_v)

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention, **options) -> "MultiheadAttention":
        """A layer configured as ``mha`` with its weights (plus neuroattn ``options``).

        Examples
        --------
        >>> mha = torch.nn.MultiheadAttention(8, 2, kdim=6, vdim=4)
        >>> MultiheadAttention.from_torch(mha, temperature=0.5).k_proj_weight.shape
        torch.Size([8, 6])
        """
        if not isinstance(mha, nn.MultiheadAttention):
            raise ValidationError(f"{_WHERE}.from_torch.mha: must be a "
                                  f"torch.nn.MultiheadAttention (got {type(mha).__name__})")
        weight = mha.out_proj.weight
        layer = cls(mha.embed_dim, mha.num_heads, dropout=mha.dropout,
                    bias=mha.in_proj_bias is not None, add_bias_kv=mha.bias_k is not None,
                    add_zero_attn=mha.add_zero_attn, kdim=mha.kdim, vdim=mha.vdim,
                    batch_first=mha.batch_first, device=weight.device, dtype=weight.dtype,
                    **options)
        layer.load_state_dict(mha.state_dict())
        return layer

    def extra_repr(self) -> str:
        options = [f"embed_dim={self.embed_dim}", f"num_heads={self.num_heads}"]
        for name, default in (("kdim", self.embed_dim), ("vdim", self.embed_dim),
                              ("dropout", 0.0), ("batch_first", False),
                              ("add_zero_attn", False), ("backend", "auto"),
                              ("window", None), ("global_tokens", ()),
                              ("temperature", 1.0)):
            if getattr(self, name) != default:
                options.append(f"{name}={getattr(self, name)!r}")
        return ", ".join(options)

    # --- state dict: the options that change the output --------------------------

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self.window is None and self.temperature == 1.0:
            return  # torch's math: the state dict is torch's
        if self.window is not None:
            destination[prefix + "window"] = torch.tensor(self.window)
            destination[prefix + "global_tokens"] = torch.tensor(self.global_tokens,
                                                                 dtype=torch.int64)
        destination[prefix + "temperature"] = torch.tensor(self.temperature,
                                                           dtype=torch.float64)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        saved = {name: state_dict.pop(prefix + name) for name in _OPTION_KEYS
                 if prefix + name in state_dict}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)
        if not saved:
            return
        where = f"{_WHERE}.load_state_dict"
        try:
            window = None if "window" not in saved else check_window(
                int(saved["window"]), where)
            tokens = check_global_tokens([int(g) for g in saved["global_tokens"].reshape(-1)]
                                         if window is not None and "global_tokens" in saved
                                         else None, window, None, where)
            temperature = _check_temperature(float(saved.get("temperature", 1.0)), where)
        except (ValidationError, TypeError, ValueError, RuntimeError) as exc:
            error_msgs.append(f"bad neuroattn options {sorted(saved)}: {exc}")
            return
        self.window, self.global_tokens, self.temperature = window, tokens, temperature

    # --- forward ------------------------------------------------------------------

    def _check_call(self, query, key, value, key_padding_mask, attn_mask, need_weights,
                    average_attn_weights, is_causal) -> bool:
        """Validate a forward call (torch's shape rules); return True if batched."""
        layout = "[B, L, E]" if self.batch_first else "[L, B, E]"
        weight = self.out_proj.weight
        for name, x, width in (("query", query, self.embed_dim), ("key", key, self.kdim),
                               ("value", value, self.vdim)):
            if not isinstance(x, torch.Tensor):
                raise ValidationError(f"{_CALL}.{name}: must be a torch.Tensor (got "
                                      f"{type(x).__name__})")
            if x.is_nested:
                raise ValidationError(f"{_CALL}.{name}: nested tensors are not supported "
                                      f"(torch.nn.TransformerEncoder makes them from padded "
                                      f"batches in inference: build it with "
                                      f"enable_nested_tensor=False)")
            if x.dim() not in (2, 3) or x.dim() != query.dim():
                raise ValidationError(f"{_CALL}.{name}: query, key and value must all be "
                                      f"3-D (batched, {layout}) or all 2-D (unbatched, "
                                      f"[L, E]) (got {name}.shape={tuple(x.shape)}, "
                                      f"query.shape={tuple(query.shape)})")
            if x.shape[-1] != width:
                dim = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[name]
                raise ValidationError(f"{_CALL}.{name}: last dimension must be {dim}="
                                      f"{width} (got shape {tuple(x.shape)})")
            if x.dtype != weight.dtype or x.device != weight.device:
                raise ValidationError(f"{_CALL}.{name}: must have the layer's dtype and "
                                      f"device ({weight.dtype}, {weight.device}) (got "
                                      f"{x.dtype}, {x.device}); cast the input or move the "
                                      f"layer with .to(...)")
        batched = query.dim() == 3
        seq, batch = (1, 0) if self.batch_first else (0, 1)
        if not batched:
            seq = 0
        if batched and not (query.shape[batch] == key.shape[batch] == value.shape[batch]):
            raise ValidationError(f"{_CALL}: query, key and value must have one batch size "
                                  f"({layout}) (got shapes {tuple(query.shape)}, "
                                  f"{tuple(key.shape)}, {tuple(value.shape)})")
        if key.shape[seq] != value.shape[seq]:
            raise ValidationError(f"{_CALL}.value: must have as many positions as key "
                                  f"(S={key.shape[seq]}) (got shape {tuple(value.shape)})")
        n_batch = query.shape[batch] if batched else None
        n, s = query.shape[seq], key.shape[seq]
        h = self.num_heads
        shapes = {"key_padding_mask": [(n_batch, s)] if batched else [(s,)],
                  "attn_mask": [(n, s), (n_batch * h, n, s)] if batched else
                  [(n, s), (h, n, s)]}
        for name, mask in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if mask is None:
                continue
            if not isinstance(mask, torch.Tensor):
                raise ValidationError(f"{_CALL}.{name}: must be a torch.Tensor or None (got "
                                      f"{type(mask).__name__})")
            if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
                raise ValidationError(f"{_CALL}.{name}: must be boolean (True = not "
                                      f"allowed) or floating point (added to the logits) "
                                      f"(got dtype {mask.dtype})")
            if tuple(mask.shape) not in shapes[name]:
                raise ValidationError(f"{_CALL}.{name}: must have shape "
                                      f"{' or '.join(map(str, shapes[name]))} (got "
                                      f"{tuple(mask.shape)})")
            if mask.device != weight.device:
                raise ValidationError(f"{_CALL}.{name}: must be on the layer's device "
                                      f"{weight.device} (got {mask.device})")
            if mask.dtype != torch.bool and not tracing() and \
                    not bool(torch.isfinite(mask.detach().clamp(min=0).amax())):
                raise ValidationError(f"{_CALL}.{name}: contains NaN or +inf; a float mask "
                                      f"is added to the logits: use finite values, or -inf "
                                      f"to hide a position")
        for name, flag in (("need_weights", need_weights),
                           ("average_attn_weights", average_attn_weights),
                           ("is_causal", is_causal)):
            _check_bool(flag, name, _CALL)
        return batched

    def _in_projection(self, query, key, value):
        """q, k, v projections (torch's packing: one product for self-attention)."""
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if not self._qkv_same_embed_dim:
            return (nn.functional.linear(query, self.q_proj_weight, bq),
                    nn.functional.linear(key, self.k_proj_weight, bk),
                    nn.functional.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if key is value and query is key:
            return nn.functional.linear(query, w, b).chunk(3, dim=-1)
        if key is value:
            kv = nn.functional.linear(key, w[e:], None if b is None else b[e:])
            return (nn.functional.linear(query, w[:e], bq), *kv.chunk(2, dim=-1))
        wq, wk, wv = w.chunk(3)
        return (nn.functional.linear(query, wq, bq), nn.functional.linear(key, wk, bk),
                nn.functional.linear(value, wv, bv))

    def _merged_mask(self, key_padding_mask, attn_mask, batch: int, n: int, extra: int,
                     dtype) -> torch.Tensor | None:
        """torch's two masks (True / -inf = not allowed) as one attn_mask of
        :func:`scaled_dot_product_attention` ([B|1, H|1, L|1, S]: boolean True = take
        part, or float added), with ``extra`` allowed keys appended (bias_k, zero attn)."""
        parts = []
        if attn_mask is not None:
            if attn_mask.dim() == 2:
                parts.append(attn_mask[None, None])
            else:
                parts.append(attn_mask.reshape(batch, self.num_heads, n, attn_mask.shape[-1]))
        if key_padding_mask is not None:
            parts.append(key_padding_mask.reshape(batch, 1, 1, key_padding_mask.shape[-1]))
        if not parts:
            return None
        if all(p.dtype == torch.bool for p in parts):
            blocked = parts[0] if len(parts) == 1 else parts[0] | parts[1]
            merged = ~blocked
        else:
            floats = [p.to(dtype) if p.dtype != torch.bool else
                      torch.zeros(p.shape, dtype=dtype, device=p.device).masked_fill(
                          p, float("-inf")) for p in parts]
            merged = floats[0] if len(floats) == 1 else floats[0] + floats[1]
        if extra:
            fill = merged.new_ones if merged.dtype == torch.bool else merged.new_zeros
            merged = torch.cat([merged, fill(merged.shape[:-1] + (extra,))], dim=-1)
        return merged

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        """Attend from ``query`` to ``key``/``value``; torch's signature and meaning.

        Parameters
        ----------
        query : torch.Tensor, [B, L, E] (batch_first) or [L, B, E]; unbatched [L, E]
        key : torch.Tensor, [B, S, kdim] or [S, B, kdim]; unbatched [S, kdim]
        value : torch.Tensor, [B, S, vdim] or [S, B, vdim]; unbatched [S, vdim]
        key_padding_mask : torch.Tensor, [B, S] (unbatched [S]), optional
            Boolean: True = padding, ignored. Float: added to the logits.
        need_weights : bool
            Also return the attention weights (materialised; see the class notes).
        attn_mask : torch.Tensor, [L, S] or [B H, L, S] (unbatched [H, L, S]), optional
            Boolean: True = not allowed. Float: added to the logits.
        average_attn_weights : bool
            Weights averaged over the heads (True) or per head.
        is_causal : bool
            Apply the causal mask (query i sees keys j <= i).

        Returns
        -------
        attn_output : torch.Tensor
            The query's layout and length, width E.
        attn_weights : torch.Tensor or None
            ``[B, L, S]`` (averaged) or ``[B, H, L, S]``; unbatched without B; None
            unless ``need_weights``. S counts appended bias/zero keys.

        Raises
        ------
        ValidationError
            Wrong types, shapes, dtypes or devices of the inputs or masks, a float mask
            with NaN or +inf (each message names the argument).
        """
        batched = self._check_call(query, key, value, key_padding_mask, attn_mask,
                                   need_weights, average_attn_weights, is_causal)
        q, k, v = self._in_projection(query, key, value)
        if not batched:
            q, k, v = (x.unsqueeze(0) for x in (q, k, v))
        elif not self.batch_first:
            q, k, v = (x.transpose(0, 1) for x in (q, k, v))
        batch, n = q.shape[0], q.shape[1]
        extra = 0
        if self.bias_k is not None:
            k = torch.cat([k, self.bias_k.expand(batch, 1, self.embed_dim)], dim=1)
            v = torch.cat([v, self.bias_v.expand(batch, 1, self.embed_dim)], dim=1)
            extra += 1
        q, k, v = (_split(x, self.num_heads) for x in (q, k, v))
        if self.add_zero_attn:
            zeros = k.new_zeros(batch, self.num_heads, 1, self.head_dim)
            k, v = torch.cat([k, zeros], dim=2), torch.cat([v, zeros], dim=2)
            extra += 1
        mask = self._merged_mask(key_padding_mask, attn_mask, batch, n, extra, q.dtype)
        options = {"temperature": self.temperature, "window": self.window,
                   "global_tokens": self.global_tokens or None}
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            weights = attention_weights(q, k, mask, is_causal, **options)
            if dropout_p > 0:
                weights = nn.functional.dropout(weights, dropout_p)
                out = torch.matmul(weights, v)
            else:
                out = scaled_dot_product_attention(q, k, v, mask, is_causal=is_causal,
                                                   backend=self.backend, **options)
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        else:
            out = scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal,
                                               backend=self.backend, **options)
        out = self.out_proj(_merge(out))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def count_ops(self, n: int, m: int | None = None, batch: int = 1) -> OpCount:
        """Operations of one forward pass on ``batch`` sequences of n queries, m keys.

        Projections: q and output ``n E^2`` MACs each, k ``m kdim E``, v ``m vdim E``;
        attention over ``m'`` keys (m plus one per appended bias/zero key): ``H n m'
        2 (E/H)`` MACs, ``H n m'`` ACs and exponentials; all times ``batch`` (all pairs
        counted, masks ignored).

        Examples
        --------
        >>> MultiheadAttention(8, 2).count_ops(3)
        OpCount(macs=912, acs=18, exps=18)
        """
        m = n if m is None else m
        for name, value in (("n", n), ("m", m), ("batch", batch)):
            _check_int(value, name, f"{_WHERE}.count_ops")
        e, h = self.embed_dim, self.num_heads
        keys = m + (self.bias_k is not None) + self.add_zero_attn
        proj = (linear_ops(batch * n, e, e) + linear_ops(batch * m, self.kdim, e)
                + linear_ops(batch * m, self.vdim, e) + linear_ops(batch * n, e, e))
        return proj + softmax_attention_ops(n, keys, e // h, e // h, batch=batch * h)
