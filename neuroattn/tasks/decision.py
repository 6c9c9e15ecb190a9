"""A decision stage for reaction-time tasks: a race of rate accumulators to a bound.

Tasks read rates from a Recording (Hz, in bins); a response needs a decision on top of
them. :func:`race_to_bound` gives every item an accumulator that integrates the item's
rate in excess of a ``criterion`` and reflects at zero (Page's 1954 CUSUM detector of a
change in rate, run on each item); the first accumulator to reach ``bound`` makes the
choice, at a time interpolated inside the rate bin. A rate above the criterion reaches
the bound after ``bound / (rate - criterion)`` s; a rate below it keeps its accumulator
at zero. With a leak (time constant ``leak``) an accumulator settles at ``(rate -
criterion) leak``, so a rate below ``criterion + bound / leak`` -- a cue-raised
baseline, the losing side of a competition -- never responds however long it lasts.

The stage reads rates only, so it is the same for every tier and backend. The
non-decision time (sensory encoding and motor execution; the ``T_er`` of sequential-
sampling models, e.g. Ratcliff & Van Dongen 2011 for one-choice detection) is added by
the task: see :func:`uniform_nondecision`.
"""

from __future__ import annotations

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_positive

__all__ = ["race_to_bound", "uniform_nondecision"]


def race_to_bound(rates, bin_width: float, criterion: float, bound: float,
                  start: float = 0.0, stop: float | None = None, leak: float | None = None):
    """Race of reflected, optionally leaky, rate accumulators to a bound, one per item.

    Parameters
    ----------
    rates : array_like [trials, bins, items], hertz
        Rate of each item in bins of ``bin_width``; bin ``n`` covers
        ``[n bin_width, (n + 1) bin_width)`` and the rate is taken as constant inside it.
    bin_width : float, seconds
    criterion : float, hertz
        Rate that the accumulators count from: only the excess drives them up.
    bound : float, hertz x seconds (excess spikes per neuron)
        Accumulated excess that makes a response.
    start, stop : float, seconds
        Integration window (default: from 0 to the end of the rates). Accumulators hold
        0 at ``start``.
    leak : float or None, seconds
        Time constant of the accumulators' leak (None: perfect integrators). A rate held
        at ``r`` then drives an accumulator no higher than ``(r - criterion) leak``, so a
        rate with ``(r - criterion) leak < bound`` never responds, however long it lasts.

    Returns
    -------
    choice : ndarray int [trials]
        Index of the first item to reach the bound; -1 when none does before ``stop``.
    time : ndarray float [trials], seconds
        When it did (NaN for -1), interpolated inside the bin: exact for rates that are
        constant within each bin.

    Raises
    ------
    ValidationError
        If ``rates`` is not 3-D or not finite, or a parameter is out of range.

    Notes
    -----
    Accumulator of item k, for ``t >= start`` (``leak`` = tau; ``1/tau`` = 0 without)::

        x_k(start) = 0,    dx_k/dt = r_k(t) - criterion - x_k / tau,    x_k >= 0

    (reflected at 0: Page's CUSUM without leak, a leaky accumulator with it). Over a
    bin the rate is constant, so ``x_k`` relaxes exponentially towards ``(r_k -
    criterion) tau`` (moves on a straight line without leak) and is clipped at 0 at
    the bin's end, exact for a monotone path. The bound is met inside the bin at::

        t0 + (bound - x) / e                       (no leak; e = r - criterion)
        t0 - tau ln((e tau - bound) / (e tau - x))  (leak)

    with ``x`` the accumulator at the bin's start ``t0``. A constant rate ``r`` from
    ``start`` therefore crosses at ``start + bound / (r - criterion)`` without leak and
    at ``start - tau ln(1 - bound / ((r - criterion) tau))`` with it. Items that cross in
    the same bin are ordered by these times (ties: the lower index).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroattn.tasks.decision import race_to_bound
    >>> rates = np.zeros((1, 40, 2)); rates[0, :, 1] = 30.0   # 30 Hz at item 1
    >>> choice, t = race_to_bound(rates, 5e-3, criterion=10.0, bound=1.0)
    >>> int(choice[0]), round(float(t[0]), 6)     # bound / (30 - 10) = 50 ms
    (1, 0.05)
    >>> _, t = race_to_bound(rates, 5e-3, criterion=10.0, bound=1.0, leak=0.1)
    >>> round(float(t[0]), 6)                     # -0.1 ln(1 - 1 / (20 * 0.1)) = 69.3 ms
    0.069315
    """
    r = np.asarray(rates, dtype=np.float64)
    if r.ndim != 3:
        raise ValidationError(f"race_to_bound.rates: expected an array [trials, bins, items] "
                              f"(got shape {r.shape})")
    if not np.all(np.isfinite(r)):
        raise ValidationError("race_to_bound.rates: expected finite rates (got NaN or Inf); "
                              "check the recording")
    check_positive(bin_width, "s", "race_to_bound.bin_width")
    if not (np.isfinite(bound) and bound > 0):
        raise ValidationError(f"race_to_bound.bound: must be > 0 Hz s (got {bound}); pass a "
                              f"finite accumulated excess rate, e.g. 2.0")
    if leak is not None and not (np.isfinite(leak) and leak > 0):
        raise ValidationError(f"race_to_bound.leak: must be > 0 s or None for no leak (got "
                              f"{leak}); pass e.g. 0.2")
    if not np.isfinite(criterion):
        raise ValidationError(f"race_to_bound.criterion: expected a finite rate in Hz (got "
                              f"{criterion})")
    n_trials, n_bins, _ = r.shape
    end = n_bins * bin_width
    stop = end if stop is None else min(float(stop), end)
    if not 0.0 <= start <= end:
        raise ValidationError(f"race_to_bound.start: expected a time in [0, {end:g}] s, the "
                              f"span of the rates (got {start})")
    if stop < start:
        raise ValidationError(f"race_to_bound.stop: expected a time >= start = {start:g} s "
                              f"(got {stop})")
    choice = np.full(n_trials, -1, dtype=np.int64)
    time = np.full(n_trials, np.nan)
    x = np.zeros((n_trials, r.shape[2]))
    first = int(np.floor(start / bin_width + 1e-9))
    for n in range(first, n_bins):
        t0 = max(n * bin_width, start)
        t1 = min((n + 1) * bin_width, stop)
        if t1 <= t0:
            break
        excess = r[:, n] - criterion
        span = t1 - t0
        if leak is None:
            nxt = x + excess * span
        else:
            target = excess * leak
            nxt = target + (x - target) * np.exp(-span / leak)
        hit = nxt >= bound
        if hit.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                if leak is None:
                    tc = t0 + (bound - x) / excess
                else:
                    tc = t0 - leak * np.log((target - bound) / (target - x))
            tc = np.where(hit, np.clip(tc, t0, t1), np.inf)
            best = np.argmin(tc, axis=1)
            new = (choice < 0) & hit.any(axis=1)
            choice[new] = best[new]
            time[new] = tc[new, best[new]]
        x = np.where((choice >= 0)[:, None], x, np.maximum(nxt, 0.0))
        if np.all(choice >= 0):
            break
    return choice, time


