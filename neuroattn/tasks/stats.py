"""Bootstrap confidence intervals for effects."""

from __future__ import annotations

import numpy as np

__all__ = ["bootstrap_mean_ci", "bootstrap_diff_ci", "bootstrap_stat_ci"]

N_BOOT = 2000


def _finite(x):
    x = np.asarray(x, dtype=np.float64)
    return x[np.isfinite(x)]


def bootstrap_mean_ci(x, seed: int = 0, n_boot: int = N_BOOT, level: float = 0.95):
    """Mean of ``x`` (NaNs dropped) and its percentile bootstrap CI."""
    x = _finite(x)
    if x.size == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng([seed, 101])
    boots = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(x.mean()), float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def bootstrap_diff_ci(x, y, seed: int = 0, n_boot: int = N_BOOT, level: float = 0.95):
    """``mean(x) - mean(y)`` for independent samples, with a percentile bootstrap CI."""
    x, y = _finite(x), _finite(y)
    if x.size == 0 or y.size == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng([seed, 202])
    bx = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    by = y[rng.integers(0, y.size, (n_boot, y.size))].mean(axis=1)
    d = bx - by
    a = (1 - level) / 2
    return float(x.mean() - y.mean()), float(np.quantile(d, a)), float(np.quantile(d, 1 - a))


def bootstrap_stat_ci(groups, stat, seed: int = 0, n_boot: int = N_BOOT, level: float = 0.95):
    """A statistic of several independent samples, each resampled, with its bootstrap CI.

    ``stat`` takes the groups' means (in order) and returns a float.
    """
    gs = [_finite(g) for g in groups]
    if any(g.size == 0 for g in gs):
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng([seed, 303])
    means = [g[rng.integers(0, g.size, (n_boot, g.size))].mean(axis=1) for g in gs]
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = np.asarray(stat(*means), dtype=np.float64)
        est = float(stat(*[g.mean() for g in gs]))
    boots = boots[np.isfinite(boots)]
    a = (1 - level) / 2
    if boots.size == 0:
        return est, np.nan, np.nan
    return est, float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))
