"""Attention mechanisms, each at two tiers (spiking and softmax) with a bridge between them."""

from neuroattn.mechanisms import biased_competition

#: mechanism name (as the CLI spells it) -> module
MECHANISMS = {"biased-competition": biased_competition}

__all__ = ["MECHANISMS", "biased_competition"]
