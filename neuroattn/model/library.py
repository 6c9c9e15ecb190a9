"""Standard networks, built with the model API (import as ``neuroattn.model.library``).

``cuba``: the current-based benchmark network of Vogels & Abbott (2005) as published in
the simulator review of Brette et al. (2007) ("CUBA"; the Brian example of the same name).

``wang2002``: the conductance-based decision network of Wang (2002), two selective
excitatory pools competing through shared inhibition, with AMPA, NMDA and GABA_A
synapses and 2.4 kHz Poisson background (``wang2002_drives``).
"""

from __future__ import annotations

import numpy as np

from neuroattn.model.units import check_int, check_positive, to_si
from neuroattn.model.network import Network
from neuroattn.model.population import Population
from neuroattn.model.probe import Probe
from neuroattn.model.projection import AllToAll, FixedProbability, Projection
from neuroattn.model.stimulus import Drive
from neuroattn.exceptions import ValidationError
from neuroattn.neurons import LIFParams

__all__ = ["cuba", "CUBA_R_M", "wang2002", "wang2002_drives", "WANG2002"]

#: membrane resistance (ohm) used to express CUBA's voltage jumps as currents
CUBA_R_M = 100e6


def cuba(n: int = 4000, seed: int = 0, *, p: float = 0.02, spikes: bool = False,
         bin_width: float = 5e-3) -> Network:
    """The CUBA benchmark network: ``n`` LIF neurons, 80 % excitatory, sparse random.

    Parameters
    ----------
    n : int
        Number of neurons (default 4000); the first 80 % are excitatory ('exc'), the
        rest inhibitory ('inh'). Weights do not scale with ``n``.
    seed : int
        Seed of the connectivity (each of the four projections gets its own draw).
    p : float
        Connection probability between any two neurons (default 0.02, ~80 inputs).
    spikes : bool
        Add a 'spikes' probe on both populations (rate probes are always there).
    bin_width : float, seconds
        Bin of the rate probes (default 5 ms).

    Returns
    -------
    Network
        Named ``'cuba'``; populations 'exc' and 'inh'.

    Notes
    -----
    The published model (Brette et al. 2007, appendix; Brian's ``CUBA`` example)::

        taum dv/dt = (El - v) + ge + gi,   taue dge/dt = -ge,   taui dgi/dt = -gi
        taum = 20 ms, taue = 5 ms, taui = 10 ms, Vt = -50 mV, Vr = -60 mV, El = -49 mV
        refractory 5 ms; v(0) uniform in [Vr, Vt]
        each spike: ge += 60 * 0.27 / 10 mV (exc), gi += -20 * 4.5 / 10 mV (inh)
        every pair connected with probability 0.02 (self-connections allowed)

    Here ``ge`` and ``gi`` are synaptic currents through ``r_m`` = 100 MOhm, so the
    weights are 1.62 mV / r_m = 16.2 pA (exc) and 9 mV / r_m = 90 pA (inh, sign 'inh').
    ``El`` lies above threshold: without input every neuron fires regularly (about 19 Hz);
    recurrent inhibition brings the network to an irregular asynchronous state.

    Examples
    --------
    >>> from neuroattn.model.library import cuba
    >>> net = cuba(400)
    >>> [(p.name, p.size) for p in net.populations]
    [('exc', 320), ('inh', 80)]
    """
    n = check_int(n, "cuba.n", minimum=2)
    seed = check_int(seed, "cuba.seed", minimum=0)
    p = to_si(p, "1", "cuba.p")
    check_positive(p, "1", "cuba.p", allow_zero=True)
    if p > 1:
        raise ValidationError(f"cuba.p: expected a connection probability in [0, 1] (got {p})")
    bin_width = to_si(bin_width, "s", "cuba.bin_width")
    n_exc = int(round(0.8 * n))
    params = LIFParams(tau_mem=20e-3, v_rest=-49e-3, v_reset=-60e-3, v_th=-50e-3, r_m=CUBA_R_M,
                       t_ref=5e-3)
    pops = [Population("exc", n_exc, params, v_init=(-60e-3, -50e-3)),
            Population("inh", n - n_exc, params, v_init=(-60e-3, -50e-3))]
    w_exc = 60 * 0.27 / 10 * 1e-3 / CUBA_R_M
    w_inh = 20 * 4.5 / 10 * 1e-3 / CUBA_R_M
    seeds = np.random.SeedSequence(seed).generate_state(4)
    projs = []
    for k, (src, tgt) in enumerate((("exc", "exc"), ("exc", "inh"), ("inh", "exc"),
                                    ("inh", "inh"))):
        exc = src == "exc"
        projs.append(Projection(src, tgt, w_exc if exc else w_inh,
                                FixedProbability(p, seed=int(seeds[k]), autapses=True),
                                tau_syn=5e-3 if exc else 10e-3, sign="exc" if exc else "inh"))
    probes = [Probe("exc", "rate", bin_width), Probe("inh", "rate", bin_width)]
    if spikes:
        probes += [Probe("exc", "spikes"), Probe("inh", "spikes")]
    return Network(pops, projs, probes, name="cuba")


