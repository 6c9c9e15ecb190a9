"""Spiking circuits of biased competition, described with ``neuroattn.model``.

Two circuits share one interface: ``circuit.network(values=None)`` returns the
Network and ``circuit.spiking_model(spec)`` the Network with the drives that map a task
spec's evidence and bias columns onto it and the populations read out for each role.

* :class:`LIFCircuit` -- a soft winner-take-all: K populations of noisy LIF neurons
  (one per location) excite one shared inhibitory population that inhibits them all.
  Each location k receives ``input_gain * (x_k + b_k)``: bottom-up input plus the
  top-down bias (the attention signal). In the fluctuation-driven regime the
  log-rate of a noisy LIF neuron is close to linear in its mean input, and the shared
  inhibition shifts every location alike, so spike shares approach
  ``softmax((x + b) / T)``. With ``values`` a readout is added: a normalisation
  ("share") layer and the unit 'V' (see :meth:`LIFCircuit.network`).
* :class:`EscapeCircuit` -- the stochastic WTA of Nessler et al. (2013): K groups of
  exponential-escape neurons with shared inhibition. Neuron k fires with intensity
  ``rho0 exp((v_k - theta)/delta_u)``; any inhibition common to all of them cancels in
  the ratio, so each spike is a sample of ``softmax(v / delta_u)`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitParams, SpikingModel
from neuroattn.model import AllToAll, Drive, Network, Population, Probe, Projection
from neuroattn.neurons import EscapeParams, LIFParams

__all__ = ["LIFCircuit", "EscapeCircuit"]


def _exc_default() -> LIFParams:
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=4e-3, i_bias=150e-12)


def _inh_default() -> LIFParams:
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=2e-3, i_bias=150e-12)


def _share_default() -> EscapeParams:
    # Poisson (no reset) escape neurons; a 300 pA bias holds v 30 mV above theta, which
    # the pool's inhibition balances, so the layer fires at a set total rate
    return EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                        delta_u=1e-3, rho0=20.0, t_ref=0.0, i_bias=300e-12, reset=False)


def _pool_default() -> LIFParams:
    # fast interneurons resting 30 mV below threshold: the share layer drives them
    return LIFParams(tau_mem=5e-3, v_rest=-80e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=3e-3, i_bias=0.0)


def _unit_default() -> LIFParams:
    # 5 mV below threshold with 4 mV of noise: near-linear f-I over the unit's range
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=4e-3, i_bias=150e-12)


_LIF_UNITS = (("input_gain", "A"), ("w_ei", "A"), ("w_ie", "A"), ("tau_exc", "s"),
              ("tau_inh", "s"), ("w_share", "A"), ("tau_share", "s"), ("w_pool_in", "A"),
              ("w_pool_out", "A"), ("tau_pool", "s"), ("w_unit", "A"), ("w_unit_inh", "A"),
              ("bin_width", "s"))


@dataclass(frozen=True)
class LIFCircuit(CircuitParams):
    """Soft winner-take-all of K noisy LIF populations with shared inhibition.

    Parameters
    ----------
    k : int
        Number of locations (competing populations), >= 2.
    n_exc : int
        Neurons per location (default 40).
    n_inh : int
        Neurons of the shared inhibitory population (default 20).
    exc, inh : LIFParams
        Neuron parameters. The default excitatory neurons sit 5 mV below threshold with
        4 mV of membrane noise (fluctuation-driven firing, about 10-40 Hz).
    input_gain : float, amperes per unit of input
        Current per unit of ``x + b`` (default 80 pA, i.e. 8 mV per unit).
    w_ei : float, amperes
        Excitatory weight of every location neuron onto every inhibitory neuron (4 pA).
    w_ie : float, amperes
        Inhibitory weight of every inhibitory neuron onto every location neuron (8 pA).
    tau_exc, tau_inh : float, seconds
        Synaptic time constants of the excitatory and inhibitory currents (5 ms).
    n_share : int
        Neurons of each share population S_k of the readout (default 40); built only
        with ``values``.
    share : EscapeParams
        The share neurons: Poisson escape neurons (``delta_u`` 1 mV, ``rho0`` 20 Hz,
        5 ms membrane) held 30 mV above ``theta`` by a 300 pA bias that the pool's
        inhibition balances.
    w_share : float, amperes
        Weight of every neuron of location k onto every neuron of S_k (12 pA, i.e.
        0.048 mV of mean potential per Hz of the location's rate).
    tau_share : float, seconds
        Time constant of the fast excitatory synapses E_k -> S_k and S -> pool (1 ms).
    n_pool : int
        Neurons of the share layer's inhibitory pool 'SI' (default 100).
    pool : LIFParams
        The pool's neurons (5 ms membrane, resting 30 mV below threshold, 3 mV noise).
    w_pool_in : float, amperes
        Weight of every share neuron onto every pool neuron (125 pA).
    w_pool_out : float, amperes
        Weight of every pool neuron onto every share neuron (1 pA; 0.32 mV of mean
        potential per Hz of the pool's rate).
    tau_pool : float, seconds
        Time constant of the pool's inhibition onto the share layer (32 ms): slow, so
        the loop's high gain is stable.
    n_unit : int
        Neurons of the readout unit 'V' (default 50).
    unit : LIFParams
        The unit's neurons (5 mV below threshold, 4 mV noise: near-linear f-I over the
        unit's range).
    w_unit : float, amperes
        Weight onto the unit, per unit of a location's value, from every neuron of S_k
        (7 pA).
    w_unit_inh : float, amperes
        Weight of the location stage's shared inhibitory population 'I' onto the unit
        (default 0: not used by the default readout).
    bin_width : float, seconds
        Rate probe bin (5 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.biased_competition import LIFCircuit
    >>> net = LIFCircuit(k=2).network()
    >>> [p.name for p in net.populations]
    ['E0', 'E1', 'I']
    """

    k: int = 2
    n_exc: int = 40
    n_inh: int = 20
    exc: LIFParams = field(default_factory=_exc_default)
    inh: LIFParams = field(default_factory=_inh_default)
    input_gain: float = 80e-12
    w_ei: float = 4e-12
    w_ie: float = 8e-12
    tau_exc: float = 5e-3
    tau_inh: float = 5e-3
    n_share: int = 40
    share: EscapeParams = field(default_factory=_share_default)
    w_share: float = 12e-12
    tau_share: float = 1e-3
    n_pool: int = 100
    pool: LIFParams = field(default_factory=_pool_default)
    w_pool_in: float = 125e-12
    w_pool_out: float = 1.0e-12
    tau_pool: float = 32e-3
    n_unit: int = 50
    unit: LIFParams = field(default_factory=_unit_default)
    w_unit: float = 7e-12
    w_unit_inh: float = 0.0
    bin_width: float = 5e-3

    UNITS = _LIF_UNITS
    MIN_K = 2
    COUNTS = ("n_exc", "n_inh", "n_unit", "n_share", "n_pool")
    POSITIVE = ("input_gain", "tau_exc", "tau_inh", "tau_share", "tau_pool", "bin_width")
    NONNEGATIVE = ("w_ei", "w_ie", "w_share", "w_pool_in", "w_pool_out", "w_unit",
                   "w_unit_inh")
    NEURONS = (("exc", LIFParams), ("inh", LIFParams), ("pool", LIFParams),
               ("unit", LIFParams), ("share", EscapeParams))

    def network(self, values=None) -> Network:
        """Build the Network; with ``values`` (K floats >= 0) add the readout.

        The readout reads the locations through a normalisation ("share") layer:

        * S_k (``n_share`` Poisson escape neurons) is driven by location k
          (``w_share``, fast synapses). Its rate is ``rho0 exp(v_k / delta_u)``.
        * The pool 'SI' (``n_pool`` LIF neurons) is driven by every S_k and inhibits
          every S_k alike through slow synapses (``tau_pool``). Inhibition common to all
          S_k cancels in their ratios, so S_k's share of the layer's activity is a
          softmax of the location rates, ``exp(a r_k) / sum_j exp(a r_j)`` with
          ``a = r_m w_share n_exc tau_share / delta_u``; the loop holds the layer's
          total rate nearly fixed, whatever the number of stimuli or the attention
          bias: divisive normalisation (Reynolds & Heeger 2009), here from a
          high-gain inhibitory loop rather than from shunting.
        * The unit 'V' (``n_unit`` LIF neurons) receives ``w_unit * values[k]`` from every
          neuron of S_k (and ``w_unit_inh`` from 'I', default 0): its rate is close to
          linear in ``sum_k values[k] S_k``.
        """
        self.validate()
        v0 = (self.exc.v_reset, self.exc.v_th)
        pops = [Population(f"E{i}", self.n_exc, self.exc, v_init=v0) for i in range(self.k)]
        pops.append(Population("I", self.n_inh, self.inh, v_init=(self.inh.v_reset,
                                                                   self.inh.v_th)))
        projs = []
        for i in range(self.k):
            projs.append(Projection(f"E{i}", "I", self.w_ei, AllToAll(), self.tau_exc, 0.0, "exc"))
            projs.append(Projection("I", f"E{i}", self.w_ie, AllToAll(), self.tau_inh, 0.0, "inh"))
        probes = [Probe(f"E{i}", "rate", self.bin_width) for i in range(self.k)]
        if values is not None:
            vals = _check_values(values, self.k, "LIFCircuit.network.values")
            pops, projs, probes = self._readout(vals, pops, projs, probes)
        return Network(pops, projs, probes, name=f"lif_wta_k{self.k}")

    def _readout(self, vals, pops, projs, probes):
        for i in range(self.k):
            pops.append(Population(f"S{i}", self.n_share, self.share))
            projs.append(Projection(f"E{i}", f"S{i}", self.w_share, AllToAll(), self.tau_share,
                                    0.0, "exc"))
            projs.append(Projection(f"S{i}", "SI", self.w_pool_in, AllToAll(), self.tau_share,
                                    0.0, "exc"))
            projs.append(Projection("SI", f"S{i}", self.w_pool_out, AllToAll(), self.tau_pool,
                                    0.0, "inh"))
        pops.append(Population("SI", self.n_pool, self.pool,
                               v_init=(self.pool.v_reset, self.pool.v_th)))
        pops.append(Population("V", self.n_unit, self.unit,
                               v_init=(self.unit.v_reset, self.unit.v_th)))
        for i in range(self.k):
            if vals[i] > 0:
                projs.append(Projection(f"S{i}", "V", self.w_unit * vals[i], AllToAll(),
                                        self.tau_exc, 0.0, "exc"))
        if self.w_unit_inh > 0:
            projs.append(Projection("I", "V", self.w_unit_inh, AllToAll(), self.tau_inh, 0.0,
                                    "inh"))
        probes.append(Probe("V", "rate", self.bin_width))
        return pops, projs, probes

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec: item k's evidence and bias drive E_k.

        With a ``'unit'`` readout the spec's values build the readout unit 'V'.
        """
        values = spec.values if "unit" in spec.readouts else None
        return _spiking_model(self, spec, self.network(values), "E")


def _escape_default() -> EscapeParams:
    return EscapeParams(tau_mem=10e-3, v_rest=0.0, r_m=100e6, theta=0.0, delta_u=2e-3,
                        rho0=20.0, t_ref=0.0, reset=False)


def _escape_inh_default() -> LIFParams:
    return LIFParams(tau_mem=10e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=2e-3, i_bias=150e-12)


@dataclass(frozen=True)
class EscapeCircuit(CircuitParams):
    """Stochastic WTA of exponential-escape neurons with shared inhibition.

    Parameters
    ----------
    k : int
        Number of competitors (default 8).
    n_per : int
        Escape neurons per competitor (default 10; their spikes are pooled).
    exc : EscapeParams
        Default: intensity 20 Hz at rest, ``delta_u`` = 2 mV, no reset (Poisson).
    inh : LIFParams
        The shared inhibitory population's neurons.
    n_inh : int
        Inhibitory neurons (default 20).
    input_gain : float, amperes per unit
        Current per unit of ``x + b`` (default 20 pA = 2 mV = one ``delta_u``, so the
        spike shares sample ``softmax(x + b)`` at temperature 1).
    w_ei, w_ie : float, amperes
        Weights onto and from the inhibitory population (3 pA, 10 pA).
    tau_exc, tau_inh : float, seconds
        Synaptic time constants (5 ms).
    bin_width : float, seconds
        Rate probe bin (5 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.biased_competition import EscapeCircuit
    >>> round(EscapeCircuit().temperature, 6)
    1.0
    """

    k: int = 8
    n_per: int = 10
    exc: EscapeParams = field(default_factory=_escape_default)
    inh: LIFParams = field(default_factory=_escape_inh_default)
    n_inh: int = 20
    input_gain: float = 20e-12
    w_ei: float = 3e-12
    w_ie: float = 10e-12
    tau_exc: float = 5e-3
    tau_inh: float = 5e-3
    bin_width: float = 5e-3

    UNITS = (("input_gain", "A"), ("w_ei", "A"), ("w_ie", "A"), ("tau_exc", "s"),
             ("tau_inh", "s"), ("bin_width", "s"))
    MIN_K = 2
    COUNTS = ("n_per", "n_inh")
    POSITIVE = ("input_gain", "tau_exc", "tau_inh", "bin_width")
    NONNEGATIVE = ("w_ei", "w_ie")
    NEURONS = (("exc", EscapeParams), ("inh", LIFParams))

    @property
    def temperature(self) -> float:
        """Exact softmax temperature of the spike shares: ``delta_u / (r_m input_gain)``."""
        return self.exc.delta_u / (self.exc.r_m * self.input_gain)

    def network(self, values=None) -> Network:
        """Build the Network (``values`` is not supported by this circuit)."""
        self.validate()
        if values is not None:
            raise ValidationError("EscapeCircuit.network.values: this circuit has no readout "
                                  "unit; use LIFCircuit for value readouts (got values)")
        pops = [Population(f"Z{i}", self.n_per, self.exc) for i in range(self.k)]
        pops.append(Population("I", self.n_inh, self.inh,
                               v_init=(self.inh.v_reset, self.inh.v_th)))
        projs = []
        for i in range(self.k):
            projs.append(Projection(f"Z{i}", "I", self.w_ei, AllToAll(), self.tau_exc, 0.0, "exc"))
            projs.append(Projection("I", f"Z{i}", self.w_ie, AllToAll(), self.tau_inh, 0.0, "inh"))
        probes = [Probe(f"Z{i}", "rate", self.bin_width) for i in range(self.k)]
        return Network(pops, projs, probes, name=f"escape_wta_k{self.k}")

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec: item k's evidence and bias drive Z_k."""
        if "unit" in spec.readouts:
            raise ValidationError("EscapeCircuit.spiking_model: this circuit has no readout "
                                  "unit; use LIFCircuit for tasks that read a 'unit'")
        return _spiking_model(self, spec, self.network(), "Z")


def _spiking_model(circuit, spec, network, prefix: str) -> SpikingModel:
    if spec.n_items != circuit.k:
        raise ValidationError(f"{type(circuit).__name__}.k: the task has {spec.n_items} items "
                              f"but the circuit {circuit.k} locations (got k={circuit.k})")
    drives = tuple(Drive(col, f"{prefix}{i}", "current", gain=circuit.input_gain)
                   for cols in spec.channels().values() for i, col in enumerate(cols))
    readout = {"items": tuple(f"{prefix}{i}" for i in range(circuit.k))}
    if "unit" in spec.readouts:
        readout["unit"] = ("V",)
    return SpikingModel(network, drives, readout)


def _check_values(values, k: int, where: str) -> np.ndarray:
    vals = np.asarray(values, dtype=np.float64)
    if vals.shape != (k,) or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise ValidationError(f"{where}: expected {k} finite values >= 0, one per location "
                              f"(got {values!r})")
    return vals
