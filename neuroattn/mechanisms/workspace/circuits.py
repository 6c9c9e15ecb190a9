"""The spiking global workspace: processors, workspace assemblies, ignition and broadcast.

:class:`WorkspaceCircuit` describes, with ``neuroattn.model``, a global neuronal
workspace in the manner of Dehaene, Sergent & Changeux (2003) and Dehaene & Changeux
(2005), built from the engines' noisy LIF populations and exponential current synapses.
For each item (stimulus) k:

* ``P{k}`` -- the processor assembly (early, sensory): noisy LIF neurons driven by the
  item's bottom-up ``evidence``. Its rate is graded with the stimulus.
* ``W{k}`` -- the workspace assembly (late, long-range): noisy LIF neurons excited by
  ``P{k}`` (fast synapses), by themselves through slow recurrent synapses
  (``tau_slow``, 100 ms: the NMDA-like reverberation that makes ignition
  self-sustaining), and by the item's top-down ``bias`` (the task set: which stimuli
  are targets). ``W{k}`` projects back onto ``P{k}`` through slow synapses (top-down
  amplification: the broadcast).
* ``A{k}`` -- a slow, activity-dependent inhibition of ``W{k}`` (recruited through
  synapses of ``tau_adapt``): it stands in for the adaptation and synaptic depression
  that end an ignition after a few hundred ms, which the engines' neuron models lack.

* ``I{k}`` -- an inhibitory population that guards an ignition: it is driven by
  ``W{k}`` (``tau_wi``, 20 ms) and, through slow synapses (``tau_pi``, 125 ms), by a
  competitor pool ``C{k}``, and it inhibits every other workspace assembly through
  slow, GABA-B-like synapses (``tau_block``, 100 ms): the workspace assemblies compete.
* ``C{k}`` -- the competitor pool: driven by the *mean* of every other item's processor
  (each weighs ``w_pc / (k - 1)``), silent while they rest, and nearly saturated -- its
  25 ms refractory period caps its rate near 40 Hz -- by one competitor driven by one
  unit of evidence: it signals that something else is there, and a display of many, or
  of strong, items drives it hardly more than one item does (a divisive normalisation).

  Neither input alone recruits ``I{k}``: an ignited ``W{k}`` (~30-40 Hz) brings its
  neurons to ~50-65 % of their threshold current, a saturated pool to ~70-90 %; a
  competitor in a stream (one of the blink's three items, the pool at ~31 Hz) crosses
  the threshold together with an ignition ~100 ms after it appears. So an ignition
  blocks the others only once a competitor -- in a stream, the item that follows and
  masks it -- has been driving its processor for a while: an item that arrives within
  that time ignites too (it joins the episode: lag-1 sparing); one that arrives later
  is blocked, for as long as the slow inhibition outlasts it; and when nothing follows
  the ignited item (a blank), the inhibition is not recruited before the ignition is
  over, and nothing is blocked (the blank-after-T1 control of the attentional blink).
  In a display of many items at once (search, change detection) the pool is saturated
  before anything ignites, but the inhibition stays silent until one assembly ignites,
  and then blocks the rest (one item at a time).

A tonic current ``drive`` onto every workspace neuron is the neuromodulatory (arousal)
drive that sets excitability. A second, per-trial neuromodulatory state (``state_mean``,
``state_sd``) shifts the excitability of the blocking interneurons ``I{k}`` from one trial
to the next: a current drawn ``N(state_mean, state_sd)`` per trial from the run's seed
and the trial's index, held for the whole trial (a
:class:`~neuroattn.mechanisms.base.TrialState`, added by the mechanism's agent, not by
:meth:`WorkspaceCircuit.spiking_model`, which describes the subject at its resting
state). It makes the end of an ignition's block vary from trial to trial by more than the
neurons' own noise can: on some trials a second target meets a block that is already
over, on others one that is whole (docs/tasks/blink.md).

Ignition is a bifurcation of the loop ``W{k} -> W{k}``: below a critical recurrent
input the assembly decays back to its low state, above it the slow reverberation carries
it to a high, self-sustained state -- all-or-none, whatever the size of the stimulus
that crossed it. While one assembly is ignited, its ``I{k}`` holds every other one far
below its threshold, so a new stimulus, though it drives its processor as strongly as ever,
does not ignite (it is blocked), until ``A{k}`` ends the ignition and the slow
inhibition decays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitParams, SpikingModel
from neuroattn.model import AllToAll, Drive, Network, Population, Probe, Projection
from neuroattn.neurons import LIFParams

__all__ = ["WorkspaceCircuit"]


def _proc_default() -> LIFParams:
    # 8 mV below threshold with 4 mV of noise: a few Hz at rest, graded with input
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=4e-3, i_bias=120e-12)


def _ws_default() -> LIFParams:
    # no bias of its own: the neuromodulatory ``drive`` sets it; the 8 ms refractory
    # period caps the ignited rate near 60-70 Hz
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=8e-3, sigma=3e-3, i_bias=0.0)


def _inh_default() -> LIFParams:
    # no bias and little noise: silent until an ignition of its workspace assembly and
    # a competitor's processor together bring it to threshold, then steeply recruited
    return LIFParams(tau_mem=10e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=1e-3, sigma=1e-3, i_bias=0.0)


def _pool_default() -> LIFParams:
    # silent while the other processors rest; its 25 ms refractory period caps its rate
    # near 40 Hz, so that one competitor nearly saturates it (a divisive pool)
    return LIFParams(tau_mem=10e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=25e-3, sigma=2e-3, i_bias=0.0)


def _adapt_default() -> LIFParams:
    # 20 mV below threshold with little noise: silent until its workspace assembly's
    # slowly filtered rate passes ~8 Hz, then steeply recruited
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=1e-3, i_bias=0.0)


_UNITS = (("input_gain", "A"), ("bias_gain", "A"), ("drive", "A"), ("w_pw", "A"),
          ("w_ww", "A"), ("w_wp", "A"), ("w_wi", "A"), ("w_iw", "A"), ("w_iw_self", "A"),
          ("w_boost", "A"), ("w_wa", "A"), ("w_aw", "A"), ("w_pc", "A"), ("w_pi", "A"),
          ("tau_fast", "s"),
          ("tau_slow", "s"), ("tau_inh", "s"), ("tau_wi", "s"), ("tau_pi", "s"),
          ("tau_block", "s"), ("tau_adapt", "s"), ("bin_width", "s"), ("state_mean", "A"),
          ("state_sd", "A"))
#: The per-trial state's range (A): its mean within +-STATE_MEAN_MAX, its spread at most
#: STATE_SD_MAX (beyond, the interneurons fire on their own or never at all).
STATE_MEAN_MAX = 100e-12
STATE_SD_MAX = 50e-12


@dataclass(frozen=True)
class WorkspaceCircuit(CircuitParams):
    """Processors and a competitive, self-sustaining workspace (see the module notes).

    Parameters
    ----------
    k : int
        Number of items (processors and workspace assemblies), >= 1.
    n_proc, n_ws, n_inh, n_adapt, n_pool : int
        Neurons per processor assembly (40), per workspace assembly (40), per inhibitory
        population (40), per adaptation population (20) and per competitor pool (20).
    proc, ws, inh, adapt, pool : LIFParams
        Neuron parameters of the five kinds of population.
    input_gain : float, amperes per unit of evidence
        Current onto ``P{k}`` per unit of evidence (100 pA: 10 mV).
    bias_gain : float, amperes per unit of bias
        Current onto ``W{k}`` per unit of top-down bias (task set) (45 pA).
    drive : float, amperes
        Neuromodulatory drive: tonic current onto every workspace neuron (62 pA). With
        one unit of bias a workspace assembly then sits just below its ignition
        threshold; above ~70 pA of drive (with that bias) assemblies ignite on their own.
    w_pw : float, amperes
        Processor -> workspace weight (every pair, fast synapses) (9.25 pA: a processor
        at ~35 Hz adds ~65 pA; the masking threshold, the SOA at which half the masked
        targets are seen, then sits at ~50 ms, see docs/mechanisms/workspace.md).
    w_ww : float, amperes
        Workspace recurrent weight within an assembly (slow synapses) (1.25 pA).
    w_wp : float, amperes
        Workspace -> processor top-down weight (slow synapses) (0.25 pA).
    w_wi : float, amperes
        Workspace assembly -> its inhibitory population ``I{k}`` (4 pA through synapses
        of ``tau_wi``: an ignition at ~30-40 Hz gives ~100-130 pA, 50-65 % of the
        inhibitory neurons' threshold current, which it does not reach alone).
    w_pc : float, amperes
        The other items' processors -> the competitor pool ``C{k}``, in all (72 pA; each
        of the ``k - 1`` processors weighs ``w_pc / (k - 1)``, through ``tau_fast``
        synapses): the pool's input is the processors' mean rate times 14.4 pA/Hz, below
        its threshold at rest (~4.5 Hz), ~31 Hz of pool rate with one competitor of two at
        one unit of evidence, ~36 Hz with all, ~39 Hz with all at 2.65 units.
    w_pi : float, amperes
        ``C{k}`` -> ``I{k}`` (1.92 pA through synapses of ``tau_pi``: ~150 pA with one
        competitor in a stream, at most ~190 pA, below the threshold current of 200 pA).
        0: no pool; the ignition alone recruits the inhibition.
    w_iw : float, amperes
        ``I{k}`` -> every other workspace assembly (0.4 pA through synapses of
        ``tau_block``): competition, blocking.
    w_iw_self : float, amperes
        ``I{k}`` -> its own assembly (0: it stabilised graded intermediate states).
    w_boost : float, amperes
        Fast excitation between workspace assemblies (0: off).
    w_wa, w_aw : float, amperes
        Workspace -> adaptation (slow synapses) (1.3 pA) and adaptation -> workspace
        (5 pA).
    tau_fast : float, seconds
        Feedforward (AMPA-like) synaptic time constant (5 ms).
    tau_slow : float, seconds
        Recurrent and top-down (NMDA-like) synaptic time constant (100 ms).
    tau_inh : float, seconds
        GABA-A-like time constant of the inhibition (10 ms).
    tau_wi : float, seconds
        Time constant of the workspace -> inhibition synapses (20 ms).
    tau_pi : float, seconds
        Time constant of the pool -> inhibition synapses (125 ms, NMDA-like): the
        blocking inhibition is recruited ~100 ms after a competitor appears during an
        ignition, the integration window in which a second item can still ignite
        (lag-1 sparing).
    tau_block : float, seconds
        Time constant of the inhibition -> other workspace assemblies synapses (100 ms,
        GABA-B-like): the blocking outlasts the inhibitory neurons' firing.
    tau_adapt : float, seconds
        Time constant with which an ignition recruits its adaptation (300 ms).
    bin_width : float, seconds
        Rate probe bin (5 ms).
    state_mean, state_sd : float, amperes
        The per-trial neuromodulatory state of the blocking interneurons: a current onto
        every ``I{k}`` neuron drawn ``N(state_mean, state_sd)`` per trial (-10 pA, 10 pA;
        mean within +-100 pA, sd in [0, 50] pA). ``state_sd`` 0 turns the state off, its
        mean with it: the circuit of every trial is then the resting one (a constant
        offset of the interneurons is their bias, ``inh.i_bias``, not a state).

    Examples
    --------
    >>> from neuroattn.mechanisms.workspace import WorkspaceCircuit
    >>> [p.name for p in WorkspaceCircuit(k=2).network().populations][:4]
    ['P0', 'P1', 'W0', 'W1']
    """

    k: int = 2
    n_proc: int = 40
    n_ws: int = 40
    n_inh: int = 40
    n_adapt: int = 20
    n_pool: int = 20
    proc: LIFParams = field(default_factory=_proc_default)
    ws: LIFParams = field(default_factory=_ws_default)
    inh: LIFParams = field(default_factory=_inh_default)
    adapt: LIFParams = field(default_factory=_adapt_default)
    pool: LIFParams = field(default_factory=_pool_default)
    input_gain: float = 100e-12
    bias_gain: float = 45e-12
    drive: float = 62e-12
    w_pw: float = 9.25e-12
    w_ww: float = 1.25e-12
    w_wp: float = 0.25e-12
    w_wi: float = 4.0e-12
    w_iw: float = 0.4e-12
    w_iw_self: float = 0.0
    w_boost: float = 0.0
    w_wa: float = 1.3e-12
    w_aw: float = 5e-12
    w_pc: float = 72e-12
    w_pi: float = 1.92e-12
    tau_fast: float = 5e-3
    tau_wi: float = 20e-3
    tau_pi: float = 125e-3
    tau_block: float = 100e-3
    tau_slow: float = 100e-3
    tau_inh: float = 10e-3
    tau_adapt: float = 300e-3
    bin_width: float = 5e-3
    state_mean: float = -10e-12
    state_sd: float = 10e-12

    UNITS = _UNITS
    COUNTS = ("n_proc", "n_ws", "n_inh", "n_adapt", "n_pool")
    POSITIVE = tuple(name for name, unit in _UNITS if unit == "s")
    NONNEGATIVE = tuple(name for name, unit in _UNITS if unit == "A" and name != "state_mean")
    FINITE = ("state_mean",)
    NEURONS = tuple((name, LIFParams) for name in ("proc", "ws", "inh", "adapt", "pool"))

    def _validate_more(self) -> None:
        where = type(self).__name__
        if abs(self.state_mean) > STATE_MEAN_MAX:
            raise ValidationError(f"{where}.state_mean: expected a current within +-"
                                  f"{STATE_MEAN_MAX * 1e12:g} pA (got "
                                  f"{self.state_mean * 1e12:g} pA)")
        if self.state_sd > STATE_SD_MAX:
            raise ValidationError(f"{where}.state_sd: expected a spread in [0, "
                                  f"{STATE_SD_MAX * 1e12:g}] pA (got {self.state_sd * 1e12:g} pA)")

    def trial_state(self):
        """The interneurons' per-trial state (a TrialState, in amperes), or None when
        ``state_sd`` is 0 (off)."""
        from neuroattn.mechanisms.base import TrialState

        if self.state_sd <= 0:
            return None
        return TrialState("block", float(self.state_mean), float(self.state_sd))

    def with_state(self, model: SpikingModel, spec) -> SpikingModel:
        """``model`` (from :meth:`spiking_model`) with the per-trial state: one column
        after the task's (``spec.n_channels``), a current onto every ``I{k}`` neuron."""
        state = self.trial_state()
        if state is None:
            return model
        col = spec.n_channels
        drives = tuple(model.drives) + tuple(Drive(col, f"I{i}", "current", gain=1.0)
                                             for i in range(self.k))
        return replace(model, drives=drives, state=(state,))

    def network(self) -> Network:
        """Build the Network (rate probes on every population)."""
        self.validate()
        ws = LIFParams(**{**self.ws.__dict__, "i_bias": self.ws.i_bias + self.drive})
        k = range(self.k)
        pops = [Population(f"P{i}", self.n_proc, self.proc,
                           v_init=(self.proc.v_reset, self.proc.v_th)) for i in k]
        pops += [Population(f"W{i}", self.n_ws, ws, v_init=(ws.v_reset, ws.v_reset + 5e-3))
                 for i in k]
        pops += [Population(f"A{i}", self.n_adapt, self.adapt) for i in k]
        pops += [Population(f"I{i}", self.n_inh, self.inh,
                            v_init=(self.inh.v_reset, self.inh.v_th)) for i in k]
        pooled = self.w_pi > 0 and self.k > 1
        if pooled:
            pops += [Population(f"C{i}", self.n_pool, self.pool) for i in k]
        projs = []
        for i in k:
            p, w, a, inh = f"P{i}", f"W{i}", f"A{i}", f"I{i}"
            projs += [
                Projection(p, w, self.w_pw, AllToAll(), self.tau_fast, 0.0, "exc"),
                Projection(w, w, self.w_ww, AllToAll(), self.tau_slow, 0.0, "exc"),
                Projection(w, p, self.w_wp, AllToAll(), self.tau_slow, 0.0, "exc"),
                Projection(w, inh, self.w_wi, AllToAll(), self.tau_wi, 0.0, "exc"),
                Projection(w, a, self.w_wa, AllToAll(), self.tau_adapt, 0.0, "exc"),
                Projection(a, w, self.w_aw, AllToAll(), self.tau_inh, 0.0, "inh"),
            ]
            projs += [Projection(inh, f"W{j}", self.w_iw if j != i else self.w_iw_self,
                                 AllToAll(), self.tau_block if j != i else self.tau_inh,
                                 0.0, "inh") for j in k if self.w_iw > 0 or j == i]
            if pooled:
                # the other items' processors, averaged (each weighs w_pc / (k - 1)), drive
                # a pool whose rate saturates (one competitor nearly fills it), and the
                # pool drives I{i} through slow synapses: a competitor arriving while W{i}
                # is ignited recruits the inhibition that guards it, and a display of many
                # items recruits it no more than one competitor does
                projs += [Projection(f"P{j}", f"C{i}", self.w_pc / (self.k - 1), AllToAll(),
                                     self.tau_fast, 0.0, "exc") for j in k if j != i]
                projs.append(Projection(f"C{i}", inh, self.w_pi, AllToAll(), self.tau_pi, 0.0,
                                        "exc"))
            if self.w_boost > 0:
                projs += [Projection(w, f"W{j}", self.w_boost, AllToAll(), self.tau_fast, 0.0,
                                     "exc") for j in k if j != i]
        probes = [Probe(f"{x}{i}", "rate", self.bin_width)
                  for x in ("P", "W", "A", "I") + (("C",) if pooled else ()) for i in k]
        return Network(pops, projs, probes, name=f"workspace_k{self.k}")

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec: item k's evidence drives ``P{k}``, its bias
        ``W{k}``; the ``items`` readout is the workspace assemblies."""
        if spec.n_items != self.k:
            raise ValidationError(f"WorkspaceCircuit.k: the task has {spec.n_items} items but "
                                  f"the circuit {self.k} (got k={self.k})")
        if "unit" in spec.readouts:
            raise ValidationError("WorkspaceCircuit.spiking_model: the workspace has no "
                                  "'unit' readout; it reads out its assemblies ('items')")
        chans = spec.channels()
        drives = [Drive(c, f"P{i}", "current", gain=self.input_gain)
                  for i, c in enumerate(chans.get("evidence", ()))]
        drives += [Drive(c, f"W{i}", "current", gain=self.bias_gain)
                   for i, c in enumerate(chans.get("bias", ()))]
        return SpikingModel(self.network(), tuple(drives),
                            {"items": tuple(f"W{i}" for i in range(self.k))})