#: Wang (2002), Neuron 36:955, "Methods" (the published network, N = 2000). Conductances
#: in siemens are per synapse at that size; recurrent ones scale as 1600/N_E (from
#: pyramidal cells) and 400/N_I (from interneurons) when ``n`` differs.
WANG2002 = {
    "n": 2000, "f_exc": 0.8, "f_pool": 0.15, "w_plus": 1.7,
    "pyr": dict(c_m=0.5e-9, g_l=25e-9, e_l=-70e-3, v_th=-50e-3, v_reset=-55e-3, t_ref=2e-3),
    "int": dict(c_m=0.2e-9, g_l=20e-9, e_l=-70e-3, v_th=-50e-3, v_reset=-55e-3, t_ref=1e-3),
    "e_exc": 0.0, "e_inh": -70e-3, "tau_ampa": 2e-3, "tau_nmda_decay": 100e-3,
    "tau_nmda_rise": 2e-3, "alpha_nmda": 500.0, "mg": 1.0, "tau_gaba": 5e-3,
    # per synapse: g_ext,AMPA, g_rec,AMPA, g_NMDA, g_GABA onto pyramidal / interneurons
    "g_pyr": (2.1e-9, 0.05e-9, 0.165e-9, 1.3e-9),
    "g_int": (1.62e-9, 0.04e-9, 0.13e-9, 1.0e-9),
    "background": 2400.0,
}


def _wang_receptors(mg: float):
    from neuroattn.neurons.conductance import Receptor

    w = WANG2002
    return (Receptor("ampa", w["e_exc"], w["tau_ampa"]),
            Receptor("nmda", w["e_exc"], w["tau_nmda_decay"], w["tau_nmda_rise"],
                     w["alpha_nmda"], mg),
            Receptor("gaba", w["e_inh"], w["tau_gaba"]))


