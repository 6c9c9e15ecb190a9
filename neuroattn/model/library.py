"""Standard networks, built with the model API (import as ``neuroattn.model.library``).

``cuba``: the current-based benchmark network of Vogels & Abbott (2005) as published in
the simulator review of Brette et al. (2007) ("CUBA"; the Brian example of the same name).
"""

from __future__ import annotations

import numpy as np

from neuroattn.model.units import check_int, check_positive, to_si
from neuroattn.model.network import Network
from neuroattn.model.population import Population
from neuroattn.model.probe import Probe
from neuroattn.model.projection import FixedProbability, Projection
from neuroattn.exceptions import ValidationError
from neuroattn.neurons import LIFParams

__all__ = ["cuba", "CUBA_R_M"]

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
