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
from neuroattn.mechanisms.biased_competition import BiasedCompetition
from neuroattn.mechanisms.biased_competition.decision import DecisionAttractor
from neuroattn.mechanisms.normalization.mechanism import Normalization
from neuroattn.mechanisms.memory.mechanism import WorkingMemory
from neuroattn.mechanisms.precision.mechanism import Precision
from neuroattn.mechanisms.workspace.mechanism import Workspace

register(BiasedCompetition())
register(Precision())
register(Normalization())
register(Workspace())
register(WorkingMemory())
register(DecisionAttractor())

__all__ = ["MECHANISMS", "BridgeReport", "Mechanism", "SoftmaxAgent", "SpikingAgent",
           "SpikingModel", "cohen_kappa", "get_mechanism", "js_divergence", "register"]