def wang2002(n: int = 2000, w_plus: float = 1.7, f_pool: float = 0.15,
             recurrence: str = "nmda", ampa_scale: float = 1.0, nmda_scale: float = 1.0,
             gaba_scale: float = 1.0, delta_g_adapt: float = 0.0, mg: float = 1.0,
             bin_width: float = 5e-3, spikes: bool = False) -> Network:
    """The decision network of Wang (2002): ``n`` conductance-based LIF neurons.

    Parameters
    ----------
    n : int
        Neurons (default 2000, the published size): 80 % pyramidal in pools 'A' and 'B'
        (``f_pool`` of them each, selective for the two directions) and 'NS'
        (non-selective), 20 % interneurons 'I'. Recurrent conductances scale with
        1600/N_E and 400/N_I so the total synaptic drive per neuron stays the published one.
    w_plus : float
        Relative strength of the connections within a selective pool (Wang: 1.7); from a
        selective pool to the other and from 'NS' to the pools the weight is
        ``w_minus = 1 - f_pool (w_plus - 1) / (1 - f_pool)``.
    f_pool : float
        Fraction of the pyramidal cells in each selective pool (0.15).
    recurrence : {'nmda', 'ampa'}
        'nmda' (published): recurrent excitation through AMPA and NMDA synapses.
        'ampa': the control of the slow-integration test -- the recurrent NMDA
        conductance is replaced by AMPA with the same time-integrated charge at the
        network's spontaneous rate (``g_NMDA <s> / (rate tau_AMPA)``, see docs/tasks/decision.md).
    ampa_scale, nmda_scale, gaba_scale : float
        Multipliers of the recurrent AMPA, NMDA and GABA_A conductances (1: published).
    delta_g_adapt : float, siemens
        Spike-frequency adaptation of the pyramidal cells (0: none, as published).
    mg : float, mM
        Extracellular magnesium (1 mM).
    bin_width : float, seconds
        Bin of the rate probes.
    spikes : bool
        Add spike probes on every population.

    Returns
    -------
    Network
        Named ``'wang2002'``, populations 'A', 'B', 'NS', 'I'.

    Examples
    --------
    >>> net = wang2002(400)
    >>> [(p.name, p.size) for p in net.populations]
    [('A', 48), ('B', 48), ('NS', 224), ('I', 80)]
    """
    from neuroattn.neurons.conductance import ConductanceLIFParams

    w = WANG2002
    n = check_int(n, "wang2002.n", minimum=20)
    w_plus = to_si(w_plus, "1", "wang2002.w_plus")
    f_pool = to_si(f_pool, "1", "wang2002.f_pool")
    if not 0 < f_pool < 0.5:
        raise ValidationError(f"wang2002.f_pool: expected a fraction in (0, 0.5) (got {f_pool})")
    check_positive(w_plus, "1", "wang2002.w_plus")
    if recurrence not in ("nmda", "ampa"):
        raise ValidationError(f"wang2002.recurrence: expected 'nmda' or 'ampa' "
                              f"(got {recurrence!r})")
    for name, val in (("ampa_scale", ampa_scale), ("nmda_scale", nmda_scale),
                      ("gaba_scale", gaba_scale), ("mg", mg)):
        check_positive(to_si(val, "1", f"wang2002.{name}"), "1", f"wang2002.{name}",
                       allow_zero=True)
    delta_g_adapt = to_si(delta_g_adapt, "S", "wang2002.delta_g_adapt")
    bin_width = to_si(bin_width, "s", "wang2002.bin_width")
    n_e = int(round(w["f_exc"] * n))
    n_i = n - n_e
    pool = int(round(f_pool * n_e))
    if pool < 1 or n_e - 2 * pool < 1:
        raise ValidationError(f"wang2002.n: too small for two pools of {f_pool} (got {n})")
    w_minus = 1.0 - f_pool * (w_plus - 1.0) / (1.0 - f_pool)
    rec = _wang_receptors(mg)
    pyr = ConductanceLIFParams(**w["pyr"], receptors=rec, delta_g_adapt=delta_g_adapt)
    inter = ConductanceLIFParams(**w["int"], receptors=rec)
    v0 = (w["pyr"]["v_reset"], w["pyr"]["v_th"])
    pops = [Population("A", pool, pyr, v_init=v0), Population("B", pool, pyr, v_init=v0),
            Population("NS", n_e - 2 * pool, pyr, v_init=v0),
            Population("I", n_i, inter, v_init=v0)]
    se, si = 1600.0 / n_e, 400.0 / n_i
    # Wang 2002 Methods: NMDA at the spontaneous state (~2 Hz pyramidal) has <s> about
    # alpha tau_r tau_d nu / (1 + ...) ~ 0.17; AMPA-only control keeps g <s> tau-matched
    nu0 = 2.0
    a = w["alpha_nmda"] * w["tau_nmda_rise"] * w["tau_nmda_decay"] * nu0
    s_spont = a / (1.0 + a)
    projs = []
    for tgt in ("A", "B", "NS", "I"):
        g_ext, g_ampa, g_nmda, g_gaba = w["g_int"] if tgt == "I" else w["g_pyr"]
        for src in ("A", "B", "NS"):
            if src == tgt and src != "NS":
                scale = w_plus
            elif tgt in ("A", "B"):
                scale = w_minus
            else:
                scale = 1.0
            ga = g_ampa * se * scale * ampa_scale
            gn = g_nmda * se * scale * nmda_scale
            if recurrence == "ampa":
                ga += gn * s_spont / (nu0 * w["tau_ampa"])
                gn = 0.0
            projs.append(Projection(src, tgt, ga, AllToAll(), receptor="ampa"))
            if gn > 0:
                projs.append(Projection(src, tgt, gn, AllToAll(), receptor="nmda"))
        projs.append(Projection("I", tgt, g_gaba * si * gaba_scale, AllToAll(), receptor="gaba"))
    names = ("A", "B", "NS", "I")
    probes = [Probe(p, "rate", bin_width) for p in names]
    if spikes:
        probes += [Probe(p, "spikes") for p in names]
    return Network(pops, projs, probes, name="wang2002")


def wang2002_drives(background: int = 0, stimulus: tuple = (1, 2),
                    background_rate: float = 2400.0) -> tuple:
    """Poisson drives of the Wang (2002) network onto its AMPA receptors (g_ext).

    Channel ``background`` (value 1 = ``background_rate`` Hz, 2.4 kHz published) drives
    every population; channels ``stimulus`` hold the stimulus rates (Hz) onto 'A' and 'B'.
    """
    w = WANG2002
    background_rate = to_si(background_rate, "Hz", "wang2002_drives.background_rate")
    out = [Drive(background, p, "poisson", gain=background_rate,
                 weight=(w["g_int"] if p == "I" else w["g_pyr"])[0], receptor="ampa")
           for p in ("A", "B", "NS", "I")]
    for ch, p in zip(stimulus, ("A", "B")):
        out.append(Drive(ch, p, "poisson", gain=1.0, weight=w["g_pyr"][0], receptor="ampa"))
    return tuple(out)
