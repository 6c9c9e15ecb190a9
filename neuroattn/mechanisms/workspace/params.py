"""Parameters of the global workspace's softmax tier (numpy only: importing them does
not import torch; :mod:`.softmax` holds the torch modules)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["WorkspaceParams"]

_TIMES = ("tau_proc", "tau_slow", "tau_adapt", "tau_lateral", "tau_compete", "tau_block")


@dataclass(frozen=True)
class WorkspaceParams:
    """Parameters of :class:`~neuroattn.mechanisms.workspace.softmax.WorkspaceLayer`.

    Logits are in units of the task's bias (one unit = the current ``bias_gain`` that
    one unit of bias puts on a workspace assembly of the spiking circuit).

    Parameters
    ----------
    k : int
        Number of items.
    temperature : float
        Softmax temperature of the competition for the workspace (> 0). Low: ignition
        all-or-none.
    threshold : float
        Ignition threshold: the logit of the null competitor ("nothing ignites").
    input_gain : float
        Logit per unit of processor activity (the filtered evidence).
    recurrent : float
        Logit an ignited item gives itself through the slow reverberation (the
        all-or-none self-sustaining state).
    lateral : float
        Logit an ignited item takes from every other item (competition, blocking).
    adapt_gain : float
        Logit an item loses per unit of its adaptation above ``adapt_onset`` (ends an
        ignition).
    adapt_onset : float
        Level of the adaptation trace (0-1, a fraction of a full ignition's) at which
        the adaptation is recruited (the adaptation neurons' threshold).
    lateral_onset : float
        Level of an item's inhibition drive (0-1, a fraction of that of a full ignition
        with one competitor, see ``competition``) at which it starts to take logit from
        the others (the inhibitory neurons' threshold; 0: at once).
    lateral_power : float
        Exponent (0-1] of the inhibition's rise above ``lateral_onset``: its drive above
        the onset, as a fraction of the full drive's, to this power (1: linear; about
        0.5: as steeply as a LIF population's rate just above its threshold).
    tau_proc, tau_slow, tau_adapt : float, seconds
        Processor filter (20 ms), slow reverberation (100 ms), adaptation (300 ms).
    tau_lateral : float, seconds
        Time constant of the inhibition trace through which an ignition blocks the
        others (1 ms: at once; the circuit's workspace -> inhibition synapses through
        :func:`~neuroattn.mechanisms.workspace.bridge.to_softmax`).
    competition : float
        Weight, in the drive of an item's inhibition trace, of each other item's
        processor activity (one unit of evidence), relative to the item's own full
        ignition (0: the inhibition follows the ignition alone). The drive is
        ``(q + competition c) / (1 + competition)``, with ``q`` the ignition trace and
        ``c`` the competitors' processor trace; with ``lateral_onset`` above
        ``1 / (1 + competition)`` an ignition alone stays below onset, and an ignited
        item blocks the others only once a competitor has driven its processor for a
        while (the circuit's processor -> inhibition synapses).
    compete_onset : float
        Mean evidence of the competitors (0-1) below which they do not drive the
        inhibition at all (the circuit's competitor pool is silent while the other
        processors rest; 0: at once).
    compete_saturation : float
        Saturation ``h`` (>= 0) of the competitors' drive: with ``x`` the competitors'
        mean evidence above ``compete_onset`` (as a fraction of one unit's), the drive is
        ``x (1 + h) / (1 + h x)`` -- 1 at one unit, at most ``(1 + h) / h`` however many
        or strong the competitors (the circuit's pool, whose refractory period caps its
        rate: a divisive normalisation); 0: linear.
    tau_compete : float, seconds
        Time constant with which the competitors' processors drive the inhibition trace
        (150 ms: the circuit's ``tau_pi``).
    tau_block : float, seconds
        Time constant of the inhibition's action on the other items (1 ms: at once; the
        circuit's ``tau_block``, slow GABA-B-like synapses, outlasts the inhibitory
        neurons' firing).
    rate : float, hertz
        Rate of a fully ignited item.
    no_return : float
        Point of no return (0-1, a fraction of a full ignition) of an item with one unit
        of bias (a target): past it, its reverberation alone -- its bias and
        ``recurrent s_k``, less its inhibition and adaptation, with no input -- holds it
        against the null key, without taking another item's share, as an ignited
        assembly of the circuit sustains itself past the unstable fixed point of its
        loop; below it, it falls back. The hold's key is ``1 + recurrent no_return``
        (0: no hold; an item writes only by winning the competition).
    hold_temperature : float
        Temperature of the hold (> 0; 0: ``temperature``). The hold's key sets where a
        target's reverberation holds itself (its point of no return); its temperature
        sets what the hold writes while the target rests far below that point, i.e. the
        target's resting rate. The bridge derives it from the circuit's resting fixed
        point (:func:`~neuroattn.mechanisms.workspace.bridge.calibrate`): the competition's
        temperature, fitted to the ignitions, leaves a resting target writing several
        times the circuit's resting rate.
    state_mean, state_sd : float, amperes
        The circuit's per-trial state of its blocking interneurons (``state_sd`` 0:
        none), drawn per trial as the circuit draws it (the same values on the same
        trials, :class:`~neuroattn.mechanisms.base.TrialState`).
    state_onset : float, per ampere
        How far the state moves ``lateral_onset`` per ampere: a trial with state ``x``
        has its inhibition recruited at ``lateral_onset - state_onset x`` (held in [0,
        0.95]); the circuit's interneurons need ``x`` less input to fire, and
        ``lateral_onset`` is their threshold over their full input (the bridge's map,
        :func:`~neuroattn.mechanisms.workspace.bridge.to_softmax`).

    Examples
    --------
    >>> from neuroattn.mechanisms.workspace import WorkspaceParams
    >>> p = WorkspaceParams(k=2, temperature=0.2, threshold=1.0, input_gain=1.3,
    ...                     recurrent=6.0, lateral=3.0, adapt_gain=5.0, rate=60.0)
    >>> p.validate()
    """

    k: int
    temperature: float
    threshold: float
    input_gain: float
    recurrent: float
    lateral: float
    adapt_gain: float
    rate: float
    adapt_onset: float = 0.0
    tau_proc: float = 20e-3
    tau_slow: float = 100e-3
    tau_adapt: float = 300e-3
    lateral_onset: float = 0.0
    lateral_power: float = 1.0
    tau_lateral: float = 1e-3
    competition: float = 0.0
    compete_onset: float = 0.0
    compete_saturation: float = 0.0
    tau_compete: float = 150e-3
    tau_block: float = 1e-3
    no_return: float = 0.0
    hold_temperature: float = 0.0
    state_mean: float = 0.0
    state_sd: float = 0.0
    state_onset: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "WorkspaceParams.rate"))
        for name in _TIMES:
            object.__setattr__(self, name, to_si(getattr(self, name), "s",
                                                 f"WorkspaceParams.{name}"))

    def trial_state(self):
        """The circuit's per-trial state (a TrialState, amperes), or None (``state_sd``
        0)."""
        from neuroattn.mechanisms.base import TrialState

        if self.state_sd <= 0:
            return None
        return TrialState("block", float(self.state_mean), float(self.state_sd))

    @property
    def null_logit(self) -> float:
        """The null competitor's logit: the ignition threshold (always present)."""
        return float(self.threshold)

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "WorkspaceParams.k", minimum=1)
        for name in ("temperature", "threshold", "input_gain", "recurrent", "lateral",
                     "adapt_gain", "adapt_onset", "lateral_onset", "competition",
                     "compete_onset", "compete_saturation", "lateral_power", "rate",
                     "no_return", "hold_temperature", "state_mean", "state_sd",
                     "state_onset", *_TIMES):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not \
                    math.isfinite(value):
                raise ValidationError(f"WorkspaceParams.{name}: expected a finite number "
                                      f"(got {value!r})")
        check_positive(float(self.temperature), "1", "WorkspaceParams.temperature")
        check_positive(self.rate, "Hz", "WorkspaceParams.rate")
        for name in ("input_gain", "recurrent", "lateral", "adapt_gain", "competition",
                     "compete_saturation"):
            check_positive(float(getattr(self, name)), "1", f"WorkspaceParams.{name}",
                           allow_zero=True)
        for name in _TIMES:
            check_positive(getattr(self, name), "s", f"WorkspaceParams.{name}")
        check_positive(float(self.hold_temperature), "1", "WorkspaceParams.hold_temperature",
                       allow_zero=True)
        check_positive(float(self.state_sd), "A", "WorkspaceParams.state_sd", allow_zero=True)
        check_positive(float(self.state_onset), "1", "WorkspaceParams.state_onset",
                       allow_zero=True)
        if not 0.0 < self.lateral_power <= 1.0:
            raise ValidationError(f"WorkspaceParams.lateral_power: expected an exponent in "
                                  f"(0, 1] (got {self.lateral_power!r})")
        for name in ("adapt_onset", "lateral_onset", "compete_onset", "no_return"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValidationError(f"WorkspaceParams.{name}: expected a fraction in "
                                      f"[0, 1) (got {getattr(self, name)!r})")
