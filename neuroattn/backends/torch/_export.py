"""Export a (trained) SpikingNetworkModule back to a Network description, in SI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.model import AllToAll, Network, Projection

__all__ = ["to_network"]


def to_network(module, name=None) -> Network:
    """The module's Network with its trained quantities replaced by their current values.

    Quantities not in ``module.trainable`` keep their original values exactly (no
    round trip through the module's dtype). A projection whose trained synapses hold
    different weights becomes a weight matrix, which needs ``AllToAll``; weights
    trained to the same value become a scalar.

    Raises
    ------
    ValidationError
        If trained weights went negative, or differ per synapse under another rule.
    """
    net, trained = module.network, module.trainable
    with torch.no_grad():
        vals = {k: module.si(k).cpu().numpy().astype(np.float64)
                for k in ("i_bias", "tau_mem", "v_th", "tau_syn") if k in trained}
        pops = []
        for i, pop in enumerate(net.populations):
            changes = {k: float(v[i]) for k, v in vals.items()
                       if k in ("i_bias", "tau_mem") or (k == "v_th" and pop.params.kind == "lif")}
            pops.append(replace(pop, params=replace(pop.params, **changes)) if changes else pop)
        projs = []
        for j, pr in enumerate(net.projections):
            changes = {"tau_syn": float(vals["tau_syn"][j])} if "tau_syn" in vals else {}
            if "weights" in trained:
                changes["weight"] = _weight(module, j, pr)
            projs.append(replace(pr, **changes) if changes else pr)
    return Network(pops, projs, net.probes, name=net.name if name is None else name)


def _weight(module, j: int, pr: Projection):
    """Scalar or [n_source, n_target] matrix (A) of projection j's trained weights."""
    raw = module.weights[j].detach()
    if raw.numel() == 0:
        return pr.weight
    if bool((raw < 0).any()):
        raise ValidationError(f"SpikingNetworkModule.weights[{j}] ({pr.name}): trained to "
                              f"negative magnitudes (min {float(raw.min()):g} pA); clamp them "
                              "to >= 0 before export, e.g. with torch.clamp_(min=0)")
    w = raw.cpu().numpy().astype(np.float64) * 1e-12
    if np.all(w == w[0]):
        return float(w[0])
    if not isinstance(pr.rule, AllToAll):
        raise ValidationError(f"SpikingNetworkModule.to_network: projection {pr.name!r} has "
                              f"per-synapse weights but rule {type(pr.rule).__name__}; only "
                              "AllToAll takes a weight matrix")
    lay = module.layout
    src, tgt = lay.names.index(pr.source), lay.names.index(pr.target)
    blk = lay.blocks[j]
    matrix = np.zeros((int(lay.sizes[src]), int(lay.sizes[tgt])))
    matrix[blk.rows - lay.offsets[src], blk.cols - lay.offsets[tgt]] = w
    return matrix
