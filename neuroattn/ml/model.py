"""The harness's model: a small transformer whose attention is chosen by name.

Tokens are embedded (a linear map of each patch, or the sum of a key and a value
embedding), a learned position embedding is added, ``blocks`` pre-norm transformer
blocks follow (``x + attn(LN x)``, then ``x + MLP(LN x)`` with a GELU MLP of width
``mlp``), and a linear head reads the mean of the tokens (patches: global average
pooling, Spikformer's readout) or the last token, the query (pairs). Only the attention
differs from one variant to another.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neuroattn.attention.ops import OpCount, linear_ops
from neuroattn.exceptions import ValidationError
from neuroattn.ml.attention import VARIANTS, Cost, make_attention

__all__ = ["ModelConfig", "Block", "TinyTransformer"]


@dataclass(frozen=True)
class ModelConfig:
    """Size of the model.

    Attributes
    ----------
    embed_dim, num_heads, blocks, mlp : int
        Width E, heads H (dividing E), attention blocks, MLP hidden width.
    window : int
        Window of the local variant (tokens either side).
    steps : int
        Time steps of the spiking variant.
    """

    embed_dim: int = 32
    num_heads: int = 2
    blocks: int = 2
    mlp: int = 64
    window: int = 8
    steps: int = 4

    def validate(self) -> None:
        """Raise ValidationError naming the first bad field."""
        for name in ("embed_dim", "num_heads", "blocks", "mlp", "window", "steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValidationError(f"ModelConfig.{name}: must be an int >= 1 (got {v!r})")
        if self.embed_dim % self.num_heads:
            raise ValidationError(f"ModelConfig.num_heads: must divide embed_dim="
                                  f"{self.embed_dim} (got {self.num_heads})")


class Block(nn.Module):
    """Pre-norm transformer block around an attention variant."""

    def __init__(self, attention: nn.Module, embed_dim: int, mlp: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(embed_dim), nn.LayerNorm(embed_dim)
        self.attn = attention
        self.mlp = nn.Sequential(nn.Linear(embed_dim, mlp), nn.GELU(), nn.Linear(mlp, embed_dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def cost(self, x) -> tuple:
        """(Cost of this block on x, the block's output)."""
        h = self.norm1(x)
        cost = self.attn.cost(h)
        x = x + self.attn(h)
        rows = x.shape[0] * x.shape[1]
        e, m = x.shape[-1], self.mlp[0].out_features
        cost = cost + Cost.of(linear_ops(rows, e, m) + linear_ops(rows, m, e))
        return cost, x + self.mlp(self.norm2(x))


class TinyTransformer(nn.Module):
    """Embedding, ``blocks`` attention blocks of one variant, a linear classifier.

    Parameters
    ----------
    attention : str
        One of :data:`~neuroattn.ml.attention.VARIANTS`.
    kind : str
        ``'patches'`` (inputs ``[B, N, features]`` floats) or ``'pairs'`` (inputs
        ``[B, N, 2]`` key and value ids).
    tokens, features, n_classes : int
        Tokens per input, features per token (patches) or key ids (pairs), classes.
    n_values : int
        Value ids of a pairs task (one more id, ``n_values``, marks "no value").
    config : ModelConfig
    """

    def __init__(self, attention: str, kind: str, tokens: int, features: int,
                 n_classes: int, n_values: int = 0, config: ModelConfig = ModelConfig()):
        if attention not in VARIANTS:
            raise ValidationError(f"attention: must be one of {list(VARIANTS)} (got "
                                  f"{attention!r})")
        if kind not in ("patches", "pairs"):
            raise ValidationError(f"TinyTransformer.kind: must be 'patches' or 'pairs' (got "
                                  f"{kind!r})")
        config.validate()
        super().__init__()
        self.attention, self.kind, self.config = attention, kind, config
        e = config.embed_dim
        self.seq = tokens
        if kind == "patches":
            self.embed = nn.Linear(features, e)
        else:
            self.key_embed = nn.Embedding(features, e)
            self.value_embed = nn.Embedding(n_values + 1, e)
        self.pos = nn.Parameter(torch.randn(1, self.seq, e) * 0.02)
        self.blocks = nn.ModuleList(
            Block(make_attention(attention, e, config.num_heads, self.seq, config.window,
                                 config.steps), e, config.mlp)
            for _ in range(config.blocks))
        self.norm = nn.LayerNorm(e)
        self.head = nn.Linear(e, n_classes)

    def _embed(self, x):
        if self.kind == "patches":
            h = self.embed(x)
        else:
            h = self.key_embed(x[..., 0]) + self.value_embed(x[..., 1])
        return h + self.pos

    def _readout(self, h):
        return self.head(self.norm(h.mean(1) if self.kind == "patches" else h[:, -1]))

    def forward(self, x):
        """Logits ``[B, n_classes]``."""
        h = self._embed(x)
        for block in self.blocks:
            h = block(h)
        return self._readout(h)

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream of every stochastic attention layer."""
        for block in self.blocks:
            block.attn.reseed(seed)

    @torch.no_grad()
    def cost(self, x) -> Cost:
        """Operations of one forward pass on the batch x (all layers).

        Embedding: ``B N features E`` MACs (patches) or ``2 B N E`` ACs (adding the key,
        value and position vectors of a pair token); patches add ``B N E`` ACs for the
        position. Each block: its attention's ``cost`` and ``2 B N E mlp`` MLP MACs.
        Head: ``B E classes`` MACs (patches: ``B N E`` ACs of the mean pool
        first). Layer norms, GELUs and biases are not counted.
        """
        b = x.shape[0]
        e = self.config.embed_dim
        if self.kind == "patches":
            total = Cost.of(linear_ops(b * x.shape[1], x.shape[2], e)
                            + OpCount(acs=b * self.seq * e))
        else:
            total = Cost.of(OpCount(acs=2 * b * self.seq * e))
        h = self._embed(x)
        for block in self.blocks:
            c, h = block.cost(h)
            total = total + c
        pool = OpCount(acs=b * self.seq * e) if self.kind == "patches" else OpCount()
        return total + Cost.of(pool + linear_ops(b, e, self.head.out_features))

    def bridged(self, steps: int, template=None) -> "TinyTransformer":
        """A copy whose bridge attention layers run their spiking circuit (``steps``)."""
        if self.attention != "bridge":
            raise ValidationError(f"TinyTransformer.bridged: only a 'bridge' model has a "
                                  f"spiking circuit to swap in (got {self.attention!r})")
        import copy

        model = copy.deepcopy(self)
        for block in model.blocks:
            block.attn = block.attn.to_spiking(steps, template)
        return model
