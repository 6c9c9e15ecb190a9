"""Operation counts and energy estimates of attention layers (the 45 nm convention).

Convention (Horowitz, ISSCC 2014, 45 nm CMOS, 32-bit float), as used by the spiking
transformer literature (Spikformer and successors): a multiply-accumulate (MAC) costs
4.6 pJ, an accumulate (AC, an add: what a binary spike triggers at a synapse) 0.9 pJ.

Counted: MACs of real-valued matrix products, ACs of spike-driven products and of the
softmax row sums, and exponentials (reported, not priced). Not counted: comparisons,
the final divisions (N Dv per head), neuron state updates, and — the large caveat —
memory access. Moving operands from SRAM or DRAM costs far more than 0.9 pJ per word
(tens to hundreds of pJ off chip), so these figures compare arithmetic only and are
not a prediction of a chip's power draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["E_MAC_PJ", "E_AC_PJ", "OpCount", "softmax_attention_ops", "linear_ops",
           "spiking_attention_ops"]

#: Energy of one 32-bit float multiply-accumulate at 45 nm (pJ).
E_MAC_PJ = 4.6
#: Energy of one 32-bit float add (accumulate) at 45 nm (pJ).
E_AC_PJ = 0.9


def _count(value, name: str, where: str, minimum: int = 0) -> int:
    """``value`` as an int >= minimum (numpy integers too), or ValidationError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or \
            value < minimum:
        raise ValidationError(f"{where}.{name}: must be an int >= {minimum} (got {value!r})")
    return int(value)


@dataclass(frozen=True)
class OpCount:
    """Arithmetic operations of one forward pass.

    Attributes
    ----------
    macs : int
        Multiply-accumulates.
    acs : int
        Accumulates (additions; synaptic operations of spike-driven products).
    exps : int
        Exponentials (not priced).
    """

    macs: int = 0
    acs: int = 0
    exps: int = 0

    def __post_init__(self):
        for name in ("macs", "acs", "exps"):
            object.__setattr__(self, name, _count(getattr(self, name), name, "OpCount"))

    def __add__(self, other: "OpCount") -> "OpCount":
        return OpCount(self.macs + other.macs, self.acs + other.acs, self.exps + other.exps)

    @property
    def energy_pj(self) -> float:
        """Arithmetic energy (pJ): ``4.6 macs + 0.9 acs`` (45 nm; memory excluded)."""
        return E_MAC_PJ * self.macs + E_AC_PJ * self.acs

    @property
    def energy_j(self) -> float:
        """Arithmetic energy in joules."""
        return self.energy_pj * 1e-12


def softmax_attention_ops(n: int, m: int, d: int, dv: int, batch: int = 1,
                          visible: int | None = None) -> OpCount:
    """Operations of softmax attention over ``batch`` (batch x heads) problems.

    Parameters
    ----------
    n, m, d, dv : int
        Queries, keys, key width, value width.
    batch : int
        Number of independent (batch entry, head) problems.
    visible : int, optional
        Number of (query, key) pairs actually computed per problem (default ``n m``;
        fewer with a causal or local mask in a kernel that skips hidden pairs).

    Returns
    -------
    OpCount
        ``macs = pairs (d + dv)`` (logits and weighted values), ``acs = pairs`` (row
        sums), ``exps = pairs``, all times ``batch``.

    Examples
    --------
    >>> softmax_attention_ops(3, 3, 4, 4, batch=2)
    OpCount(macs=144, acs=18, exps=18)
    """
    where = "softmax_attention_ops"
    n, m, d, dv, batch = (_count(value, name, where, 1) for name, value in
                          (("n", n), ("m", m), ("d", d), ("dv", dv), ("batch", batch)))
    if visible is not None and _count(visible, "visible", where) > n * m:
        raise ValidationError(f"{where}.visible: at most n m = {n * m} pairs per problem "
                              f"(got {visible})")
    pairs = batch * (n * m if visible is None else int(visible))
    return OpCount(macs=pairs * (d + dv), acs=pairs, exps=pairs)


def linear_ops(rows: int, in_features: int, out_features: int,
               input_spikes: int | None = None) -> OpCount:
    """Operations of a dense layer applied to ``rows`` input vectors.

    With real inputs: ``rows in out`` MACs. With binary inputs (``input_spikes`` = the
    number of ones among all inputs): each spike adds one weight column, ``spikes out``
    ACs (biases not counted).

    Examples
    --------
    >>> linear_ops(3, 8, 8)
    OpCount(macs=192, acs=0, exps=0)
    >>> linear_ops(3, 8, 8, input_spikes=5)
    OpCount(macs=0, acs=40, exps=0)
    """
    where = "linear_ops"
    rows = _count(rows, "rows", where)
    in_features = _count(in_features, "in_features", where, 1)
    out_features = _count(out_features, "out_features", where, 1)
    if input_spikes is None:
        return OpCount(macs=rows * in_features * out_features)
    _count(input_spikes, "input_spikes", where)
    return OpCount(acs=int(input_spikes) * out_features)


def _nnz_rows(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch (any dtype, bfloat16 too): count before leaving it
        return x.detach().ne(0).sum(dim=-1).cpu().numpy()
    return (np.asarray(x) != 0).sum(axis=-1)


def spiking_attention_ops(q, k, v) -> OpCount:
    """Synaptic operations of ``Q (K^T V)`` on these binary spike tensors.

    ``K^T V``: each key j adds ``nnz(k_j) nnz(v_j)`` ones; ``Q (K^T V)``: query i adds
    ``nnz(q_i)`` rows of width Dv. All ACs, no MACs, no exponentials.

    Examples
    --------
    >>> q = np.array([[1, 0], [1, 1]]); k = np.array([[1, 1], [0, 1]])
    >>> v = np.array([[1, 0, 1], [0, 0, 1]])
    >>> spiking_attention_ops(q, k, v)      # 2*2 + 1*1 + (1 + 2) * 3
    OpCount(macs=0, acs=14, exps=0)
    """
    for name, x in (("q", q), ("k", k), ("v", v)):
        if np.ndim(x) < 2:
            raise ValidationError(f"spiking_attention_ops.{name}: must be a [..., tokens, "
                                  f"features] array of spikes (got shape {np.shape(x)})")
    if np.shape(k)[-2] != np.shape(v)[-2] or np.shape(q)[-1] != np.shape(k)[-1]:
        raise ValidationError(f"spiking_attention_ops: k and v need one token count and q "
                              f"and k one width (got q {np.shape(q)}, k {np.shape(k)}, v "
                              f"{np.shape(v)})")
    nk, nv, nq = _nnz_rows(k), _nnz_rows(v), _nnz_rows(q)
    nk, nv = np.broadcast_arrays(nk, nv)
    dv = np.shape(v)[-1]
    batch = np.broadcast_shapes(np.shape(q)[:-2], np.shape(k)[:-2], np.shape(v)[:-2])
    kv = np.broadcast_to((nk.astype(np.int64) * nv).sum(axis=-1), batch).sum()
    qa = np.broadcast_to(nq.astype(np.int64).sum(axis=-1), batch).sum() * dv
    return OpCount(acs=int(kv + qa))
