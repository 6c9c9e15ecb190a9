"""Attention mechanisms, each at two tiers (spiking and softmax) with a bridge between them.

Every mechanism implements :class:`~neuroattn.mechanisms.base.Mechanism` and is listed
in :data:`MECHANISMS` (name -> instance); study/ and the CLI use nothing else.
"""

from neuroattn.mechanisms.base import (
    MECHANISMS,
    BridgeReport,
    Mechanism,
    SoftmaxAgent,
    SpikingAgent,
    SpikingModel,
    cohen_kappa,
    get_mechanism,
    js_divergence,
    register,
)

#: name -> the mechanism's class, made (and its modules imported) on first use, so that
#: listing the names (``neuroattn --help``) imports none of them
_WHERE = {
    "biased-competition": "neuroattn.mechanisms.biased_competition:BiasedCompetition",
    "precision": "neuroattn.mechanisms.precision.mechanism:Precision",
    "normalization": "neuroattn.mechanisms.normalization.mechanism:Normalization",
    "workspace": "neuroattn.mechanisms.workspace.mechanism:Workspace",
    "working-memory": "neuroattn.mechanisms.memory.mechanism:WorkingMemory",
    "decision-attractor": "neuroattn.mechanisms.biased_competition.decision:DecisionAttractor",
}
for _name, _where in _WHERE.items():
    MECHANISMS.add(_name, _where)
del _name, _where

__all__ = ["MECHANISMS", "BridgeReport", "Mechanism", "SoftmaxAgent", "SpikingAgent",
           "SpikingModel", "cohen_kappa", "get_mechanism", "js_divergence", "register"]