def uniform_nondecision(rng: np.random.Generator, mean: float, width: float,
                        stratum: int = 0, strata: int = 1) -> float:
    """One non-decision time (s), uniform on ``[mean - width/2, mean + width/2]``.

    The diffusion model's convention for trial-to-trial variability of the non-decision
    component (``T_er`` with range ``s_t``; Ratcliff & Tuerlinckx 2002). With ``strata``
    > 1 the range is cut into ``strata`` equal slices and the time is uniform on slice
    ``stratum`` (0 the earliest): a task that gives the ``strata`` trials of one
    condition one slice each, in a random order, draws every trial's time uniform on the
    whole range while their mean stays within ``width / (2 strata)`` of ``mean``
    (stratified sampling).

    Examples
    --------
    >>> import numpy as np
    >>> t = uniform_nondecision(np.random.default_rng(0), 0.2, 0.1)
    >>> 0.15 <= t <= 0.25
    True
    >>> t = uniform_nondecision(np.random.default_rng(0), 0.2, 0.1, stratum=3, strata=4)
    >>> 0.225 <= t <= 0.25
    True
    """
    if not 0 <= stratum < strata:
        raise ValidationError(f"uniform_nondecision.stratum: expected an integer in [0, "
                              f"strata) = [0, {strata}) (got {stratum})")
    return float(mean + width * ((stratum + rng.random()) / strata - 0.5))
