"""The exceptions neuroattn raises.

Every error the package raises on purpose derives from :class:`NeuroAttnError`, so a
caller can catch everything of ours in one clause and still tell the kinds apart.
"""

__all__ = [
    "NeuroAttnError",
    "ValidationError",
    "BuildError",
    "SimulationError",
    "BackendUnavailable",
]


class NeuroAttnError(Exception):
    """Base class of every error raised by neuroattn."""


class ValidationError(NeuroAttnError, ValueError):
    """A parameter or input has a bad value, shape, type or unit.

    The message names the object and attribute, what was expected, what was received
    and, where it helps, how to fix it.
    """


class BuildError(NeuroAttnError):
    """A valid description could not be turned into a runnable simulation."""


class SimulationError(NeuroAttnError, RuntimeError):
    """A simulation failed while running, e.g. NaN or Inf appeared in a population."""


class BackendUnavailable(NeuroAttnError, ImportError):
    """A backend is unknown, not installed, or cannot run the requested feature."""
