"""The spiking working-memory circuit: self-sustaining assemblies that share inhibition.

One assembly of noisy LIF neurons per item (``M0`` .. ``M{k-1}``). Each excites itself
through slow synapses (``tau_ee``, 100 ms: the time constant of NMDA receptors, which
makes persistent activity stable; Wang 1999) and excites one shared inhibitory
population ``I`` that inhibits every assembly alike. An assembly left alone is
bistable: at rest (about 1 Hz) its self-excitation is too weak to ignite it; driven by
a sample item it ignites and then holds itself at about 75 Hz after the item is gone.

Held assemblies load the shared inhibition: every one adds the same inhibition to all
of them. While a few are held, each one's self-excitation outweighs it; beyond a few
the inhibition ends the persistent state of some -- the weakest at that moment, chosen
by the noise -- and the rest, relieved, survive. How many survive is set by the ratio of
self-excitation to shared inhibition, not by any count written in the circuit (Edin et
al. 2009; Wei, Wang & Wang 2012).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitParams, SpikingModel
from neuroattn.model import AllToAll, Drive, Network, Population, Probe, Projection
from neuroattn.neurons import LIFParams

__all__ = ["MemoryCircuit"]


def _exc_default() -> LIFParams:
    # 10 mV below threshold with 4 mV of noise: about 1 Hz at rest; an 8 ms refractory
    # period caps the rate (125 Hz), so a held assembly settles at a moderate rate
    return LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=8e-3, sigma=4e-3, i_bias=100e-12)


def _inh_default() -> LIFParams:
    # fast interneurons 5 mV below threshold
    return LIFParams(tau_mem=10e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=1e-3, sigma=2e-3, i_bias=150e-12)


_UNITS = (("input_gain", "A"), ("w_ee", "A"), ("tau_ee", "s"), ("w_ei", "A"),
          ("tau_ei", "s"), ("w_ie", "A"), ("tau_ie", "s"), ("bin_width", "s"))


@dataclass(frozen=True)
class MemoryCircuit(CircuitParams):
    """K self-exciting LIF assemblies with one shared inhibitory population.

    Parameters
    ----------
    k : int
        Number of item assemblies (>= 1).
    n_exc : int
        Neurons per assembly (default 20).
    n_inh : int
        Neurons of the shared inhibitory population (default 20).
    exc, inh : LIFParams
        Neuron parameters (see the module notes).
    input_gain : float, amperes per unit of input
        Current per unit of an item's evidence + bias (default 80 pA, 8 mV per unit).
    w_ee : float, amperes
        Weight of every neuron of an assembly onto every neuron of the same assembly
        (3.2 pA; with 20 neurons and ``tau_ee`` 100 ms, 0.64 mV of mean potential per Hz
        of the assembly's rate).
    tau_ee : float, seconds
        Time constant of the recurrent excitation (100 ms, NMDA-like).
    w_ei : float, amperes
        Weight of every assembly neuron onto every inhibitory neuron (3 pA).
    tau_ei : float, seconds
        Time constant of the excitation of the inhibitory population (5 ms).
    w_ie : float, amperes
        Weight of every inhibitory neuron onto every assembly neuron (3.6 pA).
    tau_ie : float, seconds
        Time constant of the shared inhibition (10 ms, GABA_A-like).
    bin_width : float, seconds
        Rate probe bin (5 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.memory import MemoryCircuit
    >>> [p.name for p in MemoryCircuit(k=2).network().populations]
    ['M0', 'M1', 'I']
    """

    k: int = 12
    n_exc: int = 20
    n_inh: int = 20
    exc: LIFParams = field(default_factory=_exc_default)
    inh: LIFParams = field(default_factory=_inh_default)
    input_gain: float = 80e-12
    w_ee: float = 3.2e-12
    tau_ee: float = 100e-3
    w_ei: float = 3e-12
    tau_ei: float = 5e-3
    w_ie: float = 3.6e-12
    tau_ie: float = 10e-3
    bin_width: float = 5e-3

    UNITS = _UNITS
    COUNTS = ("n_exc", "n_inh")
    POSITIVE = ("input_gain", "tau_ee", "tau_ei", "tau_ie", "bin_width")
    NONNEGATIVE = ("w_ee", "w_ei", "w_ie")
    NEURONS = (("exc", LIFParams), ("inh", LIFParams))

    def network(self) -> Network:
        """The Network: assemblies ``M0..M{k-1}`` and the inhibitory population ``I``."""
        self.validate()
        v0 = (self.exc.v_reset, self.exc.v_th)
        pops = [Population(f"M{i}", self.n_exc, self.exc, v_init=v0) for i in range(self.k)]
        pops.append(Population("I", self.n_inh, self.inh,
                               v_init=(self.inh.v_reset, self.inh.v_th)))
        projs = []
        for i in range(self.k):
            m = f"M{i}"
            projs += [Projection(m, m, self.w_ee, AllToAll(), self.tau_ee, 0.0, "exc"),
                      Projection(m, "I", self.w_ei, AllToAll(), self.tau_ei, 0.0, "exc"),
                      Projection("I", m, self.w_ie, AllToAll(), self.tau_ie, 0.0, "inh")]
        probes = [Probe(f"M{i}", "rate", self.bin_width) for i in range(self.k)]
        return Network(pops, projs, probes, name=f"memory_k{self.k}")

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec: item k's evidence and bias drive assembly M_k."""
        if spec.n_items != self.k:
            raise ValidationError(f"MemoryCircuit.k: the task has {spec.n_items} items but "
                                  f"the circuit {self.k} assemblies (got k={self.k})")
        drives = tuple(Drive(col, f"M{i}", "current", gain=self.input_gain)
                       for cols in spec.channels().values() for i, col in enumerate(cols))
        return SpikingModel(self.network(), drives,
                            {"items": tuple(f"M{i}" for i in range(self.k))})
