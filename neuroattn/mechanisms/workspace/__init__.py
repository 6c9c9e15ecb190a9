"""The global neuronal workspace (Dehaene & Changeux) at two tiers.

The spiking tier is a :class:`WorkspaceCircuit` (processors, workspace assemblies that
ignite and block each other, slow adaptation); the softmax tier a
:class:`~neuroattn.mechanisms.workspace.softmax.WorkspaceLayer` (imported lazily: it
needs torch), and :class:`~neuroattn.mechanisms.workspace.softmax.SharedWorkspace`, a
shared-workspace layer for any set of modules (Goyal et al. 2022).
"""

from neuroattn.mechanisms.workspace.circuits import WorkspaceCircuit
from neuroattn.mechanisms.workspace.params import WorkspaceParams

__all__ = ["WorkspaceCircuit", "WorkspaceParams", "SharedWorkspace", "WorkspaceLayer"]


def __getattr__(name):
    if name in ("SharedWorkspace", "WorkspaceLayer"):
        from neuroattn.mechanisms.workspace import softmax

        return getattr(softmax, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
