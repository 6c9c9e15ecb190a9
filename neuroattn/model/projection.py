"""A projection: synapses from one population onto another, and how they are drawn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si, to_si_array

__all__ = ["AllToAll", "OneToOne", "FixedProbability", "FixedIndegree", "Explicit", "Projection"]


@dataclass(frozen=True)
class AllToAll:
    """Every source neuron onto every target neuron (autapses kept unless excluded)."""

    autapses: bool = True


@dataclass(frozen=True)
class OneToOne:
    """Source i onto target i; needs equal sizes."""


@dataclass(frozen=True)
class FixedProbability:
    """Each (source, target) pair connected with probability ``p``, drawn with ``seed``."""

    p: float
    seed: int = 0
    autapses: bool = False


@dataclass(frozen=True)
class FixedIndegree:
    """Each target neuron gets exactly ``k`` distinct sources, drawn with ``seed``."""

    k: int
    seed: int = 0
    autapses: bool = False


@dataclass(frozen=True)
class Explicit:
    """Connections given as index arrays ``pre`` and ``post`` (same length)."""

    pre: tuple
    post: tuple


Rule = AllToAll | OneToOne | FixedProbability | FixedIndegree | Explicit


@dataclass(frozen=True)
class Projection:
    """Exponential current synapses from ``source`` onto ``target``.

    Each presynaptic spike adds ``sign * weight`` (A) to the target's synaptic current
    for this projection, ``delay`` seconds later; the current decays with ``tau_syn``.

    Parameters
    ----------
    source, target : str
        Population names.
    weight : float or ndarray [n_source, n_target], amperes
        Magnitude of the current jump per spike (>= 0). A matrix gives one weight per
        pair (used with ``AllToAll``; zero entries are kept as synapses).
    rule : AllToAll, OneToOne, FixedProbability, FixedIndegree or Explicit
        Connectivity (default ``AllToAll()``).
    tau_syn : float, seconds
        Decay time constant of the synaptic current (default 5 ms).
    delay : float, seconds
        Transmission delay, rounded to whole steps by the backends (default 0).
    sign : {'exc', 'inh'}
        Excitatory (+) or inhibitory (-).
    receptor : str or None
        None (default): a current synapse as above. A receptor name of the target's
        ``ConductanceLIFParams`` (``'ampa'``, ``'nmda'``, ``'gaba'``): a conductance
        synapse; ``weight`` is then in siemens (each spike adds it to the target's
        conductance, or for a saturating receptor weighs the source's gating ``s``),
        ``tau_syn`` is unused (the receptor has its own), ``sign`` must stay 'exc' (the
        receptor's reversal potential sets the sign) and ``delay`` must be 0.

    Examples
    --------
    >>> from neuroattn.model import Projection, FixedProbability
    >>> Projection("exc", "inh", 20e-12, FixedProbability(0.1, seed=3)).sign
    'exc'
    """

    source: str
    target: str
    weight: float | np.ndarray
    rule: Rule = AllToAll()
    tau_syn: float = 5e-3
    delay: float = 0.0
    sign: str = "exc"
    receptor: str | None = None

    def __post_init__(self):
        where = f"Projection({self.source!r}->{self.target!r})"
        unit = "A" if self.receptor is None else "S"
        if np.ndim(self.weight) == 0:
            object.__setattr__(self, "weight", to_si(self.weight, unit, f"{where}.weight"))
        else:
            arr = to_si_array(self.weight, unit, f"{where}.weight")
            arr.setflags(write=False)
            object.__setattr__(self, "weight", arr)
        object.__setattr__(self, "tau_syn", to_si(self.tau_syn, "s", f"{where}.tau_syn"))
        object.__setattr__(self, "delay", to_si(self.delay, "s", f"{where}.delay"))

    @property
    def name(self) -> str:
        """``'source->target'``."""
        return f"{self.source}->{self.target}"

    def validate(self, n_source: int, n_target: int) -> None:
        """Check every attribute against the population sizes."""
        where = f"Projection({self.name!r})"
        check_positive(self.tau_syn, "s", f"{where}.tau_syn")
        check_positive(self.delay, "s", f"{where}.delay", allow_zero=True)
        if self.sign not in ("exc", "inh"):
            raise ValidationError(f"{where}.sign: expected 'exc' or 'inh' (got {self.sign!r})")
        if self.receptor is not None:
            if not isinstance(self.receptor, str):
                raise ValidationError(f"{where}.receptor: expected a receptor name such as "
                                      f"'ampa' or None (got {self.receptor!r})")
            if self.sign != "exc":
                raise ValidationError(f"{where}.sign: a conductance synapse (receptor="
                                      f"{self.receptor!r}) takes its sign from the receptor's "
                                      f"reversal potential; leave sign='exc' (got {self.sign!r})")
            if self.delay != 0:
                raise ValidationError(f"{where}.delay: conductance synapses (receptor="
                                      f"{self.receptor!r}) take no delay in this version "
                                      f"(got {self.delay:g} s)")
        w = np.asarray(self.weight)
        if np.any(w < 0):
            if self.receptor is None:
                raise ValidationError(f"{where}.weight: must be >= 0 A; the sign comes from "
                                      f"sign='exc'/'inh' (got min {w.min():g} A)")
            raise ValidationError(f"{where}.weight: must be >= 0 S; the sign comes from the "
                                  f"receptor's reversal potential (got min {w.min():g} S)")
        if w.ndim not in (0, 2) or (w.ndim == 2 and w.shape != (n_source, n_target)):
            raise ValidationError(f"{where}.weight: expected a scalar or shape "
                                  f"({n_source}, {n_target}) (got shape {w.shape})")
        if w.ndim == 2 and not isinstance(self.rule, AllToAll):
            raise ValidationError(f"{where}.weight: a weight matrix needs rule=AllToAll() "
                                  f"(got {type(self.rule).__name__})")
        rule = self.rule
        if isinstance(rule, OneToOne) and n_source != n_target:
            raise ValidationError(f"{where}.rule: OneToOne needs equal sizes "
                                  f"(got {n_source} and {n_target})")
        if isinstance(rule, FixedProbability) and not 0.0 <= float(rule.p) <= 1.0:
            raise ValidationError(f"{where}.rule.p: expected a probability in [0, 1] "
                                  f"(got {rule.p})")
        if isinstance(rule, FixedIndegree):
            k = check_int(rule.k, f"{where}.rule.k", minimum=0)
            avail = n_source - (0 if rule.autapses or self.source != self.target else 1)
            if k > avail:
                raise ValidationError(f"{where}.rule.k: at most {avail} distinct sources "
                                      f"available (got {k})")
        if isinstance(rule, Explicit):
            pre, post = np.asarray(rule.pre), np.asarray(rule.post)
            if pre.shape != post.shape or pre.ndim != 1:
                raise ValidationError(f"{where}.rule: pre and post must be 1-D and of equal "
                                      f"length (got shapes {pre.shape} and {post.shape})")
            if pre.size and (pre.min() < 0 or pre.max() >= n_source or post.min() < 0
                             or post.max() >= n_target):
                raise ValidationError(f"{where}.rule: indices out of range for sizes "
                                      f"({n_source}, {n_target})")
        if not isinstance(rule, (AllToAll, OneToOne, FixedProbability, FixedIndegree, Explicit)):
            raise ValidationError(f"{where}.rule: expected AllToAll, OneToOne, FixedProbability, "
                                  f"FixedIndegree or Explicit (got {type(rule).__name__})")

    def connections(self, n_source: int, n_target: int):
        """Resolve the rule: ``(pre, post, w)`` with ``w`` signed, in amperes.

        Deterministic: the same projection always yields the same arrays, sorted by
        ``pre`` then ``post``.
        """
        rule = self.rule
        same = self.source == self.target
        if isinstance(rule, AllToAll):
            pre, post = np.meshgrid(np.arange(n_source), np.arange(n_target), indexing="ij")
            pre, post = pre.ravel(), post.ravel()
            if same and not rule.autapses:
                keep = pre != post
                pre, post = pre[keep], post[keep]
        elif isinstance(rule, OneToOne):
            pre = post = np.arange(n_source)
        elif isinstance(rule, FixedProbability):
            rng = np.random.default_rng(rule.seed)
            mask = rng.random((n_source, n_target)) < rule.p
            if same and not rule.autapses:
                np.fill_diagonal(mask, False)
            pre, post = np.nonzero(mask)
        elif isinstance(rule, FixedIndegree):
            rng = np.random.default_rng(rule.seed)
            pres, posts = [], []
            for j in range(n_target):
                pool = np.arange(n_source)
                if same and not rule.autapses:
                    pool = pool[pool != j]
                pres.append(np.sort(rng.choice(pool, size=rule.k, replace=False)))
                posts.append(np.full(rule.k, j))
            pre = np.concatenate(pres) if pres else np.zeros(0, int)
            post = np.concatenate(posts) if posts else np.zeros(0, int)
        else:
            pre, post = np.asarray(rule.pre, dtype=np.int64), np.asarray(rule.post, dtype=np.int64)
        pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
        w = np.asarray(self.weight, dtype=np.float64)
        w = w[pre, post] if w.ndim == 2 else np.full(pre.size, float(w))
        if self.sign == "inh":
            w = -w
        return pre, post, w
