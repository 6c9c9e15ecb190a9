"""Parameters of the normalization model of attention (Reynolds & Heeger 2009) and its
numpy reference: the model evaluated on a grid of positions x orientations.

The model, for the unit with receptive field centre ``x`` and preferred orientation
``theta``::

    E(x, theta) = [K_E * stimulus]_+(x, theta)               stimulus drive
    A(x)        = [abase + (apeak - abase) b(x)]_+           attention field
    S(x, theta) = (K_S * (A E))(x, theta)                    suppressive drive
    R(x, theta) = A(x) E(x, theta) / (S(x, theta) + sigma)   response

``K_E`` and ``K_S`` are separable Gaussians over space (``ex_width``, ``ix_width``) and
orientation (``etheta_width``, ``itheta_width``), each normalised to sum 1 over the
grid's offsets (space: zero beyond the grid; orientation: circular, 360 deg); the
drive is half-wave rectified, so an input below zero (a noisy evidence signal) drives
nothing rather than something negative. The
defaults are the authors' (their ``attentionModel``: ExWidth 5, EthetaWidth 60,
IxWidth 20, IthetaWidth 360, Apeak 2, Abase 1, sigma 1e-6, no exponent). This module
holds no torch (:mod:`.softmax` holds the layer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int, check_positive, to_si

__all__ = ["NormalizationParams", "gaussian_kernel", "circular_kernel"]


def gaussian_kernel(positions, width: float) -> np.ndarray:
    """``K[x, y]``: a Gaussian of ``width`` over ``positions[x] - positions[y]``, normalised
    to sum 1 over every offset the grid holds (zero beyond it), as a 'constant'-padded
    convolution with a kernel sampled over the whole grid."""
    p = np.asarray(positions, dtype=np.float64)
    step = p[1] - p[0] if p.size > 1 else 1.0
    n = p.size
    offsets = np.arange(-(n - 1), n) * step
    norm = np.exp(-offsets ** 2 / (2 * width ** 2)).sum()
    d = p[:, None] - p[None, :]
    return np.exp(-d ** 2 / (2 * width ** 2)) / norm


def circular_kernel(thetas, width: float) -> np.ndarray:
    """``K[i, j]``: a Gaussian of ``width`` (deg) over the circular distance of
    ``thetas[i]`` and ``thetas[j]`` (360 deg), each row summing to 1."""
    t = np.asarray(thetas, dtype=np.float64)
    d = (t[:, None] - t[None, :] + 180.0) % 360.0 - 180.0
    k = np.exp(-d ** 2 / (2 * width ** 2))
    return k / k.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class NormalizationParams:
    """Parameters of :class:`~neuroattn.mechanisms.normalization.NormalizationLayer`.

    Parameters
    ----------
    k : int
        Positions (the task's items), ``spacing`` apart, centred on 0.
    spacing : float
        Distance between neighbouring positions, in the model's spatial units (those of
        the widths; default 5).
    n_orientations : int
        Orientation channels, evenly spaced over 360 deg, one at 0 deg (default 4). The
        stimulus has orientation 0; item responses are the 0-deg units'.
    ex_width, ix_width : float
        Spatial sigma of the stimulation and suppressive fields (5, 20).
    etheta_width, itheta_width : float, degrees
        Orientation sigma of the stimulation and suppressive fields (60, 360).
    apeak, abase : float
        Attention gain at the attended peak and away from it (2, 1): ``A = abase +
        (apeak - abase) b`` for a top-down bias ``b`` (the attention field's shape).
    sigma : float
        Semi-saturation constant (1e-6), in units of stimulus drive (contrast).
    rate : float, hertz
        Rate of a unit per unit of normalised response R (10 Hz).
    baseline : float, hertz
        Rate added after normalisation (0; the authors' ``baselineUnmod``).
    tau : float, seconds
        Time constant with which the layer's inputs are low-pass filtered (10 ms).

    Examples
    --------
    >>> from neuroattn.mechanisms.normalization import NormalizationParams
    >>> p = NormalizationParams(k=9)
    >>> p.positions().tolist()[:3]
    [-20.0, -15.0, -10.0]
    >>> r = p.responses([[0, 0, 0, 0, 1.0, 0, 0, 0, 0]], [[0.0] * 9])
    >>> r.shape
    (1, 9)
    """

    k: int = 9
    spacing: float = 5.0
    n_orientations: int = 4
    ex_width: float = 5.0
    etheta_width: float = 60.0
    ix_width: float = 20.0
    itheta_width: float = 360.0
    apeak: float = 2.0
    abase: float = 1.0
    sigma: float = 1e-6
    rate: float = 10.0
    baseline: float = 0.0
    tau: float = 10e-3

    def __post_init__(self):
        object.__setattr__(self, "rate", to_si(self.rate, "Hz", "NormalizationParams.rate"))
        object.__setattr__(self, "baseline", to_si(self.baseline, "Hz",
                                                   "NormalizationParams.baseline"))
        object.__setattr__(self, "tau", to_si(self.tau, "s", "NormalizationParams.tau"))

    def validate(self) -> None:
        """Check every attribute; raise ValidationError naming it."""
        check_int(self.k, "NormalizationParams.k", minimum=1)
        check_int(self.n_orientations, "NormalizationParams.n_orientations", minimum=1)
        for name in ("spacing", "ex_width", "etheta_width", "ix_width", "itheta_width",
                     "sigma", "apeak", "abase"):
            check_positive(float(getattr(self, name)), "1", f"NormalizationParams.{name}")
        check_positive(self.rate, "Hz", "NormalizationParams.rate")
        check_positive(self.tau, "s", "NormalizationParams.tau")
        if not math.isfinite(self.baseline):
            raise ValidationError(f"NormalizationParams.baseline: expected a finite rate in Hz "
                                  f"(got {self.baseline!r})")

    @property
    def null_logit(self) -> float:
        """``log sigma``: sigma is the null competitor of the normalisation pool."""
        return math.log(self.sigma)

    def positions(self) -> np.ndarray:
        """Receptive-field centres of the items, centred on 0."""
        return (np.arange(self.k) - (self.k - 1) / 2.0) * self.spacing

    def thetas(self) -> np.ndarray:
        """Preferred orientations (deg) of the channels; channel ``preferred`` is 0 deg."""
        m = self.n_orientations
        return (np.arange(m) - m // 2) * 360.0 / m

    @property
    def preferred(self) -> int:
        """Index of the 0-deg channel (the stimulus's orientation)."""
        return self.n_orientations // 2

    def kernels(self) -> dict:
        """The model's kernels: ``ex`` [K, K], ``etheta`` [M] (drive of each channel by a
        0-deg stimulus), ``ix`` [K, K], ``itheta`` [M, M]."""
        th = self.thetas()
        et = circular_kernel(th, self.etheta_width)[:, self.preferred]
        return {"ex": gaussian_kernel(self.positions(), self.ex_width), "etheta": et,
                "ix": gaussian_kernel(self.positions(), self.ix_width),
                "itheta": circular_kernel(th, self.itheta_width)}

    def attention(self, b) -> np.ndarray:
        """Attention gain ``[abase + (apeak - abase) b]_+``: rectified, so a bias below
        ``-abase / (apeak - abase)`` (a suppressive cue in another task) silences the
        unit rather than inverting it."""
        return np.maximum(self.abase + (self.apeak - self.abase) * np.asarray(b, dtype=np.float64),
                          0.0)

    def population(self, contrast, b) -> np.ndarray:
        """Normalised responses R [..., K, M] of every unit (float64 reference).

        ``contrast`` [..., K]: the stimulus contrast at each position (orientation 0;
        the drive is rectified at 0);
        ``b`` [..., K]: the attention field's shape.
        """
        c = np.asarray(contrast, dtype=np.float64)
        kern = self.kernels()
        a = self.attention(b)
        e = np.maximum(np.einsum("xy,...y->...x", kern["ex"], c), 0.0)[..., None] * kern["etheta"]
        ae = a[..., None] * e
        s = np.einsum("xy,...yj->...xj", kern["ix"], ae)
        s = np.einsum("ij,...xj->...xi", kern["itheta"], s)
        return ae / (s + self.sigma)

    def responses(self, contrast, b) -> np.ndarray:
        """Rates (Hz) [..., K] of the 0-deg units: ``rate R + baseline``."""
        return self.rate * self.population(contrast, b)[..., self.preferred] + self.baseline

    def shares(self, contrast, b) -> np.ndarray:
        """The 0-deg units' responses normalised over the positions [..., K]."""
        r = self.population(contrast, b)[..., self.preferred]
        total = r.sum(axis=-1, keepdims=True)
        return r / np.where(total > 0, total, 1.0)
