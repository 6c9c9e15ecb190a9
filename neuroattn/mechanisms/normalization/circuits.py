"""The spiking counterpart of the normalization model: biased competition laid out over
space and orientation, normalised by pooled inhibition.

:class:`NormCircuit` describes, with ``neuroattn.model``, three stages of spiking
populations for K positions (the task's items) and M orientation channels:

* ``C{x}_{l}`` -- contrast encoders at position x, ``n_levels`` populations of
  exponential-escape neurons with dead time ``enc.t_ref``. Level l turns on at contrast
  ``c_low level_ratio**l`` (its input gain; every level has the same bias), so the
  summed rate of the levels grows by ``1 / (t_ref ln level_ratio)`` Hz per e-fold of
  contrast: a logarithmic contrast code, as cells with graded contrast thresholds give.
* ``R{x}_{j}`` -- the responses of the units at position x preferring orientation j:
  Poisson exponential-escape neurons (intensity ``rho0 exp(v / delta_u)``). They sum
  the encoders of their position (``w_enc``, ``exponent`` nats of log rate per e-fold
  of contrast, so their drive is ``E ~ c**exponent``), a bias current ``delta_u /
  r_m ln(K_theta(theta_j) / K_theta(0))`` for their orientation tuning (the drive of
  a 0-deg stimulus falls with ``etheta_width``), and the top-down attention bias
  ``b_x`` through ``delta_u ln(apeak) / r_m`` per unit: an additive current to an
  exponential neuron multiplies its drive, so attention is a gain ``A = apeak**b``
  applied before normalisation, as in the model.
* ``P{x}`` -- the suppressive pool at position x: fast LIF interneurons that sum the
  responses of every orientation at every position y with weight ``K_S(x - y)`` (a
  Gaussian of ``ix_width``, untuned for orientation as the authors' ``IthetaWidth =
  360``) and inhibit every ``R{x}_{j}``. Inhibition onto exponential neurons divides
  their rate; the loop's high gain holds the pooled response near the pool's
  threshold, so ``R ~ A E / (pool(A E) + sigma)`` with sigma set by the threshold:
  divisive normalisation from recurrent pooled inhibition (Heeger 1992's recurrent
  form of the model). Below the threshold the pool is silent and ``R ~ A E``.

The unit read out for item x is ``R{x}_{j0}`` (the 0-deg channel: the stimulus's
orientation). Nothing in the circuit knows which task condition it runs: contrast gain
or response gain follows from where the attention field and the stimulus fall
relative to the suppressive pool.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.base import CircuitParams, SpikingModel
from neuroattn.mechanisms.normalization.params import circular_kernel, gaussian_kernel
from neuroattn.model import AllToAll, Drive, Network, Population, Probe, Projection
from neuroattn.neurons import EscapeParams, LIFParams

__all__ = ["NormCircuit"]


def _enc_default() -> EscapeParams:
    # Poisson neurons with a 10 ms dead time: at most 100 Hz, half of it at v = theta
    return EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                        delta_u=2e-3, rho0=100.0, t_ref=10e-3, i_bias=0.0, reset=False)


def _resp_default() -> EscapeParams:
    # Poisson exponential-escape neurons, 4 Hz at rest
    return EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                        delta_u=2e-3, rho0=4.0, t_ref=0.0, i_bias=0.0, reset=False)


def _pool_default() -> LIFParams:
    # fast interneurons resting 30 mV below threshold: the responses drive them
    return LIFParams(tau_mem=5e-3, v_rest=-80e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                     t_ref=2e-3, sigma=3e-3, i_bias=0.0)


_UNITS = (("tau_enc", "s"), ("w_rp", "A"), ("tau_rp", "s"), ("w_pr", "A"),
          ("tau_pr", "s"), ("bin_width", "s"))
_NEURONS = (("enc", EscapeParams), ("resp", EscapeParams), ("pool", LIFParams))


@dataclass(frozen=True)
class NormCircuit(CircuitParams):
    """Spiking normalization circuit over K positions and M orientation channels.

    Parameters
    ----------
    k : int
        Positions (items), ``spacing`` apart (>= 1).
    spacing : float
        Distance between positions in the model's spatial units (5, as the layer).
    n_orientations : int
        Orientation channels over 360 deg, one at 0 deg (4).
    ex_width : float
        Spatial sigma of the receptive fields (5, the authors' ExWidth): the encoders at
        position x sum the contrasts at every position y weighted by ``K_E(x - y)``
        (normalised to sum 1), so the drive they code is the model's stimulus drive.
    etheta_width : float, degrees
        Orientation tuning of the stimulus drive (60, the authors' EthetaWidth).
    ix_width : float
        Spatial sigma of the suppressive pool (20, the authors' IxWidth).
    apeak : float
        Attention gain at a bias of 1 (2, the authors' Apeak over Abase 1).
    n_levels, level_ratio, c_low : int, float, float
        Contrast encoders per position (5), the drive ratio between their thresholds
        (3) and the lowest threshold (0.005, in units of the receptive field's summed
        contrast): a log code over about 0.002-1.
    steepness : float
        How sharply an encoder turns on: its drive at threshold, in units of
        ``enc.delta_u`` (3); the encoders' bias is ``-steepness delta_u / r_m``.
    n_enc, n_resp, n_pool : int
        Neurons per encoder, response and pool population (20, 30, 20).
    enc, resp : EscapeParams
        Encoder neurons (dead time 10 ms, ``rho0`` 100 Hz) and response neurons (Poisson,
        ``delta_u`` 2 mV, 4 Hz at rest).
    pool : LIFParams
        Pool interneurons (5 ms membrane, 30 mV below threshold, 3 mV noise).
    exponent : float
        Nats of response log rate per e-fold of contrast (1: drive linear in contrast,
        as the model's). Sets ``w_enc``.
    tau_enc : float, seconds
        Time constant of the encoder synapses (5 ms).
    w_rp : float, amperes
        Weight of every response neuron onto every pool neuron, times ``K_S(x - y)``
        (the pool kernel normalised to sum 1; 125 pA).
    tau_rp : float, seconds
        Time constant of those synapses (2 ms).
    w_pr : float, amperes
        Weight of every pool neuron onto every response neuron of its position (1 pA).
    tau_pr : float, seconds
        Time constant of the pool's inhibition (20 ms: slow, so the high-gain loop is
        stable).
    bin_width : float, seconds
        Rate probe bin (5 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.normalization import NormCircuit
    >>> c = NormCircuit(k=3)
    >>> [p.name for p in c.network().populations][:3]
    ['C0_0', 'C0_1', 'C0_2']
    >>> round(c.attention_gain * 1e12, 2)   # pA per unit of bias: delta_u ln 2 / r_m
    13.86
    """

    k: int = 9
    spacing: float = 5.0
    n_orientations: int = 4
    ex_width: float = 5.0
    etheta_width: float = 60.0
    ix_width: float = 20.0
    apeak: float = 2.0
    n_levels: int = 5
    level_ratio: float = 3.0
    c_low: float = 0.005
    steepness: float = 3.0
    n_enc: int = 20
    n_resp: int = 30
    n_pool: int = 20
    enc: EscapeParams = field(default_factory=_enc_default)
    resp: EscapeParams = field(default_factory=_resp_default)
    pool: LIFParams = field(default_factory=_pool_default)
    exponent: float = 1.0
    tau_enc: float = 5e-3
    w_rp: float = 125e-12
    tau_rp: float = 2e-3
    w_pr: float = 1.0e-12
    tau_pr: float = 20e-3
    bin_width: float = 5e-3

    UNITS = _UNITS
    COUNTS = ("n_orientations", "n_levels", "n_enc", "n_resp", "n_pool")
    POSITIVE = ("spacing", "ex_width", "etheta_width", "ix_width", "apeak", "c_low",
                "steepness", "exponent", "tau_enc", "tau_rp", "tau_pr", "bin_width")
    NONNEGATIVE = ("w_rp", "w_pr")
    NEURONS = _NEURONS

    def _validate_more(self) -> None:
        if not float(self.level_ratio) > 1.0:
            raise ValidationError(f"NormCircuit.level_ratio: expected a contrast ratio > 1 "
                                  f"between encoder thresholds (got {self.level_ratio!r})")
        if self.enc.t_ref <= 0:
            raise ValidationError(f"NormCircuit.enc.t_ref: the encoders need a dead time > 0 "
                                  f"s to saturate (got {self.enc.t_ref!r})")

    # -- derived quantities --------------------------------------------------------------

    def positions(self) -> np.ndarray:
        """Receptive-field centres of the positions, centred on 0."""
        return (np.arange(self.k) - (self.k - 1) / 2.0) * self.spacing

    def thetas(self) -> np.ndarray:
        """Preferred orientation (deg) of each channel; channel ``preferred`` is 0 deg."""
        m = self.n_orientations
        return (np.arange(m) - m // 2) * 360.0 / m

    @property
    def preferred(self) -> int:
        """Index of the 0-deg channel."""
        return self.n_orientations // 2

    def thresholds(self) -> np.ndarray:
        """Contrast at which each encoder level reaches half its maximum rate."""
        return self.c_low * self.level_ratio ** np.arange(self.n_levels)

    def encoder_gains(self) -> np.ndarray:
        """Input gain (A per unit contrast) of each level: ``steepness delta_u / (r_m c_l)``."""
        e = self.enc
        return self.steepness * e.delta_u / (e.r_m * self.thresholds())

    @property
    def encoder_bias(self) -> float:
        """Bias current (A) of every encoder: the level's potential sits at
        ``theta + delta_u ln(1 / (rho0 t_ref))`` at its threshold contrast."""
        e = self.enc
        v_half = e.theta + e.delta_u * math.log(1.0 / (e.rho0 * e.t_ref))
        return (v_half - self.steepness * e.delta_u - e.v_rest) / e.r_m

    @property
    def w_enc(self) -> float:
        """Weight (A) of every encoder neuron onto every response neuron of its position:
        ``exponent`` nats per e-fold of contrast, i.e. per ``1 / (t_ref ln level_ratio)``
        Hz of summed encoder rate."""
        per_hz = self.exponent * self.enc.t_ref * math.log(self.level_ratio)
        return per_hz * self.resp.delta_u / (self.resp.r_m * self.n_enc * self.tau_enc)

    @property
    def attention_gain(self) -> float:
        """Current (A) per unit of attention bias: ``delta_u ln(apeak) / r_m``."""
        return self.resp.delta_u * math.log(self.apeak) / self.resp.r_m

    def tuning_bias(self) -> np.ndarray:
        """Bias current (A) of each orientation channel: ``delta_u ln K_theta / r_m``."""
        kt = circular_kernel(self.thetas(), self.etheta_width)[:, self.preferred]
        return self.resp.delta_u * np.log(kt / kt[self.preferred]) / self.resp.r_m

    def rf_kernel(self) -> np.ndarray:
        """``K_E[x, y]``: the normalised receptive fields (zero beyond the grid)."""
        return gaussian_kernel(self.positions(), self.ex_width)

    def pool_kernel(self) -> np.ndarray:
        """``K_S[x, y]``: the normalised spatial pool (zero beyond the grid)."""
        return gaussian_kernel(self.positions(), self.ix_width)

    # -- the network -----------------------------------------------------------------------

    def network(self) -> Network:
        """Build the Network (see the module docstring)."""
        self.validate()
        pops, projs, probes = [], [], []
        enc = dataclasses.replace(self.enc, i_bias=self.enc.i_bias + self.encoder_bias)
        tuning = self.tuning_bias()
        ks = self.pool_kernel()
        m = self.n_orientations
        for x in range(self.k):
            for lev in range(self.n_levels):
                pops.append(Population(f"C{x}_{lev}", self.n_enc, enc))
            for j in range(m):
                resp = dataclasses.replace(self.resp, i_bias=self.resp.i_bias + tuning[j])
                pops.append(Population(f"R{x}_{j}", self.n_resp, resp))
                probes.append(Probe(f"R{x}_{j}", "rate", self.bin_width))
            pops.append(Population(f"P{x}", self.n_pool, self.pool,
                                   v_init=(self.pool.v_reset, self.pool.v_th)))
            probes.append(Probe(f"P{x}", "rate", self.bin_width))
        for x in range(self.k):
            for j in range(m):
                for lev in range(self.n_levels):
                    projs.append(Projection(f"C{x}_{lev}", f"R{x}_{j}", self.w_enc, AllToAll(),
                                            self.tau_enc, 0.0, "exc"))
                if self.w_pr > 0:
                    projs.append(Projection(f"P{x}", f"R{x}_{j}", self.w_pr, AllToAll(),
                                            self.tau_pr, 0.0, "inh"))
                for y in range(self.k):
                    w = self.w_rp * ks[y, x]
                    if w > 0:
                        projs.append(Projection(f"R{x}_{j}", f"P{y}", w, AllToAll(),
                                                self.tau_rp, 0.0, "exc"))
        return Network(pops, projs, probes, name=f"normalization_k{self.k}")

    def drives(self, spec) -> tuple:
        """Evidence (contrast) onto the encoders; bias (attention) onto the responses."""
        cols = spec.channels()
        gains = self.encoder_gains()
        rf = self.rf_kernel()
        out = []
        for y, col in enumerate(cols.get("evidence", ())):
            for x in range(self.k):
                if rf[x, y] < 1e-3 * rf[x, x]:
                    continue
                out += [Drive(col, f"C{x}_{lev}", "current", gain=float(g * rf[x, y]))
                        for lev, g in enumerate(gains)]
        for x, col in enumerate(cols.get("bias", ())):
            out += [Drive(col, f"R{x}_{j}", "current", gain=self.attention_gain)
                    for j in range(self.n_orientations)]
        return tuple(out)

    def spiking_model(self, spec) -> SpikingModel:
        """The network for a task spec: ``items`` read the 0-deg responses ``R{x}_{j0}``."""
        if spec.n_items != self.k:
            raise ValidationError(f"NormCircuit.k: the task has {spec.n_items} items but the "
                                  f"circuit {self.k} positions (got k={self.k})")
        if "unit" in spec.readouts:
            raise ValidationError("NormCircuit.spiking_model: the normalization circuit reads "
                                  "out its position units ('items'), not a downstream 'unit'")
        readout = {"items": tuple(f"R{x}_{self.preferred}" for x in range(self.k))}
        return SpikingModel(self.network(), self.drives(spec), readout)
