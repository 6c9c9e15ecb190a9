"""The attention variants of the ML harness, one ``nn.Module`` each, chosen by name.

Every variant maps ``x [B, N, E] -> [B, N, E]`` (self-attention, batch first) and has
``cost(x) -> Cost``: the arithmetic operations of one forward pass on ``x`` counted
with :mod:`neuroattn.attention.ops` (spikes counted from the spikes the pass produces,
not assumed), plus the neuron-state updates and spikes that the memory-aware energy
estimate and the spike rate need.

=========  ====================================================================
name       attention
=========  ====================================================================
torch      ``torch.nn.MultiheadAttention`` (the baseline)
softmax    neuroattn's :class:`~neuroattn.attention.MultiheadAttention` (torch
           SDPA while training; the fused numba kernel in CPU inference, triton
           on CUDA)
local      the same layer with ``window`` (query i sees keys ``|i - j| <= w``)
hard       one key per query, sampled from the softmax weights; trained with the
           straight-through estimator, run with :func:`~neuroattn.attention.hard_attention`
spiking    :class:`~neuroattn.attention.SpikingSelfAttention` on spikes of an
           snnTorch ``Leaky`` encoder, T time steps, fast-sigmoid surrogate gradients
bridge     biased competition's :class:`SoftmaxCompetition` as the attention weights;
           :meth:`CompetitionAttention.to_spiking` swaps in its spiking circuit
=========  ====================================================================
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from neuroattn.attention.ops import OpCount, linear_ops, softmax_attention_ops
from neuroattn.exceptions import ValidationError

__all__ = ["VARIANTS", "Cost", "make_attention", "TorchAttention", "SoftmaxAttention",
           "LocalAttention", "HardAttention", "SpikingAttention", "CompetitionAttention",
           "visible_pairs"]

#: the attention variants by name, in the order tables list them
VARIANTS = ("torch", "softmax", "local", "hard", "spiking", "bridge")


@dataclass(frozen=True)
class Cost:
    """Operations and spikes of a forward pass (sums over the samples it saw).

    Attributes
    ----------
    macs, acs, exps : int
        As in :class:`~neuroattn.attention.OpCount`.
    neuron_updates : int
        Updates of a spiking neuron's state (one per neuron per time step).
    spikes : int
        Spikes emitted by the attention's neurons.
    neuron_steps : int
        Neurons x time steps that could have spiked (the spike rate's denominator).
    """

    macs: int = 0
    acs: int = 0
    exps: int = 0
    neuron_updates: int = 0
    spikes: int = 0
    neuron_steps: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @classmethod
    def of(cls, ops: OpCount, **extra) -> "Cost":
        """A Cost holding ``ops`` (and any of the spiking fields)."""
        return cls(ops.macs, ops.acs, ops.exps, **extra)

    @property
    def ops(self) -> OpCount:
        """The arithmetic part, as an OpCount (its ``energy_pj`` is the 45 nm figure)."""
        return OpCount(self.macs, self.acs, self.exps)


def visible_pairs(n: int, window: int | None) -> int:
    """(query, key) pairs of an n-token self-attention that ``window`` leaves visible.

    ``sum_i (min(n - 1, i + w) - max(0, i - w) + 1)``; ``n^2`` without a window.

    Examples
    --------
    >>> visible_pairs(4, 1), visible_pairs(4, None)
    (10, 16)
    """
    if window is None:
        return n * n
    return sum(min(n - 1, i + window) - max(0, i - window) + 1 for i in range(n))


def _split(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, e = x.shape
    return x.reshape(b, n, heads, e // heads).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def _projection_ops(rows: int, e: int) -> OpCount:
    """q, k, v and output projections of ``rows`` real-valued tokens: ``4 rows E^2`` MACs."""
    return linear_ops(rows, e, 3 * e) + linear_ops(rows, e, e)


class _Projected(nn.Module):
    """Attention with torch's packed input projection and an output projection."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj = nn.Linear(embed_dim, 3 * embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _qkv(self, x):
        return (_split(t, self.num_heads) for t in self.in_proj(x).chunk(3, dim=-1))

    def reseed(self, seed: int) -> None:
        """Restart the layer's sampling stream at ``seed`` (stochastic layers only)."""


class TorchAttention(nn.Module):
    """``torch.nn.MultiheadAttention`` (batch first), the baseline."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.mha = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]

    def cost(self, x) -> Cost:
        """``4 B N E^2`` projection MACs; attention ``softmax_attention_ops`` over all pairs."""
        b, n, e = x.shape
        h = self.mha.num_heads
        return Cost.of(_projection_ops(b * n, e)
                       + softmax_attention_ops(n, n, e // h, e // h, batch=b * h))

    def reseed(self, seed: int) -> None:
        """Deterministic layer: nothing to reseed."""


class SoftmaxAttention(TorchAttention):
    """neuroattn's ``MultiheadAttention``: torch's parameter names, neuroattn's kernels.

    While gradients are needed (training) the layer runs torch's SDPA; in inference on
    the CPU the fused numba kernel (``backend='numba'``), on CUDA ``'auto'`` (triton).
    ``window`` makes it the ``local`` variant.
    """

    def __init__(self, embed_dim: int, num_heads: int, window: int | None = None):
        from neuroattn.attention import MultiheadAttention

        nn.Module.__init__(self)
        self.window = window
        self.mha = MultiheadAttention(embed_dim, num_heads, batch_first=True, window=window)

    def forward(self, x):
        fused = not torch.is_grad_enabled() and x.device.type == "cpu"
        self.mha.backend = "numba" if fused else "auto"
        return self.mha(x, x, x, need_weights=False)[0]

    def cost(self, x) -> Cost:
        """As the torch layer, with only the pairs the window leaves visible computed."""
        b, n, e = x.shape
        h = self.mha.num_heads
        return Cost.of(_projection_ops(b * n, e) + softmax_attention_ops(
            n, n, e // h, e // h, batch=b * h, visible=visible_pairs(n, self.window)))


class LocalAttention(SoftmaxAttention):
    """Local attention: :class:`SoftmaxAttention` with a window of ``window`` tokens."""

    def __init__(self, embed_dim: int, num_heads: int, window: int = 8):
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValidationError(f"LocalAttention.window: must be an int >= 1 (got "
                                  f"{window!r})")
        super().__init__(embed_dim, num_heads, window)


class HardAttention(_Projected):
    """Each query takes the value of one key, drawn from its softmax weights.

    Training: the straight-through estimator: the forward pass uses the one-hot sample
    ``s``, the backward pass the gradient of the softmax weights ``p`` (``w = s + p -
    stop_grad(p)``); samples from torch's generator (seeded by the trainer). Inference:
    :func:`neuroattn.attention.hard_attention` (float64 weights, inverse-CDF sampling)
    with a stream restarted by :meth:`reseed`.
    """

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__(embed_dim, num_heads)
        self._seed, self._calls = 0, 0

    def reseed(self, seed: int) -> None:
        """Restart the inference sampling stream: call c draws with seed ``[seed, c]``."""
        self._seed, self._calls = int(seed), 0

    def forward(self, x):
        q, k, v = self._qkv(x)
        if torch.is_grad_enabled():
            p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            idx = torch.multinomial(p.detach().reshape(-1, p.shape[-1]), 1)
            one_hot = torch.zeros_like(p).reshape(-1, p.shape[-1]).scatter_(1, idx, 1.0)
            w = one_hot.reshape(p.shape) + (p - p.detach())
            out = w @ v
        else:
            import numpy as np

            from neuroattn.attention import hard_attention

            rng = np.random.default_rng([self._seed, self._calls])
            self._calls += 1
            out = hard_attention(q, k, v, samples=1, seed=rng).values[0]
        return self.out_proj(_merge(out))

    def cost(self, x) -> Cost:
        """Projections; per pair: ``E/H`` MACs for the logit, one exponential and one AC
        (the CDF's running sum); taking the drawn value is a read, no arithmetic."""
        b, n, e = x.shape
        pairs = b * self.num_heads * n * n
        return Cost.of(_projection_ops(b * n, e)
                       + OpCount(macs=pairs * (e // self.num_heads), acs=pairs, exps=pairs))


class SpikingAttention(nn.Module):
    """Spikformer-style: snnTorch LIF encoder -> SpikingSelfAttention, T time steps.

    The block input (real-valued) is injected as a constant current into an
    ``snntorch.Leaky`` neuron per feature (beta 0.9, threshold 1, reset by
    subtraction, fast-sigmoid surrogate of slope 25) for ``steps`` steps; its spikes
    drive :class:`~neuroattn.attention.SpikingSelfAttention` (LIF q, k, v and attention
    neurons, no softmax), whose outputs are averaged over the steps.
    """

    def __init__(self, embed_dim: int, num_heads: int, steps: int = 4):
        import snntorch as snn
        from snntorch import surrogate

        from neuroattn.attention import SpikingSelfAttention

        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValidationError(f"SpikingAttention.steps: must be an int >= 1 time steps "
                                  f"(got {steps!r})")
        super().__init__()
        self.steps = steps
        self.encoder = snn.Leaky(beta=0.9, threshold=1.0,
                                 spike_grad=surrogate.fast_sigmoid(slope=25))
        self.ssa = SpikingSelfAttention(embed_dim, num_heads)

    def reseed(self, seed: int) -> None:
        """Deterministic layer: nothing to reseed."""

    def encode(self, x) -> torch.Tensor:
        """Spikes ``[T, B, N, E]`` of the encoder for a constant input current x."""
        mem = self.encoder.init_leaky()
        out = []
        for _ in range(self.steps):
            spk, mem = self.encoder(x, mem)
            out.append(spk)
        return torch.stack(out)

    def forward(self, x):
        """The block output ``[B, N, E]``: :meth:`SpikingSelfAttention.forward` on the
        encoder's spikes, averaged over the steps, computed with every step at once.

        The same numbers as ``self.ssa(self.encode(x)).mean(0)`` (tested within float
        rounding), vectorised over time: the q, k and v projections of all T steps are
        one matmul, the q, k and v neurons one LIF update per step, ``Q (K^T V)`` one
        batched float matmul of the binary spikes (exact integer counts, in training
        and in inference), and the output projection is applied once to the mean of the
        attention spikes (it is linear). Only the membrane updates loop over T.
        """
        from neuroattn.attention.layers import _merge as merge_heads
        from neuroattn.attention.layers import _split as split_heads
        from neuroattn.attention.layers import lif_step

        a = self.ssa
        s = self.encode(x)                                                 # [T, B, N, E]
        weight = torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight])
        bias = torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias])
        current = nn.functional.linear(s, weight, bias)                    # [T, B, N, 3E]
        mem, spikes = torch.zeros_like(current[0]), []
        for t in range(self.steps):
            spk, mem = lif_step(current[t], mem, a.beta, a.threshold, a.slope)
            spikes.append(spk)
        q, k, v = (split_heads(t, a.num_heads) for t in torch.stack(spikes).chunk(3, -1))
        att = merge_heads(q @ (k.transpose(-1, -2) @ v)) * a.scale        # [T, B, N, E]
        mem, total = torch.zeros_like(att[0]), 0
        for t in range(self.steps):
            spk, mem = lif_step(att[t], mem, a.beta, a.attn_threshold, a.slope)
            total = total + spk
        return a.out_proj(total / self.steps)

    def cost(self, x) -> Cost:
        """Counted from the spikes: ``SpikingSelfAttention.count_ops`` on the encoder's
        spikes (ACs only) and the spikes of the encoder, q, k, v and attention neurons;
        every one of those 5 E neurons per token updates once per step."""
        with torch.no_grad():
            s = self.encode(x)
            ops = self.ssa.count_ops(s)
            spikes = int(s.sum())
            for step in self.ssa._steps(s):
                spikes += sum(int((t != 0).sum()) for t in step[1:5])
        neurons = 5 * x.numel() * self.steps
        return Cost.of(ops, neuron_updates=neurons, spikes=spikes, neuron_steps=neurons)


class CompetitionAttention(_Projected):
    """Attention whose weights are biased competition's softmax layer; the bridge variant.

    The logits ``u = q k^T / sqrt(E/H)`` of each query are the inputs of a
    :class:`~neuroattn.mechanisms.biased_competition.SoftmaxCompetition` over the
    ``tokens`` keys, whose trainable temperature ``T`` (``log_temperature``) is
    shared by the heads: ``w = softmax(u / T)`` (no null competitor), the module's own
    ``attend`` written for a batch of queries (tested equal to it). After training,
    :meth:`to_spiking` maps the layer's parameters to a spiking circuit with
    :func:`~neuroattn.mechanisms.biased_competition.to_spiking` (an
    :class:`EscapeCircuit` template, whose temperature is exact) and returns a copy
    that runs it for ``steps`` time steps instead of the softmax (see
    :meth:`circuit_weights`).
    """

    def __init__(self, embed_dim: int, num_heads: int, tokens: int):
        from neuroattn.mechanisms.biased_competition import SoftmaxCompetition, SoftmaxParams

        super().__init__(embed_dim, num_heads)
        self.tokens = tokens
        self.competition = SoftmaxCompetition(
            SoftmaxParams(k=tokens, temperature=1.0, rate=100.0), dtype=torch.float32)
        self.circuit, self.steps = None, None
        self._seed, self._calls, self._spikes = 0, 0, 0

    def reseed(self, seed: int) -> None:
        """Restart the circuit's spike stream: call c draws with seed ``1000003 seed + c``."""
        self._seed, self._calls = int(seed), 0

    def softmax_weights(self, u: torch.Tensor) -> torch.Tensor:
        """The competition's weights ``softmax(u / T)`` over the last axis of u."""
        t = torch.exp(self.competition.log_temperature).to(u.dtype)
        return torch.softmax(u / t, dim=-1)

    def circuit_weights(self, u: torch.Tensor) -> torch.Tensor:
        """Spike shares of the circuit over ``steps`` steps for inputs u [..., K].

        The circuit from :meth:`to_spiking` is run as the stochastic winner-take-all it
        is built as (Nessler et al. 2013): competitor k's escape neurons have membrane
        ``v_k = v_rest + r_m (i_bias + input_gain u_k)`` and intensity ``rho0 exp((v_k
        - theta) / delta_u)``; the shared inhibition, common to all, lets one spike
        through per time step, from competitor k with probability proportional to its
        intensity. The weights are the spike counts over the steps divided by
        ``steps``; their mean is the softmax at the circuit's temperature
        ``delta_u / (r_m input_gain)`` (which ``to_spiking`` set to the layer's).
        """
        c, p = self.circuit, self.circuit.exc
        v = p.v_rest + p.r_m * (p.i_bias + c.input_gain * u.double())
        log_rho = math.log(p.rho0) + (v - p.theta) / p.delta_u
        prob = torch.softmax(log_rho, dim=-1).reshape(-1, u.shape[-1])
        gen = torch.Generator(device=u.device)
        gen.manual_seed((self._seed * 1_000_003 + self._calls) % 2**63)
        self._calls += 1
        winners = torch.multinomial(prob, self.steps, replacement=True, generator=gen)
        counts = torch.zeros_like(prob).scatter_add_(1, winners, torch.ones_like(
            winners, dtype=prob.dtype))
        self._spikes = int(counts.sum())
        return (counts / self.steps).reshape(u.shape).to(u.dtype)

    def forward(self, x):
        q, k, v = self._qkv(x)
        u = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        w = self.softmax_weights(u) if self.circuit is None else self.circuit_weights(u)
        return self.out_proj(_merge(w @ v))

    def to_spiking(self, steps: int, template=None) -> "CompetitionAttention":
        """A copy of this layer that runs its spiking circuit for ``steps`` time steps.

        ``template`` (default ``EscapeCircuit(k=tokens)``) goes to biased competition's
        ``to_spiking`` with the layer's current ``SoftmaxParams``; no weight changes.
        """
        from neuroattn.mechanisms.biased_competition import EscapeCircuit, to_spiking

        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValidationError(f"CompetitionAttention.to_spiking.steps: must be an int "
                                  f">= 1 time steps (got {steps!r})")
        template = EscapeCircuit(k=self.tokens) if template is None else template
        layer = copy.deepcopy(self)
        layer.circuit = to_spiking(self.competition.params(), template)
        layer.steps = steps
        return layer

    def cost(self, x) -> Cost:
        """Projections and ``E/H`` MACs per logit; then softmax (``softmax_attention_ops``
        less the logits) or, with the circuit, per spike ``E/H`` ACs (the winner's value
        added to the query's sum) and one neuron update per competitor per step."""
        b, n, e = x.shape
        h, d = self.num_heads, e // self.num_heads
        pairs = b * h * n * n
        ops = _projection_ops(b * n, e)
        if self.circuit is None:
            return Cost.of(ops + softmax_attention_ops(n, n, d, d, batch=b * h))
        with torch.no_grad():
            self.forward(x)
        spikes = self._spikes
        ops = ops + OpCount(macs=pairs * d, acs=spikes * d)
        return Cost.of(ops, neuron_updates=pairs * self.steps, spikes=spikes,
                       neuron_steps=pairs * self.steps)


def make_attention(name: str, embed_dim: int, num_heads: int, tokens: int,
                   window: int = 8, steps: int = 4) -> nn.Module:
    """The attention variant ``name`` (one of :data:`VARIANTS`).

    Parameters
    ----------
    name : str
    embed_dim, num_heads : int
        Width E and heads H.
    tokens : int
        Sequence length N (the bridge's competition has one competitor per key).
    window : int
        The local variant's window (keys ``|i - j| <= window``).
    steps : int
        Time steps of the spiking variant.
    """
    if name not in VARIANTS:
        raise ValidationError(f"attention: must be one of {list(VARIANTS)} (got {name!r})")
    if name == "torch":
        return TorchAttention(embed_dim, num_heads)
    if name == "softmax":
        return SoftmaxAttention(embed_dim, num_heads)
    if name == "local":
        return LocalAttention(embed_dim, num_heads, window)
    if name == "hard":
        return HardAttention(embed_dim, num_heads)
    if name == "spiking":
        return SpikingAttention(embed_dim, num_heads, steps)
    return CompetitionAttention(embed_dim, num_heads, tokens)
