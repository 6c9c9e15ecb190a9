"""The spiking predictive-coding circuit with precision-weighted prediction errors.

:class:`PCCircuit` describes, with ``neuroattn.model``, a two-level predictive-coding
network of spiking populations. For each item k:

* ``R{k}`` -- the representation (prediction) population, noisy LIF neurons: the
  circuit's posterior expectation that something is at item k (the ``items`` readout).
  Its membrane leak towards rest is the prior (level 2: "nothing there").
* ``EP{k}`` and ``EN{k}`` -- the positive and the negative prediction-error populations
  (level 1). A spiking neuron cannot fire at a negative rate, so the two signs of the
  error ``x_k - mu_k`` are carried by two rectified populations: ``EP{k}`` is excited by
  the input and inhibited by the prediction, ``EN{k}`` the other way round. Errors drive
  the prediction up (``EP{k} -> R{k}``, excitatory) and down (``EN{k} -> R{k}``,
  inhibitory); the prediction inhibits the positive error (``R{k} -> EP{k}``) and
  excites the negative one (``R{k} -> EN{k}``), so a correct prediction silences both.
* ``M{k}`` -- the precision population (neuromodulatory / pulvinar-like gain control):
  noisy LIF neurons firing tonically, driven up or down by the top-down ``bias`` (the
  cue). They give every error neuron of item k a background excitation. The error
  neurons are exponential-escape neurons (intensity ``rho0 exp(v / delta_u)``), so a
  background depolarisation ``dv`` multiplies their response by ``exp(dv / delta_u)``:
  the precision ``pi_k`` is the gain that ``M{k}``'s background input sets inside the
  network (Chance, Abbott & Reyes 2002: gain through background input), not a number
  multiplied outside it. ``cue_gain`` and ``w_mod`` are chosen so that one unit of bias
  is one nat of log precision.

The bottom-up ``evidence`` x_k drives ``EP{k}`` up and ``EN{k}`` down with
``evidence_gain`` (``delta_u / r_m``: one nat of error-unit gain per unit of input).

With two or more items, ``Z{k}`` -- the variance pools (on by default, ``w_pool`` 1):
each is inhibited by ``M{k}`` (with the weight ``M{k}`` excites the errors with, through
the same exponential escape), so it fires in proportion to ``exp(-lambda_k)``, item k's
expected variance. Together they excite every item-level error neuron (``EP``, ``EN``)
alike and inhibit every pool neuron: a closed loop of gain ``g`` (``pool_gain``) whose
summed rate ``S`` (relative to rest) settles at ``V exp(-c)``, ``c = g (S - 1)``, ``V``
the items' mean expected variance; the errors receive ``w_pool (1 + g) / g c`` nats,
about ``w_pool log V`` (:func:`~neuroattn.mechanisms.precision.params.loop_log`: the log
to first order, compressive like the log at any ``V``). A cue that raises one item's
log precision and lowers another's by as much raises the items' mean expected variance
(``cosh b`` for +-b); the pool takes that back from every item alike (divisive
normalisation of the expected variances). Every ratio ``pi_k / pi_j``, hence every
weight, is unchanged. What it changes is the neutral cue's place: without the pool a
neutral cue's precision is the geometric mean of the valid and invalid cues' (``exp(0)``
between ``exp(+-b)``), and since the time to the decision bound is convex in the
representation's rate, which is about linear in log precision, Posner's cost comes out
twice the benefit; at ``w_pool`` 1 the neutral cue sits at their harmonic mean (the mean
expected variance is held) and the two are about equal. An open pool (``pool_gain`` 0)
is linear in ``V``: a large negative bias (visual search's rejected items, -5, which
silence ``M``) then adds several nats to every error and search fails; the loop keeps
it near ``log V`` (docs/mechanisms/precision.md).

With a ``unit`` readout (a downstream neuron with selectivity ``values[k]`` for item k)
a second level is added: the unit ``V`` (noisy LIF) predicts, for every item, the
feature value ``values[k]`` that the item carries, and ``UP{k}``/``UN{k}`` carry the
positive and negative errors of that prediction (a constant drive ``+-value_gain *
values[k]`` against ``-+V``). Their gain is item k's precision: the cue's ``M{k}`` and
the item's own evidence (an item that is present is a reliable source; one that is
absent carries no precision). ``V`` integrates ``sum_k (UP_k - UN_k)`` through slow
synapses, so it settles where the precision-weighted errors cancel::

    sum_k pi_k (values_k - V) = 0    =>    V = sum_k pi_k values_k / sum_k pi_k

the precision-weighted average, ``softmax(log pi) . values``. What makes that hold for
a spiking ``V``, whatever the total precision ``sum_k pi_k`` (one cue or two) and
whatever each cue's noise:

* ``V`` is an integrator, not a leaky readout: its recurrent excitation ``w_vv`` (with
  ``unit.i_bias``) supplies the current its own rate needs, so the errors need not hold
  it up. A leaky ``V`` settles short of the balance point by (current it needs) / (loop
  gain), and the loop gain grows with the total precision: one cue's response falls
  further short than two cues' (a weight offset of +0.02-0.03 towards cue 0).
* A cue's precision is read from its input averaged over tens of milliseconds, not
  sample by sample. The gain of an error neuron is exponential in its input, so input
  noise that reaches it raises the mean gain by ``exp(var / 2)`` (Jensen), the noisier
  cue the most: the opposite of precision. The unit errors therefore integrate their
  input over a slow (``tau_unit_err``, 50 ms) membrane, which passes the evidence's mean
  and a tenth of its noise variance (a 5 ms membrane: all of it).
* The evidence is carried signed. It reaches the unit errors as a current, the net
  current of a push-pull (ON/OFF) pair of afferent populations whose difference carries
  the signed value, in the limit of many afferents. A single population of Poisson
  afferents (``tau_ue`` > 0) cannot fire below 0 Hz: the rows where a noisy cue's input
  ``contrast + N(0, sigma)`` falls below 0 are cut off, which raises the mean drive,
  hence the precision, of the noisier cue (0.13-0.2 nats at ``noise`` 1.0, ratio 4).
* An absent item carries (almost) no precision: 3 nats per unit of evidence leave an
  absent cue ``exp(-6)`` of a shown one's gain, so a single cue's response is that
  cue's value, not pulled towards the absent one's.
* The value errors stay near their linear regime (``value_gain`` 0.25 nats per unit of
  value), where the balance is the weighted mean, not a log-sum-exp.
* The unit errors' gains are normalised: a pool ``UZ`` (100 noisy LIF neurons, silent
  without input) is excited by every unit error and inhibits every unit error alike.
  For exponential-escape neurons a common inhibitory current is a common division of
  their gains, so the ratios ``pi_k / sum_j pi_j`` -- and with them the balance point
  -- are untouched, while the errors' summed rate, which is the gain of the unit's
  loop (``d(UP - UN)/dV`` is proportional to ``UP + UN``), changes by ~10-15 % between
  one cue and two instead of doubling. Without it the loop had twice the gain, hence
  a different speed, damping and offset, with two cues as with one: it rang or fell
  into a ~18 Hz relaxation oscillation (``V`` bursting to 100-170 Hz) with two cues,
  so the combined responses read high against the single ones and the weights were
  offset toward the higher-valued cue by +0.01-0.03 (0.235 / 0.530 / 0.827 at ratios
  1/4, 1, 4, seed 3). With the same gain in every condition whatever offset the loop
  leaves is the same function of the unit's rate in every condition, which the
  conflict estimator ``(both - cue1) / (cue0 - cue1)`` cancels.
* The loop is damped and settles within ~100 ms of the evidence: 160 unit-error
  neurons per sign with 10 pA, 5 ms synapses onto ``V`` behind their 50 ms membrane (8 pA
  per Hz of error rate at summed error rates of ~120-145 Hz; the same second-order loop
  as 1 pA, 50 ms synapses behind a 5 ms membrane), and 160 precision neurons per item with
  0.25 pA each (the common fluctuation of a small precision population is a
  fluctuating log precision, which the weights average through the logistic and so
  compress toward 0.5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitParams, SpikingModel
from neuroattn.model import AllToAll, Drive, Network, Population, Probe, Projection
from neuroattn.neurons import EscapeParams, LIFParams

__all__ = ["PCCircuit"]


def _rep_default() -> LIFParams:
    # 6 mV below threshold with 3 mV of noise: a low baseline (~3 Hz), the prior
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=3e-3, i_bias=140e-12)


def _mod_default() -> LIFParams:
    # tonic firing above threshold (v_inf -44 mV), near-linear f-I around it
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=2e-3, i_bias=260e-12)


def _err_default() -> EscapeParams:
    # Poisson (no reset) exponential-escape neurons: rate rho0 exp(v / delta_u)
    return EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                        delta_u=2e-3, rho0=4.0, t_ref=0.0, i_bias=0.0, reset=False)


def _pool_default() -> EscapeParams:
    # the error neurons' model (Poisson exponential escape, delta_u 2 mV): inhibited by its
    # item's precision population with the weight that population excites the errors with,
    # it fires at rho0 exp((i_bias - I_M) r_m / delta_u) ~ 20 Hz at M's resting ~48 Hz, i.e.
    # in proportion to exp(-log precision): the item's expected variance
    return EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                        delta_u=2e-3, rho0=4.0, t_ref=0.0, i_bias=70e-12, reset=False)


def _norm_default() -> LIFParams:
    # silent without input (rheobase 200 pA, bias 50 pA), near-threshold-linear above it
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=3e-3, i_bias=50e-12)


def _unit_default() -> LIFParams:
    # 5 mV of noise: a near-linear f-I over the unit's range (20-60 Hz). With the
    # recurrent excitation w_vv (3.2 pA per Hz) the bias puts the unit's own input on its
    # f-I curve in the circuit from 20 to 40 Hz: I_needed(r) ~= i_bias + 3.2 pA/Hz * r
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=5e-3, i_bias=102.5e-12)


_UNITS = (("evidence_gain", "A"), ("unit_evidence_gain", "A"), ("tau_ue", "s"),
          ("w_ue", "A"), ("tau_unit_err", "s"), ("cue_gain", "A"), ("w_mod", "A"),
          ("tau_mod", "s"), ("w_er", "A"), ("tau_er", "s"), ("w_re", "A"), ("tau_re", "s"),
          ("err_offset", "A"), ("value_gain", "A"), ("value_offset", "A"), ("w_uv", "A"),
          ("tau_uv", "s"), ("w_vu", "A"), ("tau_vu", "s"), ("w_vv", "A"), ("tau_vv", "s"),
          ("w_en", "A"), ("tau_en", "s"), ("w_ne", "A"), ("tau_ne", "s"), ("tau_pool", "s"),
          ("bin_width", "s"))
_NEURONS = (("rep", LIFParams), ("mod", LIFParams), ("err", EscapeParams),
            ("unit", LIFParams), ("norm", LIFParams), ("pool", EscapeParams))


@dataclass(frozen=True)
class PCCircuit(CircuitParams):
    """Two-level predictive-coding circuit with precision set by a modulatory population.

    Parameters
    ----------
    k : int
        Number of items (>= 1).
    n_rep, n_err, n_mod, n_unit : int
        Neurons of each representation, error (each sign), precision and unit
        population (40, 40, 160, 50). The precision populations are large (160 neurons of
        0.25 pA each) so that their common fluctuation, a fluctuating log precision of
        every error neuron of the item, stays small.
    n_unit_err : int
        Neurons of each unit-level error population ``UP{k}``/``UN{k}`` (160): many
        small synapses onto the unit, so that its input is close to its mean (the
        mean-field limit); see ``w_uv``.
    n_norm : int
        Neurons of the unit errors' normalisation pool ``UZ`` (100).
    rep, mod, unit, norm : LIFParams
        Representation, precision, unit and normalisation-pool neurons (the pool's: 3 mV
        of noise and a 50 pA bias, silent below a summed unit-error rate of ~50 Hz).
    err : EscapeParams
        Error neurons (Poisson exponential-escape neurons, ``delta_u`` 2 mV).
    evidence_gain : float, amperes per unit of input
        Current of the evidence onto ``EP`` (+) and ``EN`` (-), and onto ``UP``/``UN``
        (+, the item's precision). Default 20 pA = ``delta_u / r_m``: one nat per unit.
    unit_evidence_gain : float, amperes per unit of input
        Mean current of an item's evidence onto its unit errors ``UP``/``UN`` (60 pA: 3
        nats of unit-level precision per unit, so an absent item keeps ``exp(-6)``, 0.25 %,
        of a shown one's weight at the default contrast 2). 80 pA (4 nats, ``value_offset``
        -92 pA) leaves it ``exp(-8)`` but compresses the spiking weights of noisy cues
        (docs/tasks/cue_combination.md).
    tau_ue, w_ue : float, seconds and amperes
        0 (default): that evidence is a signed current (the net current of push-pull
        afferents), low-passed by the unit errors' ``tau_unit_err`` membrane. With
        ``tau_ue`` > 0 it arrives as Poisson afferents (``unit_evidence_gain / (w_ue
        tau_ue)`` Hz per unit, ``w_ue`` 0.1 pA each) through ``tau_ue`` synapses; their
        rate cannot go below 0, so a noisy cue's negative rows are lost (the earlier
        default, 50 ms onto a 5 ms membrane: the cue-combination weight at ratio 4 fell
        to ~0.75 at ``noise`` 1.0; docs/tasks/cue_combination.md).
    tau_unit_err : float, seconds
        Membrane time constant of the unit errors ``UP``/``UN`` (50 ms): they read the
        evidence low-passed, so a cue's own noise (sigma per 1 ms row) raises its log gain
        by ``kappa**2 sigma**2 / (4 tau / 1 ms)`` nats (``kappa`` = 3 nats per unit, tau
        = ``tau_ue + tau_unit_err``: 0.045 sigma**2), about 0.003 of weight at ratio 4
        and ``noise`` 0.5, 0.01 at ``noise`` 1.0. Through a 5 ms membrane it would be
        ``0.45 sigma**2`` nats. The item-level errors keep ``err.tau_mem`` (5 ms).
    cue_gain : float, amperes per unit of bias
        Current of the cue's bias onto the precision population ``M`` (59.5 pA:
        ``precision_slope`` 1.000, one nat of log precision per unit of bias).
    w_mod : float, amperes
        Weight of every ``M{k}`` neuron onto every error neuron of item k (0.25 pA x 160
        neurons x 20 ms = 0.8 pA per Hz of ``M``, 0.04 nats per Hz).
    tau_mod : float, seconds
        Time constant of that background input (20 ms).
    w_er : float, amperes
        Weight of every error neuron onto every ``R{k}`` neuron (excitatory from EP,
        inhibitory from EN; 0.8 pA, with ``w_re`` 1.6 pA; 1 and 2 pA before the variance
        pools were the default: see ``w_re``).
    tau_er : float, seconds
        Time constant of the errors' drive onto the representation (60 ms: slow, so the
        representation integrates its errors, ``d mu / dt ~ pi eps``).
    w_re : float, amperes
        Weight of every ``R{k}`` neuron onto every error neuron (the prediction: inhibits
        EP, excites EN). 1.6 pA (2 pA before the variance pools were the default): the
        prediction takes 0.016 nats off the errors' log gain per Hz of ``R``, so at steady
        state it explains away part of the errors' log precision and ``R`` moves by a
        fixed number of Hz per nat of it (at 2 pA ~26 Hz; Posner's benefit was then
        ~0.21 of the neutral decision time). 1.6 pA (and ``w_er`` 0.8 pA) leaves more of
        it in ``R`` than 2 / 1 pA at the same neutral RT; the error still falls to 1/2.4
        of its onset peak (1/2.8 at 2 pA; 0.8 / 0.5 pA left it at 1/1.6, which the test
        refuses).
    tau_re : float, seconds
        Time constant of the prediction's synapses (5 ms).
    err_offset : float, amperes
        Bias current of the negative-error neurons ``EN`` (and ``UN``), so that the two
        signs balance when the representation sits at its baseline.
    value_gain : float, amperes per unit of value
        Constant current ``+value_gain * values[k]`` onto ``UP{k}`` (minus onto ``UN{k}``):
        the feature value item k carries. 5 pA, 0.25 nats per unit of value: the errors
        stay near their linear regime, so the unit's balance is the precision-weighted
        mean rather than a log-sum-exp (10 pA compressed the cue-combination weights by
        0.004 at ratio 4, mean field); the unit spans ~20-40 Hz over values 0-1.
    value_offset : float, amperes
        Bias current of ``UP``, ``UN`` (-52 pA): with the 120 pA of a shown item's evidence
        and the ~2.5 nats that the pool ``UZ`` takes away, the unit errors' summed rate is
        ~120-145 Hz, low enough that an escape draw per 0.1 ms step (rate ``(1 - exp(-rho
        dt)) / dt``) saturates them by < 1 %. A shown item's net current, ``value_offset +
        2 unit_evidence_gain`` = 68 pA, sets that rate: another gain keeps it (80 pA: -92 pA).
    w_uv : float, amperes
        Weight of every ``UP``/``UN`` neuron onto every unit neuron (+/-): 10 pA x 160
        neurons x 5 ms = 8 pA per Hz of error rate.
    tau_uv : float, seconds
        Time constant of those synapses (5 ms). With the integrating unit and the unit
        errors' 50 ms membrane the loop is of second order; 8 pA/Hz damps it (26 pA/Hz
        through 100 ms rang) while the unit still settles within ~100 ms of the evidence.
        (Before the errors' membrane was slowed, the 50 ms pole was here: 1 pA, 50 ms.)
    w_vu : float, amperes
        Weight of every unit neuron onto every ``UP`` (inhibitory) and ``UN``
        (excitatory) neuron: the unit's prediction.
    tau_vu : float, seconds
        Time constant of the unit's prediction synapses (5 ms).
    w_vv : float, amperes
        Recurrent excitation of every unit neuron onto every unit neuron (0.645 pA x 50
        neurons x 100 ms = 3.2 pA per Hz, the inverse slope of the unit's f-I curve in
        the circuit): with ``unit.i_bias`` (102.5 pA) it cancels the unit's leak, so the
        unit integrates its errors and settles where they cancel, whatever its rate (a
        neural integrator). Both were set on the circuit itself, where the net unit-error
        drive onto ``V`` is then -0.2 to +0.7 Hz (mostly 0-0.3 Hz, 8 pA per Hz) from 20 to 40
        Hz (cue combination, seeds 1-5, 8); the Siegert rate
        of an isolated unit neuron, which misses the unit errors' slow shot noise and
        the finite population, puts them at 2.8 pA/Hz and 107 pA, with which the errors
        had to supply 4-12 pA. 0 gives a leaky unit, which the errors must hold up.
    tau_vv : float, seconds
        Time constant of the recurrent excitation (100 ms, NMDA-like).
    w_en, tau_en : float, amperes and seconds
        Weight and time constant of every unit error's excitation of every ``UZ``
        neuron (1.5 pA, 5 ms: 1.2 pA per Hz of summed unit-error rate).
    w_ne, tau_ne : float, amperes and seconds
        Weight and time constant of every ``UZ`` neuron's inhibition of every unit
        error (2 pA, 10 ms: 0.1 nats of log gain per Hz of the pool, ~2.5 nats at its
        ~25-35 Hz). With them the summed unit-error rate grows ~1.13x where the
        unnormalised one grows 2.4x (one cue to two, mean field). ``w_ne`` 0 removes
        the pool.
    n_pool : int
        Neurons of each variance pool ``Z{k}`` (100).
    pool : EscapeParams
        The pool neurons (the error neurons' model, 70 pA bias: ~19 Hz at rest,
        :meth:`pool_rate`).
    w_pool : float
        Strength of the variance pool in [0, 1] (default 1; 0: no pool; with one item
        there is none). The pools' synaptic weight onto the errors is
        :meth:`pool_weight`, and their resting current (:meth:`pool_nats`) is taken off
        the errors' bias. 1 holds the items' mean expected variance: a cue moves expected
        variance between the items and a neutral cue's precision is the harmonic mean of
        the cued ones (moment matching: the precision of the mixture of the cued states);
        0 holds their mean log precision (the geometric mean); in between, that fraction
        of the log of the mean expected variance.
    pool_gain : float
        Gain ``g`` of the pools' loop (each pool neuron inhibited by all, weight
        :meth:`pool_loop_weight`; its resting inhibition given back through its bias):
        ``g (S / S_rest - 1)`` nats off the pools' log rate. 2.125, the gain at which
        that loop (a ``tau_pool`` synapse onto the pools' 5 ms membrane) is maximally
        flat, ``(tau_pool + tau_mem)**2 / (2 tau_pool tau_mem) - 1``; the errors' shift
        is then :func:`~neuroattn.mechanisms.precision.params.loop_log` of the mean
        expected variance (log-like; ``log`` for ``g -> inf``). 0: an open pool, linear
        in it (which breaks visual search).
    tau_pool : float, seconds
        Time constant of the pools' synapses onto the errors (20 ms, as ``tau_mod``).
    bin_width : float, seconds
        Rate probe bin (5 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.precision import PCCircuit
    >>> [p.name for p in PCCircuit(k=1).network().populations]
    ['M0', 'EP0', 'EN0', 'R0']
    """

    k: int = 2
    n_rep: int = 40
    n_err: int = 40
    n_mod: int = 160
    n_unit: int = 50
    n_unit_err: int = 160
    n_norm: int = 100
    rep: LIFParams = field(default_factory=_rep_default)
    mod: LIFParams = field(default_factory=_mod_default)
    err: EscapeParams = field(default_factory=_err_default)
    unit: LIFParams = field(default_factory=_unit_default)
    norm: LIFParams = field(default_factory=_norm_default)
    evidence_gain: float = 20e-12
    unit_evidence_gain: float = 60e-12
    tau_ue: float = 0.0
    w_ue: float = 0.1e-12
    tau_unit_err: float = 50e-3
    cue_gain: float = 59.5e-12
    w_mod: float = 0.25e-12
    tau_mod: float = 20e-3
    w_er: float = 0.8e-12
    tau_er: float = 60e-3
    w_re: float = 1.6e-12
    tau_re: float = 5e-3
    err_offset: float = -10e-12
    value_gain: float = 5e-12
    value_offset: float = -52e-12
    w_uv: float = 10e-12
    tau_uv: float = 5e-3
    w_vu: float = 1.0e-12
    tau_vu: float = 5e-3
    w_vv: float = 0.645e-12
    tau_vv: float = 100e-3
    w_en: float = 1.5e-12
    tau_en: float = 5e-3
    w_ne: float = 2.0e-12
    tau_ne: float = 10e-3
    n_pool: int = 100
    pool: EscapeParams = field(default_factory=_pool_default)
    w_pool: float = 1.0
    pool_gain: float = 2.125
    tau_pool: float = 20e-3
    bin_width: float = 5e-3

    UNITS = _UNITS
    COUNTS = ("n_rep", "n_err", "n_mod", "n_unit", "n_unit_err", "n_norm", "n_pool")
    POSITIVE = ("evidence_gain", "unit_evidence_gain", "bin_width", "tau_mod", "tau_er",
                "tau_re", "tau_uv", "tau_vu", "tau_vv", "w_ue", "tau_en", "tau_ne",
                "tau_unit_err", "tau_pool")
    NONNEGATIVE = ("cue_gain", "w_mod", "w_er", "w_re", "value_gain", "w_uv", "w_vu",
                   "w_vv", "tau_ue", "w_en", "w_ne", "w_pool", "pool_gain")
    FINITE = ("err_offset", "value_offset")
    NEURONS = _NEURONS

    def _validate_more(self) -> None:
        if not self.w_pool <= 1.0:
            raise ValidationError(f"PCCircuit.w_pool: expected a strength in [0, 1] (1: the "
                                  f"cue holds the items' mean expected variance; 0: no pool) "
                                  f"(got {self.w_pool!r})")

    # -- the network -------------------------------------------------------------------

    def _err(self, extra: float, pooled: bool = True) -> EscapeParams:
        if pooled and self.pooled:
            # the pool's mean current at rest (pool_nats) is taken off the bias, so that
            # at rest (every bias 0) each error neuron sits where it sat without the pool
            extra -= self.pool_nats() * self.err.delta_u / self.err.r_m
        return dataclasses.replace(self.err, i_bias=self.err.i_bias + extra)

    def pool_nats(self) -> float:
        """Nats of log gain that the pools' summed rate ``S`` gives every error neuron per
        unit of ``S / S_rest`` (so also at rest): ``w_pool (1 + g)`` (``g`` =
        ``pool_gain``). The loop takes ``c = g (S / S_rest - 1)`` off the pools' own log
        rate, so the errors' shift is ``w_pool (1 + g) / g c``: ``w_pool`` times the log
        of the mean expected variance to first order (:func:`~neuroattn.mechanisms.
        precision.params.loop_log`); ``g`` 0: ``w_pool (S / S_rest - 1)``, linear."""
        return self.w_pool * (1.0 + self.pool_gain)

    @property
    def pooled(self) -> bool:
        """Whether the network has the variance pool (``w_pool`` > 0, ``k`` >= 2 and a
        precision pathway)."""
        return self.w_pool > 0 and self.k >= 2 and self.w_mod > 0

    def pool_rate(self) -> float:
        """Rate (Hz) of a pool neuron ``Z{k}`` at rest (bias 0): ``rho0 exp(r_m (i_bias -
        I_M) / delta_u)``, ``I_M`` the mean current of the resting precision population
        (its Siegert rate) through the ``w_mod`` synapses. (The shot noise of that input
        raises it by ~0.5 %, left out.)"""
        from neuroattn.neurons import lif_rate_noisy

        m0 = float(lif_rate_noisy(0.0, self.mod, n_points=400))
        i_m = self.w_mod * self.n_mod * self.tau_mod * m0
        z = self.pool
        return z.rho0 * float(np.exp(z.r_m * (z.i_bias - i_m) / z.delta_u))

    def pool_weight(self) -> float:
        """Weight (A) of every pool neuron onto every error neuron: the pool's summed rate
        ``S`` (one term ``exp(-lambda_j)`` per item) adds :meth:`pool_nats` ``x S /
        S_rest`` nats to every error's log gain, where ``S_rest = k pool_rate``."""
        return self.pool_nats() * self._per_pool_nat(self.err)

    def pool_loop_weight(self) -> float:
        """Weight (A) of every pool neuron's inhibition of every pool neuron (the loop):
        the summed rate ``S`` takes ``pool_gain (S / S_rest)`` nats off every pool
        neuron's log rate (``pool_gain`` at rest, which the pool's bias gives back)."""
        return self.pool_gain * self._per_pool_nat(self.pool)

    def _per_pool_nat(self, target: EscapeParams) -> float:
        """Weight (A) of every pool neuron onto a ``target`` escape neuron that moves its
        log rate by one nat per unit of the pools' relative summed rate ``S / S_rest``."""
        return target.delta_u / (target.r_m * self.n_pool * self.tau_pool * self.k
                                 * self.pool_rate())

    def _pool_neuron(self) -> EscapeParams:
        """The pool neuron with the loop's resting inhibition (``pool_gain`` nats) added
        back to its bias, so that at rest it fires at :meth:`pool_rate`."""
        z = self.pool
        return dataclasses.replace(z, i_bias=z.i_bias + self.pool_gain * z.delta_u / z.r_m)

    def _unit_err(self, extra: float) -> EscapeParams:
        """A unit error neuron: the error neurons' model with the ``tau_unit_err`` membrane
        (and without the variance pools' resting current, which it does not receive)."""
        return dataclasses.replace(self._err(extra, pooled=False), tau_mem=self.tau_unit_err)

    def network(self, values=None) -> Network:
        """Build the Network; with ``values`` (K floats >= 0) add the unit level."""
        self.validate()
        rep0 = (self.rep.v_reset, self.rep.v_th)
        pops, projs, probes = [], [], []
        for i in range(self.k):
            pops += [Population(f"M{i}", self.n_mod, self.mod,
                                v_init=(self.mod.v_reset, self.mod.v_th)),
                     Population(f"EP{i}", self.n_err, self._err(0.0)),
                     Population(f"EN{i}", self.n_err, self._err(self.err_offset)),
                     Population(f"R{i}", self.n_rep, self.rep, v_init=rep0)]
            projs += self._gain(f"M{i}", (f"EP{i}", f"EN{i}"))
            projs += [Projection(f"EP{i}", f"R{i}", self.w_er, AllToAll(), self.tau_er, 0.0,
                                 "exc"),
                      Projection(f"EN{i}", f"R{i}", self.w_er, AllToAll(), self.tau_er, 0.0,
                                 "inh"),
                      Projection(f"R{i}", f"EP{i}", self.w_re, AllToAll(), self.tau_re, 0.0,
                                 "inh"),
                      Projection(f"R{i}", f"EN{i}", self.w_re, AllToAll(), self.tau_re, 0.0,
                                 "exc")]
            probes += [Probe(f"R{i}", "rate", self.bin_width),
                       Probe(f"EP{i}", "rate", self.bin_width),
                       Probe(f"EN{i}", "rate", self.bin_width),
                       Probe(f"M{i}", "rate", self.bin_width)]
        if values is not None:
            vals = _check_values(values, self.k, "PCCircuit.network.values")
            self._unit_level(vals, pops, projs, probes)
        if self.pooled:
            self._variance_pool(pops, projs, probes)
        return Network(pops, projs, probes, name=f"predictive_coding_k{self.k}")

    def _gain(self, source: str, targets) -> list:
        return [Projection(source, t, self.w_mod, AllToAll(), self.tau_mod, 0.0, "exc")
                for t in targets] if self.w_mod > 0 else []

    def _unit_level(self, vals, pops, projs, probes) -> None:
        pops.append(Population("V", self.n_unit, self.unit,
                               v_init=(self.unit.v_reset, self.unit.v_th)))
        if self.w_vv > 0:
            projs.append(Projection("V", "V", self.w_vv, AllToAll(), self.tau_vv, 0.0, "exc"))
        for i in range(self.k):
            drive = self.value_gain * vals[i]
            pops += [Population(f"UP{i}", self.n_unit_err,
                                self._unit_err(self.value_offset + drive)),
                     Population(f"UN{i}", self.n_unit_err,
                                self._unit_err(self.value_offset + self.err_offset - drive))]
            projs += self._gain(f"M{i}", (f"UP{i}", f"UN{i}"))
            projs += [Projection(f"UP{i}", "V", self.w_uv, AllToAll(), self.tau_uv, 0.0, "exc"),
                      Projection(f"UN{i}", "V", self.w_uv, AllToAll(), self.tau_uv, 0.0, "inh"),
                      Projection("V", f"UP{i}", self.w_vu, AllToAll(), self.tau_vu, 0.0, "inh"),
                      Projection("V", f"UN{i}", self.w_vu, AllToAll(), self.tau_vu, 0.0, "exc")]
            probes += [Probe(f"UP{i}", "rate", self.bin_width),
                       Probe(f"UN{i}", "rate", self.bin_width)]
        probes.append(Probe("V", "rate", self.bin_width))
        if self.w_ne > 0:
            self._normalisation(pops, projs, probes)

    def _variance_pool(self, pops, projs, probes) -> None:
        """The pools ``Z{k}``: each is inhibited by its item's precision population ``M{k}``
        (the weight with which ``M{k}`` excites the errors), so it fires in proportion to
        ``exp(-lambda_k)``, item k's expected variance; all of them excite every error
        neuron of every item alike. Their summed rate ``S`` is the items' total expected
        variance, and it adds ``w_pool (S / S_rest - 1)`` nats to every error's log gain
        (the resting part is taken off the errors' bias): to first order the log of the
        mean expected variance, so a cue that raises one item's precision and lowers
        another's by as much in log units raises both, in proportion to how far apart
        it puts them, until the mean variance is again the resting one. They reach the
        item-level errors only: the unit level's weights depend on the ratios of its
        errors' gains alone, which a common shift leaves as they are, while it would
        change the unit loop's gain between conditions (its offset cancels only where
        that gain is the same)."""
        targets = [f"{e}{j}" for j in range(self.k) for e in ("EP", "EN")]
        pools = [f"Z{j}" for j in range(self.k)]
        w, w_loop = self.pool_weight(), self.pool_loop_weight()
        for i in range(self.k):
            pops.append(Population(f"Z{i}", self.n_pool, self._pool_neuron()))
            projs.append(Projection(f"M{i}", f"Z{i}", self.w_mod, AllToAll(), self.tau_mod,
                                    0.0, "inh"))
            projs += [Projection(f"Z{i}", t, w, AllToAll(), self.tau_pool, 0.0, "exc")
                      for t in targets]
            if w_loop > 0:
                projs += [Projection(f"Z{i}", z, w_loop, AllToAll(), self.tau_pool, 0.0,
                                     "inh") for z in pools]
            probes.append(Probe(f"Z{i}", "rate", self.bin_width))

    def _normalisation(self, pops, projs, probes) -> None:
        """The pool ``UZ``: excited by every unit error, it inhibits every unit error alike
        (a common subtraction from their potentials, i.e. a common division of their
        gains), so the unit errors' total rate, and with it the gain of the unit's loop,
        hardly depends on how many items are shown or how precise they are."""
        pops.append(Population("UZ", self.n_norm, self.norm,
                               v_init=(self.norm.v_reset, self.norm.v_th)))
        for i in range(self.k):
            for err in (f"UP{i}", f"UN{i}"):
                projs += [Projection(err, "UZ", self.w_en, AllToAll(), self.tau_en, 0.0,
                                     "exc"),
                          Projection("UZ", err, self.w_ne, AllToAll(), self.tau_ne, 0.0,
                                     "inh")]
        probes.append(Probe("UZ", "rate", self.bin_width))

    def _unit_evidence(self, col: int, target: str) -> Drive:
        """Item evidence onto a unit error population: ``unit_evidence_gain`` A per unit,
        a signed current (``tau_ue`` 0, the default: the net current of a push-pull pair
        of afferent populations), or Poisson afferents through ``tau_ue`` synapses, whose
        rate cannot go below 0."""
        if self.tau_ue <= 0:
            return Drive(col, target, "current", gain=self.unit_evidence_gain)
        return Drive(col, target, "poisson", gain=self.unit_evidence_gain / (
            self.w_ue * self.tau_ue), weight=self.w_ue, tau_syn=self.tau_ue)

    def drives(self, spec) -> tuple:
        """The drives of a task spec's columns: evidence onto the errors, bias onto ``M``."""
        cols = spec.channels()
        out = []
        unit = "unit" in spec.readouts
        for i, col in enumerate(cols.get("evidence", ())):
            out += [Drive(col, f"EP{i}", "current", gain=self.evidence_gain),
                    Drive(col, f"EN{i}", "current", gain=-self.evidence_gain)]
            if unit:
                out += [self._unit_evidence(col, f"UP{i}"), self._unit_evidence(col, f"UN{i}")]
        for i, col in enumerate(cols.get("bias", ())):
            out.append(Drive(col, f"M{i}", "current", gain=self.cue_gain))
        return tuple(out)

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec; ``items`` read ``R{k}``, ``unit`` reads ``V``."""
        if spec.n_items != self.k:
            raise ValidationError(f"PCCircuit.k: the task has {spec.n_items} items but the "
                                  f"circuit {self.k} (got k={self.k})")
        values = spec.values if "unit" in spec.readouts else None
        readout = {"items": tuple(f"R{i}" for i in range(self.k))}
        if values is not None:
            readout["unit"] = ("V",)
        return SpikingModel(self.network(values), self.drives(spec), readout)


def _check_values(values, k: int, where: str) -> np.ndarray:
    vals = np.asarray(values, dtype=np.float64)
    if vals.shape != (k,) or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise ValidationError(f"{where}: expected {k} finite values >= 0, one per item "
                              f"(got {values!r})")
    return vals
